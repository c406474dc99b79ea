//! A package's `domain.xml`: checked against VMNetX's whitelist of permitted virtual hardware,
//! then mapped to the few machine settings our launcher uses.
//!
//! The whitelist is VMNetX's restrictive schema (`schema/domain.xsd`): every element must sit
//! at a known path with known attributes, and a few attributes have fixed value sets (domain
//! type kvm, disk type file, user-mode networking only, ...). Anything else — host devices,
//! shared filesystems, kernel/initrd, qemu:commandline, bridges — is refused, and the error
//! names the offending element so a package author can fix it.

use roxmltree::{Document, Node};

use crate::model::{Display, Hardware, Mouse, SoundCards, SoundDevice};

/// Bounds we put on what a package may ask for (VMNetX had none).
pub const MAX_MEMORY_MB: u64 = 16 << 10;
/// Most virtual processors a package may ask for.
pub const MAX_VCPUS: u32 = 16;
/// Largest domain.xml accepted.
pub const MAX_XML: usize = 1 << 20;

/// Why a package's domain XML is refused; like VMNetX, anything not on its whitelist is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    /// Not well-formed XML (or nested too deep for roxmltree).
    #[error("domain.xml is not well-formed XML: {0}")]
    Xml(roxmltree::Error),
    /// An element outside the whitelist.
    #[error("domain.xml: <{path}> is not permitted by the VMNetX whitelist")]
    Element {
        /// The element's path from `<domain>`.
        path: String,
    },
    /// An attribute outside the whitelist.
    #[error("domain.xml: attribute {attr:?} of <{path}> is not permitted by the VMNetX whitelist")]
    Attribute {
        /// The element's path from `<domain>`.
        path: String,
        /// The attribute's name.
        attr: String,
    },
    /// An attribute value outside the whitelist.
    #[error("domain.xml: <{path}> {attr}={value:?} is not permitted (allowed: {allowed})")]
    Value {
        /// The element's path from `<domain>`.
        path: String,
        /// The attribute's name.
        attr: String,
        /// The value found.
        value: String,
        /// The values that are accepted.
        allowed: String,
    },
    /// Whitelisted but unusable: a missing disk, a number out of range, two of a kind.
    #[error("domain.xml: {0}")]
    Invalid(String),
}

/// Machine settings for our launcher, from a whitelisted domain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MachineSettings {
    /// The domain's `<name>`, when it has one.
    pub name: Option<String>,
    /// Guest RAM in MiB (at most [`MAX_MEMORY_MB`]).
    pub memory_mb: u64,
    /// Virtual processors (at most [`MAX_VCPUS`]).
    pub vcpus: u32,
    /// `i686` or `x86_64`.
    pub arch: String,
    /// Always `pc` (i440FX) in VMNetX packages.
    pub machine: String,
    /// The one disk.
    pub disk: DiskSettings,
    /// `vga`, `cirrus` or `qxl`; `None` → none declared.
    pub video: Option<String>,
    /// The video adapter's memory, when declared.
    pub video_vram_kib: Option<u64>,
    /// NIC model (e.g. `e1000`, `rtl8139`); always user-mode networking.
    pub nic: Option<NicSettings>,
    /// Each `<sound model>`: `es1370`, `pcspk`, `ac97` or `ich6`.
    pub sound: Vec<String>,
    /// A USB tablet is declared (absolute pointer).
    pub usb_tablet: bool,
    /// `localtime` or `utc` etc.
    pub clock_offset: Option<String>,
}

/// The domain's one disk, as declared.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DiskSettings {
    /// `raw` or `qcow2`.
    pub format: String,
    /// `ide`, `scsi`, `sata`, `usb` or `fdc`.
    pub bus: String,
    /// Whether the domain marks it read-only.
    pub readonly: bool,
}

/// The domain's network interface, as declared.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NicSettings {
    /// The emulated NIC model, when declared.
    pub model: Option<String>,
    /// The NIC's MAC address, when declared.
    pub mac: Option<String>,
}

const ADDRESS: &[&str] = &[
    "type",
    "domain",
    "bus",
    "slot",
    "function",
    "multifunction",
    "controller",
    "target",
    "unit",
    "port",
];

