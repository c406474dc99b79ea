//! How an item runs: the virtual hardware, its disk, direct kernel boot and the memory
//! image a first start resumes from.
//!
//! A [`Machine`] is always complete: an item whose package lives at a URL is a
//! [`MachineSource::Remote`] until a launch fetches what its machine is, so no machine
//! exists with an empty disk path or zero memory.

use std::path::PathBuf;

pub use super::devices::{
    BadBootOrder, BootDevice, BootOrder, DiskBus, Display, Mouse, SoundCards, SoundDevice,
};
use super::memory::MemoryImage;
use super::remote::RemoteRef;

/// Everything about the virtual hardware that shapes QEMU's command line (a migration
/// stream loads only into the very machine it was saved from).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hardware {
    /// Guest RAM in MiB (held to `[limits] max_memory_mb`).
    pub memory_mb: u32,
    /// Virtual processors (held to `[limits] max_vcpus`).
    pub vcpus: u32,
    /// `-machine` type, e.g. `pc` or `pc-i440fx-7.2` (QEMU's default when absent).
    pub machine_type: Option<String>,
    /// The display adapter the guest sees.
    pub display: Display,
    /// Video memory in MiB (`vgamem_mb`); `None`: QEMU's default for the adapter (16 MiB,
    /// cirrus 4), which keeps the command line of items saved before this field existed.
    pub vga_memory_mb: Option<u32>,
    /// The sound cards (none by default), all on SPICE audio.
    pub sound: SoundCards,
    /// `auth-ok.limit_mouse_rate` (Hz) for VMNetX clients.
    pub limit_mouse_rate: Option<u32>,
    /// Restricted user networking (see the QEMU command line); off by default.
    pub network: bool,
    /// The pointing device: a tablet lets the SPICE client use absolute (client) mouse
    /// mode; PS/2 alone means server mouse mode.
    pub mouse: Mouse,
    /// The BIOS boot order; `None`: QEMU's default (disk first).
    pub boot_order: Option<BootOrder>,
    /// How the hard disk is attached (IDE unless the guest needs virtio).
    pub disk_bus: DiskBus,
    /// The spice-vdagent channel (virtio-serial port `com.redhat.spice.0`), which carries
    /// the clipboard and display resizes; it also lets SPICE's clipboard through.
    pub agent: bool,
}

impl Hardware {
    /// `memory_mb` MiB and `vcpus` processors on QEMU's default board with std VGA, a
    /// tablet, no sound and no network: the defaults of a configured item.
    pub fn new(memory_mb: u32, vcpus: u32) -> Hardware {
        Hardware {
            memory_mb,
            vcpus,
            machine_type: None,
            display: Display::Std,
            vga_memory_mb: None,
            sound: SoundCards::none(),
            limit_mouse_rate: None,
            network: false,
            mouse: Mouse::Tablet,
            boot_order: None,
            disk_bus: DiskBus::Ide,
            agent: false,
        }
    }
}

/// The formats a disk may be declared in (never probed from untrusted bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskFormat {
    /// Bytes as they are on the disk, no container.
    Raw,
    /// QEMU's copy-on-write format; may carry a backing file, which must be refused from untrusted packages.
    Qcow2,
}

impl DiskFormat {
    /// The format called `name` (qemu-img's and libvirt's names).
    pub fn from_name(name: &str) -> Option<DiskFormat> {
        match name {
            "raw" => Some(DiskFormat::Raw),
            "qcow2" => Some(DiskFormat::Qcow2),
            _ => None,
        }
    }

    /// qemu-img's name.
    pub fn name(self) -> &'static str {
        match self {
            DiskFormat::Raw => "raw",
            DiskFormat::Qcow2 => "qcow2",
        }
    }
}

/// The pristine disk an instance's throw-away overlay sits on (it is never written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disk {
    /// An image the operator configured: trusted, any format (probed), backing chains
    /// allowed.
    File(PathBuf),
    /// A package's disk: untrusted, so it must be a qcow2 without a backing file, or it
    /// could make QEMU open any file the gateway can read.
    Package(PathBuf),
    /// A block device QEMU opens by URI (a remote package's disk exported over NBD), in a
    /// declared format; a qcow2 one must not have a backing file either.
    Export {
        /// The URI QEMU opens (`nbd:unix:<socket>:exportname=...`).
        uri: String,
        /// The format the package declared, never probed.
        format: DiskFormat,
    },
}

/// Direct kernel boot (the test guest boots this way).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelBoot {
    /// The kernel image to boot.
    pub kernel: PathBuf,
    /// An initial RAM disk, when the kernel needs one.
    pub initrd: Option<PathBuf>,
    /// The kernel command line, one line.
    pub append: Option<String>,
}

/// Removable media: raw images (a 1.44 MB floppy, an ISO 9660 CD), pristine like the disk
/// (each instance writes to its own qcow2 overlay over them) and always declared raw, so
/// their bytes are never probed as an image format.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Media {
    /// In drive A:.
    pub floppy: Option<PathBuf>,
    /// In the CD-ROM drive (secondary IDE master).
    pub cdrom: Option<PathBuf>,
}

impl Media {
    /// The boot device in `order` whose drive is empty (the disk is always there).
    pub fn missing_boot_device(&self, order: &BootOrder) -> Option<BootDevice> {
        order.devices().iter().copied().find(|d| match d {
            BootDevice::Floppy => self.floppy.is_none(),
            BootDevice::Cdrom => self.cdrom.is_none(),
            BootDevice::Disk => false,
        })
    }
}

/// A machine ready to launch.
#[derive(Clone, Debug)]
pub struct Machine {
    /// The virtual hardware.
    pub hardware: Hardware,
    /// The pristine disk the overlay sits on.
    pub disk: Disk,
    /// Floppy and CD-ROM images, each on its own overlay.
    pub media: Media,
    /// Direct kernel boot instead of the disk's boot loader, when set.
    pub boot: Option<KernelBoot>,
    /// A saved memory image (from a package): the first start of an instance resumes it.
    pub memory_image: Option<MemoryImage>,
}

impl Machine {
    /// A machine that boots `disk` on `hardware`; add boot files and a memory image with
    /// [`Machine::with_boot`] and [`Machine::with_memory_image`].
    pub fn new(hardware: Hardware, disk: Disk) -> Machine {
        Machine {
            hardware,
            disk,
            media: Media::default(),
            boot: None,
            memory_image: None,
        }
    }

    /// The same machine with `media` (floppy, CD-ROM) in its drives.
    pub fn with_media(self, media: Media) -> Machine {
        Machine { media, ..self }
    }

    /// The same machine booting `boot` directly (no change when `None`).
    pub fn with_boot(self, boot: Option<KernelBoot>) -> Machine {
        Machine { boot, ..self }
    }

    /// The same machine whose first start resumes `memory_image`.
    pub fn with_memory_image(self, memory_image: Option<MemoryImage>) -> Machine {
        Machine {
            memory_image,
            ..self
        }
    }
}

/// Where an item's machine comes from.
// One per catalog item, made at load time; boxing the machine would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum MachineSource {
    /// Known when the configuration loaded (an `[item.machine]` or a local package).
    Local(Machine),
    /// A package at an http(s) URL, fetched when an instance launches.
    Remote(RemoteRef),
}

impl MachineSource {
    /// `limit_mouse_rate` when it is known without fetching anything.
    pub fn limit_mouse_rate(&self) -> Option<u32> {
        match self {
            MachineSource::Local(m) => m.hardware.limit_mouse_rate,
            MachineSource::Remote(_) => None,
        }
    }
}
