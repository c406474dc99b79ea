//! Phones, touch and HiDPI in real headless Chromium: CDP mobile emulation
//! (`Emulation.setDeviceMetricsOverride`, `Emulation.setTouchEmulationEnabled`) and real
//! touch events (`Input.dispatchTouchEvent`) against the test guest's own input report on
//! its serial port. Only Chromium's WebDriver exposes CDP, so the other engines print
//! `SKIP`; the gestures themselves are the page's code, the same on every engine, and
//! unit-tested in `web/src/player/touch.rs`.
//!
//! On one booted guest: the player fits a phone in portrait and in landscape; a tap clicks
//! where it lands, a long press and a two-finger tap right-click, a two-finger drag
//! scrolls; text typed into the on-screen keyboard's field (as a phone keyboard delivers
//! it: `input` events, no usable keydown) runs a shell command; a sticky on-screen Shift
//! holds Shift around the next key; at `deviceScaleFactor: 2` whole-pixel scaling is a
//! whole number of device pixels. (Server mouse mode's touchpad gestures are unit-tested
//! only: with a guest without a tablet, CDP's touch events never reached the page.)

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use olive_tests::browser::{Browser, BrowserOptions, Engine, PLAYER, SCREEN};
use olive_tests::gateway::{require_dist, GwItem, TestGateway};
use olive_tests::qemu_lock;
use serde_json::{json, Value};

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// A phone: 390×844 CSS px at 3 device px each, with touch.
async fn emulate(b: &Browser, w: u32, h: u32, dpr: f64, mobile: bool) -> Result<()> {
    b.cdp(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": w, "height": h, "deviceScaleFactor": dpr, "mobile": mobile }),
    )
    .await?;
    b.cdp(
        "Emulation.setTouchEmulationEnabled",
        json!({ "enabled": mobile, "maxTouchPoints": 5 }),
    )
    .await?;
    Ok(())
}

async fn touch(b: &Browser, kind: &str, points: &[(f64, f64)]) -> Result<()> {
    let pts: Vec<Value> = points
        .iter()
        .enumerate()
        .map(|(i, (x, y))| json!({ "x": x, "y": y, "id": i }))
        .collect();
    b.cdp(
        "Input.dispatchTouchEvent",
        json!({ "type": kind, "touchPoints": pts }),
    )
    .await
    .map(|_| ())
}

/// The viewport point of surface pixel (x, y).
async fn at(b: &Browser, x: u32, y: u32) -> Result<(f64, f64, f64)> {
    let [left, top, cw, ch, w, h] = b.canvas_geometry().await?;
    Ok((
        left + (f64::from(x) + 0.5) * cw / w,
        top + (f64::from(y) + 0.5) * ch / h,
        (w / cw).ceil() + 1.0,
    ))
}

