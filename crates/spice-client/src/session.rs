//! The session: the main channel and every channel it lists, as one sans-IO state machine.
//!
//! The platform opens a transport when asked ([`Output::Connect`]), feeds what each
//! transport receives into [`Session::receive`], writes [`Output::Send`] bytes, and shows
//! [`Event`]s. A failure on any channel becomes [`Event::ChannelFailed`]: the caller decides
//! what to tell the user, but it always learns that something died.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use rand_core::{CryptoRngCore, OsRng};
use spice_proto::caps::{self, Caps};
use spice_proto::messages::base::BaseMsg;
use spice_proto::messages::main::{mouse_mode, MainMsg};
use spice_proto::messages::{
    decode_server, message_name, BaseClientMsg, ClientMessage, CursorMsg, DisplayClientMsg,
    InputsClientMsg, InputsMsg, MainClientMsg, PlaybackMsg, ServerMsg,
};
use spice_proto::{framing::RawMessage, ChannelType, ProtoError};

use crate::agent::{Agent, AgentError, AgentEvent, AgentOut};
use crate::cursor::{CursorEvent, CursorState};
use crate::display::stream::MmClock;
use crate::display::{DisplayEvent, DisplayState, Surface};
use crate::error::ChannelError;
use crate::inputs::keymap::{scancode_for_code, Scancode};
use crate::inputs::{Button, InputsState};
use crate::link::Link;
use crate::playback::{PlaybackEvent, PlaybackState};
use crate::stats::Stats;

/// A channel of the session: its type and its id (several displays have ids 0, 1, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChannelKey {
    /// What the channel carries.
    pub channel_type: ChannelType,
    /// Which of that type (QEMU numbers display channels per head).
    pub id: u8,
}

impl ChannelKey {
    /// The main channel: the first one a session opens, the one every other follows.
    pub const MAIN: ChannelKey = ChannelKey {
        channel_type: ChannelType::Main,
        id: 0,
    };

    /// The channel `id` of `channel_type`.
    pub fn new(channel_type: ChannelType, id: u8) -> Self {
        ChannelKey { channel_type, id }
    }
}

impl std::fmt::Display for ChannelKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.channel_type.name(), self.id)
    }
}

/// Image compression the client asks the server to prefer (PREFERRED_COMPRESSION).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Raw bitmaps only (about 4 bytes a pixel): for debugging.
    Off,
    /// The server picks per image among GLZ, zlib-GLZ, QUIC and JPEG: the default.
    AutoGlz,
    /// The server picks among LZ, QUIC and JPEG (no dictionary).
    AutoLz,
    /// QUIC for every image it can take.
    Quic,
    /// GLZ (falls back to LZ for images the dictionary window cannot hold).
    Glz,
    /// LZ and LZ_PLT only: lossless, no dictionary.
    Lz,
    /// LZ4 (needs the LZ4 capability, which the session advertises).
    Lz4,
}

impl Compression {
    /// The value PREFERRED_COMPRESSION carries.
    pub fn wire(self) -> u8 {
        match self {
            Compression::Off => 1,
            Compression::AutoGlz => 2,
            Compression::AutoLz => 3,
            Compression::Quic => 4,
            Compression::Glz => 5,
            Compression::Lz => 6,
            Compression::Lz4 => 7,
        }
    }

    /// The name QEMU's `image-compression` option uses (`auto_glz`, `lz4`, ...).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "off" => Compression::Off,
            "auto_glz" => Compression::AutoGlz,
            "auto_lz" => Compression::AutoLz,
            "quic" => Compression::Quic,
            "glz" => Compression::Glz,
            "lz" => Compression::Lz,
            "lz4" => Compression::Lz4,
            _ => return None,
        })
    }
}

