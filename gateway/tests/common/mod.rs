//! What the gateway's QEMU-backed tests share: scratch directories that take their QEMUs
//! with them, a pristine blank disk, the catalog item that boots the test guest, launch
//! events, and the tools that build VMNetX packages as `vmnetx-generate` did.

// Each test binary uses its own subset.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use olive_gateway::net::control::ControlEvent;
use olive_gateway::qemu::Launcher;
use olive_gateway::{Config, Server};

pub(crate) use olive_test_support::Scratch;

/// The admin key of every test configuration.
pub(crate) const KEY: &str = "test-secret-key-0123456789";

/// A fresh scratch directory named after `tag`, with `blank.qcow2` in it. Dropping it
/// (also when a test panics) kills every QEMU started under it.
pub(crate) fn scratch(tag: &str) -> Scratch {
    let s = Scratch::new(&format!("gw-{tag}"));
    blank_disk(s.path());
    s
}

/// A `gateway.toml` on ephemeral ports with its data under `data`, TCG, the settings
/// `top` and the `[limits]` table `limits`; add items after it.
pub(crate) fn gateway_toml(top: &str, limits: &str) -> String {
    format!(
        r#"
listen = "127.0.0.1:0"
token_port = 0
secret_key = "{KEY}"
data_dir = "data"
{top}

[limits]
{limits}

[qemu]
accelerator = "tcg"
"#
    )
}

/// Writes `text` as `dir/name` and loads it (packages opened, as the gateway does).
pub(crate) fn load(dir: &Path, name: &str, text: &str) -> Config {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    Config::load(&path).unwrap()
}

/// A launcher with `cfg`'s binaries on TCG (the only accelerator tests may use).
pub(crate) fn tcg_launcher(cfg: &Config) -> Launcher {
    Launcher {
        qemu: cfg.qemu_binary.clone(),
        qemu_img: cfg.qemu_img.clone(),
        accel: olive_gateway::qemu::accel::Resolved::Tcg,
    }
}

/// The `startup-progress` fractions among `events`, in order.
pub(crate) fn progress_fractions(events: &[ControlEvent]) -> Vec<f64> {
    events
        .iter()
        .filter_map(|e| match e {
            ControlEvent::StartupProgress { fraction } => Some(*fraction),
            _ => None,
        })
        .collect()
}

/// Checks that a launch resumed its memory image: progress rising within 0..=1 to 1, then
/// `vm-started` telling the client to check the display, no `startup-rejected-memory`.
/// Returns the progress fractions.
pub(crate) fn assert_resumed(events: &[ControlEvent]) -> Vec<f64> {
    let fractions = progress_fractions(events);
    assert!(!fractions.is_empty(), "no startup-progress: {events:?}");
    assert!(
        fractions.windows(2).all(|w| w[0] <= w[1]),
        "fractions not monotonic: {fractions:?}"
    );
    assert!(
        fractions.iter().all(|f| (0.0..=1.0).contains(f)),
        "{fractions:?}"
    );
    assert_eq!(fractions.last(), Some(&1.0), "{fractions:?}");
    assert_eq!(
        events.last(),
        Some(&ControlEvent::VmStarted {
            check_display: true
        }),
        "{events:?}"
    );
    assert!(
        !events.contains(&ControlEvent::StartupRejectedMemory),
        "{events:?}"
    );
    fractions
}

/// QEMU's own framebuffer of instance `id` (QMP screendump).
pub(crate) fn screendump(server: &Server, id: &str) -> olive_tests::ppm::Rgba {
    let dir = server.registry().get(id).unwrap().dir().to_path_buf();
    let mut qmp =
        olive_tests::qmp::Qmp::connect(dir.join("qmp.sock"), Duration::from_secs(10)).expect("QMP");
    qmp.screendump(dir.join("test-screen.ppm"))
        .expect("screendump")
}

/// What instance `id`'s guest wrote to its serial console so far.
pub(crate) fn serial_log(server: &Server, id: &str) -> String {
    let dir = server.registry().get(id).unwrap().dir().to_path_buf();
    std::fs::read_to_string(dir.join("serial.log")).unwrap_or_default()
}

