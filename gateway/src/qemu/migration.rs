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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::qmp::{Qmp, QmpError};
use crate::codec::libvirt::{self, MemoryError};
use crate::model::{Codec, ImageFormat, MemoryImage};

/// Bytes per write into QEMU: small enough for smooth progress, large enough to be cheap.
const CHUNK: usize = 256 * 1024;
/// How much decompressed data past the declared size is read to reach the file's end.
const TRAILER_LIMIT: u64 = 1 << 20;
/// QEMU connecting to (or accepting) the migration socket.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What is wrong with a memory image itself.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The stream QEMU sent while saving is longer than the limit the save was given.
    #[error("stream longer than {0} bytes")]
    TooLong(u64),
    /// The bytes fed do not hash to the manifest's `sha256`.
    #[error("SHA-256 does not match the manifest")]
    Digest,
    /// The compressed stream decompresses past `uncompressed_size`.
    #[error("decompresses to more than the declared size")]
    Overlong,
    /// The decompressor's words.
    #[error("{0}")]
    Decode(#[from] std::io::Error),
    /// The libvirt save wrapper of a VMNetX image is malformed.
    #[error(transparent)]
    Libvirt(#[from] MemoryError),
}

/// Why a migration (a save or a resume) failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The monitor failed.
    #[error("migration: {0}")]
    Qmp(#[from] QmpError),
    /// QEMU's verdict and its own words.
    #[error("migration {status}: {reason}")]
    Rejected {
        /// `query-migrate`'s status (`failed`, `cancelled`).
        status: String,
        /// QEMU's `error-desc` ("no reason given" when it has none).
        reason: String,
    },
    /// The migration socket failed.
    #[error("migration socket ({what}): {source}")]
    Io {
        /// Which step (for the log).
        what: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The migration did not finish in time.
    #[error("migration timed out after {0:?}")]
    Timeout(Duration),
    /// The image's bytes are wrong (see [`ImageError`]).
    #[error("memory image: {0}")]
    Image(#[from] ImageError),
    /// Reading the image itself failed (a remote server dropped the stream): not the
    /// image's fault, and a cold boot would hit the same network, so the launch fails.
    #[error("fetching the memory image: {0}")]
    Source(std::io::Error),
    /// The blocking task that streams the image panicked or was cancelled.
    #[error("migration task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> MigrationError {
    move |source| MigrationError::Io { what, source }
}

/// Polls `query-migrate` until `completed` (QEMU sends no event we could wait on without
/// enabling migration events); `failed`/`cancelled` or QMP errors are errors.
async fn wait_completed(qmp: &mut Qmp, deadline: Instant) -> Result<(), MigrationError> {
    let budget = deadline.saturating_duration_since(Instant::now());
    loop {
        let st = qmp.execute("query-migrate", None).await?;
        match st.get("status").and_then(|s| s.as_str()) {
            Some("completed") => return Ok(()),
            Some(s @ ("failed" | "cancelled")) => {
                let why = st
                    .get("error-desc")
                    .and_then(|d| d.as_str())
                    .unwrap_or("no reason given");
                return Err(MigrationError::Rejected {
                    status: s.to_owned(),
                    reason: why.to_owned(),
                });
            }
            _ => {}
        }
        if Instant::now() > deadline {
            return Err(MigrationError::Timeout(budget));
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
    /// The migration stream's length (an Olive image's `uncompressed_size`).
    pub uncompressed_size: u64,
    /// The length of the file written.
    pub compressed_size: u64,
    /// Lowercase hex SHA-256 of the file written, for the manifest.
    pub sha256: String,
    /// How long the save took (the VM was paused for it).
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
    let listener = tokio::net::UnixListener::bind(socket).map_err(io("bind"))?;
    // The default 32 MiB/s cap is for live migration over a network, not a local pipe.
    qmp.execute(
        "migrate-set-parameters",
        Some(json!({ "max-bandwidth": 1u64 << 40 })),
    )
    .await?;
    let uri = format!("unix:{}", socket.display());
    qmp.execute("migrate", Some(json!({ "uri": uri }))).await?;
    let (stream, _) = tokio::time::timeout(CONNECT_TIMEOUT, listener.accept())
        .await
        .map_err(|_| MigrationError::Timeout(CONNECT_TIMEOUT))?
        .map_err(io("accept"))?;
    let stream = stream.into_std().map_err(io("accept"))?;
    stream.set_nonblocking(false).map_err(io("accept"))?;
    let file = std::fs::File::create(out).map_err(io("create the image"))?;
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
    wait_completed(qmp, Instant::now() + Duration::from_secs(600)).await?;
    let (n, hashing) = writer.await?.map_err(io("compress"))?;
    if n > max_bytes {
        return Err(ImageError::TooLong(max_bytes).into());
    }
    let _ = std::fs::remove_file(socket);
    Ok(Saved {
        uncompressed_size: n,
        compressed_size: hashing.len,
        sha256: data_encoding::HEXLOWER.encode(&hashing.hash.finalize()),
        elapsed: t0.elapsed(),
    })
}

/// The first read failure of the image's source, kept so that a network error is not
/// mistaken for a corrupt image by the decoder above it.
type SourceFailure = Arc<Mutex<Option<std::io::Error>>>;

/// A reader that hashes and counts what passes through and remembers its own failure.
struct HashingReader<R> {
    inner: R,
    hash: Arc<Mutex<Sha256>>,
    read: Arc<AtomicU64>,
    failure: SourceFailure,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                let copy = std::io::Error::new(e.kind(), e.to_string());
                if let Ok(mut f) = self.failure.lock() {
                    f.get_or_insert(e);
                }
                return Err(copy);
            }
        };
        if let Ok(mut h) = self.hash.lock() {
            h.update(&buf[..n]);
        }
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// An image error, unless the source failed first (then that is the cause).
fn classify(failure: &SourceFailure, e: impl Into<ImageError>) -> MigrationError {
    match failure.lock().ok().and_then(|mut f| f.take()) {
        Some(source) => MigrationError::Source(source),
        None => MigrationError::Image(e.into()),
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
        .await?;
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::UnixStream::connect(socket))
        .await
        .map_err(|_| MigrationError::Timeout(CONNECT_TIMEOUT))?
        .map_err(io("connect"))?
        .into_std()
        .map_err(io("connect"))?;
    stream.set_nonblocking(false).map_err(io("connect"))?;

    let fed = Arc::new(AtomicU64::new(0));
    let hash = Arc::new(Mutex::new(Sha256::new()));
    let total = image.progress_total().max(1);
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
    // Progress is sampled: the feeder runs on a blocking thread and counts atomically.
    while !feeder.is_finished() {
        if Instant::now() > deadline {
            feeder.abort();
            return Err(MigrationError::Timeout(budget));
        }
        report(fed.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let result = feeder.await?;
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
            .map(|h| data_encoding::HEXLOWER.encode(&h.clone().finalize()))
            .unwrap_or_default();
        if &got != want {
            return Err(ImageError::Digest.into());
        }
    }
    Ok(())
}

/// The blocking half of [`load`]: decompress into the socket, counting bytes.
fn feed(
    mut sock: std::os::unix::net::UnixStream,
    image: &MemoryImage,
    fed: Arc<AtomicU64>,
    hash: Arc<Mutex<Sha256>>,
) -> Result<(), MigrationError> {
    let failure = SourceFailure::default();
    let raw = image.bytes.open().map_err(MigrationError::Source)?;
    let libvirt = matches!(image.format, ImageFormat::Libvirt { .. });
    let reader = HashingReader {
        inner: raw,
        hash,
        // A libvirt image's progress is the wrapped bytes read; otherwise unwrapped bytes fed.
        read: if libvirt {
            fed.clone()
        } else {
            Arc::new(AtomicU64::new(0))
        },
        failure: failure.clone(),
    };
    match image.format {
        ImageFormat::Libvirt { .. } => {
            libvirt::unwrap(reader, &mut sock).map_err(|e| classify(&failure, e))?;
            let _ = sock.shutdown(std::net::Shutdown::Write);
            Ok(())
        }
        ImageFormat::Olive {
            codec,
            uncompressed_size,
        } => {
            let dec = codec
                .decoder(Box::new(reader))
                .map_err(|e| classify(&failure, e))?;
            feed_olive(sock, dec, uncompressed_size, &fed, &failure)
        }
    }
}

/// [`feed`] for an Olive image: at most `size` decompressed bytes, then the rest of the
/// file drained so its hash covers every byte (a trailer).
fn feed_olive(
    mut sock: std::os::unix::net::UnixStream,
    dec: Box<dyn Read + Send + '_>,
    size: u64,
    fed: &AtomicU64,
    failure: &SourceFailure,
) -> Result<(), MigrationError> {
    let mut dec = dec.take(size);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = dec.read(&mut buf).map_err(|e| classify(failure, e))?;
        if n == 0 {
            break;
        }
        sock.write_all(&buf[..n]).map_err(io("write"))?;
        fed.fetch_add(n as u64, Ordering::Relaxed);
    }
    // A stream that decompresses to more than declared is not the image we were promised.
    let rest = std::io::copy(
        &mut dec.get_mut().take(TRAILER_LIMIT + 1),
        &mut std::io::sink(),
    )
    .map_err(|e| classify(failure, e))?;
    if rest > 0 {
        return Err(ImageError::Overlong.into());
    }
    let _ = sock.shutdown(std::net::Shutdown::Write);
    Ok(())
}
