//! Real preserved software in a real browser: the period guests of `guests/`, each packaged
//! once at its ready line and resumed through the gateway in headless Chromium, the way a
//! visitor meets them in the demo collection.
//!
//! - Doom (std VGA 640x400, Sound Blaster 16 + AdLib, PS/2 mouse only): resumed, not booted;
//!   server mouse mode; the page's audio path carries the game's (ISA) sound; Enter starts a
//!   game through the menus, the arrows and Ctrl play it (each key in the guest's input
//!   report, the game's picture changing); relative mouse motion turns the view; paused,
//!   the canvas equals the screendump; the key menu's Ctrl-Alt-Del reaches the guest.
//! - The X desktop (Xorg on the qxl X driver, twm, xterm, spice-vdagent): resumed; the canvas
//!   equals the screendump; what the visitor types in xterm runs there; text pasted in the
//!   player's Clipboard panel is the guest's clipboard (read back in xterm with `xclip -o`),
//!   and what the guest copies (`xclip -i`) appears in the panel.
//!
//! The guests' reports arrive on their first serial port, which the gateway logs; the
//! commands are typed into the guest through the page like any visitor's keys.
//!
//! Needs the web app's `dist/` (see tests/tests/browser.rs). Chromium only: the engines'
//! differences are covered by the test guest's suites; this is about the software.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use fantoccini::actions::{InputSource, KeyAction, KeyActions, MouseActions, PointerAction};
use fantoccini::key::Key;
use olive_gateway::model::Codec;
use olive_tests::browser::{part_js, step, Browser, BrowserOptions, Engine, PLAYER, SCREEN};
use olive_tests::evdev::pressed;
use olive_tests::gateway::{package_item, require_dist, GwItem, TestGateway};
use olive_tests::guests::{ensure_period_guest, PeriodGuest, PeriodImages};
use olive_tests::ppm::Rgba;
use olive_tests::{compare, qemu_lock};
use serde_json::json;

/// Resume of a few hundred MB of memory image, then the first frames, under TCG.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
const KEY_ENTER: u16 = 28;
const KEY_LEFTCTRL: u16 = 29;
const KEY_LEFTALT: u16 = 56;
const KEY_UP: u16 = 103;
const KEY_DELETE: u16 = 111;
const KEY_PAUSE: u16 = 119;

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// The sum of the `EV REL dx= dy=` motion in a piece of serial log.
fn rel_motion(log: &str) -> (i64, i64) {
    let mut sum = (0, 0);
    for l in log.lines() {
        let Some(rest) = l.trim_end().strip_prefix("EV REL ") else {
            continue;
        };
        for word in rest.split_whitespace() {
            if let Some(v) = word.strip_prefix("dx=").and_then(|v| v.parse::<i64>().ok()) {
                sum.0 += v;
            }
            if let Some(v) = word.strip_prefix("dy=").and_then(|v| v.parse::<i64>().ok()) {
                sum.1 += v;
            }
        }
    }
    sum
}

/// A packaged, running instance of one period guest in one browser page.
struct Visit<'a> {
    gw: &'a TestGateway,
    b: &'a Browser,
    id: String,
    name: &'static str,
}

