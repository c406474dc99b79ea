//! `olive-gateway package validate`: everything that can be checked without running the
//! package — manifest schema, machine policy, every file's size and SHA-256, the memory
//! image decompressing to exactly its declared size, and the disk being a qcow2 without a
//! backing file.

use std::io::Read;
use std::path::Path;

use super::manifest::{FileRef, Policy};
use super::source::{Source, SourceError};
use super::{sha256_of, Package, PackageError};
use crate::model::Codec;
use crate::qemu::img::{self, ImgError};

/// What is wrong with one file of a package.
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    /// The file could not be opened.
    #[error(transparent)]
    Open(#[from] SourceError),
    /// Reading it failed part way.
    #[error("{0}")]
    Read(std::io::Error),
    /// Its length differs from the manifest's.
    #[error("size {len}, manifest says {want}")]
    Size {
        /// The length found.
        len: u64,
        /// The manifest's `size`.
        want: u64,
    },
    /// Its digest differs from the manifest's.
    #[error("SHA-256 does not match the manifest")]
    Digest,
    /// The memory image is not a valid stream of its codec.
    #[error("{} stream: {source}", codec.name())]
    Stream {
        /// The codec the manifest names.
        codec: Codec,
        /// The decoder's error.
        source: std::io::Error,
    },
    /// The memory image decompresses to another length than the manifest's.
    #[error("decompresses to {len} bytes, manifest says {want}")]
    Decompressed {
        /// The length found.
        len: u64,
        /// The manifest's `uncompressed_size`.
        want: u64,
    },
    /// `qemu-img` refused the disk (not a standalone qcow2).
    #[error(transparent)]
    Disk(#[from] ImgError),
}

/// Why `package validate` refused a package.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The manifest could not be read or is refused.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// One file is wrong.
    #[error("{field} ({path}): {problem}")]
    File {
        /// The manifest field naming it (`disk`, `memory`, ...).
        field: &'static str,
        /// Its path in the package.
        path: String,
        /// What is wrong.
        problem: FileProblem,
    },
}

fn file_err<'a>(field: &'static str, f: &'a FileRef) -> impl Fn(FileProblem) -> ValidateError + 'a {
    move |problem| ValidateError::File {
        field,
        path: f.path.clone(),
        problem,
    }
}

/// One line per check that passed, for the operator.
pub type Report = Vec<String>;

/// Runs every check on the package at `root`; blocking (hashes whole files).
pub fn validate(root: Source, policy: Policy, qemu_img: &Path) -> Result<Report, ValidateError> {
    let pkg = Package::open(root, policy)?;
    let m = &pkg.manifest;
    let mut report = vec![format!(
        "manifest: {} ({} MiB, {} vCPU, {})",
        m.name, m.machine.memory_mb, m.machine.vcpus, m.machine.machine_type
    )];
    for (field, f) in m.files() {
        let err = file_err(field, f);
        let reader = pkg.file(f).open().map_err(|e| err(e.into()))?;
        let (digest, len) = sha256_of(reader).map_err(|e| err(FileProblem::Read(e)))?;
        if len != f.size {
            return Err(err(FileProblem::Size { len, want: f.size }));
        }
        if digest != f.sha256 {
            return Err(err(FileProblem::Digest));
        }
        report.push(format!("{field}: {} ({len} bytes) sha256 ok", f.path));
    }
    if let Some(mem) = &m.memory {
        let err = file_err("memory", &mem.file);
        let want = mem.uncompressed_size;
        let raw = pkg.file(&mem.file).open().map_err(|e| err(e.into()))?;
        let stream = |source| FileProblem::Stream {
            codec: mem.codec,
            source,
        };
        let len = mem
            .codec
            .decoder(raw)
            .and_then(|d| std::io::copy(&mut d.take(want + 1), &mut std::io::sink()))
            .map_err(|e| err(stream(e)))?;
        if len != want {
            return Err(err(FileProblem::Decompressed { len, want }));
        }
        report.push(format!(
            "memory: {} decompresses to {len} bytes",
            mem.codec.name()
        ));
    }
    let err = file_err("disk", &m.disk);
    let disk = pkg.file(&m.disk);
    let disk = disk.local_path().map_err(|e| err(e.into()))?;
    img::check_standalone_blocking(qemu_img, disk).map_err(|e| err(e.into()))?;
    report.push("disk: qcow2 without backing file".into());
    Ok(report)
}
