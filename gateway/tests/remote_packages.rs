//! Packages served over HTTP, against real QEMU (TCG) and the test guest: an Olive package at
//! an http:// URL resumes to the saved screen while only a small part of its disk is fetched,
//! its memory image arriving in one streamed GET; a server that drops the memory image
//! mid-stream gives the visitor a clear `startup-failed`.
// Real QEMU and real servers: the waits poll real processes on the wall clock.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;
mod range_server;

use common::load;

use std::path::Path;
use std::time::{Duration, Instant};

use olive_gateway::model::Codec;
use olive_gateway::net::control::{ControlEvent, VmState};
use olive_gateway::packages::olive::create;
use olive_gateway::Server;
use olive_tests::ppm::compare;
use range_server::RangeServer;

fn header(extra: &str) -> String {
    common::gateway_toml(extra, "max_memory_mb = 512\nmax_vcpus = 2")
}

/// Packages the test guest at its ready marker into `out`, with 32 MiB of data written to
/// its disk first so the disk is large next to what a resume reads.
async fn make_package(dir: &Path, out: &Path) {
    let st = std::process::Command::new("qemu-io")
        .args(["-f", "qcow2", "-c", "write -P 0x5a 0 32M"])
        .arg(dir.join("blank.qcow2"))
        .output()
        .expect("qemu-io (qemu-utils)");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let cfg = load(dir, "make.toml", &(header("") + &common::guest_item()));
    let launcher = common::tcg_launcher(&cfg);
    let item = cfg.catalog.get("guest").unwrap();
    let opts = create::CreateOptions {
        codec: Codec::Lz4,
        wait: create::WaitFor::Serial("OLIVE-GUEST-READY".into()),
        timeout: Duration::from_secs(120),
    };
    create::create(&launcher, &item, out, &dir.join("work"), opts)
        .await
        .expect("package create");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn olive_package_over_http_resumes_on_demand_and_a_dropped_stream_fails_clearly() {
    let _lock = olive_tests::qemu_lock();
    let s = common::scratch("olive");
    tokio::time::timeout(Duration::from_secs(500), async {
        let pkg = s.join("pkg");
        make_package(s.path(), &pkg).await;
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(pkg.join("olive-package.json")).unwrap())
                .unwrap();
        let disk_name = manifest["disk"]["path"].as_str().unwrap().to_owned();
        let mem_name = manifest["memory"]["path"].as_str().unwrap().to_owned();
        let disk_size = std::fs::metadata(pkg.join(&disk_name)).unwrap().len();
        let mem_size = std::fs::metadata(pkg.join(&mem_name)).unwrap().len();
        let saved_screen = olive_tests::ppm::Rgba::load_ppm(pkg.join("screen.ppm")).unwrap();

        let srv = RangeServer::start_dir(&pkg).await;
        let url = format!("http://{}/pkgs/guest/", srv.addr);
        let serve = header("")
            + &format!(
                r#"
[[item]]
id = "remote"
title = "Remote test guest"
package = "{url}"
"#
            );
        let server = Server::start(load(s.path(), "serve.toml", &serve))
            .await
            .unwrap();

        // 1. The remote package resumes at the saved moment.
        let t0 = Instant::now();
        let (id, events) = common::launch_events(&server, "remote").await;
        let resume_time = t0.elapsed();
        common::assert_resumed(&events);
        let now = common::screendump(&server, &id);
        let diff = compare(&saved_screen, &now);
        assert!(diff.is_identical(), "resumed screen differs: {diff:?}");
        assert_eq!(
            server.registry().handle(&id).unwrap().state(),
            VmState::Running
        );
        let (disk_gets, disk_bytes) = srv.of(&disk_name);
        let (mem_gets, mem_bytes) = srv.of(&mem_name);
        eprintln!(
            "remote resume in {resume_time:?}: disk {disk_size} bytes, fetched {disk_bytes} in {disk_gets} GETs; \
             memory image {mem_size} bytes, fetched {mem_bytes} in {mem_gets} GETs; total {} bytes in {} GETs",
            srv.bytes(),
            srv.gets()
        );
        assert_eq!(mem_gets, 1, "the memory image streams in one request");
        assert_eq!(mem_bytes, mem_size);
        assert!(
            disk_bytes < disk_size / 4,
            "fetched {disk_bytes} of a {disk_size}-byte disk"
        );
        server.registry().destroy(&id).await;

        // 2. The server drops the memory image mid-stream: the visitor is told, no cold
        //    boot is attempted (it would hit the same network).
        *srv.shared.drop_name.lock().unwrap() = Some(mem_name.clone());
        let (id, events) = common::launch_events(&server, "remote").await;
        let Some(ControlEvent::StartupFailed { message }) = events.last() else {
            panic!("expected startup-failed: {events:?}");
        };
        eprintln!("dropped stream: {message}");
        assert!(message.contains("fetching"), "{message}");
        assert!(message.contains("connection dropped after"), "{message}");
        assert!(message.contains(&mem_name), "{message}");
        assert!(!events.contains(&ControlEvent::StartupRejectedMemory));
        server.registry().destroy(&id).await;

        // 3. A server that is gone: a clear message after bounded retries.
        *srv.shared.drop_name.lock().unwrap() = None;
        drop(srv);
        let (_, events) = common::launch_events(&server, "remote").await;
        let Some(ControlEvent::StartupFailed { message }) = events.last() else {
            panic!("expected startup-failed: {events:?}");
        };
        eprintln!("server gone: {message}");
        assert!(message.contains("olive-package.json"), "{message}");
        server.shutdown().await;
    })
    .await
    .expect("test timed out");
}
