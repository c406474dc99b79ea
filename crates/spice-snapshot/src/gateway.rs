//! Reaching SPICE through an Olive gateway, as the browser does: one WebSocket per SPICE
//! channel, each speaking the VMNetX token protocol (`authenticate`, `attach-viewer`) in
//! binary messages before the raw SPICE bytes.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use netx_proto::{ClientMsg, Decode, Encode, ServerMsg, MAX_MESSAGE_SIZE};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

/// How long the token handshake of one channel may take (a starting VM included).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// Bytes buffered between the WebSocket and the SPICE driver, per direction.
const PIPE_BUFFER: usize = 256 * 1024;

/// A gateway's `/ws` endpoint and the instance token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gateway {
    /// `ws://HOST:PORT/ws` (or `wss://`).
    pub url: String,
    /// The instance token (`ID/AUTHCODE`).
    pub token: String,
    /// `Origin` header to send; `None` sends none (the gateway must allow that).
    pub origin: Option<String>,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Frames one client message for the token port.
pub fn frame(msg: &ClientMsg) -> Vec<u8> {
    let payload = msg.encode_payload();
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Takes one complete server message off the front of `buf`, if there is one.
fn next_server_msg(buf: &mut Vec<u8>) -> Result<Option<ServerMsg>> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len > MAX_MESSAGE_SIZE {
        bail!("the gateway sent an oversized message ({len} bytes)");
    }
    if buf.len() < 4 + len {
        return Ok(None);
    }
    let msg = ServerMsg::decode(&buf[4..4 + len])
        .map_err(|e| anyhow!("the gateway sent an undecodable message: {e}"))?;
    buf.drain(..4 + len);
    Ok(Some(msg))
}

/// Opens a WebSocket to the gateway.
pub async fn connect_ws(gw: &Gateway) -> Result<Ws> {
    let mut req = gw
        .url
        .as_str()
        .into_client_request()
        .with_context(|| format!("bad gateway URL {:?}", gw.url))?;
    if let Some(origin) = &gw.origin {
        let v = HeaderValue::from_str(origin).context("bad --origin")?;
        req.headers_mut().insert("Origin", v);
    }
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(req),
    )
    .await
    .map_err(|_| anyhow!("gateway unreachable at {}: timed out", gw.url))?
    .map_err(|e| match e {
        tokio_tungstenite::tungstenite::Error::Http(resp) => anyhow!(
            "gateway refused the WebSocket at {}: HTTP {}",
            gw.url,
            resp.status()
        ),
        e => anyhow!("gateway unreachable at {}: {e}", gw.url),
    })?;
    Ok(ws)
}

async fn recv_into(ws: &mut Ws, buf: &mut Vec<u8>) -> Result<()> {
    match ws.next().await {
        Some(Ok(Message::Binary(b))) => {
            buf.extend_from_slice(&b);
            Ok(())
        }
        Some(Ok(Message::Close(f))) => {
            let why = f
                .map(|f| format!(": {} {}", f.code, f.reason))
                .unwrap_or_default();
            bail!("the gateway closed the connection{why}")
        }
        None => bail!("the gateway closed the connection"),
        Some(Ok(_)) => Ok(()),
        Some(Err(e)) => bail!("gateway connection failed: {e}"),
    }
}

/// Authenticates on a fresh WebSocket and waits until the VM runs; returns the `auth-ok`
/// state it saw first.
async fn authenticate(ws: &mut Ws, buf: &mut Vec<u8>, token: &str) -> Result<()> {
    let auth = frame(&ClientMsg::Authenticate {
        token: token.to_owned(),
    });
    ws.send(Message::Binary(auth.into()))
        .await
        .context("gateway connection failed")?;
    let mut authenticated = false;
    loop {
        while let Some(msg) = next_server_msg(buf)? {
            match msg {
                ServerMsg::AuthOk { state, .. } => match state.as_str() {
                    "running" => return Ok(()),
                    "starting" => authenticated = true,
                    other => bail!("VM not running (state: {other})"),
                },
                ServerMsg::AuthFailed { error } => bail!("authentication failed: {error}"),
                ServerMsg::VmStarted { .. } if authenticated => return Ok(()),
                ServerMsg::StartupFailed { message } => bail!("VM failed to start: {message}"),
                ServerMsg::VmStopped => bail!("VM not running (it stopped)"),
                ServerMsg::VmDestroyed => bail!("VM not running (the instance was destroyed)"),
                ServerMsg::Error { message } => bail!("gateway error: {message}"),
                _ => {}
            }
        }
        recv_into(ws, buf).await?;
    }
}

/// Opens one viewer connection: WebSocket, `authenticate` (waiting for a starting VM),
/// `attach-viewer`; returns a byte stream carrying raw SPICE.
pub async fn open_viewer(
    gw: &Gateway,
) -> Result<(
    Box<dyn AsyncRead + Unpin + Send>,
    Box<dyn AsyncWrite + Unpin + Send>,
)> {
    let mut ws = connect_ws(gw).await?;
    let mut buf = Vec::new();
    let handshake = async {
        authenticate(&mut ws, &mut buf, &gw.token).await?;
        ws.send(Message::Binary(frame(&ClientMsg::AttachViewer).into()))
            .await
            .context("gateway connection failed")?;
        loop {
            while let Some(msg) = next_server_msg(&mut buf)? {
                match msg {
                    ServerMsg::AttachingViewer => return Ok(()),
                    ServerMsg::Error { message } => bail!("gateway error: {message}"),
                    ServerMsg::VmDestroyed => bail!("VM not running (the instance was destroyed)"),
                    _ => {}
                }
            }
            recv_into(&mut ws, &mut buf).await?;
        }
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
        .await
        .map_err(|_| {
            anyhow!("the gateway did not attach the viewer within {HANDSHAKE_TIMEOUT:?}")
        })??;
    // Whatever followed `attaching-viewer` in the same message is already SPICE.
    let early = buf;
    let (app, mine) = tokio::io::duplex(PIPE_BUFFER);
    tokio::spawn(pump(ws, mine, early));
    let (r, w) = tokio::io::split(app);
    Ok((Box::new(r), Box::new(w)))
}

/// Copies between the WebSocket and the driver's end of the pipe until either closes.
async fn pump(ws: Ws, pipe: tokio::io::DuplexStream, early: Vec<u8>) {
    let (mut ws_tx, mut ws_rx) = ws.split();
    let (mut pr, mut pw) = tokio::io::split(pipe);
    let down = async {
        if !early.is_empty() && pw.write_all(&early).await.is_err() {
            return;
        }
        while let Some(Ok(msg)) = ws_rx.next().await {
            match msg {
                Message::Binary(b) if pw.write_all(&b).await.is_err() => return,
                Message::Close(_) => return,
                _ => {}
            }
        }
    };
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match pr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if ws_tx
                        .send(Message::Binary(buf[..n].to_vec().into()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    };
    tokio::select! {
        _ = down => {}
        _ = up => {}
    }
    let _ = pw.shutdown().await;
    let _ = ws_tx.send(Message::Close(None)).await;
}