impl Visit<'_> {
    /// Serial log from byte `mark` on.
    fn log_since(&self, mark: usize) -> String {
        let log = self.gw.serial_log(&self.id);
        log.get(mark..).unwrap_or_default().to_string()
    }

    /// Waits until the guest's input report since `mark` satisfies `done`.
    async fn wait_log(
        &self,
        mark: usize,
        what: &str,
        within: Duration,
        done: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + within;
        loop {
            let log = self.log_since(mark);
            if done(&log) {
                return Ok(log);
            }
            if Instant::now() > deadline {
                let tail: Vec<&str> = log.lines().rev().take(12).collect();
                bail!(
                    "{what}: not in the guest's report within {within:?}; newest lines: {tail:#?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn screendump(&self) -> Result<Rgba> {
        self.gw.screendump(&self.id)
    }

    async fn canvas_equals_screendump(&self, within: Duration) -> Result<()> {
        let save = scratch().join(format!("period-{}", self.name));
        self.b
            .wait_canvas_equals(&part_js(SCREEN), || self.screendump(), within, &save)
            .await
    }

    /// Presses `key` for `hold` (a game polls its keys once per tic, 1/35 s). The main Enter
    /// key is WebDriver's `Return`: its `Enter` is the keypad's.
    async fn hold(&self, key: Key, hold: Duration) -> Result<()> {
        let k: char = key.into();
        let seq = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: k })
            .then(KeyAction::Pause { duration: hold })
            .then(KeyAction::Up { value: k });
        self.b
            .client()
            .perform_actions(seq)
            .await
            .context("key actions")?;
        self.b.client().release_actions().await.context("release")
    }

    /// Presses `key` and waits for the guest to report `code` pressed.
    async fn key_reaches(&self, key: Key, code: u16, hold: Duration) -> Result<()> {
        let mark = self.gw.serial_log(&self.id).len();
        self.hold(key, hold).await?;
        self.wait_log(mark, &format!("key {code}"), Duration::from_secs(15), |l| {
            pressed(l).contains(&code)
        })
        .await
        .map(|_| ())
    }

    /// Types `line` and Enter into whatever has the guest's focus, then waits for `marker`
    /// on the guest's serial report.
    async fn run_typed(&self, line: &str, marker: &str) -> Result<String> {
        let mark = self.gw.serial_log(&self.id).len();
        self.b.type_text(line).await?;
        self.b.press(Key::Return).await?;
        let log = self
            .wait_log(mark, marker, Duration::from_secs(30), |l| {
                l.contains(marker)
            })
            .await?;
        let line = log
            .lines()
            .find(|l| l.contains(marker))
            .unwrap_or_default()
            .trim_end()
            .to_string();
        Ok(line)
    }
}

/// Packages `guest` at its ready line (under the caller's QEMU lock) and starts a gateway
/// whose catalog holds it as `<name>-pkg`; without `packaged`, the item boots its guest
/// (under the same id) and the saved screen is `None`.
async fn packaged_gateway(
    images: &PeriodImages,
    packaged: bool,
) -> Result<(TestGateway, PathBuf, Option<Rgba>)> {
    let guest = images.guest;
    let item = GwItem::period(guest.name(), images);
    let dist = require_dist()?;
    if !packaged {
        let items = [GwItem {
            id: format!("{}-pkg", guest.name()),
            ..item
        }];
        let gw = TestGateway::start(&scratch(), &dist, &items).await?;
        return Ok((gw, scratch().join("no-package"), None));
    }
    let pkg = scratch().join(format!(
        "period-pkg-{}-{}",
        guest.name(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&pkg);
    let t0 = Instant::now();
    package_item(&scratch(), &item, &pkg, Codec::DEFAULT).await?;
    let size: u64 = std::fs::read_dir(&pkg)?
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    eprintln!(
        "{}: packaged at its ready line in {:.1} s, {} MB",
        guest.name(),
        t0.elapsed().as_secs_f64(),
        size / 1_000_000
    );
    let saved = Rgba::load_ppm(pkg.join("screen.ppm")).context("the package's saved screen")?;
    let items = [item.packaged(&format!("{}-pkg", guest.name()), &pkg)];
    let gw = TestGateway::start(&scratch(), &dist, &items).await?;
    Ok((gw, pkg, Some(saved)))
}

/// Run on the item page and the player runs; `packaged`: the instance resumes from its
/// memory image (no boot line on the serial log), else it boots to its ready line.
async fn resume<'a>(
    gw: &'a TestGateway,
    b: &'a Browser,
    guest: PeriodGuest,
    packaged: bool,
) -> Result<Visit<'a>> {
    let item = format!("{}-pkg", guest.name());
    b.goto(&format!("{}/item/{item}", gw.url())).await?;
    let t0 = Instant::now();
    b.click_run(&item, Duration::from_secs(20)).await?;
    b.wait_state(&["running"], RUN_TIMEOUT).await?;
    eprintln!(
        "chromium: {}: Run → running in {:.1} s",
        guest.name(),
        t0.elapsed().as_secs_f64()
    );
    let id = gw
        .instances_of(&item)
        .pop()
        .with_context(|| format!("no instance of {item}"))?;
    let visit = Visit {
        gw,
        b,
        id,
        name: guest.name(),
    };
    if !packaged {
        gw.wait_serial(&visit.id, "OLIVE-GUEST-READY", Duration::from_secs(420))
            .await?;
        eprintln!(
            "chromium: {}: booted to its ready line {:.1} s after Run",
            guest.name(),
            t0.elapsed().as_secs_f64()
        );
        return Ok(visit);
    }
    // The resumed guest goes on from the saved moment: it never prints its boot lines.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = visit.log_since(0);
    if log.contains("OLIVE-BOOT") {
        bail!("the guest booted instead of resuming: {log}");
    }
    Ok(visit)
}

