//! The token port: VMNetX 0.5.1's thin-client protocol on TCP.
//!
//! Every connection starts framed (u32 big-endian length + msgpack map, see `netx-proto`).
//! A client authenticates with an instance token; a *control* connection then receives the
//! instance's events and may start, stop or destroy the VM, while a *viewer* connection sends
//! `attach-viewer` and, after `attaching-viewer`, becomes a raw byte pipe to the VM's SPICE
//! UNIX socket.
//!
//! Differences from VMNetX (deliberate; the wire format is unchanged):
//! - A connection that has not authenticated successfully within
//!   [`TokenPortOptions::auth_timeout`] (10 s) of being accepted is closed.
//! - Failed authentications are rate-limited per client address with a token bucket
//!   ([`TokenPortOptions::auth_burst`] = 5 failures, then one per
//!   [`TokenPortOptions::auth_interval`] = 1 s). A token is reserved before the check and
//!   refunded if the check succeeds, so only failures cost. When the bucket is empty the check
//!   is *delayed* until a token is due; if that delay would exceed
//!   [`TokenPortOptions::auth_max_delay`] (3 s), the token is not checked at all: the client
//!   gets `auth-failed` and the connection is closed.
//! - Viewer traffic and `ping` both count as activity (`touch()`).
//! - A write to a client that does not read is abandoned after
//!   [`TokenPortOptions::write_timeout`] (30 s, as VMNetX's `SHUTDOWN_TIMEOUT`), closing the
//!   connection, so a stuck client never holds an instance alive.
//!
//! Connections bridged from WebSockets arrive from 127.0.0.1; the bridge records the real
//! client address in a [`ForwardedPeers`] table keyed by its local port before connecting, and
//! the token port uses that address for rate limiting and logs.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::{broadcast, watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use self::wire::{ClientMsg, ServerMsg};
use crate::net::control::{ControlEvent, InstanceHandle, Registry, VmState};

/// Size of each direction's buffer when splicing a viewer connection to SPICE.
pub const SPLICE_BUFFER: usize = 64 * 1024;

/// Tunables of the token port.
#[derive(Clone, Debug)]
pub struct TokenPortOptions {
    /// Close connections that have not authenticated successfully this long after accept.
    pub auth_timeout: Duration,
    /// Failed authentications allowed per address before rate limiting starts.
    pub auth_burst: u32,
    /// One more failed authentication is allowed per address per interval.
    pub auth_interval: Duration,
    /// Longest an authentication is delayed by the rate limit before it is refused outright
    /// (and the connection closed).
    pub auth_max_delay: Duration,
    /// A write to a client that takes longer than this closes the connection.
    pub write_timeout: Duration,
    /// Connecting to the VM's SPICE socket.
    pub viewer_connect_timeout: Duration,
    /// Connections served at once; beyond that new ones are closed at once.
    pub max_connections: usize,
    /// On shutdown, how long open connections get to close before they are dropped.
    pub shutdown_grace: Duration,
    /// Real addresses of connections bridged from WebSockets.
    pub forwarded: Arc<ForwardedPeers>,
}

impl Default for TokenPortOptions {
    fn default() -> Self {
        TokenPortOptions {
            auth_timeout: Duration::from_secs(10),
            auth_burst: 5,
            auth_interval: Duration::from_secs(1),
            auth_max_delay: Duration::from_secs(3),
            write_timeout: Duration::from_secs(30),
            viewer_connect_timeout: Duration::from_secs(5),
            max_connections: 4096,
            shutdown_grace: Duration::from_secs(2),
            forwarded: Arc::new(ForwardedPeers::default()),
        }
    }
}

/// Maps the local port of a bridge's loopback connection to the address of the WebSocket
/// client it carries. Shared by the WS bridge (which inserts before connecting) and the token
/// port (which looks up loopback peers).
#[derive(Debug, Default)]
pub struct ForwardedPeers {
    map: Mutex<HashMap<u16, IpAddr>>,
}

