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

/// The README's command through a gateway configured as `cargo xtask demo` configures one
/// (only its own page allowed as a WebSocket origin): `spice-snapshot --gateway
/// ws://HOST:PORT/ws --token … --password …` sends no `Origin`, as every native client,
/// and must get the guest's screen, equal to QEMU's screendump.
#[test]
fn snapshot_through_the_gateway_as_the_readme_says() {
    use olive_tests::gateway::{GwItem, TestGateway};

    let _lock = olive_tests::qemu_lock();
    let scratch = olive_tests::Scratch::new("snapshot-gw");
    let dist = scratch.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let gw = TestGateway::start(scratch.path(), &dist, &[GwItem::qxl("guest", "text")])
            .await
            .expect("start the gateway");
        let result = tokio::time::timeout(Duration::from_secs(240), async {
            let created = gw.server().registry().create("guest").expect("instance");
            gw.wait_serial(&created.id, "OLIVE-GUEST-READY", Duration::from_secs(120))
                .await
                .expect("guest ready");
            let ws = format!("{}/ws", gw.url().replacen("http://", "ws://", 1));
            let out = scratch.join("gw-snap.png");
            let out_s = out.to_str().unwrap().to_owned();
            let mut last = String::new();
            for _ in 0..4 {
                let args = [
                    "--gateway".to_owned(),
                    ws.clone(),
                    "--token".to_owned(),
                    created.token.clone(),
                    "--password".to_owned(),
                    created.spice_password.clone(),
                    "--settle-ms".to_owned(),
                    "400".to_owned(),
                    "--out".to_owned(),
                    out_s.clone(),
                ];
                let run = tokio::task::spawn_blocking(move || {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    snapshot(&args)
                })
                .await
                .unwrap();
                assert!(
                    run.status.success(),
                    "spice-snapshot --gateway failed: {}",
                    String::from_utf8_lossy(&run.stderr)
                );
                let stdout = String::from_utf8_lossy(&run.stdout);
                assert!(stdout.contains("surface: 1024x768"), "summary: {stdout}");
                let dump = gw.screendump(&created.id).expect("screendump");
                let diff = compare(&load_png(&out), &dump);
                if diff.is_identical() {
                    return Ok(());
                }
                last = diff.to_string();
            }
            Err(last)
        })
        .await;
        gw.shutdown().await;
        match result {
            Err(_) => panic!("timed out"),
            Ok(Err(diff)) => panic!("PNG through the gateway differs from the screendump: {diff}"),
            Ok(Ok(())) => {}
        }
    });
}
