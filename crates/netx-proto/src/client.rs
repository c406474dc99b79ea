//! Sans-IO client state machine for one VMNetX control or viewer connection.
//!
//! It reproduces, for a browser, what VMNetX's desktop client did with
//! `ClientEndpoint`, `_Pinger`, `BackoffTimer` and `RemoteController`
//! (`vmnetx/protocol.py`, `vmnetx/util.py`, `vmnetx/controller/remote.py`, 0.5.1):
//!
//! - **States** `Unauthenticated → Authenticating → Running` (`→ AttachingViewer →
//!   Viewer` on viewer connections); server messages that are invalid in the current
//!   state are answered with `error{"Invalid state for operation"}`, as VMNetX did.
//! - **Liveness** (control role only): from each `auth-ok`, every 3 s send `ping` while
//!   fewer than 3 are outstanding; any `pong` resets the count; at the tick where 3 are
//!   outstanding the connection is declared lost (≈ 9–12 s without a pong).
//! - **Reconnect** (control role only): after losing an authenticated session, reconnect
//!   after 1 s, 2 s, 5 s, then every 10 s; the schedule restarts once a connection is
//!   established (VMNetX reset the `BackoffTimer` on TCP connect, not on `auth-ok`).
//! - **Give-up** (0.5.1, commit `a7f018f`): on losing the connection, arm a one-shot
//!   timer of `server_timeout_max` seconds; if no `auth-ok` arrived by then the server
//!   has garbage-collected the VM: fatal "Lost connection with server". A server that
//!   sent no timeout (pre-0.5.1, read as 0) gets no give-up timer: retry forever.
//! - **Fatal conditions** as in `RemoteController`: the first connection failing or
//!   closing before `auth-ok` ("Control connection closed"), `auth-failed`
//!   (the server's text, or "Reauthentication failed: …" after a reconnect), and any
//!   `error` from the server ("Protocol error: …").
//!
//! Driving it follows the crate's sans-IO convention (see the crate docs): inputs return
//! nothing, [`Client::poll_action`] drains what they asked for, and [`Client::tick`] runs
//! at [`Client::next_deadline`]. Time is a [`Duration`] since the platform's epoch
//! (`performance.now()` in a browser); nothing here reads a clock or sets a timer.
//!
//! Driving it from JS/wasm:
//! ```text
//! client = Client::new(Role::Control, token)
//! client.start(); run()                     // queues Connect
//! ws.onopen    = () => { client.on_connected(now()); run() }
//! ws.onmessage = (bytes) => { decoder.push(bytes);
//!                  loop { match decoder.next::<ServerMsg>() {
//!                    Ok(Some(m)) => client.on_message(m, now()),
//!                    Ok(None)    => break,
//!                    Err(e)      => client.on_protocol_error(&e) }; run() } }
//! ws.onclose   = () => { client.on_disconnected(now()); run() }
//! timer        => { client.tick(now()); run() }  // re-armed to client.next_deadline()
//! run(): while let Some(a) = client.poll_action():
//!          Send(m) → ws.send(encode(m)); Connect → open a new ws (new Decoder);
//!          Close → detach ws handlers, ws.close(); Emit(e) → update the UI
//! ```
//! After [`Action::Close`] the state machine already treats the connection as gone; the
//! caller must not report that socket's later close event (browsers may deliver it many
//! seconds later, after a reconnect has begun).

use std::collections::VecDeque;
use std::time::Duration;

use crate::message::{ClientMsg, ServerMsg};

/// Time between pings (`start_pinging(interval=3)`).
pub const PING_INTERVAL: Duration = Duration::from_secs(3);
/// Outstanding pings at which the connection is declared lost (`count=3`).
pub const PING_COUNT: u32 = 3;
/// Reconnect delays; the last one repeats (`BackoffTimer`).
pub const BACKOFF_SCHEDULE: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
];

/// Fatal text when the give-up timer fires (VMNetX 0.5.1).
pub const LOST_CONNECTION: &str = "Lost connection with server";
/// Fatal text when the first connection fails or closes before `auth-ok`.
pub const CONTROL_CONNECTION_CLOSED: &str = "Control connection closed";
/// Our reply to a server message that is invalid in the current state (VMNetX text).
pub const INVALID_STATE: &str = "Invalid state for operation";

/// What a connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The control connection: pings, reconnects, VM lifecycle events.
    Control,
    /// One SPICE channel: authenticate, require `running`, `attach-viewer`, then raw
    /// bytes. One-shot: no pings, no reconnect (as VMNetX's `_ViewerConnection`).
    Viewer,
}