impl ForwardedPeers {
    /// Records that connections from 127.0.0.1:`local_port` carry `client`; the entry is removed
    /// when the guard drops.
    pub fn register(self: &Arc<Self>, local_port: u16, client: IpAddr) -> ForwardedGuard {
        self.lock().insert(local_port, client);
        ForwardedGuard {
            peers: Arc::clone(self),
            port: local_port,
        }
    }

    /// The address a connection from `peer` should be treated as.
    pub fn resolve(&self, peer: SocketAddr) -> IpAddr {
        if peer.ip().is_loopback() {
            if let Some(ip) = self.lock().get(&peer.port()) {
                return *ip;
            }
        }
        peer.ip()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u16, IpAddr>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Removes a [`ForwardedPeers`] entry on drop.
#[derive(Debug)]
pub struct ForwardedGuard {
    peers: Arc<ForwardedPeers>,
    port: u16,
}

impl Drop for ForwardedGuard {
    fn drop(&mut self) {
        self.peers.lock().remove(&self.port);
    }
}

/// Per-address limiter of failed authentications (GCRA: a token bucket kept as the time at
/// which the bucket will be full again).
#[derive(Debug)]
pub struct AuthLimiter {
    burst: u32,
    interval: Duration,
    max_delay: Duration,
    /// Per address: when the bucket is full again.
    full_at: Mutex<HashMap<IpAddr, Instant>>,
}

/// What the limiter decided for one authentication attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthPermit {
    /// Check the token after waiting this long (zero when the bucket has a token). Call
    /// [`AuthLimiter::refund`] if the token was right.
    After(Duration),
    /// Too many failures: refuse without checking.
    Refused,
}

impl AuthLimiter {
    pub fn new(burst: u32, interval: Duration, max_delay: Duration) -> AuthLimiter {
        AuthLimiter {
            burst: burst.max(1),
            interval,
            max_delay,
            full_at: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Instant>> {
        self.full_at.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves one attempt for `ip`.
    pub fn acquire(&self, ip: IpAddr) -> AuthPermit {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() > 65_536 {
            map.retain(|_, t| *t > now);
        }
        let full = map.get(&ip).copied().unwrap_or(now).max(now);
        let next_full = full + self.interval;
        // The bucket holds `burst` tokens: a reservation may start `burst` intervals early.
        let capacity = self.interval * self.burst;
        let wait = next_full.saturating_duration_since(now + capacity);
        if wait > self.max_delay {
            return AuthPermit::Refused;
        }
        map.insert(ip, next_full);
        AuthPermit::After(wait)
    }

    /// Gives back the token of a successful attempt.
    pub fn refund(&self, ip: IpAddr) {
        let mut map = self.lock();
        if let Some(t) = map.get_mut(&ip) {
            *t = t.checked_sub(self.interval).unwrap_or(*t);
        }
    }
}

/// The state shared by every connection of one token port.
pub struct TokenPort {
    registry: Arc<dyn Registry>,
    opts: TokenPortOptions,
    limiter: AuthLimiter,
    shutdown: watch::Sender<bool>,
}

impl TokenPort {
    pub fn new(registry: Arc<dyn Registry>, opts: TokenPortOptions) -> Arc<TokenPort> {
        let limiter = AuthLimiter::new(opts.auth_burst, opts.auth_interval, opts.auth_max_delay);
        let (shutdown, _) = watch::channel(false);
        Arc::new(TokenPort {
            registry,
            opts,
            limiter,
            shutdown,
        })
    }

    /// Asks every connection (and [`TokenPort::serve`]) to finish.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Accepts connections until [`TokenPort::shutdown`] is called, one task per connection;
    /// then waits up to `shutdown_grace` for them to close and drops the rest.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> io::Result<()> {
        let mut stop = self.shutdown.subscribe();
        let slots = Arc::new(Semaphore::new(self.opts.max_connections));
        let mut tasks = JoinSet::new();
        info!(addr = ?listener.local_addr().ok(), "token port listening");
        loop {
            tokio::select! {
                _ = stopped(&mut stop) => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            // EMFILE and friends: back off instead of spinning.
                            warn!(error = %e, "token port accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
                        warn!(%peer, "token port: too many connections, closing");
                        continue;
                    };
                    let port = Arc::clone(&self);
                    tasks.spawn(async move {
                        let _slot = slot;
                        port.handle(stream, peer).await;
                    });
                }
            }
        }
        let grace = tokio::time::sleep(self.opts.shutdown_grace);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                _ = &mut grace => break,
                next = tasks.join_next() => if next.is_none() { break },
            }
        }
        tasks.shutdown().await;
        Ok(())
    }

