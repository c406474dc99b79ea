//! End-to-end on every browser engine: real Chromium, Firefox and WebKit (each through its
//! own WebDriver server) against the real gateway (in-process) and a real guest under
//! QEMU/TCG, through Olive's web app (`dist/`, built by `trunk build --release`; `cargo
//! xtask test` builds it first).
//!
//! One test per engine (`$OLIVE_BROWSERS` picks which; the others print `SKIP`). Each takes
//! the QEMU lock, boots the test guest's text console once and checks, on that one guest,
//! what a visitor would: Run shows the screen (canvas == QMP screendump), typed commands
//! run in the guest's shell (serial log), characters sent without a Shift key arrive
//! shifted, a click lands on the pixel clicked (the guest's input report), a tone reaches
//! the page's audio path, and killing QEMU shows the stopped state. Every step prints its
//! time; a step an engine's WebDriver cannot drive prints `SKIP <engine>: <reason>`.
//! Browser and gateway are always torn down (QEMU and browser processes killed by PID).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::key::Key;
use olive_tests::a11y::{assert_no_violations, assert_tab_reaches, axe_source};
use olive_tests::browser::{
    estimate_frequency, part_js, Browser, BrowserOptions, Engine, PLAYER, SCREEN,
};
use olive_tests::gateway::{require_dist, GwItem, TestGateway};
use olive_tests::{compare, qemu_lock};
use serde_json::{json, Value};

/// From Run to `data-state=running` (QEMU start + SPICE connect + first frame, under TCG).
const RUN_TIMEOUT: Duration = Duration::from_secs(90);
/// From QEMU start to the guest program's ready line.
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);

/// What Tab reaches on the running player, in order: the site link, the toolbar, the screen.
const PLAYER_TAB_ORDER: &[&str] = &[
    "Olive",
    "Screen size",
    "4:3 display aspect",
    "Send a key combination",
    "Type text",
    "Full screen",
    "Volume",
    "Mute sound",
    "On-screen keyboard",
    "Screen of Test guest: text console. Click to use keyboard and mouse.",
];

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn unique() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    1000 + (t ^ std::process::id()) % 9000
}

/// One engine's run: the gateway, the browser and the instance the steps share.
struct Suite<'a> {
    gw: &'a TestGateway,
    b: &'a Browser,
    id: String,
}

impl<'a> Suite<'a> {
    fn engine(&self) -> Engine {
        self.b.engine()
    }

    /// Polls until the canvas equals the instance's QMP screendump pixel for pixel; on
    /// failure both images are saved in the test's scratch folder.
    async fn canvas_matches_screendump(&self, within: Duration) -> Result<()> {
        let save = scratch().join(format!("browser-{}-{}", self.engine(), self.id));
        self.b
            .wait_canvas_equals(
                &part_js(SCREEN),
                || self.gw.screendump(&self.id),
                within,
                &save,
            )
            .await
    }

    /// Types a shell command on the canvas and presses Enter.
    async fn shell(&self, command: &str) -> Result<()> {
        self.b.focus_canvas().await?;
        self.b.type_text(command).await?;
        self.b.press(Key::Enter).await
    }

