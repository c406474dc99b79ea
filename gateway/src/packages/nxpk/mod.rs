//! VMNetX `.nxpk` packages: a stored zip holding `vmnetx-package.xml`, `domain.xml`,
//! `disk.img` and optionally `memory.img`.
//!
//! [`Package::open`] reads only the zip directory, the manifest and the domain XML (through
//! any [`ReadAt`]: a local file, or a remote package via the chunk cache), checks the domain
//! against VMNetX's whitelist and maps it to [`domain::MachineSettings`]. Disk and memory
//! stay where they are: [`Package::disk`] and [`Package::memory`] give their byte ranges, so
//! the QEMU engine can serve the disk straight out of the remote package
//! (`ImageSlice::new(image, disk.offset, disk.size)` → NBD) and stream the memory image
//! (`RemoteFile::stream_range`) into [`crate::codec::libvirt::unwrap`] while QEMU restores.
//! [`import_local`] is the offline path: it extracts a local package into a directory.

pub mod domain;
pub mod manifest;
pub mod zip;

use std::future::Future;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::codec::libvirt as memory;
use crate::fetch::chunk_cache::SharedError;
use crate::fetch::CachedImage;

pub use domain::MachineSettings;
pub use manifest::Manifest;

/// The zip member that describes the package (VMNetX's name).
pub const MANIFEST_NAME: &str = "vmnetx-package.xml";