    /// Serves one accepted TCP connection until it closes.
    pub async fn handle(&self, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let client = self.opts.forwarded.resolve(peer);
        self.handle_stream(stream, client).await;
    }

    /// Serves one connection over any byte stream; `client` is the address used for rate
    /// limiting. Cancel-safe: dropping the future closes the connection.
    pub async fn handle_stream<S>(&self, stream: S, client: IpAddr)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let mut conn = Conn {
            port: self,
            stream,
            client,
            decoder: wire::Decoder::new(),
            instance: None,
            events: None,
            stop: self.shutdown.subscribe(),
        };
        match conn.run().await {
            Ok(End::Closed(why)) => debug!(%client, why, "token port connection closed"),
            Ok(End::Viewer) => {}
            Err(e) => debug!(%client, error = %e, "token port connection failed"),
        }
    }
}

/// Serves the token port on `listener` until `shutdown` completes.
pub async fn serve_until(
    listener: TcpListener,
    registry: Arc<dyn Registry>,
    opts: TokenPortOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let port = TokenPort::new(registry, opts);
    let server = Arc::clone(&port).serve(listener);
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => return r,
        _ = shutdown => port.shutdown(),
    }
    server.await
}

/// Serves the token port on `listener` forever.
pub async fn serve(
    listener: TcpListener,
    registry: Arc<dyn Registry>,
    opts: TokenPortOptions,
) -> io::Result<()> {
    serve_until(listener, registry, opts, std::future::pending()).await
}

enum End {
    Closed(&'static str),
    Viewer,
}

struct Conn<'a, S> {
    port: &'a TokenPort,
    stream: S,
    client: IpAddr,
    decoder: wire::Decoder,
    instance: Option<Arc<dyn InstanceHandle>>,
    events: Option<broadcast::Receiver<ControlEvent>>,
    stop: watch::Receiver<bool>,
}

enum Step {
    Continue,
    Close(&'static str),
    Attach,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Conn<'_, S> {
    async fn run(&mut self) -> io::Result<End> {
        let auth_deadline = Instant::now() + self.port.opts.auth_timeout;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            // Handle every complete message already buffered.
            loop {
                let msg = match self.decoder.next_message() {
                    None => break,
                    Some(Ok(m)) => m,
                    Some(Err(text)) => {
                        self.send(&wire::error(&text)).await?;
                        continue;
                    }
                };
                match self.on_message(msg).await? {
                    Step::Continue => {}
                    Step::Close(why) => return Ok(End::Closed(why)),
                    Step::Attach => return self.attach().await,
                }
            }
            let authenticated = self.instance.is_some();
            enum Woke {
                Read(io::Result<usize>),
                Event(Option<ControlEvent>),
                Timeout,
                Stop,
            }
            let woke = tokio::select! {
                n = self.stream.read(&mut buf) => Woke::Read(n),
                ev = recv_event(&mut self.events) => Woke::Event(ev),
                _ = tokio::time::sleep_until(auth_deadline), if !authenticated => Woke::Timeout,
                _ = stopped(&mut self.stop) => Woke::Stop,
            };
            match woke {
                Woke::Read(n) => {
                    let n = n?;
                    if n == 0 {
                        return Ok(End::Closed("client closed the connection"));
                    }
                    self.decoder.feed(&buf[..n]);
                }
                Woke::Event(ev) => {
                    if let Some(end) = self.on_event(ev).await? {
                        return Ok(end);
                    }
                }
                Woke::Timeout => return Ok(End::Closed("authentication timeout")),
                Woke::Stop => return Ok(End::Closed("server shutting down")),
            }
        }
    }

