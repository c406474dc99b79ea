//! A minimal read-only NBD server on a UNIX socket, serving an [`ImageSlice`].
//!
//! QEMU opens the remote image as `nbd:unix:<path>` (as the read-only backing file of an
//! instance's qcow2 overlay), so every guest disk read that misses the overlay becomes a
//! chunk-cache read. Only what QEMU needs is spoken: fixed newstyle handshake,
//! `NBD_OPT_GO`/`INFO`/`EXPORT_NAME`/`LIST`/`ABORT`, simple replies, and the `READ`, `FLUSH`
//! and `DISC` commands; writes are refused with `EPERM`. Structured replies are declined, which
//! QEMU accepts. The peer is QEMU on a private socket, but it runs guest-influenced code, so
//! every length is still bounded.

use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, Semaphore};

use super::chunk_cache::ImageSlice;

const NBDMAGIC: u64 = 0x4e42_444d_4147_4943;
const IHAVEOPT: u64 = 0x4948_4156_454f_5054;
const OPT_REPLY_MAGIC: u64 = 0x0003_e889_0455_65a9;
const REQUEST_MAGIC: u32 = 0x2560_9513;
const SIMPLE_REPLY_MAGIC: u32 = 0x6744_6698;

const FLAG_FIXED_NEWSTYLE: u16 = 1;
const FLAG_NO_ZEROES: u16 = 2;

const OPT_EXPORT_NAME: u32 = 1;
const OPT_ABORT: u32 = 2;
const OPT_LIST: u32 = 3;
const OPT_INFO: u32 = 6;
const OPT_GO: u32 = 7;

const REP_ACK: u32 = 1;
const REP_SERVER: u32 = 2;
const REP_INFO: u32 = 3;
const REP_ERR_UNSUP: u32 = (1 << 31) | 1;
const REP_ERR_INVALID: u32 = (1 << 31) | 3;

const INFO_EXPORT: u16 = 0;
const INFO_BLOCK_SIZE: u16 = 3;

const TFLAG_HAS_FLAGS: u16 = 1;
const TFLAG_READ_ONLY: u16 = 2;
const TFLAG_SEND_FLUSH: u16 = 4;
const TFLAG_CAN_MULTI_CONN: u16 = 1 << 8;

const CMD_READ: u16 = 0;
const CMD_WRITE: u16 = 1;
const CMD_DISC: u16 = 2;
const CMD_FLUSH: u16 = 3;

const EPERM: u32 = 1;
const EIO: u32 = 5;
const EINVAL: u32 = 22;

/// Largest option payload or request accepted (QEMU asks for at most 32 MiB per read).
const MAX_OPTION: u32 = 64 << 10;
const MAX_REQUEST: u32 = 32 << 20;
/// Reads one connection may have in flight.
const PARALLEL_READS: usize = 16;

/// The export name QEMU should ask for (any name is accepted; this one is for the URL).
pub const EXPORT_NAME: &str = "disk";

/// A running export; dropping it stops accepting connections.
pub struct NbdExport {
    task: tokio::task::JoinHandle<()>,
    last_error: Arc<Mutex<Option<String>>>,
}

impl Drop for NbdExport {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl NbdExport {
    /// Serves `slice` on a new UNIX socket at `path` (mode 0600 by the umask of the caller's
    /// private directory).
    pub fn serve(path: &Path, slice: ImageSlice) -> std::io::Result<NbdExport> {
        let listener = UnixListener::bind(path)?;
        let last_error = Arc::new(Mutex::new(None));
        let errors = last_error.clone();
        let slice = Arc::new(slice);
        let task = tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    return;
                };
                let (slice, errors) = (slice.clone(), errors.clone());
                tokio::spawn(async move {
                    if let Err(e) = serve_conn(conn, slice, errors).await {
                        tracing::debug!("nbd connection ended: {e}");
                    }
                });
            }
        });
        Ok(NbdExport { task, last_error })
    }

    /// QEMU's `-drive`/`-blockdev` file name for the export at `path`.
    pub fn qemu_uri(path: &Path) -> String {
        format!("nbd:unix:{}:exportname={EXPORT_NAME}", path.display())
    }

    /// The last remote read failure, for telling the visitor why the guest saw I/O errors.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn bad(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_owned())
}

