//! What the visitor sees around the screen: status texts and small DOM helpers.

pub mod dom;
pub mod status;
