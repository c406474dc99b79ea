//! Boots the test guest under QEMU (qxl, then std VGA) and checks its serial protocol, its
//! scenes (via QMP screendump), sound and the hardware cursor command.

use olive_tests::{compare, ensure_guest, qemu_lock, Qemu, QemuConfig, Rgba, Vga};
use std::time::Duration;

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const CMD_TIMEOUT: Duration = Duration::from_secs(15);

/// The colours of `scene flat`: a 4x2 grid of (W/4)x(H/2) blocks, row-major.
const FLAT: [[u8; 3]; 8] = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [255, 255, 0],
    [0, 255, 255],
    [255, 0, 255],
    [255, 255, 255],
    [128, 128, 128],
];

fn flat_expectations(w: u32, h: u32) -> Vec<(u32, u32, [u8; 3])> {
    let (bw, bh) = (w / 4, h / 2);
    let mut v = Vec::new();
    for (i, c) in FLAT.iter().enumerate() {
        let (col, row) = (i as u32 % 4, i as u32 / 4);
        let (x0, y0) = (col * bw, row * bh);
        let (x1, y1) = (
            if col == 3 { w - 1 } else { x0 + bw - 1 },
            if row == 1 { h - 1 } else { y0 + bh - 1 },
        );
        for (x, y) in [
            (x0, y0),
            (x1, y0),
            (x0, y1),
            (x1, y1),
            ((x0 + x1) / 2, (y0 + y1) / 2),
        ] {
            v.push((x, y, *c));
        }
    }
    v
}

fn flat_matches(img: &Rgba) -> bool {
    flat_expectations(img.width, img.height)
        .iter()
        .all(|&(x, y, c)| img.rgb(x, y) == c)
}

#[test]
fn qxl_guest_scenes_sound_cursor() {
    let images = ensure_guest().expect("build the test guest");
    let _lock = qemu_lock();
    let cfg = QemuConfig {
        images: Some(images),
        ..QemuConfig::new(Vga::Qxl)
    };
    let mut q = Qemu::launch(&cfg).expect("launch QEMU");
    let ready = q.wait_ready(READY_TIMEOUT).expect("ready marker");
    eprintln!("qxl guest ready after {:?}: {}", ready.elapsed, ready.line);
    assert!(ready.elapsed < READY_TIMEOUT);
    assert_eq!(ready.fb, Some((1024, 768, 32)), "{}", ready.line);
    assert!(ready.dsp && ready.dri, "{}", ready.line);

    let echo = q.command("echo hello olive", CMD_TIMEOUT).unwrap();
    assert_eq!(echo, "OK echo");
    let lines = q.serial_lines();
    assert!(lines.iter().any(|l| l == "ECHO hello olive"), "{lines:#?}");

    for scene in ["flat", "text", "gradient", "moving", "console"] {
        let ok = q.command(&format!("scene {scene}"), CMD_TIMEOUT).unwrap();
        assert!(ok.starts_with(&format!("OK scene {scene}")), "{ok}");
        let img = q.screendump().unwrap();
        assert_eq!((img.width, img.height), (1024, 768), "scene {scene}");
    }

    q.command("scene flat", CMD_TIMEOUT).unwrap();
    let img = q
        .screendump_until(flat_matches, Duration::from_secs(10))
        .unwrap();
    for (x, y, c) in flat_expectations(1024, 768) {
        assert_eq!(img.rgb(x, y), c, "pixel ({x},{y})");
    }
    // Stable: a second dump is identical.
    let again = q.screendump().unwrap();
    assert!(
        compare(&img, &again).is_identical(),
        "{}",
        compare(&img, &again)
    );

    // The moving scene animates.
    q.command("scene moving", CMD_TIMEOUT).unwrap();
    let a = q.screendump().unwrap();
    let b = q
        .screendump_until(|b| !compare(&a, b).is_identical(), Duration::from_secs(10))
        .expect("moving scene changes");
    assert!(compare(&a, &b).differing_pixels > 100);
    q.command("scene console", CMD_TIMEOUT).unwrap();

    let tone = q.command("tone 440 200", CMD_TIMEOUT).unwrap();
    assert!(tone.starts_with("OK tone 440 200"), "{tone}");

    let arrow = q.command("cursor arrow", CMD_TIMEOUT).unwrap();
    assert!(arrow.contains("size=64x64 hot=0,0"), "{arrow}");
    let cross = q.command("cursor cross", CMD_TIMEOUT).unwrap();
    assert!(cross.contains("size=64x64 hot=32,32"), "{cross}");
    q.command("cursor move 100 200", CMD_TIMEOUT).unwrap();

    let bad = q.try_command("scene nope", CMD_TIMEOUT).unwrap();
    assert!(bad.is_err(), "{bad:?}");

    // Input arrives on the serial port: keyboard via QMP (PS/2), tablet once USB enumerated.
    q.wait_serial_where(
        Default::default(),
        |l| l.starts_with("INPUT add") && l.contains("type=abs"),
        READY_TIMEOUT,
        "the USB tablet",
    )
    .unwrap();
    let mark = q.serial_mark();
    q.qmp()
        .input_send_event(serde_json::json!([
            {"type": "key", "data": {"down": true, "key": {"type": "qcode", "data": "a"}}},
        ]))
        .unwrap();
    q.qmp()
        .input_send_event(serde_json::json!([
            {"type": "key", "data": {"down": false, "key": {"type": "qcode", "data": "a"}}},
        ]))
        .unwrap();
    q.wait_for_serial_since(mark, "EV KEY code=30 value=1", CMD_TIMEOUT)
        .unwrap();
    q.wait_for_serial_since(mark, "EV KEY code=30 value=0", CMD_TIMEOUT)
        .unwrap();
    let mark = q.serial_mark();
    // 512 px of 1024 → 16383 (QEMU: x * 0x7fff / width).
    q.qmp()
        .input_send_event(serde_json::json!([
            {"type": "abs", "data": {"axis": "x", "value": 16383}},
            {"type": "abs", "data": {"axis": "y", "value": 8191}},
        ]))
        .unwrap();
    let (abs, _) = q
        .wait_for_serial_since(mark, "EV ABS", CMD_TIMEOUT)
        .unwrap();
    assert_eq!(abs, "EV ABS x=16383 y=8191 px=512 py=192");

    assert_eq!(q.qmp().query_status().unwrap(), "running");
}

