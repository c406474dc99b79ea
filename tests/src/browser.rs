//! A browser session of any [`Engine`] driven through its WebDriver server (fantoccini,
//! plain HTTP on 127.0.0.1), with helpers for Olive's web-app automation contract:
//!
//! - the player canvas is `#olive-screen` (focusable); each Run button carries `data-item`;
//! - `#olive-player` has `data-state` (loading, connecting, running, reconnecting, stopped,
//!   ended, error), `data-instance`, `data-mouse-mode` (client|server),
//!   `data-first-pixel-ms`, `data-audio-frames`, the paths feature detection chose
//!   (`data-audio-path`, `data-audio-codec`, …) and a JS function property
//!   `oliveAudioProbe()` returning a Float32Array of recent channel-0 samples.
//!
//! On the app's item page and a portal's page these parts live in the open shadow root of
//! `<olive-player>`, which the document's CSS locators do not reach; on the `/embed/` and
//! kiosk pages they are in the document. Every lookup of a player part therefore goes
//! through one helper, [`PARTS_JS`] (`olivePart(css)`, the shadow root first, then the
//! document), which every script run by [`Browser::js`] can call, and which [`Browser::part`]
//! uses to hand an element to WebDriver (for clicks and typing into a field).
//!
//! Every wait is bounded. [`Browser::close`] ends the session (the driver quits the
//! browser); dropping a [`Browser`] without closing still kills the driver's whole process
//! tree by PID (see [`crate::driver`]) and deletes the profile.

use crate::driver::DriverProcess;
pub use crate::engine::Engine;
use crate::ppm::Rgba;
use anyhow::{anyhow, bail, Context, Result};
use fantoccini::actions::{
    InputSource, KeyAction, KeyActions, MouseActions, PointerAction, MOUSE_BUTTON_LEFT,
};
use fantoccini::elements::{Element, ElementRef};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The W3C WebDriver key of an element reference in a script's result.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The player element.
pub const PLAYER: &str = "#olive-player";
/// The player canvas.
pub const SCREEN: &str = "#olive-screen";
/// The helper every [`Browser::js`] script starts with (see the module docs):
/// `olivePart(css)` is the first match for `css` inside the first `<olive-player>`'s open
/// shadow root, else in the document (or `null`); `olivePartIn(host, css)` the same from a
/// given `<olive-player>` host; `oliveAt(x, y)` the element at a viewport point, inside that
/// shadow root too; `oliveFocused()` the focused element, followed into shadow
/// roots (`document.activeElement` stops at the host). Plain DOM calls, so Chromium,
/// Firefox and WebKit drivers all run them.
pub const PARTS_JS: &str = "\
function olivePartIn(host, css) { \
  const r = host && host.shadowRoot ? host.shadowRoot.querySelector(css) : null; \
  return r || document.querySelector(css); } \
function olivePart(css) { return olivePartIn(document.querySelector('olive-player'), css); } \
function oliveAt(x, y) { const h = document.querySelector('olive-player'); \
  return (h && h.shadowRoot ? h.shadowRoot : document).elementFromPoint(x, y); } \
function oliveFocused() { let a = document.activeElement; \
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement; \
  return a; }\n";

/// A JS expression for the player part `css` (through [`PARTS_JS`]), for the scripts that
/// take one, such as [`Browser::canvas_rgba_of`].
pub fn part_js(css: &str) -> String {
    format!("olivePart({css:?})")
}

/// Time to open a WebDriver session (browser start).
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(45);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Options for [`Browser::launch`].
#[derive(Clone, Debug)]
pub struct BrowserOptions {
    /// Which browser to drive.
    pub engine: Engine,
    /// Window size in CSS pixels (large enough that a 1024x768 canvas is not scaled down).
    pub window: (u32, u32),
    /// Where the profile and driver log go (a fresh subfolder is made).
    pub scratch: PathBuf,
    /// `false` turns WebAssembly off (where the engine has a switch for it: see
    /// [`Engine::disable_wasm`]), to see what a browser without it shows.
    pub wasm: bool,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        BrowserOptions {
            engine: Engine::Chromium,
            window: (1600, 1200),
            scratch: std::env::temp_dir(),
            wasm: true,
        }
    }
}