/// State of the current connection (VMNetX's `ClientEndpoint` states plus the
/// transport states around them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// No connection and none requested (waiting for backoff, or finished).
    Disconnected,
    /// [`Action::Connect`] was issued; waiting for `on_connected`/`on_disconnected`.
    Connecting,
    /// Connected, not authenticated (after `auth-failed`).
    Unauthenticated,
    /// `authenticate` sent.
    Authenticating,
    /// `auth-ok` received.
    Running,
    /// `attach-viewer` sent (viewer role).
    AttachingViewer,
    /// `attaching-viewer` received: the connection is a raw SPICE pipe now.
    Viewer,
}

/// Something the caller must do, in order (drained with [`Client::poll_action`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this message on the current connection (`framing::encode`).
    Send(ClientMsg),
    /// Open a new connection to the server, then call [`Client::on_connected`] (or
    /// [`Client::on_disconnected`] if it fails). Use a fresh `Decoder`.
    Connect,
    /// Close the current connection. The state machine already considers it gone.
    Close,
    /// Tell the application.
    Emit(ClientEvent),
}

/// Things the application (UI) needs to know.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// `auth-ok` on the control connection (first time, or after a reconnect:
    /// VMNetX's `network-reconnect`, after which the UI re-reads `state`).
    Authenticated {
        /// VM state: `stopped|starting|running|stopping|unknown`.
        state: String,
        /// Package friendly name.
        name: String,
        /// Mouse rate limit in Hz, if any.
        limit_mouse_rate: Option<i64>,
        /// Server GC timeouts in seconds (0 if the server did not say).
        server_timeout_min: i64,
        /// See [`ServerMsg::AuthOk`].
        server_timeout_max: i64,
        /// True if this re-authenticates after a lost connection.
        reconnected: bool,
    },
    /// Viewer role: the connection is now a raw SPICE pipe. Call
    /// `Decoder::take_remaining()` and forward everything from here on.
    ViewerAttached,
    /// `startup-progress`.
    StartupProgress {
        /// 0..=1 as sent by the server (not validated; see [`crate::eta`]).
        fraction: f64,
    },
    /// `startup-rejected-memory`: cold boot follows.
    StartupRejectedMemory,
    /// `startup-failed`.
    StartupFailed {
        /// Server text.
        message: String,
    },
    /// `vm-started`.
    VmStarted {
        /// Resumed from memory: check for a black screen.
        check_display: bool,
    },
    /// `vm-stopped`.
    VmStopped,
    /// `vm-destroyed`: the instance is gone; the client is finished (no reconnect, the
    /// token is dead).
    VmDestroyed,
    /// The control connection was lost (VMNetX's `network-disconnect`); reconnecting.
    Disconnected,
    /// Pings went unanswered; the connection is being closed and will be retried.
    PingTimeout,
    /// The client is finished. For a viewer this means this channel failed.
    Fatal {
        /// Human-readable reason (VMNetX texts where it had them).
        message: String,
    },
}

/// Session phase, as `RemoteController`'s `PHASE_INIT/RUN/STOP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the first `auth-ok`: failures are fatal.
    Init,
    /// After it: failures are retried.
    Run,
    /// Finished (fatal, shut down, destroyed, or viewer spliced).
    Done,
}

/// The state machine. See the module docs.
#[derive(Debug, Clone)]
pub struct Client {
    role: Role,
    token: String,
    phase: Phase,
    conn: ConnState,
    /// Next pinger tick, when pinging.
    next_ping: Option<Duration>,
    pings_outstanding: u32,
    /// Index into [`BACKOFF_SCHEDULE`] for the next reconnect delay.
    backoff_step: usize,
    reconnect_at: Option<Duration>,
    giveup_at: Option<Duration>,
    /// The server's `server_timeout_max`; `None` when it sent none (or 0): no give-up.
    give_up_after: Option<Duration>,
    /// What the caller has yet to do, oldest first.
    actions: VecDeque<Action>,
}

impl Client {
    /// A client for `role` that authenticates with `token` (`"<ID>/<AUTHCODE>"`).
    pub fn new(role: Role, token: impl Into<String>) -> Self {
        Client {
            role,
            token: token.into(),
            phase: Phase::Init,
            conn: ConnState::Disconnected,
            next_ping: None,
            pings_outstanding: 0,
            backoff_step: 0,
            reconnect_at: None,
            giveup_at: None,
            give_up_after: None,
            actions: VecDeque::new(),
        }
    }

