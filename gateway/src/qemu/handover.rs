//! Hands QEMU a viewer's SPICE connection as a loopback TCP socket.
//!
//! spice-server never compresses drawables for a client on a UNIX socket: it takes such a
//! client to be on the same machine and sends raw bitmaps (4 bytes a pixel). Our viewers
//! are remote, behind the WebSocket bridge, so connecting the bridge to QEMU's UNIX socket
//! would cost visitors GLZ, QUIC and JPEG. Listening on a TCP port instead would let any
//! local process reach every VM's SPICE server. So the gateway makes a connected pair of
//! loopback TCP sockets itself and passes one end to QEMU through QMP (`getfd` with the
//! descriptor as SCM_RIGHTS, then `add_client protocol=spice`): QEMU sees a TCP peer, and no
//! port stays open — the temporary listener accepts exactly the socket we connected and is
//! closed at once.
//!
//! The QMP monitor used here is a second one, reserved for this, so a handover never
//! waits behind (or confuses) the launcher's own QMP session. It is blocking code on a
//! blocking thread because `sendmsg` with SCM_RIGHTS needs the raw socket; tokio's
//! `UnixStream` has no ancillary-data API.

use std::io::{BufRead, BufReader, IoSlice, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use serde_json::{json, Value};

/// Longest QMP line accepted from the monitor; our replies are tiny.
const MAX_LINE: u64 = 64 * 1024;

/// Why a viewer's connection could not be handed to QEMU's SPICE server; the viewer is then refused and may retry.
#[derive(Debug, thiserror::Error)]
pub enum HandoverError {
    /// Talking to the monitor or the loopback sockets failed.
    #[error("SPICE handover I/O ({what}): {source}")]
    Io {
        /// Which step (for the log).
        what: &'static str,
        /// The error of that step.
        source: std::io::Error,
    },
    /// `sendmsg` with `SCM_RIGHTS` (QMP's `getfd`) failed.
    #[error("SPICE handover: passing the socket to QEMU failed: {0}")]
    PassFd(nix::Error),
    /// QEMU answered a command with an error.
    #[error("SPICE handover: QMP {command} failed: {message}")]
    Qmp {
        /// The QMP command.
        command: String,
        /// QEMU's `desc`.
        message: String,
    },
    /// The monitor sent something that is not the QMP we expect.
    #[error("SPICE handover: unexpected QMP reply: {0}")]
    Protocol(String),
    /// Something else connected to the one-shot loopback listener; its socket is dropped, never handed over.
    #[error("SPICE handover: a stranger connected to the loopback listener first ({0})")]
    Stranger(SocketAddr),
    /// The blocking task that passes the descriptor panicked or was cancelled.
    #[error("SPICE handover task: {0}")]
    Task(tokio::task::JoinError),
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> HandoverError {
    move |source| HandoverError::Io { what, source }
}

/// A fresh `fdname`: random, so a failed handover can never leave QEMU holding a name a
/// later one reuses (and no counter is shared between instances).
fn fd_name() -> String {
    let mut b = [0u8; 8];
    // The name only has to be distinct; should the RNG fail, the time will do.
    if getrandom::getrandom(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        b = (t.as_nanos() as u64).to_le_bytes();
    }
    format!("olive-spice-{}", data_encoding::HEXLOWER.encode(&b))
}

/// Connects a new SPICE client to the QEMU behind `monitor` and returns our end, ready
/// for the client's SPICE link message. Blocking; bounded by `timeout` per step.
pub fn connect_blocking(monitor: &Path, timeout: Duration) -> Result<TcpStream, HandoverError> {
    let (ours, theirs) = loopback_pair(timeout)?;
    let mut qmp = Monitor::connect(monitor, timeout)?;
    let fdname = fd_name();
    qmp.send_with_fd(
        &json!({"execute": "getfd", "arguments": {"fdname": fdname}}),
        &theirs,
    )?;
    qmp.reply("getfd")?;
    qmp.send(&json!({
        "execute": "add_client",
        "arguments": {"protocol": "spice", "fdname": fdname, "skipauth": false, "tls": false},
    }))?;
    qmp.reply("add_client")?;
    // QEMU holds its own duplicate now; ours closes with `theirs`.
    drop(theirs);
    Ok(ours)
}

/// [`connect_blocking`] off the async runtime, as a tokio stream.
pub async fn connect(
    monitor: PathBuf,
    timeout: Duration,
) -> Result<tokio::net::TcpStream, HandoverError> {
    let std_stream = tokio::task::spawn_blocking(move || connect_blocking(&monitor, timeout))
        .await
        .map_err(HandoverError::Task)??;
    std_stream
        .set_nonblocking(true)
        .map_err(io("set non-blocking"))?;
    tokio::net::TcpStream::from_std(std_stream).map_err(io("register socket"))
}

/// Two connected loopback TCP sockets. The listener lives only until it has accepted the
/// socket we connected; anything else that raced in is refused.
fn loopback_pair(timeout: Duration) -> Result<(TcpStream, TcpStream), HandoverError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(io("bind loopback"))?;
    let addr = listener.local_addr().map_err(io("listener address"))?;
    let ours = TcpStream::connect_timeout(&addr, timeout).map_err(io("connect loopback"))?;
    let our_addr = ours.local_addr().map_err(io("local address"))?;
    let (theirs, peer) = listener.accept().map_err(io("accept loopback"))?;
    if peer != our_addr {
        return Err(HandoverError::Stranger(peer));
    }
    ours.set_nodelay(true).map_err(io("nodelay"))?;
    theirs.set_nodelay(true).map_err(io("nodelay"))?;
    Ok((ours, theirs))
}

/// A QMP session on the handover monitor (blocking, with timeouts).
struct Monitor {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Monitor {
    fn connect(path: &Path, timeout: Duration) -> Result<Monitor, HandoverError> {
        let stream = UnixStream::connect(path).map_err(io("connect QMP monitor"))?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(io("QMP timeout"))?;
        stream
            .set_write_timeout(Some(timeout))
            .map_err(io("QMP timeout"))?;
        let writer = stream.try_clone().map_err(io("QMP clone"))?;
        let mut m = Monitor {
            reader: BufReader::new(stream),
            writer,
        };
        let greeting = m.read()?;
        if greeting.get("QMP").is_none() {
            return Err(HandoverError::Protocol(format!("greeting {greeting}")));
        }
        m.send(&json!({"execute": "qmp_capabilities"}))?;
        m.reply("qmp_capabilities")?;
        Ok(m)
    }

    fn send(&mut self, msg: &Value) -> Result<(), HandoverError> {
        let mut line = msg.to_string().into_bytes();
        line.push(b'\n');
        self.writer.write_all(&line).map_err(io("QMP write"))
    }

    /// Sends `msg` with `fd` attached as SCM_RIGHTS (QMP takes descriptors that arrive
    /// with the command that names them).
    fn send_with_fd(&mut self, msg: &Value, fd: &TcpStream) -> Result<(), HandoverError> {
        let mut line = msg.to_string().into_bytes();
        line.push(b'\n');
        let fds = [fd.as_raw_fd()];
        let cmsg = [ControlMessage::ScmRights(&fds)];
        let sent = sendmsg::<()>(
            self.writer.as_raw_fd(),
            &[IoSlice::new(&line)],
            &cmsg,
            MsgFlags::empty(),
            None,
        )
        .map_err(HandoverError::PassFd)?;
        if sent < line.len() {
            self.writer
                .write_all(&line[sent..])
                .map_err(io("QMP write"))?;
        }
        Ok(())
    }

    fn read(&mut self) -> Result<Value, HandoverError> {
        let mut line = String::new();
        let n = (&mut self.reader)
            .take(MAX_LINE)
            .read_line(&mut line)
            .map_err(io("QMP read"))?;
        if n == 0 {
            return Err(HandoverError::Protocol("QMP monitor closed".into()));
        }
        serde_json::from_str(&line).map_err(|e| HandoverError::Protocol(format!("{e}: {line:?}")))
    }

    /// The reply to `command`, skipping asynchronous events.
    fn reply(&mut self, command: &str) -> Result<Value, HandoverError> {
        loop {
            let v = self.read()?;
            if v.get("event").is_some() {
                continue;
            }
            if let Some(r) = v.get("return") {
                return Ok(r.clone());
            }
            if let Some(e) = v.get("error") {
                return Err(HandoverError::Qmp {
                    command: command.into(),
                    message: e
                        .get("desc")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error")
                        .into(),
                });
            }
            return Err(HandoverError::Protocol(v.to_string()));
        }
    }
}
