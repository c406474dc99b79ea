//! The kiosk routes against a running gateway, with no VM: a package whose manifest
//! names a memory image and a saved screen (never launched here) is a kiosk title; its
//! public profile carries no PIN; the saved screen comes back as the PNG of the PPM; a
//! wrong PIN is 403, the next attempt 429 with `Retry-After` (even with the right PIN),
//! the right one after the wait 204; an oversized or malformed body is 400, an unknown
//! kiosk 404. The browser side is `tests/tests/browser_kiosk.rs`.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::time::Duration;

use olive_gateway::admin::request;
use olive_gateway::model::{Codec, Hardware};
use olive_gateway::packages::olive::manifest::{
    FileRef, MachineSpec, Manifest, MemoryRef, Metadata, FORMAT, MANIFEST_FILE,
};
use olive_gateway::{Config, Server};

const PIN: &str = "13579";

/// A package directory with a 3x2 saved screen; its disk and memory image are never read.
fn fake_package(dir: &Path) -> Vec<u8> {
    std::fs::create_dir_all(dir).unwrap();
    let mut ppm = b"P6\n3 2\n255\n".to_vec();
    let rgb: Vec<u8> = (0..18u8).map(|i| i * 14).collect();
    ppm.extend_from_slice(&rgb);
    std::fs::write(dir.join("screen.ppm"), &ppm).unwrap();
    let f = |p: &str| FileRef {
        path: p.into(),
        size: 1,
        sha256: "0".repeat(64),
    };
    let m = Manifest {
        format: FORMAT.into(),
        name: "arcade".into(),
        metadata: Metadata {
            title: "Arcade".into(),
            ..Metadata::default()
        },
        machine: MachineSpec::new(&Hardware::new(64, 1), "pc-i440fx-7.2".into(), None),
        qemu_version: String::new(),
        disk: f("disk.qcow2"),
        kernel: None,
        initrd: None,
        floppy: None,
        cdrom: None,
        memory: Some(MemoryRef {
            file: f("memory.lz4"),
            codec: Codec::DEFAULT,
            uncompressed_size: 1,
        }),
        screenshot: Some(f("screen.ppm")),
    };
    std::fs::write(dir.join(MANIFEST_FILE), m.to_json()).unwrap();
    rgb
}

fn config(s: &olive_test_support::Scratch) -> (Config, Vec<u8>) {
    let rgb = fake_package(&s.path().join("arcade"));
    let text = format!(
        "{}\n[[item]]\nid = \"arcade\"\npackage = \"arcade\"\n\n\
         [[kiosk]]\nname = \"hall\"\nitems = [\"arcade\"]\npin = \"{PIN}\"\n",
        common::gateway_toml("", "")
    );
    let path = s.path().join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    (Config::load(&path).unwrap(), rgb)
}

async fn unlock(server: &Server, body: &str) -> (u16, Option<String>) {
    let r = request(
        server.http_addr(),
        "POST",
        "/api/kiosk/hall/unlock",
        None,
        Some(body),
    )
    .await
    .unwrap();
    (r.status, r.header("retry-after").map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_screen_and_a_slowed_down_pin() {
    let s = common::scratch("kiosk");
    let (config, rgb) = config(&s);
    let server = Server::start(config).await.unwrap();
    let addr = server.http_addr();
    let run = async {
        let r = request(addr, "GET", "/api/kiosk/hall", None, None)
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        let p: olive_api::KioskProfile = r.parse().unwrap();
        assert_eq!(p.items[0].id, "arcade");
        assert!(p.items[0].screen);
        assert_eq!((p.attract_secs, p.idle_secs, p.warning_secs), (8, 120, 10));
        assert_eq!(p.staff_chord, "Ctrl+Alt+Shift+K");
        assert!(p.blocked_keys.iter().any(|k| k == "Ctrl+Alt+Delete"));
        assert!(
            !r.body.contains(PIN) && !r.body.contains("pin"),
            "{}",
            r.body
        );
        let missing = request(addr, "GET", "/api/kiosk/nope", None, None)
            .await
            .unwrap();
        assert_eq!(missing.status, 404);

        // The saved screen, as PNG (bytes, so through reqwest directly).
        let png = reqwest::get(format!("http://{addr}/api/items/arcade/screen"))
            .await
            .unwrap();
        assert_eq!(png.status(), 200);
        assert_eq!(png.headers()["content-type"], "image/png");
        let bytes = png.bytes().await.unwrap();
        let mut dec = png::Decoder::new(std::io::Cursor::new(bytes.to_vec()))
            .read_info()
            .unwrap();
        let mut buf = vec![0; dec.output_buffer_size()];
        let info = dec.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (3, 2));
        assert_eq!(&buf[..info.buffer_size()], &rgb[..]);

        // PINs: wrong → 403; at once again, even right → 429 + Retry-After; after it → 204.
        assert_eq!(unlock(&server, r#"{"pin":"00000"}"#).await, (403, None));
        let (status, retry) = unlock(&server, &format!(r#"{{"pin":"{PIN}"}}"#)).await;
        assert_eq!((status, retry.as_deref()), (429, Some("1")));
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(
            unlock(&server, &format!(r#"{{"pin":"{PIN}"}}"#)).await,
            (204, None)
        );
        // Malformed and oversized bodies are refused without counting as guesses.
        assert_eq!(unlock(&server, "{nonsense").await.0, 400);
        let long = format!(r#"{{"pin":"{}"}}"#, "1".repeat(1000));
        assert_eq!(unlock(&server, &long).await.0, 400);
        assert_eq!(
            unlock(&server, &format!(r#"{{"pin":"{PIN}"}}"#)).await,
            (204, None)
        );
        let page = request(addr, "GET", "/kiosk/nope", None, None)
            .await
            .unwrap();
        assert_eq!(page.status, 404);
    };
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("test timed out");
    server.shutdown().await;
}