// ---------------------------------------------------------------------------------------
// Doom

/// The game's 3D view: 320x200 doubled, without the status bar's 32 (doubled: 64) rows,
/// whose face looks around by itself.
fn view_of(img: &Rgba) -> Rgba {
    img.crop(0, 0, img.width, img.height.saturating_sub(64))
}

/// Root mean square of audio samples.
fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32).sqrt()
}

/// The page's audio path carries sound (the title music on the AdLib's OPL, the demo's
/// effects on the Sound Blaster): the player's probe of what it plays is not silent.
async fn doom_sounds(v: &Visit<'_>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut loudest = 0.0f32;
    loop {
        let samples = v.b.audio_probe().await.unwrap_or_default();
        let level = rms(&samples);
        loudest = loudest.max(level);
        if level > 0.005 && samples.len() >= 256 {
            let frames = v.b.attr(PLAYER, "data-audio-frames").await?;
            let path = v.b.attr(PLAYER, "data-audio-path").await?;
            eprintln!(
                "chromium: doom: audio RMS {level:.4} over {} samples, path {path:?}, frames {frames:?}",
                samples.len()
            );
            return Ok(());
        }
        if Instant::now() > deadline {
            let frames = v.b.attr(PLAYER, "data-audio-frames").await?;
            bail!("silence on the page's audio path for 40 s (loudest RMS {loudest:.5}, data-audio-frames {frames:?})");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// From the title or demo loop into a game: Enter opens the menu, and Enter on "New Game",
/// the episode and the skill starts E1M1. Every Enter is in the guest's input report, and
/// the picture at the end is not the one from before.
async fn doom_starts_a_game(v: &Visit<'_>) -> Result<Rgba> {
    v.b.focus_canvas().await?;
    let before = v.screendump()?;
    for _ in 0..4 {
        v.key_reaches(Key::Return, KEY_ENTER, Duration::from_millis(120))
            .await?;
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    // The level's start: wait out the screen melt.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let game = v.screendump()?;
    if compare(&view_of(&before), &view_of(&game)).is_identical() {
        bail!("four Enters left the picture as it was");
    }
    Ok(game)
}

/// Two screendumps a second apart whose 3D view is the same: the player stands still.
async fn still_view(v: &Visit<'_>) -> Result<Rgba> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = view_of(&v.screendump()?);
    loop {
        tokio::time::sleep(Duration::from_millis(800)).await;
        let now = view_of(&v.screendump()?);
        if compare(&last, &now).is_identical() {
            return Ok(now);
        }
        if Instant::now() > deadline {
            bail!("the game's view never stood still (a monster in sight?)");
        }
        last = now;
    }
}

/// Up walks forward and Ctrl fires: each reaches the guest and changes the view.
async fn doom_plays(v: &Visit<'_>) -> Result<()> {
    let still = still_view(v).await?;
    v.key_reaches(Key::Up, KEY_UP, Duration::from_millis(700))
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let walked = view_of(&v.screendump()?);
    if compare(&still, &walked).is_identical() {
        bail!("walking forward did not change the view");
    }
    let still = still_view(v).await?;
    let mark = v.gw.serial_log(&v.id).len();
    v.hold(Key::Control, Duration::from_millis(400)).await?;
    // The shot's muzzle flash and the pistol's animation last a few tics.
    let mut changed = false;
    for _ in 0..6 {
        let now = view_of(&v.screendump()?);
        if !compare(&still, &now).is_identical() {
            changed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    v.wait_log(mark, "Ctrl", Duration::from_secs(10), |l| {
        pressed(l).contains(&KEY_LEFTCTRL)
    })
    .await?;
    if !changed {
        bail!("firing (Ctrl) did not change the view");
    }
    Ok(())
}

/// In server mouse mode the page locks the pointer on a click and sends relative motion:
/// the guest's PS/2 mouse reports it, and the game turns.
async fn doom_turns_with_the_mouse(v: &Visit<'_>) -> Result<()> {
    let mode = v.b.attr(PLAYER, "data-mouse-mode").await?;
    if mode.as_deref() != Some("server") {
        bail!("a PS/2-only guest runs in mouse mode {mode:?}, not server");
    }
    let [left, top, cw, ch, _, _] = v.b.canvas_geometry().await?;
    let (cx, cy) = ((left + cw / 2.0) as i64, (top + ch / 2.0) as i64);
    // A click at the centre asks for the pointer lock (Doom fires too: harmless).
    v.b.click_canvas(320, 200).await?;
    let locked =
        v.b.js(
            "const c = olivePart(arguments[0]); \
             return (c.getRootNode().pointerLockElement || null) === c;",
            vec![json!(SCREEN)],
        )
        .await?;
    eprintln!("chromium: doom: pointer locked after the click: {locked}");
    let still = still_view(v).await?;
    let mark = v.gw.serial_log(&v.id).len();
    let mut seq = MouseActions::new("mouse".into());
    for i in 1..=10 {
        seq = seq.then(PointerAction::MoveTo {
            duration: Some(Duration::from_millis(30)),
            x: (cx + 20 * i) as f64,
            y: cy as f64,
        });
    }
    v.b.client()
        .perform_actions(seq)
        .await
        .context("pointer actions")?;
    v.b.client().release_actions().await.context("release")?;
    let log = v
        .wait_log(mark, "relative motion", Duration::from_secs(10), |l| {
            rel_motion(l).0 > 50
        })
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let turned = view_of(&v.screendump()?);
    eprintln!(
        "chromium: doom: a 200 CSS px move right reached the guest as {:?} (EV REL dx, dy)",
        rel_motion(&log)
    );
    if compare(&still, &turned).is_identical() {
        bail!("the mouse moved the guest's pointer but the view did not turn");
    }
    Ok(())
}

/// Pause freezes the game; then the canvas equals QEMU's framebuffer.
async fn doom_paused_equals_screendump(v: &Visit<'_>) -> Result<()> {
    v.b.focus_canvas().await?;
    v.key_reaches(Key::Pause, KEY_PAUSE, Duration::from_millis(100))
        .await?;
    v.canvas_equals_screendump(Duration::from_secs(30)).await
}

/// The key menu's Ctrl-Alt-Del: the guest's keyboard gets Ctrl, Alt and Delete.
async fn key_menu_ctrl_alt_del(v: &Visit<'_>) -> Result<()> {
    let mark = v.gw.serial_log(&v.id).len();
    v.b.js(
        "const s = olivePart('select[aria-label=\"Send a key combination\"]'); \
         s.value = 'cad'; s.dispatchEvent(new Event('change', { bubbles: true })); return true;",
        vec![],
    )
    .await?;
    let log = v
        .wait_log(mark, "Ctrl-Alt-Del", Duration::from_secs(15), |l| {
            let keys = pressed(l);
            [KEY_LEFTCTRL, KEY_LEFTALT, KEY_DELETE]
                .iter()
                .all(|k| keys.contains(k))
        })
        .await?;
    eprintln!(
        "chromium: {}: the key menu's Ctrl-Alt-Del arrived as presses {:?}",
        v.name,
        pressed(&log)
    );
    Ok(())
}

/// Doom boots rather than resumes: saving its running state (QMP `migrate` while the Sound
/// Blaster plays) never finished here in 600 s, so it has no package yet.
async fn doom_scenario(gw: &TestGateway, b: &Browser) -> Result<()> {
    let v = step(
        "chromium",
        "doom: boots to its title screen",
        resume(gw, b, PeriodGuest::Doom, false),
    )
    .await?;
    step(
        "chromium",
        "doom: the canvas is the game's 640x400 screen",
        async {
            let shown = b.canvas_rgba().await?;
            if (shown.width, shown.height) != (640, 400) {
                bail!("canvas {}x{}", shown.width, shown.height);
            }
            Ok(())
        },
    )
    .await?;
    step(
        "chromium",
        "doom: the game's sound reaches the page",
        doom_sounds(&v),
    )
    .await?;
    step(
        "chromium",
        "doom: Enter starts a game",
        doom_starts_a_game(&v),
    )
    .await?;
    step("chromium", "doom: arrows and Ctrl play it", doom_plays(&v)).await?;
    step(
        "chromium",
        "doom: the mouse turns the view",
        doom_turns_with_the_mouse(&v),
    )
    .await?;
    step(
        "chromium",
        "doom: paused, the canvas equals the screendump",
        doom_paused_equals_screendump(&v),
    )
    .await?;
    step(
        "chromium",
        "doom: Ctrl-Alt-Del from the key menu",
        key_menu_ctrl_alt_del(&v),
    )
    .await?;
    gw.server().registry().destroy(&v.id).await;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The X desktop

/// xterm's window (twm focus follows the pointer): a click inside it.
async fn focus_xterm(v: &Visit<'_>) -> Result<()> {
    v.b.click_canvas(200, 200).await?;
    v.b.focus_canvas().await
}

/// The Clipboard panel's text box, once the agent offers a clipboard.
async fn open_clipboard(b: &Browser) -> Result<()> {
    b.wait_attr(PLAYER, "data-agent", Duration::from_secs(30), |v| {
        v.contains("clipboard")
    })
    .await
    .context("the agent never offered its clipboard")?;
    b.js(
        "const t = olivePart('#olive-clipboard-toggle'); const p = olivePart('#olive-clipboard'); \
         if (p.hidden) t.click(); return !p.hidden;",
        vec![],
    )
    .await?;
    Ok(())
}

async fn xdesk_scenario(gw: &TestGateway, b: &Browser) -> Result<()> {
    let v = step(
        "chromium",
        "xdesk: resumed from its memory image",
        resume(gw, b, PeriodGuest::Xdesk, true),
    )
    .await?;
    step(
        "chromium",
        "xdesk: the canvas equals the screendump",
        v.canvas_equals_screendump(Duration::from_secs(40)),
    )
    .await?;
    step("chromium", "xdesk: typing in xterm runs a command", async {
        focus_xterm(&v).await?;
        let line = v
            .run_typed("echo \"TYPED[$((6*7))]\" >/dev/ttyS0", "TYPED[")
            .await?;
        if !line.contains("TYPED[42]") {
            bail!("xterm ran something else: {line:?}");
        }
        Ok(())
    })
    .await?;
    let pasted = "Olive pastes into 1994";
    step(
        "chromium",
        "xdesk: a paste in the page becomes the guest's clipboard",
        async {
            open_clipboard(b).await?;
            b.js(
                "olivePart('#olive-clipboard-text').value = arguments[0]; \
             olivePart('#olive-clipboard-send').click(); return true;",
                vec![json!(pasted)],
            )
            .await?;
            // The agent takes the guest's clipboard a moment after Send: read it until the
            // paste is there (a visitor would paste again), at most three times.
            let mut line = String::new();
            for _ in 0..3 {
                focus_xterm(&v).await?;
                line = v
                    .run_typed(
                        "echo \"CLIP[$(xclip -o -selection clipboard)]\" >/dev/ttyS0",
                        "CLIP[",
                    )
                    .await?;
                if line.contains(&format!("CLIP[{pasted}]")) {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            if !line.contains(&format!("CLIP[{pasted}]")) {
                bail!("the guest's clipboard holds {line:?}, not {pasted:?}");
            }
            Ok(())
        },
    )
    .await?;
    let copied = "copied in xterm";
    step(
        "chromium",
        "xdesk: a copy in the guest reaches the page",
        async {
            focus_xterm(&v).await?;
            v.b.type_text(&format!(
                "printf '{copied}' | xclip -i -selection clipboard"
            ))
            .await?;
            v.b.press(Key::Return).await?;
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let text = b
                    .js("return olivePart('#olive-clipboard-text').value;", vec![])
                    .await?;
                let offered = b.attr(PLAYER, "data-guest-clipboard").await?;
                if text.as_str() == Some(copied) && offered.as_deref() != Some("none") {
                    eprintln!("chromium: xdesk: the page shows the guest's copy ({offered:?})");
                    return Ok(());
                }
                if Instant::now() > deadline {
                    bail!("the panel shows {text}, data-guest-clipboard {offered:?}");
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        },
    )
    .await?;
    step(
        "chromium",
        "xdesk: after all that the canvas equals the screendump",
        v.canvas_equals_screendump(Duration::from_secs(40)),
    )
    .await?;
    gw.server().registry().destroy(&v.id).await;
    Ok(())
}

// ---------------------------------------------------------------------------------------

/// One guest: packaged, served, visited in Chromium; the gateway, the browser and the
/// package go away whatever happened.
async fn visit(guest: PeriodGuest) {
    if !Engine::selected()
        .expect("OLIVE_BROWSERS")
        .contains(&Engine::Chromium)
    {
        eprintln!("SKIP chromium: not in OLIVE_BROWSERS");
        return;
    }
    // Build (or find) the guest before taking the QEMU lock: a build takes both cores, and
    // asking again under the lock would wait on the other test, which waits on the lock.
    let images = ensure_period_guest(guest).expect("build the guest");
    let _lock = qemu_lock();
    let packaged = guest == PeriodGuest::Xdesk;
    let (gw, pkg, _saved) = packaged_gateway(&images, packaged)
        .await
        .expect("package and serve");
    let b = Browser::launch(&BrowserOptions {
        engine: Engine::Chromium,
        scratch: scratch(),
        ..Default::default()
    })
    .await
    .expect("chromium");
    let result = match guest {
        PeriodGuest::Doom => doom_scenario(&gw, &b).await,
        PeriodGuest::Xdesk => xdesk_scenario(&gw, &b).await,
    };
    if result.is_err() {
        let _ = b
            .screenshot(&scratch().join(format!("period-{}.png", guest.name())))
            .await;
    }
    let _ = b.close().await;
    gw.shutdown().await;
    let _ = std::fs::remove_dir_all(&pkg);
    if let Err(e) = result {
        panic!("{e:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doom_plays_in_the_browser() {
    visit(PeriodGuest::Doom).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_x_desktop_works_in_the_browser() {
    visit(PeriodGuest::Xdesk).await;
}
