//! The token port: authentication, control messages, framing, limits, the viewer splice.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use netx_proto::{ClientMsg, ServerMsg};
use olive_gateway::net::control::InstanceHandle;
use olive_gateway::net::token_port::TokenPortOptions;
use tokio::io::AsyncReadExt;
use tokio::time::{timeout, Instant};

use crate::fake::*;

// ------------------------------------------------------------------ token port

#[tokio::test]
async fn auth_ok_ping_and_control_errors() {
    let reg = Arc::new(FakeRegistry::default());
    let inst = reg.add("AAAA/secret", None);
    let srv = start(reg.clone(), fast_opts()).await;
    let mut c = Client::connect(srv.token_addr).await;
    c.send(&frame(&ClientMsg::Ping)).await;
    assert_eq!(error_text(&c.expect().await), "Not authenticated");
    c.send(&auth("AAAA/secret")).await;
    match c.expect().await {
        ServerMsg::AuthOk {
            state,
            name,
            limit_mouse_rate,
            server_timeout_min,
            server_timeout_max,
        } => {
            assert_eq!(state, "running");
            assert_eq!(name, "Test Guest");
            assert_eq!(limit_mouse_rate, Some(60));
            assert_eq!((server_timeout_min, server_timeout_max), (300, 305));
        }
        other => panic!("expected auth-ok, got {other:?}"),
    }
    c.send(&auth("AAAA/secret")).await;
    assert_eq!(error_text(&c.expect().await), "Already authenticated");
    let before = inst.touches.load(Ordering::SeqCst);
    c.send(&frame(&ClientMsg::Ping)).await;
    assert_eq!(c.expect().await, ServerMsg::Pong);
    assert!(inst.touches.load(Ordering::SeqCst) > before, "ping touches");
    c.send(&frame(&ClientMsg::StartVm)).await;
    assert_eq!(
        error_text(&c.expect().await),
        "Can't start VM unless it is stopped"
    );
    c.send(&frame(&ClientMsg::StopVm)).await;
    assert_eq!(c.expect().await, ServerMsg::VmStopped);
    c.send(&frame(&ClientMsg::StartVm)).await;
    assert_eq!(
        c.expect().await,
        ServerMsg::VmStarted {
            check_display: false
        }
    );
    // Attach with no SPICE socket: error, and the connection stays usable.
    c.send(&frame(&ClientMsg::AttachViewer)).await;
    assert_eq!(error_text(&c.expect().await), "Couldn't connect viewer");
    c.send(&frame(&ClientMsg::Ping)).await;
    assert_eq!(c.expect().await, ServerMsg::Pong);
}

#[tokio::test]
async fn wrong_token_and_replay_after_destroy() {
    let reg = Arc::new(FakeRegistry::default());
    reg.add("BBBB/secret", None);
    let srv = start(reg.clone(), fast_opts()).await;
    let mut c = Client::connect(srv.token_addr).await;
    c.send(&auth("BBBB/wrong")).await;
    assert_eq!(
        c.expect().await,
        ServerMsg::AuthFailed {
            error: "Authentication failed".into()
        }
    );
    // The connection stays open (VMNetX): a right token still works.
    c.send(&auth("BBBB/secret")).await;
    assert!(matches!(c.expect().await, ServerMsg::AuthOk { .. }));

    let mut other = Client::connect(srv.token_addr).await;
    other.send(&auth("BBBB/secret")).await;
    assert!(matches!(other.expect().await, ServerMsg::AuthOk { .. }));
    c.send(&frame(&ClientMsg::DestroyVm)).await;
    assert_eq!(c.expect().await, ServerMsg::VmDestroyed);
    c.expect_closed().await;
    // Every other control connection hears it and is closed.
    assert_eq!(other.expect().await, ServerMsg::VmDestroyed);
    other.expect_closed().await;
    // The token is dead.
    let mut again = Client::connect(srv.token_addr).await;
    again.send(&auth("BBBB/secret")).await;
    assert!(matches!(again.expect().await, ServerMsg::AuthFailed { .. }));
}

#[tokio::test]
async fn garbage_and_oversized_frames() {
    let reg = Arc::new(FakeRegistry::default());
    reg.add("CCCC/secret", None);
    let srv = start(reg.clone(), fast_opts()).await;
    let mut c = Client::connect(srv.token_addr).await;
    c.send(&raw_frame(b"\xc1\xc1 not msgpack")).await;
    assert_eq!(error_text(&c.expect().await), "Invalid message");
    c.send(&raw_frame(b"\x81\xa1_\xa4nope")).await; // {"_": "nope"}
    assert_eq!(error_text(&c.expect().await), "Unknown message type");
    c.send(&raw_frame(b"\x81\xa1_\xacauthenticate")).await; // no token
    assert_eq!(
        error_text(&c.expect().await),
        "Missing field in authenticate message: 'token'"
    );
    // Oversized: the payload is skipped as it arrives, then framing resumes.
    let big = 2usize << 20;
    let mut msg = (big as u32).to_be_bytes().to_vec();
    msg.extend(std::iter::repeat_n(0u8, big));
    c.send(&msg).await;
    assert_eq!(error_text(&c.expect().await), "Message too large");
    // A token sent as msgpack bin is accepted too.
    let mut payload = b"\x82\xa1_\xacauthenticate\xa5token\xc4\x0b".to_vec();
    payload.extend_from_slice(b"CCCC/secret");
    c.send(&raw_frame(&payload)).await;
    assert!(matches!(c.expect().await, ServerMsg::AuthOk { .. }));
    // A client `error` closes the connection.
    c.send(&frame(&ClientMsg::Error {
        message: "bye".into(),
    }))
    .await;
    c.expect_closed().await;
}

