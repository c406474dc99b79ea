//! The three browser engines Olive is tested on, and how each is driven: its WebDriver
//! server ([`crate::driver::DriverCommand`]) and the capabilities of a headless, offline,
//! deterministic session.
//!
//! | engine | browser (Debian) | driver | display |
//! |---|---|---|---|
//! | Chromium | `chromium` | `chromedriver` (`chromium-driver`) | `--headless=new` |
//! | Firefox | `firefox-esr` | `geckodriver` (`cargo install geckodriver`) | `-headless` |
//! | WebKit | MiniBrowser (`libwebkit2gtk-4.1-0`) | `WebKitWebDriver` (`webkit2gtk-driver`) | Xvfb |
//!
//! Which engines a test run covers: `$OLIVE_BROWSERS` (comma-separated names, e.g.
//! `chromium,firefox`), default all three. Binaries can be overridden with `$CHROMEDRIVER`,
//! `$CHROMIUM`, `$GECKODRIVER`, `$FIREFOX`, `$WEBKITWEBDRIVER`, `$MINIBROWSER`.

use crate::driver::DriverCommand;
use anyhow::{bail, Result};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// A browser engine under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Engine {
    /// Chromium through chromedriver.
    Chromium,
    /// Firefox ESR through geckodriver.
    Firefox,
    /// WebKitGTK through WebKitWebDriver.
    WebKit,
}

impl Engine {
    /// Every engine, in the order tests run them.
    pub const ALL: [Engine; 3] = [Engine::Chromium, Engine::Firefox, Engine::WebKit];

    /// The lower-case name used in `$OLIVE_BROWSERS`, logs and `SKIP` lines.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
            Engine::WebKit => "webkit",
        }
    }

    /// Parses [`Engine::name`] (also `chrome`, `gecko`, `safari`, `minibrowser`).
    pub fn parse(s: &str) -> Option<Engine> {
        match s.trim().to_ascii_lowercase().as_str() {
            "chromium" | "chrome" => Some(Engine::Chromium),
            "firefox" | "gecko" => Some(Engine::Firefox),
            "webkit" | "safari" | "minibrowser" => Some(Engine::WebKit),
            _ => None,
        }
    }

    /// The engines selected by `$OLIVE_BROWSERS` (all when unset or empty). Unknown names
    /// are an error, so a typo never silently tests nothing.
    pub fn selected() -> Result<Vec<Engine>> {
        let Some(list) = std::env::var("OLIVE_BROWSERS")
            .ok()
            .filter(|s| !s.trim().is_empty())
        else {
            return Ok(Engine::ALL.to_vec());
        };
        let mut out = Vec::new();
        for name in list.split(',').filter(|n| !n.trim().is_empty()) {
            match Engine::parse(name) {
                Some(e) if !out.contains(&e) => out.push(e),
                Some(_) => {}
                None => {
                    bail!("OLIVE_BROWSERS: unknown engine {name:?} (chromium, firefox, webkit)")
                }
            }
        }
        Ok(out)
    }

    /// Whether this engine can be driven through Chrome DevTools Protocol commands
    /// (`goog:cdp`): mobile and touch emulation, HiDPI.
    pub fn has_cdp(self) -> bool {
        self == Engine::Chromium
    }

    /// How to start this engine's WebDriver server.
    pub fn driver(self) -> DriverCommand {
        match self {
            Engine::Chromium => DriverCommand {
                binary: binary("CHROMEDRIVER", &["/usr/bin/chromedriver"], "chromedriver"),
                args: vec![
                    "--port={port}".into(),
                    "--allowed-ips=127.0.0.1".into(),
                    "--log-level=WARNING".into(),
                ],
                needs_display: false,
                install_hint: "Debian: apt-get install chromium chromium-driver, or set CHROMEDRIVER",
            },
            Engine::Firefox => DriverCommand {
                binary: binary("GECKODRIVER", &[], "geckodriver"),
                args: vec![
                    "--port={port}".into(),
                    "--host=127.0.0.1".into(),
                    "--log=warn".into(),
                ],
                needs_display: false,
                install_hint: "cargo install geckodriver (and apt-get install firefox-esr), or set GECKODRIVER",
            },
            Engine::WebKit => DriverCommand {
                binary: binary("WEBKITWEBDRIVER", &["/usr/bin/WebKitWebDriver"], "WebKitWebDriver"),
                args: vec!["--port={port}".into(), "--host=127.0.0.1".into()],
                needs_display: true,
                install_hint: "Debian: apt-get install webkit2gtk-driver xvfb, or set WEBKITWEBDRIVER",
            },
        }
    }

    /// Capabilities of a fresh session: `profile` is a private, empty folder (deleted by
    /// the caller), `window` the viewport wanted in CSS pixels.
    pub fn capabilities(self, profile: &Path, window: (u32, u32)) -> Map<String, Value> {
        let caps = match self {
            Engine::Chromium => {
                let mut chrome = json!({ "args": chromium_args(profile, window) });
                if let Some(bin) = chromium_binary() {
                    chrome["binary"] = json!(bin.display().to_string());
                }
                json!({ "browserName": "chrome", "goog:chromeOptions": chrome })
            }
            Engine::Firefox => {
                let mut ff = json!({
                    "args": ["-headless", "-no-remote", "-profile", profile.display().to_string(),
                             format!("--width={}", window.0), format!("--height={}", window.1)],
                    "prefs": firefox_prefs(),
                });
                if let Some(bin) = firefox_binary() {
                    ff["binary"] = json!(bin.display().to_string());
                }
                json!({ "browserName": "firefox", "moz:firefoxOptions": ff })
            }
            Engine::WebKit => {
                let mut opts = json!({ "args": ["--automation"] });
                if let Some(bin) = std::env::var_os("MINIBROWSER").filter(|p| !p.is_empty()) {
                    opts["binary"] = json!(PathBuf::from(bin).display().to_string());
                }
                json!({ "browserName": "MiniBrowser", "webkitgtk:browserOptions": opts })
            }
        };
        caps.as_object().cloned().expect("an object")
    }
}

