//! The package manifest (`olive-package.json`): name, machine settings, metadata and the
//! size and SHA-256 of every file.
//!
//! A package is untrusted input, so parsing is strict (unknown fields are errors, file
//! names are plain names inside the package) and [`Manifest::check_policy`] holds the
//! machine to the same limits as a hand-written catalog item. The machine settings are
//! everything that shapes QEMU's command line, because a migration stream only loads into
//! an identical machine.

use serde::{Deserialize, Serialize};

use crate::model::policy::{check_append, check_file_name, BadFileName, PolicyViolation};
use crate::model::{Codec, Display, Hardware, ItemMeta, SoundDevice};

/// The limits [`Manifest::check_policy`] applies.
pub use crate::model::Policy;

/// The manifest's file name inside a package.
pub const MANIFEST_FILE: &str = "olive-package.json";
/// The only format this gateway reads.
pub const FORMAT: &str = "olive-package/1";
/// Manifests are a few KiB; anything bigger is not one.
pub const MAX_MANIFEST_BYTES: u64 = 64 * 1024;
/// Device state rides along with RAM in a migration stream (VGA/QXL video memory is
/// the bulk of it); a declared size beyond RAM plus this is not a plausible stream.
pub const MAX_DEVICE_STATE_BYTES: u64 = 512 << 20;

/// What is wrong with one field of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error(transparent)]
    FileName(#[from] BadFileName),
    #[error("sha256 must be 64 lowercase hex digits")]
    Digest,
    #[error("needs a kernel")]
    NeedsKernel,
    #[error("must be 1–200 characters")]
    NameLength,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is not valid: {0}")]
    Schema(serde_json::Error),
    #[error("manifest format {0:?} is not {FORMAT:?}")]
    Format(String),
    #[error("{field}: {problem}")]
    Invalid {
        field: &'static str,
        problem: Problem,
    },
    #[error("machine.{0}")]
    Policy(PolicyViolation),
    #[error(
        "memory.uncompressed_size: {size} bytes is outside 1..={limit} for {memory_mb} MiB of RAM"
    )]
    MemorySize {
        size: u64,
        limit: u64,
        memory_mb: u32,
    },
}

/// One file of the package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    /// A plain file name inside the package (no directories).
    pub path: String,
    pub size: u64,
    /// Lowercase hex SHA-256 of the file as stored.
    pub sha256: String,
}

/// The memory image: a QEMU migration stream, compressed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryRef {
    #[serde(flatten)]
    pub file: FileRef,
    pub codec: Codec,
    /// Length of the decompressed stream: the denominator of `startup-progress`.
    pub uncompressed_size: u64,
}

/// What shapes QEMU's command line (see `crate::qemu::args`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineSpec {
    /// The concrete machine type (e.g. `pc-i440fx-7.2`, never an alias that a newer QEMU
    /// could point elsewhere).
    pub machine_type: String,
    pub memory_mb: u32,
    pub vcpus: u32,
    pub display: Display,
    pub sound: Option<SoundDevice>,
    pub tablet: bool,
    pub network: bool,
    pub limit_mouse_rate: Option<u32>,
    /// Kernel command line for direct kernel boot.
    pub append: Option<String>,
}

/// Public description, shown in the collection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub title: String,
    pub creator: Option<String>,
    pub year: Option<u32>,
    pub description: Option<String>,
    pub rights: Option<String>,
}

