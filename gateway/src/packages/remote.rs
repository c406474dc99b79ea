//! Packages at http(s) URLs, resolved when an instance launches.
//!
//! Nothing is downloaded ahead: for an Olive package the manifest is one small GET, the disk
//! is served to QEMU from the shared chunk cache through an NBD export in the instance
//! directory (the overlay's backing), the memory image streams in one request through the
//! decompressor into `migrate-incoming`, and the (small) kernel and initrd are fetched whole
//! into the instance directory. A VMNetX `.nxpk` is opened through the chunk cache, its
//! `disk.img` member exported the same way and its `memory.img` member streamed through the
//! libvirt unwrapper.
//!
//! The disk's SHA-256 in an Olive manifest is not checked for remote disks: that would need
//! the whole disk, which is what demand fetching avoids. The disk is still required to be a
//! standalone qcow2 (checked over NBD at launch), and the memory image and kernel/initrd are
//! verified as they arrive.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::nxpk::{self, MachineSettings, NxpkError};
use super::olive::manifest::{FileRef, Manifest, ManifestError, MANIFEST_FILE, MAX_MANIFEST_BYTES};
use super::olive::source::{RemoteRange, Source};
use crate::fetch::chunk_cache::SharedError;
use crate::fetch::{ChunkCache, FetchError, FetchOptions, ImageSlice, NbdExport, RemoteFile};
use crate::model::{
    Disk, DiskFormat, Hardware, ImageBytes, ImageFormat, ItemMeta, KernelBoot, Kind, Machine,
    Media, MemoryImage, Policy, PolicyViolation, RemoteRef,
};
use crate::qemu::InstancePaths;

/// Largest kernel, initrd, floppy or CD-ROM image fetched whole.
const MAX_BOOT_FILE: u64 = 128 << 20;

