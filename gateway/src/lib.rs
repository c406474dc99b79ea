//! olive-gateway: the server half of Olive.

pub mod control;
