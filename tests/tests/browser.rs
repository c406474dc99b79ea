//! End-to-end: real headless Chromium (chromedriver + fantoccini) against the real gateway
//! (in-process) and a real guest under QEMU/TCG, through Olive's web app (`dist/`, built by
//! `trunk build --release`; `cargo xtask test` builds it first).
//!
//! Each test takes the QEMU lock, starts its own gateway and browser, runs one user-visible
//! scenario into a `Result`, then always closes the browser and shuts the gateway down
//! (instances destroyed) before reporting. Every wait is bounded.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use fantoccini::key::Key;
use olive_tests::browser::{estimate_frequency, Browser, BrowserOptions, PLAYER};
use olive_tests::gateway::{require_dist, GwItem, TestGateway};
use olive_tests::{compare, qemu_lock, QemuLock};

/// From Run to `data-state=running` (QEMU start + SPICE connect + first frame, under TCG).
const RUN_TIMEOUT: Duration = Duration::from_secs(90);
/// From QEMU start to the guest program's ready line.
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// One test's gateway + browser, torn down in [`Env::finish`] (or on drop).
struct Env {
    browser: Option<Browser>,
    gw: Option<TestGateway>,
    _lock: QemuLock,
}

impl Env {
    async fn start() -> Result<Env> {
        let lock = qemu_lock();
        let dist = require_dist()?;
        let items = [GwItem::console("console"), GwItem::qxl("flat", "flat")];
        let gw = TestGateway::start(&scratch(), &dist, &items).await?;
        let mut env = Env {
            browser: None,
            gw: Some(gw),
            _lock: lock,
        };
        let opts = BrowserOptions {
            scratch: scratch(),
            ..Default::default()
        };
        env.browser = Some(Browser::launch(&opts).await?);
        Ok(env)
    }

    fn b(&self) -> &Browser {
        self.browser.as_ref().expect("browser")
    }

    fn gw(&self) -> &TestGateway {
        self.gw.as_ref().expect("gateway")
    }

    /// Opens the collection, presses Run on `item`, waits for `running` and returns the
    /// instance id.
    async fn run_item(&self, item: &str) -> Result<String> {
        self.b().goto(&format!("{}/", self.gw().url())).await?;
        self.b()
            .click_run(item, Duration::from_secs(20))
            .await
            .context("the collection page shows a Run button per item")?;
        self.b().wait_state(&["running"], RUN_TIMEOUT).await?;
        let id = match self.b().attr(PLAYER, "data-instance").await? {
            Some(id) if !id.is_empty() => id,
            _ => {
                let ids = self.gw().instances_of(item);
                match ids.as_slice() {
                    [one] => one.clone(),
                    _ => bail!("no data-instance and {} instances of {item}", ids.len()),
                }
            }
        };
        if !self.gw().instance_dir(&id).is_dir() {
            bail!("data-instance={id} is not a live instance of the gateway");
        }
        Ok(id)
    }