    /// The next thing to do, oldest first; call until `None` after every input.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Asks for the first connection: queues [`Action::Connect`].
    pub fn start(&mut self) {
        if self.phase != Phase::Init || self.conn != ConnState::Disconnected {
            return;
        }
        self.conn = ConnState::Connecting;
        self.push(Action::Connect);
    }

    /// The connection requested by [`Action::Connect`] is open: authenticate.
    pub fn on_connected(&mut self, _now: Duration) {
        if self.phase == Phase::Done {
            // Gave up while the attempt was in flight.
            return self.push(Action::Close);
        }
        if !matches!(self.conn, ConnState::Connecting | ConnState::Disconnected) {
            return;
        }
        self.backoff_step = 0;
        self.reconnect_at = None;
        self.conn = ConnState::Authenticating;
        let token = self.token.clone();
        self.send(ClientMsg::Authenticate { token });
    }

    /// The current connection closed, or a connection attempt failed.
    pub fn on_disconnected(&mut self, now: Duration) {
        let was = self.conn;
        self.conn = ConnState::Disconnected;
        if self.phase == Phase::Done || was == ConnState::Disconnected {
            return;
        }
        self.next_ping = None;
        match (self.role, self.phase) {
            (Role::Viewer, _) => self.fatal("Connection closed", false),
            (Role::Control, Phase::Init) => self.fatal(CONTROL_CONNECTION_CLOSED, false),
            (Role::Control, _) => {
                if was != ConnState::Connecting {
                    self.emit(ClientEvent::Disconnected);
                }
                self.lost(now);
            }
        }
    }

    /// A message arrived on the current connection.
    pub fn on_message(&mut self, msg: ServerMsg, now: Duration) {
        if self.phase == Phase::Done || !self.connected() {
            return;
        }
        use ConnState as S;
        // Which state each message is valid in; anything else gets VMNetX's answer.
        let valid_in = match &msg {
            ServerMsg::AuthOk { .. } | ServerMsg::AuthFailed { .. } => Some(S::Authenticating),
            ServerMsg::AttachingViewer => Some(S::AttachingViewer),
            // "Could happen on viewer connections while the setup handshake is running"
            // (protocol.py): ignored there.
            ServerMsg::VmStopped | ServerMsg::VmDestroyed if self.conn == S::AttachingViewer => {
                return;
            }
            ServerMsg::StartupProgress { .. }
            | ServerMsg::StartupRejectedMemory
            | ServerMsg::StartupFailed { .. }
            | ServerMsg::VmStarted { .. }
            | ServerMsg::VmStopped
            | ServerMsg::VmDestroyed => Some(S::Running),
            ServerMsg::Pong | ServerMsg::Error { .. } => None,
        };
        if valid_in.is_some_and(|s| s != self.conn) {
            return self.send(ClientMsg::Error {
                message: INVALID_STATE.into(),
            });
        }
        match msg {
            ServerMsg::AuthOk {
                state,
                name,
                limit_mouse_rate,
                server_timeout_min,
                server_timeout_max,
            } => {
                self.conn = S::Running;
                match self.role {
                    Role::Viewer if state == "running" => {
                        self.conn = S::AttachingViewer;
                        self.send(ClientMsg::AttachViewer);
                    }
                    Role::Viewer => {
                        self.fatal(&format!("Server in unexpected state: {state}"), true);
                    }
                    Role::Control => {
                        let reconnected = self.phase == Phase::Run;
                        self.phase = Phase::Run;
                        self.giveup_at = None;
                        self.give_up_after = u64::try_from(server_timeout_max)
                            .ok()
                            .filter(|&s| s > 0)
                            .map(Duration::from_secs);
                        self.next_ping = Some(now.saturating_add(PING_INTERVAL));
                        self.pings_outstanding = 0;
                        self.emit(ClientEvent::Authenticated {
                            state,
                            name,
                            limit_mouse_rate,
                            server_timeout_min,
                            server_timeout_max,
                            reconnected,
                        });
                    }
                }
            }
            ServerMsg::AuthFailed { error } => {
                self.conn = S::Unauthenticated;
                let message = match (self.role, self.phase) {
                    (Role::Viewer, _) => format!("Authentication failed: {error}"),
                    (Role::Control, Phase::Init) => error,
                    (Role::Control, _) => format!("Reauthentication failed: {error}"),
                };
                self.fatal(&message, true);
            }
            ServerMsg::AttachingViewer => {
                self.conn = S::Viewer;
                self.phase = Phase::Done;
                self.emit(ClientEvent::ViewerAttached);
            }
            ServerMsg::StartupProgress { fraction } => {
                self.emit(ClientEvent::StartupProgress { fraction });
            }
            ServerMsg::StartupRejectedMemory => self.emit(ClientEvent::StartupRejectedMemory),
            ServerMsg::StartupFailed { message } => {
                self.emit(ClientEvent::StartupFailed { message });
            }
            ServerMsg::VmStarted { check_display } => {
                self.emit(ClientEvent::VmStarted { check_display });
            }
            ServerMsg::VmStopped => self.emit(ClientEvent::VmStopped),
            ServerMsg::VmDestroyed => {
                self.finish();
                self.emit(ClientEvent::VmDestroyed);
                self.push(Action::Close);
            }
            ServerMsg::Pong => self.pings_outstanding = 0,
            ServerMsg::Error { message } => self.fatal(&format!("Protocol error: {message}"), true),
        }
    }

