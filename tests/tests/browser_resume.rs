//! End-to-end resume on every browser engine: the test guest's `flat` scene is packaged
//! once at its ready marker, and on each engine (`$OLIVE_BROWSERS`, default all three) Run
//! on the packaged item shows the start-up progress bar with its time-remaining text,
//! rising to 100 %, and then the screen exactly as saved (canvas == the package's
//! screendump), without the guest booting again. With a corrupt memory image the visitor
//! reads that the saved state could not be restored and the guest cold-boots: that part is
//! about the gateway and the status line, not the engine, so it runs on the first engine
//! only (it costs a whole boot).
//!
//! Needs the web app's `dist/` (see tests/tests/browser.rs).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use olive_gateway::model::Codec;
use olive_tests::browser::{Browser, BrowserOptions, Engine, PLAYER};
use olive_tests::gateway::{package_item, require_dist, GwItem, TestGateway};
use olive_tests::ppm::Rgba;
use olive_tests::{compare, qemu_lock};
use serde_json::Value;

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// Records every state of the progress bar (hidden, aria-valuenow, text) and every status
/// line from now on (in the document, and in `<olive-player>`'s shadow root once it is on
/// the page: a document's observer does not see into a shadow root).
const RECORD_PROGRESS: &str = r#"
window.__oliveProgress = [];
window.__oliveStatus = [];
const watched = new Set();
const seen = () => {
  for (const h of document.querySelectorAll('olive-player')) {
    if (h.shadowRoot && !watched.has(h.shadowRoot)) {
      watched.add(h.shadowRoot);
      new MutationObserver(seen).observe(h.shadowRoot,
        { subtree: true, childList: true, attributes: true, characterData: true });
    }
  }
  const st = olivePart('.player-status');
  if (st && window.__oliveStatus[window.__oliveStatus.length - 1] !== st.textContent) {
    window.__oliveStatus.push(st.textContent);
  }
  const p = olivePart('.player-progress');
  if (!p) return;
  const rec = { hidden: p.hidden, now: p.getAttribute('aria-valuenow'), text: p.textContent };
  const last = window.__oliveProgress[window.__oliveProgress.length - 1];
  if (!last || last.hidden !== rec.hidden || last.now !== rec.now || last.text !== rec.text) {
    window.__oliveProgress.push(rec);
  }
};
new MutationObserver(seen).observe(document.documentElement,
  { subtree: true, childList: true, attributes: true, characterData: true });
return true;
"#;

async fn scenario(gw: &TestGateway, b: &Browser, saved: &Rgba) -> Result<()> {
    b.goto(&format!("{}/", gw.url())).await?;
    b.js(RECORD_PROGRESS, vec![]).await?;
    b.click_run("flat-pkg", Duration::from_secs(20)).await?;
    b.wait_state(&["running"], Duration::from_secs(90)).await?;
    let records = b
        .js("return window.__oliveProgress || null;", vec![])
        .await?;
    let Value::Array(records) = records else {
        bail!("the progress recorder did not survive Run (page reloaded?)");
    };
    let shown: Vec<(f64, String)> = records
        .iter()
        .filter(|r| r["hidden"] == Value::Bool(false))
        .filter_map(|r| {
            let now = r["now"].as_str()?.parse::<f64>().ok()?;
            Some((now, r["text"].as_str().unwrap_or("").to_string()))
        })
        .collect();
    if shown.is_empty() {
        bail!("the progress bar was never shown: {records:?}");
    }
    if !shown.windows(2).all(|w| w[0].0 <= w[1].0) {
        bail!("progress went backwards: {shown:?}");
    }
    if shown.last().map(|s| s.0) != Some(100.0) {
        bail!("progress did not reach 100 %: {shown:?}");
    }
    if !shown.iter().all(|(_, t)| t.contains("time remaining: ")) {
        bail!("progress without a time-remaining text: {shown:?}");
    }
    let id = gw
        .instances_of("flat-pkg")
        .pop()
        .context("no instance of flat-pkg")?;
    // The canvas shows the saved moment; poll while the first frames arrive.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let canvas = b.canvas_rgba().await?;
        let diff = compare(&canvas, saved);
        if diff.is_identical() {
            break;
        }
        if Instant::now() > deadline {
            let base = scratch().join("browser-resume");
            let _ = canvas.save_ppm(base.with_extension("canvas.ppm"));
            let _ = saved.save_ppm(base.with_extension("saved.ppm"));
            if let Ok(now) = gw.screendump(&id) {
                let _ = now.save_ppm(base.with_extension("screendump.ppm"));
            }
            bail!("canvas != the package's saved screen: {diff}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    if gw.serial_log(&id).contains("OLIVE-GUEST-READY") {
        bail!("the guest booted instead of resuming");
    }
    eprintln!(
        "progress seen in the browser: {} steps, {:?} … {:?}",
        shown.len(),
        shown.first(),
        shown.last()
    );
    gw.server().registry().destroy(&id).await;
    Ok(())
}

/// A corrupt memory image: the visitor reads that the saved state could not be restored,
/// and the guest then boots from scratch to its ready line.
async fn corrupt_scenario(gw: &TestGateway, b: &Browser) -> Result<()> {
    b.goto(&format!("{}/", gw.url())).await?;
    b.js(RECORD_PROGRESS, vec![]).await?;
    b.click_run("flat-bad", Duration::from_secs(20)).await?;
    b.wait_state(&["running"], Duration::from_secs(90)).await?;
    let id = gw
        .instances_of("flat-bad")
        .pop()
        .context("no instance of flat-bad")?;
    gw.wait_serial(&id, "OLIVE-GUEST-READY", Duration::from_secs(90))
        .await?;
    let texts = b.js("return window.__oliveStatus || null;", vec![]).await?;
    let told = texts.as_array().is_some_and(|v| {
        v.iter().any(|t| {
            t.as_str()
                .is_some_and(|t| t.contains("could not be restored"))
        })
    });
    if !told {
        bail!("the visitor was not told the saved state was rejected: {texts:?}");
    }
    Ok(())
}

/// Copies a package, flipping bytes in the middle of its memory image.
fn corrupt_copy(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)?.flatten() {
        std::fs::copy(e.path(), to.join(e.file_name()))?;
    }
    let mem = std::fs::read_dir(to)?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("memory."))
        })
        .context("no memory image")?;
    let mut bytes = std::fs::read(&mem)?;
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0xa5;
    }
    std::fs::write(&mem, bytes)?;
    Ok(())
}

