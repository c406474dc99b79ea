//! Packages against real QEMU (TCG) and the test guest: package the guest at its ready
//! marker, validate the package, resume it through the gateway (progress rising to 1,
//! the screen identical to the moment of saving, no second boot), and fall back to a cold
//! boot, with the visitor told, when the memory image is corrupt.
// Real QEMU and real servers: the waits poll real processes on the wall clock.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use common::{load, KEY};

use std::path::Path;
use std::time::{Duration, Instant};

use olive_gateway::model::{Codec, Policy};
use olive_gateway::net::control::{ControlEvent, VmState};
use olive_gateway::packages::olive::{create, source::Source};
use olive_gateway::Server;
use olive_tests::ppm::{compare, Rgba};

/// The limits the packaged guest (256 MiB, 1 vCPU) fits in.
const LIMITS: &str = "max_memory_mb = 512\nmax_vcpus = 2";

fn header() -> String {
    common::gateway_toml("", LIMITS)
}

const POLICY: Policy = Policy {
    max_memory_mb: 512,
    max_vcpus: 2,
};

/// Copies a package, flipping bytes in the middle of its memory image.
fn corrupt_copy(from: &Path, to: &Path, memory_file: &str) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    let mem = to.join(memory_file);
    let mut bytes = std::fs::read(&mem).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0xa5;
    }
    std::fs::write(&mem, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn package_at_ready_marker_resumes_identically_and_corruption_cold_boots() {
    let _lock = olive_tests::qemu_lock();
    let s = common::scratch("pkg");
    tokio::time::timeout(Duration::from_secs(400), async {
        // 1. Package the test guest at its ready marker.
        let cfg = load(s.path(), "make.toml", &(header() + &common::guest_item()));
        let launcher = common::tcg_launcher(&cfg);
        let item = cfg.catalog.get("guest").unwrap();
        let pkg = s.join("pkg");
        let opts = create::CreateOptions {
            codec: Codec::Lz4,
            wait: create::WaitFor::Serial("OLIVE-GUEST-READY".into()),
            timeout: Duration::from_secs(120),
        };
        let manifest = create::create(&launcher, &item, &pkg, &s.join("work"), opts)
            .await
            .expect("package create");
        assert!(!s.join("work").exists(), "scratch instance left behind");
        let mem = manifest.memory.clone().expect("a memory image");
        assert_eq!(mem.codec, Codec::Lz4);
        assert!(manifest.machine.machine_type.starts_with("pc-i440fx-"));
        let saved_screen = olive_tests::ppm::Rgba::load_ppm(pkg.join("screen.ppm")).unwrap();
        let lit = (0..saved_screen.height)
            .flat_map(|y| (0..saved_screen.width).map(move |x| (x, y)))
            .any(|(x, y)| saved_screen.rgb(x, y) != [0, 0, 0]);
        assert!(
            lit,
            "the guest's screen at its ready marker should not be black"
        );

        // 2. It validates; a corrupt copy does not.
        let report = olive_gateway::packages::olive::validate::validate(
            Source::Local(pkg.clone()),
            POLICY,
            Path::new("qemu-img"),
        )
        .expect("package validates");
        assert!(
            report.iter().any(|l| l.starts_with("memory: lz4")),
            "{report:?}"
        );
        let bad = s.join("bad");
        corrupt_copy(&pkg, &bad, &mem.file.path);
        let e = olive_gateway::packages::olive::validate::validate(
            Source::Local(bad.clone()),
            POLICY,
            Path::new("qemu-img"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("memory"), "{e}");

        // 3. Launch both through the gateway.
        let serve = header()
            + r#"
[[item]]
id = "pkg"
package = "pkg"

[[item]]
id = "bad"
title = "Corrupt memory image"
package = "bad"
"#;
        let server = Server::start(load(s.path(), "serve.toml", &serve))
            .await
            .unwrap();
        let public = server.registry().catalog().get("pkg").unwrap();
        assert_eq!(public.meta.title, "Test guest", "title from the manifest");

        let t0 = Instant::now();
        let (id, events) = common::launch_events(&server, "pkg").await;
        let resume_time = t0.elapsed();
        let fractions = common::assert_resumed(&events);
        let now = common::screendump(&server, &id);
        let diff = compare(&saved_screen, &now);
        assert!(diff.is_identical(), "resumed screen differs: {diff:?}");
        // Resumed, not rebooted: the guest never printed its boot marker again.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            !common::serial_log(&server, &id).contains("OLIVE-GUEST-READY"),
            "the guest booted instead of resuming"
        );
        assert_eq!(
            server.registry().handle(&id).unwrap().state(),
            VmState::Running
        );
        eprintln!(
            "resume took {resume_time:?} with {} progress events",
            fractions.len()
        );

        // 4. The curator's signal through the admin API: save the running instance as a
        //    package; it validates and the VM goes on running.
        let path = format!("/api/instances/{id}/package");
        let addr = server.http_addr();
        let save = |body: &'static str| {
            olive_gateway::admin::request(addr, "POST", &path, Some(KEY), Some(body))
        };
        let r = save(r#"{"name": "../escape"}"#).await.unwrap();
        assert_eq!(r.status, 400, "{}", r.body);
        let r = save(r#"{"name": "live", "codec": "zstd"}"#).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        let live = s.join("data/packages/live");
        let report = olive_gateway::packages::olive::validate::validate(
            Source::Local(live.clone()),
            POLICY,
            Path::new("qemu-img"),
        )
        .expect("the live-saved package validates");
        assert!(
            report.iter().any(|l| l.starts_with("memory: zstd")),
            "{report:?}"
        );
        let mut qmp = olive_tests::qmp::Qmp::connect(
            server.registry().get(&id).unwrap().dir().join("qmp.sock"),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(qmp.query_status().unwrap(), "running");
        drop(qmp);
        server.registry().destroy(&id).await;

        // 5. The corrupt image: the visitor is told, and the guest boots from scratch.
        let (id, events) = common::launch_events(&server, "bad").await;
        let rejected = events
            .iter()
            .position(|e| *e == ControlEvent::StartupRejectedMemory)
            .unwrap_or_else(|| panic!("no startup-rejected-memory: {events:?}"));
        assert_eq!(
            events.last(),
            Some(&ControlEvent::VmStarted {
                check_display: false
            }),
            "{events:?}"
        );
        assert!(rejected < events.len() - 1);
        let deadline = Instant::now() + Duration::from_secs(90);
        while !common::serial_log(&server, &id).contains("OLIVE-GUEST-READY") {
            assert!(Instant::now() < deadline, "the cold boot never got ready");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let metrics = server.registry().metrics().render(&[]);
        assert!(
            metrics.contains("olive_memory_rejected_total 1"),
            "{metrics}"
        );
        server.shutdown().await;
    })
    .await
    .expect("test timed out");
}

/// VMNetX issue #30: a resumed VM whose screen is still entirely black a second later is
/// treated as a rejected memory image. The guest is packaged while it shows its black
/// scene; launching the package tells the visitor and boots it from scratch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_screen_that_stays_black_cold_boots() {
    let _lock = olive_tests::qemu_lock();
    let s = common::scratch("black");
    tokio::time::timeout(Duration::from_secs(300), async {
        let cmdline = olive_tests::qemu::KERNEL_CMDLINE;
        let item = common::guest_item().replace(cmdline, &format!("{cmdline} olive.scene=black"));
        let cfg = load(s.path(), "make.toml", &(header() + &item));
        let launcher = common::tcg_launcher(&cfg);
        let pkg = s.join("pkg");
        let opts = create::CreateOptions {
            codec: Codec::Lz4,
            wait: create::WaitFor::Serial("OLIVE-GUEST-READY".into()),
            timeout: Duration::from_secs(120),
        };
        create::create(
            &launcher,
            &cfg.catalog.get("guest").unwrap(),
            &pkg,
            &s.join("work"),
            opts,
        )
        .await
        .expect("package create");
        let saved = Rgba::load_ppm(pkg.join("screen.ppm")).unwrap();
        assert!(
            saved.pixels.chunks_exact(4).all(|p| p[..3] == [0, 0, 0]),
            "the saved screen should be black"
        );
        let serve = header()
            + r#"
[[item]]
id = "pkg"
package = "pkg"
"#;
        let server = Server::start(load(s.path(), "serve.toml", &serve))
            .await
            .unwrap();
        let (id, events) = common::launch_events(&server, "pkg").await;
        assert!(
            events.contains(&ControlEvent::StartupRejectedMemory),
            "no startup-rejected-memory: {events:?}"
        );
        assert_eq!(
            events.last(),
            Some(&ControlEvent::VmStarted {
                check_display: false
            }),
            "{events:?}"
        );
        let deadline = Instant::now() + Duration::from_secs(90);
        while !common::serial_log(&server, &id).contains("OLIVE-GUEST-READY") {
            assert!(Instant::now() < deadline, "the cold boot never got ready");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        server.shutdown().await;
    })
    .await
    .expect("test timed out");
}