/// Waits until the serial log has more than `before` lines containing `needle`.
async fn wait_count(gw: &TestGateway, id: &str, needle: &str, before: usize) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let log = gw.serial_log(id);
        if log.matches(needle).count() > before {
            return Ok(log);
        }
        if Instant::now() > deadline {
            let tail: Vec<&str> = log.lines().rev().take(8).collect();
            bail!("no new {needle:?} in the guest's input report within 15 s (last lines, newest first: {tail:?})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The canvas is wholly inside the viewport once the player is scrolled to the top, and
/// uses most of the width or height.
async fn fits(b: &Browser, what: &str) -> Result<()> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let v = b
        .js(
            "document.querySelector(arguments[0]).scrollIntoView(); \
             const r = document.querySelector(arguments[1]).getBoundingClientRect(); \
             return [r.left, r.top, r.right, r.bottom, innerWidth, innerHeight];",
            vec![json!(PLAYER), json!(SCREEN)],
        )
        .await?;
    let a: Vec<f64> = v
        .as_array()
        .context("rect")?
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    let [l, t, r, bt, iw, ih] = a[..] else {
        bail!("rect {v}")
    };
    if l < -0.5 || t < -0.5 || r > iw + 0.5 || bt > ih + 0.5 {
        bail!("{what}: the screen ({l},{t})–({r},{bt}) does not fit the {iw}×{ih} viewport");
    }
    if (r - l) < 0.6 * iw && (bt - t) < 0.6 * ih {
        bail!(
            "{what}: the screen is only {}×{} of {iw}×{ih}",
            r - l,
            bt - t
        );
    }
    Ok(())
}

async fn scenario(gw: &TestGateway, b: &Browser) -> Result<()> {
    emulate(b, 390, 844, 3.0, true).await?;
    b.goto(&format!("{}/", gw.url())).await?;
    b.click_run("console", Duration::from_secs(20)).await?;
    b.wait_state(&["running"], Duration::from_secs(90)).await?;
    let id = b
        .attr(PLAYER, "data-instance")
        .await?
        .context("data-instance")?;
    gw.wait_serial(&id, "OLIVE-GUEST-READY", Duration::from_secs(90))
        .await?;
    gw.wait_serial_where(&id, Duration::from_secs(60), |l| {
        l.starts_with("INPUT add") && l.contains("type=abs")
    })
    .await?;
    b.wait_attr(PLAYER, "data-mouse-mode", Duration::from_secs(30), |m| {
        m == "client"
    })
    .await?;
    if b.attr(PLAYER, "data-touch").await?.as_deref() != Some("yes") {
        bail!("the page did not detect the touch screen");
    }
    fits(b, "portrait").await?;
    eprintln!("chromium: fits a phone in portrait: ok");

    // Tap = left click at that pixel.
    let press = "EV KEY code=272 value=1";
    let before = gw.serial_log(&id).matches(press).count();
    let (x, y, tol) = at(b, 300, 200).await?;
    touch(b, "touchStart", &[(x, y)]).await?;
    touch(b, "touchEnd", &[]).await?;
    let log = wait_count(gw, &id, press, before).await?;
    let lines: Vec<&str> = log.lines().collect();
    let at_press = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains(press))
        .nth(before)
        .map(|(i, _)| i)
        .context("the tap's press")?;
    let abs = lines[..at_press]
        .iter()
        .rev()
        .find(|l| l.starts_with("EV ABS"))
        .context("no EV ABS before the tap")?
        .to_string();
    let px: f64 = field(&abs, "px=")?;
    let py: f64 = field(&abs, "py=")?;
    if (px - 300.0).abs() > tol || (py - 200.0).abs() > tol {
        bail!("tapped (300,200) but the guest saw {abs:?} (tolerance {tol})");
    }
    eprintln!("chromium: tap = left click at the pixel: ok ({abs})");

    // Long press = right click.
    let right = "EV KEY code=273 value=1";
    let before = gw.serial_log(&id).matches(right).count();
    let (x, y, _) = at(b, 100, 100).await?;
    touch(b, "touchStart", &[(x, y)]).await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    touch(b, "touchEnd", &[]).await?;
    wait_count(gw, &id, right, before).await?;
    // Two-finger tap = right click.
    let before = gw.serial_log(&id).matches(right).count();
    touch(b, "touchStart", &[(x, y), (x + 60.0, y)]).await?;
    touch(b, "touchEnd", &[]).await?;
    wait_count(gw, &id, right, before).await?;
    eprintln!("chromium: long press and two-finger tap = right click: ok");

    // Two-finger drag = wheel.
    let before = gw.serial_log(&id).matches("EV WHEEL").count();
    let (x, y, _) = at(b, 360, 300).await?;
    touch(b, "touchStart", &[(x, y), (x + 60.0, y)]).await?;
    for i in 1..=8 {
        let dy = -12.0 * f64::from(i);
        touch(b, "touchMove", &[(x, y + dy), (x + 60.0, y + dy)]).await?;
    }
    touch(b, "touchEnd", &[]).await?;
    wait_count(gw, &id, "EV WHEEL", before).await?;
    eprintln!("chromium: two-finger drag = wheel: ok");

    // Phone-keyboard text through the on-screen keyboard's field, Enter from its key.
    b.js(
        "document.querySelector('button[aria-label=\"On-screen keyboard\"]').click(); return true;",
        vec![],
    )
    .await?;
    b.wait_attr(
        "button[aria-label=\"On-screen keyboard\"]",
        "aria-expanded",
        Duration::from_secs(5),
        |v| v == "true",
    )
    .await?;
    let marker = format!("osk-{}", std::process::id() % 10000);
    b.js(
        "document.querySelector('#olive-osk input').focus(); return true;",
        vec![],
    )
    .await?;
    b.cdp(
        "Input.insertText",
        json!({ "text": format!("echo {marker} > /dev/ttyS0") }),
    )
    .await?;
    b.js(
        "document.querySelector('#olive-osk [data-code=\"Enter\"]').click(); return true;",
        vec![],
    )
    .await?;
    gw.wait_serial_where(&id, Duration::from_secs(20), |l| {
        l.trim_end().ends_with(&marker)
    })
    .await
    .context("text typed into the on-screen keyboard's field, run in the guest")?;
    eprintln!("chromium: phone-keyboard text and the Enter key run a command: ok");

    // Sticky Shift: Shift, then a → the guest gets Shift down, A, Shift up.
    let log_len = gw.serial_log(&id).lines().count();
    for code in ["ShiftLeft", "KeyA"] {
        b.js(
            "document.querySelector('#olive-osk [data-code=\"' + arguments[0] + '\"]').click(); return true;",
            vec![json!(code)],
        )
        .await?;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = gw.serial_log(&id);
        let new: Vec<&str> = log
            .lines()
            .skip(log_len)
            .filter(|l| l.starts_with("EV KEY code=42 ") || l.starts_with("EV KEY code=30 "))
            .collect();
        let want = [
            "EV KEY code=42 value=1",
            "EV KEY code=30 value=1",
            "EV KEY code=30 value=0",
            "EV KEY code=42 value=0",
        ];
        if new.len() >= 4 {
            if new[..4].iter().zip(want).all(|(a, b)| a.trim_end() == b) {
                break;
            }
            bail!("sticky Shift + a: the guest got {new:?}");
        }
        if Instant::now() > deadline {
            bail!("sticky Shift + a: the guest got only {new:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("chromium: sticky on-screen Shift: ok");

    // Landscape.
    emulate(b, 844, 390, 3.0, true).await?;
    fits(b, "landscape").await?;
    eprintln!("chromium: fits a phone in landscape: ok");

    Ok(())
}

/// HiDPI desktop (`deviceScaleFactor: 2`, no touch): whole-pixel scaling is a whole
/// number of device pixels per guest pixel.
async fn hidpi(b: &Browser) -> Result<()> {
    // HiDPI desktop: whole-pixel scaling in whole device pixels.
    emulate(b, 1600, 1000, 2.0, false).await?;
    b.js(
        "const s = document.querySelector(arguments[0] + ' select[aria-label=\"Screen size\"]'); \
         s.value = 'integer'; s.dispatchEvent(new Event('change', {bubbles: true})); return true;",
        vec![json!(PLAYER)],
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let dpr = b.attr(PLAYER, "data-dpr").await?;
    let k: f64 = b
        .attr(PLAYER, "data-device-scale")
        .await?
        .and_then(|v| v.parse().ok())
        .context("data-device-scale")?;
    let [_, _, cw, _, w, _] = b.canvas_geometry().await?;
    let device = cw * 2.0 / w;
    if dpr.as_deref() != Some("2") || k.fract() != 0.0 || (device - k).abs() > 1e-6 || k < 2.0 {
        bail!("HiDPI whole-pixel scale: dpr {dpr:?}, data-device-scale {k}, canvas {cw} CSS px for {w} px = {device} device px each");
    }
    eprintln!("chromium: HiDPI whole-pixel scaling = {k} device px per guest pixel: ok");
    Ok(())
}

fn field(line: &str, name: &str) -> Result<f64> {
    line.split_whitespace()
        .find_map(|f| f.strip_prefix(name))
        .and_then(|v| v.trim().parse().ok())
        .with_context(|| format!("no {name} in {line:?}"))
}

async fn run_engine(engine: Engine) {
    if !Engine::selected()
        .expect("OLIVE_BROWSERS")
        .contains(&engine)
    {
        eprintln!("SKIP {engine}: not in OLIVE_BROWSERS");
        return;
    }
    if !engine.has_cdp() {
        eprintln!("SKIP {engine}: touch, phone and HiDPI emulation need CDP (Emulation.*, Input.dispatchTouchEvent), which only chromedriver exposes");
        return;
    }
    let _lock = qemu_lock();
    let t0 = Instant::now();
    let dist = require_dist().expect("web app");
    let gw = TestGateway::start(&scratch(), &dist, &[GwItem::console("console")])
        .await
        .expect("gateway");
    let browser = Browser::launch(&BrowserOptions {
        engine,
        scratch: scratch(),
        ..Default::default()
    })
    .await;
    let result = match &browser {
        Ok(b) => {
            async {
                scenario(&gw, b).await?;
                hidpi(b).await
            }
            .await
        }
        Err(e) => Err(anyhow::anyhow!("{engine} session: {e:#}")),
    };
    if let Ok(b) = browser {
        if result.is_err() {
            let png = scratch().join(format!("browser-touch-{engine}.png"));
            let _ = b.screenshot(&png).await;
            eprintln!("screenshot {}", png.display());
        }
        let _ = b.close().await;
    }
    gw.shutdown().await;
    eprintln!(
        "{engine}: touch suite took {:.1} s",
        t0.elapsed().as_secs_f64()
    );
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
