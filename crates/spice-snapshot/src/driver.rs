//! Drives a sans-IO [`Session`] over native sockets with tokio.
//!
//! One task per channel reads its socket and forwards bytes to the driver loop; the loop
//! feeds the session, writes what it asks to send, and records events. Tools and tests
//! call [`Driver::pump_until`] with a condition, so every wait has a deadline.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use spice_client::display::DisplayEvent;
use spice_client::{ChannelKey, ChannelType, Event, Output, Session, SessionConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Where the SPICE server listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// QEMU's `-spice unix=on,addr=PATH` socket.
    Unix(PathBuf),
    /// `HOST:PORT` of a TCP listener.
    Tcp(String),
    /// An Olive gateway's `/ws`: one WebSocket per channel, token protocol first.
    Gateway(crate::gateway::Gateway),
}

impl Target {
    /// Parses `unix:PATH` or `tcp:HOST:PORT`.
    pub fn parse(s: &str) -> Result<Target> {
        if let Some(path) = s.strip_prefix("unix:") {
            return Ok(Target::Unix(PathBuf::from(path)));
        }
        if let Some(addr) = s.strip_prefix("tcp:") {
            return Ok(Target::Tcp(addr.to_owned()));
        }
        bail!("--connect must be unix:PATH or tcp:HOST:PORT, not {s:?}")
    }
}

type Writer = Box<dyn AsyncWrite + Unpin + Send>;

enum Io {
    Connected(ChannelKey, Writer),
    Data(ChannelKey, Vec<u8>),
    Closed(ChannelKey, String),
}

/// What the driver has seen so far, for conditions and summaries.
#[derive(Debug, Default)]
pub struct Observed {
    /// The initial screen is complete (MARK received).
    pub marked: bool,
    /// When the display last changed.
    pub last_draw: Option<Instant>,
    /// Draws and surface creations seen: progress a settle waits on.
    pub draws: u64,
    /// Channel failures, in order. Main or display failing ends the session.
    pub failures: Vec<(ChannelKey, String)>,
    /// Problems that did not cost a channel (an undecodable image, say), in order.
    pub warnings: Vec<(ChannelKey, String)>,
    /// Every cursor event, in order.
    pub cursor_events: Vec<spice_client::cursor::CursorEvent>,
    /// Channels as they became ready, in order.
    pub ready: Vec<ChannelKey>,
    /// Every playback event, in order (only if the playback channel was opened).
    pub playback: Vec<spice_client::playback::PlaybackEvent>,
    /// What the guest agent said (capabilities, the guest's clipboard), in order.
    pub agent: Vec<spice_client::agent::AgentEvent>,
}

/// Runs a [`Session`] over real transports (tokio), so tools and tests can drive a
/// SPICE server and wait on what it does, every wait with a deadline.
pub struct Driver {
    session: Session,
    target: Target,
    tx: mpsc::UnboundedSender<Io>,
    rx: mpsc::UnboundedReceiver<Io>,
    writers: HashMap<ChannelKey, Writer>,
    /// What the session reported so far.
    pub observed: Observed,
    /// Raw bytes received on the recorded channel, link phase included, for replay.
    recording: Option<(ChannelKey, Vec<u8>)>,
    /// Origin of the monotonic clock the session is ticked with (video frame timing).
    epoch: Instant,
}

impl Driver {
    /// A driver for a session with `config` against `target`; nothing is connected until
    /// the first pump.
    pub fn new(target: Target, config: SessionConfig) -> Driver {
        let (tx, rx) = mpsc::unbounded_channel();
        Driver {
            session: Session::new(config),
            target,
            tx,
            rx,
            writers: HashMap::new(),
            observed: Observed::default(),
            recording: None,
            epoch: Instant::now(),
        }
    }

    /// Keeps every byte the server sends on `key` (see `spice_client::replay`).
    pub fn record(&mut self, key: ChannelKey) {
        self.recording = Some((key, Vec::new()));
    }

    /// The bytes kept by [`Driver::record`] so far.
    pub fn recording(&self) -> Option<&[u8]> {
        self.recording.as_ref().map(|(_, b)| b.as_slice())
    }

    /// The session, to read its surfaces and state.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Lets the caller act on the session (send input); call [`Driver::flush`] after.
    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// Performs everything the session asked for so far.
    pub async fn flush(&mut self) -> Result<()> {
        while let Some(out) = self.session.poll_output() {
            match out {
                Output::Connect(key) => self.spawn_connect(key),
                Output::Send(key, bytes) => {
                    if let Some(w) = self.writers.get_mut(&key) {
                        if let Err(e) = w.write_all(&bytes).await {
                            self.writers.remove(&key);
                            self.session
                                .transport_closed(key, &format!("write failed: {e}"));
                        }
                    }
                }
                Output::Close(key) => {
                    self.writers.remove(&key);
                }
                Output::Event(e) => self.observe(e)?,
            }
        }
        Ok(())
    }

