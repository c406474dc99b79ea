//! bridge-bench: throughput, round-trip latency and memory of the WebSocket → token port →
//! UNIX socket path, with a fake one-instance registry whose "SPICE socket" is a local echo
//! server. Runs in well under 30 s.
//!
//! `cargo run --release -p olive-gateway --bin bridge-bench`
// A benchmark: it measures wall-clock time.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use netx_proto::{ClientMsg, ServerMsg};
use olive_gateway::net::control::{
    ControlError, ControlEvent, InstanceHandle, Registry, SpiceAddress, SpiceEndpoint, VmState,
};
use olive_gateway::net::token_port::{ForwardedPeers, TokenPort, TokenPortOptions};
use olive_gateway::net::ws_bridge::{self, WsBridge, WsBridgeConfig};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

const TOKEN: &str = "BENCH/token";
const ORIGIN: &str = "http://bench.local";

struct Instance {
    spice: PathBuf,
    events: broadcast::Sender<ControlEvent>,
}

impl InstanceHandle for Instance {
    fn id(&self) -> &str {
        "BENCH"
    }
    fn name(&self) -> String {
        "bench".into()
    }
    fn state(&self) -> VmState {
        VmState::Running
    }
    fn limit_mouse_rate(&self) -> Option<u32> {
        None
    }
    fn subscribe(&self) -> broadcast::Receiver<ControlEvent> {
        self.events.subscribe()
    }
    fn touch(&self) {}
    fn spice(&self) -> Option<SpiceEndpoint> {
        Some(SpiceEndpoint {
            address: SpiceAddress::Unix(self.spice.clone()),
            handover: None,
        })
    }
    fn start_vm(&self) -> Result<(), ControlError> {
        Err(ControlError::NotStopped)
    }
    fn stop_vm(&self) -> Result<(), ControlError> {
        Err(ControlError::NotRunning)
    }
    fn destroy(&self) {}
}

struct Reg {
    inst: Arc<Instance>,
    bridged: AtomicU64,
}

