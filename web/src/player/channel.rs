//! One SPICE channel's WebSocket: a netx-proto Viewer client authenticates and sends
//! `attach-viewer`; from `attaching-viewer` on, the socket is a raw SPICE pipe and bytes go
//! straight to [`spice_client::Session::receive`] (starting with the decoder's
//! `take_remaining()`, which may already hold the server's first SPICE bytes).

use netx_proto::{Action, Client, ClientEvent, Decoder, Role, ServerMsg};
use spice_client::ChannelKey;

use super::transport::Socket;
use super::Inner;
use crate::ui::dom;

/// A channel's transport.
pub(crate) struct Viewer {
    socket: Option<Socket>,
    client: Client,
    decoder: Decoder,
    attached: bool,
}

impl Viewer {
    /// Sends SPICE bytes (only meaningful once attached).
    pub(crate) fn send(&self, bytes: &[u8]) -> bool {
        self.attached && self.socket.as_ref().is_some_and(|s| s.send(bytes))
    }
}

impl Inner {
    /// `Output::Connect(key)`: open one more WebSocket for this channel.
    pub(super) fn open_viewer(&mut self, key: ChannelKey) {
        let Some(token) = self.instance.as_ref().map(|i| i.token.clone()) else {
            return;
        };
        let mut client = Client::new(Role::Viewer, token);
        client.start();
        let _ = client.poll_action(); // Connect: that is this socket.
        let weak = self.weak.clone();
        let (w1, w2, w3) = (weak.clone(), weak.clone(), weak);
        let socket = Socket::open(
            &self.ws_url,
            move || Inner::with(&w1, |p| p.viewer_step(key, |c| c.on_connected(dom::now()))),
            move |data| Inner::with(&w2, |p| p.on_viewer_data(key, &data)),
            move |reason| Inner::with(&w3, |p| p.viewer_closed(key, &reason)),
        );
        match socket {
            Ok(s) => {
                self.viewers.insert(
                    key,
                    Viewer {
                        socket: Some(s),
                        client,
                        decoder: Decoder::new(),
                        attached: false,
                    },
                );
            }
            Err(e) => {
                if let Some(s) = self.session.as_mut() {
                    s.transport_closed(key, &e);
                }
                self.pump();
            }
        }
    }

    fn viewer_step(&mut self, key: ChannelKey, f: impl FnOnce(&mut Client)) {
        let Some(v) = self.viewers.get_mut(&key) else {
            return;
        };
        f(&mut v.client);
        self.run_viewer(key);
    }

    fn run_viewer(&mut self, key: ChannelKey) {
        loop {
            let Some(v) = self.viewers.get_mut(&key) else {
                return;
            };
            let Some(a) = v.client.poll_action() else {
                return;
            };
            match a {
                Action::Send(m) => {
                    if let Some(s) = v.socket.as_ref() {
                        s.send(&netx_proto::encode(&m));
                    }
                }
                Action::Connect => {}
                Action::Close => {
                    self.viewers.remove(&key);
                }
                Action::Emit(ClientEvent::ViewerAttached) => {
                    v.attached = true;
                    let rest = v.decoder.take_remaining();
                    self.tick_session();
                    if let Some(s) = self.session.as_mut() {
                        s.connected(key);
                        if !rest.is_empty() {
                            s.receive(key, &rest);
                        }
                    }
                    self.pump();
                }
                Action::Emit(ClientEvent::Fatal { message }) => {
                    self.viewers.remove(&key);
                    if let Some(s) = self.session.as_mut() {
                        s.transport_closed(key, &message);
                    }
                    self.pump();
                }
                Action::Emit(_) => {}
            }
        }
    }

    fn on_viewer_data(&mut self, key: ChannelKey, data: &[u8]) {
        let Some(v) = self.viewers.get_mut(&key) else {
            return;
        };
        if v.attached {
            self.tick_session();
            if let Some(s) = self.session.as_mut() {
                s.receive(key, data);
            }
            self.pump();
            return;
        }
        v.decoder.push(data);
        loop {
            let Some(v) = self.viewers.get_mut(&key) else {
                return;
            };
            if v.attached {
                return;
            }
            match v.decoder.next::<ServerMsg>() {
                Ok(Some(m)) => v.client.on_message(m, dom::now()),
                Ok(None) => return,
                Err(e) => v.client.on_protocol_error(&e),
            }
            self.run_viewer(key);
        }
    }

    fn viewer_closed(&mut self, key: ChannelKey, reason: &str) {
        if self.viewers.remove(&key).is_some() {
            if let Some(s) = self.session.as_mut() {
                s.transport_closed(key, reason);
            }
            self.pump();
        }
    }

    /// `Output::Close(key)`.
    pub(super) fn close_viewer(&mut self, key: ChannelKey) {
        self.viewers.remove(&key);
    }

    /// `Output::Send(key, bytes)`.
    pub(super) fn send_viewer(&mut self, key: ChannelKey, bytes: &[u8]) {
        if let Some(v) = self.viewers.get(&key) {
            v.send(bytes);
        }
    }
}