impl Metadata {
    /// What a package saved from an item with `meta` records.
    pub fn from_meta(meta: &ItemMeta) -> Metadata {
        Metadata {
            title: meta.title.clone(),
            creator: meta.creator.clone(),
            year: meta.year,
            description: meta.description.clone(),
            rights: meta.rights.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    /// The package's friendly name (VMNetX's `name`, sent in `auth-ok`).
    pub name: String,
    pub metadata: Metadata,
    pub machine: MachineSpec,
    /// `qemu-system-x86_64 --version`'s first line at save time, for diagnosis: a memory
    /// image saved by another QEMU may be rejected (and then cold-boots).
    pub qemu_version: String,
    /// The qcow2 disk (no backing file).
    pub disk: FileRef,
    /// Kernel and initrd for direct kernel boot; included because a resumed guest needs
    /// the very kernel it was saved with.
    pub kernel: Option<FileRef>,
    pub initrd: Option<FileRef>,
    pub memory: Option<MemoryRef>,
    /// A PPM screendump taken at the moment of saving.
    pub screenshot: Option<FileRef>,
}

impl MachineSpec {
    /// The spec of `hw`, saved on the concrete `machine_type` with the kernel command line
    /// `append`.
    pub fn new(hw: &Hardware, machine_type: String, append: Option<String>) -> MachineSpec {
        MachineSpec {
            machine_type,
            memory_mb: hw.memory_mb,
            vcpus: hw.vcpus,
            display: hw.display,
            sound: hw.sound,
            tablet: hw.tablet,
            network: hw.network,
            limit_mouse_rate: hw.limit_mouse_rate,
            append,
        }
    }

    /// The hardware to launch (the kernel command line goes with the boot files).
    pub fn hardware(&self) -> Hardware {
        Hardware {
            memory_mb: self.memory_mb,
            vcpus: self.vcpus,
            machine_type: Some(self.machine_type.clone()),
            display: self.display,
            sound: self.sound,
            limit_mouse_rate: self.limit_mouse_rate,
            network: self.network,
            tablet: self.tablet,
        }
    }
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Manifest {
    /// Parses and checks the schema (format, file names, digests, consistency).
    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(ManifestError::Schema)?;
        if m.format != FORMAT {
            return Err(ManifestError::Format(m.format.chars().take(64).collect()));
        }
        let invalid = |field, problem| ManifestError::Invalid { field, problem };
        for (field, f) in m.files() {
            check_file_name(&f.path).map_err(|e| invalid(field, e.into()))?;
            if !is_sha256_hex(&f.sha256) {
                return Err(invalid(field, Problem::Digest));
            }
        }
        if m.initrd.is_some() && m.kernel.is_none() {
            return Err(invalid("initrd", Problem::NeedsKernel));
        }
        if m.machine.append.is_some() && m.kernel.is_none() {
            return Err(invalid("machine.append", Problem::NeedsKernel));
        }
        if m.name.is_empty() || m.name.len() > 200 || m.metadata.title.len() > 200 {
            return Err(invalid("name", Problem::NameLength));
        }
        Ok(m)
    }

    /// Every file with the field that names it.
    pub fn files(&self) -> Vec<(&'static str, &FileRef)> {
        let mut v = vec![("disk", &self.disk)];
        if let Some(k) = &self.kernel {
            v.push(("kernel", k));
        }
        if let Some(i) = &self.initrd {
            v.push(("initrd", i));
        }
        if let Some(m) = &self.memory {
            v.push(("memory", &m.file));
        }
        if let Some(s) = &self.screenshot {
            v.push(("screenshot", s));
        }
        v
    }

    /// Holds the machine to the gateway's limits (the same ones as a configured item).
    pub fn check_policy(&self, p: Policy) -> Result<(), ManifestError> {
        let m = &self.machine;
        p.check(&m.hardware()).map_err(ManifestError::Policy)?;
        if let Some(a) = &m.append {
            check_append(a).map_err(ManifestError::Policy)?;
        }
        if let Some(mem) = &self.memory {
            let limit = u64::from(m.memory_mb) * (1 << 20) + MAX_DEVICE_STATE_BYTES;
            if mem.uncompressed_size == 0 || mem.uncompressed_size > limit {
                return Err(ManifestError::MemorySize {
                    size: mem.uncompressed_size,
                    limit,
                    memory_mb: m.memory_mb,
                });
            }
        }
        Ok(())
    }

    /// The public description of the package (its name when it has no title).
    pub fn meta(&self) -> ItemMeta {
        let md = &self.metadata;
        ItemMeta {
            title: if md.title.is_empty() {
                self.name.clone()
            } else {
                md.title.clone()
            },
            creator: md.creator.clone(),
            year: md.year,
            description: md.description.clone(),
            rights: md.rights.clone(),
            thumbnail: None,
            group: None,
        }
    }

    /// Pretty JSON, as written by `package create`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> FileRef {
        FileRef {
            path: path.into(),
            size: 1,
            sha256: "0".repeat(64),
        }
    }

    fn manifest() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            name: "Guest".into(),
            metadata: Metadata {
                title: "Guest".into(),
                ..Metadata::default()
            },
            machine: MachineSpec {
                machine_type: "pc-i440fx-7.2".into(),
                memory_mb: 256,
                vcpus: 1,
                display: Display::Std,
                sound: None,
                tablet: false,
                network: false,
                limit_mouse_rate: None,
                append: Some("quiet".into()),
            },
            qemu_version: "QEMU emulator version 7.2".into(),
            disk: file("disk.qcow2"),
            kernel: Some(file("vmlinuz")),
            initrd: None,
            memory: Some(MemoryRef {
                file: file("memory.lz4"),
                codec: Codec::Lz4,
                uncompressed_size: 10 << 20,
            }),
            screenshot: None,
        }
    }

    const POLICY: Policy = Policy {
        max_memory_mb: 1024,
        max_vcpus: 2,
    };

    #[test]
    fn round_trip_and_policy() {
        let m = manifest();
        let back = Manifest::parse(m.to_json().as_bytes()).unwrap();
        assert_eq!(back, m);
        back.check_policy(POLICY).unwrap();
        let json = m.to_json();
        assert!(json.contains("\"codec\": \"lz4\""), "{json}");
    }

    #[test]
    fn hostile_manifests_are_refused() {
        let mut m = manifest();
        m.disk.path = "../../etc/passwd".into();
        let e = Manifest::parse(m.to_json().as_bytes()).unwrap_err();
        assert!(e.to_string().contains("plain file name"), "{e}");

        let mut m = manifest();
        m.memory.as_mut().unwrap().file.sha256 = "XYZ".into();
        assert!(Manifest::parse(m.to_json().as_bytes()).is_err());

        let json = manifest().to_json().replace("\"name\"", "\"nmae\"");
        assert!(matches!(
            Manifest::parse(json.as_bytes()),
            Err(ManifestError::Schema(_))
        ));
        let json = manifest().to_json().replace(FORMAT, "olive-package/9");
        assert!(matches!(
            Manifest::parse(json.as_bytes()),
            Err(ManifestError::Format(_))
        ));
        assert!(Manifest::parse(b"\xff\xfe garbage").is_err());
    }

    #[test]
    fn policy_limits() {
        let mut m = manifest();
        m.machine.memory_mb = 4096;
        let e = m.check_policy(POLICY).unwrap_err();
        assert!(e.to_string().contains("machine.memory_mb"), "{e}");
        let mut m = manifest();
        m.machine.vcpus = 3;
        assert!(m.check_policy(POLICY).is_err());
        let json = manifest()
            .to_json()
            .replace("\"sound\": null", "\"sound\": \"gus\"");
        assert!(matches!(
            Manifest::parse(json.as_bytes()),
            Err(ManifestError::Schema(_))
        ));
        let mut m = manifest();
        m.memory.as_mut().unwrap().uncompressed_size = 1 << 40;
        let e = m.check_policy(POLICY).unwrap_err();
        assert!(e.to_string().contains("uncompressed_size"), "{e}");
        let mut m = manifest();
        m.machine.machine_type = "pc,accel=kvm".into();
        assert!(m.check_policy(POLICY).is_err());
    }
}
