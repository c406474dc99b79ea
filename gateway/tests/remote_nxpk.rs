//! VMNetX `.nxpk` packages as collection items, served over HTTP, against real QEMU (TCG): a
//! `vmnetx+http://` item without a memory image cold-boots from the package's disk (exported
//! over NBD out of the remote zip); its running state, saved and wrapped as VMNetX does
//! (libvirt save header, xz), makes a second package that an `http://….nxpk` item resumes
//! to the same screen, the memory image streamed in one GET through the unwrapper.
// Real QEMU and real servers: the waits poll real processes on the wall clock.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;
mod range_server;

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use olive_gateway::codec::libvirt::{self as memory, Compression};
use olive_gateway::net::control::ControlEvent;
use olive_gateway::{Config, Server};
use range_server::RangeServer;
use serde_json::json;

/// `<dir>/<name>.nxpk` with a blank qcow2 disk and, if given, a wrapped memory image.
fn build_nxpk(dir: &Path, name: &str, memory_img: Option<&[u8]>) -> Vec<u8> {
    let manifest = dir.join("vmnetx-package.xml");
    let mem_line = if memory_img.is_some() {
        "\n  <memory path=\"memory.img\"/>"
    } else {
        ""
    };
    std::fs::write(
        &manifest,
        format!(
            r#"<?xml version='1.0' encoding='UTF-8'?>
<image xmlns="http://olivearchive.org/xmlns/vmnetx/package" name="Olive nxpk {name}">
  <domain path="domain.xml"/>
  <disk path="disk.img"/>{mem_line}
</image>"#
        ),
    )
    .unwrap();
    let domain = dir.join("domain.xml");
    std::fs::write(&domain, common::VMNETX_DOMAIN).unwrap();
    let disk = dir.join("nx-disk.qcow2");
    if !disk.exists() {
        common::run(
            "qemu-img",
            &["create", "-q", "-f", "qcow2", disk.to_str().unwrap(), "64M"],
        );
    }
    let mem = dir.join(format!("{name}-memory.img"));
    let mut members = vec![
        ("vmnetx-package.xml", manifest.as_path()),
        ("domain.xml", domain.as_path()),
        ("disk.img", disk.as_path()),
    ];
    if let Some(m) = memory_img {
        std::fs::write(&mem, m).unwrap();
        members.push(("memory.img", mem.as_path()));
    }
    let out = dir.join(format!("{name}.nxpk"));
    common::python_zip(&out, &members);
    std::fs::read(out).unwrap()
}

