//! A viewer's bytes: reaching SPICE (through the handover monitor, or straight to its
//! address) and splicing the connection to it with bounded buffers.

use std::io;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::time::Instant;
use tracing::warn;

use super::SPLICE_BUFFER;
use crate::net::control::{InstanceHandle, SpiceAddress};

/// A viewer's connection to the VM's SPICE server.
pub(super) enum SpiceConn {
    /// Handed to QEMU as TCP (so spice-server compresses images for it), or a VM on
    /// another host.
    Tcp(TcpStream),
    /// QEMU's UNIX socket: raw images; the fallback when the handover fails.
    Unix(UnixStream),
}

/// Connects to SPICE through the handover monitor, falling back (with a warning) to the
/// VM's address, so a handover problem costs bandwidth, not the visit.
pub(super) async fn connect_spice(
    instance: &dyn InstanceHandle,
    timeout: Duration,
) -> Option<SpiceConn> {
    let spice = instance.spice()?;
    if let Some(monitor) = spice.handover {
        let handover = crate::qemu::handover::connect(monitor, timeout);
        match tokio::time::timeout(timeout, handover).await {
            Ok(Ok(s)) => return Some(SpiceConn::Tcp(s)),
            Ok(Err(e)) => warn!(error = %e, "SPICE handover failed; connecting directly"),
            Err(_) => warn!("SPICE handover timed out; connecting directly"),
        }
    }
    let connected = match &spice.address {
        SpiceAddress::Unix(path) => tokio::time::timeout(timeout, UnixStream::connect(path))
            .await
            .map(|r| r.map(SpiceConn::Unix)),
        SpiceAddress::Tcp(addr) => tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map(|r| r.map(SpiceConn::Tcp)),
    };
    match connected {
        Ok(Ok(s)) => Some(s),
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

pub(super) async fn write_with_timeout<W: AsyncWrite + Unpin>(
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
pub(super) async fn splice<A, B>(
    a: &mut A,
    b: &mut B,
    instance: &dyn InstanceHandle,
) -> io::Result<()>
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
