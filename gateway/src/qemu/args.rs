//! QEMU's command line for a machine: pure, so the hardening can be tested without QEMU.

use std::path::Path;

use super::accel::Resolved;
use super::paths::InstancePaths;
use crate::model::{Display, Machine, SoundDevice};

/// QEMU's option syntax splits on commas; a literal comma is written twice.
fn esc(p: &Path) -> String {
    p.display().to_string().replace(',', ",,")
}

/// The QEMU command line for `machine` (without the binary); `incoming` waits for a
/// memory image (`-incoming defer -S`).
pub fn qemu_args(
    machine: &Machine,
    paths: &InstancePaths,
    accel: Resolved,
    name: &str,
    incoming: bool,
) -> Vec<String> {
    let hw = &machine.hardware;
    let mut a: Vec<String> = Vec::new();
    let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
    push(&["-name", name, "-nodefaults", "-no-user-config"]);
    // Seccomp: no new privileges, no spawning helpers, no obsolete syscalls.
    push(&[
        "-sandbox",
        "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
    ]);
    if let Some(mt) = &hw.machine_type {
        push(&["-machine", mt]);
    }
    push(&["-accel", accel.as_arg()]);
    push(&["-m", &hw.memory_mb.to_string()]);
    push(&["-smp", &hw.vcpus.to_string()]);
    let vga = match hw.display {
        Display::Std => "std",
        Display::Qxl => "qxl",
    };
    push(&["-vga", vga]);
    push(&["-display", "none", "-monitor", "none", "-parallel", "none"]);
    let drive = format!(
        "file={},format=qcow2,if=ide,index=0,media=disk",
        esc(&paths.overlay)
    );
    push(&["-drive", &drive]);
    if let Some(boot) = &machine.boot {
        push(&["-kernel", &boot.kernel.display().to_string()]);
        if let Some(i) = &boot.initrd {
            push(&["-initrd", &i.display().to_string()]);
        }
        if let Some(ap) = &boot.append {
            push(&["-append", ap]);
        }
        // A serial console log is the only way to see a direct-boot kernel's complaints.
        let chardev = format!("file,id=olive-serial,path={}", esc(&paths.serial_log));
        push(&["-chardev", &chardev, "-serial", "chardev:olive-serial"]);
    } else {
        push(&["-serial", "none"]);
    }
    if hw.network {
        // An isolated SLIRP segment: the guest gets a NIC and DHCP, but `restrict=on`
        // drops every packet towards the host and the outside, so 10.0.2.2 (the host's
        // loopback in plain SLIRP, where the gateway API listens) is unreachable.
        push(&[
            "-netdev",
            "user,id=olive-net,restrict=on",
            "-device",
            "e1000,netdev=olive-net",
        ]);
    } else {
        push(&["-nic", "none"]);
    }
    let secret = format!(
        "secret,id=olive-spice-pw,file={}",
        esc(&paths.password_file)
    );
    push(&["-object", &secret]);
    let spice = format!(
        "unix=on,addr={},password-secret=olive-spice-pw,disable-copy-paste=on,disable-agent-file-xfer=on",
        esc(&paths.spice_socket)
    );
    push(&["-spice", &spice]);
    if let Some(dev) = hw.sound {
        push(&["-audiodev", "spice,id=olive-snd"]);
        match dev {
            SoundDevice::IntelHda => push(&[
                "-device",
                "intel-hda,id=olive-hda",
                "-device",
                "hda-duplex,bus=olive-hda.0,audiodev=olive-snd",
            ]),
            other => {
                let d = format!("{},audiodev=olive-snd", other.qemu_name());
                push(&["-device", &d]);
            }
        }
    }
    if hw.tablet {
        push(&[
            "-device",
            "qemu-xhci,id=olive-xhci",
            "-device",
            "usb-tablet,bus=olive-xhci.0",
        ]);
    }
    let qmp = format!("unix:{},server=on,wait=off", esc(&paths.qmp_socket));
    push(&["-qmp", &qmp]);
    let mon = format!(
        "socket,id=olive-spice-mon,path={},server=on,wait=off",
        esc(&paths.spice_monitor)
    );
    push(&[
        "-chardev",
        &mon,
        "-mon",
        "chardev=olive-spice-mon,mode=control",
    ]);
    if incoming {
        // Wait for `migrate-incoming`, and stay paused after it so the image's checksum
        // is verified before the guest runs a single instruction.
        push(&["-incoming", "defer", "-S"]);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Disk, Hardware};

    fn machine() -> Machine {
        let hw = Hardware {
            machine_type: Some("pc".into()),
            display: Display::Qxl,
            sound: Some(SoundDevice::Ac97),
            ..Hardware::new(256, 2)
        };
        Machine::new(hw, Disk::File("/d/disk.qcow2".into()))
    }

    #[test]
    fn args_are_locked_down() {
        let p = InstancePaths::new("/data/instances/x,y".into());
        let a = qemu_args(&machine(), &p, Resolved::Tcg, "olive-x", false).join(" ");
        for want in [
            "-nodefaults",
            "-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
            "-accel tcg",
            "-m 256",
            "-smp 2",
            "-machine pc",
            "-vga qxl",
            "-display none",
            "-monitor none",
            "-serial none",
            "-nic none",
            "-audiodev spice,id=olive-snd",
            "-device AC97,audiodev=olive-snd",
            "file=/data/instances/x,,y/disk.qcow2",
            "password-secret=olive-spice-pw",
        ] {
            assert!(a.contains(want), "missing {want:?} in {a}");
        }
        assert!(!a.contains("nographic"));
    }

    #[test]
    fn resume_differs_only_by_incoming() {
        // A migration stream loads only into the machine it was saved from: the resume
        // command line is the cold one plus `-incoming defer -S`, nothing else.
        let p = InstancePaths::new("/x".into());
        let cold = qemu_args(&machine(), &p, Resolved::Tcg, "n", false);
        let warm = qemu_args(&machine(), &p, Resolved::Tcg, "n", true);
        assert_eq!(warm[..cold.len()], cold[..]);
        assert_eq!(warm[cold.len()..], ["-incoming", "defer", "-S"]);
    }

    #[test]
    fn network_is_restricted() {
        let mut m = machine();
        m.hardware.network = true;
        let p = InstancePaths::new("/x".into());
        let a = qemu_args(&m, &p, Resolved::Kvm, "n", false).join(" ");
        assert!(a.contains("user,id=olive-net,restrict=on"), "{a}");
        assert!(!a.contains("-nic none"));
    }
}