/// What a session asks of the server.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// The SPICE password, sent encrypted in every channel's ticket.
    pub password: String,
    /// Sent right after the display channel links; `None` sends nothing, leaving QEMU's
    /// `image-compression` setting in force. The default, AUTO_GLZ with a real GLZ window,
    /// lets spice-server pick per image (GLZ, zlib-GLZ, QUIC, JPEG on slow links), which is
    /// what keeps bandwidth down on the internet links visitors use. LZ and OFF remain for
    /// debugging and tests.
    pub compression: Option<Compression>,
    /// Pixmap cache size offered in DISPLAY_INIT, in pixels.
    pub pixmap_cache_pixels: i64,
    /// GLZ dictionary window offered in DISPLAY_INIT, in pixels; 0 disables GLZ.
    pub glz_window_pixels: i32,
    /// Channel types to open when the server lists them. Add [`ChannelType::Playback`]
    /// for sound.
    pub channels: Vec<ChannelType>,
    /// Advertise Opus on the playback channel (the server then sends
    /// [`PlaybackEvent::Opus`] instead of [`PlaybackEvent::Pcm`]); only if the platform
    /// decodes Opus.
    pub playback_opus: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            password: String::new(),
            compression: Some(Compression::AutoGlz),
            pixmap_cache_pixels: crate::display::images::DEFAULT_PIXMAP_CACHE_PIXELS as i64,
            glz_window_pixels: crate::display::images::DEFAULT_GLZ_WINDOW_PIXELS as i32,
            channels: vec![
                ChannelType::Display,
                ChannelType::Inputs,
                ChannelType::Cursor,
            ],
            playback_opus: false,
        }
    }
}

/// What the platform must do next.
#[derive(Debug)]
pub enum Output {
    /// Open a transport for this channel, then call [`Session::connected`].
    Connect(ChannelKey),
    /// Write these bytes to the channel's transport.
    Send(ChannelKey, Vec<u8>),
    /// Close the channel's transport.
    Close(ChannelKey),
    /// Something to show or act on.
    Event(Event),
}

/// What happened in the session, for the platform to show.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The channel linked and is carrying messages.
    ChannelReady(ChannelKey),
    /// The channel is gone; `error` says why in words fit for a user.
    ChannelFailed {
        /// The channel that died.
        channel: ChannelKey,
        /// Why.
        error: ChannelError,
    },
    /// Something went wrong that did not cost the channel (an undecodable image, say).
    Warning {
        /// Where it happened.
        channel: ChannelKey,
        /// What went wrong, in words for a log.
        message: String,
    },
    /// The server's mouse mode; true = client (absolute) mode.
    MouseMode {
        /// True: send absolute positions; false: relative motion (pointer lock).
        client: bool,
    },
    /// A surface changed: redraw, resize.
    Display(DisplayEvent),
    /// The guest's cursor changed shape, moved or hid.
    Cursor(CursorEvent),
    /// Sound to play.
    Playback(PlaybackEvent),
    /// The guest's lock-key LEDs (KEY_MODIFIERS bits).
    KeyboardLeds(u16),
    /// A NOTIFY from the server, to log.
    Notify {
        /// 0 info, 1 warning, 2 error.
        severity: u32,
        /// The server's text.
        message: String,
    },
    /// Whether the guest agent is connected (clipboard, resize need it).
    AgentConnected(bool),
    /// What the guest agent said: its capabilities, the guest's clipboard.
    Agent(AgentEvent),
    /// The VM's name, as QEMU's `-name` gave it.
    Name(String),
}

#[derive(Debug)]
struct Channel {
    link: Link,
    ack_window: u32,
    unacked: u32,
    /// Serial of the last message received (mini-header serials are implicit).
    serial: u64,
}

/// One SPICE session: the main channel and every channel it lists (see the module docs).
pub struct Session {
    config: SessionConfig,
    rng: Box<dyn CryptoRngCore + Send>,
    channels: HashMap<ChannelKey, Channel>,
    pending: HashSet<ChannelKey>,
    out: VecDeque<Output>,
    session_id: Option<u32>,
    mouse_client: bool,
    agent: Agent,
    /// Tokens INIT granted for agent messages (a plain AGENT_CONNECTED reuses them).
    agent_tokens: u32,
    clock: MmClock,
    display: DisplayState,
    cursor: CursorState,
    inputs: InputsState,
    playback: PlaybackState,
    stats: Stats,
    /// The display channel whose state `display` holds (STREAM_REPORTs go there).
    display_key: ChannelKey,
}

impl Session {
    /// Starts a session; the first output asks for the main channel's transport.
    pub fn new(config: SessionConfig) -> Self {
        Self::with_rng(config, Box::new(OsRng))
    }

