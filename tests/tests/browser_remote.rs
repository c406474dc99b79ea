//! A package link opened in real headless Chromium: the test guest's text console is packaged
//! at its ready marker and served over HTTP; the visitor follows
//! `/launch?package=http://…/pkg/`, lands on the item page of the launched package, presses
//! Run, and sees the screen exactly as saved, fetched on demand through the gateway's chunk
//! cache, without the guest booting again.
//!
//! Needs the web app's `dist/` (see tests/tests/browser.rs).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use olive_gateway::model::Codec;
use olive_tests::browser::{Browser, BrowserOptions, PLAYER};
use olive_tests::gateway::{package_item, require_dist, serve_dir, GwItem, TestGateway};
use olive_tests::ppm::Rgba;
use olive_tests::{compare, qemu_lock};

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|c| match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (c as char).to_string()
            }
            _ => format!("%{c:02X}"),
        })
        .collect()
}

async fn scenario(gw: &TestGateway, b: &Browser, url: &str, saved: &Rgba) -> Result<()> {
    let link = format!("{}/launch?package={}", gw.url(), percent_encode(url));
    b.goto(&link).await?;
    let here = b.client().current_url().await?;
    let item = here
        .path()
        .strip_prefix("/item/")
        .with_context(|| format!("/launch did not lead to an item page: {here}"))?
        .to_string();
    b.click_run(&item, Duration::from_secs(20)).await?;
    b.wait_state(&["running"], Duration::from_secs(90)).await?;
    let id = gw
        .instances_of(&item)
        .pop()
        .with_context(|| format!("no instance of {item}"))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let canvas = b.canvas_rgba().await?;
        let diff = compare(&canvas, saved);
        if diff.is_identical() {
            break;
        }
        if Instant::now() > deadline {
            let base = scratch().join("browser-remote");
            let _ = canvas.save_ppm(base.with_extension("canvas.ppm"));
            let now = gw.screendump(&id)?;
            let _ = now.save_ppm(base.with_extension("screendump.ppm"));
            let _ = saved.save_ppm(base.with_extension("saved.ppm"));
            bail!(
                "canvas != the package's saved screen: {diff}; server screendump vs saved: {}; \
                 guest booted: {}",
                compare(&now, saved),
                gw.serial_log(&id).contains("OLIVE-GUEST-READY")
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    if gw.serial_log(&id).contains("OLIVE-GUEST-READY") {
        bail!("the guest booted instead of resuming");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_link_resumes_a_remote_package_in_the_browser() {
    let _lock = qemu_lock();
    let dist = require_dist().expect("web app");
    let item = GwItem::console("console");
    let pkg = scratch().join(format!("remote-pkg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&pkg);
    package_item(&scratch(), &item, &pkg, Codec::DEFAULT)
        .await
        .expect("package the test guest");
    let saved = Rgba::load_ppm(pkg.join("screen.ppm")).expect("saved screen");
    let (addr, _server) = serve_dir(&pkg).await.expect("package server");
    let url = format!("http://{addr}/");
    let gw = TestGateway::start(&scratch(), &dist, &[])
        .await
        .expect("gateway");
    let browser = Browser::launch(&BrowserOptions {
        scratch: scratch(),
        ..Default::default()
    })
    .await;
    let result = match &browser {
        Ok(b) => scenario(&gw, b, &url, &saved).await,
        Err(e) => Err(anyhow::anyhow!("browser: {e:#}")),
    };
    if let Ok(b) = browser {
        if result.is_err() {
            let state = b.attr(PLAYER, "data-state").await.ok().flatten();
            eprintln!("page state {state:?}");
        }
        let _ = b.close().await;
    }
    gw.shutdown().await;
    let _ = std::fs::remove_dir_all(&pkg);
    if let Err(e) = result {
        panic!("{e:#}");
    }
}
