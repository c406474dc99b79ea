//! Saving and loading memory images through QEMU's migration machinery.
//!
//! QEMU runs with `-sandbox ...,spawn=deny`, so `exec:` migration URIs (a compressor as a
//! child of QEMU) are impossible. Instead the gateway sits on the other end of a `unix:`
//! socket in the instance directory: when saving, QEMU `migrate`s into a socket the
//! gateway listens on and the gateway compresses; when loading, QEMU `migrate-incoming`
//! listens and the gateway decompresses into it, counting bytes for `startup-progress`
//! and hashing the compressed file so a corrupt image is caught before the guest runs.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::packages::olive::codec::Codec;
use crate::packages::olive::{hex, MemoryImage};
use crate::qemu::qmp::Qmp;

/// Bytes per write into QEMU: small enough for smooth progress, large enough to be cheap.
const CHUNK: usize = 256 * 1024;
/// How much decompressed data past the declared size is read to reach the file's end.
const TRAILER_LIMIT: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("migration: {0}")]
    Failed(String),
    #[error("memory image: {0}")]
    Image(String),
    #[error("migration timed out after {0:?}")]
    Timeout(Duration),
    /// Reading the image itself failed (a remote server dropped the stream): not the
    /// image's fault, and a cold boot would hit the same network, so the launch fails.
    #[error("fetching the memory image: {0}")]
    Source(String),
}

fn failed(e: impl std::fmt::Display) -> MigrationError {
    MigrationError::Failed(e.to_string())
}

