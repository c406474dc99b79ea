//! A title with one seat, two visitors (two browser sessions, so two visitor cookies):
//! the first runs the machine; the second's player says it is number 1 in line; the first
//! browser goes away, and after the disconnect grace the second shows the guest's screen
//! (canvas == the new instance's screendump). Prints the hand-over time.
//!
//! `cargo test -p olive-tests --test browser_seats` (Chromium; needs `dist/`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use olive_tests::browser::{part_js, Browser, BrowserOptions, Engine, PLAYER, SCREEN};
use olive_tests::gateway::{require_dist, GwItem, TestGateway};
use olive_tests::qemu_lock;

/// Run → running under TCG (QEMU start, SPICE, first frame).
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

async fn instance_of(b: &Browser) -> Result<String> {
    match b.attr(PLAYER, "data-instance").await? {
        Some(id) if !id.is_empty() => Ok(id),
        _ => bail!("no data-instance on the player"),
    }
}

async fn scenario(gw: &TestGateway, first: Browser, second: &Browser) -> Result<()> {
    first.goto(&format!("{}/", gw.url())).await?;
    first.click_run("console", Duration::from_secs(20)).await?;
    first.wait_state(&["running"], RUN_TIMEOUT).await?;
    let first_id = instance_of(&first).await?;

    second.goto(&format!("{}/", gw.url())).await?;
    second.click_run("console", Duration::from_secs(20)).await?;
    second
        .wait_attr(
            PLAYER,
            "data-queue-position",
            Duration::from_secs(20),
            |v| v == "1",
        )
        .await
        .context("the second visitor is queued")?;
    let text = second.status_text().await?;
    assert!(
        text.contains("is in use") && text.contains("number 1 in line"),
        "{text:?}"
    );
    eprintln!("second browser: {text:?}");

    // The first visitor leaves: the whole browser goes away.
    let left = Instant::now();
    first.close().await.context("closing the first browser")?;
    second.wait_state(&["running"], RUN_TIMEOUT).await?;
    let running = left.elapsed();
    let second_id = instance_of(second).await?;
    assert_ne!(second_id, first_id, "a new instance for the second visitor");
    assert!(gw.server().registry().get(&first_id).is_none());
    second
        .wait_canvas_equals(
            &part_js(SCREEN),
            || gw.screendump(&second_id),
            Duration::from_secs(30),
            &scratch().join(format!("seats-{second_id}")),
        )
        .await?;
    eprintln!(
        "hand-over: first browser closed → second browser running (first frame) {:.2} s, screen == screendump {:.2} s",
        running.as_secs_f64(),
        left.elapsed().as_secs_f64()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium() {
    let _lock = qemu_lock();
    let t0 = Instant::now();
    let dist = require_dist().expect("web app");
    let limits = "disconnect_grace_secs = 2\ngc_interval_secs = 1";
    let gw = TestGateway::start_limits(
        &scratch(),
        &dist,
        &[GwItem::console("console").with_seats(1)],
        limits,
        "",
    )
    .await
    .expect("gateway");
    let opts = BrowserOptions {
        engine: Engine::Chromium,
        scratch: scratch(),
        ..Default::default()
    };
    let result = async {
        let first = Browser::launch(&opts).await.context("first browser")?;
        let second = match Browser::launch(&opts).await {
            Ok(b) => b,
            Err(e) => {
                let _ = first.close().await;
                return Err(anyhow!("second browser: {e:#}"));
            }
        };
        let r = scenario(&gw, first, &second).await;
        if r.is_err() {
            let _ = second.screenshot(&scratch().join("seats-second.png")).await;
        }
        let _ = second.close().await;
        r
    }
    .await;
    gw.shutdown().await;
    eprintln!("browser seats took {:.1} s", t0.elapsed().as_secs_f64());
    if let Err(e) = result {
        panic!("{e:#}");
    }
}
