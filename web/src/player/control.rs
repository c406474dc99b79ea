//! The control connection: netx-proto's [`Client`] (role Control) over a WebSocket to
//! `/ws`. The state machine does the protocol work — pings every 3 s, three missed pongs
//! drop the connection, reconnect after 1, 2, 5 then every 10 s, give up after
//! `server_timeout_max` — and this module only performs its actions: open sockets, send
//! frames, run one timer re-armed to [`Client::next_deadline`], and turn its events into
//! player states.

use gloo::timers::callback::Timeout;
use netx_proto::{Action, Client, ClientEvent, Decoder, Role, ServerMsg};

use super::transport::Socket;
use super::Inner;
use crate::ui::dom;
use crate::ui::status::{self, text, PlayerState};

/// The control connection's state.
pub(crate) struct Control {
    client: Client,
    socket: Option<Socket>,
    decoder: Decoder,
    timer: Option<Timeout>,
}

impl Inner {
    /// Starts the control connection with `token`.
    pub(super) fn start_control(&mut self, token: String) {
        let mut client = Client::new(Role::Control, token);
        client.start();
        self.control = Some(Control {
            client,
            socket: None,
            decoder: Decoder::new(),
            timer: None,
        });
        self.run_control();
    }

    /// Performs the state machine's actions, in order, then re-arms the timer.
    fn run_control(&mut self) {
        while let Some(a) = self.control.as_mut().and_then(|c| c.client.poll_action()) {
            match a {
                Action::Send(m) => {
                    if let Some(s) = self.control.as_ref().and_then(|c| c.socket.as_ref()) {
                        s.send(&netx_proto::encode(&m));
                    }
                }
                Action::Connect => self.open_control_socket(),
                Action::Close => {
                    if let Some(c) = self.control.as_mut() {
                        c.socket = None; // Drop detaches handlers, then closes.
                    }
                }
                Action::Emit(e) => self.on_control_event(e),
            }
        }
        self.arm_control_timer();
    }

    fn open_control_socket(&mut self) {
        let weak = self.weak.clone();
        let (w1, w2, w3) = (weak.clone(), weak.clone(), weak);
        let result = Socket::open(
            &self.ws_url,
            move || Inner::with(&w1, |p| p.control_step(|c| c.on_connected(dom::now()))),
            move |data| Inner::with(&w2, |p| p.on_control_data(&data)),
            move |reason| {
                Inner::with(&w3, |p| {
                    dom::log(&format!("control: {reason}"));
                    if let Some(c) = p.control.as_mut() {
                        c.socket = None;
                    }
                    p.control_step(|c| c.on_disconnected(dom::now()));
                })
            },
        );
        let Some(c) = self.control.as_mut() else {
            return;
        };
        c.decoder = Decoder::new();
        match result {
            Ok(s) => c.socket = Some(s),
            Err(e) => {
                dom::log(&format!("control: {e}"));
                c.client.on_disconnected(dom::now());
                self.run_control();
            }
        }
    }

    /// Calls the client and runs what it asks for.
    fn control_step(&mut self, f: impl FnOnce(&mut Client)) {
        let Some(c) = self.control.as_mut() else {
            return;
        };
        f(&mut c.client);
        self.run_control();
    }

    fn on_control_data(&mut self, data: &[u8]) {
        let Some(c) = self.control.as_mut() else {
            return;
        };
        c.decoder.push(data);
        loop {
            let Some(c) = self.control.as_mut() else {
                return;
            };
            match c.decoder.next::<ServerMsg>() {
                Ok(Some(m)) => c.client.on_message(m, dom::now()),
                Ok(None) => break,
                Err(e) => c.client.on_protocol_error(&e),
            }
            self.run_control();
        }
    }

