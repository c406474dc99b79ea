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
use crate::model::{
    BootDevice, BootOrder, Codec, DiskBus, Display, Hardware, ItemMeta, Mouse, SoundCards,
};

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
    /// The file name is not a plain name inside the package.
    #[error(transparent)]
    FileName(#[from] BadFileName),
    /// The digest is not 64 lowercase hex digits.
    #[error("sha256 must be 64 lowercase hex digits")]
    Digest,
    /// An initrd or kernel command line without a kernel.
    #[error("needs a kernel")]
    NeedsKernel,
    /// The name is empty or longer than 200 characters.
    #[error("must be 1–200 characters")]
    NameLength,
    /// `boot` names a drive the package has no image for.
    #[error("boots from the {0} drive, which has no image")]
    NoDrive(&'static str),
}

/// Why `olive-package.json` is refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON, or not the manifest's shape (unknown keys are refused too).
    #[error("manifest is not valid: {0}")]
    Schema(serde_json::Error),
    /// `format` names a version we do not read.
    #[error("manifest format {0:?} is not {FORMAT:?}")]
    Format(String),
    /// One field is malformed.
    #[error("{field}: {problem}")]
    Invalid {
        /// The field's path, e.g. `disk.path`.
        field: &'static str,
        /// What is wrong with it.
        problem: Problem,
    },
    /// The machine asks for more than the limits allow.
    #[error("machine.{0}")]
    Policy(PolicyViolation),
    #[error(
        "memory.uncompressed_size: {size} bytes is outside 1..={limit} for {memory_mb} MiB of RAM"
    )]
    /// `memory.uncompressed_size` cannot be a migration stream of this machine.
    MemorySize {
        /// The declared size.
        size: u64,
        /// The largest stream a machine with this RAM can make.
        limit: u64,
        /// The machine's RAM.
        memory_mb: u32,
    },
}

/// One file of the package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    /// A plain file name inside the package (no directories).
    pub path: String,
    /// Its length in bytes as stored.
    pub size: u64,
    /// Lowercase hex SHA-256 of the file as stored.
    pub sha256: String,
}

/// The memory image: a QEMU migration stream, compressed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryRef {
    /// The file as stored.
    #[serde(flatten)]
    pub file: FileRef,
    /// How it is compressed.
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
    /// Guest RAM in MiB.
    pub memory_mb: u32,
    /// Virtual processors.
    pub vcpus: u32,
    /// The display adapter.
    pub display: Display,
    /// Video memory in MiB, when not QEMU's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vga_memory_mb: Option<u32>,
    /// A list of cards (older manifests: one name or `null`).
    #[serde(default)]
    pub sound: SoundCards,
    /// `"ps2"` or `"tablet"` (older manifests: `"tablet": true|false`).
    #[serde(alias = "tablet")]
    pub mouse: Mouse,
    /// Whether restricted user networking is on.
    pub network: bool,
    /// `auth-ok.limit_mouse_rate` (Hz) for VMNetX clients.
    pub limit_mouse_rate: Option<u32>,
    /// Kernel command line for direct kernel boot.
    pub append: Option<String>,
    /// The boot order, when not QEMU's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot: Option<BootOrder>,
    /// How the disk is attached, when not IDE.
    #[serde(default, skip_serializing_if = "DiskBus::is_ide")]
    pub disk_bus: DiskBus,
    /// Whether the spice-vdagent channel is attached.
    #[serde(default, skip_serializing_if = "is_false")]
    pub agent: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Public description, shown in the collection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// The name on the item's card.
    pub title: String,
    /// Who made the software, when known.
    pub creator: Option<String>,
    /// The year it came out, when known.
    pub year: Option<u32>,
    /// A paragraph for visitors.
    pub description: Option<String>,
    /// Who holds the rights, or the licence it is shown under.
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

