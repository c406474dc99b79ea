//! How an item runs: the virtual hardware, its disk, direct kernel boot and the memory
//! image a first start resumes from.
//!
//! A [`Machine`] is always complete: an item whose package lives at a URL is a
//! [`MachineSource::Remote`] until a launch fetches what its machine is, so no machine
//! exists with an empty disk path or zero memory.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::memory::MemoryImage;
use super::remote::RemoteRef;

/// The emulated display adapter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Display {
    /// Standard VGA: works with every guest and needs no driver.
    #[default]
    Std,
    /// QXL: SPICE's paravirtual adapter, for guests with its driver (2D acceleration, resizing).
    Qxl,
}

/// The sound cards QEMU is given, on SPICE audio (QEMU's device names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub enum SoundDevice {
    /// Intel AC'97, which old Windows and Linux guests know without a driver download.
    #[serde(rename = "AC97")]
    Ac97,
    /// Intel HD Audio, for guests from about 2005 on.
    #[serde(rename = "intel-hda")]
    IntelHda,
    /// Creative Sound Blaster 16, for DOS-era software.
    #[serde(rename = "sb16")]
    Sb16,
    /// Ensoniq AudioPCI, which Windows 9x supports out of the box.
    #[serde(rename = "es1370")]
    Es1370,
}

impl SoundDevice {
    /// QEMU's `-device` name.
    pub fn qemu_name(self) -> &'static str {
        match self {
            SoundDevice::Ac97 => "AC97",
            SoundDevice::IntelHda => "intel-hda",
            SoundDevice::Sb16 => "sb16",
            SoundDevice::Es1370 => "es1370",
        }
    }
}

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
    /// `None`: no sound card.
    pub sound: Option<SoundDevice>,
    /// `auth-ok.limit_mouse_rate` (Hz) for VMNetX clients.
    pub limit_mouse_rate: Option<u32>,
    /// Restricted user networking (see the QEMU command line); off by default.
    pub network: bool,
    /// A usb-tablet so the SPICE client can use absolute (client) mouse mode.
    pub tablet: bool,
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
            sound: None,
            limit_mouse_rate: None,
            network: false,
            tablet: true,
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

/// A machine ready to launch.
#[derive(Clone, Debug)]
pub struct Machine {
    /// The virtual hardware.
    pub hardware: Hardware,
    /// The pristine disk the overlay sits on.
    pub disk: Disk,
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
            boot: None,
            memory_image: None,
        }
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
