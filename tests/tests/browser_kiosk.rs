//! Kiosk mode end to end (issue 14): real Chromium, the real gateway (in-process) and the
//! test guest under QEMU/TCG, resumed from packages.
//!
//! Two packages of the test guest (the qxl `flat` and `text` scenes, saved at
//! `OLIVE-GUEST-READY`) make a kiosk `lobby` with a short idle time. In one browser:
//!
//! - the attract loop cycles: both titles' saved screens are shown in turn, each equal to
//!   its package's `screen.ppm` pixel for pixel, and the profile carries no PIN;
//! - a key starts the title shown (the canvas equals QMP screendump);
//! - Ctrl-Alt-Del is swallowed: the guest's input report shows Ctrl and Alt and the key
//!   typed after them, but no Delete;
//! - idle → "Still playing? Resetting in N s" (an alert); a key cancels it;
//! - idle → warning → reset: a new instance (the old one destroyed), resumed (no boot line
//!   on its serial port), its screendump equal to the package's saved screen; the time from
//!   the warning's end to the title running again (`data-kiosk-reset-ms`) is printed;
//! - staff: the staff chord opens the PIN dialog; a wrong PIN is refused (403, "Wrong
//!   PIN."), the next attempt is slowed down (429 + `Retry-After`), the right PIN after the
//!   wait opens the staff menu; "Reset now" and "Play this title" start new machines,
//!   and "Leave kiosk mode" destroys the machine;
//! - outside kiosk mode (the item's own page) the same Ctrl-Alt-Del reaches the guest;
//! - a portal's page (another origin, in `embed_origins`) with `<olive-player kiosk="lobby">`
//!   runs the same kiosk in the element's shadow root: the loop, then a key starts a title
//!   whose canvas equals its screendump.
//!
//! The loop, the PIN dialog and the staff menu have no WCAG 2.1 A/AA violation (axe-core).
//!
//! `OLIVE_BROWSERS=chromium cargo test -p olive-tests --test browser_kiosk -- --nocapture`
//! (needs `dist/` and axe-core, as `cargo xtask test` installs them). Gateway, browser and QEMU are always torn down.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use olive_gateway::model::Codec;
use olive_tests::a11y::{assert_no_violations, axe_source};
use olive_tests::browser::{part_js, step, Browser, BrowserOptions, Engine, PLAYER, SCREEN};
use olive_tests::evdev::pressed;
use olive_tests::evdev::{KEY_DELETE, KEY_LEFTALT, KEY_LEFTCTRL, KEY_X};
use olive_tests::gateway::{package_item, require_dist, serve_dir, GwItem, TestGateway};
use olive_tests::{compare, qemu_lock, Rgba, Scratch};
use serde_json::json;

#[path = "browser_kiosk/element.rs"]
mod element;
#[path = "browser_kiosk/staff.rs"]
mod staff;

const KIOSK: &str = "#olive-kiosk";
const PIN: &str = "2468";
const IDLE_SECS: u64 = 6;
const WARNING_SECS: u64 = 4;
const ATTRACT_SECS: u64 = 2;
/// Resume → running under TCG, on a loaded machine.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn kiosk_toml() -> String {
    format!(
        "[[kiosk]]\nname = \"lobby\"\nitems = [\"flat-pkg\", \"text-pkg\"]\n\
         attract_secs = {ATTRACT_SECS}\nidle_secs = {IDLE_SECS}\nwarning_secs = {WARNING_SECS}\n\
         pin = \"{PIN}\"\n"
    )
}

async fn kiosk_state(b: &Browser) -> Result<String> {
    Ok(b.attr(KIOSK, "data-kiosk-state").await?.unwrap_or_default())
}

async fn wait_kiosk(b: &Browser, want: &str, within: Duration) -> Result<()> {
    b.wait_attr(KIOSK, "data-kiosk-state", within, |v| v == want)
        .await
        .with_context(|| format!("data-kiosk-state {want}"))
        .map(|_| ())
}

async fn instance(b: &Browser) -> Result<String> {
    match b.attr(PLAYER, "data-instance").await? {
        Some(id) if !id.is_empty() => Ok(id),
        _ => bail!("no data-instance on the player"),
    }
}

/// Presses `mods` (in order), taps `key`, releases `mods` (in reverse).
async fn chord(b: &Browser, mods: &[Key], key: char) -> Result<()> {
    let mut seq = KeyActions::new("keyboard".into());
    for m in mods {
        seq = seq.then(KeyAction::Down {
            value: char::from(*m),
        });
    }
    seq = seq
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    for m in mods.iter().rev() {
        seq = seq.then(KeyAction::Up {
            value: char::from(*m),
        });
    }
    b.client()
        .perform_actions(seq)
        .await
        .context("key actions")?;
    b.client().release_actions().await.context("release")
}