    async fn send(&mut self, msg: &ServerMsg) -> io::Result<()> {
        let bytes = wire::encode_server(msg);
        write_with_timeout(&mut self.stream, &bytes, self.port.opts.write_timeout).await
    }

    async fn on_message(&mut self, msg: ClientMsg) -> io::Result<Step> {
        if let ClientMsg::Error { message } = &msg {
            debug!(client = %self.client, message, "client sent error");
            return Ok(Step::Close("client sent an error"));
        }
        let instance = match (&self.instance, msg) {
            (None, ClientMsg::Authenticate { token }) => return self.authenticate(&token).await,
            (Some(_), ClientMsg::Authenticate { .. }) => {
                self.send(&wire::error("Already authenticated")).await?;
                return Ok(Step::Continue);
            }
            (None, _) => {
                self.send(&wire::error("Not authenticated")).await?;
                return Ok(Step::Continue);
            }
            (Some(i), msg) => (Arc::clone(i), msg),
        };
        let (instance, msg) = instance;
        match msg {
            ClientMsg::Ping => {
                instance.touch();
                self.send(&ServerMsg::Pong).await?;
            }
            ClientMsg::AttachViewer => return Ok(Step::Attach),
            ClientMsg::StartVm => {
                if let Err(e) = instance.start_vm() {
                    self.send(&wire::error(&e.to_string())).await?;
                }
            }
            ClientMsg::StopVm => {
                if let Err(e) = instance.stop_vm() {
                    self.send(&wire::error(&e.to_string())).await?;
                }
            }
            ClientMsg::DestroyVm => {
                info!(client = %self.client, instance = instance.id(), "destroy-vm");
                instance.destroy();
                // Everyone else hears it from the broadcast; this connection is done.
                self.events = None;
                self.send(&ServerMsg::VmDestroyed).await?;
                return Ok(Step::Close("destroyed the instance"));
            }
            ClientMsg::Authenticate { .. } | ClientMsg::Error { .. } => {}
        }
        Ok(Step::Continue)
    }

    async fn authenticate(&mut self, token: &str) -> io::Result<Step> {
        let limiter = &self.port.limiter;
        match limiter.acquire(self.client) {
            AuthPermit::Refused => {
                warn!(client = %self.client, "authentication rate limit exceeded; closing");
                self.send(&wire::auth_failed()).await?;
                return Ok(Step::Close("authentication rate limit"));
            }
            AuthPermit::After(wait) => {
                if !wait.is_zero() {
                    debug!(client = %self.client, ?wait, "authentication delayed by rate limit");
                    tokio::time::sleep(wait).await;
                }
            }
        }
        let Some(instance) = self.port.registry.authenticate(token) else {
            info!(client = %self.client, "authentication failed");
            self.send(&wire::auth_failed()).await?;
            return Ok(Step::Continue);
        };
        limiter.refund(self.client);
        // Subscribe before reading the state so no transition is missed in between.
        let events = instance.subscribe();
        let state = instance.state();
        if state == VmState::Destroyed {
            self.send(&wire::auth_failed()).await?;
            return Ok(Step::Continue);
        }
        instance.touch();
        let (min, max) = self.port.registry.server_timeouts();
        let ok = ServerMsg::AuthOk {
            state: state.wire().to_owned(),
            name: instance.name(),
            limit_mouse_rate: instance.limit_mouse_rate().map(i64::from),
            server_timeout_min: i64::try_from(min).unwrap_or(i64::MAX),
            server_timeout_max: i64::try_from(max).unwrap_or(i64::MAX),
        };
        debug!(client = %self.client, instance = instance.id(), "authenticated");
        // A client that connects while a memory image loads sees the bar at once, not
        // only from the next progress event (a small image may have no next one).
        let progress = (state == VmState::Starting)
            .then(|| instance.startup_progress())
            .flatten();
        self.instance = Some(instance);
        self.events = Some(events);
        self.send(&ok).await?;
        if let Some(fraction) = progress {
            self.send(&ServerMsg::StartupProgress { fraction }).await?;
        }
        Ok(Step::Continue)
    }

