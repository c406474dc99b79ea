//! Driving the SPICE [`Session`]: start it once the VM runs, perform its outputs and show
//! its events. Every `ChannelFailed` reaches the visitor: cursor and sound failures as a
//! notice, the others as an error.

use spice_client::agent::AgentEvent;
use spice_client::cursor::CursorEvent;
use spice_client::display::DisplayEvent;
use spice_client::playback::PlaybackEvent;
use spice_client::{ChannelType, Event, Output, Session, SessionConfig};

use super::Inner;
use crate::ui::dom::{self, attr};
use crate::ui::status::{self, text, PlayerState};

/// How long a lost screen waits for the control connection to explain it.
const FAILURE_GRACE_MS: u32 = 2000;

/// Channels we open beside main.
pub(crate) fn channels() -> Vec<ChannelType> {
    vec![
        ChannelType::Display,
        ChannelType::Inputs,
        ChannelType::Cursor,
        ChannelType::Playback,
    ]
}

impl Inner {
    /// The VM runs: start the SPICE session (once).
    pub(super) fn start_session(&mut self) {
        if self.session.is_some() || self.state.is_final() {
            return;
        }
        let Some(inst) = self.instance.as_ref() else {
            return;
        };
        let config = SessionConfig {
            password: inst.spice_password.clone(),
            channels: channels(),
            playback_opus: self.opus_supported && self.audio.is_some(),
            ..SessionConfig::default()
        };
        self.session = Some(Session::new(config));
        self.set_state(PlayerState::Connecting, text::CONNECTING);
        self.pump();
    }

    /// Drops the session and its sockets (VM stopped or gone).
    pub(super) fn end_session(&mut self) {
        self.viewers.clear();
        self.session = None;
        self.release_pointer_lock();
    }

    /// Performs every pending session output, after telling the session the time (video
    /// frames wait for it), and wakes up again when the next frame is due.
    pub(super) fn pump(&mut self) {
        self.tick_session();
        while let Some(out) = self.session.as_mut().and_then(|s| s.poll_output()) {
            match out {
                Output::Connect(key) => self.open_viewer(key),
                Output::Send(key, bytes) => self.send_viewer(key, &bytes),
                Output::Close(key) => self.close_viewer(key),
                Output::Event(e) => self.on_session_event(e),
            }
        }
        self.schedule_stream_tick();
    }

    /// The session's clock is `performance.now()`; call before `receive` too, so frames
    /// are judged early or late against the time they arrived.
    pub(super) fn tick_session(&mut self) {
        if let Some(s) = self.session.as_mut() {
            s.tick(dom::now());
        }
    }

    fn schedule_stream_tick(&mut self) {
        let Some(due) = self.session.as_ref().and_then(|s| s.next_deadline()) else {
            self.stream_timer = None;
            return;
        };
        if self.stream_timer.as_ref().is_some_and(|(at, _)| *at == due) {
            return;
        }
        let wait = due.saturating_sub(dom::now()).as_millis();
        let weak = self.weak.clone();
        let timer = gloo::timers::callback::Timeout::new(
            u32::try_from(wait).unwrap_or(u32::MAX),
            move || {
                Inner::with(&weak, |p| {
                    p.stream_timer = None;
                    p.pump();
                })
            },
        );
        self.stream_timer = Some((due, timer));
    }

    fn on_session_event(&mut self, e: Event) {
        match e {
            Event::Display(d) => self.on_display(d),
            Event::Cursor(c) => self.on_cursor(c),
            Event::Playback(p) => self.on_playback(p),
            Event::MouseMode { client } => self.set_mouse_mode(client),
            Event::ChannelFailed { channel, error } => {
                dom::log(&format!("channel {channel} failed: {error}"));
                if self.state.is_final() {
                    return;
                }
                let (msg, fatal) =
                    status::channel_failure(channel.channel_type, &error.to_string());
                if fatal {
                    self.defer_failure(msg);
                } else {
                    self.view.set_notice(&msg);
                }
            }
            Event::Warning { channel, message } => dom::log(&format!("{channel}: {message}")),
            Event::Notify { message, .. } => dom::log(&format!("server notice: {message}")),
            Event::Agent(AgentEvent::Capabilities { clipboard, resize }) => {
                self.on_agent_capabilities(clipboard, resize)
            }
            Event::Agent(AgentEvent::GuestClipboard(text)) => self.on_guest_clipboard(text),
            Event::AgentConnected(false) => self.on_agent_capabilities(false, false),
            other => dom::log(&format!("session: {other:?}")),
        }
    }

    fn on_display(&mut self, d: DisplayEvent) {
        match d {
            DisplayEvent::SurfaceCreated {
                width,
                height,
                primary: true,
                ..
            } => {
                self.presenter.resize(width, height);
                self.apply_scale();
            }
            DisplayEvent::Invalidate { surface_id, rect } => {
                let primary = self
                    .session
                    .as_ref()
                    .and_then(|s| s.primary_surface())
                    .is_some();
                if primary && self.is_primary(surface_id) {
                    self.presenter.invalidate(rect);
                    self.schedule_frame();
                }
            }
            _ => {}
        }
    }

