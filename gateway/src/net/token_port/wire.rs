//! The adapter between the connection logic and `netx-proto`.
pub(crate) use netx_proto::{ClientMsg, ServerMsg};

/// An `error` message carrying `message` (VMNetX's generic refusal).
pub(crate) fn error(message: &str) -> ServerMsg {
    ServerMsg::Error {
        message: message.to_owned(),
    }
}

/// VMNetX's `auth-failed`, which says nothing about why (token unknown or wrong).
pub(crate) fn auth_failed() -> ServerMsg {
    ServerMsg::AuthFailed {
        error: "Authentication failed".to_owned(),
    }
}

/// The wire bytes of `msg`, length prefix included.
pub(crate) fn encode_server(msg: &ServerMsg) -> Vec<u8> {
    netx_proto::encode(msg)
}

/// The client → server decoder of one connection.
#[derive(Default)]
pub(crate) struct Decoder(netx_proto::Decoder);

impl Decoder {
    /// A decoder with nothing buffered.
    pub(crate) fn new() -> Decoder {
        Decoder::default()
    }
    /// Appends bytes read from the socket.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        self.0.push(bytes);
    }
    /// The next message, or the `error` text to answer a bad frame with.
    pub(crate) fn next_message(&mut self) -> Option<Result<ClientMsg, String>> {
        match self.0.next::<ClientMsg>() {
            Ok(Some(m)) => Some(Ok(m)),
            Ok(None) => None,
            Err(e) => Some(Err(e.wire_text())),
        }
    }
    /// The bytes buffered past the last message (the first SPICE bytes after `attach-viewer`).
    pub(crate) fn take_remaining(&mut self) -> Vec<u8> {
        self.0.take_remaining()
    }
    /// Starts framing again after an `attach-viewer` that failed.
    pub(crate) fn resume_framing(&mut self) {
        self.0.resume_framing();
    }
}
