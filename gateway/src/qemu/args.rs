//! QEMU's command line for a machine: pure, so the hardening can be tested without QEMU.

use std::path::Path;

use super::accel::Resolved;
use super::paths::InstancePaths;
use crate::model::{Machine, Mouse, SoundDevice};

/// The one audiodev every sound card plays into: QEMU's mixer adds the cards up into the
/// single SPICE playback stream.
const AUDIODEV: &str = "olive-snd";

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
    // One `-machine`: the type first (QEMU's implied key), then the PC speaker, which is a
    // board device routed by a machine property rather than a `-device`.
    let mut board: Vec<String> = hw.machine_type.iter().cloned().collect();
    if hw.sound.contains(SoundDevice::Pcspk) {
        board.push(format!("pcspk-audiodev={AUDIODEV}"));
    }
    if !board.is_empty() {
        push(&["-machine", &board.join(",")]);
    }
    push(&["-accel", accel.as_arg()]);
    push(&["-m", &hw.memory_mb.to_string()]);
    push(&["-smp", &hw.vcpus.to_string()]);
    match hw.vga_memory_mb {
        // `-vga` as before this option existed, so older memory images still load.
        None => push(&["-vga", hw.display.vga_name()]),
        Some(mb) => {
            let dev = format!("{},vgamem_mb={mb}", hw.display.device_name());
            push(&["-vga", "none", "-device", &dev]);
        }
    }
    push(&["-display", "none", "-monitor", "none", "-parallel", "none"]);
    let drive = format!(
        "file={},format=qcow2,if={},index=0,media=disk",
        esc(&paths.overlay),
        hw.disk_bus.qemu_name()
    );
    push(&["-drive", &drive]);
    // Removable media go through their own overlays too: the pristine image is a backing
    // file QEMU only reads. `-nodefaults` leaves both drives out unless given.
    if machine.media.floppy.is_some() {
        let fd = format!(
            "file={},format=qcow2,if=floppy,index=0",
            esc(&paths.floppy_overlay)
        );
        push(&["-drive", &fd]);
    }
    if machine.media.cdrom.is_some() {
        let cd = format!(
            "file={},format=qcow2,if=ide,index=2,media=cdrom",
            esc(&paths.cdrom_overlay)
        );
        push(&["-drive", &cd]);
    }
    if let Some(order) = &hw.boot_order {
        push(&["-boot", &format!("order={}", order.letters())]);
    }
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
    // The clipboard travels through the agent: without one there is nothing to let through.
    let copy_paste = if hw.agent {
        ""
    } else {
        ",disable-copy-paste=on"
    };
    let spice = format!(
        "unix=on,addr={},password-secret=olive-spice-pw{copy_paste},disable-agent-file-xfer=on",
        esc(&paths.spice_socket)
    );
    push(&["-spice", &spice]);
    if hw.agent {
        push(&[
            "-device",
            "virtio-serial-pci,id=olive-vser",
            "-chardev",
            "spicevmc,id=olive-vdagent,name=vdagent",
            "-device",
            "virtserialport,bus=olive-vser.0,chardev=olive-vdagent,name=com.redhat.spice.0",
        ]);
    }
    if !hw.sound.is_empty() {
        push(&["-audiodev", &format!("spice,id={AUDIODEV}")]);
    }
    for dev in hw.sound.iter() {
        match dev {
            SoundDevice::Pcspk => {} // on `-machine` above
            SoundDevice::IntelHda => push(&[
                "-device",
                "intel-hda,id=olive-hda",
                "-device",
                &format!("hda-duplex,bus=olive-hda.0,audiodev={AUDIODEV}"),
            ]),
            other => {
                let d = format!("{},audiodev={AUDIODEV}", other.qemu_name());
                push(&["-device", &d]);
            }
        }
    }
    if hw.mouse == Mouse::Tablet {
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
    use crate::model::{BootOrder, Disk, Display, Hardware, Media, SoundCards};

    fn machine() -> Machine {
        let hw = Hardware {
            machine_type: Some("pc".into()),
            display: Display::Qxl,
            sound: SoundCards::new([SoundDevice::Ac97]).unwrap(),
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

    /// The machine of an item that sets none of the period-hardware options.
    fn plain() -> Machine {
        Machine::new(Hardware::new(256, 1), Disk::File("/d/disk.qcow2".into()))
    }

    fn args_of(m: &Machine) -> String {
        let p = InstancePaths::new("/i".into());
        qemu_args(m, &p, Resolved::Tcg, "n", false).join(" ")
    }

    #[test]
    fn defaults_give_the_command_line_saved_images_were_made_on() {
        // Memory images of existing packages load only into this exact machine.
        let want = "-name n -nodefaults -no-user-config \
            -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny \
            -accel tcg -m 256 -smp 1 -vga std -display none -monitor none -parallel none \
            -drive file=/i/disk.qcow2,format=qcow2,if=ide,index=0,media=disk -serial none \
            -nic none -object secret,id=olive-spice-pw,file=/i/spice.pw \
            -spice unix=on,addr=/i/spice.sock,password-secret=olive-spice-pw,disable-copy-paste=on,disable-agent-file-xfer=on \
            -device qemu-xhci,id=olive-xhci -device usb-tablet,bus=olive-xhci.0 \
            -qmp unix:/i/qmp.sock,server=on,wait=off \
            -chardev socket,id=olive-spice-mon,path=/i/spice-mon.sock,server=on,wait=off \
            -mon chardev=olive-spice-mon,mode=control";
        let want: Vec<&str> = want.split_whitespace().collect();
        assert_eq!(args_of(&plain()), want.join(" "));
    }

    #[test]
    fn display_and_video_memory() {
        let mut m = plain();
        m.hardware.display = Display::Cirrus;
        assert!(
            args_of(&m).contains("-vga cirrus -display"),
            "{}",
            args_of(&m)
        );
        m.hardware.vga_memory_mb = Some(8);
        let a = args_of(&m);
        assert!(
            a.contains("-vga none -device cirrus-vga,vgamem_mb=8 "),
            "{a}"
        );
        m.hardware.display = Display::Qxl;
        m.hardware.vga_memory_mb = Some(64);
        assert!(args_of(&m).contains("-device qxl-vga,vgamem_mb=64 "));
        m.hardware.display = Display::Std;
        assert!(args_of(&m).contains("-device VGA,vgamem_mb=64 "));
    }

    #[test]
    fn every_sound_card_plays_into_one_spice_audiodev() {
        use SoundDevice::*;
        let mut m = plain();
        m.hardware.sound = SoundCards::new([Pcspk, Adlib, Sb16, Es1370, Ac97, IntelHda]).unwrap();
        let a = args_of(&m);
        assert_eq!(a.matches("-audiodev ").count(), 1, "{a}");
        for want in [
            "-machine pcspk-audiodev=olive-snd ",
            "-audiodev spice,id=olive-snd ",
            "-device sb16,audiodev=olive-snd ",
            "-device adlib,audiodev=olive-snd ",
            "-device es1370,audiodev=olive-snd ",
            "-device AC97,audiodev=olive-snd ",
            "-device intel-hda,id=olive-hda -device hda-duplex,bus=olive-hda.0,audiodev=olive-snd ",
        ] {
            assert!(a.contains(want), "missing {want:?} in {a}");
        }
        // The PC speaker joins the machine type in the one `-machine`.
        m.hardware.machine_type = Some("pc-i440fx-7.2".into());
        m.hardware.sound = SoundCards::new([Pcspk]).unwrap();
        let a = args_of(&m);
        assert!(
            a.contains("-machine pc-i440fx-7.2,pcspk-audiodev=olive-snd "),
            "{a}"
        );
        assert_eq!(a.matches("-machine").count(), 1, "{a}");
        assert!(!a.contains("-device pcspk"), "{a}");
        assert!(!args_of(&plain()).contains("audiodev"));
    }

    #[test]
    fn a_ps2_mouse_means_no_tablet() {
        let mut m = plain();
        m.hardware.mouse = Mouse::Ps2;
        let a = args_of(&m);
        assert!(!a.contains("usb-tablet") && !a.contains("qemu-xhci"), "{a}");
    }

    #[test]
    fn media_get_their_own_overlays_and_boot_order() {
        let mut m = plain().with_media(Media {
            floppy: Some("/m/dos.img".into()),
            cdrom: Some("/m/win.iso".into()),
        });
        m.hardware.boot_order = Some(BootOrder::parse("ac").unwrap());
        let a = args_of(&m);
        for want in [
            "-drive file=/i/floppy.qcow2,format=qcow2,if=floppy,index=0 ",
            "-drive file=/i/cdrom.qcow2,format=qcow2,if=ide,index=2,media=cdrom ",
            "-boot order=ac ",
        ] {
            assert!(a.contains(want), "missing {want:?} in {a}");
        }
        // QEMU sees only the overlays, never the pristine images.
        assert!(!a.contains("/m/"), "{a}");
        let a = args_of(&plain());
        assert!(!a.contains("if=floppy") && !a.contains("-boot"), "{a}");
    }

    #[test]
    fn the_agent_gets_its_port_and_the_clipboard() {
        let mut m = plain();
        m.hardware.agent = true;
        let a = args_of(&m);
        for want in [
            "-device virtio-serial-pci,id=olive-vser ",
            "-chardev spicevmc,id=olive-vdagent,name=vdagent ",
            "-device virtserialport,bus=olive-vser.0,chardev=olive-vdagent,name=com.redhat.spice.0 ",
        ] {
            assert!(a.contains(want), "missing {want:?} in {a}");
        }
        assert!(!a.contains("disable-copy-paste"), "{a}");
        assert!(a.contains("disable-agent-file-xfer=on"), "{a}");
        assert!(args_of(&plain()).contains("disable-copy-paste=on"));
    }

    #[test]
    fn a_virtio_guest_gets_its_disk_on_virtio() {
        let mut m = plain();
        m.hardware.disk_bus = crate::model::DiskBus::Virtio;
        let a = args_of(&m);
        assert!(
            a.contains("format=qcow2,if=virtio,index=0,media=disk"),
            "{a}"
        );
        assert!(args_of(&plain()).contains("if=ide,index=0,media=disk"));
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