    /// Polls until the canvas equals the instance's QMP screendump pixel for pixel; on
    /// failure both images are saved next to the test's scratch folder.
    async fn canvas_matches_screendump(&self, id: &str, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        let mut tries = 0;
        loop {
            tries += 1;
            let dump = self.gw().screendump(id)?;
            let canvas = self.b().canvas_rgba().await?;
            let diff = compare(&canvas, &dump);
            if diff.is_identical() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let base = scratch().join(format!("browser-{id}"));
                let _ = canvas.save_ppm(base.with_extension("canvas.ppm"));
                let _ = dump.save_ppm(base.with_extension("screendump.ppm"));
                bail!(
                    "canvas {}x{} != screendump {}x{} after {tries} tries in {within:?}: {diff} (saved {}.*.ppm)",
                    canvas.width,
                    canvas.height,
                    dump.width,
                    dump.height,
                    base.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Closes everything, then reports `result` (with the page's status on failure).
    async fn finish(mut self, name: &str, result: Result<()>) {
        let mut result = result;
        if let Some(b) = self.browser.take() {
            if result.is_err() {
                let png = scratch().join(format!("browser-{name}.png"));
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
                eprintln!("closing the browser: {e:#}");
            }
        }
        if let Some(gw) = self.gw.take() {
            gw.shutdown().await;
        }
        if let Err(e) = result {
            panic!("{name}: {e:#}");
        }
    }
}

async fn start_env() -> Env {
    match Env::start().await {
        Ok(env) => env,
        Err(e) => panic!("setting up the browser test: {e:#}"),
    }
}

fn unique() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    1000 + (t ^ std::process::id()) % 9000
}

/// 1. Run shows the guest's screen: the canvas equals QMP screendump pixel for pixel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_shows_the_guest_screen_pixel_for_pixel() {
    let env = start_env().await;
    let r = async {
        let id = env.run_item("flat").await?;
        env.gw()
            .wait_serial(&id, "OK scene flat", BOOT_TIMEOUT)
            .await?;
        env.canvas_matches_screendump(&id, Duration::from_secs(20))
            .await
    }
    .await;
    env.finish("run_shows_the_guest_screen", r).await;
}

/// 2. Keys typed on the canvas reach the guest's shell: the command's output appears on the
/// serial log, and the typed text on the canvas (canvas == screendump, and changed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_on_the_canvas_runs_a_shell_command() {
    let env = start_env().await;
    let r = async {
        let id = env.run_item("console").await?;
        env.gw()
            .wait_serial(&id, "OLIVE-GUEST-READY", BOOT_TIMEOUT)
            .await?;
        // The shell prompt follows the ready line closely; let the console settle.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let before = env.b().canvas_rgba().await?;
        let marker = format!("olive-e2e-{}", unique());
        env.b().focus_canvas().await?;
        env.b()
            .type_text(&format!("echo {marker} > /dev/ttyS0"))
            .await?;
        env.b().press(Key::Enter).await?;
        let line = env
            .gw()
            .wait_serial_where(&id, Duration::from_secs(30), |l| {
                l.trim_end() == marker || l.ends_with(&marker)
            })
            .await
            .context("the typed command's output on the guest's serial port")?;
        assert!(line.contains(&marker));
        env.canvas_matches_screendump(&id, Duration::from_secs(20))
            .await?;
        let after = env.b().canvas_rgba().await?;
        if compare(&before, &after).is_identical() {
            bail!("the canvas did not change after typing");
        }
        Ok(())
    }
    .await;
    env.finish("typing_on_the_canvas", r).await;
}

/// 3. A click on the canvas reaches the guest at that pixel (usb-tablet, client mouse mode).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn click_reaches_the_guest_at_that_pixel() {
    let env = start_env().await;
    let r = async {
        let id = env.run_item("flat").await?;
        env.gw()
            .wait_serial(&id, "OK scene flat", BOOT_TIMEOUT)
            .await?;
        env.gw()
            .wait_serial_where(&id, Duration::from_secs(60), |l| {
                l.starts_with("INPUT add") && l.contains("type=abs")
            })
            .await
            .context("the guest's usb-tablet")?;
        env.b()
            .wait_attr(PLAYER, "data-mouse-mode", Duration::from_secs(30), |m| {
                m == "client"
            })
            .await?;
        // Original size (1 canvas pixel = 1 CSS pixel) if the app offers it; the click
        // position is computed from the canvas's box either way.
        env.b()
            .js(
                "const s = document.querySelector(arguments[0] + ' select[aria-label=\"Screen size\"]'); \
                 if (s && [...s.options].some(o => o.value === 'original')) { \
                   s.value = 'original'; s.dispatchEvent(new Event('change', {bubbles: true})); }",
                vec![serde_json::json!(PLAYER)],
            )
            .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let [_, _, cw, _, w, _] = env.b().canvas_geometry().await?;
        let tolerance = if (cw - w).abs() < 0.5 {
            0
        } else {
            (w / cw).ceil() as i64
        };
        let (x, y) = (300u32, 200u32);
        env.b().focus_canvas().await?;
        env.b().click_canvas(x, y).await?;
        env.gw()
            .wait_serial(&id, "EV KEY code=272 value=1", Duration::from_secs(20))
            .await
            .context("the click (BTN_LEFT down) in the guest")?;
        let log = env.gw().serial_log(&id);
        let press = log
            .lines()
            .position(|l| l.contains("EV KEY code=272 value=1"))
            .ok_or_else(|| anyhow!("no press"))?;
        let abs = log
            .lines()
            .take(press)
            .filter(|l| l.starts_with("EV ABS"))
            .last()
            .ok_or_else(|| anyhow!("no EV ABS before the press"))?;
        let field = |name: &str| -> Result<i64> {
            abs.split_whitespace()
                .find_map(|f| f.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| anyhow!("no {name} in {abs:?}"))
        };
        let (px, py) = (field("px=")?, field("py=")?);
        if (px - x as i64).abs() > tolerance || (py - y as i64).abs() > tolerance {
            bail!("clicked ({x},{y}) but the guest saw {abs:?} (tolerance {tolerance})");
        }
        Ok(())
    }
    .await;
    env.finish("click_reaches_the_guest", r).await;
}