impl Engine {
    /// Whether [`Engine::disable_wasm`] can turn WebAssembly off.
    pub fn can_disable_wasm(self) -> bool {
        self != Engine::WebKit
    }

    /// Turns WebAssembly off in `caps` (JIT-less V8, Firefox's
    /// `javascript.options.wasm`); `false` when the engine has no such switch (WebKitGTK).
    pub fn disable_wasm(self, caps: &mut Map<String, Value>) -> bool {
        match self {
            Engine::Chromium => {
                if let Some(args) = caps
                    .get_mut("goog:chromeOptions")
                    .and_then(|o| o.get_mut("args"))
                    .and_then(Value::as_array_mut)
                {
                    // JIT-less V8 (as a "no JIT" security policy sets it) has no WebAssembly.
                    args.push(json!("--js-flags=--jitless"));
                }
                true
            }
            Engine::Firefox => {
                if let Some(prefs) = caps
                    .get_mut("moz:firefoxOptions")
                    .and_then(|o| o.get_mut("prefs"))
                    .and_then(Value::as_object_mut)
                {
                    prefs.insert("javascript.options.wasm".into(), json!(false));
                }
                true
            }
            Engine::WebKit => false,
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `$VAR`, else the first existing path of `known`, else `name` (found on PATH).
fn binary(var: &str, known: &[&str], name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(p) = known.iter().map(Path::new).find(|p| p.exists()) {
        return p.to_path_buf();
    }
    if let Some(home) = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
    {
        let p = home.join("bin").join(name);
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(name)
}

/// The Chromium binary chromedriver should start: `$CHROMIUM`, else Debian's real binary
/// (`/usr/lib/chromium/chromium`, not the `/usr/bin/chromium` wrapper script), else `None`
/// (chromedriver's own search).
pub fn chromium_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let debian = Path::new("/usr/lib/chromium/chromium");
    debian.exists().then(|| debian.to_path_buf())
}

/// Firefox: `$FIREFOX`, else Debian's `firefox-esr` (geckodriver looks for `firefox`).
pub fn firefox_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FIREFOX").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    ["/usr/bin/firefox-esr", "/usr/lib/firefox-esr/firefox-esr"]
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .map(Path::to_path_buf)
}

/// Chromium's arguments: headless as root needs `--no-sandbox`; the rest keeps it quiet,
/// offline and deterministic; autoplay lets the audio path run without a gesture.
pub fn chromium_args(profile: &Path, window: (u32, u32)) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
        "--autoplay-policy=no-user-gesture-required",
        "--force-device-scale-factor=1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--window-size={},{}", window.0, window.1));
    args.push(format!("--user-data-dir={}", profile.display()));
    args
}

/// Firefox preferences: no network chatter, sound without a gesture, 1 CSS px = 1 device px.
fn firefox_prefs() -> Value {
    json!({
        "media.autoplay.default": 0,
        "media.autoplay.blocking_policy": 0,
        "layout.css.devPixelsPerPx": "1.0",
        "app.update.disabledForTesting": true,
        "browser.shell.checkDefaultBrowser": false,
        "datareporting.policy.dataSubmissionEnabled": false,
        "toolkit.telemetry.enabled": false,
        "network.captive-portal-service.enabled": false,
        "network.connectivity-service.enabled": false,
        "browser.safebrowsing.malware.enabled": false,
        "browser.safebrowsing.phishing.enabled": false,
        "extensions.update.enabled": false,
        "dom.disable_beforeunload": true,
        "full-screen-api.allow-trusted-requests-only": false,
        "full-screen-api.warning.timeout": 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for e in Engine::ALL {
            assert_eq!(Engine::parse(e.name()), Some(e));
        }
        assert_eq!(Engine::parse(" Safari "), Some(Engine::WebKit));
        assert_eq!(Engine::parse("lynx"), None);
    }

    #[test]
    fn capabilities_name_the_browser_and_profile() {
        let p = Path::new("/tmp/olive-profile-x");
        let c = Engine::Chromium.capabilities(p, (800, 600));
        assert_eq!(c["browserName"], "chrome");
        let args = c["goog:chromeOptions"]["args"].as_array().unwrap();
        assert!(args.contains(&json!("--user-data-dir=/tmp/olive-profile-x")));
        assert!(args.contains(&json!("--window-size=800,600")));
        let f = Engine::Firefox.capabilities(p, (800, 600));
        let fargs = f["moz:firefoxOptions"]["args"].as_array().unwrap();
        assert!(
            fargs.contains(&json!("-headless")) && fargs.contains(&json!("/tmp/olive-profile-x"))
        );
        let w = Engine::WebKit.capabilities(p, (800, 600));
        assert_eq!(w["browserName"], "MiniBrowser");
        assert!(Engine::WebKit.driver().needs_display);
        assert!(!Engine::Firefox.driver().needs_display);
    }
}