/// Stops the instance's VM and saves it: (raw migration stream, screen at that moment).
fn save(dir: &Path) -> (Vec<u8>, olive_tests::ppm::Rgba) {
    let mut q =
        olive_tests::qmp::Qmp::connect(dir.join("qmp.sock"), Duration::from_secs(10)).expect("QMP");
    q.execute("stop", None).unwrap();
    let screen = q.screendump(dir.join("test-screen.ppm")).unwrap();
    let sock = dir.join("test-mig.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let reader = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        conn.read_to_end(&mut buf).map(|_| buf)
    });
    q.execute(
        "migrate-set-parameters",
        Some(json!({ "max-bandwidth": 1u64 << 40 })),
    )
    .unwrap();
    q.execute(
        "migrate",
        Some(json!({ "uri": format!("unix:{}", sock.display()) })),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let st = q.execute("query-migrate", None).unwrap();
        match st["status"].as_str() {
            Some("completed") => break,
            Some("failed") | Some("cancelled") => panic!("migration failed: {st}"),
            _ if Instant::now() > deadline => panic!("migration did not complete: {st}"),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    (reader.join().unwrap().unwrap(), screen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nxpk_items_over_http_cold_boot_and_resume_to_the_saved_screen() {
    let _lock = olive_tests::qemu_lock();
    let s = common::scratch("rnx");
    tokio::time::timeout(Duration::from_secs(400), async {
        let cold = build_nxpk(s.path(), "cold", None);
        let srv = RangeServer::start_dir(&s.join("nonexistent-but-empty")).await;
        srv.insert("cold.nxpk", cold);
        let config = format!(
            r#"
listen = "127.0.0.1:0"
token_port = 0
secret_key = "test-secret-key-0123456789"
data_dir = "data"
trusted_package_hosts = ["127.0.0.1", "*.example.net"]

[limits]
max_memory_mb = 512
max_vcpus = 2

[qemu]
accelerator = "tcg"

[[item]]
id = "cold"
package = "vmnetx+http://{addr}/p/cold.nxpk"

[[item]]
id = "warm"
title = "Saved VMNetX package"
package = "http://{addr}/p/warm.nxpk"
"#,
            addr = srv.addr
        );
        let path = s.join("gateway.toml");
        std::fs::write(&path, config).unwrap();
        let server = Server::start(Config::load(&path).unwrap()).await.unwrap();

        // 1. No memory image: a cold boot from the package's disk (SeaBIOS finds nothing
        //    bootable on the blank disk and says so on screen).
        let (id, events) = common::launch_events(&server, "cold").await;
        assert_eq!(
            events.last(),
            Some(&ControlEvent::VmStarted {
                check_display: false
            }),
            "{events:?}"
        );
        tokio::time::sleep(Duration::from_secs(4)).await;
        let inst_dir = server.registry().get(&id).unwrap().dir().to_path_buf();
        let (stream, screen) = tokio::task::spawn_blocking(move || save(&inst_dir))
            .await
            .unwrap();
        server.registry().destroy(&id).await;
        eprintln!("saved stream: {} bytes", stream.len());

        // 2. That state as a VMNetX memory image: resumed to the same screen.
        let mut mem = memory::wrap_header(common::VMNETX_DOMAIN, Compression::Xz, true);
        mem.extend_from_slice(&common::xz(&stream));
        let warm = build_nxpk(s.path(), "warm", Some(&mem));
        let warm_len = warm.len() as u64;
        srv.insert("warm.nxpk", warm);
        let t0 = Instant::now();
        let (id, events) = common::launch_events(&server, "warm").await;
        let resume_time = t0.elapsed();
        common::assert_resumed(&events);
        let d = server.registry().get(&id).unwrap().dir().to_path_buf();
        let now = tokio::task::spawn_blocking(move || {
            olive_tests::qmp::Qmp::connect(d.join("qmp.sock"), Duration::from_secs(10))
                .unwrap()
                .screendump(d.join("test-screen.ppm"))
                .unwrap()
        })
        .await
        .unwrap();
        let diff = olive_tests::ppm::compare(&screen, &now);
        assert!(diff.is_identical(), "resumed screen differs: {diff:?}");
        let (gets, bytes) = srv.of("warm.nxpk");
        eprintln!(
            "nxpk resume in {resume_time:?}: package {warm_len} bytes (memory image {} bytes), fetched {bytes} in {gets} GETs",
            mem.len()
        );
        server.registry().destroy(&id).await;

        // 3. `GET /launch?package=URL`.
        let base = format!("http://{}", server.http_addr());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let launch = |package: Option<&str>, json: bool| {
            let mut u = reqwest::Url::parse(&format!("{base}/launch")).unwrap();
            if let Some(p) = package {
                u.query_pairs_mut().append_pair("package", p);
            }
            let mut rq = client.get(u);
            if json {
                rq = rq.header("accept", "application/json");
            }
            rq.send()
        };
        assert_eq!(launch(None, false).await.unwrap().status(), 400);
        let r = launch(Some("https://evil.example.org/x.nxpk"), false)
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert!(r.text().await.unwrap().contains("not on the trusted list"));
        let r = launch(Some("http://mirror.example.net/x.nxpk"), false)
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "plain http to a non-loopback host");
        assert_eq!(
            launch(Some("ftp://127.0.0.1/x.nxpk"), false)
                .await
                .unwrap()
                .status(),
            400
        );
        let link = format!("vmnetx+http://{}/p/warm.nxpk", srv.addr);
        let r = launch(Some(&link), false).await.unwrap();
        assert_eq!(r.status(), 302);
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let item = location.strip_prefix("/item/").expect("an item page").to_owned();
        let coll: serde_json::Value = serde_json::from_str(
            &client
                .get(format!("{base}/api/collection"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
        )
        .unwrap();
        let listed = coll["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == item.as_str())
            .unwrap_or_else(|| panic!("{item} not in {coll}"));
        assert_eq!(listed["title"], "Olive nxpk warm", "title from the package");
        let r = launch(Some(&link), true).await.unwrap();
        assert_eq!(r.status(), 201);
        let created: serde_json::Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
        assert_eq!(created["item"], item.as_str(), "the same link, the same item");
        let id = created["id"].as_str().unwrap().to_owned();
        assert!(created["token"].as_str().unwrap().starts_with(&id));
        let handle = server.registry().handle(&id).unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while handle.state() != olive_gateway::net::control::VmState::Running {
            assert!(Instant::now() < deadline, "launched package never ran");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server.registry().destroy(&id).await;
        server.shutdown().await;

        // Without trusted hosts the route does not exist.
        let path = s.join("gateway.toml");
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("trusted_package_hosts = [\"127.0.0.1\", \"*.example.net\"]", "");
        std::fs::write(&path, text).unwrap();
        let server = Server::start(Config::load(&path).unwrap()).await.unwrap();
        let r = client
            .get(format!("http://{}/launch?package=x", server.http_addr()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        server.shutdown().await;
    })
    .await
    .expect("test timed out");
}
