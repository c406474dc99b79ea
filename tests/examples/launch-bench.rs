//! Launch-time bench (a program that prints figures, not a test):
//!
//! ```text
//! cargo run -p olive-tests --example launch-bench -- [--engine E] [ITEM] [RUNS]    # default: chromium flat 5
//! cargo run -p olive-tests --example launch-bench -- [--engine E] compare [RUNS]   # cold boot vs resume
//! ```
//!
//! `--engine chromium|firefox|webkit` picks the browser (default chromium), driven through
//! its WebDriver server like the end-to-end tests.
//!
//! `compare` packages the `flat` item (memory image, lz4) and launches it both ways, RUNS
//! times each, alternating: Run → first guest pixel, and Run → the flat scene on the
//! canvas (what the visitor came for: for a cold boot that is after the whole boot).
//!
//! Starts the gateway in-process with the test collection (`console`, `flat`), opens the web
//! app (`dist/`) in the engine and, RUNS times, presses Run on ITEM and reads the player's
//! `data-first-pixel-ms` (Run pressed → first guest pixel on the canvas), destroying the
//! instance after each run. Prints each run, the median, the shipped wasm + JS size of
//! `dist/` (raw and gzip -9), what the engine itself fetched of it (Resource Timing), and
//! one `LAUNCH engine=… first_pixel_ms=… wire_bytes=… raw_bytes=… gzip_bytes=…` line, which
//! `cargo xtask bench` reads into its per-engine table.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use olive_tests::browser::{Browser, BrowserOptions, Engine, PLAYER};
use olive_tests::gateway::{require_dist, GwItem, TestGateway};

fn gzip9_len(path: &Path) -> Result<u64> {
    let out = Command::new("gzip")
        .args(["-9", "-n", "-c"])
        .arg(path)
        .stderr(Stdio::inherit())
        .output()
        .context("gzip")?;
    if !out.status.success() {
        bail!("gzip {} failed", path.display());
    }
    Ok(out.stdout.len() as u64)
}

