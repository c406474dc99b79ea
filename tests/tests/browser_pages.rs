//! The pages around the player on every engine, without starting a machine (no QEMU):
//!
//! - a browser without WebAssembly gets a clear message instead of a blank page (the inline
//!   check in `index.html`, which works without the wasm loading);
//! - the collection page and an item page have no WCAG 2.1 A/AA violations (axe-core,
//!   injected through WebDriver), and every control is reachable with Tab, in order, with a
//!   visible focus outline.
//!
//! A step an engine's WebDriver or build cannot drive prints `SKIP <engine>: <reason>`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use olive_tests::a11y::{assert_no_violations, assert_tab_reaches, axe_source};
use olive_tests::browser::{Browser, BrowserOptions, Engine};
use olive_tests::gateway::{require_dist, GwItem, TestGateway};

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

async fn launch(engine: Engine, wasm: bool) -> Result<Browser> {
    Browser::launch(&BrowserOptions {
        engine,
        scratch: scratch(),
        wasm,
        ..Default::default()
    })
    .await
}

/// Without WebAssembly the visitor reads why nothing runs.
async fn no_wasm_message(gw: &TestGateway, engine: Engine) -> Result<()> {
    let b = launch(engine, false).await?;
    let r = async {
        b.goto(&format!("{}/", gw.url())).await?;
        let has = b.js("return typeof WebAssembly;", vec![]).await?;
        if has != "undefined" {
            bail!("WebAssembly is still {has} with the switch off");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = b
                .js(
                    "const e = document.getElementById('olive-unsupported'); \
                     return e && e.offsetParent !== null ? e.innerText : null;",
                    vec![],
                )
                .await?;
            if let Some(t) = text.as_str() {
                if !t.contains("WebAssembly") {
                    bail!("the message does not say what is missing: {t:?}");
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("no visible #olive-unsupported message within 10 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    .await;
    let _ = b.close().await;
    r
}

async fn pages(gw: &TestGateway, engine: Engine, axe: &str) -> Result<()> {
    let b = launch(engine, true).await?;
    let r = async {
        b.goto(&format!("{}/", gw.url())).await?;
        b.client()
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(fantoccini::Locator::Css("[data-item=\"flat\"]"))
            .await
            .context("the collection's Run buttons")?;
        assert_no_violations(&b, axe, "collection page").await?;
        assert_tab_reaches(
            &b,
            &[
                "Olive",
                "Test guest: text console",
                "Run Test guest: text console",
                "Test guest: flat",
                "Run Test guest: flat",
            ],
            2,
            "collection page",
        )
        .await?;
        b.goto(&format!("{}/item/flat", gw.url())).await?;
        b.client()
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(fantoccini::Locator::Css(".item [data-item=\"flat\"]"))
            .await
            .context("the item page's Run button")?;
        assert_no_violations(&b, axe, "item page").await?;
        assert_tab_reaches(&b, &["Olive", "Run Test guest: flat"], 2, "item page").await
    }
    .await;
    let _ = b.close().await;
    r
}

async fn run_engine(engine: Engine) {
    if !Engine::selected()
        .expect("OLIVE_BROWSERS")
        .contains(&engine)
    {
        eprintln!("SKIP {engine}: not in OLIVE_BROWSERS");
        return;
    }
    let dist = require_dist().expect("web app");
    let axe = axe_source().expect("axe-core");
    let items = [GwItem::console("console"), GwItem::qxl("flat", "flat")];
    let gw = TestGateway::start(&scratch(), &dist, &items)
        .await
        .expect("gateway");
    let t0 = Instant::now();
    let mut result = pages(&gw, engine, &axe).await;
    eprintln!(
        "{engine}: collection and item pages (axe, Tab order, focus): {} ({:.1} s)",
        if result.is_ok() { "ok" } else { "FAILED" },
        t0.elapsed().as_secs_f64()
    );
    let t1 = Instant::now();
    if engine.can_disable_wasm() {
        let r = no_wasm_message(&gw, engine).await;
        eprintln!(
            "{engine}: message without WebAssembly: {} ({:.1} s)",
            if r.is_ok() { "ok" } else { "FAILED" },
            t1.elapsed().as_secs_f64()
        );
        result = result.and(r);
    } else {
        eprintln!("SKIP {engine}: message without WebAssembly: this engine's WebDriver has no switch to turn WebAssembly off");
    }
    gw.shutdown().await;
    if let Err(e) = result {
        panic!("{engine}: {e:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium() {
    run_engine(Engine::Chromium).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox() {
    run_engine(Engine::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webkit() {
    run_engine(Engine::WebKit).await;
}