/// Allowed attributes per element path (relative to `domain`); `None` = element not allowed.
fn allowed_attrs(path: &str) -> Option<&'static [&'static str]> {
    let attrs: &'static [&'static str] = match path {
        "domain" => &["type"],
        "name" | "uuid" | "description" | "title" => &[],
        "memory" | "currentMemory" => &["unit"],
        "vcpu" => &["placement", "current"],
        "os" | "features" | "features/pae" | "features/apic" | "features/acpi" | "features/hap" => {
            &[]
        }
        "os/type" => &["arch", "machine"],
        "os/boot" => &["dev"],
        "os/bootmenu" => &["enable"],
        "cpu" => &["match", "mode"],
        "cpu/model" => &["fallback"],
        "cpu/vendor" => &[],
        "cpu/topology" => &["sockets", "cores", "threads"],
        "cpu/feature" => &["policy", "name"],
        "cpu/numa" => &[],
        "cpu/numa/cell" => &["cpus", "memory"],
        "clock" => &["offset", "adjustment", "timezone", "basis"],
        "clock/timer" => &["name", "track"],
        "on_reboot" | "on_poweroff" | "on_crash" => &[],
        "metadata" => &[],
        "metadata/vmnetx" => &[],
        "metadata/vmnetx/limit_mouse_rate" => &["hz"],
        "devices" | "devices/emulator" => &[],
        "devices/disk" => &["type", "device"],
        "devices/disk/driver" => &["name", "type", "cache"],
        "devices/disk/source" => &["file"],
        "devices/disk/target" => &["dev", "bus"],
        "devices/disk/readonly" | "devices/disk/serial" => &[],
        "devices/disk/boot" => &["order"],
        "devices/controller" => &["type", "index", "model", "ports", "vectors"],
        "devices/controller/master" => &["startport"],
        "devices/interface" => &["type"],
        "devices/interface/mac" => &["address"],
        "devices/interface/model" => &["type"],
        "devices/input" => &["type", "bus"],
        "devices/sound" => &["model"],
        "devices/graphics" => &["type", "autoport"],
        "devices/video" => &[],
        "devices/video/model" => &["type", "vram", "heads", "ram"],
        "devices/video/model/acceleration" => &["accel3d", "accel2d"],
        "devices/parallel" | "devices/serial" => &["type"],
        "devices/parallel/target" | "devices/serial/target" => &["port"],
        "devices/hub" => &["type"],
        "devices/memballoon" => &["model"],
        p if p.starts_with("devices/")
            && p.ends_with("/address")
            && p.matches('/').count() == 2 =>
        {
            ADDRESS
        }
        _ => return None,
    };
    Some(attrs)
}

/// Fixed value sets: (path, attribute, allowed values).
const VALUES: &[(&str, &str, &[&str])] = &[
    ("domain", "type", &["kvm"]),
    ("os/type", "arch", &["i686", "x86_64"]),
    ("os/type", "machine", &["pc"]),
    ("os/boot", "dev", &["hd", "fd", "cdrom"]),
    ("vcpu", "placement", &["static"]),
    ("cpu", "mode", &["custom"]),
    ("cpu/model", "fallback", &["allow"]),
    (
        "clock",
        "offset",
        &["localtime", "utc", "timezone", "variable"],
    ),
    ("clock/timer", "name", &["rtc"]),
    ("clock/timer", "track", &["guest"]),
    ("devices/disk", "type", &["file"]),
    ("devices/disk", "device", &["disk"]),
    ("devices/disk/driver", "name", &["qemu"]),
    ("devices/disk/driver", "type", &["raw", "qcow2"]),
    (
        "devices/disk/target",
        "bus",
        &["ide", "fdc", "scsi", "usb", "sata"],
    ),
    (
        "devices/controller",
        "type",
        &["fdc", "ide", "scsi", "sata", "usb"],
    ),
    ("devices/interface", "type", &["user"]),
    ("devices/input", "type", &["tablet", "mouse"]),
    ("devices/input", "bus", &["ps2", "usb"]),
    (
        "devices/sound",
        "model",
        &["es1370", "pcspk", "ac97", "ich6"],
    ),
    ("devices/graphics", "type", &["vnc", "spice"]),
    ("devices/graphics", "autoport", &["yes"]),
    ("devices/video/model", "type", &["vga", "cirrus", "qxl"]),
    ("devices/parallel", "type", &["null"]),
    ("devices/serial", "type", &["null"]),
    ("devices/hub", "type", &["usb"]),
    ("devices/memballoon", "model", &["virtio", "none"]),
];

const ON_EVENT: &[&str] = &["destroy", "restart"];
const METADATA_NS: &str = "http://olivearchive.org/xmlns/vmnetx/domain-metadata";

