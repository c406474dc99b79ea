//! The adapter between the connection logic and `netx-proto`.
pub use netx_proto::{ClientMsg, ServerMsg};

pub fn error(message: &str) -> ServerMsg {
    ServerMsg::Error {
        message: message.to_owned(),
    }
}

pub fn auth_failed() -> ServerMsg {
    ServerMsg::AuthFailed {
        error: "Authentication failed".to_owned(),
    }
}

pub fn encode_server(msg: &ServerMsg) -> Vec<u8> {
    netx_proto::encode(msg)
}

/// The client → server decoder of one connection.
#[derive(Default)]
pub struct Decoder(netx_proto::Decoder);

impl Decoder {
    pub fn new() -> Decoder {
        Decoder::default()
    }
    pub fn feed(&mut self, bytes: &[u8]) {
        self.0.push(bytes);
    }
    /// The next message, or the `error` text to answer a bad frame with.
    pub fn next_message(&mut self) -> Option<Result<ClientMsg, String>> {
        match self.0.next::<ClientMsg>() {
            Ok(Some(m)) => Some(Ok(m)),
            Ok(None) => None,
            Err(e) => Some(Err(e.wire_text())),
        }
    }
    pub fn take_remaining(&mut self) -> Vec<u8> {
        self.0.take_remaining()
    }
    pub fn resume_framing(&mut self) {
        self.0.resume_framing();
    }
}