/// A browser session.
pub struct Browser {
    engine: Engine,
    client: Option<Client>,
    driver: Option<DriverProcess>,
    dir: PathBuf,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("engine", &self.engine)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Browser {
    /// Starts the engine's driver and a headless session.
    pub async fn launch(opts: &BrowserOptions) -> Result<Browser> {
        let engine = opts.engine;
        let dir = opts.scratch.join(format!(
            "olive-{}-{}-{}",
            engine.name(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let profile = dir.join("profile");
        std::fs::create_dir_all(&profile)
            .with_context(|| format!("create {}", profile.display()))?;
        let mut browser = Browser {
            engine,
            client: None,
            driver: None,
            dir: dir.clone(),
        };
        let driver = DriverProcess::start(
            &engine.driver(),
            &dir.join("driver.log"),
            (opts.window.0 + 100, opts.window.1 + 200),
        )?;
        let url = driver.url();
        browser.driver = Some(driver);
        let mut caps = engine.capabilities(&profile, opts.window);
        if !opts.wasm && !engine.disable_wasm(&mut caps) {
            bail!("{engine} has no switch to turn WebAssembly off");
        }
        let connect = async {
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps)
                .connect(&url)
                .await
        };
        let client = tokio::time::timeout(SESSION_TIMEOUT, connect)
            .await
            .map_err(|_| anyhow!("no {engine} WebDriver session within {SESSION_TIMEOUT:?}"))?
            .with_context(|| format!("WebDriver session ({engine} start)"))?;
        browser.client = Some(client);
        if engine == Engine::WebKit {
            // MiniBrowser takes no window size argument.
            browser
                .client()
                .set_window_size(opts.window.0, opts.window.1)
                .await
                .context("set the window size")?;
        }
        Ok(browser)
    }

    /// The engine of this session.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The WebDriver session.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("session is open")
    }

    /// The scratch folder (profile, driver log); deleted on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Ends the session (the driver quits the browser), then stops the driver and deletes
    /// the profile. Idempotent with drop.
    pub async fn close(mut self) -> Result<()> {
        let result = match self.client.take() {
            Some(c) => tokio::time::timeout(Duration::from_secs(15), c.close())
                .await
                .map_err(|_| anyhow!("closing the session timed out"))
                .and_then(|r| r.context("closing the session")),
            None => Ok(()),
        };
        drop(self);
        result
    }

    /// Opens `url` and waits until the page has loaded.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.client()
            .goto(url)
            .await
            .with_context(|| format!("open {url}"))
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`; the [`PARTS_JS`] helpers
    /// are defined) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.client()
            .execute(&format!("{PARTS_JS}{script}"), args)
            .await
            .with_context(|| format!("execute script {:?}", first_line(script)))
    }

    /// The player part `css` (see [`PARTS_JS`]) as a WebDriver element, to click or to type
    /// into; waits up to `timeout` for it to exist.
    pub async fn part(&self, css: &str, timeout: Duration) -> Result<Element> {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self
                .js("return olivePart(arguments[0]);", vec![json!(css)])
                .await?;
            if !v.is_null() {
                let id = v
                    .get(ELEMENT_KEY)
                    .and_then(Value::as_str)
                    .ok_or_else(|| anyhow!("{css}: the driver returned {v}, not an element"))?;
                return Ok(Element::from_element_id(
                    self.client().clone(),
                    ElementRef::from(id.to_owned()),
                ));
            }
            if Instant::now() > deadline {
                bail!("no {css} in the player within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// An attribute of the first player part matching `css` (see [`PARTS_JS`]; `None` if
    /// the element or the attribute is missing).
    pub async fn attr(&self, css: &str, name: &str) -> Result<Option<String>> {
        let v = self
            .js(
                "const e = olivePart(arguments[0]); \
                 return e ? e.getAttribute(arguments[1]) : null;",
                vec![json!(css), json!(name)],
            )
            .await?;
        Ok(v.as_str().map(str::to_string))
    }

    /// Polls `attr(css, name)` until `pred` accepts it; returns the accepted value.
    pub async fn wait_attr(
        &self,
        css: &str,
        name: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        loop {
            last = self.attr(css, name).await.ok().flatten().or(last);
            if let Some(v) = &last {
                if pred(v) {
                    return Ok(v.clone());
                }
            }
            if Instant::now() > deadline {
                bail!("{css}[{name}] did not reach the expected value within {timeout:?} (last {last:?})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `#olive-player[data-state]` is one of `states`; fails early on `error`
    /// unless `error` is wanted.
    pub async fn wait_state(&self, states: &[&str], timeout: Duration) -> Result<String> {
        self.wait_state_tracking(states, timeout, true)
            .await
            .map(|(s, _)| s)
    }

    /// Like [`Browser::wait_state`]; also returns every distinct state seen on the way, and
    /// with `fail_on_error = false` passes through a transient `error`.
    pub async fn wait_state_tracking(
        &self,
        states: &[&str],
        timeout: Duration,
        fail_on_error: bool,
    ) -> Result<(String, Vec<String>)> {
        let mut seen: Vec<String> = Vec::new();
        let deadline = Instant::now() + timeout;
        let mut last: Option<String> = None;
        loop {
            let s = self.attr(PLAYER, "data-state").await.ok().flatten();
            if let Some(s) = &s {
                if seen.last() != Some(s) {
                    seen.push(s.clone());
                }
                if states.contains(&s.as_str()) {
                    return Ok((s.clone(), seen));
                }
                if s == "error" && fail_on_error {
                    let text = self.player_text().await.unwrap_or_default();
                    bail!("player entered state 'error' while waiting for {states:?}: {text}");
                }
            }
            last = s.or(last);
            if Instant::now() > deadline {
                let text = self.player_text().await.unwrap_or_default();
                bail!(
                    "player state did not become {states:?} within {timeout:?} (last {last:?}, seen {seen:?}; text {text:?})"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The player's visible text (status messages).
    pub async fn player_text(&self) -> Result<String> {
        let v = self
            .js(
                "const e = olivePart(arguments[0]); return e ? e.innerText : '';",
                vec![json!(PLAYER)],
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// The player's visible status message (`[role=status]` inside the player, else the
    /// player's whole text); empty when hidden.
    pub async fn status_text(&self) -> Result<String> {
        let v = self
            .js(
                "const p = olivePart(arguments[0]); if (!p) return ''; \
                 const s = p.querySelector('[role=status]') || p; \
                 return s.offsetParent === null && s !== document.body ? '' : s.innerText;",
                vec![json!(PLAYER)],
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Waits for the Run button of `item` and clicks it.
    pub async fn click_run(&self, item: &str, timeout: Duration) -> Result<()> {
        let css = format!("[data-item=\"{item}\"]");
        let el = self
            .client()
            .wait()
            .at_most(timeout)
            .for_element(Locator::Css(&css))
            .await
            .with_context(|| format!("no Run button {css} within {timeout:?}"))?;
        el.click().await.with_context(|| format!("click {css}"))
    }

    /// The whole canvas as RGBA (`getImageData`, transferred as base64).
    pub async fn canvas_rgba(&self) -> Result<Rgba> {
        self.canvas_rgba_of(&part_js(SCREEN)).await
    }

    /// The pixels of the canvas the JS expression `canvas` yields (one inside a shadow
    /// root, say), as RGBA.
    pub async fn canvas_rgba_of(&self, canvas: &str) -> Result<Rgba> {
        let script = format!(
            r#"const c = {canvas};
               if (!c) return null;
               const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
               let s = '';
               for (let i = 0; i < d.length; i += 0x8000)
                   s += String.fromCharCode.apply(null, d.subarray(i, i + 0x8000));
               return [c.width, c.height, btoa(s)];"#
        );
        let v = self.js(&script, vec![]).await?;
        let arr = v
            .as_array()
            .ok_or_else(|| anyhow!("no canvas ({canvas}) on the page"))?;
        let w = arr[0].as_u64().context("canvas width")? as u32;
        let h = arr[1].as_u64().context("canvas height")? as u32;
        let pixels = base64_decode(arr[2].as_str().context("canvas data")?)?;
        if pixels.len() != w as usize * h as usize * 4 {
            bail!("canvas data has {} bytes for {w}x{h}", pixels.len());
        }
        Ok(Rgba {
            width: w,
            height: h,
            pixels,
        })
    }

    /// Polls until the canvas `canvas` (a JS expression) equals `truth()` (QEMU's
    /// screendump) pixel for pixel, within `within`; on failure both images are saved as
    /// `<save_as>.canvas.ppm` and `<save_as>.screendump.ppm`.
    pub async fn wait_canvas_equals(
        &self,
        canvas: &str,
        truth: impl Fn() -> Result<Rgba>,
        within: Duration,
        save_as: &Path,
    ) -> Result<()> {
        let deadline = Instant::now() + within;
        let mut tries = 0;
        loop {
            tries += 1;
            let dump = truth()?;
            let shown = self.canvas_rgba_of(canvas).await?;
            let diff = crate::ppm::compare(&shown, &dump);
            if diff.is_identical() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = shown.save_ppm(save_as.with_extension("canvas.ppm"));
                let _ = dump.save_ppm(save_as.with_extension("screendump.ppm"));
                bail!(
                    "canvas {}x{} != screendump {}x{} after {tries} tries in {within:?}: {diff} (saved {}.*.ppm)",
                    shown.width,
                    shown.height,
                    dump.width,
                    dump.height,
                    save_as.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// The canvas's layout: (left, top, css width, css height, width, height).
    pub async fn canvas_geometry(&self) -> Result<[f64; 6]> {
        let v = self
            .js(
                "const c = olivePart(arguments[0]); const r = c.getBoundingClientRect(); \
                 return [r.left, r.top, r.width, r.height, c.width, c.height];",
                vec![json!(SCREEN)],
            )
            .await?;
        let a = v.as_array().context("canvas geometry")?;
        let mut out = [0.0; 6];
        for (o, x) in out.iter_mut().zip(a) {
            *o = x.as_f64().context("canvas geometry number")?;
        }
        Ok(out)
    }

    /// Focuses the canvas (click-free: `focus()`), so key actions go to it.
    pub async fn focus_canvas(&self) -> Result<()> {
        let v = self
            .js(
                "const c = olivePart(arguments[0]); c.focus(); \
                 return oliveFocused() === c;",
                vec![json!(SCREEN)],
            )
            .await?;
        if v != json!(true) {
            bail!("{SCREEN} did not take focus (is it tabindex=0?)");
        }
        Ok(())
    }

    /// Types `text` with WebDriver key actions (to the focused element), holding Shift for
    /// characters that need it on a US layout so code-based (scancode) clients see it too.
    pub async fn type_text(&self, text: &str) -> Result<()> {
        let mut seq = KeyActions::new("keyboard".into());
        let shift: char = Key::Shift.into();
        for ch in text.chars() {
            let shifted = needs_shift(ch);
            if shifted {
                seq = seq.then(KeyAction::Down { value: shift });
            }
            seq = seq
                .then(KeyAction::Down { value: ch })
                .then(KeyAction::Up { value: ch });
            if shifted {
                seq = seq.then(KeyAction::Up { value: shift });
            }
        }
        self.client()
            .perform_actions(seq)
            .await
            .context("key actions")?;
        self.client().release_actions().await.context("release")
    }

    /// Types `text` with WebDriver key actions and no explicit Shift: what a remote-control
    /// tool or an on-screen keyboard sends. WebDriver then reports `S` or `>` with
    /// `shiftKey` set but no Shift keydown of its own.
    pub async fn type_raw(&self, text: &str) -> Result<()> {
        let mut seq = KeyActions::new("keyboard".into());
        for ch in text.chars() {
            seq = seq
                .then(KeyAction::Down { value: ch })
                .then(KeyAction::Up { value: ch });
        }
        self.client()
            .perform_actions(seq)
            .await
            .context("key actions")?;
        self.client().release_actions().await.context("release")
    }

    /// Runs a Chrome DevTools Protocol command through chromedriver's `goog:cdp` endpoint
    /// (`POST /session/{id}/goog/cdp/execute`); only Chromium has it.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Result<Value> {
        if !self.engine.has_cdp() {
            bail!("{} has no CDP endpoint", self.engine);
        }
        self.client()
            .issue_cmd(CdpExecute {
                cmd: cmd.to_string(),
                params,
            })
            .await
            .with_context(|| format!("CDP {cmd}"))
    }

    /// Presses and releases one special key (e.g. [`Key::Enter`]).
    pub async fn press(&self, key: Key) -> Result<()> {
        let k: char = key.into();
        let seq = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: k })
            .then(KeyAction::Up { value: k });
        self.client()
            .perform_actions(seq)
            .await
            .context("key actions")?;
        self.client().release_actions().await.context("release")
    }

    /// Clicks the canvas at surface pixel (`x`, `y`): the CSS position is computed from the
    /// canvas's bounding box, so CSS scaling is accounted for. Returns the viewport point.
    pub async fn click_canvas(&self, x: u32, y: u32) -> Result<(i64, i64)> {
        let [left, top, cw, ch, w, h] = self.canvas_geometry().await?;
        // The first whole viewport pixel inside surface pixel (x, y): WebDriver positions are
        // integers and the canvas box may start at a fractional offset.
        let vx = (left + x as f64 * cw / w - 1e-6).ceil() as i64;
        let vy = (top + y as f64 * ch / h - 1e-6).ceil() as i64;
        let seq = MouseActions::new("mouse".into())
            .then(PointerAction::MoveTo {
                duration: Some(Duration::from_millis(50)),
                x: vx as f64,
                y: vy as f64,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Pause {
                duration: Duration::from_millis(50),
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            });
        self.client()
            .perform_actions(seq)
            .await
            .context("pointer actions")?;
        self.client().release_actions().await.context("release")?;
        Ok((vx, vy))
    }

    /// `oliveAudioProbe()` of the player as samples (empty if the function is missing).
    pub async fn audio_probe(&self) -> Result<Vec<f32>> {
        let v = self
            .js(
                "const p = olivePart(arguments[0]); \
                 if (!p || typeof p.oliveAudioProbe !== 'function') return null; \
                 return Array.from(p.oliveAudioProbe());",
                vec![json!(PLAYER)],
            )
            .await?;
        match v {
            Value::Null => bail!("{PLAYER}.oliveAudioProbe is not a function"),
            Value::Array(a) => Ok(a
                .iter()
                .filter_map(Value::as_f64)
                .map(|x| x as f32)
                .collect()),
            other => bail!("oliveAudioProbe() returned {other}"),
        }
    }

    /// Saves a PNG screenshot of the page to `path` (best effort, for failure reports).
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let png = self.client().screenshot().await.context("screenshot")?;
        std::fs::write(path, png).with_context(|| format!("write {}", path.display()))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A session that was not closed leaves the browser running: the driver's drop
        // kills its whole process tree, by PID.
        self.client = None;
        drop(self.driver.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// chromedriver's `goog/cdp/execute` extension command.
#[derive(Debug)]
struct CdpExecute {
    cmd: String,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for CdpExecute {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

fn needs_shift(c: char) -> bool {
    c.is_ascii_uppercase() || "~!@#$%^&*()_+{}|:\"<>?".contains(c)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

/// Standard base64 (with padding) to bytes.
pub fn base64_decode(s: &str) -> Result<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c).ok_or_else(|| anyhow!("bad base64 byte {c}"))? << (18 - 6 * i);
        }
        let take = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => bail!("truncated base64"),
        };
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    Ok(out)
}

/// Estimates the frequency of `samples` (taken at `rate` Hz) from rising zero crossings
/// with hysteresis; `None` when fewer than 4 crossings or the signal is silent.
pub fn estimate_frequency(samples: &[f32], rate: f64) -> Option<f64> {
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    if peak < 1e-3 {
        return None;
    }
    let hyst = peak * 0.1;
    let mut armed = false;
    let mut crossings: Vec<f64> = Vec::new();
    for i in 1..samples.len() {
        let (a, b) = (samples[i - 1], samples[i]);
        if b < -hyst {
            armed = true;
        }
        if armed && a <= 0.0 && b > 0.0 {
            crossings.push((i - 1) as f64 + (a.abs() / (b - a).abs().max(1e-9)) as f64);
            armed = false;
        }
    }
    if crossings.len() < 4 {
        return None;
    }
    let span = crossings[crossings.len() - 1] - crossings[0];
    Some((crossings.len() - 1) as f64 * rate / span)
}

/// Runs one step of a browser scenario, printing `label: name: ok (secs)` or its failure,
/// and names the step in the error.
pub async fn step<T>(
    label: &str,
    name: &str,
    f: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let t0 = Instant::now();
    let r = f.await;
    let secs = t0.elapsed().as_secs_f64();
    match &r {
        Ok(_) => eprintln!("{label}: {name}: ok ({secs:.1} s)"),
        Err(e) => eprintln!("{label}: {name}: FAILED ({secs:.1} s): {e:#}"),
    }
    r.with_context(|| format!("{label}: {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_values() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
        assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
        assert_eq!(base64_decode("AP8A/w==").unwrap(), [0, 255, 0, 255]);
        assert!(base64_decode("Z").is_err());
    }

    #[test]
    fn frequency_of_a_sine() {
        let rate = 48000.0;
        let s: Vec<f32> = (0..4800)
            .map(|i| (0.3 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / rate).sin()) as f32)
            .collect();
        let f = estimate_frequency(&s, rate).unwrap();
        assert!((f - 440.0).abs() < 1.0, "{f}");
        assert_eq!(estimate_frequency(&[0.0; 100], rate), None);
    }

    #[test]
    fn shifted_characters() {
        assert!(needs_shift('>'));
        assert!(needs_shift('A'));
        assert!(!needs_shift('a'));
        assert!(!needs_shift('/'));
    }
}