    /// Forwards one instance event; `Some` ends the connection.
    async fn on_event(&mut self, ev: Option<ControlEvent>) -> io::Result<Option<End>> {
        let Some(ev) = ev else {
            // The instance went away (sender dropped) or we lagged: say what is true now.
            let state = self.instance.as_ref().map(|i| i.state());
            return match state {
                Some(VmState::Destroyed) | None => {
                    self.events = None;
                    self.send(&ServerMsg::VmDestroyed).await?;
                    Ok(Some(End::Closed("instance destroyed")))
                }
                Some(VmState::Running) => {
                    self.send(&ServerMsg::VmStarted {
                        check_display: false,
                    })
                    .await?;
                    Ok(None)
                }
                Some(VmState::Stopped) => {
                    self.send(&ServerMsg::VmStopped).await?;
                    Ok(None)
                }
                Some(_) => Ok(None),
            };
        };
        let msg = match ev {
            ControlEvent::StartupProgress { fraction } => ServerMsg::StartupProgress { fraction },
            ControlEvent::StartupRejectedMemory => ServerMsg::StartupRejectedMemory,
            ControlEvent::StartupFailed { message } => ServerMsg::StartupFailed { message },
            ControlEvent::VmStarted { check_display } => ServerMsg::VmStarted { check_display },
            ControlEvent::VmStopped => ServerMsg::VmStopped,
            ControlEvent::VmDestroyed => {
                self.events = None;
                self.send(&ServerMsg::VmDestroyed).await?;
                return Ok(Some(End::Closed("instance destroyed")));
            }
        };
        self.send(&msg).await?;
        Ok(None)
    }

    /// `attach-viewer`: connect to SPICE, answer `attaching-viewer`, splice.
    async fn attach(&mut self) -> io::Result<End> {
        let Some(instance) = self.instance.clone() else {
            return Ok(End::Closed("not authenticated"));
        };
        let Some(spice) = connect_spice(&*instance, self.port.opts.viewer_connect_timeout).await
        else {
            // As VMNetX: the protocol is re-enabled, so the client may retry.
            self.decoder.resume_framing();
            self.send(&wire::error(
                &crate::net::control::ControlError::ViewerUnavailable.to_string(),
            ))
            .await?;
            return Box::pin(self.run()).await;
        };
        match spice {
            SpiceConn::Tcp(s) => self.bridge(instance, s).await,
            SpiceConn::Unix(s) => self.bridge(instance, s).await,
        }
    }

    /// Answers `attaching-viewer` and splices the connection to SPICE until either side
    /// closes or the VM goes away.
    async fn bridge<T>(
        &mut self,
        instance: Arc<dyn InstanceHandle>,
        mut spice: T,
    ) -> io::Result<End>
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        self.send(&ServerMsg::AttachingViewer).await?;
        instance.touch();
        let early = self.decoder.take_remaining();
        if !early.is_empty() {
            write_with_timeout(&mut spice, &early, self.port.opts.write_timeout).await?;
        }
        // Keep the subscription only to learn about destruction.
        let mut events = Option::take(&mut self.events).unwrap_or_else(|| instance.subscribe());
        let destroyed = async {
            loop {
                match events.recv().await {
                    Ok(ControlEvent::VmDestroyed) | Err(broadcast::error::RecvError::Closed) => {
                        return
                    }
                    Ok(ControlEvent::VmStopped) if instance.state() != VmState::Running => return,
                    _ => {}
                }
            }
        };
        let mut stop = self.stop.clone();
        tokio::select! {
            r = splice(&mut self.stream, &mut spice, &*instance) => {
                if let Err(e) = r {
                    debug!(instance = instance.id(), error = %e, "viewer splice ended");
                }
            }
            _ = destroyed => debug!(instance = instance.id(), "viewer closed: VM gone"),
            _ = stopped(&mut stop) => {}
        }
        Ok(End::Viewer)
    }
}