/// Polls `query-migrate` until `completed`; `failed`/`cancelled` or QMP errors are errors.
async fn wait_completed(qmp: &mut Qmp, deadline: Instant) -> Result<(), MigrationError> {
    loop {
        let st = qmp.execute("query-migrate", None).await.map_err(failed)?;
        match st.get("status").and_then(|s| s.as_str()) {
            Some("completed") => return Ok(()),
            Some(s @ ("failed" | "cancelled")) => {
                let why = st
                    .get("error-desc")
                    .and_then(|d| d.as_str())
                    .unwrap_or("no reason given");
                return Err(MigrationError::Failed(format!("{s}: {why}")));
            }
            _ => {}
        }
        if Instant::now() > deadline {
            return Err(MigrationError::Timeout(Duration::ZERO));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A writer that hashes and counts what passes through.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    len: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What [`save`] wrote.
#[derive(Clone, Debug)]
pub struct Saved {
    pub uncompressed_size: u64,
    pub compressed_size: u64,
    pub sha256: String,
    pub elapsed: Duration,
}

/// Saves the (stopped) VM's state into `out`, compressed with `codec`, through a socket
/// at `socket`. Refuses streams longer than `max_bytes`.
pub async fn save(
    qmp: &mut Qmp,
    socket: &Path,
    out: &Path,
    codec: Codec,
    max_bytes: u64,
) -> Result<Saved, MigrationError> {
    let t0 = Instant::now();
    let _ = std::fs::remove_file(socket);
    let listener = tokio::net::UnixListener::bind(socket).map_err(failed)?;
    // The default 32 MiB/s cap is for live migration over a network, not a local pipe.
    qmp.execute(
        "migrate-set-parameters",
        Some(json!({ "max-bandwidth": 1u64 << 40 })),
    )
    .await
    .map_err(failed)?;
    let uri = format!("unix:{}", socket.display());
    qmp.execute("migrate", Some(json!({ "uri": uri })))
        .await
        .map_err(failed)?;
    let (stream, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .map_err(|_| MigrationError::Timeout(Duration::from_secs(10)))?
        .map_err(failed)?;
    let stream = stream.into_std().map_err(failed)?;
    stream.set_nonblocking(false).map_err(failed)?;
    let file = std::fs::File::create(out).map_err(failed)?;
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<(u64, Hashing<_>)> {
        let hashing = Hashing {
            inner: std::io::BufWriter::new(file),
            hash: Sha256::new(),
            len: 0,
        };
        let mut enc = codec.encoder(hashing)?;
        let n = std::io::copy(&mut (&stream).take(max_bytes + 1), &mut enc)?;
        let mut hashing = enc.finish()?;
        hashing.flush()?;
        Ok((n, hashing))
    });
    let deadline = Instant::now() + Duration::from_secs(600);
    wait_completed(qmp, deadline).await?;
    let (n, hashing) = writer.await.map_err(failed)?.map_err(failed)?;
    if n > max_bytes {
        return Err(MigrationError::Image(format!(
            "stream longer than {max_bytes} bytes"
        )));
    }
    let _ = std::fs::remove_file(socket);
    Ok(Saved {
        uncompressed_size: n,
        compressed_size: hashing.len,
        sha256: hex(&hashing.hash.finalize()),
        elapsed: t0.elapsed(),
    })
}

/// A reader that hashes and counts what passes through, and remembers its own read
/// failure (so a network error is not mistaken for a corrupt image by the decoder above).
struct HashingReader<R> {
    inner: R,
    hash: Arc<std::sync::Mutex<Sha256>>,
    read: Arc<AtomicU64>,
    failure: Arc<std::sync::Mutex<Option<String>>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                if let Ok(mut f) = self.failure.lock() {
                    f.get_or_insert_with(|| e.to_string());
                }
                return Err(e);
            }
        };
        if let Ok(mut h) = self.hash.lock() {
            h.update(&buf[..n]);
        }
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Feeds `image` to a QEMU started with `-incoming defer`, calling `progress` with the
/// fraction fed (rising, ending at 1.0). Returns once QEMU has loaded the whole stream
/// and the compressed file matched `image.sha256`; the VM is then paused.
pub async fn load(
    qmp: &mut Qmp,
    socket: &Path,
    image: &MemoryImage,
    progress: &(dyn Fn(f64) + Send + Sync),
) -> Result<(), MigrationError> {
    let _ = std::fs::remove_file(socket);
    let uri = format!("unix:{}", socket.display());
    qmp.execute("migrate-incoming", Some(json!({ "uri": uri })))
        .await
        .map_err(failed)?;
    let stream = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::UnixStream::connect(socket),
    )
    .await
    .map_err(|_| MigrationError::Timeout(Duration::from_secs(10)))?
    .map_err(failed)?
    .into_std()
    .map_err(failed)?;
    stream.set_nonblocking(false).map_err(failed)?;

    let fed = Arc::new(AtomicU64::new(0));
    let hash = Arc::new(std::sync::Mutex::new(Sha256::new()));
    let total = image.uncompressed_size.max(1);
    let feeder = {
        let (fed, hash, image) = (fed.clone(), hash.clone(), image.clone());
        tokio::task::spawn_blocking(move || feed(stream, &image, fed, hash))
    };
    // Generous: TCG at a few hundred MB/s plus a slow disk; a stuck QEMU must not hang us.
    let budget = Duration::from_secs(30) + Duration::from_secs(total / (10 << 20));
    let deadline = Instant::now() + budget;
    let mut last = -1.0f64;
    let mut report = |n: u64| {
        let f = (n as f64 / total as f64).min(1.0);
        if f >= 1.0 && last < 1.0 || f - last >= 0.01 {
            last = f;
            progress(f);
        }
    };
    while !feeder.is_finished() {
        if Instant::now() > deadline {
            feeder.abort();
            return Err(MigrationError::Timeout(budget));
        }
        report(fed.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let result = feeder.await.map_err(failed)?;
    // A dropped download also makes QEMU fail the migration; the download is the cause.
    if let Err(e @ MigrationError::Source(_)) = result {
        return Err(e);
    }
    // QEMU's verdict first: a stream it rejected says more than our side's broken pipe.
    wait_completed(qmp, deadline).await?;
    result?;
    // QEMU has it all; a manifest that overstated the size must not leave the bar short.
    report(total);
    if let Some(want) = &image.sha256 {
        let got = hash
            .lock()
            .map(|h| hex(&h.clone().finalize()))
            .unwrap_or_default();
        if &got != want {
            return Err(MigrationError::Image(
                "SHA-256 does not match the manifest".into(),
            ));
        }
    }
    Ok(())
}

/// The blocking half of [`load`]: decompress into the socket, counting bytes.
fn feed(
    mut sock: std::os::unix::net::UnixStream,
    image: &MemoryImage,
    fed: Arc<AtomicU64>,
    hash: Arc<std::sync::Mutex<Sha256>>,
) -> Result<(), MigrationError> {
    let failure = Arc::new(std::sync::Mutex::new(None));
    let source_failed = || {
        failure
            .lock()
            .ok()
            .and_then(|f| f.clone())
            .map(MigrationError::Source)
    };
    let img = |e: &dyn std::fmt::Display| {
        source_failed().unwrap_or_else(|| MigrationError::Image(e.to_string()))
    };
    let raw = image
        .source
        .open()
        .map_err(|e| MigrationError::Source(e.to_string()))?;
    let reader = HashingReader {
        inner: raw,
        hash,
        // A libvirt image's progress is the wrapped bytes read; otherwise unwrapped bytes fed.
        read: if image.libvirt {
            fed.clone()
        } else {
            Arc::new(AtomicU64::new(0))
        },
        failure: failure.clone(),
    };
    if image.libvirt {
        return feed_libvirt(sock, reader, &img);
    }
    let mut dec = image
        .codec
        .decoder(Box::new(reader))
        .map_err(|e| img(&e))?
        .take(image.uncompressed_size);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = dec.read(&mut buf).map_err(|e| img(&e))?;
        if n == 0 {
            break;
        }
        sock.write_all(&buf[..n]).map_err(failed)?;
        fed.fetch_add(n as u64, Ordering::Relaxed);
    }
    // Drain the rest of the compressed file so its hash covers every byte (a trailer);
    // a stream that decompresses to more than declared is not the image we were promised.
    let rest = std::io::copy(
        &mut dec.get_mut().take(TRAILER_LIMIT + 1),
        &mut std::io::sink(),
    )
    .map_err(|e| img(&e))?;
    if rest > 0 {
        return Err(MigrationError::Image(
            "decompresses to more than the declared size".into(),
        ));
    }
    let _ = sock.shutdown(std::net::Shutdown::Write);
    Ok(())
}

/// [`feed`] for a VMNetX image: unwrap the libvirt header and decompress into the socket
/// (progress counts wrapped bytes: the unwrapped length is not known in advance).
fn feed_libvirt<R: Read>(
    mut sock: std::os::unix::net::UnixStream,
    reader: R,
    img: &dyn Fn(&dyn std::fmt::Display) -> MigrationError,
) -> Result<(), MigrationError> {
    crate::packages::nxpk::memory::unwrap(reader, &mut sock).map_err(|e| img(&e))?;
    let _ = sock.shutdown(std::net::Shutdown::Write);
    Ok(())
}

/// Whether a binary PPM (QEMU's `screendump`) is entirely black; `None` if it is not a
/// PPM we understand.
pub fn ppm_all_black(data: &[u8]) -> Option<bool> {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while data.get(i)?.is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !data.get(i)?.is_ascii_whitespace() {
            i += 1;
        }
        fields.push(std::str::from_utf8(&data[start..i]).ok()?);
    }
    if fields[0] != "P6" || fields[3] != "255" {
        return None;
    }
    let w: usize = fields[1].parse().ok()?;
    let h: usize = fields[2].parse().ok()?;
    let pixels = data.get(i + 1..)?;
    if pixels.len() != w.checked_mul(h)?.checked_mul(3)? {
        return None;
    }
    Some(pixels.iter().all(|&b| b == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_ppm() {
        let mut black = b"P6\n2 2\n255\n".to_vec();
        black.extend([0u8; 12]);
        assert_eq!(ppm_all_black(&black), Some(true));
        let mut grey = black.clone();
        grey[15] = 1;
        assert_eq!(ppm_all_black(&grey), Some(false));
        assert_eq!(ppm_all_black(&black[..14]), None);
        assert_eq!(ppm_all_black(b"P5\n1 1\n255\n\0"), None);
        assert_eq!(ppm_all_black(b""), None);
    }
}
