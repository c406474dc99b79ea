//! Olive packages: a manifest, a qcow2 disk, and optionally a memory image to resume from.
//!
//! Layout of a package directory (or URL prefix): `olive-package.json` ([`manifest`]),
//! `disk.qcow2`, `vmlinuz`/`initrd.img` for direct-kernel-boot guests, `memory.<codec>`
//! (a compressed QEMU migration stream, see [`crate::codec`]) and `screen.ppm` (the screen
//! at the moment of saving). Files are read through [`source::Source`]; packages at a URL
//! are resolved at launch by [`crate::packages::remote`].
//!
//! [`create`] makes packages from a running catalog item, [`import`] from a VMNetX
//! `.nxpk`, [`validate`] checks them.

pub mod create;
pub mod import;
pub mod manifest;
pub mod screen;
pub mod source;
pub mod validate;

use std::io::Read;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::model::{
    Disk, ImageBytes, ImageFormat, ItemMeta, KernelBoot, Machine, Media, MemoryImage, Policy,
};
use manifest::{FileRef, Manifest, ManifestError, MemoryRef, MANIFEST_FILE, MAX_MANIFEST_BYTES};
use source::{Source, SourceError};

/// Why an Olive package could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    // The cause is part of the message (config errors show only the message), so it is
    // not also a `source` that `{:#}` would print twice.
    /// A file of the package could not be read.
    #[error("package {root}: {cause}")]
    Source {
        /// The package's directory or URL.
        root: String,
        /// Why the read failed.
        cause: SourceError,
    },
    /// The manifest is malformed or asks for more than the limits allow.
    #[error("package {root}: {cause}")]
    Manifest {
        /// The package's directory or URL.
        root: String,
        /// What is wrong with it.
        cause: ManifestError,
    },
}

/// An opened package whose manifest passed the schema and policy checks.
#[derive(Clone, Debug)]
pub struct Package {
    /// Where the package's files are: a directory or a URL.
    pub root: Source,
    /// Its manifest, checked against the schema and the policy.
    pub manifest: Manifest,
}

impl Package {
    /// Reads and checks the manifest under `root`; files are opened later, when used.
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

    /// Where the file `f` of the manifest is, under the package root.
    pub fn file(&self, f: &FileRef) -> Source {
        self.root.join(&f.path)
    }

    fn local(&self, f: &FileRef) -> Result<PathBuf, PackageError> {
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
        let boot = match &m.kernel {
            Some(k) => Some(KernelBoot {
                kernel: self.local(k)?,
                initrd: m.initrd.as_ref().map(|i| self.local(i)).transpose()?,
                append: m.machine.append.clone(),
            }),
            None => None,
        };
        let memory = m.memory.as_ref().map(|mem| {
            Ok::<_, PackageError>(memory_image(mem, ImageBytes::File(self.local(&mem.file)?)))
        });
        let media = Media {
            floppy: m.floppy.as_ref().map(|f| self.local(f)).transpose()?,
            cdrom: m.cdrom.as_ref().map(|c| self.local(c)).transpose()?,
        };
        Ok(
            Machine::new(m.machine.hardware(), Disk::Package(self.local(&m.disk)?))
                .with_media(media)
                .with_boot(boot)
                .with_memory_image(memory.transpose()?),
        )
    }

    /// The public description from the package's metadata.
    pub fn meta(&self) -> ItemMeta {
        self.manifest.meta()
    }
}

/// The memory image a manifest describes, its bytes at `bytes`.
pub fn memory_image(mem: &MemoryRef, bytes: ImageBytes) -> MemoryImage {
    MemoryImage {
        bytes,
        format: ImageFormat::Olive {
            codec: mem.codec,
            uncompressed_size: mem.uncompressed_size,
        },
        sha256: Some(mem.file.sha256.clone()),
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
    Ok((data_encoding::HEXLOWER.encode(&h.finalize()), len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BootOrder, Hardware};
    use manifest::{MachineSpec, Metadata, FORMAT};

    #[test]
    fn a_package_machine_carries_its_media() {
        let dir = std::env::temp_dir().join(format!("olive-pkg-media-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = |p: &str| FileRef {
            path: p.into(),
            size: 1,
            sha256: "0".repeat(64),
        };
        let mut hw = Hardware::new(64, 1);
        hw.boot_order = Some(BootOrder::parse("a").unwrap());
        let m = Manifest {
            format: FORMAT.into(),
            name: "DOS".into(),
            metadata: Metadata {
                title: "DOS".into(),
                ..Metadata::default()
            },
            machine: MachineSpec::new(&hw, "pc-i440fx-7.2".into(), None),
            qemu_version: String::new(),
            disk: f("disk.qcow2"),
            kernel: None,
            initrd: None,
            floppy: Some(f("floppy.img")),
            cdrom: None,
            memory: None,
            screenshot: None,
        };
        std::fs::write(dir.join(MANIFEST_FILE), m.to_json()).unwrap();
        let pkg = Package::open(Source::Local(dir.clone()), Policy::default());
        let _ = std::fs::remove_dir_all(&dir);
        let machine = pkg.unwrap().machine().unwrap();
        assert_eq!(machine.media.floppy, Some(dir.join("floppy.img")));
        assert_eq!(machine.media.cdrom, None);
        assert_eq!(machine.hardware.boot_order, hw.boot_order);
    }
}