fn sizes(dist: &Path) -> Result<()> {
    let mut files: Vec<_> = std::fs::read_dir(dist)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm" || x == "js"))
        .collect();
    files.sort();
    let (mut raw, mut gz) = (0u64, 0u64);
    println!("shipped code in {}:", dist.display());
    for f in &files {
        let r = std::fs::metadata(f)?.len();
        let g = gzip9_len(f)?;
        raw += r;
        gz += g;
        println!(
            "  {:<48} {:>10} B raw {:>10} B gzip -9",
            f.file_name().unwrap_or_default().to_string_lossy(),
            r,
            g
        );
    }
    println!("  {:<48} {:>10} B raw {:>10} B gzip -9", "total", raw, gz);
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// What one engine fetched of the app: every .wasm and .js, from Resource Timing.
#[derive(Debug, Default)]
struct Fetched {
    /// Bytes on the wire (encoded body: what the server sent, compressed or not).
    wire: u64,
    /// Bytes after content decoding (the files as shipped).
    raw: u64,
    /// The same files at `gzip -9`: what a compressing front end would send.
    gzip: u64,
}

/// What this engine fetched for the app, from Resource Timing: (name, encoded body bytes,
/// decoded bytes) of every .wasm and .js, and the gzip -9 size of those files in `dist`.
async fn downloaded(browser: &Browser, dist: &Path) -> Result<Fetched> {
    let v = browser
        .js(
            "return performance.getEntriesByType('resource') \
               .filter(e => /\\.(wasm|js)(\\?|$)/.test(e.name)) \
               .map(e => [e.name.split('?')[0].split('/').pop(), e.encodedBodySize, e.decodedBodySize, e.transferSize]);",
            vec![],
        )
        .await?;
    let mut total = Fetched::default();
    let mut names = std::collections::BTreeSet::new();
    for e in v.as_array().into_iter().flatten() {
        let n = |i: usize| e[i].as_u64().unwrap_or(0);
        let name = e[0].as_str().unwrap_or("?");
        // A file fetched twice (preload, then the module) is downloaded once from cache.
        if !names.insert(name.to_string()) {
            continue;
        }
        let file = dist.join(name);
        // Only files of dist/ (a bare name, no path): whatever else the page fetched
        // is reported, not gzipped.
        let gz = if !name.contains(['/', '\\']) && file.is_file() {
            gzip9_len(&file)?
        } else {
            0
        };
        total.wire += n(1);
        total.raw += n(2);
        total.gzip += gz;
        println!(
            "  {} fetched {name}: {} B on the wire (body), {} B decoded, transferSize {}, {gz} B at gzip -9",
            browser.engine(),
            n(1),
            n(2),
            n(3)
        );
    }
    println!(
        "  {} fetched wasm + JS: {} B on the wire, {} B decoded, {} B at gzip -9",
        browser.engine(),
        total.wire,
        total.raw,
        total.gzip
    );
    if names.is_empty() {
        bail!(
            "{} reported no .wasm or .js in Resource Timing",
            browser.engine()
        );
    }
    Ok(total)
}

async fn bench(
    gw: &TestGateway,
    browser: &Browser,
    dist: &Path,
    item: &str,
    runs: usize,
) -> Result<()> {
    let mut first_pixel = Vec::new();
    let mut wall = Vec::new();
    let mut fetched = None;
    for run in 1..=runs {
        browser.goto(&format!("{}/", gw.url())).await?;
        let t0 = Instant::now();
        browser.click_run(item, Duration::from_secs(20)).await?;
        browser
            .wait_state(&["running"], Duration::from_secs(120))
            .await?;
        let wall_ms = t0.elapsed().as_secs_f64() * 1000.0;
        if run == 1 {
            fetched = Some(downloaded(browser, dist).await?);
        }
        let fp = browser
            .wait_attr(
                PLAYER,
                "data-first-pixel-ms",
                Duration::from_secs(10),
                |v| v.parse::<f64>().is_ok(),
            )
            .await?;
        let fp: f64 = fp.parse()?;
        println!("run {run}: first pixel {fp:.0} ms (Run click → running seen by WebDriver {wall_ms:.0} ms)");
        first_pixel.push(fp);
        wall.push(wall_ms);
        for id in gw.instances_of(item) {
            gw.server().registry().destroy(&id).await;
        }
    }
    let (fp, wall) = (median(&mut first_pixel), median(&mut wall));
    println!(
        "median Run → first guest pixel over {runs} launches of '{item}' in {}: {fp:.0} ms (WebDriver-observed {wall:.0} ms)",
        browser.engine(),
    );
    let f = fetched.unwrap_or_default();
    // One line for `cargo xtask bench` to read.
    println!(
        "LAUNCH engine={} item={item} runs={runs} first_pixel_ms={fp:.0} webdriver_ms={wall:.0} wire_bytes={} raw_bytes={} gzip_bytes={}",
        browser.engine(),
        f.wire,
        f.raw,
        f.gzip
    );
    Ok(())
}

/// Whether the canvas shows the test guest's flat scene (its first and last blocks).
fn shows_flat_scene(c: &olive_tests::Rgba) -> bool {
    let (w, h) = (c.width, c.height);
    w >= 8
        && h >= 4
        && c.rgb(w / 8, h / 4) == [255, 0, 0]
        && c.rgb(w * 7 / 8, h * 3 / 4) == [128, 128, 128]
}

/// One launch of `item`: (Run → first pixel, Run → flat scene shown), in ms.
async fn launch_to_scene(gw: &TestGateway, browser: &Browser, item: &str) -> Result<(f64, f64)> {
    browser.goto(&format!("{}/", gw.url())).await?;
    let t0 = Instant::now();
    browser.click_run(item, Duration::from_secs(20)).await?;
    let scene_ms = loop {
        if let Ok(c) = browser.canvas_rgba().await {
            if shows_flat_scene(&c) {
                break t0.elapsed().as_secs_f64() * 1000.0;
            }
        }
        if t0.elapsed() > Duration::from_secs(180) {
            bail!("{item}: the flat scene never appeared");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let fp: f64 = browser
        .wait_attr(
            PLAYER,
            "data-first-pixel-ms",
            Duration::from_secs(10),
            |v| v.parse::<f64>().is_ok(),
        )
        .await?
        .parse()?;
    for id in gw.instances_of(item) {
        gw.server().registry().destroy(&id).await;
    }
    Ok((fp, scene_ms))
}

async fn compare(gw: &TestGateway, browser: &Browser, runs: usize) -> Result<()> {
    let (mut cold, mut warm) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
    for run in 1..=runs {
        for (item, acc) in [("flat", &mut cold), ("flat-pkg", &mut warm)] {
            let (fp, scene) = launch_to_scene(gw, browser, item).await?;
            println!("run {run} {item:<8}: first pixel {fp:>6.0} ms, flat scene on the canvas {scene:>6.0} ms");
            acc.0.push(fp);
            acc.1.push(scene);
        }
    }
    println!(
        "median over {runs} runs: cold boot first pixel {:.0} ms, scene {:.0} ms; resume first pixel {:.0} ms, scene {:.0} ms",
        median(&mut cold.0),
        median(&mut cold.1),
        median(&mut warm.0),
        median(&mut warm.1)
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let mut engine = Engine::Chromium;
    let mut positional = Vec::new();
    let mut argv = std::env::args().skip(1);
    while let Some(a) = argv.next() {
        if a == "--engine" {
            let name = argv.next().context("--engine needs a name")?;
            engine = Engine::parse(&name)
                .with_context(|| format!("unknown engine {name:?} (chromium, firefox, webkit)"))?;
        } else {
            positional.push(a);
        }
    }
    let mut args = positional.into_iter();
    let item = args.next().unwrap_or_else(|| "flat".into());
    let runs: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5);
    println!("engine: {engine}");
    let dist = require_dist()?;
    sizes(&dist)?;
    let _lock = olive_tests::qemu_lock();
    // Short: QEMU's UNIX sockets live below it, and a socket path has at most 107 bytes
    // (under a worktree's target/ the instances' sockets were longer, and QEMU refused).
    let scratch = std::env::temp_dir().join("olive-launch-bench");
    std::fs::create_dir_all(&scratch)?;
    let mut items = vec![GwItem::console("console"), GwItem::qxl("flat", "flat")];
    if item == "compare" {
        let pkg = scratch.join("flat-pkg");
        let _ = std::fs::remove_dir_all(&pkg);
        olive_tests::gateway::package_item(
            &scratch,
            &GwItem::qxl("flat", "flat"),
            &pkg,
            olive_gateway::model::Codec::Lz4,
        )
        .await?;
        items.push(GwItem::qxl("flat", "flat").packaged("flat-pkg", &pkg));
    }
    let gw = TestGateway::start(&scratch, &dist, &items).await?;
    let browser = match Browser::launch(&BrowserOptions {
        engine,
        scratch: scratch.clone(),
        ..Default::default()
    })
    .await
    {
        Ok(b) => b,
        Err(e) => {
            gw.shutdown().await;
            return Err(e);
        }
    };
    let result = if item == "compare" {
        compare(&gw, &browser, runs).await
    } else {
        bench(&gw, &browser, &dist, &item, runs).await
    };
    if result.is_err() {
        let state = browser.attr(PLAYER, "data-state").await.ok().flatten();
        let text = browser.player_text().await.unwrap_or_default();
        eprintln!("page state {state:?}, player text {text:?}");
    }
    let _ = browser.close().await;
    gw.shutdown().await;
    result
}
