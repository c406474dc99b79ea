//! The `/ws` bridge: Origin, text frames, bridging, backpressure.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use netx_proto::{ClientMsg, ServerMsg};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

use crate::fake::*;

#[tokio::test]
async fn ws_origin_text_frames_and_bridging() {
    let dir = tempdir("ws");
    let reg = Arc::new(FakeRegistry::default());
    reg.add("FFFF/secret", Some(echo_server(&dir)));
    let srv = start(reg.clone(), fast_opts()).await;
    assert_eq!(
        ws_connect(srv.http_addr, Some("http://evil.test"))
            .await
            .err()
            .as_deref(),
        Some("HTTP 403")
    );
    assert_eq!(
        ws_connect(srv.http_addr, Some("null"))
            .await
            .err()
            .as_deref(),
        Some("HTTP 403"),
        "an opaque origin is a wrong one"
    );
    // Text → close 1008.
    let mut ws = ws_connect(srv.http_addr, Some(ORIGIN)).await.unwrap();
    ws.send(Message::Text("hello".into())).await.unwrap();
    let mut code = None;
    while let Ok(Some(Ok(m))) = timeout(STEP, ws.next()).await {
        if let Message::Close(Some(f)) = m {
            code = Some(u16::from(f.code));
            break;
        }
    }
    assert_eq!(code, Some(1008));
    // The protocol and raw SPICE bytes through the bridge, split across messages.
    let mut ws = ws_connect(srv.http_addr, Some(ORIGIN)).await.unwrap();
    let mut dec = netx_proto::Decoder::new();
    let a = auth("FFFF/secret");
    ws.send(Message::Binary(a[..3].to_vec().into()))
        .await
        .unwrap();
    ws.send(Message::Binary(a[3..].to_vec().into()))
        .await
        .unwrap();
    assert!(matches!(
        ws_recv_msg(&mut ws, &mut dec).await,
        Some(ServerMsg::AuthOk { .. })
    ));
    let mut att = frame(&ClientMsg::AttachViewer);
    att.extend_from_slice(b"early");
    ws.send(Message::Binary(att.into())).await.unwrap();
    assert_eq!(
        ws_recv_msg(&mut ws, &mut dec).await,
        Some(ServerMsg::AttachingViewer)
    );
    let mut echoed = dec.take_remaining();
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    ws.send(Message::Binary(payload.clone().into()))
        .await
        .unwrap();
    let mut expected = b"early".to_vec();
    expected.extend_from_slice(&payload);
    while echoed.len() < expected.len() {
        match timeout(STEP, ws.next()).await.unwrap() {
            Some(Ok(Message::Binary(b))) => echoed.extend_from_slice(&b),
            other => panic!("bridge ended early: {other:?}"),
        }
    }
    assert_eq!(echoed, expected);
    assert!(reg.bridged.load(Ordering::Relaxed) >= 2 * expected.len() as u64);
    let _ = std::fs::remove_dir_all(&dir);
}

/// No `Origin` header is a native client (browsers always send one), as
/// `spice-snapshot --gateway` is: accepted with no configuration.
#[tokio::test]
async fn ws_without_origin_is_a_native_client() {
    let reg = Arc::new(FakeRegistry::default());
    reg.add("GGGG/secret", None);
    let srv = start(reg.clone(), fast_opts()).await;
    let mut ws = ws_connect(srv.http_addr, None).await.unwrap();
    let mut dec = netx_proto::Decoder::new();
    ws.send(Message::Binary(auth("GGGG/secret").into()))
        .await
        .unwrap();
    assert!(matches!(
        ws_recv_msg(&mut ws, &mut dec).await,
        Some(ServerMsg::AuthOk { .. })
    ));
    // Oversized WebSocket message: the bridge closes that WebSocket.
    let big = vec![0u8; 3 << 20];
    let _ = ws.send(Message::Binary(big.into())).await;
    assert!(ws_recv_msg(&mut ws, &mut dec).await.is_none());
}

#[tokio::test]
async fn a_client_that_stops_reading_is_bounded_and_does_not_stall_others() {
    let dir = tempdir("slow");
    let reg = Arc::new(FakeRegistry::default());
    let written = Arc::new(AtomicU64::new(0));
    reg.add(
        "HHHH/secret",
        Some(flood_server(&dir, Arc::clone(&written))),
    );
    let srv = start(reg.clone(), fast_opts()).await;
    let mut ws = ws_connect(srv.http_addr, Some(ORIGIN)).await.unwrap();
    let mut dec = netx_proto::Decoder::new();
    ws.send(Message::Binary(auth("HHHH/secret").into()))
        .await
        .unwrap();
    assert!(matches!(
        ws_recv_msg(&mut ws, &mut dec).await,
        Some(ServerMsg::AuthOk { .. })
    ));
    ws.send(Message::Binary(frame(&ClientMsg::AttachViewer).into()))
        .await
        .unwrap();
    assert_eq!(
        ws_recv_msg(&mut ws, &mut dec).await,
        Some(ServerMsg::AttachingViewer)
    );
    // Stop reading; let the flood fill every buffer on the way.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stalled = written.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = written.load(Ordering::SeqCst);
    eprintln!("flood stalled at {stalled} bytes ({later} a second later)");
    assert_eq!(stalled, later, "the bridge kept reading from SPICE");
    // Kernel socket buffers (4 sockets) plus one chunk per hop; far below "unbounded".
    assert!(stalled < 64 << 20, "buffered {stalled} bytes");
    // Another connection is served meanwhile.
    let mut c = Client::connect(srv.token_addr).await;
    c.send(&auth("HHHH/secret")).await;
    assert!(matches!(c.expect().await, ServerMsg::AuthOk { .. }));
    c.send(&frame(&ClientMsg::Ping)).await;
    assert_eq!(c.expect().await, ServerMsg::Pong);
    // The stuck reader resumes and gets data.
    let got = timeout(STEP, ws.next()).await.unwrap();
    assert!(matches!(got, Some(Ok(Message::Binary(_)))));
    drop(ws);
    let _ = std::fs::remove_dir_all(&dir);
}