#[tokio::test]
async fn unauthenticated_connections_time_out() {
    let reg = Arc::new(FakeRegistry::default());
    let opts = TokenPortOptions {
        auth_timeout: Duration::from_millis(500),
        ..fast_opts()
    };
    let srv = start(reg.clone(), opts).await;
    let t0 = Instant::now();
    let mut idle = Client::connect(srv.token_addr).await;
    idle.expect_closed().await;
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(5),
        "closed after {took:?}"
    );
    // Failing to authenticate does not extend the deadline.
    let t0 = Instant::now();
    let mut c = Client::connect(srv.token_addr).await;
    c.send(&auth("nope/nope")).await;
    assert!(matches!(c.expect().await, ServerMsg::AuthFailed { .. }));
    c.expect_closed().await;
    assert!(t0.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn failed_authentications_are_rate_limited_per_address() {
    let reg = Arc::new(FakeRegistry::default());
    reg.add("DDDD/secret", None);
    let opts = TokenPortOptions {
        auth_burst: 5,
        auth_interval: Duration::from_millis(400),
        auth_max_delay: Duration::from_millis(1000),
        ..fast_opts()
    };
    let srv = start(reg.clone(), opts).await;
    let mut c = Client::connect(srv.token_addr).await;
    // The burst is answered at once.
    let t0 = Instant::now();
    for _ in 0..5 {
        c.send(&auth("DDDD/wrong")).await;
        assert!(matches!(c.expect().await, ServerMsg::AuthFailed { .. }));
    }
    assert!(
        t0.elapsed() < Duration::from_millis(300),
        "burst was delayed"
    );
    // The next one waits for a token (one interval).
    let t1 = Instant::now();
    c.send(&auth("DDDD/wrong")).await;
    assert!(matches!(c.expect().await, ServerMsg::AuthFailed { .. }));
    let waited = t1.elapsed();
    assert!(
        waited >= Duration::from_millis(300),
        "not delayed: {waited:?}"
    );
    // Hammering from many connections at once: beyond the maximal delay the attempt is
    // refused unchecked and the connection closed, even with the right token.
    let mut refused = 0;
    let mut conns = Vec::new();
    for _ in 0..6 {
        let mut x = Client::connect(srv.token_addr).await;
        x.send(&auth("DDDD/wrong")).await;
        conns.push(x);
    }
    for x in &mut conns {
        assert!(matches!(x.expect().await, ServerMsg::AuthFailed { .. }));
        if x.recv().await.is_none() {
            refused += 1;
        }
    }
    assert!(refused >= 2, "expected refusals, got {refused}");
    // A different address is not affected: WebSocket clients get their own bucket via the
    // forwarded-peer table, here simulated by the bridge (its clients are 127.0.0.1 too,
    // so instead check that a right token still passes once the bucket refills).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut ok = Client::connect(srv.token_addr).await;
    ok.send(&auth("DDDD/secret")).await;
    assert!(matches!(ok.expect().await, ServerMsg::AuthOk { .. }));
}

#[tokio::test]
async fn viewer_splice_forwards_early_bytes_and_closes_on_destroy() {
    let dir = tempdir("viewer");
    let reg = Arc::new(FakeRegistry::default());
    let inst = reg.add("EEEE/secret", Some(echo_server(&dir)));
    let srv = start(reg.clone(), fast_opts()).await;
    let mut c = Client::connect(srv.token_addr).await;
    // authenticate + attach-viewer + the first "SPICE" bytes in one write.
    let mut burst = auth("EEEE/secret");
    burst.extend(frame(&ClientMsg::AttachViewer));
    burst.extend_from_slice(b"REDQ-early-bytes");
    c.send(&burst).await;
    assert!(matches!(c.expect().await, ServerMsg::AuthOk { .. }));
    assert_eq!(c.expect().await, ServerMsg::AttachingViewer);
    let mut got = c.dec.take_remaining();
    let mut buf = [0u8; 64];
    while got.len() < 16 {
        let n = timeout(STEP, c.s.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(&got, b"REDQ-early-bytes");
    // Raw bytes both ways, viewer traffic touches the instance.
    c.send(b"more").await;
    let n = timeout(STEP, c.s.read(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf[..n], b"more");
    assert!(inst.touches.load(Ordering::SeqCst) >= 2);
    inst.destroy();
    let n = timeout(STEP, c.s.read(&mut buf))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(
        n, 0,
        "viewer connection closes when the instance is destroyed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