/// Why a `.nxpk` could not be opened or imported.
#[derive(Debug, thiserror::Error)]
pub enum NxpkError {
    /// The zip container is malformed or lacks a member.
    #[error(transparent)]
    Zip(#[from] zip::ZipError),
    /// `vmnetx-package.xml` is malformed.
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    /// The libvirt domain XML is malformed or asks for what we do not run.
    #[error(transparent)]
    Domain(#[from] domain::DomainError),
    /// The memory image's libvirt save header is malformed.
    #[error(transparent)]
    Memory(#[from] memory::MemoryError),
    /// A member that must be text is not (its name).
    #[error("{0} is not UTF-8")]
    Encoding(String),
    /// A member is larger than we read into memory.
    #[error("{name} larger than {limit} bytes")]
    TooLarge {
        /// The member.
        name: String,
        /// The most bytes accepted.
        limit: u64,
    },
    /// A read asked for more bytes than fit in memory on this platform.
    #[error("reading the package: a range of {0} bytes is too long")]
    RangeTooLong(u64),
    // The fetch error's text is part of this one's, so it is not also a `source`.
    /// Reading a remote package's bytes failed.
    #[error("reading the package: {0}")]
    Fetch(SharedError),
    /// The blocking task that read the package panicked or was cancelled.
    #[error("reading the package: {0}")]
    Task(tokio::task::JoinError),
    /// Reading a local package failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Random access to a package's bytes.
pub trait ReadAt: Send + Sync {
    /// The package's length in bytes.
    fn size(&self) -> u64;
    /// `len` bytes at `offset`; fewer is an error.
    fn read_at(
        &self,
        offset: u64,
        len: u64,
    ) -> impl Future<Output = Result<Vec<u8>, NxpkError>> + Send;
}

/// A package file on local disk.
#[derive(Debug, Clone)]
pub struct LocalFile {
    file: Arc<std::fs::File>,
    size: u64,
    path: PathBuf,
}

impl LocalFile {
    /// Opens `path` and notes its length.
    pub fn open(path: &Path) -> std::io::Result<LocalFile> {
        let file = std::fs::File::open(path)?;
        let size = file.metadata()?.len();
        Ok(LocalFile {
            file: Arc::new(file),
            size,
            path: path.to_owned(),
        })
    }

    /// Where the file is (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl ReadAt for LocalFile {
    fn size(&self) -> u64 {
        self.size
    }

    async fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>, NxpkError> {
        use std::os::unix::fs::FileExt;
        let file = self.file.clone();
        let len = usize::try_from(len).map_err(|_| NxpkError::RangeTooLong(len))?;
        tokio::task::spawn_blocking(move || {
            let mut buf = vec![0; len];
            file.read_exact_at(&mut buf, offset).map(|_| buf)
        })
        .await
        .map_err(NxpkError::Task)?
        .map_err(NxpkError::Io)
    }
}

impl ReadAt for Arc<CachedImage> {
    fn size(&self) -> u64 {
        CachedImage::size(self)
    }

    async fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>, NxpkError> {
        CachedImage::read_at(self, offset, len)
            .await
            .map_err(NxpkError::Fetch)
    }
}

/// A member's bytes inside the package file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's name in the zip.
    pub name: String,
    /// Where its stored (uncompressed) bytes begin in the package file.
    pub offset: u64,
    /// How many bytes it has.
    pub size: u64,
}

/// An opened, validated package.
#[derive(Debug)]
pub struct Package<R> {
    source: R,
    /// The package manifest (`vmnetx-package.xml`).
    pub manifest: Manifest,
    /// The libvirt domain XML, kept as text for the import's record.
    pub domain_xml: String,
    /// The machine the domain asks for, checked.
    pub settings: MachineSettings,
    /// The disk image member.
    pub disk: Member,
    /// The memory image member, when the package has one.
    pub memory: Option<Member>,
}

async fn member<R: ReadAt>(
    src: &R,
    entries: &[zip::Entry],
    name: &str,
) -> Result<Member, NxpkError> {
    let e = zip::stored(entries, name)?;
    let header = src.read_at(e.header_offset, zip::LOCAL_HEADER_LEN).await?;
    let offset = zip::data_offset(e, &header, src.size())?;
    Ok(Member {
        name: name.to_owned(),
        offset,
        size: e.size,
    })
}

async fn small_text<R: ReadAt>(src: &R, m: &Member, limit: u64) -> Result<String, NxpkError> {
    if m.size > limit {
        return Err(NxpkError::TooLarge {
            name: m.name.clone(),
            limit,
        });
    }
    let bytes = src.read_at(m.offset, m.size).await?;
    String::from_utf8(bytes).map_err(|_| NxpkError::Encoding(m.name.clone()))
}

async fn entries<R: ReadAt>(src: &R) -> Result<Vec<zip::Entry>, NxpkError> {
    let size = src.size();
    let tail_len = size.min(zip::MAX_TAIL);
    let tail = src.read_at(size - tail_len, tail_len).await?;
    let dir = match zip::parse_tail(&tail, size)? {
        zip::Tail::Found(d) => d,
        zip::Tail::Zip64At(at) => {
            let rec = src.read_at(at, 56).await?;
            zip::parse_zip64_eocd(&rec, at)?
        }
    };
    let cd = if dir.size == 0 {
        Vec::new()
    } else {
        src.read_at(dir.offset, dir.size).await?
    };
    Ok(zip::parse_central_directory(&cd, dir.entries)?)
}

impl<R: ReadAt> Package<R> {
    /// Reads and validates the package's directory, manifest and domain.
    pub async fn open(source: R) -> Result<Package<R>, NxpkError> {
        let entries = entries(&source).await?;
        let mf = member(&source, &entries, MANIFEST_NAME).await?;
        let manifest =
            manifest::parse(&small_text(&source, &mf, manifest::MAX_MANIFEST as u64).await?)?;
        let dm = member(&source, &entries, &manifest.domain).await?;
        let domain_xml = small_text(&source, &dm, domain::MAX_XML as u64).await?;
        let settings = domain::parse(&domain_xml)?;
        let disk = member(&source, &entries, &manifest.disk).await?;
        let memory = match &manifest.memory {
            Some(name) => Some(member(&source, &entries, name).await?),
            None => None,
        };
        Ok(Package {
            source,
            manifest,
            domain_xml,
            settings,
            disk,
            memory,
        })
    }

    /// Where the package's bytes come from.
    pub fn source(&self) -> &R {
        &self.source
    }
}

/// What [`import_local`] produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Imported {
    /// The package's name (from its manifest).
    pub name: String,
    /// The machine the domain asks for.
    pub settings: MachineSettings,
    /// The disk image (format in `settings.disk.format`).
    pub disk: PathBuf,
    /// The raw QEMU migration stream, when the package had a memory image that unwrapped.
    pub memory: Option<PathBuf>,
    /// Why a memory image was dropped (the package then cold-boots).
    pub memory_rejected: Option<String>,
}

/// Copies `len` bytes at `offset` of `from` to a new file `to`.
fn copy_range(from: &Path, offset: u64, len: u64, to: &Path) -> std::io::Result<()> {
    let mut src = std::fs::File::open(from)?;
    src.seek(SeekFrom::Start(offset))?;
    let mut dst = std::io::BufWriter::new(std::fs::File::create(to)?);
    let n = std::io::copy(&mut src.take(len), &mut dst)?;
    if n != len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "package shorter than its directory says",
        ));
    }
    dst.flush()
}

