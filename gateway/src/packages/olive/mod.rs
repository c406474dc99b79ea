//! Olive packages: a manifest, a qcow2 disk, and optionally a memory image to resume from.
//!
//! Layout of a package directory (or URL prefix): `olive-package.json` ([`manifest`]),
//! `disk.qcow2`, `vmlinuz`/`initrd.img` for direct-kernel-boot guests, `memory.<codec>`
//! (a compressed QEMU migration stream, see [`codec`]) and `screen.ppm` (the screen at
//! the moment of saving). Files are read through [`source::Source`] so a package can
//! later live at an http(s) URL; only local packages are implemented.
//!
//! [`create`] makes packages from a running catalog item, [`validate`] checks them.

pub mod codec;
pub mod create;
pub mod import;
pub mod manifest;
pub mod source;
pub mod validate;

use std::io::Read;

use sha2::{Digest, Sha256};

use crate::catalog::{ItemMeta, Machine};
use codec::Codec;
use manifest::{FileRef, Manifest, ManifestError, Policy, MANIFEST_FILE, MAX_MANIFEST_BYTES};
use source::{Source, SourceError};

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    // The cause is part of the message (config errors show only the message), so it is
    // not also a `source` that `{:#}` would print twice.
    #[error("package {root}: {cause}")]
    Source { root: String, cause: SourceError },
    #[error("package {root}: {cause}")]
    Manifest { root: String, cause: ManifestError },
}

/// A memory image to resume from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemoryImage {
    pub source: Source,
    pub codec: Codec,
    /// The decompressed length; loading never feeds QEMU more than this.
    pub uncompressed_size: u64,
    /// SHA-256 of the compressed file, checked while loading (before the guest runs).
    pub sha256: Option<String>,
    /// A VMNetX memory image: a libvirt save header and xz/lzop around the stream, unwrapped
    /// while it streams ([`crate::packages::nxpk::memory::unwrap`]); `codec` is then ignored and
    /// `uncompressed_size` is the wrapped size (progress counts wrapped bytes).
    pub libvirt: bool,
}

/// An opened package whose manifest passed schema and policy checks (file contents are
/// only checked by [`validate`]).
#[derive(Clone, Debug)]
pub struct Package {
    pub root: Source,
    pub manifest: Manifest,
}

impl Package {
    pub fn open(root: Source, policy: Policy) -> Result<Package, PackageError> {
        let r = root.to_string();
        let bytes = root
            .join(MANIFEST_FILE)
            .read_small(MAX_MANIFEST_BYTES)
            .map_err(|cause| PackageError::Source {
                root: r.clone(),
                cause,
            })?;
        let manifest = Manifest::parse(&bytes)
            .and_then(|m| m.check_policy(policy).map(|()| m))
            .map_err(|cause| PackageError::Manifest { root: r, cause })?;
        Ok(Package { root, manifest })
    }

    pub fn file(&self, f: &FileRef) -> Source {
        self.root.join(&f.path)
    }

    fn local(&self, f: &FileRef) -> Result<std::path::PathBuf, PackageError> {
        self.file(f)
            .local_path()
            .map(std::path::Path::to_path_buf)
            .map_err(|cause| PackageError::Source {
                root: self.root.to_string(),
                cause,
            })
    }

    /// The machine to launch: the package's files and settings, nothing else, so the
    /// command line is the one the memory image was saved under.
    pub fn machine(&self) -> Result<Machine, PackageError> {
        let m = &self.manifest;
        let spec = &m.machine;
        Ok(Machine {
            disk: self.local(&m.disk)?,
            standalone_disk: true,
            memory_image: m.memory.as_ref().map(|mem| MemoryImage {
                source: self.file(&mem.file),
                codec: mem.codec,
                uncompressed_size: mem.uncompressed_size,
                sha256: Some(mem.file.sha256.clone()),
                libvirt: false,
            }),
            memory_mb: spec.memory_mb,
            vcpus: spec.vcpus,
            machine_type: Some(spec.machine_type.clone()),
            display: spec.display,
            sound: spec.sound.clone(),
            limit_mouse_rate: spec.limit_mouse_rate,
            kernel: m.kernel.as_ref().map(|k| self.local(k)).transpose()?,
            initrd: m.initrd.as_ref().map(|i| self.local(i)).transpose()?,
            append: spec.append.clone(),
            network: spec.network,
            tablet: spec.tablet,
            remote: None,
        })
    }

    /// The public description from the package's metadata.
    pub fn meta(&self) -> ItemMeta {
        let md = &self.manifest.metadata;
        ItemMeta {
            title: if md.title.is_empty() {
                self.manifest.name.clone()
            } else {
                md.title.clone()
            },
            creator: md.creator.clone(),
            year: md.year,
            description: md.description.clone(),
            rights: md.rights.clone(),
            thumbnail: None,
        }
    }
}

/// SHA-256 (lowercase hex) and length of everything `r` yields.
pub fn sha256_of(mut r: impl Read) -> std::io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        len += n as u64;
    }
    Ok((hex(&h.finalize()), len))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