fn check_element(node: Node, path: &str) -> Result<(), DomainError> {
    if node.tag_name().namespace().is_some() && !path.starts_with("metadata/vmnetx") {
        return Err(DomainError::Element {
            path: path.to_owned(),
        });
    }
    let attrs = allowed_attrs(path).ok_or_else(|| DomainError::Element {
        path: path.to_owned(),
    })?;
    for a in node.attributes() {
        if a.namespace().is_some() || !attrs.contains(&a.name()) {
            return Err(DomainError::Attribute {
                path: path.to_owned(),
                attr: a.name().to_owned(),
            });
        }
        if let Some((_, _, ok)) = VALUES
            .iter()
            .find(|(p, at, _)| *p == path && *at == a.name())
        {
            if !ok.contains(&a.value()) {
                return Err(DomainError::Value {
                    path: path.to_owned(),
                    attr: a.name().to_owned(),
                    value: a.value().to_owned(),
                    allowed: ok.join(", "),
                });
            }
        }
    }
    if matches!(path, "on_reboot" | "on_poweroff" | "on_crash") {
        let v = node.text().unwrap_or("").trim();
        if !ON_EVENT.contains(&v) {
            return Err(DomainError::Value {
                path: path.to_owned(),
                attr: "text".into(),
                value: v.to_owned(),
                allowed: ON_EVENT.join(", "),
            });
        }
    }
    if path == "metadata/vmnetx" && node.tag_name().namespace() != Some(METADATA_NS) {
        return Err(DomainError::Element {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// Walks every element below `node` (path relative to `domain`).
fn check_tree(node: Node, path: &str) -> Result<(), DomainError> {
    check_element(node, path)?;
    for child in node.children().filter(Node::is_element) {
        let child_path = if path == "domain" {
            child.tag_name().name().to_owned()
        } else {
            format!("{path}/{}", child.tag_name().name())
        };
        check_tree(child, &child_path)?;
    }
    Ok(())
}

/// Parses a libvirt scaled integer (`unit` defaults to KiB) into bytes.
fn scaled_bytes(node: Node) -> Result<u64, DomainError> {
    let text = node.text().unwrap_or("").trim();
    let n: u64 = text.parse().map_err(|_| {
        DomainError::Invalid(format!(
            "<{}> {text:?} is not a number",
            node.tag_name().name()
        ))
    })?;
    let mult: u64 = match node.attribute("unit").unwrap_or("KiB") {
        "b" | "bytes" => 1,
        "KB" => 1000,
        "k" | "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "M" | "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "G" | "GiB" => 1 << 30,
        u => return Err(DomainError::Invalid(format!("unknown memory unit {u:?}"))),
    };
    n.checked_mul(mult)
        .ok_or_else(|| DomainError::Invalid("memory size overflows".into()))
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.has_tag_name(name))
}

fn children<'a, 'i>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.has_tag_name(name))
}

/// Checks `xml` against the whitelist and maps it to [`MachineSettings`].
pub fn parse(xml: &str) -> Result<MachineSettings, DomainError> {
    if xml.len() > MAX_XML {
        return Err(DomainError::Invalid("domain.xml larger than 1 MiB".into()));
    }
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    let doc = Document::parse_with_options(xml, opts).map_err(DomainError::Xml)?;
    let root = doc.root_element();
    if !root.has_tag_name("domain") || root.tag_name().namespace().is_some() {
        return Err(DomainError::Element {
            path: root.tag_name().name().to_owned(),
        });
    }
    check_tree(root, "domain")?;
    map(root)
}

fn map(root: Node) -> Result<MachineSettings, DomainError> {
    let missing = |what: &str| DomainError::Invalid(format!("<{what}> is required"));
    let memory = scaled_bytes(child(root, "memory").ok_or_else(|| missing("memory"))?)?;
    let memory_mb = memory / (1 << 20);
    if memory_mb == 0 || memory_mb > MAX_MEMORY_MB {
        return Err(DomainError::Invalid(format!(
            "memory {memory_mb} MiB outside 1..={MAX_MEMORY_MB}"
        )));
    }
    let vcpus = match child(root, "vcpu") {
        None => 1,
        Some(v) => v
            .text()
            .unwrap_or("")
            .trim()
            .parse::<u32>()
            .map_err(|_| DomainError::Invalid("<vcpu> is not a number".into()))?,
    };
    if vcpus == 0 || vcpus > MAX_VCPUS {
        return Err(DomainError::Invalid(format!(
            "vcpu {vcpus} outside 1..={MAX_VCPUS}"
        )));
    }
    let os_type = child(root, "os")
        .and_then(|os| child(os, "type"))
        .ok_or_else(|| missing("os/type"))?;
    if os_type.text().map(str::trim) != Some("hvm") {
        return Err(DomainError::Invalid("<os/type> must be hvm".into()));
    }
    let devices = child(root, "devices").ok_or_else(|| missing("devices"))?;
    let disks: Vec<Node> = children(devices, "disk").collect();
    let [disk] = disks[..] else {
        return Err(DomainError::Invalid(format!(
            "exactly one <disk> is required, found {}",
            disks.len()
        )));
    };
    let disk = DiskSettings {
        format: child(disk, "driver")
            .and_then(|d| d.attribute("type"))
            .unwrap_or("raw")
            .to_owned(),
        bus: child(disk, "target")
            .and_then(|t| t.attribute("bus"))
            .unwrap_or("ide")
            .to_owned(),
        readonly: child(disk, "readonly").is_some(),
    };
    let video_model = children(devices, "video").find_map(|v| child(v, "model"));
    let nic = children(devices, "interface").next().map(|i| NicSettings {
        model: child(i, "model")
            .and_then(|m| m.attribute("type"))
            .map(str::to_owned),
        mac: child(i, "mac")
            .and_then(|m| m.attribute("address"))
            .map(str::to_owned),
    });
    if let Some(mac) = nic.as_ref().and_then(|n| n.mac.as_deref()) {
        check_mac(mac)?;
    }
    if let Some(model) = nic.as_ref().and_then(|n| n.model.as_deref()) {
        if !model
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(DomainError::Invalid(format!(
                "NIC model {model:?} is not a plain name"
            )));
        }
    }
    Ok(MachineSettings {
        name: child(root, "name")
            .and_then(|n| n.text())
            .map(str::to_owned),
        memory_mb,
        vcpus,
        arch: os_type.attribute("arch").unwrap_or("i686").to_owned(),
        machine: "pc".into(),
        disk,
        video: video_model
            .and_then(|m| m.attribute("type"))
            .map(str::to_owned),
        video_vram_kib: video_model
            .and_then(|m| m.attribute("vram"))
            .and_then(|v| v.parse().ok()),
        nic,
        sound: children(devices, "sound")
            .filter_map(|s| s.attribute("model"))
            .map(str::to_owned)
            .collect(),
        usb_tablet: children(devices, "input")
            .any(|i| i.attribute("type") == Some("tablet") && i.attribute("bus") == Some("usb")),
        clock_offset: child(root, "clock")
            .and_then(|c| c.attribute("offset"))
            .map(str::to_owned),
    })
}

