//! Instance lifecycle against real QEMU (TCG) and the test guest: what only a real QEMU can
//! show (a real process killed, its files gone, orphans reaped, QEMU's own errors). The
//! timing of the idle timeout and the session limit is tested under paused time with a fake
//! engine (`src/instances/tests.rs`); here the collector is only shown to really free a VM.
//!
//! Every test takes the cross-process QEMU lock, binds ephemeral ports, uses its own data
//! directory and is bounded in time; servers are shut down (instances destroyed) at the end.
//! The waits poll real processes and files, so they use the wall clock.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use common::{Scratch, KEY};

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use olive_gateway::admin::request;
use olive_gateway::model::SpiceAddress;
use olive_gateway::net::control::{ControlEvent, VmState};
use olive_gateway::{Config, Server};
use olive_test_support::process;

fn config_text(limits: &str) -> String {
    common::gateway_toml("", limits) + &common::guest_item()
}

fn config(s: &Scratch, limits: &str) -> Config {
    let path = s.join("gateway.toml");
    std::fs::write(&path, config_text(limits)).unwrap();
    Config::load(&path).unwrap()
}

fn instances_dir(s: &Scratch) -> PathBuf {
    s.join("data/instances")
}

async fn wait_state(server: &Server, id: &str, want: VmState, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let state = server.registry().handle(id).map(|h| h.state());
        if state == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "instance {id} did not reach {want:?} within {within:?} (is {state:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_gone(dir: &Path, pid: u32, within: Duration) {
    let deadline = Instant::now() + within;
    while dir.exists() || !process::is_gone(pid) {
        assert!(
            Instant::now() < deadline,
            "{} or PID {pid} still there after {within:?}",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post_instance(server: &Server) -> olive_gateway::admin::Response {
    request(
        server.http_addr(),
        "POST",
        "/api/instances",
        None,
        Some(r#"{"item": "guest"}"#),
    )
    .await
    .unwrap()
}

/// The UNIX socket of a running instance's SPICE server.
fn spice_socket(server: &Server, id: &str) -> PathBuf {
    let spice = server.registry().get(id).unwrap().spice().expect("running");
    match spice.address {
        SpiceAddress::Unix(p) => p,
        other => panic!("QEMU's SPICE is on a UNIX socket, not {other:?}"),
    }
}

fn dir_is_empty(p: &Path) -> bool {
    std::fs::read_dir(p)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

/// Bounds a test body.
async fn bounded<F: std::future::Future<Output = ()>>(secs: u64, f: F) {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_over_http_runs_and_admin_api() {
    let _lock = olive_tests::qemu_lock();
    let s = common::scratch("lc");
    let server = Server::start(config(&s, "max_instances = 2"))
        .await
        .unwrap();
    let addr = server.http_addr();
    bounded(60, async {
        let r = post_instance(&server).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let v = r.json().unwrap();
        let id = v["id"].as_str().unwrap().to_string();
        let token = v["token"].as_str().unwrap();
        assert!(token.starts_with(&format!("{id}/")));
        assert!(token.len() >= id.len() + 1 + 22, "≥128-bit secret: {token}");
        assert_eq!(v["control_url"], "/ws");
        assert!(v["spice_password"].as_str().unwrap().len() >= 22);
        assert!(server.registry().authenticate(token).is_some());
        assert!(server
            .registry()
            .authenticate(&format!("{id}/wrong"))
            .is_none());

        wait_state(&server, &id, VmState::Running, Duration::from_secs(30)).await;
        let inst = server.registry().get(&id).unwrap();
        let sock = spice_socket(&server, &id);
        let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "SPICE socket mode");
        let dir_mode = std::fs::metadata(inst.dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        let qmp_path = inst.dir().join("qmp.sock");
        let status = tokio::task::spawn_blocking(move || {
            let mut q = olive_tests::Qmp::connect(&qmp_path, Duration::from_secs(5)).unwrap();
            q.execute("query-status", None).unwrap()
        })
        .await
        .unwrap();
        assert_eq!(status["status"], "running");
        let pid = inst.pid().unwrap();
        let pidfile = std::fs::read_to_string(inst.dir().join("qemu.pid")).unwrap();
        assert_eq!(pidfile.trim(), pid.to_string());

        // Public endpoints.
        let r = request(addr, "GET", "/api/collection", None, None)
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert!(
            r.body.contains("Test guest") && !r.body.contains("blank.qcow2"),
            "{}",
            r.body
        );
        // The guest item has no description or rights: they are left out, never `null`
        // (which the web app once refused, hiding the whole collection).
        assert!(!r.body.contains("null"), "{}", r.body);
        assert!(!r.body.contains("description"), "{}", r.body);
        let r = request(addr, "GET", "/healthz", None, None).await.unwrap();
        assert_eq!(r.status, 200);
        let r = request(addr, "GET", "/metrics", None, None).await.unwrap();
        assert!(
            r.body.contains("olive_instances{state=\"running\"} 1"),
            "{}",
            r.body
        );
        assert!(r.body.contains("olive_launches_total 1"), "{}", r.body);
        // The WebSocket bridge is mounted (a plain GET is refused, not a 404) and the token
        // port listens.
        let r = request(addr, "GET", "/ws", None, None).await.unwrap();
        assert!(r.status == 400 || r.status == 403, "{}", r.body);
        assert!(!r.body.contains("not built"), "{}", r.body);
        tokio::net::TcpStream::connect(server.token_addr())
            .await
            .unwrap();
        let r = request(addr, "GET", "/", None, None).await.unwrap();
        assert!(r.body.contains("not built"), "{}", r.body);
        let r = request(addr, "POST", "/api/instances", None, Some("{nonsense"))
            .await
            .unwrap();
        assert_eq!(r.status, 400);
        let r = request(
            addr,
            "POST",
            "/api/instances",
            None,
            Some(r#"{"item":"nope"}"#),
        )
        .await
        .unwrap();
        assert_eq!(r.status, 404);

        // Admin API: key required.
        let r = request(addr, "GET", "/api/instances", None, None)
            .await
            .unwrap();
        assert_eq!(r.status, 403);
        assert!(r.body.contains("Missing secret key"));
        let r = request(addr, "GET", "/api/instances", Some("wrong"), None)
            .await
            .unwrap();
        assert_eq!(r.status, 403);
        assert!(r.body.contains("Incorrect secret key"));
        let out = olive_gateway::admin::run(addr, KEY, olive_gateway::admin::Command::List)
            .await
            .unwrap();
        assert!(out.contains(&id) && out.contains("running"), "{out}");
        let path = format!("/api/instances/{id}");
        let r = request(addr, "DELETE", &path, Some("wrong"), None)
            .await
            .unwrap();
        assert_eq!(r.status, 403);
        assert!(inst.dir().exists());
        let out = olive_gateway::admin::run(
            addr,
            KEY,
            olive_gateway::admin::Command::Destroy { id: id.clone() },
        )
        .await
        .unwrap();
        assert!(out.contains("destroyed"));
        wait_gone(inst.dir(), pid, Duration::from_secs(5)).await;
        let r = request(addr, "DELETE", &path, Some(KEY), None)
            .await
            .unwrap();
        assert_eq!(r.status, 404);
        assert!(server.registry().authenticate(token).is_none());
    })
    .await;
    server.shutdown().await;
    assert!(dir_is_empty(&instances_dir(&s)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_killed_mid_session_frees_everything() {
    let _lock = olive_tests::qemu_lock();
    let s = common::scratch("lc");
    let server = Server::start(config(&s, "")).await.unwrap();
    bounded(60, async {
        let created = server.registry().create("guest").unwrap();
        let handle = server.registry().authenticate(&created.token).unwrap();
        let mut events = handle.subscribe();
        wait_state(
            &server,
            &created.id,
            VmState::Running,
            Duration::from_secs(30),
        )
        .await;
        let inst = server.registry().get(&created.id).unwrap();
        let pid = inst.pid().unwrap();
        let dir = inst.dir().to_path_buf();
        assert!(process::kill_pid(pid));
        let t0 = Instant::now();
        let mut seen = Vec::new();
        while !seen.contains(&ControlEvent::VmDestroyed) {
            let e = tokio::time::timeout(Duration::from_secs(5), events.recv())
                .await
                .expect("events within 5 s")
                .unwrap();
            seen.push(e);
        }
        let stopped = seen.iter().position(|e| *e == ControlEvent::VmStopped);
        let destroyed = seen.iter().position(|e| *e == ControlEvent::VmDestroyed);
        assert!(stopped.is_some() && stopped < destroyed, "{seen:?}");
        wait_gone(
            &dir,
            pid,
            Duration::from_secs(5).saturating_sub(t0.elapsed()),
        )
        .await;
        assert!(server.registry().get(&created.id).is_none());
        assert_eq!(handle.state(), VmState::Destroyed);
    })
    .await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_and_the_collector_free_real_vms() {
    let _lock = olive_tests::qemu_lock();
    let s = common::scratch("lc");
    let limits = "idle_timeout_secs = 2\ngc_interval_secs = 1\nmax_instances = 2";
    let server = Server::start(config(&s, limits)).await.unwrap();
    bounded(60, async {
        // A: a client that vanishes (never touches). B: a client that keeps pinging.
        let a = post_instance(&server).await.json().unwrap();
        let b = post_instance(&server).await.json().unwrap();
        let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
        let r = post_instance(&server).await;
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.header("retry-after"), Some("30"));
        assert!(r.body.contains("instance slots are in use"), "{}", r.body);
        assert_eq!(server.registry().server_timeouts(), (2, 3));
        let a_handle = server.registry().get(a_id).unwrap();
        let b_handle = server.registry().get(b_id).unwrap();
        let mut events = a_handle.subscribe();
        wait_state(&server, a_id, VmState::Running, Duration::from_secs(30)).await;
        let (a_pid, a_dir) = (a_handle.pid().unwrap(), a_handle.dir().to_path_buf());
        let collected = async { while events.recv().await != Ok(ControlEvent::VmDestroyed) {} };
        tokio::pin!(collected);
        loop {
            b_handle.touch();
            tokio::select! {
                _ = &mut collected => break,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
        wait_gone(&a_dir, a_pid, Duration::from_secs(5)).await;
        assert!(server.registry().get(a_id).is_none());
        assert!(
            server.registry().get(b_id).is_some(),
            "a busy instance stays"
        );
        // A slot is free again.
        let r = post_instance(&server).await;
        assert_eq!(r.status, 200, "{}", r.body);
    })
    .await;
    server.shutdown().await;
    assert!(dir_is_empty(&instances_dir(&s)));
}

#[test]
fn restarted_gateway_reaps_orphans() {
    let _lock = olive_tests::qemu_lock();
    let s = common::scratch("lc");
    let cfg = config(&s, "");
    // First gateway: its runtime is dropped without shutdown, as if it had crashed; the
    // QEMU child is not killed on drop.
    let (pid, dir) = {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let cfg = cfg.clone();
        rt.block_on(async move {
            let server = Server::start(cfg).await.unwrap();
            let c = server.registry().create("guest").unwrap();
            wait_state(&server, &c.id, VmState::Running, Duration::from_secs(30)).await;
            let inst = server.registry().get(&c.id).unwrap();
            let out = (inst.pid().unwrap(), inst.dir().to_path_buf());
            std::mem::forget(server);
            out
        })
    };
    assert!(
        !process::is_gone(pid),
        "QEMU should survive the crashed gateway"
    );
    assert!(dir.exists());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        bounded(30, async {
            let server = Server::start(cfg).await.unwrap();
            // The reap happens before start returns.
            assert!(process::is_gone(pid), "orphan QEMU {pid} still alive");
            assert!(!dir.exists());
            assert!(dir_is_empty(&instances_dir(&s)));
            server.shutdown().await;
        })
        .await;
    });
    if !process::is_gone(pid) {
        process::kill_pid(pid);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_launches_leave_nothing_behind() {
    let _lock = olive_tests::qemu_lock();
    let s = common::scratch("lc");
    let server = Server::start(config(&s, "max_instances = 2"))
        .await
        .unwrap();
    let data = s.join("data");
    bounded(150, async {
        let t0 = Instant::now();
        for n in 0..50 {
            let c = server.registry().create("guest").unwrap();
            assert!(
                server.registry().authenticate(&c.token).is_some(),
                "launch {n}: token does not authenticate"
            );
            wait_state(&server, &c.id, VmState::Running, Duration::from_secs(30)).await;
            assert!(spice_socket(&server, &c.id).exists());
            let inst = server.registry().get(&c.id).unwrap();
            let (pid, dir) = (inst.pid().unwrap(), inst.dir().to_path_buf());
            assert!(server.registry().destroy(&c.id).await);
            assert!(!dir.exists(), "launch {n}: {} left behind", dir.display());
            wait_gone(&dir, pid, Duration::from_secs(5)).await;
            assert!(server.registry().authenticate(&c.token).is_none());
        }
        eprintln!("50 launches in {:?}", t0.elapsed());
        assert!(dir_is_empty(&instances_dir(&s)));
        // No QEMU of ours anywhere.
        let needle = data.display().to_string();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
                assert!(
                    !String::from_utf8_lossy(&cmd).contains(&needle),
                    "process {:?} still uses {needle}",
                    e.file_name()
                );
            }
        }
        let r = request(server.http_addr(), "GET", "/metrics", None, None)
            .await
            .unwrap();
        assert!(r.body.contains("olive_launches_total 50"), "{}", r.body);
        assert!(
            r.body.contains("olive_instances_destroyed_total 50"),
            "{}",
            r.body
        );
    })
    .await;
    server.shutdown().await;
}

#[test]
fn config_file_errors_name_file_line_and_field() {
    let s = common::scratch("lc");
    let path = s.join("bad.toml");
    let text =
        config_text("max_vcpus = 1").replace("memory_mb = 256", "memory_mb = 256\nvcpus = 2");
    std::fs::write(&path, text).unwrap();
    let e = Config::load(&path).unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with(&format!("{}:", path.display())), "{msg}");
    assert_eq!(e.field(), Some("item[0].machine.vcpus"), "{msg}");
    let line = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .position(|l| l.starts_with("vcpus"))
        .unwrap()
        + 1;
    assert_eq!(e.line(), Some(line), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_qemu_and_bad_machine_type_are_clear_errors() {
    let _lock = olive_tests::qemu_lock();
    let s = common::scratch("lc");
    let mut cfg = config(&s, "");
    cfg.qemu_binary = "/nonexistent/qemu-system-x86_64".into();
    let e = Server::start(cfg).await.err().expect("must fail");
    assert!(
        e.to_string().contains("/nonexistent/qemu-system-x86_64"),
        "{e}"
    );

    let path = s.join("gateway.toml");
    let text = config_text("").replace(
        "memory_mb = 256",
        "memory_mb = 256\nmachine_type = \"no-such-board\"",
    );
    std::fs::write(&path, text).unwrap();
    let server = Server::start(Config::load(&path).unwrap()).await.unwrap();
    bounded(30, async {
        let c = server.registry().create("guest").unwrap();
        let h = server.registry().authenticate(&c.token).unwrap();
        let mut events = h.subscribe();
        let message = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Ok(ControlEvent::StartupFailed { message }) = events.recv().await {
                    return message;
                }
            }
        })
        .await
        .expect("startup-failed within 20 s");
        assert!(message.contains("unsupported machine type"), "{message}");
        assert_eq!(h.state(), VmState::Stopped);
    })
    .await;
    server.shutdown().await;
}
