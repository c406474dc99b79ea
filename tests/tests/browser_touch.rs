//! Phones, touch and HiDPI in real headless Chromium: CDP mobile emulation
//! (`Emulation.setDeviceMetricsOverride`, `Emulation.setTouchEmulationEnabled`) and real
//! touch events (`Input.dispatchTouchEvent`) against the test guest's own input report on
//! its serial port. Only Chromium's WebDriver exposes CDP, so the other engines print
//! `SKIP`; the gestures themselves are the page's code, the same on every engine, and
//! unit-tested in `web/src/player/touch.rs`.
//!
//! First a guest with a PS/2 mouse only (server mouse mode): the screen is a touchpad, a
//! one-finger drag moves the guest's pointer by the drag's length in the drag's
//! direction (its `EV REL` reports), a tap clicks without moving it, a long press
//! right-clicks. Then, on one booted guest with a tablet: the player fits a phone in
//! portrait and in landscape; a tap clicks
//! where it lands, a long press and a two-finger tap right-click, a two-finger drag
//! scrolls; text typed into the on-screen keyboard's field (as a phone keyboard delivers
//! it: `input` events, no usable keydown) runs a shell command; a sticky on-screen Shift
//! holds Shift around the next key; at `deviceScaleFactor` 2 and then 1.5 (a common
//! laptop setting) the page follows `devicePixelRatio` and whole-pixel scaling shows each
//! guest pixel as a uniform block of a whole number of device pixels (checked on a
//! device-pixel screenshot).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use olive_tests::browser::{base64_decode, Browser, BrowserOptions, Engine, PLAYER, SCREEN};
use olive_tests::gateway::{require_dist, GwItem, TestGateway};
use olive_tests::{qemu_lock, Rgba};
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
            "olivePart(arguments[0]).scrollIntoView(); \
             const r = olivePart(arguments[1]).getBoundingClientRect(); \
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

/// On an emulated phone: Run `item`, wait for the guest to be ready with its pointer device
/// (`abs` tablet or `rel` PS/2 mouse) and for the page's `mouse` mode; the instance id.
async fn run_on_a_phone(
    gw: &TestGateway,
    b: &Browser,
    item: &str,
    pointer: &str,
    mouse: &str,
) -> Result<String> {
    emulate(b, 390, 844, 3.0, true).await?;
    b.goto(&format!("{}/", gw.url())).await?;
    b.click_run(item, Duration::from_secs(20)).await?;
    b.wait_state(&["running"], Duration::from_secs(90)).await?;
    let id = b
        .attr(PLAYER, "data-instance")
        .await?
        .context("data-instance")?;
    gw.wait_serial(&id, "OLIVE-GUEST-READY", Duration::from_secs(90))
        .await?;
    let device = format!("type={pointer}");
    gw.wait_serial_where(&id, Duration::from_secs(60), |l| {
        l.starts_with("INPUT add") && l.contains(&device)
    })
    .await?;
    b.wait_attr(PLAYER, "data-mouse-mode", Duration::from_secs(30), |m| {
        m == mouse
    })
    .await?;
    Ok(id)
}