    /// Like [`Session::new`] with the randomness for the tickets' RSA-OAEP padding
    /// supplied, so tests can be deterministic.
    pub fn with_rng(config: SessionConfig, rng: Box<dyn CryptoRngCore + Send>) -> Self {
        let cache_pixels = u64::try_from(config.pixmap_cache_pixels).unwrap_or(0);
        let glz_window = u64::try_from(config.glz_window_pixels).unwrap_or(0);
        let playback = PlaybackState::new(config.playback_opus);
        let mut s = Session {
            config,
            rng,
            channels: HashMap::new(),
            pending: HashSet::new(),
            out: VecDeque::new(),
            session_id: None,
            mouse_client: false,
            agent: Agent::default(),
            agent_tokens: 0,
            clock: MmClock::default(),
            display: DisplayState::with_limits(cache_pixels, glz_window),
            cursor: CursorState::default(),
            inputs: InputsState::default(),
            playback,
            stats: Stats::default(),
            display_key: ChannelKey::new(ChannelType::Display, 0),
        };
        s.pending.insert(ChannelKey::MAIN);
        s.out.push_back(Output::Connect(ChannelKey::MAIN));
        s
    }

    /// The next thing the platform must do, oldest first; call until `None` after every
    /// input.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// What the session received so far (bytes, messages and images by type).
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Whether the guest agent is connected (its capabilities arrive as [`Event::Agent`]).
    pub fn agent_connected(&self) -> bool {
        self.agent.is_connected()
    }

    /// The visitor's text becomes the guest's clipboard, through the agent (now, or when
    /// it connects). Text over the limit is refused.
    pub fn set_clipboard(&mut self, text: &str) -> Result<(), AgentError> {
        self.agent_step(|a, out| a.set_clipboard(text, out))
    }

    /// Asks the guest (through its agent) to change its display to `width` x `height`;
    /// the new surface arrives as display events. Callers debounce: every distinct size is
    /// sent.
    pub fn request_display_size(&mut self, width: u32, height: u32) {
        self.agent_step(|a, out| a.resize(width, height, out));
    }

    /// The server's session id, once MAIN_INIT arrived.
    pub fn session_id(&self) -> Option<u32> {
        self.session_id
    }

    /// True when the server takes absolute positions ([`Session::mouse_position`]).
    pub fn mouse_client_mode(&self) -> bool {
        self.mouse_client
    }

    /// The server's multimedia time as last announced (INIT, MULTI_MEDIA_TIME).
    pub fn multimedia_time(&self) -> Option<u32> {
        self.clock.last_sync()
    }

    /// The multimedia time now, once the platform has ticked and the server has synced.
    pub fn multimedia_now(&self) -> Option<u32> {
        self.clock.now_mm()
    }

    /// The platform's monotonic clock reads `now` (since the platform's epoch; see the
    /// crate docs).
    ///
    /// Video frames are stamped with the time they should appear; the session cannot
    /// read a clock, so the platform calls this before each [`Session::receive`] and
    /// again at [`Session::next_deadline`]. Frames whose time has come are drawn here.
    /// A platform that never ticks gets every frame drawn as soon as it arrives.
    pub fn tick(&mut self, now: Duration) {
        // The multimedia clock counts milliseconds, as the server's timeline does.
        self.clock
            .tick(u64::try_from(now.as_millis()).unwrap_or(u64::MAX));
        self.display.set_mm_now(self.clock.now_mm());
        let events = self.display.poll_streams(&mut self.stats);
        let key = self.display_key;
        self.display_outcomes(key, events);
        self.send_stream_reports(key);
    }

    /// When (on the clock given to [`Session::tick`]) the next queued video frame is
    /// due; the platform should tick then.
    pub fn next_deadline(&self) -> Option<Duration> {
        let due = self.display.next_stream_due()?;
        self.clock.platform_time_of(due).map(Duration::from_millis)
    }

    /// The surface the guest's screen is on, once created.
    pub fn primary_surface(&self) -> Option<&Surface> {
        self.display.primary()
    }

    /// Surface `id` (off-screen surfaces of qxl guests included).
    pub fn surface(&self, id: u32) -> Option<&Surface> {
        self.display.surface(id)
    }

    /// The guest's cursor as last set.
    pub fn cursor(&self) -> &CursorState {
        &self.cursor
    }

    /// The playback stream's format and volume as last announced.
    pub fn playback(&self) -> &PlaybackState {
        &self.playback
    }

    /// True once channel `key` has linked and carries messages.
    pub fn is_ready(&self, key: ChannelKey) -> bool {
        self.channels.get(&key).is_some_and(|c| c.link.is_linked())
    }