/// One engine: the resume scenario (and, with `corrupt`, the rejected memory image).
async fn on_engine(gw: &TestGateway, engine: Engine, saved: &Rgba, corrupt: bool) -> Result<()> {
    let b = Browser::launch(&BrowserOptions {
        engine,
        scratch: scratch(),
        ..Default::default()
    })
    .await?;
    let mut result = scenario(gw, &b, saved).await;
    if result.is_ok() && corrupt {
        result = corrupt_scenario(gw, &b).await;
    }
    if result.is_err() {
        let state = b.attr(PLAYER, "data-state").await.ok().flatten();
        eprintln!("{engine}: page state {state:?}");
    }
    for id in gw.instances_of("flat-bad") {
        gw.server().registry().destroy(&id).await;
    }
    let _ = b.close().await;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_on_a_package_shows_progress_then_the_saved_screen() {
    let _lock = qemu_lock();
    let dist = require_dist().expect("web app");
    let item = GwItem::qxl("flat", "flat");
    let pkg = scratch().join(format!("resume-pkg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&pkg);
    package_item(&scratch(), &item, &pkg, Codec::DEFAULT)
        .await
        .expect("package the test guest");
    let saved = Rgba::load_ppm(pkg.join("screen.ppm")).expect("saved screen");
    let bad = scratch().join(format!("resume-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&bad);
    corrupt_copy(&pkg, &bad).expect("corrupt copy");
    let items = [
        item.clone().packaged("flat-pkg", &pkg),
        item.packaged("flat-bad", &bad),
    ];
    let gw = TestGateway::start(&scratch(), &dist, &items)
        .await
        .expect("gateway");
    let mut failures = Vec::new();
    let engines = Engine::selected().expect("OLIVE_BROWSERS");
    for (i, &engine) in engines.iter().enumerate() {
        let t0 = std::time::Instant::now();
        let result = on_engine(&gw, engine, &saved, i == 0).await;
        let secs = t0.elapsed().as_secs_f64();
        match result {
            Ok(()) => eprintln!("{engine}: resume: ok ({secs:.1} s)"),
            Err(e) => {
                eprintln!("{engine}: resume: FAILED ({secs:.1} s): {e:#}");
                failures.push(format!("{engine}: {e:#}"));
            }
        }
    }
    let result: Result<()> = if failures.is_empty() {
        Ok(())
    } else {
        Err(anyhow::anyhow!(failures.join("\n")))
    };
    gw.shutdown().await;
    let _ = std::fs::remove_dir_all(&pkg);
    let _ = std::fs::remove_dir_all(&bad);
    if let Err(e) = result {
        panic!("{e:#}");
    }
}