#[test]
fn std_vga_guest_text_mode() {
    let images = ensure_guest().expect("build the test guest");
    let _lock = qemu_lock();
    let cfg = QemuConfig {
        images: Some(images),
        ..QemuConfig::new(Vga::Std)
    };
    let mut q = Qemu::launch(&cfg).expect("launch QEMU");
    let ready = q.wait_ready(READY_TIMEOUT).expect("ready marker");
    eprintln!(
        "std-VGA guest ready after {:?}: {}",
        ready.elapsed, ready.line
    );
    assert!(ready.elapsed < READY_TIMEOUT);
    assert_eq!(ready.fb, None, "{}", ready.line);

    assert_eq!(q.command("echo text mode", CMD_TIMEOUT).unwrap(), "OK echo");
    for scene in ["flat", "text", "gradient", "moving", "console"] {
        let ok = q.command(&format!("scene {scene}"), CMD_TIMEOUT).unwrap();
        assert!(ok.starts_with(&format!("OK scene {scene}")), "{ok}");
        let img = q.screendump().unwrap();
        assert_eq!((img.width, img.height), (720, 400), "scene {scene}");
    }
    // VGA text flat scene: 4x2 blocks of the VGA palette (6-bit DAC: 0xa8 = 42 * 4) (red, green, blue, brown / cyan,
    // magenta, light grey, black).
    q.command("scene flat", CMD_TIMEOUT).unwrap();
    let img = q
        .screendump_until(
            |i| i.rgb(10, 10) == [0xa8, 0, 0] && i.rgb(710, 390) == [0, 0, 0],
            Duration::from_secs(10),
        )
        .unwrap();
    assert_eq!(img.rgb(190, 10), [0, 0xa8, 0]);
    assert_eq!(img.rgb(10, 390), [0, 0xa8, 0xa8]);
    q.command("scene console", CMD_TIMEOUT).unwrap();
    // No DRM device in text mode: the cursor command fails cleanly.
    assert!(q.try_command("cursor arrow", CMD_TIMEOUT).unwrap().is_err());
}

#[test]
fn ppm_parse_and_compare() {
    let data = b"P6\n# comment\n2 1\n255\n\x01\x02\x03\x04\x05\x06";
    let img = Rgba::from_ppm(data).unwrap();
    assert_eq!(img.pixel(1, 0), [4, 5, 6, 255]);
    assert_eq!(Rgba::from_ppm(&img.to_ppm()).unwrap(), img);
    let mut other = img.clone();
    other.pixels[4] = 9;
    let d = compare(&img, &other);
    assert_eq!(d.differing_pixels, 1);
    assert_eq!(d.first_diff, Some((1, 0)));
    assert!(olive_tests::compare_with_tolerance(&img, &other, 5).is_identical());
    assert!(compare(&img, &Rgba::filled(1, 1, [0, 0, 0, 255])).size_mismatch);
}