/// 4. A tone played by the guest reaches the page's audio path at its frequency.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_tone_reaches_the_page_audio() {
    let env = start_env().await;
    let r = async {
        let id = env.run_item("console").await?;
        env.gw()
            .wait_serial(&id, "OLIVE-GUEST-READY", BOOT_TIMEOUT)
            .await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        env.b().focus_canvas().await?;
        // The guest program reads commands from a FIFO too (no command port under the gateway).
        env.b()
            .type_text("echo tone 440 4000 > /run/olive-cmd")
            .await?;
        env.b().press(Key::Enter).await?;
        // The probe's sample rate: `data-audio-rate` if the app publishes it, else SPICE's 48 kHz.
        let rate: f64 = env
            .b()
            .attr(PLAYER, "data-audio-rate")
            .await?
            .and_then(|r| r.parse().ok())
            .unwrap_or(48000.0);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = String::from("no samples");
        loop {
            if let Ok(samples) = env.b().audio_probe().await {
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
                let frames = env.b().attr(PLAYER, "data-audio-frames").await?;
                let serial = env.gw().serial_log(&id);
                let tone = serial.lines().find(|l| l.contains("tone")).map(str::to_string);
                bail!(
                    "no 440 ± 10 Hz tone in oliveAudioProbe() within 30 s (last: {last}; rate {rate}; data-audio-frames {frames:?}; guest: {tone:?})"
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        // data-audio-frames is published at most every 250 ms: give it a moment.
        let mut frames = 0u64;
        for _ in 0..20 {
            frames = env
                .b()
                .attr(PLAYER, "data-audio-frames")
                .await?
                .and_then(|f| f.parse().ok())
                .unwrap_or(0);
            if frames > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if frames == 0 {
            bail!("data-audio-frames is 0 although the probe has the tone");
        }
        // Chromium decodes Opus with WebCodecs, so the page must have asked for it and
        // decoded it (the raw-PCM path is the fallback for browsers without it).
        let opus = env.b().js("return typeof AudioDecoder === 'function'", vec![]).await?;
        let codec = env.b().attr(PLAYER, "data-audio-codec").await?;
        eprintln!("audio codec: {codec:?} (AudioDecoder present: {opus})");
        if opus == serde_json::Value::Bool(true) && codec.as_deref() != Some("opus") {
            bail!("the browser has AudioDecoder but the page played {codec:?}, not Opus");
        }
        env.gw()
            .wait_serial(&id, "OK tone 440 4000", Duration::from_secs(20))
            .await?;
        Ok(())
    }
    .await;
    env.finish("guest_tone_reaches_the_page_audio", r).await;
}

/// 5. Killing the VM shows the stopped state with a visible message within 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_vm_shows_stopped() {
    let env = start_env().await;
    let r = async {
        let id = env.run_item("console").await?;
        let pid = env.gw().qemu_pid(&id)?;
        if !olive_gateway::launcher::kill_pid(pid) {
            bail!("could not SIGKILL QEMU {pid}");
        }
        let t0 = Instant::now();
        let (state, seen) = env
            .b()
            .wait_state_tracking(
                &["stopped", "ended", "error"],
                Duration::from_secs(10),
                false,
            )
            .await?;
        let elapsed = t0.elapsed();
        let status = env.b().status_text().await?;
        eprintln!("VM killed: states {seen:?}, '{state}' after {elapsed:?}; message {status:?}");
        if state != "stopped" {
            bail!("a killed VM must read as stopped, got {state} ({status:?}); states {seen:?}");
        }
        if status.trim().is_empty() {
            bail!("state {state} after {elapsed:?} but no visible status message");
        }
        // The server then destroys the instance; the visitor should still see "stopped".
        tokio::time::sleep(Duration::from_secs(3)).await;
        let later = env
            .b()
            .attr("#olive-player", "data-state")
            .await?
            .unwrap_or_default();
        if later != "stopped" {
            bail!("after the instance was cleaned up the page says {later}, not stopped");
        }
        Ok(())
    }
    .await;
    env.finish("killed_vm_shows_stopped", r).await;
}