    /// The transport for `key` is open: start the link.
    pub fn connected(&mut self, key: ChannelKey) {
        if !self.pending.remove(&key) {
            return;
        }
        let connection_id = if key == ChannelKey::MAIN {
            0
        } else {
            self.session_id.unwrap_or(0)
        };
        let (link, bytes) = Link::start(
            key.channel_type,
            key.id,
            connection_id,
            &self.config.password,
            channel_caps(key.channel_type, &self.config),
        );
        self.channels.insert(
            key,
            Channel {
                link,
                ack_window: 0,
                unacked: 0,
                serial: 0,
            },
        );
        self.send_raw(key, bytes);
    }

    /// The transport for `key` closed (or failed to open).
    pub fn transport_closed(&mut self, key: ChannelKey, reason: &str) {
        let known = self.pending.remove(&key) | self.channels.remove(&key).is_some();
        if known {
            self.event(Event::ChannelFailed {
                channel: key,
                error: ChannelError::TransportClosed(reason.to_owned()),
            });
        }
    }

    /// Bytes arrived on `key`'s transport.
    pub fn receive(&mut self, key: ChannelKey, data: &[u8]) {
        self.stats.bytes_received += data.len() as u64;
        let Some(channel) = self.channels.get_mut(&key) else {
            return;
        };
        let step = match channel.link.receive(data, &mut *self.rng) {
            Ok(step) => step,
            Err(e) => return self.fail(key, e),
        };
        for bytes in step.send {
            self.send_raw(key, bytes);
        }
        if step.linked {
            self.on_linked(key);
        }
        for msg in step.messages {
            if let Err(e) = self.on_message(key, msg) {
                return self.fail(key, e);
            }
            if !self.channels.contains_key(&key) {
                return;
            }
        }
    }

    fn fail(&mut self, key: ChannelKey, error: ChannelError) {
        if let Some(mut c) = self.channels.remove(&key) {
            c.link.close();
        }
        self.out.push_back(Output::Close(key));
        self.event(Event::ChannelFailed {
            channel: key,
            error,
        });
    }

    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    fn send_raw(&mut self, key: ChannelKey, bytes: Vec<u8>) {
        self.stats.bytes_sent += bytes.len() as u64;
        self.out.push_back(Output::Send(key, bytes));
    }

    fn send(&mut self, key: ChannelKey, msg: &impl ClientMessage) {
        self.send_raw(key, msg.to_frame());
    }

    fn on_linked(&mut self, key: ChannelKey) {
        self.event(Event::ChannelReady(key));
        if key.channel_type == ChannelType::Playback {
            self.playback = PlaybackState::new(self.config.playback_opus);
        }
        if key.channel_type == ChannelType::Display {
            let init = DisplayClientMsg::Init {
                pixmap_cache_id: 1,
                pixmap_cache_size: self.config.pixmap_cache_pixels,
                glz_dictionary_id: 0,
                glz_dictionary_window_size: self.config.glz_window_pixels,
            };
            self.send(key, &init);
            if let Some(c) = self.config.compression {
                self.send(key, &DisplayClientMsg::PreferredCompression(c.wire()));
            }
        }
    }

    fn on_message(&mut self, key: ChannelKey, msg: RawMessage) -> Result<(), ChannelError> {
        if let Some(c) = self.channels.get_mut(&key) {
            c.serial += 1;
        }
        self.count_ack(key);
        self.dispatch(key, msg.ty, &msg.body)
    }

    /// Display and cursor channels stop sending when unacknowledged messages pile up.
    fn count_ack(&mut self, key: ChannelKey) {
        let Some(c) = self.channels.get_mut(&key) else {
            return;
        };
        if c.ack_window == 0 {
            return;
        }
        c.unacked += 1;
        if c.unacked >= c.ack_window {
            c.unacked = 0;
            self.send(key, &BaseClientMsg::Ack);
        }
    }

