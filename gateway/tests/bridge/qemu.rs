//! The real test guest under QEMU, through a gateway configured like the demo.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::SinkExt;
use netx_proto::ServerMsg;
use olive_gateway::net::control::{InstanceHandle, VmState};
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::Message;

use crate::common;
use crate::fake::*;

// ------------------------------------------------------------------ real QEMU

const KEY: &str = "bridge-test-secret-key-0123456789";

/// A gateway configured as `cargo xtask demo` configures one (`demo_config` in
/// xtask/src/main.rs): the browser origins it serves in `allowed_origins`, nothing said
/// about native clients.
fn gateway_config(dir: &std::path::Path) -> olive_gateway::Config {
    common::blank_disk(dir);
    let text = format!(
        r#"
listen = "127.0.0.1:0"
token_port = 0
token_host = "127.0.0.1"
secret_key = "{KEY}"
data_dir = "data"
allowed_origins = ["{ORIGIN}"]

[limits]
idle_timeout_secs = 300
max_instances = 2

[qemu]
accelerator = "tcg"

"#
    ) + &common::guest_item();
    let path = dir.join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    olive_gateway::Config::load(&path).unwrap()
}

/// The gateway exactly as `olive-gateway serve` runs it.
struct RealGateway {
    server: olive_gateway::Server,
    registry: olive_gateway::Registry,
    http_addr: SocketAddr,
}

async fn real_gateway(config: olive_gateway::Config) -> RealGateway {
    let server = olive_gateway::Server::start(config)
        .await
        .expect("start the gateway");
    RealGateway {
        registry: server.registry().clone(),
        http_addr: server.http_addr(),
        server,
    }
}

#[test]
fn snapshot_through_ws_matches_screendump_and_token_dies_with_instance() {
    let _lock = olive_tests::qemu_lock();
    let dir = tempdir("qemu");
    let config = gateway_config(&dir);
    // The config's data_dir is relative to the config file.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let result = rt.block_on(async {
        let gw = real_gateway(config).await;
        let r = timeout(Duration::from_secs(150), qemu_checks(&gw)).await;
        gw.registry.destroy_all().await;
        gw.server.shutdown().await;
        r.unwrap_or_else(|_| Err("timed out".into()))
    });
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        panic!("{e}");
    }
}