    fn observe(&mut self, e: Event) -> Result<()> {
        match e {
            Event::ChannelReady(key) => self.observed.ready.push(key),
            Event::ChannelFailed { channel, error } => {
                self.observed.failures.push((channel, error.to_string()));
                if matches!(
                    channel.channel_type,
                    ChannelType::Main | ChannelType::Display
                ) {
                    return Err(anyhow!("{channel} channel failed: {error}"));
                }
            }
            Event::Warning { channel, message } => self.observed.warnings.push((channel, message)),
            Event::Display(DisplayEvent::Mark) => self.observed.marked = true,
            Event::Display(DisplayEvent::Invalidate { .. })
            | Event::Display(DisplayEvent::SurfaceCreated { .. }) => {
                self.observed.draws += 1;
                self.observed.last_draw = Some(Instant::now());
            }
            Event::Cursor(c) => self.observed.cursor_events.push(c),
            Event::Playback(p) => self.observed.playback.push(p),
            Event::Agent(a) => self.observed.agent.push(a),
            _ => {}
        }
        Ok(())
    }

    fn spawn_connect(&self, key: ChannelKey) {
        let tx = self.tx.clone();
        let target = self.target.clone();
        tokio::spawn(async move {
            let streams = match open(&target).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send(Io::Closed(key, e.to_string()));
                    return;
                }
            };
            let (mut reader, writer) = streams;
            if tx.send(Io::Connected(key, writer)).is_err() {
                return;
            }
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                match reader.read(&mut buf).await {
                    Ok(0) => {
                        let _ = tx.send(Io::Closed(key, "the server closed the connection".into()));
                        return;
                    }
                    Ok(n) => {
                        if tx.send(Io::Data(key, buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Io::Closed(key, e.to_string()));
                        return;
                    }
                }
            }
        });
    }

    /// Runs the session until `done` holds, failing at `deadline`.
    pub async fn pump_until(
        &mut self,
        deadline: Instant,
        what: &str,
        mut done: impl FnMut(&Session, &Observed) -> bool,
    ) -> Result<()> {
        loop {
            self.tick();
            self.flush().await?;
            if done(&self.session, &self.observed) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                bail!("timed out waiting for {what}");
            }
            // Wake at least every 20 ms so time-based conditions (settling) are checked,
            // and when the next video frame is due.
            let mut wait = (deadline - now).min(Duration::from_millis(20));
            if let Some(due) = self.session.next_deadline() {
                wait = wait.min(due.saturating_sub(self.clock()));
            }
            match tokio::time::timeout(wait, self.rx.recv()).await {
                Ok(Some(io)) => self.handle_io(io),
                Ok(None) => bail!("driver channel closed"),
                Err(_) => {}
            }
            while let Ok(io) = self.rx.try_recv() {
                self.handle_io(io);
            }
        }
    }

    /// The session's time: since the driver's epoch.
    fn clock(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Tells the session the time: queued video frames are drawn when it comes.
    fn tick(&mut self) {
        let now = self.clock();
        self.session.tick(now);
    }

    fn handle_io(&mut self, io: Io) {
        match io {
            Io::Connected(key, w) => {
                self.writers.insert(key, w);
                self.session.connected(key);
            }
            Io::Data(key, bytes) => {
                if let Some((k, buf)) = &mut self.recording {
                    if *k == key {
                        buf.extend_from_slice(&bytes);
                    }
                }
                self.tick();
                self.session.receive(key, &bytes)
            }
            Io::Closed(key, reason) => {
                self.writers.remove(&key);
                self.session.transport_closed(key, &reason);
            }
        }
    }

    /// Waits for the initial screen (primary surface and MARK).
    pub async fn wait_for_display(&mut self, deadline: Instant) -> Result<()> {
        self.pump_until(deadline, "the initial screen", |s, o| {
            o.marked && s.primary_surface().is_some()
        })
        .await
    }

    /// Waits until channel `key` is linked.
    pub async fn wait_for_channel(&mut self, key: ChannelKey, deadline: Instant) -> Result<()> {
        self.pump_until(deadline, &format!("the {key} channel"), |s, _| {
            s.is_ready(key)
        })
        .await
    }

    /// Waits until nothing was drawn for `quiet`.
    pub async fn settle(&mut self, quiet: Duration, deadline: Instant) -> Result<()> {
        let start = Instant::now();
        self.pump_until(deadline, "the display to settle", |_, o| {
            let last = o.last_draw.unwrap_or(start).max(start);
            last.elapsed() >= quiet
        })
        .await
    }

    /// Lets the session run for `d` (e.g. to let input reach the guest).
    pub async fn run_for(&mut self, d: Duration) -> Result<()> {
        let end = Instant::now() + d;
        self.pump_until(end + Duration::from_secs(1), "a pause", |_, _| {
            Instant::now() >= end
        })
        .await
    }
}

async fn open(target: &Target) -> Result<(Box<dyn AsyncRead + Unpin + Send>, Writer)> {
    match target {
        Target::Unix(path) => {
            let s = tokio::net::UnixStream::connect(path)
                .await
                .with_context(|| format!("cannot connect to {}", path.display()))?;
            let (r, w) = s.into_split();
            Ok((Box::new(r), Box::new(w)))
        }
        Target::Tcp(addr) => {
            let s = tokio::net::TcpStream::connect(addr)
                .await
                .with_context(|| format!("cannot connect to {addr}"))?;
            s.set_nodelay(true)?;
            let (r, w) = s.into_split();
            Ok((Box::new(r), Box::new(w)))
        }
        Target::Gateway(gw) => crate::gateway::open_viewer(gw).await,
    }
}
