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
//! the token port uses that address for rate limiting and logs. Each connection runs in a
//! `token_port` span carrying that address.
//!
//! Files: `conn.rs` (one connection's protocol), `limiter.rs`, `forwarded.rs`, `splice.rs`
//! (viewer bytes), `wire.rs` (the netx-proto adapter).

mod conn;
mod forwarded;
mod limiter;
mod splice;
mod wire;

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tracing::{debug, info, warn, Instrument};

pub use forwarded::{ForwardedGuard, ForwardedPeers};
pub use limiter::{AuthLimiter, AuthPermit};

use crate::net::control::Registry;

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

/// The state shared by every connection of one token port.
pub struct TokenPort {
    registry: Arc<dyn Registry>,
    opts: TokenPortOptions,
    limiter: AuthLimiter,
    shutdown: watch::Sender<bool>,
}

impl TokenPort {
    /// A token port that finds instances in `registry`; [`TokenPort::serve`] runs it on a bound listener.
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
        let mut conn = conn::Conn::new(self, stream, client);
        let span = tracing::info_span!("token_port", peer = %client);
        match conn.run().instrument(span.clone()).await {
            Ok(conn::End::Closed(why)) => span.in_scope(|| debug!(why, "connection closed")),
            Ok(conn::End::Viewer) => {}
            Err(e) => span.in_scope(|| debug!(error = %e, "connection failed")),
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

/// Completes once shutdown was requested (or the token port is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}