/// Events of one launch of `item`, up to and including `vm-started` (or a failure).
pub(crate) async fn launch_events(server: &Server, item: &str) -> (String, Vec<ControlEvent>) {
    let created = server.registry().create(item).unwrap();
    let handle = server.registry().handle(&created.id).unwrap();
    let mut rx = handle.subscribe();
    let mut events = Vec::new();
    loop {
        let e = tokio::time::timeout(Duration::from_secs(120), rx.recv())
            .await
            .expect("no vm-started within 120 s")
            .expect("event stream closed");
        let done = matches!(
            e,
            ControlEvent::VmStarted { .. } | ControlEvent::StartupFailed { .. }
        );
        events.push(e);
        if done {
            return (created.id, events);
        }
    }
}

/// Creates `dir/blank.qcow2`, the pristine image instances overlay.
pub(crate) fn blank_disk(dir: &Path) {
    let st = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(dir.join("blank.qcow2"))
        .arg("64M")
        .status()
        .expect("qemu-img (package qemu-utils) must be installed");
    assert!(st.success());
}

/// The `[[item]]` "guest": the test guest on std VGA, booted from its kernel and initrd.
pub(crate) fn guest_item() -> String {
    let g = olive_tests::ensure_guest().expect("test guest");
    format!(
        r#"
[[item]]
id = "guest"
title = "Test guest"
creator = "Olive"
year = 2024
[item.machine]
disk = "blank.qcow2"
memory_mb = 256
display = "std"
tablet = false
kernel = "{}"
initrd = "{}"
append = "{}"
"#,
        g.kernel.display(),
        g.initrd.display(),
        olive_tests::qemu::KERNEL_CMDLINE
    )
}

/// The domain `vmnetx-generate create` defines (DomainXML.get_template), as stored in packages.
pub(crate) const VMNETX_DOMAIN: &str = r#"<domain type="kvm">
  <name>machine</name>
  <uuid>5b0e9f2c-55b4-4d3c-9b43-9d0f8c2a6e11</uuid>
  <memory unit="KiB">524288</memory>
  <currentMemory unit="KiB">524288</currentMemory>
  <vcpu placement="static">1</vcpu>
  <os>
    <type arch="x86_64" machine="pc">hvm</type>
    <boot dev="hd"/>
  </os>
  <features><acpi/><apic/><pae/></features>
  <cpu mode="custom" match="exact"><model fallback="allow">kvm64</model></cpu>
  <clock offset="localtime"><timer name="rtc" track="guest"/></clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-kvm</emulator>
    <disk type="file" device="disk">
      <driver name="qemu" type="qcow2"/>
      <source file="/disk.img"/>
      <target dev="hda" bus="ide"/>
      <address type="drive" controller="0" bus="0" target="0" unit="0"/>
    </disk>
    <controller type="usb" index="0"/>
    <controller type="ide" index="0"/>
    <interface type="user">
      <mac address="02:12:34:56:78:9a"/>
      <model type="e1000"/>
    </interface>
    <input type="mouse" bus="ps2"/>
    <input type="tablet" bus="usb"/>
    <graphics type="spice" autoport="yes"/>
    <sound model="ac97"/>
    <video><model type="qxl" vram="65536" heads="1"/></video>
    <memballoon model="virtio"/>
  </devices>
</domain>"#;

pub(crate) fn run(cmd: &str, args: &[&str]) {
    let out = std::process::Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A stored zip made with Python's zipfile, as VMNetX's `vmnetx-generate` did.
pub(crate) fn python_zip(out: &Path, members: &[(&str, &Path)]) {
    let mut args = vec![
        "-c".to_string(),
        "import sys,zipfile\nz=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_STORED,allowZip64=True)\nfor n,p in zip(sys.argv[2::2],sys.argv[3::2]): z.write(p,arcname=n)\nz.close()".to_string(),
        out.display().to_string(),
    ];
    for (name, path) in members {
        args.push(name.to_string());
        args.push(path.display().to_string());
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    run("python3", &a);
}

pub(crate) fn xz(data: &[u8]) -> Vec<u8> {
    let mut child = std::process::Command::new("xz")
        .args(["-3", "-c", "-T1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("xz");
    let mut stdin = child.stdin.take().unwrap();
    let input = data.to_vec();
    let w = std::thread::spawn(move || stdin.write_all(&input));
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    w.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success());
    out
}