impl Registry for Reg {
    fn authenticate(&self, token: &str) -> Option<Arc<dyn InstanceHandle>> {
        (token == TOKEN).then(|| Arc::clone(&self.inst) as Arc<dyn InstanceHandle>)
    }
    fn server_timeouts(&self) -> (u64, u64) {
        (300, 305)
    }
    fn count_bridged(&self, bytes: u64) {
        self.bridged.fetch_add(bytes, Ordering::Relaxed);
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Opens a WebSocket and attaches it as a viewer; returns it ready for raw bytes.
async fn attach(http: SocketAddr) -> Result<Ws> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{http}/ws").into_client_request()?;
    req.headers_mut().insert("Origin", ORIGIN.parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await?;
    let mut hello = netx_proto::encode(&ClientMsg::Authenticate {
        token: TOKEN.into(),
    });
    hello.extend(netx_proto::encode(&ClientMsg::AttachViewer));
    ws.send(Message::Binary(hello.into())).await?;
    let mut dec = netx_proto::Decoder::new();
    loop {
        while let Some(m) = dec.next::<ServerMsg>()? {
            match m {
                ServerMsg::AttachingViewer => return Ok(ws),
                ServerMsg::AuthOk { .. } => {}
                other => bail!("unexpected {other:?}"),
            }
        }
        match ws.next().await {
            Some(Ok(Message::Binary(b))) => dec.push(&b),
            other => bail!("handshake ended: {other:?}"),
        }
    }
}

async fn read_exact_ws(ws: &mut Ws, mut n: usize) -> Result<()> {
    while n > 0 {
        match ws.next().await {
            Some(Ok(Message::Binary(b))) => n = n.saturating_sub(b.len()),
            other => bail!("stream ended: {other:?}"),
        }
    }
    Ok(())
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

async fn run() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("olive-bridge-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let spice = dir.join("echo.sock");
    let ul = UnixListener::bind(&spice).context("bind echo socket")?;
    tokio::spawn(async move {
        while let Ok((mut s, _)) = ul.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    let (events, _) = broadcast::channel(16);
    let reg = Arc::new(Reg {
        inst: Arc::new(Instance { spice, events }),
        bridged: AtomicU64::new(0),
    });
    let forwarded = Arc::new(ForwardedPeers::default());
    let tl = TcpListener::bind("127.0.0.1:0").await?;
    let token_addr = tl.local_addr()?;
    let port = TokenPort::new(
        reg.clone(),
        TokenPortOptions {
            forwarded: Arc::clone(&forwarded),
            max_connections: 10_000,
            ..TokenPortOptions::default()
        },
    );
    tokio::spawn(Arc::clone(&port).serve(tl));
    let app: axum::Router = ws_bridge::router(WsBridge::new(
        WsBridgeConfig::new(token_addr, vec![ORIGIN.into()]),
        reg.clone(),
        forwarded,
    ));
    let hl = TcpListener::bind("127.0.0.1:0").await?;
    let http = hl.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(hl, app.into_make_service_with_connect_info::<SocketAddr>()).await;
    });

    // Throughput: 64 KiB messages, echoed, for ~4 s; a writer and a reader task.
    let ws = attach(http).await?;
    let (mut tx, mut rx) = ws.split();
    let chunk = vec![0xa5u8; 64 * 1024];
    let window = 16usize; // messages in flight
    let total_msgs = 6_000usize;
    let sent = Arc::new(AtomicU64::new(0));
    let got = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let budget = Duration::from_secs(4);
    let writer = {
        let (sent, got) = (Arc::clone(&sent), Arc::clone(&got));
        async move {
            for _ in 0..total_msgs {
                while sent.load(Ordering::Relaxed)
                    > got.load(Ordering::Relaxed) + (window * chunk.len()) as u64
                {
                    tokio::task::yield_now().await;
                }
                if t0.elapsed() > budget {
                    break;
                }
                tx.send(Message::Binary(chunk.clone().into())).await?;
                sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
            anyhow::Ok(tx)
        }
    };
    let reader = {
        let (sent, got) = (Arc::clone(&sent), Arc::clone(&got));
        async move {
            let mut idle = Duration::ZERO;
            loop {
                let done_sending = t0.elapsed() > budget;
                if done_sending && got.load(Ordering::Relaxed) >= sent.load(Ordering::Relaxed) {
                    break;
                }
                match tokio::time::timeout(Duration::from_millis(100), rx.next()).await {
                    Ok(Some(Ok(Message::Binary(b)))) => {
                        idle = Duration::ZERO;
                        got.fetch_add(b.len() as u64, Ordering::Relaxed);
                    }
                    Ok(other) => bail!("throughput stream ended: {other:?}"),
                    Err(_) => {
                        idle += Duration::from_millis(100);
                        if idle > Duration::from_secs(5) {
                            bail!("throughput stream stalled");
                        }
                    }
                }
            }
            anyhow::Ok(rx)
        }
    };
    let (tx, rx) = tokio::try_join!(writer, reader)?;
    let secs = t0.elapsed().as_secs_f64();
    let bytes = got.load(Ordering::Relaxed) as f64;
    println!(
        "throughput: {:.1} MB/s echoed ({:.1} MB each way in {:.2} s, 64 KiB messages; {:.1} MB/s through the bridge counting both directions)",
        bytes / secs / 1e6,
        bytes / 1e6,
        secs,
        2.0 * bytes / secs / 1e6
    );
    let mut ws = tx.reunite(rx)?;

    // Latency: 64-byte round trips.
    let small = vec![7u8; 64];
    let mut samples = Vec::new();
    let t1 = Instant::now();
    while samples.len() < 5_000 && t1.elapsed() < Duration::from_secs(5) {
        let s = Instant::now();
        ws.send(Message::Binary(small.clone().into())).await?;
        read_exact_ws(&mut ws, small.len()).await?;
        samples.push(s.elapsed());
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p) as usize];
    println!(
        "round trip (64 B, WS → token port → UNIX echo → back): p50 {:.0} µs, p99 {:.0} µs over {} samples",
        pct(0.5).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
        samples.len()
    );
    drop(ws);

    // Memory per idle bridged connection (client and server in this process: both ends are
    // counted, so this is an upper bound for the gateway's share).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let n = 500;
    let before = rss_kib();
    let mut held = Vec::with_capacity(n);
    let t2 = Instant::now();
    for _ in 0..n {
        held.push(attach(http).await?);
        if t2.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = rss_kib();
    let k = held.len().max(1) as u64;
    println!(
        "memory: {} idle bridged viewer connections: RSS +{} KiB, {:.1} KiB per connection (WS client + bridge + token port + echo, one process)",
        held.len(),
        after.saturating_sub(before),
        after.saturating_sub(before) as f64 / k as f64
    );
    drop(held);
    println!(
        "bridged bytes counted: {:.1} MB",
        reg.bridged.load(Ordering::Relaxed) as f64 / 1e6
    );
    port.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn main() -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(28), run())
            .await
            .context("bench exceeded its time budget")?
    })
}
