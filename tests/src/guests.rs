//! The period-software guests of `guests/` (Doom, a 1990s X desktop): built or reused by
//! `guests/build.sh` (cached in `~/.cache/olive/guests/<name>-<key>/`), launched with the
//! harness's plain QEMU command line ([`crate::Qemu`]) plus the devices each one expects
//! (its `machine.toml`), and driven over the serial command channel (`guests/README.md`).

use crate::guest::{workspace_root, GuestImages};
use crate::qemu::{Qemu, QemuConfig, SerialMark, Vga};
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

/// A guest `guests/build.sh` builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodGuest {
    /// Chocolate Doom on Freedoom: Phase 1, std VGA at 640x400, SB16 + AdLib, PS/2 mouse.
    Doom,
    /// Xorg on the qxl driver with twm, xterm, xclock, xcalc and spice-vdagent.
    Xdesk,
}

impl PeriodGuest {
    /// The name `guests/build.sh` takes (and the cache directory's prefix).
    pub fn name(self) -> &'static str {
        match self {
            PeriodGuest::Doom => "doom",
            PeriodGuest::Xdesk => "xdesk",
        }
    }
}

/// A built guest: its cache directory and the parts of `machine.toml` a launch needs.
#[derive(Debug, Clone)]
pub struct PeriodImages {
    /// Which guest.
    pub guest: PeriodGuest,
    /// Its cache directory (`~/.cache/olive/guests/<name>-<key>/`).
    pub dir: PathBuf,
    /// The Debian kernel, booted directly.
    pub kernel: PathBuf,
    /// The busybox initramfs.
    pub initrd: PathBuf,
    /// The ext4 root, attached read-only in spirit: QEMU runs it with `snapshot=on`.
    pub disk: PathBuf,
    /// `machine.toml`'s `kernel_cmdline`.
    pub kernel_cmdline: String,
    /// `machine.toml`'s `memory_mb`.
    pub memory_mb: u32,
}

static BUILT: Mutex<Vec<PeriodImages>> = Mutex::new(Vec::new());

/// Builds the guest if needed (once per process; `build.sh` caches by its inputs and locks
/// against concurrent builds) and returns its images. A cold build downloads and installs
/// a few hundred MB of Debian packages: minutes.
///
/// The build runs under the QEMU lock: it takes both cores for minutes, and a TCG guest of
/// another test booting beside it missed its ready deadline (CI, xdesk behind a cold doom
/// build). Call it before taking the lock yourself, never while holding it.
pub fn ensure_period_guest(guest: PeriodGuest) -> Result<PeriodImages> {
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(images) = built.iter().find(|i| i.guest == guest) {
        return Ok(images.clone());
    }
    let _quiet = crate::qemu_lock();
    let script = workspace_root().join("guests/build.sh");
    let output = Command::new("sh")
        .arg(&script)
        .arg(guest.name())
        .output()
        .with_context(|| format!("run {}", script.display()))?;
    if !output.status.success() {
        bail!(
            "{} {} failed ({}):\n{}",
            script.display(),
            guest.name(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let dir = PathBuf::from(
        stdout
            .lines()
            .last()
            .context("guests/build.sh printed no directory")?,
    );
    let images = load(guest, &dir)?;
    built.push(images.clone());
    Ok(images)
}

/// Reads a built guest's directory.
fn load(guest: PeriodGuest, dir: &Path) -> Result<PeriodImages> {
    let machine_path = dir.join("machine.toml");
    let machine = std::fs::read_to_string(&machine_path)
        .with_context(|| format!("read {}", machine_path.display()))?;
    let values = toml_values(&machine);
    let kernel_cmdline = values
        .get("kernel_cmdline")
        .cloned()
        .with_context(|| format!("no kernel_cmdline in {}", machine_path.display()))?;
    let memory_mb = values
        .get("memory_mb")
        .and_then(|m| m.parse().ok())
        .with_context(|| format!("no memory_mb in {}", machine_path.display()))?;
    let images = PeriodImages {
        guest,
        dir: dir.to_path_buf(),
        kernel: dir.join("vmlinuz"),
        initrd: dir.join("initrd.img"),
        disk: dir.join("disk.qcow2"),
        kernel_cmdline,
        memory_mb,
    };
    for p in [&images.kernel, &images.initrd, &images.disk] {
        if !p.is_file() {
            bail!(
                "guest {} was built but {} is missing",
                guest.name(),
                p.display()
            );
        }
    }
    Ok(images)
}

/// `key = value` lines of our own `machine.toml` (strings unquoted); enough for the two
/// scalar keys the harness reads, without a TOML dependency in the harness.
fn toml_values(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            (k.trim().to_string(), v.to_string())
        })
        .collect()
}

/// Options of one launch beyond the guest's own hardware.
#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// xdesk: `olive.qxl_cache=1`, the X qxl driver's surfaces and image caches on.
    pub qxl_cache: bool,
}