    fn is_primary(&self, surface_id: u32) -> bool {
        // The primary surface is always id 0 in SPICE; the presenter only knows that one.
        let _ = self;
        surface_id == 0
    }

    fn on_cursor(&mut self, c: CursorEvent) {
        match c {
            CursorEvent::Shape {
                shape,
                visible,
                x,
                y,
            } => {
                self.cursor.set_shape(shape, visible);
                self.cursor.move_to(f64::from(x), f64::from(y));
            }
            CursorEvent::Move { x, y } => {
                if !self.input.client_mode {
                    self.cursor.move_to(f64::from(x), f64::from(y));
                }
            }
            CursorEvent::Hide => self.cursor.set_visible(false),
            CursorEvent::Reset => self.cursor.set_shape(None, false),
            CursorEvent::Trail { .. } => {}
        }
        attr(
            &self.view.root,
            "data-cursor",
            match self.cursor.mode() {
                super::cursor::CursorMode::Css => "css",
                super::cursor::CursorMode::Overlay => "overlay",
                super::cursor::CursorMode::Hidden => "hidden",
            },
        );
    }

    /// When the machine dies its SPICE sockets close a moment before the control
    /// connection says why (vm-stopped). Wait briefly so the visitor reads the reason,
    /// not a bare "lost the screen".
    fn defer_failure(&mut self, msg: String) {
        self.end_session();
        self.pending_failure = Some(msg);
        let weak = self.weak.clone();
        self.failure_timer = Some(gloo::timers::callback::Timeout::new(
            FAILURE_GRACE_MS,
            move || {
                if let Some(rc) = weak.upgrade() {
                    let mut inner = rc.borrow_mut();
                    if let Some(msg) = inner.pending_failure.take() {
                        if !inner.state.is_final() {
                            inner.set_state(PlayerState::Error, &msg);
                        }
                    }
                }
            },
        ));
    }

    /// Sound stops but the machine goes on: say so, once, without ending the session.
    fn notice_audio_failure(&mut self, detail: &str) {
        dom::log(&format!("opus decoder: {detail}"));
        self.view.set_notice(
            "Sound could not be decoded in this browser; the machine keeps running without it.",
        );
    }

    /// Decoding is asynchronous: decoded audio comes back through the `Weak`, into the
    /// same path raw PCM takes.
    fn decode_opus(&mut self, packet: &[u8], time: u32) {
        if self.opus.is_none() {
            let weak = self.weak.clone();
            let weak_err = self.weak.clone();
            let decoder = super::opus::OpusDecoder::new(
                move |chans| {
                    if let Some(rc) = weak.upgrade() {
                        if let Ok(mut inner) = rc.try_borrow_mut() {
                            if let Some(a) = inner.audio.as_mut() {
                                a.planar(chans);
                            }
                            inner.update_audio_attr(false);
                        }
                    }
                },
                move |e| {
                    if let Some(rc) = weak_err.upgrade() {
                        if let Ok(mut inner) = rc.try_borrow_mut() {
                            inner.opus = None;
                            inner.notice_audio_failure(&e);
                        }
                    }
                },
            );
            match decoder {
                Ok(d) => self.opus = Some(d),
                Err(e) => {
                    self.notice_audio_failure(&format!("{e:?}"));
                    return;
                }
            }
        }
        if let Some(d) = &self.opus {
            if let Err(e) = d.decode(packet, time) {
                self.notice_audio_failure(&format!("{e:?}"));
            }
        }
    }

    fn on_playback(&mut self, p: PlaybackEvent) {
        let Some(audio) = self.audio.as_mut() else {
            return;
        };
        match p {
            PlaybackEvent::Start {
                channels,
                frequency,
                ..
            } => {
                audio.start(channels as usize, f64::from(frequency));
                // The probe holds samples at the stream's rate, before resampling.
                attr(&self.view.root, "data-audio-rate", &frequency.to_string());
            }
            PlaybackEvent::Pcm { samples, .. } => {
                audio.pcm(&samples);
                attr(&self.view.root, "data-audio-codec", "pcm");
                self.update_audio_attr(false);
            }
            PlaybackEvent::Opus { time, packet } => {
                attr(&self.view.root, "data-audio-codec", "opus");
                self.decode_opus(&packet, time);
                self.update_audio_attr(false);
            }
            PlaybackEvent::Stop => self.update_audio_attr(true),
            PlaybackEvent::Volume { channels } => audio.set_guest_volume(&channels),
            PlaybackEvent::Mute(m) => audio.set_guest_muted(m),
            PlaybackEvent::Latency { .. } => {}
        }
    }
}