async fn scenario(gw: &TestGateway, b: &Browser) -> Result<()> {
    let id = run_on_a_phone(gw, b, "console", "abs", "client").await?;
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
        "olivePart('button[aria-label=\"On-screen keyboard\"]').click(); return true;",
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
        "olivePart('#olive-osk input').focus(); return true;",
        vec![],
    )
    .await?;
    b.cdp(
        "Input.insertText",
        json!({ "text": format!("echo {marker} > /dev/ttyS0") }),
    )
    .await?;
    b.js(
        "olivePart('#olive-osk [data-code=\"Enter\"]').click(); return true;",
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
            "olivePart('#olive-osk [data-code=\"' + arguments[0] + '\"]').click(); return true;",
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

/// Sets the player's scale mode through its "Screen size" control, as a visitor would.
async fn scale_mode(b: &Browser, mode: &str) -> Result<()> {
    b.js(
        "const s = olivePart(arguments[0] + ' select[aria-label=\"Screen size\"]'); \
         s.value = arguments[1]; s.dispatchEvent(new Event('change', {bubbles: true})); return true;",
        vec![json!(PLAYER), json!(mode)],
    )
    .await?;
    b.wait_attr(PLAYER, "data-scale", Duration::from_secs(5), |v| v == mode)
        .await?;
    Ok(())
}

/// A desktop at `deviceScaleFactor: dpr` (no touch), whole-pixel scaling: the page reads
/// the new ratio, each guest pixel is a whole number `k` of device pixels, and what the
/// screen shows (a device-pixel screenshot) is every guest pixel as a uniform k×k block
/// of its colour: crisp, not resampled to 1.5 device pixels. Returns `k`.
async fn hidpi(b: &Browser, dpr: f64, vw: u32, vh: u32) -> Result<u32> {
    emulate(b, vw, vh, dpr, false).await?;
    // Chosen once: a later ratio must be picked up by the page itself, not by a change
    // of the control re-sizing the canvas on the way.
    if b.attr(PLAYER, "data-scale").await?.as_deref() != Some("integer") {
        scale_mode(b, "integer").await?;
    }
    // k×k blocks need square pixels: at 4:3 the console's rows are 1.35 columns tall.
    if b.attr(PLAYER, "data-aspect").await?.as_deref() != Some("square") {
        b.js(
            "olivePart(arguments[0] + ' button[aria-label=\"4:3 display aspect\"]').click(); return true;",
            vec![json!(PLAYER)],
        )
        .await?;
        b.wait_attr(PLAYER, "data-aspect", Duration::from_secs(5), |v| {
            v == "square"
        })
        .await?;
    }
    b.js(
        "olivePart(arguments[0]).scrollIntoView(); return true;",
        vec![json!(PLAYER)],
    )
    .await?;
    let dpr_text = dpr.to_string();
    if let Err(e) = b
        .wait_attr(PLAYER, "data-dpr", Duration::from_secs(5), |v| {
            v == dpr_text
        })
        .await
    {
        let seen = b
            .js(
                "return [devicePixelRatio, innerWidth, matchMedia('(resolution: 2dppx)').matches,                  matchMedia('(resolution: 1.5dppx)').matches];",
                vec![],
            )
            .await?;
        bail!("the page did not follow devicePixelRatio {dpr} (page sees [dpr, innerWidth, 2dppx, 1.5dppx] = {seen}): {e:#}");
    }
    // The canvas is sized in the same pass that writes data-dpr.
    let k: f64 = b
        .attr(PLAYER, "data-device-scale")
        .await?
        .and_then(|v| v.parse().ok())
        .context("data-device-scale")?;
    let [_, _, cw, ch, w, h] = b.canvas_geometry().await?;
    // Layout rounds CSS sizes to 1/64 px, so a 533.33 px height is 533.328125.
    let (kx, ky) = (cw * dpr / w, ch * dpr / h);
    if k.fract() != 0.0 || k < dpr.ceil() || (kx - k).abs() > 0.01 || (ky - k).abs() > 0.01 {
        bail!("dpr {dpr} whole-pixel scale: data-device-scale {k}, canvas {cw}×{ch} CSS px for {w}×{h} px = {kx}×{ky} device px each");
    }
    let k = k as u32;
    crisp(b, dpr, k).await?;
    eprintln!(
        "chromium: dpr {dpr} whole-pixel scaling = {k} device px per guest pixel, crisp on screen: ok"
    );
    Ok(k)
}

/// The viewport as the screen shows it, in device pixels (CDP `Page.captureScreenshot`).
async fn device_screenshot(b: &Browser) -> Result<Rgba> {
    let v = b
        .cdp("Page.captureScreenshot", json!({ "format": "png" }))
        .await?;
    let png = base64_decode(v["data"].as_str().context("screenshot data")?)?;
    Rgba::from_png(&png).context("screenshot PNG")
}

/// Each canvas pixel appears on screen as a k×k block of its colour, at the canvas's
/// device-pixel origin. The guest may redraw between the two reads, so a mismatch is
/// retried a few times before it counts.
async fn crisp(b: &Browser, dpr: f64, k: u32) -> Result<()> {
    let mut last = String::new();
    for _ in 0..4 {
        let canvas = b.canvas_rgba().await?;
        let shot = device_screenshot(b).await?;
        let [left, top, ..] = b.canvas_geometry().await?;
        let iw = b
            .js("return innerWidth;", vec![])
            .await?
            .as_f64()
            .context("innerWidth")?;
        let scale = f64::from(shot.width) / iw;
        if (scale - dpr).abs() > 0.01 {
            bail!(
                "the screenshot is {} device px for {iw} CSS px, not at dpr {dpr}",
                shot.width
            );
        }
        // The compositor snaps the canvas to a device pixel; which one is its business.
        let (ox, oy) = ((left * dpr).round() as i64, (top * dpr).round() as i64);
        let mut best: Option<(u64, u64, i64, i64)> = None;
        for (dx, dy) in (-1..=1).flat_map(|dy| (-1..=1).map(move |dx| (dx, dy))) {
            let (bad, seen) = block_mismatches(&canvas, &shot, ox + dx, oy + dy, k);
            if best.is_none_or(|b| bad < b.0) {
                best = Some((bad, seen, ox + dx, oy + dy));
            }
        }
        let (bad, seen, bx, by) = best.context("no origin tried")?;
        if seen < u64::from(canvas.width) * u64::from(canvas.height) / 2 {
            bail!("only {seen} guest pixels of the canvas are on screen");
        }
        if bad == 0 {
            return Ok(());
        }
        let dir = scratch();
        let _ = shot.save(dir.join(format!("crisp-{dpr}-screen.png")));
        let _ = canvas.save(dir.join(format!("crisp-{dpr}-canvas.png")));
        last = format!("{bad} of {seen} guest pixels are not a uniform {k}×{k} block of their colour on screen (origin {bx},{by} device px; pictures in {})", dir.display());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("dpr {dpr}: {last}")
}

/// (mismatching, compared) guest pixels: those whose k×k device block at
/// (ox + k·x, oy + k·y) is not, within a small tolerance, the canvas pixel's colour.
///
/// The outermost ring of guest pixels is left out: the flex-centred canvas can sit at a
/// half device pixel (seen at dpr 1.5: its box from 169.5 to 1609.5), and Chromium then
/// blends the box's edge device pixel with the stage's background while still sampling
/// the inside whole-pixel; aligning the box itself to device pixels is not done yet.
fn block_mismatches(canvas: &Rgba, shot: &Rgba, ox: i64, oy: i64, k: u32) -> (u64, u64) {
    let (mut bad, mut seen) = (0, 0);
    let k = i64::from(k);
    for y in 1..i64::from(canvas.height) - 1 {
        for x in 1..i64::from(canvas.width) - 1 {
            let (sx, sy) = (ox + k * x, oy + k * y);
            if sx < 0 || sy < 0 || sx + k > i64::from(shot.width) || sy + k > i64::from(shot.height)
            {
                continue;
            }
            seen += 1;
            let want = canvas.rgb(x as u32, y as u32);
            let uniform = (0..k).all(|j| {
                (0..k).all(|i| {
                    let got = shot.rgb((sx + i) as u32, (sy + j) as u32);
                    got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 6)
                })
            });
            if !uniform {
                bad += 1;
            }
        }
    }
    (bad, seen)
}

/// Sums the guest's `EV REL` reports after line `mark` of its serial log.
fn rel_since(log: &str, mark: usize) -> (i64, i64) {
    log.lines()
        .skip(mark)
        .filter_map(|l| {
            let rest = l.trim_end().strip_prefix("EV REL dx=")?;
            let (dx, dy) = rest.split_once(" dy=")?;
            Some((dx.parse::<i64>().ok()?, dy.parse::<i64>().ok()?))
        })
        .fold((0, 0), |(x, y), (dx, dy)| (x + dx, y + dy))
}

/// One finger from (x, y) in `steps` moves of (sx, sy) CSS px, then lifted.
async fn drag(b: &Browser, x: f64, y: f64, sx: f64, sy: f64, steps: u32) -> Result<()> {
    touch(b, "touchStart", &[(x, y)]).await?;
    for i in 1..=steps {
        let i = f64::from(i);
        touch(b, "touchMove", &[(x + sx * i, y + sy * i)]).await?;
    }
    touch(b, "touchEnd", &[]).await
}

/// A one-finger drag of (dx, dy) CSS px moves the guest's pointer by that much in guest
/// pixels (the canvas's scale, fractions carried) without pressing a button.
async fn touchpad_drag(gw: &TestGateway, b: &Browser, id: &str, sx: f64, sy: f64) -> Result<()> {
    let steps = 8;
    let [left, top, cw, ch, w, h] = b.canvas_geometry().await?;
    // Per axis: the 720x400 console is shown at 4:3, so its rows are taller than wide.
    let (k, ky) = (w / cw, h / ch);
    let want = (sx * f64::from(steps) * k, sy * f64::from(steps) * ky);
    let mark = gw.serial_log(id).lines().count();
    let (x0, y0) = (left + cw / 2.0, top + ch / 2.0);
    b.js(
        "window.__oliveTouches = {canvas: 0, doc: 0};          olivePart(arguments[0]).addEventListener('touchmove', () => window.__oliveTouches.canvas++);          document.addEventListener('touchmove', () => window.__oliveTouches.doc++, {capture: true}); return true;",
        vec![json!(SCREEN)],
    )
    .await?;
    drag(b, x0, y0, sx, sy, steps).await?;
    let deadline = Instant::now() + Duration::from_secs(15);
    // Up to a pixel is carried over from the previous drag, and up to one stays behind.
    let near = |got: (i64, i64)| {
        (got.0 as f64 - want.0).abs() <= 2.0 && (got.1 as f64 - want.1).abs() <= 2.0
    };
    loop {
        let log = gw.serial_log(id);
        let got = rel_since(&log, mark);
        if near(got) {
            if log
                .lines()
                .skip(mark)
                .any(|l| l.starts_with("EV KEY code=272"))
            {
                bail!("a touchpad drag pressed the left button");
            }
            eprintln!("chromium: server mode, one-finger drag of ({}, {}) CSS px moved the guest pointer by {got:?} px (scale {k:.3}): ok", sx * f64::from(steps), sy * f64::from(steps));
            return Ok(());
        }
        if Instant::now() > deadline {
            let seen = b
                .js(
                    "const e = oliveAt(arguments[0], arguments[1]);                      return [window.__oliveTouches, e && (e.id || e.className),                              olivePart(arguments[2]).getAttribute('data-mouse-mode')];",
                    vec![json!(x0), json!(y0), json!(PLAYER)],
                )
                .await?;
            let tail: Vec<&str> = log.lines().rev().take(10).collect();
            eprintln!("page: [touchmoves, element at the drag, mouse mode] = {seen}; guest's last lines {tail:?}");
            bail!("a touchpad drag of ({}, {}) CSS px at {k:.3} guest px each: the guest's pointer moved {got:?}, want about ({:.1}, {:.1})", sx * f64::from(steps), sy * f64::from(steps), want.0, want.1);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Server mouse mode (a PS/2-only guest), on a phone: the screen is a touchpad. Drags
/// move the guest's pointer relatively in their direction, a tap clicks where the
/// pointer is (no motion), a long press right-clicks.
async fn touchpad(gw: &TestGateway, b: &Browser) -> Result<()> {
    let id = run_on_a_phone(gw, b, "console-ps2", "rel", "server").await?;
    if let Some(l) = gw
        .serial_log(&id)
        .lines()
        .find(|l| l.starts_with("INPUT add") && l.contains("type=abs"))
    {
        bail!("the PS/2-only guest has an absolute device: {l}");
    }
    fits(b, "portrait, server mouse mode").await?;

    // Right and down, then left and up: relative motion in the drag's direction.
    touchpad_drag(gw, b, &id, 10.0, 5.0).await?;
    touchpad_drag(gw, b, &id, -7.0, -11.0).await?;

    // Tap = left click where the pointer is: press and release, no motion.
    let release = "EV KEY code=272 value=0";
    let log = gw.serial_log(&id);
    let (mark, before) = (log.lines().count(), log.matches(release).count());
    let [left, top, cw, ch, ..] = b.canvas_geometry().await?;
    touch(b, "touchStart", &[(left + cw * 0.2, top + ch * 0.8)]).await?;
    touch(b, "touchEnd", &[]).await?;
    let log = wait_count(gw, &id, release, before).await?;
    let new: Vec<&str> = log
        .lines()
        .skip(mark)
        .filter(|l| l.starts_with("EV "))
        .map(str::trim_end)
        .collect();
    let press = new.iter().position(|l| *l == "EV KEY code=272 value=1");
    let release = new.iter().position(|l| *l == release);
    match (press, release) {
        (Some(p), Some(r)) if p < r => {}
        _ => bail!("a tap in server mode: the guest got {new:?}"),
    }
    if let Some(m) = new.iter().find(|l| l.starts_with("EV REL")) {
        bail!("a tap in server mode moved the pointer ({m}); the guest got {new:?}");
    }
    eprintln!("chromium: server mode, tap = left click where the pointer is: ok");

    // Long press = right click, here too.
    let right = "EV KEY code=273 value=1";
    let before = gw.serial_log(&id).matches(right).count();
    touch(b, "touchStart", &[(left + cw * 0.5, top + ch * 0.5)]).await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    touch(b, "touchEnd", &[]).await?;
    wait_count(gw, &id, right, before).await?;
    eprintln!("chromium: server mode, long press = right click: ok");
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
    let console = GwItem::console("console");
    let gw = TestGateway::start(
        &scratch(),
        &dist,
        &[console.clone(), console.ps2("console-ps2")],
    )
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
                // Server mode first: run after the client-mode scenario below (a
                // second launch in the same session), Chromium delivered none of the
                // CDP touch events to the page (no touchmove even at the document), so
                // this order is what lets both be tested; why is not known yet.
                touchpad(&gw, b).await?;
                // One guest at a time: the PS/2 guest goes before the tablet one boots.
                for id in gw.instances_of("console-ps2") {
                    gw.server().registry().destroy(&id).await;
                }
                scenario(&gw, b).await?;
                // The same session on a desktop: at 2 and then 1.5 device px per CSS px
                // (the same CSS viewport, so only devicePixelRatio changes).
                let k2 = hidpi(b, 2.0, 1200, 900).await?;
                let k15 = hidpi(b, 1.5, 1200, 900).await?;
                if k15 >= k2 {
                    bail!("whole-pixel scaling did not follow the ratio down: {k2} device px at dpr 2, {k15} at 1.5");
                }
                Ok(())
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