/// The harness's QEMU configuration for the guest: its display adapter, memory, sound
/// cards, pointer device and (xdesk) the SPICE agent's virtio-serial port, the disk with
/// `snapshot=on` so the cached image stays pristine.
pub fn qemu_config(images: &PeriodImages, options: &LaunchOptions) -> QemuConfig {
    let s = |v: &str| v.to_string();
    let mut extra_args = vec![
        s("-drive"),
        format!(
            "file={},if=virtio,format=qcow2,snapshot=on",
            images.disk.display()
        ),
    ];
    let mut cmdline = images.kernel_cmdline.clone();
    let (vga, usb_tablet, ac97) = match images.guest {
        PeriodGuest::Doom => {
            // ISA cards at QEMU's defaults (sb16: 0x220 irq 5 dma 1/5; adlib: 0x388),
            // which the guest's module parameters name; both play through SPICE audio.
            extra_args.extend([
                s("-audiodev"),
                s("spice,id=olive-isa"),
                s("-device"),
                s("sb16,audiodev=olive-isa"),
                s("-device"),
                s("adlib,audiodev=olive-isa"),
            ]);
            (Vga::Std, false, false)
        }
        PeriodGuest::Xdesk => {
            extra_args.extend([
                s("-device"),
                s("virtio-serial-pci,id=olive-vser"),
                s("-chardev"),
                s("spicevmc,id=olive-vdagent,name=vdagent"),
                s("-device"),
                s("virtserialport,bus=olive-vser.0,chardev=olive-vdagent,name=com.redhat.spice.0"),
            ]);
            if options.qxl_cache {
                cmdline.push_str(" olive.qxl_cache=1");
            }
            (Vga::Qxl, true, true)
        }
    };
    QemuConfig {
        vga,
        memory_mb: images.memory_mb,
        usb_tablet,
        sound: ac97,
        kernel_cmdline_extra: Some(cmdline),
        extra_args,
        images: Some(GuestImages {
            kernel: images.kernel.clone(),
            initrd: images.initrd.clone(),
            manifest: images.dir.join("manifest.txt"),
        }),
        ..QemuConfig::default()
    }
}

/// What `sh CMD` printed in the guest, and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShOutput {
    /// The command's exit status.
    pub rc: i32,
    /// Its output lines, without the `OUT ` prefix.
    pub lines: Vec<String>,
}

impl ShOutput {
    /// The output as one string, a line per line.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// Runs `cmd` in the guest through the serial command channel (`sh CMD`, with `DISPLAY=:0`)
/// and collects its `OUT` lines.
pub fn sh(q: &mut Qemu, cmd: &str, timeout: Duration) -> Result<ShOutput> {
    let mark: SerialMark = q.serial_mark();
    let ok = q.command(&format!("sh {cmd}"), timeout)?;
    let rc = ok
        .strip_prefix("OK sh rc=")
        .and_then(|r| r.trim().parse().ok())
        .with_context(|| format!("unexpected answer {ok:?} to sh {cmd:?}"))?;
    let mut lines = Vec::new();
    for l in q.serial_since(mark) {
        if l == ok {
            break;
        }
        if let Some(out) = l.strip_prefix("OUT ") {
            lines.push(out.to_string());
        } else if l == "OUT" {
            lines.push(String::new());
        }
    }
    Ok(ShOutput { rc, lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_toml_values_are_read() {
        let v = toml_values(
            "# c\ndisplay = \"std\"\nmemory_mb = 256\nkernel_cmdline = \"root=/dev/vda rw\"\n",
        );
        assert_eq!(v["display"], "std");
        assert_eq!(v["memory_mb"], "256");
        assert_eq!(v["kernel_cmdline"], "root=/dev/vda rw");
    }
}
