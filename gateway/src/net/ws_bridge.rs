//! `GET /ws`: bridges one WebSocket to one TCP connection to the token port.
//!
//! The browser speaks the token-port protocol (and, after `attaching-viewer`, raw SPICE)
//! inside binary WebSocket messages; the bridge copies bytes, it never parses them. The TCP
//! target is fixed server-side configuration ([`WsBridgeConfig::token_port`]); nothing in the
//! request can change it.
//!
//! - Origin: a request whose `Origin` header is not one of
//!   [`WsBridgeConfig::allowed_origins`] gets 403 before the upgrade; that is what stops a
//!   page on another site from using a visitor's browser against the gateway (cross-site
//!   WebSocket hijacking). With an empty list only same-origin pages are accepted: the
//!   Origin's `host[:port]` must equal the `Host` header. The special entry `"*"` accepts
//!   any origin (development only). A request *without* `Origin` is accepted: browsers
//!   always send one on WebSocket handshakes, so it comes from a native client such as
//!   `spice-snapshot`, which no other site can drive, and the token still has to be right.
//! - Text messages close the WebSocket with 1008 (policy violation).
//! - Backpressure both ways: the next WebSocket message is read only after the previous one
//!   was written to TCP, and TCP is read again only after the previous chunk was sent on the
//!   WebSocket (flushed). Per connection at most one message plus one
//!   [`BRIDGE_BUFFER`] chunk is in flight.
//! - Messages larger than [`WsBridgeConfig::max_message_size`] close the WebSocket
//!   (1009, by the WebSocket library).
//! - Every bridged byte is counted through [`Registry::count_bridged`].
//! - Each bridged connection runs in a `ws_bridge` span carrying the client's address.
//! - The real client address is recorded in [`ForwardedPeers`] for the token port's
//!   per-address rate limiting; this needs the server to be run with
//!   `into_make_service_with_connect_info::<SocketAddr>()` (without it the bridge falls back to
//!   127.0.0.1, i.e. one rate-limit bucket for every WebSocket client).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tracing::{debug, warn, Instrument};

use crate::net::control::Registry;
use crate::net::token_port::{ForwardedPeers, TokenPort, TokenPortOptions};

/// Size of the TCP → WebSocket read buffer (the largest message the bridge sends).
pub const BRIDGE_BUFFER: usize = 64 * 1024;

/// What the bridge needs; all of it is server-side configuration.
#[derive(Clone, Debug)]
pub struct WsBridgeConfig {
    /// The token port, normally `127.0.0.1:<port>`.
    pub token_port: SocketAddr,
    /// Exact `Origin` values accepted (`scheme://host[:port]`), or `"*"`; empty = same origin.
    pub allowed_origins: Vec<String>,
    /// Portal origins allowed to embed the player (`[portal] embed_origins`): their pages
    /// open the player's sockets too, in addition to the rule above.
    pub embed_origins: Vec<String>,
    /// Largest WebSocket message accepted from a client.
    pub max_message_size: usize,
    /// Connecting to the token port.
    pub connect_timeout: Duration,
}

impl WsBridgeConfig {
    /// Settings for a bridge to the token port at `token_port`, accepting `allowed_origins` (empty: same origin only).
    pub fn new(token_port: SocketAddr, allowed_origins: Vec<String>) -> WsBridgeConfig {
        WsBridgeConfig {
            token_port,
            allowed_origins,
            embed_origins: Vec::new(),
            // A maximal token-port frame (1 MiB + 4) plus slack for SPICE messages.
            max_message_size: (1 << 20) + 64 * 1024,
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// Whether a handshake with this `Origin` header (or none: a non-browser client) may
    /// proceed; `host` is the request's `Host` header, used when no origins are configured
    /// (same origin only).
    pub fn origin_allowed(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(o) = origin else {
            return true;
        };
        if self.embed_origins.iter().any(|a| a.eq_ignore_ascii_case(o)) {
            return true;
        }
        if self.allowed_origins.is_empty() {
            let authority = o
                .strip_prefix("http://")
                .or_else(|| o.strip_prefix("https://"));
            return matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h));
        }
        self.allowed_origins
            .iter()
            .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(o))
    }
}

/// The bridge's axum state.
#[derive(Clone)]
pub struct WsBridge {
    /// Where it connects, and whom it lets in.
    pub config: Arc<WsBridgeConfig>,
    /// The instances, counting the bytes bridged.
    pub registry: Arc<dyn Registry>,
    /// Shared with the token port ([`crate::net::token_port::TokenPortOptions::forwarded`]).
    pub forwarded: Arc<ForwardedPeers>,
}

impl WsBridge {
    /// A bridge with `config`, finding instances in `registry` and telling the token port the real peer of each connection through `forwarded`.
    pub fn new(
        config: WsBridgeConfig,
        registry: Arc<dyn Registry>,
        forwarded: Arc<ForwardedPeers>,
    ) -> WsBridge {
        WsBridge {
            config: Arc::new(config),
            registry,
            forwarded,
        }
    }
}