impl MachineSettings {
    /// Our hardware for what the domain declares (limits not yet checked): the video model
    /// with its `vram` as video memory where QEMU takes that size for it (libvirt passes
    /// a VGA's or Cirrus's `vram` as `vgamem_mb`; a QXL's is another memory), every sound
    /// model, a tablet only if one is declared (a PS/2 mouse is always there) and the NIC.
    pub fn hardware(&self, memory_mb: u32) -> Hardware {
        let display = match self.video.as_deref() {
            Some("qxl") => Display::Qxl,
            Some("cirrus") => Display::Cirrus,
            _ => Display::Std,
        };
        let vga_memory_mb = match display {
            Display::Qxl => None,
            d => self
                .video_vram_kib
                .and_then(|kib| u32::try_from(kib / 1024).ok())
                .filter(|&mb| d.check_vga_memory(mb).is_ok()),
        };
        let mut cards: Vec<SoundDevice> = Vec::new();
        for card in self.sound.iter().filter_map(|m| sound_device(m)) {
            if !cards.contains(&card) {
                cards.push(card);
            }
        }
        Hardware {
            machine_type: Some(self.machine.clone()),
            display,
            vga_memory_mb,
            sound: SoundCards::new(cards).unwrap_or_default(),
            network: self.nic.is_some(),
            mouse: if self.usb_tablet {
                Mouse::Tablet
            } else {
                Mouse::Ps2
            },
            ..Hardware::new(memory_mb, self.vcpus)
        }
    }
}

/// Our sound device for a libvirt `<sound model>`.
pub fn sound_device(model: &str) -> Option<SoundDevice> {
    match model {
        "ac97" => Some(SoundDevice::Ac97),
        "ich6" => Some(SoundDevice::IntelHda),
        "es1370" => Some(SoundDevice::Es1370),
        "sb16" => Some(SoundDevice::Sb16),
        "pcspk" => Some(SoundDevice::Pcspk),
        _ => None,
    }
}

/// A unicast MAC `xx:xx:xx:xx:xx:xx` (VMNetX's schema requires unicast).
fn check_mac(mac: &str) -> Result<(), DomainError> {
    let parts: Vec<&str> = mac.split(':').collect();
    let bytes: Option<Vec<u8>> = parts
        .iter()
        .map(|p| {
            (p.len() == 2)
                .then(|| u8::from_str_radix(p, 16).ok())
                .flatten()
        })
        .collect();
    match bytes {
        Some(b) if b.len() == 6 && b[0] & 1 == 0 => Ok(()),
        _ => Err(DomainError::Invalid(format!(
            "MAC address {mac:?} is not a unicast MAC"
        ))),
    }
}