async fn serve_conn(
    conn: UnixStream,
    slice: Arc<ImageSlice>,
    errors: Arc<Mutex<Option<String>>>,
) -> std::io::Result<()> {
    let (rd, mut wr) = conn.into_split();
    let mut rd = BufReader::new(rd);
    wr.write_u64(NBDMAGIC).await?;
    wr.write_u64(IHAVEOPT).await?;
    wr.write_u16(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES).await?;
    let client_flags = rd.read_u32().await?;
    if client_flags & u32::from(FLAG_FIXED_NEWSTYLE) == 0 {
        return Err(bad("client does not speak fixed newstyle"));
    }
    let no_zeroes = client_flags & u32::from(FLAG_NO_ZEROES) != 0;
    if !negotiate(&mut rd, &mut wr, slice.len(), no_zeroes).await? {
        return Ok(());
    }
    transmit(rd, wr, slice, errors).await
}

async fn opt_reply<W: AsyncWrite + Unpin>(
    wr: &mut W,
    opt: u32,
    kind: u32,
    data: &[u8],
) -> std::io::Result<()> {
    let mut msg = Vec::with_capacity(20 + data.len());
    msg.extend_from_slice(&OPT_REPLY_MAGIC.to_be_bytes());
    msg.extend_from_slice(&opt.to_be_bytes());
    msg.extend_from_slice(&kind.to_be_bytes());
    msg.extend_from_slice(&(data.len() as u32).to_be_bytes());
    msg.extend_from_slice(data);
    wr.write_all(&msg).await
}

fn info_export(size: u64) -> Vec<u8> {
    let mut d = INFO_EXPORT.to_be_bytes().to_vec();
    d.extend_from_slice(&size.to_be_bytes());
    d.extend_from_slice(&transmission_flags().to_be_bytes());
    d
}

fn info_block_size() -> Vec<u8> {
    let mut d = INFO_BLOCK_SIZE.to_be_bytes().to_vec();
    for v in [1u32, 4096, MAX_REQUEST] {
        d.extend_from_slice(&v.to_be_bytes());
    }
    d
}

fn transmission_flags() -> u16 {
    TFLAG_HAS_FLAGS | TFLAG_READ_ONLY | TFLAG_SEND_FLUSH | TFLAG_CAN_MULTI_CONN
}

/// Runs the option phase; `Ok(true)` means transmission follows.
async fn negotiate<R, W>(
    rd: &mut R,
    wr: &mut W,
    size: u64,
    no_zeroes: bool,
) -> std::io::Result<bool>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    loop {
        if rd.read_u64().await? != IHAVEOPT {
            return Err(bad("bad option magic"));
        }
        let opt = rd.read_u32().await?;
        let len = rd.read_u32().await?;
        if len > MAX_OPTION {
            return Err(bad("option too long"));
        }
        let mut data = vec![0; len as usize];
        rd.read_exact(&mut data).await?;
        match opt {
            OPT_EXPORT_NAME => {
                wr.write_u64(size).await?;
                wr.write_u16(transmission_flags()).await?;
                if !no_zeroes {
                    wr.write_all(&[0; 124]).await?;
                }
                return Ok(true);
            }
            OPT_ABORT => {
                opt_reply(wr, opt, REP_ACK, &[]).await?;
                return Ok(false);
            }
            OPT_LIST => {
                let mut d = (EXPORT_NAME.len() as u32).to_be_bytes().to_vec();
                d.extend_from_slice(EXPORT_NAME.as_bytes());
                opt_reply(wr, opt, REP_SERVER, &d).await?;
                opt_reply(wr, opt, REP_ACK, &[]).await?;
            }
            OPT_INFO | OPT_GO => {
                if !go_request_valid(&data) {
                    opt_reply(wr, opt, REP_ERR_INVALID, &[]).await?;
                    continue;
                }
                opt_reply(wr, opt, REP_INFO, &info_export(size)).await?;
                opt_reply(wr, opt, REP_INFO, &info_block_size()).await?;
                opt_reply(wr, opt, REP_ACK, &[]).await?;
                if opt == OPT_GO {
                    return Ok(true);
                }
            }
            _ => opt_reply(wr, opt, REP_ERR_UNSUP, &[]).await?,
        }
    }
}