/// A viewer's connection to the VM's SPICE server.
enum SpiceConn {
    /// Handed to QEMU as TCP, so spice-server compresses images for it.
    Tcp(TcpStream),
    /// QEMU's UNIX socket: raw images; the fallback when the handover fails.
    Unix(UnixStream),
}

/// Connects to SPICE through the handover monitor, falling back (with a warning) to the
/// UNIX socket, so a handover problem costs bandwidth, not the visit.
async fn connect_spice(instance: &dyn InstanceHandle, timeout: Duration) -> Option<SpiceConn> {
    if let Some(monitor) = instance.spice_monitor() {
        match tokio::time::timeout(timeout, crate::qemu::handover::connect(monitor, timeout)).await
        {
            Ok(Ok(s)) => return Some(SpiceConn::Tcp(s)),
            Ok(Err(e)) => {
                warn!(instance = instance.id(), error = %e, "SPICE handover failed; using the UNIX socket")
            }
            Err(_) => warn!(
                instance = instance.id(),
                "SPICE handover timed out; using the UNIX socket"
            ),
        }
    }
    let path = instance.spice_socket()?;
    match tokio::time::timeout(timeout, UnixStream::connect(&path)).await {
        Ok(Ok(s)) => Some(SpiceConn::Unix(s)),
        Ok(Err(e)) => {
            warn!(instance = instance.id(), error = %e, "cannot connect to SPICE");
            None
        }
        Err(_) => {
            warn!(instance = instance.id(), "connecting to SPICE timed out");
            None
        }
    }
}

/// Completes once shutdown was requested (or the token port is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

async fn recv_event(
    events: &mut Option<broadcast::Receiver<ControlEvent>>,
) -> Option<ControlEvent> {
    let Some(rx) = events.as_mut() else {
        return std::future::pending().await;
    };
    match rx.recv().await {
        Ok(ev) => Some(ev),
        Err(broadcast::error::RecvError::Lagged(n)) => {
            warn!(
                missed = n,
                "control connection lagged behind instance events"
            );
            None
        }
        Err(broadcast::error::RecvError::Closed) => {
            *events = None;
            None
        }
    }
}

async fn write_with_timeout<W: AsyncWrite + Unpin>(
    w: &mut W,
    bytes: &[u8],
    timeout: Duration,
) -> io::Result<()> {
    match tokio::time::timeout(timeout, w.write_all(bytes)).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client does not read",
        )),
    }
}

/// Copies both ways with one bounded buffer per direction: a side is read again only after
/// everything read from it was written to the other. Records activity at most once a second.
async fn splice<A, B>(a: &mut A, b: &mut B, instance: &dyn InstanceHandle) -> io::Result<()>
where
    A: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let (mut ar, mut aw) = tokio::io::split(a);
    let (mut br, mut bw) = tokio::io::split(b);
    let last_touch = Mutex::new(Instant::now());
    let touch = || {
        let mut t = last_touch.lock().unwrap_or_else(|e| e.into_inner());
        if t.elapsed() >= Duration::from_secs(1) {
            *t = Instant::now();
            instance.touch();
        }
    };
    let up = pump(&mut ar, &mut bw, &touch);
    let down = pump(&mut br, &mut aw, &touch);
    // Either side closing ends the viewer connection (SPICE has no half-close).
    tokio::select! {
        r = up => r,
        r = down => r,
    }
}

async fn pump<R, W>(r: &mut R, w: &mut W, on_data: &(dyn Fn() + Sync)) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; SPLICE_BUFFER];
    loop {
        let n = r.read(&mut buf).await?;
        if n == 0 {
            let _ = w.shutdown().await;
            return Ok(());
        }
        w.write_all(&buf[..n]).await?;
        on_data();
    }
}

/// The adapter between the connection logic and `netx-proto`.
mod wire {
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
}
