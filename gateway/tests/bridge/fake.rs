//! The fake registry (its "SPICE socket" a local UNIX server), the servers under test and
//! framed clients.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use netx_proto::{ClientMsg, ServerMsg};
use olive_gateway::net::control::{
    ControlError, ControlEvent, InstanceHandle, Registry, SpiceAddress, SpiceEndpoint, VmState,
};
use olive_gateway::net::token_port::{ForwardedPeers, TokenPort, TokenPortOptions};
use olive_gateway::net::ws_bridge::{self, WsBridge, WsBridgeConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio::sync::broadcast;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub(crate) const STEP: Duration = Duration::from_secs(10);
pub(crate) const ORIGIN: &str = "http://olive.test";

// ------------------------------------------------------------------ fake registry

pub(crate) struct FakeInstance {
    pub(crate) id: String,
    pub(crate) token: String,
    pub(crate) state: Mutex<VmState>,
    pub(crate) events: broadcast::Sender<ControlEvent>,
    pub(crate) spice: Mutex<Option<PathBuf>>,
    pub(crate) touches: AtomicU64,
    pub(crate) destroyed: AtomicBool,
}

impl InstanceHandle for FakeInstance {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> String {
        "Test Guest".into()
    }
    fn state(&self) -> VmState {
        *self.state.lock().unwrap()
    }
    fn limit_mouse_rate(&self) -> Option<u32> {
        Some(60)
    }
    fn subscribe(&self) -> broadcast::Receiver<ControlEvent> {
        self.events.subscribe()
    }
    fn touch(&self) {
        self.touches.fetch_add(1, Ordering::SeqCst);
    }
    fn spice(&self) -> Option<SpiceEndpoint> {
        if self.state() != VmState::Running {
            return None;
        }
        let path = self.spice.lock().unwrap().clone()?;
        Some(SpiceEndpoint {
            address: SpiceAddress::Unix(path),
            handover: None,
        })
    }
    fn start_vm(&self) -> Result<(), ControlError> {
        let mut s = self.state.lock().unwrap();
        if *s != VmState::Stopped {
            return Err(ControlError::NotStopped);
        }
        *s = VmState::Running;
        let _ = self.events.send(ControlEvent::VmStarted {
            check_display: false,
        });
        Ok(())
    }
    fn stop_vm(&self) -> Result<(), ControlError> {
        let mut s = self.state.lock().unwrap();
        if *s != VmState::Running {
            return Err(ControlError::NotRunning);
        }
        *s = VmState::Stopped;
        let _ = self.events.send(ControlEvent::VmStopped);
        Ok(())
    }
    fn destroy(&self) {
        *self.state.lock().unwrap() = VmState::Destroyed;
        self.destroyed.store(true, Ordering::SeqCst);
        let _ = self.events.send(ControlEvent::VmDestroyed);
    }
}

#[derive(Default)]
pub(crate) struct FakeRegistry {
    pub(crate) instances: Mutex<Vec<Arc<FakeInstance>>>,
    pub(crate) bridged: AtomicU64,
}

impl FakeRegistry {
    pub(crate) fn add(&self, token: &str, spice: Option<PathBuf>) -> Arc<FakeInstance> {
        let (events, _) = broadcast::channel(64);
        let i = Arc::new(FakeInstance {
            id: token.split('/').next().unwrap_or(token).to_owned(),
            token: token.to_owned(),
            state: Mutex::new(VmState::Running),
            events,
            spice: Mutex::new(spice),
            touches: AtomicU64::new(0),
            destroyed: AtomicBool::new(false),
        });
        self.instances.lock().unwrap().push(Arc::clone(&i));
        i
    }
}

impl Registry for FakeRegistry {
    fn authenticate(&self, token: &str) -> Option<Arc<dyn InstanceHandle>> {
        self.instances
            .lock()
            .unwrap()
            .iter()
            .find(|i| i.token == token && !i.destroyed.load(Ordering::SeqCst))
            .map(|i| Arc::clone(i) as Arc<dyn InstanceHandle>)
    }
    fn server_timeouts(&self) -> (u64, u64) {
        (300, 305)
    }
    fn count_bridged(&self, bytes: u64) {
        self.bridged.fetch_add(bytes, Ordering::Relaxed);
    }
}

// ------------------------------------------------------------------ servers

pub(crate) struct Servers {
    pub(crate) token_addr: SocketAddr,
    pub(crate) http_addr: SocketAddr,
    pub(crate) port: Arc<TokenPort>,
    pub(crate) tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.port.shutdown();
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub(crate) async fn start(registry: Arc<dyn Registry>, mut opts: TokenPortOptions) -> Servers {
    let forwarded = Arc::new(ForwardedPeers::default());
    opts.forwarded = Arc::clone(&forwarded);
    let tl = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let token_addr = tl.local_addr().unwrap();
    let port = TokenPort::new(Arc::clone(&registry), opts);
    let p = Arc::clone(&port);
    let t1 = tokio::spawn(async move {
        let _ = p.serve(tl).await;
    });
    let cfg = WsBridgeConfig::new(token_addr, vec![ORIGIN.to_owned()]);
    let app: axum::Router = ws_bridge::router(WsBridge::new(cfg, registry, forwarded));
    let hl = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_addr = hl.local_addr().unwrap();
    let t2 = tokio::spawn(async move {
        let _ = axum::serve(hl, app.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    Servers {
        token_addr,
        http_addr,
        port,
        tasks: vec![t1, t2],
    }
}

/// A fake SPICE server: echoes every byte back.
pub(crate) fn echo_server(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("echo.sock");
    let l = UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    path
}

/// A fake SPICE server that writes as fast as it can and counts what was accepted.
pub(crate) fn flood_server(dir: &std::path::Path, written: Arc<AtomicU64>) -> PathBuf {
    let path = dir.join("flood.sock");
    let l = UnixListener::bind(&path).unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let written = Arc::clone(&written);
            tokio::spawn(async move {
                let chunk = vec![0x5au8; 64 * 1024];
                while s.write_all(&chunk).await.is_ok() {
                    written.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                }
            });
        }
    });
    path
}

pub(crate) fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "olive-bridge-{}-{}-{}",
        name,
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

// ------------------------------------------------------------------ clients

pub(crate) fn frame(msg: &ClientMsg) -> Vec<u8> {
    netx_proto::encode(msg)
}

pub(crate) fn raw_frame(payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

pub(crate) fn auth(token: &str) -> Vec<u8> {
    frame(&ClientMsg::Authenticate {
        token: token.into(),
    })
}

/// A framed token-port client over TCP.
pub(crate) struct Client {
    pub(crate) s: TcpStream,
    pub(crate) dec: netx_proto::Decoder,
}

impl Client {
    pub(crate) async fn connect(addr: SocketAddr) -> Client {
        Client {
            s: TcpStream::connect(addr).await.unwrap(),
            dec: netx_proto::Decoder::new(),
        }
    }
    pub(crate) async fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).await.unwrap();
    }
    /// The next message; `None` when the server closed the connection.
    pub(crate) async fn recv(&mut self) -> Option<ServerMsg> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(m) = self.dec.next::<ServerMsg>().expect("server frame") {
                return Some(m);
            }
            let n = timeout(STEP, self.s.read(&mut buf))
                .await
                .expect("server answers in time")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.dec.push(&buf[..n]);
        }
    }
    pub(crate) async fn expect(&mut self) -> ServerMsg {
        self.recv().await.expect("a message, not a close")
    }
    pub(crate) async fn expect_closed(&mut self) {
        let m = self.recv().await;
        assert!(m.is_none(), "expected the connection to close, got {m:?}");
    }
}

pub(crate) fn error_text(m: &ServerMsg) -> &str {
    match m {
        ServerMsg::Error { message } => message,
        other => panic!("expected error, got {other:?}"),
    }
}

pub(crate) fn fast_opts() -> TokenPortOptions {
    TokenPortOptions::default()
}

// ------------------------------------------------------------------ WebSocket bridge

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

pub(crate) async fn ws_connect(addr: SocketAddr, origin: Option<&str>) -> Result<Ws, String> {
    let mut req = format!("ws://{addr}/ws").into_client_request().unwrap();
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            Err(format!("HTTP {}", r.status().as_u16()))
        }
        Err(e) => Err(e.to_string()),
    }
}

pub(crate) async fn ws_recv_msg(ws: &mut Ws, dec: &mut netx_proto::Decoder) -> Option<ServerMsg> {
    loop {
        if let Some(m) = dec.next::<ServerMsg>().unwrap() {
            return Some(m);
        }
        match timeout(STEP, ws.next()).await.expect("in time") {
            Some(Ok(Message::Binary(b))) => dec.push(&b),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}
