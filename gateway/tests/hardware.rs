//! Period hardware against real QEMU (TCG): every combination of display, video memory,
//! sound cards, mouse, floppy, CD-ROM, boot order and guest agent the catalog can ask for
//! is launched through the gateway's own launcher (overlays, command line, readiness),
//! and QEMU's own view of the machine (`info qtree`, `query-block`) shows each device
//! there, or not there, as asked.
//!
//! Run: `cargo test -p olive-gateway --test hardware -- --nocapture` (prints each launch).
// Real QEMU: the waits poll a real process on the wall clock.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use olive_gateway::model::{
    BootOrder, Disk, DiskBus, Display, Hardware, Machine, Media, Mouse, SoundCards, SoundDevice,
};
use olive_gateway::qemu::accel::Resolved;
use olive_gateway::qemu::process::kill_child;
use olive_gateway::qemu::qmp::Qmp;
use olive_gateway::qemu::{InstancePaths, Launcher};
use serde_json::{json, Value};

/// One machine to try, and what QEMU must then have (device names in `info qtree`).
struct Case {
    name: &'static str,
    hardware: Hardware,
    floppy: bool,
    cdrom: bool,
    present: &'static [&'static str],
    absent: &'static [&'static str],
}

fn hw(f: impl FnOnce(&mut Hardware)) -> Hardware {
    let mut h = Hardware::new(64, 1);
    h.machine_type = Some("pc-i440fx-7.2".into());
    f(&mut h);
    h
}

fn cards(c: &[SoundDevice]) -> SoundCards {
    SoundCards::new(c.iter().copied()).unwrap()
}

fn cases() -> Vec<Case> {
    use SoundDevice::*;
    vec![
        Case {
            name: "defaults (std VGA, tablet, no sound)",
            hardware: hw(|_| {}),
            floppy: false,
            cdrom: false,
            present: &["dev: VGA", "dev: usb-tablet", "dev: ide-hd"],
            absent: &["dev: sb16", "dev: virtserialport", "dev: qxl-vga"],
        },
        Case {
            name: "DOS PC: cirrus 8 MiB, SB16 + AdLib + PC speaker, PS/2, floppy, boot a",
            hardware: hw(|h| {
                h.display = Display::Cirrus;
                h.vga_memory_mb = Some(8);
                h.sound = cards(&[Sb16, Adlib, Pcspk]);
                h.mouse = Mouse::Ps2;
                h.boot_order = Some(BootOrder::parse("a").unwrap());
            }),
            floppy: true,
            cdrom: false,
            present: &[
                "dev: cirrus-vga",
                "vgamem_mb = 8",
                "dev: sb16",
                "dev: adlib",
                "audiodev = \"olive-snd\"",
            ],
            absent: &["usb-tablet", "dev: VGA"],
        },
        Case {
            name: "Windows 95: cirrus, ES1370, tablet, CD-ROM, boot dc",
            hardware: hw(|h| {
                h.display = Display::Cirrus;
                h.sound = cards(&[Es1370]);
                h.boot_order = Some(BootOrder::parse("dc").unwrap());
            }),
            floppy: false,
            cdrom: true,
            present: &["dev: cirrus-vga", "dev: ES1370", "dev: usb-tablet"],
            absent: &["dev: sb16"],
        },
        Case {
            name: "X desktop: qxl 64 MiB, AC97 + HDA, agent, virtio disk",
            hardware: hw(|h| {
                h.disk_bus = DiskBus::Virtio;
                h.display = Display::Qxl;
                h.vga_memory_mb = Some(64);
                h.sound = cards(&[Ac97, IntelHda]);
                h.agent = true;
            }),
            floppy: false,
            cdrom: false,
            present: &[
                "dev: qxl-vga",
                "vgamem_mb = 64",
                "dev: AC97",
                "dev: intel-hda",
                "dev: hda-duplex",
                "dev: virtserialport",
                "name = \"com.redhat.spice.0\"",
                "dev: virtio-blk-pci",
            ],
            absent: &["dev: cirrus-vga", "dev: ide-hd"],
        },
        Case {
            name: "everything at once: std 32 MiB, all six cards, both drives, agent, boot acd",
            hardware: hw(|h| {
                h.vga_memory_mb = Some(32);
                h.sound = cards(&[Sb16, Adlib, Pcspk, Es1370, Ac97, IntelHda]);
                h.mouse = Mouse::Ps2;
                h.agent = true;
                h.boot_order = Some(BootOrder::parse("acd").unwrap());
            }),
            floppy: true,
            cdrom: true,
            present: &[
                "dev: VGA",
                "vgamem_mb = 32",
                "dev: sb16",
                "dev: adlib",
                "dev: ES1370",
                "dev: AC97",
                "dev: intel-hda",
                "dev: virtserialport",
            ],
            absent: &["usb-tablet"],
        },
    ]
}