    fn arm_control_timer(&mut self) {
        let Some(c) = self.control.as_mut() else {
            return;
        };
        c.timer = None;
        let Some(deadline) = c.client.next_deadline() else {
            return;
        };
        let wait_us = deadline.saturating_sub(dom::now()).as_micros();
        let ms = wait_us.div_ceil(1000).min(3_600_000) as u32;
        let weak = self.weak.clone();
        c.timer = Some(Timeout::new(ms, move || {
            Inner::with(&weak, |p| p.control_step(|c| c.tick(dom::now())));
        }));
    }

    /// Closes the control connection, asking the server to destroy the VM first.
    pub(super) fn shutdown_control(&mut self) {
        if let Some(mut c) = self.control.take() {
            c.client.shutdown(true);
            while let Some(a) = c.client.poll_action() {
                if let (Action::Send(m), Some(s)) = (&a, c.socket.as_ref()) {
                    s.send(&netx_proto::encode(m));
                }
            }
            c.timer = None;
        }
    }

    fn on_control_event(&mut self, e: ClientEvent) {
        dom::log(&format!("control: {e:?}"));
        match e {
            ClientEvent::Authenticated {
                state, reconnected, ..
            } => {
                if reconnected && self.state == PlayerState::Reconnecting {
                    let back = self.state_before_reconnect;
                    let msg = match back {
                        PlayerState::Running => text::RUNNING,
                        PlayerState::Connecting => text::CONNECTING,
                        _ => text::BOOTING,
                    };
                    self.set_state(back, msg);
                }
                match state.as_str() {
                    "running" => self.start_session(),
                    "stopped" if !reconnected => {
                        // A fresh instance whose VM is not up: ask for it (VMNetX's UI did).
                        self.control_step(|c| c.start_vm());
                    }
                    "stopped" => self.set_state(PlayerState::Stopped, text::STOPPED),
                    _ => {}
                }
            }
            ClientEvent::StartupProgress { fraction } => {
                let since = *self.progress_since.get_or_insert_with(dom::now_ms);
                let elapsed =
                    std::time::Duration::try_from_secs_f64((dom::now_ms() - since) / 1000.0)
                        .unwrap_or_default();
                if self.state == PlayerState::Loading {
                    self.view
                        .status
                        .set_text_content(Some(text::LOADING_MEMORY));
                    self.view.set_progress(
                        Some(fraction),
                        &netx_proto::eta::eta_text(elapsed, fraction),
                    );
                }
            }
            ClientEvent::StartupRejectedMemory => {
                if self.state == PlayerState::Loading {
                    self.view.set_progress(None, "");
                    self.view
                        .status
                        .set_text_content(Some(text::MEMORY_REJECTED));
                }
            }
            ClientEvent::StartupFailed { message } => {
                self.set_state(
                    PlayerState::Error,
                    &format!("The machine failed to start: {message}"),
                );
            }
            ClientEvent::VmStarted { .. } => self.start_session(),
            ClientEvent::VmStopped => {
                self.pending_failure = None;
                self.set_state(PlayerState::Stopped, text::STOPPED);
                self.end_session();
            }
            ClientEvent::VmDestroyed => {
                self.pending_failure = None;
                // A machine that stopped (or crashed) is then cleaned up by the server;
                // the visitor should still read that it stopped, not that time ran out.
                if self.state != PlayerState::Stopped {
                    self.set_state(PlayerState::Ended, text::ENDED);
                }
                self.end_session();
                self.control = None;
            }
            ClientEvent::Disconnected | ClientEvent::PingTimeout => {
                if !self.state.is_final() && self.state != PlayerState::Reconnecting {
                    self.state_before_reconnect = self.state;
                    self.set_state(PlayerState::Reconnecting, text::RECONNECTING);
                }
            }
            ClientEvent::Fatal { message } => {
                if !matches!(self.state, PlayerState::Ended | PlayerState::Stopped) {
                    self.set_state(PlayerState::Error, &status::control_fatal(&message));
                }
                self.end_session();
            }
            ClientEvent::ViewerAttached => {}
        }
    }
}
