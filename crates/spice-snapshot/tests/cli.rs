//! The `spice-snapshot` command as a user runs it, against the qxl test guest: the PNG it
//! writes must equal QEMU's own screendump, and failures must be one clear line.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use olive_tests::ppm::{compare, Rgba};
use olive_tests::qemu::{Qemu, QemuConfig, Vga};

const PASSWORD: &str = "snapshot-pw";

fn snapshot(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_spice-snapshot"))
        .args(args)
        .output()
        .expect("run spice-snapshot")
}

fn load_png(path: &Path) -> Rgba {
    Rgba::load(path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn snapshot_of_qxl_guest_equals_screendump() {
    let config = QemuConfig {
        spice_password: Some(PASSWORD.into()),
        ..QemuConfig::new(Vga::Qxl)
    };
    let mut qemu = Qemu::launch_locked(&config).expect("launch QEMU");
    qemu.wait_ready(Duration::from_secs(60))
        .expect("guest ready");
    qemu.command("scene text", Duration::from_secs(20))
        .expect("scene");
    let socket = format!("unix:{}", qemu.spice_socket().display());
    let out = qemu.dir().join("snap.png");
    let out_s = out.to_str().unwrap();

    let mut last = String::new();
    let mut identical = false;
    for _ in 0..4 {
        let run = snapshot(&[
            "--connect",
            &socket,
            "--password",
            PASSWORD,
            "--settle-ms",
            "400",
            "--out",
            out_s,
        ]);
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "spice-snapshot failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(stdout.contains("surface: 1024x768"), "summary: {stdout}");
        assert!(
            stdout.contains("display/DRAW_COPY"),
            "summary lists messages: {stdout}"
        );
        assert!(
            stdout.contains("LZ_RGB") || stdout.contains("BITMAP"),
            "summary lists codecs: {stdout}"
        );
        let dump = qemu.screendump().expect("screendump");
        let diff = compare(&load_png(&out), &dump);
        if diff.is_identical() {
            identical = true;
            break;
        }
        last = diff.to_string();
    }
    assert!(identical, "PNG differs from the screendump: {last}");

    let wrong = snapshot(&["--connect", &socket, "--password", "nope", "--out", out_s]);
    assert!(!wrong.status.success());
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("permission denied (wrong password?)"), "{err}");
}

#[test]
fn missing_socket_is_one_clear_line() {
    let run = snapshot(&[
        "--connect",
        "unix:/nonexistent/olive.sock",
        "--out",
        "/tmp/x.png",
        "--timeout-s",
        "5",
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("cannot connect to /nonexistent/olive.sock"),
        "{err}"
    );
    let bad = snapshot(&["--connect", "http://x", "--out", "/tmp/x.png"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unix:PATH or tcp:HOST:PORT"));
}
