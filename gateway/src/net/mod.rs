//! The gateway's network faces: HTTP, the token port and the WebSocket bridge.

pub mod control;
pub mod http;
pub mod token_port;
pub mod ws_bridge;