    /// Collection → Run → running, and the screen equals the guest's framebuffer.
    async fn run_shows_the_screen(
        gw: &'a TestGateway,
        b: &'a Browser,
        prepare: &str,
    ) -> Result<Suite<'a>> {
        b.goto(&format!("{}/", gw.url())).await?;
        if !prepare.is_empty() {
            b.js(prepare, vec![]).await?;
        }
        b.click_run("console", Duration::from_secs(20))
            .await
            .context("the collection page shows a Run button per item")?;
        b.wait_state(&["running"], RUN_TIMEOUT).await?;
        // One player: the item page's is the `<olive-player>` element's, as on a portal.
        let where_ = b
            .js(
                "const h = document.querySelectorAll('olive-player'); \
                 return [h.length, !!(h[0] && h[0].shadowRoot && h[0].shadowRoot.getElementById('olive-player')), \
                   !!document.getElementById('olive-player'), \
                   !!(h[0] && h[0].shadowRoot && h[0].shadowRoot.activeElement === olivePart(arguments[0]))];",
                vec![json!(SCREEN)],
            )
            .await?;
        if where_ != json!([1, true, false, true]) {
            bail!(
                "want one <olive-player> holding the player, none in the document, the screen \
                 focused after Run: [elements, in its shadow root, in the document, focused] = {where_}"
            );
        }
        let id = match b.attr(PLAYER, "data-instance").await? {
            Some(id) if !id.is_empty() => id,
            _ => bail!("no data-instance on the running player"),
        };
        if !gw.instance_dir(&id).is_dir() {
            bail!("data-instance={id} is not a live instance of the gateway");
        }
        let s = Suite { gw, b, id };
        gw.wait_serial(&s.id, "OLIVE-GUEST-READY", BOOT_TIMEOUT)
            .await?;
        // The shell prompt follows the ready line closely; let the console settle.
        tokio::time::sleep(Duration::from_secs(2)).await;
        s.canvas_matches_screendump(Duration::from_secs(20)).await?;
        Ok(s)
    }

    /// Keys typed on the canvas run a shell command: its output on the serial log, the
    /// typed text on the canvas (canvas == screendump, and changed).
    async fn typing_runs_a_command(&self) -> Result<()> {
        let before = self.b.canvas_rgba().await?;
        let marker = format!("olive-e2e-{}", unique());
        self.shell(&format!("echo {marker} > /dev/ttyS0")).await?;
        self.gw
            .wait_serial_where(&self.id, Duration::from_secs(30), |l| {
                l.trim_end().ends_with(&marker)
            })
            .await
            .context("the typed command's output on the guest's serial port")?;
        self.canvas_matches_screendump(Duration::from_secs(20))
            .await?;
        if compare(&before, &self.b.canvas_rgba().await?).is_identical() {
            bail!("the canvas did not change after typing");
        }
        Ok(())
    }

    /// `S` and `>` sent without a Shift key event arrive as `S` and `>`: the page presses
    /// Shift around them because the events say `shiftKey`.
    async fn unshifted_characters_arrive_shifted(&self) -> Result<()> {
        let n = unique();
        self.b.focus_canvas().await?;
        self.b.type_text(&format!("echo \"mod-{n}-")).await?;
        self.b.type_raw("S>").await?;
        self.b.type_text("\" > /dev/ttyS0").await?;
        self.b.press(Key::Enter).await?;
        let prefix = format!("mod-{n}-");
        let line = self
            .gw
            .wait_serial_where(&self.id, Duration::from_secs(30), |l| l.contains(&prefix))
            .await
            .context("the command's output on the serial port")?;
        let got = line.trim_end();
        if !got.ends_with(&format!("{prefix}S>")) {
            bail!("typed S and > without Shift; the guest got {got:?}");
        }
        Ok(())
    }

    /// A click on the canvas reaches the guest at that pixel (usb-tablet, client mouse mode),
    /// with the screen in scale `mode`.
    async fn click_lands_on_the_pixel(&self, mode: &str) -> Result<()> {
        self.gw
            .wait_serial_where(&self.id, Duration::from_secs(60), |l| {
                l.starts_with("INPUT add") && l.contains("type=abs")
            })
            .await
            .context("the guest's usb-tablet")?;
        self.b
            .wait_attr(PLAYER, "data-mouse-mode", Duration::from_secs(30), |m| {
                m == "client"
            })
            .await?;
        self.b
            .js(
                "const s = olivePart(arguments[0] + ' select[aria-label=\"Screen size\"]'); \
                 s.value = arguments[1]; s.dispatchEvent(new Event('change', {bubbles: true}));",
                vec![json!(PLAYER), json!(mode)],
            )
            .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let [_, _, cw, _, w, _] = self.b.canvas_geometry().await?;
        let tolerance = if (cw - w).abs() < 0.5 {
            0
        } else {
            (w / cw).ceil() as i64
        };
        let press_line = "EV KEY code=272 value=1";
        let presses_before = self.gw.serial_log(&self.id).matches(press_line).count();
        let (x, y) = (300u32, 200u32);
        self.b.focus_canvas().await?;
        self.b.click_canvas(x, y).await?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.gw.serial_log(&self.id).matches(press_line).count() <= presses_before {
            if Instant::now() > deadline {
                bail!("no BTN_LEFT press in the guest within 20 s of the click");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = self.gw.serial_log(&self.id);
        let lines: Vec<&str> = log.lines().collect();
        let press = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains(press_line))
            .nth(presses_before)
            .map(|(i, _)| i)
            .ok_or_else(|| anyhow!("no press"))?;
        let abs = lines[..press]
            .iter()
            .rev()
            .find(|l| l.starts_with("EV ABS"))
            .ok_or_else(|| anyhow!("no EV ABS before the press"))?;
        let field = |name: &str| -> Result<i64> {
            abs.split_whitespace()
                .find_map(|f| f.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| anyhow!("no {name} in {abs:?}"))
        };
        let (px, py) = (field("px=")?, field("py=")?);
        // Rows may be taller than columns are wide (4:3): each axis has its own scale.
        let [_, _, _, ch, _, h] = self.b.canvas_geometry().await?;
        let tolerance_y = if (ch - h).abs() < 0.5 {
            0
        } else {
            (h / ch).ceil() as i64
        };
        if (px - x as i64).abs() > tolerance || (py - y as i64).abs() > tolerance_y {
            bail!("clicked ({x},{y}) but the guest saw {abs:?} (tolerance {tolerance})");
        }
        Ok(())
    }

    /// The 720x400 VGA text console is shown at 4:3, as a CRT showed it, in fit and
    /// whole-pixel modes (`data-aspect=crt`); the "4:3" toggle switches to square pixels
    /// (720:400) and back; the backing store stays the guest's pixels 1:1.
    async fn text_mode_is_four_by_three(&self) -> Result<()> {
        let set_scale = |mode: &'static str| async move {
            self.b
                .js(
                    "const s = olivePart(arguments[0] + ' select[aria-label=\"Screen size\"]'); \
                     s.value = arguments[1]; s.dispatchEvent(new Event('change', {bubbles: true})); return true;",
                    vec![json!(PLAYER), json!(mode)],
                )
                .await?;
            self.b
                .wait_attr(PLAYER, "data-scale", Duration::from_secs(5), |v| v == mode)
                .await
        };
        let toggle = format!("{PLAYER} button[aria-label=\"4:3 display aspect\"]");
        let box_is = |want: f64, what: String| async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let [_, _, cw, ch, w, h] = self.b.canvas_geometry().await?;
            if (w, h) != (720.0, 400.0) {
                bail!("{what}: the canvas holds {w}x{h} pixels, not the guest's 720x400");
            }
            eprintln!("{}: {what}: box {cw}x{ch} CSS px", self.engine());
            if (cw - ch * want).abs() > 1.0 {
                bail!("{what}: box {cw}x{ch} CSS px is not {want:.4}:1 within a pixel");
            }
            Ok::<_, anyhow::Error>((cw, ch))
        };
        for mode in ["fit", "integer"] {
            set_scale(mode).await?;
            self.b
                .wait_attr(PLAYER, "data-aspect", Duration::from_secs(5), |v| {
                    v == "crt"
                })
                .await?;
            let (cw, _) = box_is(4.0 / 3.0, format!("{mode}, crt")).await?;
            if mode == "integer" && (cw / 720.0).fract() != 0.0 {
                bail!("whole-pixel 4:3: {cw} CSS px across is not a whole multiple of 720");
            }
        }
        for (pressed, aspect, want) in [
            ("false", "square", 720.0 / 400.0),
            ("true", "crt", 4.0 / 3.0),
        ] {
            self.b
                .js(
                    "olivePart(arguments[0]).click(); return true;",
                    vec![json!(toggle)],
                )
                .await?;
            self.b
                .wait_attr(PLAYER, "data-aspect", Duration::from_secs(5), |v| {
                    v == aspect
                })
                .await?;
            let got = self.b.attr(&toggle, "aria-pressed").await?;
            if got.as_deref() != Some(pressed) {
                bail!("data-aspect={aspect} but the toggle says aria-pressed={got:?}");
            }
            box_is(want, format!("integer, {aspect} (toggled)")).await?;
        }
        set_scale("fit").await?;
        self.canvas_matches_screendump(Duration::from_secs(20))
            .await
    }

    /// A tone played by the guest reaches the page's audio path at its frequency, in the
    /// codec feature detection chose (Opus where WebCodecs decodes it, else raw PCM).
    async fn tone_reaches_the_audio_path(&self) -> Result<()> {
        // The guest program reads commands from a FIFO too (no command port under the gateway).
        self.shell("echo tone 440 4000 > /run/olive-cmd").await?;
        let rate: f64 = self
            .b
            .attr(PLAYER, "data-audio-rate")
            .await?
            .and_then(|r| r.parse().ok())
            .unwrap_or(48000.0);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = String::from("no samples");
        loop {
            if let Ok(samples) = self.b.audio_probe().await {
                let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
                match estimate_frequency(&samples, rate) {
                    Some(f) if samples.len() >= 1024 && peak > 0.05 => {
                        if (f - 440.0).abs() <= 10.0 {
                            break;
                        }
                        last = format!("{} samples, peak {peak}, {f:.1} Hz", samples.len());
                    }
                    _ => last = format!("{} samples, peak {peak}", samples.len()),
                }
            }
            if Instant::now() > deadline {
                let frames = self.b.attr(PLAYER, "data-audio-frames").await?;
                bail!(
                    "no 440 ± 10 Hz tone in oliveAudioProbe() within 30 s (last: {last}; rate {rate}; data-audio-frames {frames:?})"
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let opus = self
            .b
            .js(
                "if (typeof AudioDecoder !== 'function') return false; \
                 return AudioDecoder.isConfigSupported({codec: 'opus', sampleRate: 48000, numberOfChannels: 2}) \
                   .then(r => r.supported === true, () => false);",
                vec![],
            )
            .await?;
        let codec = self.b.attr(PLAYER, "data-audio-codec").await?;
        let path = self.b.attr(PLAYER, "data-audio-path").await?;
        eprintln!(
            "{}: audio codec {codec:?}, path {path:?} (WebCodecs Opus: {opus})",
            self.engine()
        );
        let want = if opus == Value::Bool(true) {
            "opus"
        } else {
            "pcm"
        };
        if codec.as_deref() != Some(want) {
            bail!("feature detection says {want}, but the page played {codec:?}");
        }
        self.gw
            .wait_serial(&self.id, "OK tone 440 4000", Duration::from_secs(20))
            .await?;
        Ok(())
    }

    /// The running player: no WCAG 2.1 A/AA violation (axe-core), every control reachable
    /// with Tab in order with a visible outline, and the state in a live region.
    async fn player_is_accessible(&self) -> Result<()> {
        let axe = axe_source()?;
        assert_no_violations(self.b, &axe, "running player").await?;
        let live = self
            .b
            .js(
                "const s = olivePart(arguments[0] + ' [role=status][aria-live]'); \
                 return s ? s.textContent : null;",
                vec![json!(PLAYER)],
            )
            .await?;
        if !live.as_str().is_some_and(|t| t.contains("Running")) {
            bail!("no live region announcing the running state: {live}");
        }
        assert_tab_reaches(self.b, PLAYER_TAB_ORDER, 2, "running player").await
    }

    /// The full-screen button: requesting it does not throw, and the page reflects the
    /// state (`data-fullscreen`, `aria-pressed`); pressing it again leaves full screen.
    async fn fullscreen_is_reflected(&self) -> Result<Option<String>> {
        let click = |b: &'a Browser| async move {
            b.js(
                "olivePart(arguments[0] + ' button[aria-label=\"Full screen\"]').focus(); return true;",
                vec![json!(PLAYER)],
            )
            .await?;
            b.press(Key::Enter).await
        };
        click(self.b).await?;
        let on = self
            .b
            .wait_attr(PLAYER, "data-fullscreen", Duration::from_secs(5), |v| {
                v == "on"
            })
            .await;
        if on.is_err() {
            let notice = self.b.player_text().await.unwrap_or_default();
            return Ok(Some(format!(
                "full screen: the headless browser never entered full screen (page says {notice:?})"
            )));
        }
        let pressed = self
            .b
            .attr(
                &format!("{PLAYER} button[aria-label=\"Full screen\"]"),
                "aria-pressed",
            )
            .await?;
        if pressed.as_deref() != Some("true") {
            bail!("in full screen, but the button says aria-pressed={pressed:?}");
        }
        click(self.b).await?;
        self.b
            .wait_attr(PLAYER, "data-fullscreen", Duration::from_secs(5), |v| {
                v == "off"
            })
            .await
            .context("leaving full screen")?;
        Ok(None)
    }

    /// Killing the VM shows the stopped state with a visible message within 10 s, and it
    /// stays so after the server cleaned the instance up.
    async fn killed_vm_shows_stopped(&self) -> Result<()> {
        let pid = self.gw.qemu_pid(&self.id)?;
        if !olive_tests::driver::sigkill(pid) {
            bail!("could not SIGKILL QEMU {pid}");
        }
        let t0 = Instant::now();
        let (state, seen) = self
            .b
            .wait_state_tracking(
                &["stopped", "ended", "error"],
                Duration::from_secs(10),
                false,
            )
            .await?;
        let status = self.b.status_text().await?;
        if state != "stopped" {
            bail!("a killed VM must read as stopped, got {state} ({status:?}); states {seen:?}");
        }
        if status.trim().is_empty() {
            bail!(
                "state {state} after {:?} but no visible status message",
                t0.elapsed()
            );
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        let later = self.b.attr(PLAYER, "data-state").await?.unwrap_or_default();
        if later != "stopped" {
            bail!("after the instance was cleaned up the page says {later}, not stopped");
        }
        Ok(())
    }
}

/// Runs one step, printing its outcome and time.
async fn step<T>(
    engine: Engine,
    name: &str,
    f: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let t0 = Instant::now();
    let r = f.await;
    let secs = t0.elapsed().as_secs_f64();
    match &r {
        Ok(_) => eprintln!("{engine}: {name}: ok ({secs:.1} s)"),
        Err(e) => eprintln!("{engine}: {name}: FAILED ({secs:.1} s): {e:#}"),
    }
    r.with_context(|| format!("{engine}: {name}"))
}

async fn scenario(gw: &TestGateway, b: &Browser) -> Result<()> {
    let e = b.engine();
    let s = step(
        e,
        "Run shows the guest screen pixel for pixel",
        Suite::run_shows_the_screen(gw, b, ""),
    )
    .await?;
    step(e, "typing runs a shell command", s.typing_runs_a_command()).await?;
    step(
        e,
        "S and > without Shift arrive shifted",
        s.unshifted_characters_arrive_shifted(),
    )
    .await?;
    step(
        e,
        "a click lands on the pixel",
        s.click_lands_on_the_pixel("original"),
    )
    .await?;
    step(
        e,
        "the text console is shown at 4:3",
        s.text_mode_is_four_by_three(),
    )
    .await?;
    step(
        e,
        "a click lands on the pixel at 4:3",
        s.click_lands_on_the_pixel("fit"),
    )
    .await?;
    step(
        e,
        "the running player is accessible",
        s.player_is_accessible(),
    )
    .await?;
    if let Some(gap) = step(e, "full screen is reflected", s.fullscreen_is_reflected()).await? {
        eprintln!("SKIP {e}: {gap}");
    }
    step(
        e,
        "a guest tone reaches the page's audio path",
        s.tone_reaches_the_audio_path(),
    )
    .await?;
    step(e, "killing QEMU shows stopped", s.killed_vm_shows_stopped()).await?;
    Ok(())
}

/// The fallbacks, on an engine that has every optional API: the page hides AudioWorklet
/// and WebCodecs before Run, so feature detection must pick `AudioBufferSourceNode`s and
/// raw PCM, and the tone still reaches the audio path.
async fn fallback_scenario(gw: &TestGateway, b: &Browser) -> Result<()> {
    let e = b.engine();
    let s = step(
        e,
        "Run without AudioWorklet and WebCodecs",
        Suite::run_shows_the_screen(
            gw,
            b,
            "delete window.AudioWorkletNode; delete window.AudioDecoder; return true;",
        ),
    )
    .await?;
    step(
        e,
        "the tone through the fallbacks",
        s.tone_reaches_the_audio_path(),
    )
    .await?;
    let path = b.attr(PLAYER, "data-audio-path").await?;
    if path.as_deref() != Some("buffer-source") {
        bail!("without AudioWorkletNode the page chose audio path {path:?}");
    }
    Ok(())
}

/// Which scenario a test runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Everything,
    Fallbacks,
}

/// The whole suite on `engine`, or a `SKIP` line when `$OLIVE_BROWSERS` leaves it out.
async fn run_engine(engine: Engine) {
    run_variant(engine, Variant::Everything).await;
}

async fn run_variant(engine: Engine, variant: Variant) {
    let selected = Engine::selected().expect("OLIVE_BROWSERS");
    if !selected.contains(&engine) {
        eprintln!("SKIP {engine}: not in OLIVE_BROWSERS");
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
    let mut result = match &browser {
        Ok(b) if variant == Variant::Fallbacks => fallback_scenario(&gw, b).await,
        Ok(b) => scenario(&gw, b).await,
        Err(e) => Err(anyhow!("{engine} session: {e:#}")),
    };
    if let Ok(b) = browser {
        if result.is_err() {
            let png = scratch().join(format!("browser-{engine}.png"));
            let _ = b.screenshot(&png).await;
            let state = b.attr(PLAYER, "data-state").await.ok().flatten();
            let text = b.player_text().await.unwrap_or_default();
            result = result.with_context(|| {
                format!(
                    "page state {state:?}, player text {text:?}, screenshot {}",
                    png.display()
                )
            });
        }
        if let Err(e) = b.close().await {
            eprintln!("closing {engine}: {e:#}");
        }
    }
    gw.shutdown().await;
    eprintln!(
        "{engine}: browser suite took {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{e:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium() {
    run_engine(Engine::Chromium).await;
}

/// The audio fallbacks need only one engine: the paths are the page's, chosen by feature
/// detection, and every engine here has the primary APIs (so they are hidden on purpose).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_fallbacks() {
    run_variant(Engine::Chromium, Variant::Fallbacks).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox() {
    run_engine(Engine::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webkit() {
    run_engine(Engine::WebKit).await;
}