/// Starts the token port on `listener` and returns the `/ws` router bridging to it, the
/// token port (call [`TokenPort::shutdown`] to stop it) and its task. The bridge targets
/// `token_addr`, with an unspecified address (0.0.0.0 / ::) replaced by loopback.
/// Serve the router with `into_make_service_with_connect_info::<SocketAddr>()` so the token
/// port rate-limits by the WebSocket client's address.
pub fn mount(
    registry: Arc<dyn Registry>,
    listener: tokio::net::TcpListener,
    mut token_addr: SocketAddr,
    allowed_origins: Vec<String>,
    embed_origins: Vec<String>,
) -> (Router, Arc<TokenPort>, tokio::task::JoinHandle<()>) {
    if token_addr.ip().is_unspecified() {
        let lo: IpAddr = if token_addr.is_ipv4() {
            Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        };
        token_addr.set_ip(lo);
    }
    let forwarded = Arc::new(ForwardedPeers::default());
    let port = TokenPort::new(
        Arc::clone(&registry),
        TokenPortOptions {
            forwarded: Arc::clone(&forwarded),
            ..TokenPortOptions::default()
        },
    );
    let server = Arc::clone(&port);
    let task = tokio::spawn(async move {
        if let Err(e) = server.serve(listener).await {
            tracing::error!(error = %e, "token port failed");
        }
    });
    let config = WsBridgeConfig {
        embed_origins,
        ..WsBridgeConfig::new(token_addr, allowed_origins)
    };
    (
        router(WsBridge::new(config, registry, forwarded)),
        port,
        task,
    )
}

/// A router serving `GET /ws`; merge it into the gateway's router.
pub fn router<S>(bridge: WsBridge) -> Router<S> {
    Router::new()
        .route("/ws", get(ws_handler))
        .with_state(bridge)
}

/// The `GET /ws` handler, for mounting elsewhere with `WsBridge` as state.
pub async fn ws_handler(
    State(bridge): State<WsBridge>,
    connect_info: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if !bridge.config.origin_allowed(origin, host) {
        warn!(?origin, "WebSocket refused: origin not allowed");
        return (StatusCode::FORBIDDEN, "Origin not allowed\n").into_response();
    }
    let client = connect_info
        .map(|Extension(ConnectInfo(a))| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let max = bridge.config.max_message_size;
    upgrade
        .max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(32 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(2 * BRIDGE_BUFFER + 1024)
        .on_upgrade(move |ws| {
            let span = tracing::info_span!("ws_bridge", peer = %client);
            bridge.run(ws, client).instrument(span)
        })
}

impl WsBridge {
    async fn connect(&self, client: IpAddr) -> std::io::Result<(TcpStream, impl Drop)> {
        let target = self.config.token_port;
        let socket = if target.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        let bind: SocketAddr = if target.is_ipv4() {
            (Ipv4Addr::LOCALHOST, 0).into()
        } else {
            (std::net::Ipv6Addr::LOCALHOST, 0).into()
        };
        if target.ip().is_loopback() {
            socket.bind(bind)?;
        }
        let local = socket.local_addr().ok();
        // Registered before connecting, so the token port finds it at accept.
        let guard = self
            .forwarded
            .register(local.map(|a| a.port()).unwrap_or(0), client);
        let stream = tokio::time::timeout(self.config.connect_timeout, socket.connect(target))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
            })??;
        stream.set_nodelay(true)?;
        Ok((stream, guard))
    }

    /// Bridges one upgraded WebSocket until either side closes.
    pub async fn run(self, mut ws: WebSocket, client: IpAddr) {
        let (tcp, _guard) = match self.connect(client).await {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %e, "cannot reach the token port");
                let _ = ws
                    .send(Message::Close(Some(CloseFrame {
                        code: 1011,
                        reason: "gateway unavailable".into(),
                    })))
                    .await;
                return;
            }
        };
        let (mut tcp_r, mut tcp_w) = tcp.into_split();
        let (mut ws_tx, mut ws_rx) = ws.split();
        let registry = &self.registry;

        // WebSocket → TCP.
        let up = async {
            while let Some(msg) = ws_rx.next().await {
                match msg {
                    Ok(Message::Binary(b)) => {
                        if tcp_w.write_all(&b).await.is_err() {
                            return Ending::TcpClosed;
                        }
                        registry.count_bridged(b.len() as u64);
                    }
                    Ok(Message::Text(_)) => return Ending::Policy,
                    Ok(Message::Ping(_) | Message::Pong(_)) => {}
                    Ok(Message::Close(_)) => return Ending::WsClosed,
                    Err(e) => {
                        debug!(error = %e, "WebSocket read failed");
                        return Ending::WsFailed;
                    }
                }
            }
            Ending::WsClosed
        };
        // TCP → WebSocket.
        let down = async {
            let mut buf = vec![0u8; BRIDGE_BUFFER];
            loop {
                match tcp_r.read(&mut buf).await {
                    Ok(0) | Err(_) => return Ending::TcpClosed,
                    Ok(n) => {
                        let msg = Message::Binary(buf[..n].to_vec().into());
                        if ws_tx.send(msg).await.is_err() {
                            return Ending::WsFailed;
                        }
                        registry.count_bridged(n as u64);
                    }
                }
            }
        };
        let ending = tokio::select! {
            e = up => e,
            e = down => e,
        };
        let _ = tcp_w.shutdown().await;
        let close = match ending {
            Ending::Policy => Some((1008, "text messages are not accepted")),
            Ending::TcpClosed => Some((1000, "")),
            Ending::WsClosed | Ending::WsFailed => None,
        };
        if let Some((code, reason)) = close {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            let _ = tokio::time::timeout(
                Duration::from_secs(2),
                ws_tx.send(Message::Close(Some(frame))),
            )
            .await;
        }
        debug!(?ending, "WebSocket bridge closed");
    }
}

#[derive(Debug)]
enum Ending {
    Policy,
    TcpClosed,
    WsClosed,
    WsFailed,
}