async fn qemu_checks(gw: &RealGateway) -> Result<(), String> {
    use olive_gateway::admin::request;
    let r = request(
        gw.http_addr,
        "POST",
        "/api/instances",
        None,
        Some(r#"{"item": "guest"}"#),
    )
    .await
    .map_err(|e| e.to_string())?;
    if r.status != 200 {
        return Err(format!("POST /api/instances: {} {}", r.status, r.body));
    }
    let v = r.json().map_err(|e| e.to_string())?;
    let id = v["id"].as_str().unwrap_or_default().to_string();
    let token = v["token"].as_str().unwrap_or_default().to_string();
    let password = v["spice_password"].as_str().unwrap_or_default().to_string();
    let handle = gw.registry.handle(&id).ok_or("no instance")?;

    // A page of another site is refused.
    match ws_connect(gw.http_addr, Some("http://evil.test")).await {
        Err(e) if e == "HTTP 403" => {}
        other => return Err(format!("a wrong Origin must get 403, got {other:?}")),
    }
    // Snapshot through /ws as `spice-snapshot --gateway ws://…/ws --token … --password …`
    // does: no Origin header. The driver waits while the VM starts.
    let target = spice_snapshot::Target::Gateway(spice_snapshot::gateway::Gateway {
        url: format!("ws://{}/ws", gw.http_addr),
        token: token.clone(),
        origin: None,
    });
    let mut driver = spice_snapshot::Driver::new(
        target,
        spice_client::SessionConfig {
            password,
            ..spice_client::SessionConfig::default()
        },
    );
    let deadline = || Instant::now() + Duration::from_secs(60);
    driver
        .wait_for_display(deadline())
        .await
        .map_err(|e| format!("display through /ws: {e:#}"))?;
    let qmp_path = gw
        .registry
        .get(&id)
        .ok_or("no instance")?
        .dir()
        .join("qmp.sock");
    let mut qmp = olive_tests::Qmp::connect(&qmp_path, Duration::from_secs(5))
        .map_err(|e| format!("QMP: {e:#}"))?;
    let dump_path = dir_of(&qmp_path).join("bridge-dump.ppm");
    // The guest is still booting: compare until the client equals QEMU's framebuffer.
    let mut last = String::new();
    let mut matched = false;
    for attempt in 0..40 {
        let _ = driver.settle(Duration::from_millis(400), deadline()).await;
        let dump = qmp
            .screendump(&dump_path)
            .map_err(|e| format!("screendump: {e:#}"))?;
        let ours = olive_tests::checks::surface_rgba(&driver).map_err(|e| e.to_string())?;
        let diff = olive_tests::compare(&ours, &dump);
        // A blank screen early in the boot would match trivially; wait for content.
        let has_content = ours.pixels.chunks_exact(4).any(|p| p != &ours.pixels[..4]);
        if diff.is_identical() && has_content {
            eprintln!(
                "surface {}x{} identical to screendump (attempt {attempt})",
                ours.width, ours.height
            );
            matched = true;
            break;
        }
        last = diff.to_string();
        let _ = driver.run_for(Duration::from_millis(500)).await;
    }
    if !matched {
        return Err(format!(
            "client surface differs from the screendump: {last}"
        ));
    }
    if handle.state() != VmState::Running {
        return Err(format!("state {:?}", handle.state()));
    }
    // The viewer reached SPICE as a TCP peer (the QMP handover), so the boot's drawables
    // came compressed: over QEMU's UNIX socket every one would be a raw BITMAP.
    let images = &driver.session().stats().images;
    eprintln!("images through the gateway: {images:?}");
    if !images.contains_key("GLZ_RGB") {
        return Err(format!(
            "no GLZ image through the gateway (was the handover skipped?): {images:?}"
        ));
    }

    // A control connection through /ws hears the destruction.
    let mut ws = ws_connect(gw.http_addr, Some(ORIGIN)).await?;
    let mut dec = netx_proto::Decoder::new();
    ws.send(Message::Binary(auth(&token).into()))
        .await
        .map_err(|e| e.to_string())?;
    match ws_recv_msg(&mut ws, &mut dec).await {
        Some(ServerMsg::AuthOk { state, .. }) if state == "running" => {}
        other => return Err(format!("expected auth-ok running, got {other:?}")),
    }
    let r = request(
        gw.http_addr,
        "DELETE",
        &format!("/api/instances/{id}"),
        Some(KEY),
        None,
    )
    .await
    .map_err(|e| e.to_string())?;
    if r.status != 204 && r.status != 200 {
        return Err(format!("DELETE: {} {}", r.status, r.body));
    }
    match ws_recv_msg(&mut ws, &mut dec).await {
        Some(ServerMsg::VmDestroyed) => {}
        other => return Err(format!("expected vm-destroyed, got {other:?}")),
    }
    // The token replayed after destroy fails.
    let mut ws = ws_connect(gw.http_addr, Some(ORIGIN)).await?;
    let mut dec = netx_proto::Decoder::new();
    ws.send(Message::Binary(auth(&token).into()))
        .await
        .map_err(|e| e.to_string())?;
    match ws_recv_msg(&mut ws, &mut dec).await {
        Some(ServerMsg::AuthFailed { .. }) => {}
        other => return Err(format!("expected auth-failed after destroy, got {other:?}")),
    }
    Ok(())
}

fn dir_of(p: &std::path::Path) -> PathBuf {
    p.parent().map(PathBuf::from).unwrap_or_default()
}