/// `NBD_OPT_GO` data: u32 name length, name, u16 count, count × u16 info requests.
fn go_request_valid(data: &[u8]) -> bool {
    let Some(name_len) = data
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    else {
        return false;
    };
    let Some(rest) = data.get(4 + name_len as usize..) else {
        return false;
    };
    let Some(n) = rest.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])) else {
        return false;
    };
    rest.len() == 2 + 2 * usize::from(n)
}

struct Reply {
    handle: u64,
    error: u32,
    data: Vec<u8>,
}

async fn transmit<R, W>(
    mut rd: R,
    mut wr: W,
    slice: Arc<ImageSlice>,
    errors: Arc<Mutex<Option<String>>>,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<Reply>(PARALLEL_READS);
    let writer = tokio::spawn(async move {
        while let Some(r) = rx.recv().await {
            let mut head = Vec::with_capacity(16 + r.data.len());
            head.extend_from_slice(&SIMPLE_REPLY_MAGIC.to_be_bytes());
            head.extend_from_slice(&r.error.to_be_bytes());
            head.extend_from_slice(&r.handle.to_be_bytes());
            head.extend_from_slice(&r.data);
            if wr.write_all(&head).await.is_err() {
                return;
            }
        }
        let _ = wr.flush().await;
    });
    let slots = Arc::new(Semaphore::new(PARALLEL_READS));
    let result = loop {
        let mut req = [0u8; 28];
        if let Err(e) = rd.read_exact(&mut req).await {
            break Err(e);
        }
        let magic = u32::from_be_bytes([req[0], req[1], req[2], req[3]]);
        let kind = u16::from_be_bytes([req[6], req[7]]);
        let handle = u64::from_be_bytes(req[8..16].try_into().unwrap_or_default());
        let offset = u64::from_be_bytes(req[16..24].try_into().unwrap_or_default());
        let len = u32::from_be_bytes([req[24], req[25], req[26], req[27]]);
        if magic != REQUEST_MAGIC {
            break Err(bad("bad request magic"));
        }
        let reply = |error| Reply {
            handle,
            error,
            data: Vec::new(),
        };
        match kind {
            CMD_READ => {
                if len > MAX_REQUEST
                    || offset
                        .checked_add(u64::from(len))
                        .is_none_or(|e| e > slice.len())
                {
                    let _ = tx.send(reply(EINVAL)).await;
                    continue;
                }
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    break Ok(());
                };
                let (slice, tx, errors) = (slice.clone(), tx.clone(), errors.clone());
                tokio::spawn(async move {
                    let r = match slice.read_at(offset, u64::from(len)).await {
                        Ok(data) => Reply {
                            handle,
                            error: 0,
                            data,
                        },
                        Err(e) => {
                            tracing::warn!("disk read at {offset}+{len} failed: {e}");
                            *errors.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                            Reply {
                                handle,
                                error: EIO,
                                data: Vec::new(),
                            }
                        }
                    };
                    let _ = tx.send(r).await;
                    drop(permit);
                });
            }
            CMD_WRITE => {
                if len > MAX_REQUEST {
                    break Err(bad("write too long"));
                }
                // Drain the payload to stay in sync, then refuse: the export is read-only.
                let mut sink = (&mut rd).take(u64::from(len));
                if tokio::io::copy(&mut sink, &mut tokio::io::sink()).await? != u64::from(len) {
                    break Err(bad("short write payload"));
                }
                let _ = tx.send(reply(EPERM)).await;
            }
            CMD_FLUSH => {
                let _ = tx.send(reply(0)).await;
            }
            CMD_DISC => break Ok(()),
            _ => {
                let _ = tx.send(reply(EINVAL)).await;
            }
        }
    };
    // Let in-flight reads finish and their replies go out before closing.
    let _ = slots.acquire_many(PARALLEL_READS as u32).await;
    drop(tx);
    let _ = writer.await;
    result
}