/// Unwraps the memory member of a local package into `to` (raw migration stream).
pub fn unwrap_memory_local(
    package: &Path,
    m: &Member,
    to: &Path,
) -> Result<memory::SaveHeader, NxpkError> {
    let mut src = std::fs::File::open(package)?;
    src.seek(SeekFrom::Start(m.offset))?;
    let mut dst = std::io::BufWriter::new(std::fs::File::create(to)?);
    let (header, _) = memory::unwrap(src.take(m.size), &mut dst)?;
    dst.flush()?;
    Ok(header)
}

/// Imports a local `.nxpk` into `out_dir`: `disk.<format>`, `memory.raw` (if the memory
/// image unwraps; otherwise it is dropped and the reason recorded) and `machine.json`.
pub async fn import_local(package: &Path, out_dir: &Path) -> Result<Imported, NxpkError> {
    let pkg = Package::open(LocalFile::open(package)?).await?;
    std::fs::create_dir_all(out_dir)?;
    let disk = out_dir.join(format!("disk.{}", pkg.settings.disk.format));
    let (p, d, to) = (package.to_owned(), pkg.disk.clone(), disk.clone());
    tokio::task::spawn_blocking(move || copy_range(&p, d.offset, d.size, &to))
        .await
        .map_err(NxpkError::Task)??;
    let (mut memory, mut memory_rejected) = (None, None);
    if let Some(m) = pkg.memory.clone() {
        let to = out_dir.join("memory.raw");
        let (p, t) = (package.to_owned(), to.clone());
        let res = tokio::task::spawn_blocking(move || unwrap_memory_local(&p, &m, &t))
            .await
            .map_err(NxpkError::Task)?;
        match res {
            Ok(_) => memory = Some(to),
            Err(e) => {
                tracing::warn!("memory image dropped, the package will cold-boot: {e}");
                let _ = std::fs::remove_file(&to);
                memory_rejected = Some(e.to_string());
            }
        }
    }
    let imported = Imported {
        name: pkg.manifest.name.clone(),
        settings: pkg.settings.clone(),
        disk,
        memory,
        memory_rejected,
    };
    let json = serde_json::to_vec_pretty(&imported).map_err(std::io::Error::other)?;
    std::fs::write(out_dir.join("machine.json"), json)?;
    Ok(imported)
}

/// Unwraps a memory image while it streams in (e.g. from `RemoteFile::stream_range(m.offset,
/// m.size)`), writing the raw migration stream to `out` — a file, or a pipe QEMU restores
/// from. A server that drops mid-stream surfaces here as an error naming how far it got.
pub async fn unwrap_memory_stream<S, W>(
    stream: S,
    out: W,
) -> Result<(memory::SaveHeader, u64), NxpkError>
where
    S: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: Write + Send + 'static,
{
    let bridge = tokio_util::io::SyncIoBridge::new(stream);
    tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::new(out);
        let res = memory::unwrap(bridge, &mut out)?;
        out.flush()?;
        Ok(res)
    })
    .await
    .map_err(NxpkError::Task)?
}
