//! The player outside the app's own pages: a portal's `<olive-player>` element
//! ([`element`]) and the `/embed/<item>` page for iframes ([`frame`]), both driving one
//! [`Embedded`] player ([`controller`]) with the same commands ([`command`]).

pub mod command;
pub mod controller;
pub mod element;
pub mod frame;

pub use controller::Embedded;