/// A raw image of `size` zero bytes (a blank floppy, an empty CD).
fn raw_image(path: &Path, size: u64) {
    let f = std::fs::File::create(path).unwrap();
    f.set_len(size).unwrap();
}

/// The devices of `block` (from `query-block`) by their QEMU name, with the file QEMU
/// opened and whether it is read-only.
fn drives(block: &Value) -> Vec<(String, String, bool)> {
    block
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| {
            let ins = d.get("inserted")?;
            Some((
                d["device"].as_str()?.to_owned(),
                ins["file"].as_str()?.to_owned(),
                ins["ro"].as_bool()?,
            ))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_accepts_every_period_hardware_combination() {
    let _lock = olive_tests::qemu_lock();
    let s = common::scratch("hw");
    let floppy = s.path().join("dos.img");
    let cdrom = s.path().join("games.iso");
    raw_image(&floppy, 1_474_560);
    raw_image(&cdrom, 1 << 20);
    let launcher = Launcher {
        qemu: "qemu-system-x86_64".into(),
        qemu_img: "qemu-img".into(),
        accel: Resolved::Tcg,
    };
    let t0 = Instant::now();
    tokio::time::timeout(Duration::from_secs(120), async {
        for (i, case) in cases().into_iter().enumerate() {
            let media = Media {
                floppy: case.floppy.then(|| floppy.clone()),
                cdrom: case.cdrom.then(|| cdrom.clone()),
            };
            let machine = Machine::new(case.hardware, Disk::File(s.path().join("blank.qcow2")))
                .with_media(media);
            let paths = InstancePaths::new(s.path().join(format!("i{i}")));
            paths.create_dir().unwrap();
            let started = Instant::now();
            let mut launched = launcher
                .launch(&machine, &paths, "pw", "olive-hw")
                .await
                .unwrap_or_else(|e| panic!("{}: QEMU refused it: {e}", case.name));
            let mut qmp = Qmp::connect(&paths.qmp_socket, Duration::from_secs(10))
                .await
                .unwrap();
            let qtree = qmp
                .execute(
                    "human-monitor-command",
                    Some(json!({ "command-line": "info qtree" })),
                )
                .await
                .unwrap();
            let qtree = qtree.as_str().unwrap_or_default().to_owned();
            let block = drives(&qmp.execute("query-block", None).await.unwrap());
            kill_child(&mut launched.child).await;
            println!("{:>5} ms  {}", started.elapsed().as_millis(), case.name);
            for want in case.present {
                assert!(
                    qtree.contains(want),
                    "{}: no {want:?} in\n{qtree}",
                    case.name
                );
            }
            for not in case.absent {
                assert!(!qtree.contains(not), "{}: {not:?} in\n{qtree}", case.name);
            }
            let pcspk_routed = qtree.contains("dev: isa-pcspk") && {
                let at = qtree.find("dev: isa-pcspk").unwrap();
                qtree[at..].lines().take(6).any(|l| l.contains("olive-snd"))
            };
            assert_eq!(
                pcspk_routed,
                machine.hardware.sound.contains(SoundDevice::Pcspk),
                "{}: PC speaker routing\n{qtree}",
                case.name
            );
            // The drives hold the instance's overlays, never the pristine images.
            let find = |dev: &str| block.iter().find(|(d, _, _)| d == dev).cloned();
            match find("floppy0") {
                Some((_, file, ro)) => {
                    assert!(case.floppy, "{}: unexpected floppy", case.name);
                    assert_eq!(Path::new(&file), paths.floppy_overlay, "{}", case.name);
                    assert!(!ro, "{}: the floppy overlay is writable", case.name);
                }
                None => assert!(!case.floppy, "{}: no floppy in {block:?}", case.name),
            }
            match find("ide1-cd0") {
                Some((_, file, ro)) => {
                    assert!(case.cdrom, "{}: unexpected CD-ROM", case.name);
                    assert_eq!(Path::new(&file), paths.cdrom_overlay, "{}", case.name);
                    assert!(ro, "{}: a CD-ROM is read-only", case.name);
                }
                None => assert!(!case.cdrom, "{}: no CD-ROM in {block:?}", case.name),
            }
        }
    })
    .await
    .expect("the launches took over 2 minutes");
    println!("all combinations: {:.1} s", t0.elapsed().as_secs_f64());
    // The pristine media were only ever backing files.
    assert!(std::fs::read(&floppy).unwrap().iter().all(|&b| b == 0));
}