/// `olive-package.json`: everything needed to launch the package, with a digest of every file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `olive-package/1`; a reader refuses any other, so a format change cannot be misread.
    pub format: String,
    /// The package's friendly name (VMNetX's `name`, sent in `auth-ok`).
    pub name: String,
    /// What visitors see.
    pub metadata: Metadata,
    /// The virtual hardware.
    pub machine: MachineSpec,
    /// `qemu-system-x86_64 --version`'s first line at save time, for diagnosis: a memory
    /// image saved by another QEMU may be rejected (and then cold-boots).
    pub qemu_version: String,
    /// The qcow2 disk (no backing file).
    pub disk: FileRef,
    /// Kernel and initrd for direct kernel boot; included because a resumed guest needs
    /// the very kernel it was saved with.
    pub kernel: Option<FileRef>,
    /// The initrd for direct kernel boot.
    pub initrd: Option<FileRef>,
    /// Raw floppy and CD-ROM images (see [`crate::model::Media`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floppy: Option<FileRef>,
    /// The raw CD-ROM image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdrom: Option<FileRef>,
    /// The memory image a first start resumes, when the package has one.
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
            vga_memory_mb: hw.vga_memory_mb,
            sound: hw.sound.clone(),
            mouse: hw.mouse,
            network: hw.network,
            limit_mouse_rate: hw.limit_mouse_rate,
            append,
            boot: hw.boot_order.clone(),
            disk_bus: hw.disk_bus,
            agent: hw.agent,
        }
    }

    /// The hardware to launch (the kernel command line goes with the boot files).
    pub fn hardware(&self) -> Hardware {
        Hardware {
            memory_mb: self.memory_mb,
            vcpus: self.vcpus,
            machine_type: Some(self.machine_type.clone()),
            display: self.display,
            vga_memory_mb: self.vga_memory_mb,
            sound: self.sound.clone(),
            limit_mouse_rate: self.limit_mouse_rate,
            network: self.network,
            mouse: self.mouse,
            boot_order: self.boot.clone(),
            disk_bus: self.disk_bus,
            agent: self.agent,
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
        if let Some(order) = &m.machine.boot {
            for dev in order.devices() {
                match dev {
                    BootDevice::Floppy if m.floppy.is_none() => {
                        return Err(invalid("machine.boot", Problem::NoDrive("floppy")))
                    }
                    BootDevice::Cdrom if m.cdrom.is_none() => {
                        return Err(invalid("machine.boot", Problem::NoDrive("cdrom")))
                    }
                    _ => {}
                }
            }
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
        if let Some(f) = &self.floppy {
            v.push(("floppy", f));
        }
        if let Some(c) = &self.cdrom {
            v.push(("cdrom", c));
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
                vga_memory_mb: None,
                sound: SoundCards::none(),
                mouse: Mouse::Ps2,
                network: false,
                limit_mouse_rate: None,
                append: Some("quiet".into()),
                boot: None,
                disk_bus: DiskBus::Ide,
                agent: false,
            },
            qemu_version: "QEMU emulator version 7.2".into(),
            disk: file("disk.qcow2"),
            kernel: Some(file("vmlinuz")),
            initrd: None,
            floppy: None,
            cdrom: None,
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
    fn older_manifests_still_read() {
        // Written before sound became a set and the tablet flag became `mouse`.
        let json = manifest()
            .to_json()
            .replace("\"sound\": []", "\"sound\": \"AC97\"")
            .replace("\"mouse\": \"ps2\"", "\"tablet\": true");
        assert!(json.contains("\"tablet\": true"), "{json}");
        let m = Manifest::parse(json.as_bytes()).unwrap();
        let hw = m.machine.hardware();
        assert_eq!(hw.mouse, Mouse::Tablet);
        assert_eq!(
            hw.sound,
            SoundCards::new([crate::model::SoundDevice::Ac97]).unwrap()
        );
        let null = manifest()
            .to_json()
            .replace("\"sound\": []", "\"sound\": null");
        assert!(Manifest::parse(null.as_bytes())
            .unwrap()
            .machine
            .sound
            .is_empty());
        // And a manifest of today's defaults says nothing of the new options.
        let json = manifest().to_json();
        for absent in [
            "vga_memory_mb",
            "boot",
            "disk_bus",
            "agent",
            "floppy",
            "cdrom",
        ] {
            assert!(!json.contains(absent), "{absent} in {json}");
        }
    }

    #[test]
    fn period_hardware_round_trips_and_media_are_files() {
        use crate::model::SoundDevice::*;
        let mut m = manifest();
        m.machine.display = Display::Cirrus;
        m.machine.vga_memory_mb = Some(16);
        m.machine.sound = SoundCards::new([Sb16, Adlib, Pcspk]).unwrap();
        m.machine.boot = Some(BootOrder::parse("a").unwrap());
        m.machine.agent = true;
        m.floppy = Some(file("floppy.img"));
        m.cdrom = Some(file("cdrom.iso"));
        let back = Manifest::parse(m.to_json().as_bytes()).unwrap();
        assert_eq!(back, m);
        back.check_policy(POLICY).unwrap();
        let fields: Vec<&str> = back.files().iter().map(|(f, _)| *f).collect();
        assert!(
            fields.contains(&"floppy") && fields.contains(&"cdrom"),
            "{fields:?}"
        );
        // A medium is a plain file of the package like any other.
        let mut bad = m.clone();
        bad.floppy = Some(file("../dos.img"));
        assert!(Manifest::parse(bad.to_json().as_bytes()).is_err());
        // Booting from an empty drive is refused.
        let mut bad = m.clone();
        bad.floppy = None;
        let e = Manifest::parse(bad.to_json().as_bytes()).unwrap_err();
        assert!(e.to_string().contains("machine.boot"), "{e}");
        let mut bad = m;
        bad.machine.vga_memory_mb = Some(32);
        let e = bad.check_policy(POLICY).unwrap_err();
        assert!(e.to_string().contains("machine.vga_memory_mb"), "{e}");
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
            .replace("\"sound\": []", "\"sound\": \"gus\"");
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