    /// The decoder rejected a frame: answer with VMNetX's `error` text and carry on, as
    /// `_Endpoint._recv` did.
    pub fn on_protocol_error(&mut self, err: &crate::ProtocolError) {
        if self.phase == Phase::Done || !self.connected() {
            return;
        }
        self.send(ClientMsg::Error {
            message: err.wire_text(),
        });
    }

    /// Runs due timers: give-up, reconnect, ping. Call at (or after)
    /// [`next_deadline`](Client::next_deadline); calling early is harmless.
    pub fn tick(&mut self, now: Duration) {
        if self.phase == Phase::Done {
            return;
        }
        if self.giveup_at.is_some_and(|t| now >= t) {
            let close = self.connected() || self.conn == ConnState::Connecting;
            return self.fatal(LOST_CONNECTION, close);
        }
        if self.reconnect_at.is_some_and(|t| now >= t) && self.conn == ConnState::Disconnected {
            self.reconnect_at = None;
            self.conn = ConnState::Connecting;
            self.push(Action::Connect);
        }
        if self.next_ping.is_some_and(|t| now >= t) {
            if self.pings_outstanding < PING_COUNT {
                self.pings_outstanding += 1;
                // glib re-arms from the time the callback ran; so do we (a throttled
                // background tab does not get a burst of catch-up pings).
                self.next_ping = Some(now.saturating_add(PING_INTERVAL));
                self.send(ClientMsg::Ping);
            } else {
                self.next_ping = None;
                self.conn = ConnState::Disconnected;
                self.emit(ClientEvent::PingTimeout);
                self.push(Action::Close);
                self.emit(ClientEvent::Disconnected);
                self.lost(now);
            }
        }
    }