    fn dispatch(&mut self, key: ChannelKey, ty: u16, body: &[u8]) -> Result<(), ChannelError> {
        let name = message_name(key.channel_type, ty);
        self.stats.count_message(key.channel_type.name(), name);
        let msg = match decode_server(key.channel_type, ty, body) {
            Ok(m) => m,
            Err(ProtoError::UnknownMessage { .. }) => {
                // Channels we open only for their side effects (or newer servers) may send
                // messages we do not model; skipping them loses nothing we would show.
                self.event(Event::Warning {
                    channel: key,
                    message: format!("ignored unknown message type {ty}"),
                });
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        match msg {
            ServerMsg::Base(b) => self.on_base(key, b),
            ServerMsg::Main(MainMsg::Base(b)) => self.on_base(key, b),
            ServerMsg::Main(m) => self.on_main(m),
            ServerMsg::Display(spice_proto::messages::DisplayMsg::Base(b)) => self.on_base(key, b),
            ServerMsg::Display(m) => {
                self.display_key = key;
                self.display.set_mm_now(self.clock.now_mm());
                let events = self.display.handle(&m, &mut self.stats);
                self.display_outcomes(key, events);
                self.send_stream_reports(key);
                Ok(())
            }
            ServerMsg::Inputs(InputsMsg::Base(b)) => self.on_base(key, b),
            ServerMsg::Inputs(m) => {
                self.on_inputs(key, m);
                Ok(())
            }
            ServerMsg::Cursor(CursorMsg::Base(b)) => self.on_base(key, b),
            ServerMsg::Cursor(m) => {
                if let Some(e) = self.cursor.handle(&m)? {
                    self.event(Event::Cursor(e));
                }
                Ok(())
            }
            ServerMsg::Playback(PlaybackMsg::Base(b)) => self.on_base(key, b),
            ServerMsg::Playback(m) => {
                // Sound we cannot play is worth a warning, not the channel: the server
                // may switch to something playable at the next MODE/START.
                match self.playback.handle(&m) {
                    Ok(Some(e)) => self.event(Event::Playback(e)),
                    Ok(None) => {}
                    Err(err) => self.event(Event::Warning {
                        channel: key,
                        message: err.to_string(),
                    }),
                }
                Ok(())
            }
        }
    }

    fn display_outcomes(
        &mut self,
        key: ChannelKey,
        outcomes: Vec<Result<DisplayEvent, crate::error::DisplayError>>,
    ) {
        for e in outcomes {
            match e {
                Ok(ev) => self.event(Event::Display(ev)),
                Err(err) => self.event(Event::Warning {
                    channel: key,
                    message: err.to_string(),
                }),
            }
        }
    }

    fn send_stream_reports(&mut self, key: ChannelKey) {
        let reports = self.display.take_stream_reports();
        if reports.is_empty() || !self.is_ready(key) {
            return;
        }
        for r in reports {
            self.send(key, &DisplayClientMsg::StreamReport(r));
        }
    }

    fn on_base(&mut self, key: ChannelKey, msg: BaseMsg<'_>) -> Result<(), ChannelError> {
        match msg {
            BaseMsg::SetAck { generation, window } => {
                if let Some(c) = self.channels.get_mut(&key) {
                    c.ack_window = window;
                    c.unacked = 0;
                }
                self.send(key, &BaseClientMsg::AckSync { generation });
            }
            BaseMsg::Ping { id, timestamp, .. } => {
                self.send(key, &BaseClientMsg::Pong { id, timestamp });
            }
            BaseMsg::Notify(n) => self.event(Event::Notify {
                severity: n.severity,
                message: n.message,
            }),
            BaseMsg::Disconnecting { reason, .. } => {
                return Err(ChannelError::Disconnected(
                    spice_proto::link::LinkError::from_u32(reason).to_string(),
                ));
            }
            BaseMsg::List(subs) => {
                for sub in subs {
                    self.dispatch(key, sub.ty, sub.body)?;
                }
            }
            // With a single display channel there is nothing to wait for: messages on one
            // channel are already processed in order.
            BaseMsg::WaitForChannels(_) => {}
            // We advertise no migration capability, so the server does not migrate us.
            BaseMsg::Migrate { .. } | BaseMsg::MigrateData(_) => {}
        }
        Ok(())
    }

    fn on_main(&mut self, msg: MainMsg<'_>) -> Result<(), ChannelError> {
        let key = ChannelKey::MAIN;
        match msg {
            MainMsg::Init(init) => {
                self.session_id = Some(init.session_id);
                self.clock.sync(init.multi_media_time);
                self.agent_tokens = init.agent_tokens;
                if init.agent_connected != 0 {
                    self.agent_step(|a, out| a.connect(init.agent_tokens, out));
                }
                self.set_mouse_modes(init.supported_mouse_modes, init.current_mouse_mode);
                self.send(key, &MainClientMsg::AttachChannels);
            }
            MainMsg::ChannelsList(list) => {
                for ch in list {
                    let k = ChannelKey::new(ch.channel_type, ch.id);
                    let wanted = self.config.channels.contains(&ch.channel_type);
                    if wanted && !self.channels.contains_key(&k) && !self.pending.contains(&k) {
                        self.pending.insert(k);
                        self.out.push_back(Output::Connect(k));
                    }
                }
            }
            MainMsg::MouseMode { supported, current } => {
                self.set_mouse_modes(supported.into(), current.into());
            }
            MainMsg::MultiMediaTime(t) => self.clock.sync(t),
            MainMsg::AgentConnected | MainMsg::AgentConnectedTokens(_) => {
                let tokens = match msg {
                    MainMsg::AgentConnectedTokens(n) => n,
                    _ => self.agent_tokens,
                };
                self.agent_step(|a, out| a.connect(tokens, out));
                self.event(Event::AgentConnected(true));
            }
            MainMsg::AgentDisconnected { .. } => {
                self.agent.disconnect();
                self.event(Event::AgentConnected(false));
            }
            MainMsg::AgentData(chunk) => self.agent_step(|a, out| a.data(chunk, out)),
            MainMsg::AgentToken(n) => self.agent_step(|a, out| a.tokens(n, out)),
            MainMsg::Name(name) => self.event(Event::Name(name)),
            MainMsg::Uuid(_) | MainMsg::Migration { .. } | MainMsg::Base(_) => {}
        }
        Ok(())
    }

    /// Runs one step of the agent and carries out what it asks.
    fn agent_step<T>(&mut self, step: impl FnOnce(&mut Agent, &mut Vec<AgentOut>) -> T) -> T {
        let mut out = Vec::new();
        let result = step(&mut self.agent, &mut out);
        for o in out {
            match o {
                AgentOut::Send(msg) => self.send(ChannelKey::MAIN, &msg),
                AgentOut::Event(e) => self.event(Event::Agent(e)),
                AgentOut::Refused(message) => self.event(Event::Warning {
                    channel: ChannelKey::MAIN,
                    message,
                }),
            }
        }
        result
    }

    fn set_mouse_modes(&mut self, supported: u32, current: u32) {
        let client_supported = supported & u32::from(mouse_mode::CLIENT) != 0;
        let client = current & u32::from(mouse_mode::CLIENT) != 0;
        if client_supported && !client {
            self.send(
                ChannelKey::MAIN,
                &MainClientMsg::MouseModeRequest {
                    mode: mouse_mode::CLIENT,
                },
            );
        }
        if client != self.mouse_client {
            self.mouse_client = client;
            self.event(Event::MouseMode { client });
        }
    }

    fn on_inputs(&mut self, key: ChannelKey, msg: InputsMsg<'_>) {
        match msg {
            InputsMsg::Init { modifiers } | InputsMsg::KeyModifiers { modifiers } => {
                self.inputs.guest_leds = modifiers;
                self.event(Event::KeyboardLeds(modifiers));
            }
            InputsMsg::MouseMotionAck => {
                if let Some(m) = self.inputs.motion_ack() {
                    self.send(key, &m);
                }
            }
            InputsMsg::Base(_) => {}
        }
    }

    fn inputs_key(&self) -> Option<ChannelKey> {
        let key = ChannelKey::new(ChannelType::Inputs, 0);
        self.is_ready(key).then_some(key)
    }

    fn send_inputs(&mut self, msgs: impl IntoIterator<Item = InputsClientMsg>) -> bool {
        let Some(key) = self.inputs_key() else {
            return false;
        };
        for m in msgs {
            self.send(key, &m);
        }
        true
    }

    /// A key went down, named by `KeyboardEvent.code`. False if the key is unknown or
    /// the inputs channel is not up.
    pub fn key_down(&mut self, code: &str) -> bool {
        match scancode_for_code(code) {
            Some(sc) => self.scancode_down(sc),
            None => false,
        }
    }

    /// A key went down (`pressed`) or up; for callers that carry the direction as data.
    pub fn key(&mut self, code: &str, pressed: bool) -> bool {
        if pressed {
            self.key_down(code)
        } else {
            self.key_up(code)
        }
    }

    /// A key went up, named by `KeyboardEvent.code`.
    pub fn key_up(&mut self, code: &str) -> bool {
        match scancode_for_code(code) {
            Some(sc) => self.scancode_up(sc),
            None => false,
        }
    }

    /// A key went down, as a set-1 scancode (for keys the browser cannot name).
    pub fn scancode_down(&mut self, sc: Scancode) -> bool {
        if self.inputs_key().is_none() {
            return false;
        }
        let m = self.inputs.key_down(sc);
        self.send_inputs([m])
    }

    /// A key went up, as a set-1 scancode.
    pub fn scancode_up(&mut self, sc: Scancode) -> bool {
        if self.inputs_key().is_none() {
            return false;
        }
        let m = self.inputs.key_up(sc);
        self.send_inputs([m])
    }

    /// Raw scancode bytes, for sequences a u32 cannot hold (Pause).
    pub fn scancode_bytes(&mut self, bytes: &[u8]) -> bool {
        self.send_inputs([InputsClientMsg::KeyScancode(bytes.to_vec())])
    }

    /// Tells the server which lock keys should be on (LED_* bits); it toggles the guest's.
    pub fn set_lock_keys(&mut self, leds: u16) -> bool {
        self.send_inputs([InputsClientMsg::KeyModifiers { modifiers: leds }])
    }

    /// Releases all held keys and buttons (focus lost).
    pub fn release_all(&mut self) -> bool {
        let msgs = self.inputs.release_all();
        self.send_inputs(msgs)
    }

    /// Client mouse mode: the pointer is at (x, y) in primary-surface pixels.
    pub fn mouse_position(&mut self, x: u32, y: u32) -> bool {
        if self.inputs_key().is_none() {
            return false;
        }
        let m = self.inputs.position(x, y);
        self.send_inputs(m)
    }

    /// Server mouse mode: the pointer moved by (dx, dy).
    pub fn mouse_motion(&mut self, dx: i32, dy: i32) -> bool {
        if self.inputs_key().is_none() {
            return false;
        }
        let m = self.inputs.motion(dx, dy);
        self.send_inputs(m)
    }

    /// A mouse button went down (`pressed`) or up.
    pub fn mouse_button(&mut self, button: Button, pressed: bool) -> bool {
        if self.inputs_key().is_none() {
            return false;
        }
        let m = self.inputs.button(button, pressed);
        self.send_inputs(m)
    }

    /// One wheel step (sent as a press and release of the wheel button).
    pub fn mouse_wheel(&mut self, up: bool) -> bool {
        if self.inputs_key().is_none() {
            return false;
        }
        let m = self.inputs.wheel(up);
        self.send_inputs(m)
    }
}

fn channel_caps(t: ChannelType, config: &SessionConfig) -> Caps {
    match t {
        ChannelType::Main => Caps::from_bits(&[
            caps::main::AGENT_CONNECTED_TOKENS,
            caps::main::NAME_AND_UUID,
        ]),
        // Only what the renderer handles. COMPOSITE and A8_SURFACE reach the guest's qxl
        // driver, which then emits DRAW_COMPOSITE and alpha-only surfaces: both are
        // rendered (display/draw/composite.rs). Of the video codecs only MJPEG, since with
        // MULTI_CODEC the server streams nothing else.
        ChannelType::Display => Caps::from_bits(&[
            caps::display::SIZED_STREAM,
            caps::display::MONITORS_CONFIG,
            caps::display::COMPOSITE,
            caps::display::A8_SURFACE,
            caps::display::STREAM_REPORT,
            caps::display::MULTI_CODEC,
            caps::display::CODEC_MJPEG,
            caps::display::LZ4_COMPRESSION,
        ]),
        // VOLUME and LATENCY only add messages we pass on; OPUS makes the server encode,
        // so only when the platform decodes it.
        ChannelType::Playback => {
            let mut c = Caps::from_bits(&[caps::playback::VOLUME, caps::playback::LATENCY]);
            if config.playback_opus {
                c.set(caps::playback::OPUS);
            }
            c
        }
        _ => Caps::new(),
    }
}

#[cfg(test)]
mod caps_tests {
    use super::*;

    #[test]
    fn display_advertises_what_the_renderer_draws_and_only_mjpeg() {
        let c = channel_caps(ChannelType::Display, &SessionConfig::default());
        assert!(c.has(caps::display::COMPOSITE));
        assert!(c.has(caps::display::A8_SURFACE));
        assert!(c.has(caps::display::LZ4_COMPRESSION));
        assert!(!c.has(caps::display::GL_SCANOUT));
        assert!(c.has(caps::display::CODEC_MJPEG));
        assert!(!c.has(caps::display::CODEC_VP8));
        assert!(!c.has(caps::display::CODEC_H264));
    }
}