/// Ctrl+Alt+Delete, then `x`; returns the keys the guest reported pressed in between.
async fn ctrl_alt_del_then_x(gw: &TestGateway, b: &Browser, id: &str) -> Result<Vec<u16>> {
    b.focus_canvas().await?;
    let mark = gw.serial_log(id).len();
    chord(b, &[Key::Control, Key::Alt], char::from(Key::Delete)).await?;
    chord(b, &[], 'x').await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = gw.serial_log(id);
        let keys = pressed(log.get(mark..).unwrap_or(""));
        if keys.contains(&KEY_X) {
            return Ok(keys);
        }
        if Instant::now() > deadline {
            bail!("the guest reported no x after the chord; presses seen: {keys:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `<img>` of the attract loop as pixels (drawn into a canvas).
const ATTRACT_IMG: &str = "(() => { const i = document.getElementById('olive-kiosk-screen'); \
     if (!i || !i.complete || !i.naturalWidth) return null; \
     const c = document.createElement('canvas'); c.width = i.naturalWidth; \
     c.height = i.naturalHeight; c.getContext('2d').drawImage(i, 0, 0); return c; })()";

async fn attract_cycles(b: &Browser, gw: &TestGateway, saved: &[(&str, &Rgba)]) -> Result<()> {
    b.goto(&format!("{}/kiosk/lobby", gw.url())).await?;
    wait_kiosk(b, "attract", Duration::from_secs(20)).await?;
    let profile = b
        .js(
            "return fetch('/api/kiosk/lobby').then(r => r.text());",
            vec![],
        )
        .await?;
    let profile = profile.as_str().unwrap_or_default();
    if profile.contains(PIN) || profile.contains("pin") {
        bail!("the public profile shows the PIN: {profile}");
    }
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(ATTRACT_SECS * 6 + 10);
    while seen.len() < saved.len() {
        if Instant::now() > deadline {
            bail!("the attract loop showed only {seen:?}");
        }
        let shown = b
            .attr("#olive-kiosk-attract", "data-item")
            .await?
            .unwrap_or_default();
        if seen.contains(&shown) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let Some((_, want)) = saved.iter().find(|(id, _)| *id == shown) else {
            bail!("the attract loop shows {shown:?}");
        };
        // The picture shown is the package's saved screen (PNG, so exactly).
        let img = loop {
            match b.canvas_rgba_of(ATTRACT_IMG).await {
                Ok(img) => break img,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => return Err(e.context("the attract image never loaded")),
            }
        };
        let diff = compare(&img, want);
        if !diff.is_identical() {
            bail!("the attract loop's picture of {shown} != its saved screen: {diff}");
        }
        eprintln!(
            "chromium: kiosk: attract loop shows {shown} ({}x{})",
            img.width, img.height
        );
        seen.push(shown);
    }
    if compare(saved[0].1, saved[1].1).is_identical() {
        bail!("the two titles' saved screens are the same picture");
    }
    assert_no_violations(b, &axe_source()?, "kiosk attract loop").await
}

/// A key in the loop starts the title shown; returns (item, instance).
async fn a_key_starts_the_title(b: &Browser, gw: &TestGateway) -> Result<(String, String)> {
    let shown = b
        .attr("#olive-kiosk-attract", "data-item")
        .await?
        .unwrap_or_default();
    chord(b, &[], ' ').await?;
    wait_kiosk(b, "playing", Duration::from_secs(10)).await?;
    let item = b.attr(KIOSK, "data-kiosk-item").await?.unwrap_or_default();
    b.wait_state(&["running"], RUN_TIMEOUT).await?;
    let id = instance(b).await?;
    // The loop may have moved on between reading it and the key (a 2 s period): a title
    // of the kiosk plays, and it is the one shown then.
    if item != "flat-pkg" && item != "text-pkg" {
        bail!("the key started {item:?} (the loop showed {shown:?})");
    }
    eprintln!("chromium: kiosk: the loop showed {shown}, a key started {item}");
    b.wait_canvas_equals(
        &part_js(SCREEN),
        || gw.screendump(&id),
        Duration::from_secs(30),
        &scratch().join(format!("kiosk-{id}")),
    )
    .await?;
    if b.attr(PLAYER, "data-kiosk").await?.as_deref() != Some("true") {
        bail!("the player is not in kiosk mode");
    }
    // Asked for in the key's gesture; headless Chromium may grant or refuse it.
    let wake = b
        .wait_attr(KIOSK, "data-kiosk-wake-lock", Duration::from_secs(5), |v| {
            !v.is_empty()
        })
        .await?;
    eprintln!("chromium: kiosk: wake lock {wake}");
    Ok((item, id))
}

async fn ctrl_alt_del_is_swallowed(gw: &TestGateway, b: &Browser, id: &str) -> Result<()> {
    let keys = ctrl_alt_del_then_x(gw, b, id).await?;
    if !keys.contains(&KEY_LEFTCTRL) || !keys.contains(&KEY_LEFTALT) {
        bail!("the guest's report lacks the modifiers (is it reporting?): {keys:?}");
    }
    if keys.contains(&KEY_DELETE) {
        bail!("Delete reached the guest in kiosk mode: {keys:?}");
    }
    eprintln!("chromium: kiosk: guest saw {keys:?} for Ctrl+Alt+Delete, x (no {KEY_DELETE})");
    Ok(())
}

/// Waits for the warning and checks what it says.
async fn warning_shows(b: &Browser) -> Result<()> {
    wait_kiosk(b, "warning", Duration::from_secs(IDLE_SECS + 10)).await?;
    let v = b
        .js(
            "const w = document.getElementById('olive-kiosk-warning'); \
             return [w.hidden, w.getAttribute('role'), w.textContent];",
            vec![],
        )
        .await?;
    let text = v[2].as_str().unwrap_or_default();
    if v[0] != json!(false)
        || v[1] != json!("alert")
        || !text.starts_with("Still playing? Resetting in ")
    {
        bail!("the warning: [hidden, role, text] = {v}");
    }
    eprintln!("chromium: kiosk: warning {text:?}");
    Ok(())
}

async fn input_cancels_the_warning(b: &Browser, id: &str) -> Result<()> {
    warning_shows(b).await?;
    chord(b, &[Key::Shift], 'a').await?;
    wait_kiosk(b, "playing", Duration::from_secs(3)).await?;
    let hidden = b
        .js(
            "return document.getElementById('olive-kiosk-warning').hidden;",
            vec![],
        )
        .await?;
    if hidden != json!(true) || instance(b).await? != id {
        bail!(
            "after a key the warning is hidden={hidden}, instance {}",
            instance(b).await?
        );
    }
    Ok(())
}

/// Idle → warning → reset; returns the new instance and the reset time (ms).
async fn idle_resets_to_the_saved_screen(
    gw: &TestGateway,
    b: &Browser,
    old: &str,
    item: &str,
    saved: &Rgba,
) -> Result<(String, String)> {
    warning_shows(b).await?;
    let reset_ms = b
        .wait_attr(
            KIOSK,
            "data-kiosk-reset-ms",
            Duration::from_secs(WARNING_SECS) + RUN_TIMEOUT,
            |v| !v.is_empty(),
        )
        .await?;
    let id = instance(b).await?;
    if id == old {
        bail!("the reset kept instance {id}");
    }
    if gw.server().registry().get(old).is_some() {
        bail!("the old instance {old} is still alive after the reset");
    }
    if b.attr(KIOSK, "data-kiosk-item").await?.as_deref() != Some(item) {
        bail!("the reset changed the title");
    }
    // Pristine: the screen is the saved one, and the guest resumed rather than booted.
    let dump = gw.screendump(&id)?;
    let diff = compare(&dump, saved);
    if !diff.is_identical() {
        bail!("after the reset the screendump != the package's saved screen: {diff}");
    }
    if gw.serial_log(&id).contains("OLIVE-GUEST-READY") {
        bail!("the reset booted the guest instead of resuming it");
    }
    b.wait_canvas_equals(
        &part_js(SCREEN),
        || gw.screendump(&id),
        Duration::from_secs(30),
        &scratch().join(format!("kiosk-reset-{id}")),
    )
    .await?;
    eprintln!("chromium: kiosk: data-kiosk-reset-ms = {reset_ms} (warning end → title running)");
    Ok((id, reset_ms))
}

async fn ctrl_alt_del_reaches_the_guest_outside(gw: &TestGateway, b: &Browser) -> Result<()> {
    b.goto(&format!("{}/item/flat-pkg", gw.url())).await?;
    b.click_run("flat-pkg", Duration::from_secs(20)).await?;
    b.wait_state(&["running"], RUN_TIMEOUT).await?;
    let id = instance(b).await?;
    if b.attr(PLAYER, "data-kiosk").await?.is_some() {
        bail!("the item page's player is in kiosk mode");
    }
    let mark = gw.serial_log(&id).len();
    // The guest may reboot on Ctrl-Alt-Del (its kernel's default): then the x after it is
    // lost, and the Delete press in the report is all the proof there is.
    b.focus_canvas().await?;
    chord(b, &[Key::Control, Key::Alt], char::from(Key::Delete)).await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = gw.serial_log(&id);
        let keys = pressed(log.get(mark..).unwrap_or(""));
        if keys.contains(&KEY_DELETE) {
            eprintln!("chromium: kiosk: outside kiosk mode the guest saw {keys:?}");
            break;
        }
        if Instant::now() > deadline {
            bail!("outside kiosk mode Delete never reached the guest: {keys:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    gw.server().registry().destroy(&id).await;
    Ok(())
}

async fn scenario(
    gw: &TestGateway,
    b: &Browser,
    flat: &Rgba,
    text: &Rgba,
    site: &str,
) -> Result<()> {
    let saved = [("flat-pkg", flat), ("text-pkg", text)];
    step(
        "chromium: kiosk",
        "the attract loop cycles",
        attract_cycles(b, gw, &saved),
    )
    .await?;
    let (item, id) = step(
        "chromium: kiosk",
        "a key starts the title",
        a_key_starts_the_title(b, gw),
    )
    .await?;
    let pristine = if item == "flat-pkg" { flat } else { text };
    step(
        "chromium: kiosk",
        "Ctrl-Alt-Del never reaches the guest",
        ctrl_alt_del_is_swallowed(gw, b, &id),
    )
    .await?;
    step(
        "chromium: kiosk",
        "input during the warning cancels it",
        input_cancels_the_warning(b, &id),
    )
    .await?;
    let (id, _ms) = step(
        "chromium: kiosk",
        "idle → warning → pristine reset",
        idle_resets_to_the_saved_screen(gw, b, &id, &item, pristine),
    )
    .await?;
    step(
        "chromium: kiosk",
        "wrong PIN refused and slowed, right PIN opens the staff menu: reset, switch, leave",
        staff::staff_unlock(gw, b, &id),
    )
    .await?;
    step(
        "chromium: kiosk",
        "outside kiosk mode Ctrl-Alt-Del reaches the guest",
        ctrl_alt_del_reaches_the_guest_outside(gw, b),
    )
    .await?;
    step(
        "chromium: kiosk",
        "<olive-player kiosk> runs the kiosk on a portal's page",
        element::the_element_runs_the_kiosk(gw, b, site),
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium() {
    let selected = Engine::selected().expect("OLIVE_BROWSERS");
    if !selected.contains(&Engine::Chromium) {
        eprintln!("SKIP chromium: not in OLIVE_BROWSERS");
        return;
    }
    let _lock = qemu_lock();
    let t0 = Instant::now();
    let dist = require_dist().expect("web app");
    let mut pkgs = Vec::new();
    for scene in ["flat", "text"] {
        let pkg = scratch().join(format!("kiosk-{scene}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&pkg);
        package_item(&scratch(), &GwItem::qxl(scene, scene), &pkg, Codec::DEFAULT)
            .await
            .expect("package the test guest");
        pkgs.push(pkg);
    }
    eprintln!(
        "chromium: kiosk: two packages made in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let flat = Rgba::load_ppm(pkgs[0].join("screen.ppm")).expect("saved screen");
    let text = Rgba::load_ppm(pkgs[1].join("screen.ppm")).expect("saved screen");
    let items = [
        GwItem::qxl("flat", "flat").packaged("flat-pkg", &pkgs[0]),
        GwItem::qxl("text", "text").packaged("text-pkg", &pkgs[1]),
    ];
    // A portal's site on its own origin, for the element.
    let site_dir = Scratch::new_in(&scratch(), "kiosk-portal");
    let (site_addr, _site) = serve_dir(site_dir.path()).await.expect("portal site");
    let site = format!("http://{site_addr}");
    let gw = TestGateway::start_limits(
        &scratch(),
        &dist,
        &items,
        "creates_per_minute = 30",
        &format!("{}\n[portal]\nembed_origins = [\"{site}\"]\n", kiosk_toml()),
    )
    .await
    .expect("gateway");
    std::fs::write(
        site_dir.join("kiosk.html"),
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>A museum</title></head>\
             <body><olive-player id=\"k\" kiosk=\"lobby\" gateway=\"{gw}\"></olive-player>\
             <script type=\"module\" src=\"{gw}/olive-player.js\"></script></body></html>",
            gw = gw.url()
        ),
    )
    .expect("portal page");
    let browser = Browser::launch(&BrowserOptions {
        engine: Engine::Chromium,
        scratch: scratch(),
        ..Default::default()
    })
    .await;
    let mut result = match &browser {
        Ok(b) => scenario(&gw, b, &flat, &text, &site).await,
        Err(e) => Err(anyhow!("chromium session: {e:#}")),
    };
    if let Ok(b) = browser {
        if result.is_err() {
            let png = scratch().join("browser-kiosk-chromium.png");
            let _ = b.screenshot(&png).await;
            let state = kiosk_state(&b).await.unwrap_or_default();
            result = result
                .with_context(|| format!("kiosk state {state:?}, screenshot {}", png.display()));
        }
        if let Err(e) = b.close().await {
            eprintln!("closing chromium: {e:#}");
        }
    }
    gw.shutdown().await;
    for p in &pkgs {
        let _ = std::fs::remove_dir_all(p);
    }
    eprintln!(
        "chromium: kiosk suite took {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{e:#}");
    }
}