    /// When [`tick`](Client::tick) next needs to run, if ever.
    pub fn next_deadline(&self) -> Option<Duration> {
        if self.phase == Phase::Done {
            return None;
        }
        [self.next_ping, self.reconnect_at, self.giveup_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// `start-vm`, if the control connection is authenticated (otherwise dropped, as
    /// VMNetX did: the UI re-derives its wishes from the next `auth-ok`).
    pub fn start_vm(&mut self) {
        self.command(ClientMsg::StartVm);
    }

    /// `stop-vm`, if authenticated.
    pub fn stop_vm(&mut self) {
        self.command(ClientMsg::StopVm);
    }

    /// `destroy-vm`, if authenticated.
    pub fn destroy_vm(&mut self) {
        self.command(ClientMsg::DestroyVm);
    }

    /// Ends the session: `destroy-vm` if `destroy` and authenticated (VMNetX's quit
    /// did), then close. No further actions, timers or events.
    pub fn shutdown(&mut self, destroy: bool) {
        if self.phase == Phase::Done && self.conn != ConnState::Viewer {
            return;
        }
        if destroy && self.conn == ConnState::Running && self.role == Role::Control {
            self.send(ClientMsg::DestroyVm);
        }
        if self.conn != ConnState::Disconnected {
            self.push(Action::Close);
        }
        self.finish();
    }

    /// State of the current connection.
    pub fn conn_state(&self) -> ConnState {
        self.conn
    }

    /// True once the client will do nothing more (fatal, destroyed, shut down, or a
    /// viewer handed over to raw forwarding).
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Pings sent since the last `pong`.
    pub fn pings_outstanding(&self) -> u32 {
        self.pings_outstanding
    }

    fn connected(&self) -> bool {
        !matches!(
            self.conn,
            ConnState::Disconnected | ConnState::Connecting | ConnState::Viewer
        )
    }

    fn push(&mut self, action: Action) {
        self.actions.push_back(action);
    }

    fn send(&mut self, msg: ClientMsg) {
        self.push(Action::Send(msg));
    }

    fn emit(&mut self, event: ClientEvent) {
        self.push(Action::Emit(event));
    }

    fn command(&mut self, msg: ClientMsg) {
        if self.phase == Phase::Done
            || self.role != Role::Control
            || self.conn != ConnState::Running
        {
            return;
        }
        self.send(msg);
    }

    /// Control connection gone after the session was established: schedule a reconnect
    /// and arm the give-up timer (once per outage: it is disarmed only by `auth-ok`).
    fn lost(&mut self, now: Duration) {
        let step = self.backoff_step.min(BACKOFF_SCHEDULE.len() - 1);
        self.reconnect_at = Some(now.saturating_add(BACKOFF_SCHEDULE[step]));
        self.backoff_step = self.backoff_step.saturating_add(1);
        if self.giveup_at.is_none() {
            self.giveup_at = self.give_up_after.map(|d| now.saturating_add(d));
        }
    }

    fn fatal(&mut self, message: &str, close: bool) {
        self.finish();
        self.emit(ClientEvent::Fatal {
            message: message.to_owned(),
        });
        if close {
            self.push(Action::Close);
        }
    }

    fn finish(&mut self) {
        self.phase = Phase::Done;
        if self.conn != ConnState::Viewer {
            self.conn = ConnState::Disconnected;
        }
        self.next_ping = None;
        self.reconnect_at = None;
        self.giveup_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "ABCDEFGHIJKLMNOP/abcdefghij0123456789";

    /// `secs` seconds since the platform's epoch (exact to the millisecond).
    fn s(secs: f64) -> Duration {
        Duration::from_millis((secs * 1000.0).round() as u64)
    }

    /// The client with a drain after every input, so each test line reads "input → the
    /// actions it asked for".
    struct Driven(Client);

    impl std::ops::Deref for Driven {
        type Target = Client;
        fn deref(&self) -> &Client {
            &self.0
        }
    }

    impl Driven {
        fn new(role: Role) -> Self {
            Driven(Client::new(role, TOKEN))
        }
        fn drain(&mut self) -> Vec<Action> {
            std::iter::from_fn(|| self.0.poll_action()).collect()
        }
        fn start(&mut self) -> Vec<Action> {
            self.0.start();
            self.drain()
        }
        fn on_connected(&mut self, now: Duration) -> Vec<Action> {
            self.0.on_connected(now);
            self.drain()
        }
        fn on_disconnected(&mut self, now: Duration) -> Vec<Action> {
            self.0.on_disconnected(now);
            self.drain()
        }
        fn on_message(&mut self, msg: ServerMsg, now: Duration) -> Vec<Action> {
            self.0.on_message(msg, now);
            self.drain()
        }
        fn on_protocol_error(&mut self, e: &crate::ProtocolError) -> Vec<Action> {
            self.0.on_protocol_error(e);
            self.drain()
        }
        fn tick(&mut self, now: Duration) -> Vec<Action> {
            self.0.tick(now);
            self.drain()
        }
        fn start_vm(&mut self) -> Vec<Action> {
            self.0.start_vm();
            self.drain()
        }
        fn shutdown(&mut self, destroy: bool) -> Vec<Action> {
            self.0.shutdown(destroy);
            self.drain()
        }
    }

    fn auth_ok(state: &str, max: i64) -> ServerMsg {
        ServerMsg::AuthOk {
            state: state.into(),
            name: "Mac OS 7".into(),
            limit_mouse_rate: None,
            server_timeout_min: 300,
            server_timeout_max: max,
        }
    }

    fn sends(a: &[Action]) -> Vec<ClientMsg> {
        a.iter()
            .filter_map(|a| match a {
                Action::Send(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    fn fatal_text(a: &[Action]) -> Option<String> {
        a.iter().find_map(|a| match a {
            Action::Emit(ClientEvent::Fatal { message }) => Some(message.clone()),
            _ => None,
        })
    }

    /// A control client authenticated at t = `t`.
    fn running_at(t: Duration, max: i64) -> Driven {
        let mut c = Driven::new(Role::Control);
        assert_eq!(c.start(), [Action::Connect]);
        assert_eq!(
            sends(&c.on_connected(t)),
            [ClientMsg::Authenticate {
                token: TOKEN.into()
            }]
        );
        assert_eq!(c.conn_state(), ConnState::Authenticating);
        let a = c.on_message(auth_ok("stopped", max), t);
        assert!(matches!(
            &a[..],
            [Action::Emit(ClientEvent::Authenticated {
                reconnected: false,
                ..
            })]
        ));
        assert_eq!(c.conn_state(), ConnState::Running);
        c
    }

    #[test]
    fn pings_every_3s_and_times_out_at_the_tick_with_3_outstanding() {
        let mut c = running_at(s(100.0), 305);
        assert_eq!(c.next_deadline(), Some(s(103.0)));
        assert!(c.tick(s(102.9)).is_empty());
        for (i, t) in [103.0, 106.0, 109.0].into_iter().enumerate() {
            assert_eq!(sends(&c.tick(s(t))), [ClientMsg::Ping], "tick {i}");
            assert_eq!(c.pings_outstanding(), i as u32 + 1);
            assert_eq!(c.next_deadline(), Some(s(t + 3.0)));
        }
        let a = c.tick(s(112.0));
        assert_eq!(
            a,
            [
                Action::Emit(ClientEvent::PingTimeout),
                Action::Close,
                Action::Emit(ClientEvent::Disconnected)
            ]
        );
        assert_eq!(c.conn_state(), ConnState::Disconnected);
        // The socket's own close event afterwards is ignored.
        assert!(c.on_disconnected(s(112.5)).is_empty());
        assert_eq!(c.next_deadline(), Some(s(113.0))); // reconnect after 1 s
    }

    #[test]
    fn any_pong_resets_outstanding() {
        let mut c = running_at(s(0.0), 305);
        c.tick(s(3.0));
        c.tick(s(6.0));
        c.tick(s(9.0));
        assert_eq!(c.pings_outstanding(), 3);
        assert!(c.on_message(ServerMsg::Pong, s(10.0)).is_empty());
        assert_eq!(c.pings_outstanding(), 0);
        // Next tick pings again instead of timing out.
        assert_eq!(sends(&c.tick(s(12.0))), [ClientMsg::Ping]);
        assert_eq!(c.conn_state(), ConnState::Running);
    }

    #[test]
    fn late_timer_does_not_burst_pings() {
        let mut c = running_at(s(0.0), 305);
        assert_eq!(sends(&c.tick(s(60.0))), [ClientMsg::Ping]);
        assert_eq!(c.next_deadline(), Some(s(63.0)));
    }

    #[test]
    fn backoff_schedule_1_2_5_10_10_and_reset_on_connect() {
        let mut c = running_at(s(0.0), 0);
        let a = c.on_disconnected(s(50.0));
        assert_eq!(a, [Action::Emit(ClientEvent::Disconnected)]);
        let mut t = 50.0;
        for delay in [1.0, 2.0, 5.0, 10.0, 10.0, 10.0] {
            assert_eq!(c.next_deadline(), Some(s(t + delay)));
            assert!(c.tick(s(t + delay - 0.001)).is_empty());
            t += delay;
            assert_eq!(c.tick(s(t)), [Action::Connect]);
            assert_eq!(c.conn_state(), ConnState::Connecting);
            assert_eq!(c.next_deadline(), None, "nothing pending while connecting");
            // Attempt fails: silently scheduled again.
            assert!(c.on_disconnected(s(t)).is_empty());
        }
        // A connection that opens resets the schedule, even without auth-ok.
        t += 10.0;
        assert_eq!(c.tick(s(t)), [Action::Connect]);
        assert_eq!(sends(&c.on_connected(s(t))).len(), 1);
        assert_eq!(
            c.on_disconnected(s(t)),
            [Action::Emit(ClientEvent::Disconnected)]
        );
        assert_eq!(c.next_deadline(), Some(s(t + 1.0)));
    }

    #[test]
    fn reauthentication_reports_reconnected_and_restarts_pinging() {
        let mut c = running_at(s(0.0), 305);
        c.on_disconnected(s(1.0));
        assert_eq!(c.tick(s(2.0)), [Action::Connect]);
        assert_eq!(
            sends(&c.on_connected(s(2.1))),
            [ClientMsg::Authenticate {
                token: TOKEN.into()
            }]
        );
        let a = c.on_message(auth_ok("running", 305), s(2.2));
        assert!(matches!(
            &a[..],
            [Action::Emit(ClientEvent::Authenticated {
                reconnected: true,
                ..
            })]
        ));
        assert_eq!(c.next_deadline(), Some(s(5.2))); // give-up disarmed, ping armed
    }

    #[test]
    fn gives_up_after_server_timeout_max_without_reauth() {
        let mut c = running_at(s(0.0), 305);
        c.on_disconnected(s(10.0));
        // Keep failing to reconnect; the give-up deadline stays anchored at the loss.
        let mut t;
        loop {
            let d = c.next_deadline().unwrap();
            let a = c.tick(d);
            t = d;
            if let Some(msg) = fatal_text(&a) {
                assert_eq!(msg, LOST_CONNECTION);
                break;
            }
            if a.contains(&Action::Connect) {
                // Half the attempts get a TCP connection but no auth-ok before closing.
                if t.as_secs() % 2 == 0 {
                    c.on_connected(t);
                    c.on_disconnected(t + s(0.1));
                } else {
                    c.on_disconnected(t);
                }
            }
        }
        assert_eq!(t, s(315.0));
        assert!(c.is_finished());
        assert_eq!(c.next_deadline(), None);
        assert!(c.tick(s(1000.0)).is_empty());
    }

    #[test]
    fn give_up_while_connecting_closes_the_attempt() {
        let mut c = running_at(s(0.0), 5);
        c.on_disconnected(s(0.0));
        assert_eq!(c.tick(s(1.0)), [Action::Connect]);
        c.on_disconnected(s(1.0));
        assert_eq!(c.tick(s(3.0)), [Action::Connect]);
        let a = c.tick(s(5.0));
        assert_eq!(fatal_text(&a).as_deref(), Some(LOST_CONNECTION));
        assert!(a.contains(&Action::Close));
        // The attempt completes afterwards: close it.
        assert_eq!(c.on_connected(s(5.5)), [Action::Close]);
    }

    #[test]
    fn no_give_up_without_server_timeout() {
        let mut c = running_at(s(0.0), 0);
        c.on_disconnected(s(0.0));
        let mut t = Duration::ZERO;
        for _ in 0..1000 {
            t = c.next_deadline().unwrap();
            let a = c.tick(t);
            assert_eq!(a, [Action::Connect]);
            c.on_disconnected(t);
        }
        assert!(t > s(9000.0));
        assert!(!c.is_finished());
    }

    #[test]
    fn init_phase_failures_are_fatal() {
        let mut c = Driven::new(Role::Control);
        c.start();
        let a = c.on_disconnected(s(0.0));
        assert_eq!(fatal_text(&a).as_deref(), Some(CONTROL_CONNECTION_CLOSED));
        assert_eq!(c.next_deadline(), None);

        let mut c = Driven::new(Role::Control);
        c.start();
        c.on_connected(s(0.0));
        let a = c.on_message(
            ServerMsg::AuthFailed {
                error: "Authentication failed".into(),
            },
            s(0.1),
        );
        assert_eq!(fatal_text(&a).as_deref(), Some("Authentication failed"));
        assert!(a.contains(&Action::Close));
    }

    #[test]
    fn reauth_failure_and_server_error_are_fatal() {
        let mut c = running_at(s(0.0), 305);
        c.on_disconnected(s(1.0));
        c.tick(s(2.0));
        c.on_connected(s(2.0));
        let a = c.on_message(
            ServerMsg::AuthFailed {
                error: "Authentication failed".into(),
            },
            s(2.1),
        );
        assert_eq!(
            fatal_text(&a).as_deref(),
            Some("Reauthentication failed: Authentication failed")
        );

        let mut c = running_at(s(0.0), 305);
        let a = c.on_message(
            ServerMsg::Error {
                message: "Not authenticated".into(),
            },
            s(1.0),
        );
        assert_eq!(
            fatal_text(&a).as_deref(),
            Some("Protocol error: Not authenticated")
        );
        assert!(a.contains(&Action::Close));
        assert!(c.is_finished());
    }

    #[test]
    fn events_in_running_and_invalid_state_replies() {
        let mut c = running_at(s(0.0), 305);
        assert_eq!(sends(&c.start_vm()), [ClientMsg::StartVm]);
        assert_eq!(
            c.on_message(ServerMsg::StartupProgress { fraction: 0.25 }, s(1.0)),
            [Action::Emit(ClientEvent::StartupProgress {
                fraction: 0.25
            })]
        );
        assert_eq!(
            c.on_message(
                ServerMsg::VmStarted {
                    check_display: true
                },
                s(2.0)
            ),
            [Action::Emit(ClientEvent::VmStarted {
                check_display: true
            })]
        );
        assert_eq!(
            c.on_message(ServerMsg::VmStopped, s(3.0)),
            [Action::Emit(ClientEvent::VmStopped)]
        );
        // auth-ok again while running: VMNetX answers "Invalid state for operation".
        assert_eq!(
            sends(&c.on_message(auth_ok("running", 305), s(4.0))),
            [ClientMsg::Error {
                message: INVALID_STATE.into()
            }]
        );
        assert_eq!(
            sends(&c.on_message(ServerMsg::AttachingViewer, s(4.0))),
            [ClientMsg::Error {
                message: INVALID_STATE.into()
            }]
        );
        // Before auth-ok, VM events are invalid too.
        let mut c = Driven::new(Role::Control);
        c.start();
        c.on_connected(s(0.0));
        assert_eq!(
            sends(&c.on_message(ServerMsg::VmStopped, s(0.0))),
            [ClientMsg::Error {
                message: INVALID_STATE.into()
            }]
        );
        assert!(
            c.start_vm().is_empty(),
            "commands dropped until authenticated"
        );
    }

    #[test]
    fn vm_destroyed_finishes_without_reconnect() {
        let mut c = running_at(s(0.0), 305);
        assert_eq!(
            c.on_message(ServerMsg::VmDestroyed, s(1.0)),
            [Action::Emit(ClientEvent::VmDestroyed), Action::Close]
        );
        assert!(c.on_disconnected(s(1.1)).is_empty());
        assert_eq!(c.next_deadline(), None);
    }

    #[test]
    fn protocol_errors_are_answered_with_wire_text() {
        let mut c = running_at(s(0.0), 305);
        let e = crate::ProtocolError::MessageTooLarge { len: 1 << 21 };
        assert_eq!(
            sends(&c.on_protocol_error(&e)),
            [ClientMsg::Error {
                message: "Message too large".into()
            }]
        );
    }

    #[test]
    fn shutdown_destroys_and_closes() {
        let mut c = running_at(s(0.0), 305);
        assert_eq!(
            c.shutdown(true),
            [Action::Send(ClientMsg::DestroyVm), Action::Close]
        );
        assert!(c.is_finished());
        assert_eq!(c.next_deadline(), None);
        assert!(c.shutdown(true).is_empty());
    }

    #[test]
    fn viewer_flow() {
        let mut v = Driven::new(Role::Viewer);
        assert_eq!(v.start(), [Action::Connect]);
        v.on_connected(s(0.0));
        // vm-stopped during setup is not an error... but only while attaching.
        assert_eq!(
            sends(&v.on_message(auth_ok("running", 305), s(0.1))),
            [ClientMsg::AttachViewer]
        );
        assert_eq!(v.conn_state(), ConnState::AttachingViewer);
        assert!(v.on_message(ServerMsg::VmStopped, s(0.15)).is_empty());
        assert_eq!(v.next_deadline(), None, "viewers do not ping");
        assert_eq!(
            v.on_message(ServerMsg::AttachingViewer, s(0.2)),
            [Action::Emit(ClientEvent::ViewerAttached)]
        );
        assert_eq!(v.conn_state(), ConnState::Viewer);
        assert!(v.is_finished());
        assert!(v.tick(s(100.0)).is_empty());
        assert!(v.on_disconnected(s(100.0)).is_empty());
    }

    #[test]
    fn viewer_rejects_non_running_vm_and_closed_connection() {
        let mut v = Driven::new(Role::Viewer);
        v.start();
        v.on_connected(s(0.0));
        let a = v.on_message(auth_ok("stopped", 305), s(0.1));
        assert_eq!(
            fatal_text(&a).as_deref(),
            Some("Server in unexpected state: stopped")
        );
        assert!(a.contains(&Action::Close));

        let mut v = Driven::new(Role::Viewer);
        v.start();
        v.on_connected(s(0.0));
        let a = v.on_disconnected(s(0.5));
        assert_eq!(fatal_text(&a).as_deref(), Some("Connection closed"));
    }
}