/// Why a remote package could not be prepared. The text is shown to the visitor
/// (`startup-failed`), so it names the URL.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The package's server could not be reached or answered wrongly.
    #[error("fetching the package: {0}")]
    Fetch(#[from] FetchError),
    /// Another launch's fetch of the same file failed (the error is shared).
    #[error("fetching the package: {0}")]
    Cached(SharedError),
    /// The Olive manifest is refused.
    #[error("fetching the package: {url}: {cause}")]
    Manifest {
        /// The package URL.
        url: String,
        /// What is wrong with the manifest.
        cause: ManifestError,
    },
    /// The `.nxpk` is refused.
    #[error("fetching the package: {url}: {cause}")]
    Nxpk {
        /// The package URL.
        url: String,
        /// What is wrong with it.
        cause: NxpkError,
    },
    /// The VMNetX domain does not map onto a machine we run.
    #[error("fetching the package: {url}: {cause}")]
    Machine {
        /// The package URL.
        url: String,
        /// Why not.
        cause: MachineError,
    },
    /// A file is larger than we accept.
    #[error("fetching the package: {url}: {size} bytes, more than the {limit} allowed")]
    TooLarge {
        /// The file's URL.
        url: String,
        /// Its length.
        size: u64,
        /// The most accepted.
        limit: u64,
    },
    /// The server's file differs in size or digest from what the manifest says.
    #[error("fetching the package: {url}: size or SHA-256 does not match the manifest")]
    Mismatch {
        /// The file's URL.
        url: String,
    },
    /// The manifest places the disk beyond the end of the package file.
    #[error("fetching the package: {url}: disk member outside the file")]
    DiskOutside {
        /// The package URL.
        url: String,
    },
    /// A local file (the chunk cache, the NBD socket) could not be made.
    #[error("{what} {path}: {source}")]
    Io {
        /// Which step.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// Why a VMNetX domain does not map onto a machine we run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MachineError {
    /// The machine breaks the limits.
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    /// The domain asks for more MiB of memory than a machine can have.
    #[error("{0} MiB of memory is over the limit")]
    Memory(u64),
    /// Not `i686` or `x86_64`.
    #[error("architecture {0:?} is not supported")]
    Arch(String),
    /// The disk is not `raw` or `qcow2`.
    #[error("disk format {0:?} is not supported")]
    DiskFormat(String),
}

/// A remote package ready to launch: the concrete machine (disk = the NBD export) and the
/// export QEMU reads it from, which must live as long as QEMU does.
pub struct Prepared {
    /// The machine, its disk the NBD export.
    pub machine: Machine,
    /// The NBD server QEMU reads the disk from; dropping it stops the export.
    pub export: NbdExport,
}

/// The manifest of the Olive package at `root`, checked against `policy`.
pub async fn olive_manifest(
    root: &str,
    opts: &FetchOptions,
    policy: Policy,
) -> Result<Manifest, RemoteError> {
    let url = Source::Remote(root.to_owned())
        .join(MANIFEST_FILE)
        .to_string();
    let bytes = fetch_small(&url, opts, MAX_MANIFEST_BYTES).await?;
    Manifest::parse(&bytes)
        .and_then(|m| m.check_policy(policy).map(|()| m))
        .map_err(|cause| RemoteError::Manifest { url, cause })
}

/// The whole of a small remote file, refusing anything over `limit` before reading it.
async fn fetch_small(url: &str, opts: &FetchOptions, limit: u64) -> Result<Vec<u8>, RemoteError> {
    let f = RemoteFile::open(url, opts.clone()).await?;
    if f.size() > limit {
        return Err(RemoteError::TooLarge {
            url: url.to_owned(),
            size: f.size(),
            limit,
        });
    }
    if f.size() == 0 {
        return Ok(Vec::new());
    }
    Ok(f.read_range(0, f.size()).await?.to_vec())
}

async fn open_nxpk(
    r: &RemoteRef,
    cache: &Arc<ChunkCache>,
    opts: &FetchOptions,
) -> Result<nxpk::Package<Arc<crate::fetch::CachedImage>>, RemoteError> {
    let img = cache.image(&r.url, opts.clone()).await?;
    nxpk::Package::open(img)
        .await
        .map_err(|cause| RemoteError::Nxpk {
            url: r.url.clone(),
            cause,
        })
}

/// Public metadata of a remote package (for `/launch`): the manifest's for an Olive package,
/// the package name for a `.nxpk`.
pub async fn meta(
    r: &RemoteRef,
    cache: &Arc<ChunkCache>,
    opts: &FetchOptions,
    policy: Policy,
) -> Result<ItemMeta, RemoteError> {
    match r.kind {
        Kind::Olive => Ok(olive_manifest(&r.url, opts, policy).await?.meta()),
        Kind::Nxpk => {
            let pkg = open_nxpk(r, cache, opts).await?;
            Ok(ItemMeta::titled(pkg.manifest.name))
        }
    }
}

/// Fetches what `r` needs before QEMU starts and exports its disk in the instance
/// directory.
pub async fn prepare(
    r: &RemoteRef,
    cache: &Arc<ChunkCache>,
    opts: &FetchOptions,
    policy: Policy,
    paths: &InstancePaths,
) -> Result<Prepared, RemoteError> {
    let socket = &paths.nbd_socket;
    let _ = std::fs::remove_file(socket);
    let (machine, slice) = match r.kind {
        Kind::Olive => prepare_olive(r, cache, opts, policy, paths).await?,
        Kind::Nxpk => prepare_nxpk(r, cache, opts, policy, paths).await?,
    };
    let export = NbdExport::serve(socket, slice).map_err(|source| RemoteError::Io {
        what: "serve",
        path: socket.clone(),
        source,
    })?;
    Ok(Prepared { machine, export })
}

/// The disk of a prepared remote package: the export at `socket`, in `format`.
fn exported(socket: &Path, format: DiskFormat) -> Disk {
    Disk::Export {
        uri: NbdExport::qemu_uri(socket),
        format,
    }
}

async fn prepare_olive(
    r: &RemoteRef,
    cache: &Arc<ChunkCache>,
    opts: &FetchOptions,
    policy: Policy,
    paths: &InstancePaths,
) -> Result<(Machine, ImageSlice), RemoteError> {
    let m = olive_manifest(&r.url, opts, policy).await?;
    let root = Source::Remote(r.url.clone());
    let url_of = |f: &FileRef| root.join(&f.path).to_string();
    // Deliberately not checked: the disk's SHA-256 (see the module comment).
    let disk = cache.image(&url_of(&m.disk), opts.clone()).await?;
    let memory_image = match &m.memory {
        None => None,
        Some(mem) => {
            let file = RemoteFile::open(&url_of(&mem.file), opts.clone()).await?;
            let len = file.size();
            let range = RemoteRange {
                file: Arc::new(file),
                offset: 0,
                len,
            };
            Some(super::olive::memory_image(
                mem,
                ImageBytes::Stream(Arc::new(range)),
            ))
        }
    };
    let boot = match &m.kernel {
        None => None,
        Some(k) => {
            let kernel = paths.dir.join("vmlinuz");
            fetch_verified(&url_of(k), k, opts, &kernel).await?;
            let initrd = match &m.initrd {
                None => None,
                Some(i) => {
                    let to = paths.dir.join("initrd.img");
                    fetch_verified(&url_of(i), i, opts, &to).await?;
                    Some(to)
                }
            };
            Some(KernelBoot {
                kernel,
                initrd,
                append: m.machine.append.clone(),
            })
        }
    };
    // Removable media are fetched whole like the kernel (a floppy is 1.44 MB; a CD-ROM
    // image past the same limit is refused rather than read on demand).
    let mut media = Media::default();
    for (f, slot, name) in [
        (&m.floppy, &mut media.floppy, "floppy.img"),
        (&m.cdrom, &mut media.cdrom, "cdrom.iso"),
    ] {
        if let Some(f) = f {
            let to = paths.dir.join(name);
            fetch_verified(&url_of(f), f, opts, &to).await?;
            *slot = Some(to);
        }
    }
    let machine = Machine::new(
        m.machine.hardware(),
        exported(&paths.nbd_socket, DiskFormat::Qcow2),
    )
    .with_media(media)
    .with_boot(boot)
    .with_memory_image(memory_image);
    Ok((machine, ImageSlice::whole(disk)))
}

/// Fetches a kernel or initrd whole into `to`, checking size and SHA-256 against `f`.
async fn fetch_verified(
    url: &str,
    f: &FileRef,
    opts: &FetchOptions,
    to: &Path,
) -> Result<(), RemoteError> {
    let bytes = fetch_small(url, opts, MAX_BOOT_FILE.min(f.size)).await?;
    let got = data_encoding::HEXLOWER.encode(&Sha256::digest(&bytes));
    if bytes.len() as u64 != f.size || got != f.sha256 {
        return Err(RemoteError::Mismatch {
            url: url.to_owned(),
        });
    }
    std::fs::write(to, bytes).map_err(|source| RemoteError::Io {
        what: "write",
        path: to.to_path_buf(),
        source,
    })
}

async fn prepare_nxpk(
    r: &RemoteRef,
    cache: &Arc<ChunkCache>,
    opts: &FetchOptions,
    policy: Policy,
    paths: &InstancePaths,
) -> Result<(Machine, ImageSlice), RemoteError> {
    let pkg = open_nxpk(r, cache, opts).await?;
    let img = pkg.source().clone();
    let s = &pkg.settings;
    let (hardware, format) = nxpk_hardware(s, policy).map_err(|cause| RemoteError::Machine {
        url: r.url.clone(),
        cause,
    })?;
    let memory_image = pkg.memory.as_ref().map(|m| MemoryImage {
        bytes: ImageBytes::Stream(Arc::new(RemoteRange {
            file: img.remote().clone(),
            offset: m.offset,
            len: m.size,
        })),
        format: ImageFormat::Libvirt {
            wrapped_size: m.size,
        },
        // VMNetX packages carry no checksums; QEMU validates the stream's structure.
        sha256: None,
    });
    let slice = ImageSlice::new(img, pkg.disk.offset, pkg.disk.size)
        .ok_or_else(|| RemoteError::DiskOutside { url: r.url.clone() })?;
    let disk = exported(&paths.nbd_socket, format);
    Ok((
        Machine::new(hardware, disk).with_memory_image(memory_image),
        slice,
    ))
}

/// Our machine for a whitelisted VMNetX domain, held to the configured limits, and the
/// declared format of its disk.
pub fn nxpk_hardware(
    s: &MachineSettings,
    policy: Policy,
) -> Result<(Hardware, DiskFormat), MachineError> {
    let memory_mb = u32::try_from(s.memory_mb).map_err(|_| MachineError::Memory(s.memory_mb))?;
    if s.arch != "x86_64" && s.arch != "i686" {
        return Err(MachineError::Arch(s.arch.clone()));
    }
    let format = DiskFormat::from_name(&s.disk.format)
        .ok_or_else(|| MachineError::DiskFormat(s.disk.format.clone()))?;
    if s.disk.bus != "ide" {
        // The launcher attaches the disk as IDE only; a migration stream for another bus
        // would not load, and the guest might not boot from IDE.
        tracing::warn!(bus = %s.disk.bus, "nxpk disk bus is not IDE; attaching it as IDE");
    }
    let hardware = s.hardware(memory_mb);
    policy.check(&hardware)?;
    Ok((hardware, format))
}
