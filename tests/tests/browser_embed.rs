//! A portal embeds Olive (issue 15): pages served from a second origin (a second local
//! HTTP server) use `<olive-player>` and, in another step, the `/embed/<item>` iframe with
//! its postMessage API. Both launch the test guest, report `statechange` up to running,
//! show QEMU's own framebuffer (canvas == screendump), type text the guest's shell runs
//! (read back from its serial log), reset (a new machine, the old one gone) and stop (the
//! instance is gone). A third origin, not in `embed_origins`, is refused: the module
//! import, the API fetch and the WebSocket all fail in the browser, and the gateway's
//! `frame-ancestors` keeps the iframe from running.
//!
//! One test per engine (`$OLIVE_BROWSERS` picks which; the others print `SKIP`); the
//! element and the iframe share one gateway and one browser session.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use olive_tests::browser::{part_js, Browser, BrowserOptions, Engine, PLAYER, SCREEN};
use olive_tests::gateway::{require_dist, serve_dir, AbortOnDrop, GwItem, TestGateway};
use olive_tests::{qemu_lock, Scratch};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RUN_TIMEOUT: Duration = Duration::from_secs(90);
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);
/// The canvas in the shadow root of the element `#p` (through the harness's one lookup).
const ELEMENT_CANVAS: &str = "olivePartIn(document.getElementById('p'), '#olive-screen')";
/// The player in the shadow root of the element `#p`.
const ELEMENT_PLAYER: &str = "olivePartIn(document.getElementById('p'), '#olive-player')";

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// One portal site: a folder of pages served on its own port (its own origin).
struct Site {
    dir: Scratch,
    addr: SocketAddr,
    _server: AbortOnDrop,
}

impl Site {
    async fn start(name: &str) -> Result<Site> {
        let dir = Scratch::new_in(&scratch(), name);
        let (addr, server) = serve_dir(dir.path()).await?;
        Ok(Site {
            dir,
            addr,
            _server: server,
        })
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Writes the two portal pages, pointing at the gateway `gw`.
    fn write_pages(&self, gw: &str) -> Result<()> {
        let ws = gw.replacen("http://", "ws://", 1);
        let element = format!(
            r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A portal</title></head>
<body><h1>A portal page</h1>
<olive-player id="p" item="console" gateway="{gw}"></olive-player>
<script>
window.__events = [];
for (const n of ["statechange", "progress", "error", "ended"])
  document.addEventListener(n, (e) => {{ if (e.target.id === "p") window.__events.push(Object.assign({{type: n}}, e.detail)); }});
window.__probe = {{}};
fetch("{gw}/api/collection").then((r) => window.__probe.fetch = "ok " + r.status, () => window.__probe.fetch = "refused");
const ws = new WebSocket("{ws}/ws");
ws.onopen = () => {{ window.__probe.ws = "open"; ws.close(); }};
ws.onerror = () => {{ if (!window.__probe.ws) window.__probe.ws = "refused"; }};
import("{gw}/olive-player.js").then(() => window.__probe.module = "loaded", (e) => window.__probe.module = "refused: " + e);
</script></body></html>"#
        );
        let frame = format!(
            r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A portal</title></head>
<body><h1>A portal page with a frame</h1>
<script>
window.__msgs = [];
window.__loaded = false;
window.addEventListener("message", (e) => {{ if (e.origin === "{gw}") window.__msgs.push(e.data); }});
window.send = (m) => document.getElementById("f").contentWindow.postMessage(m, "{gw}");
</script>
<iframe id="f" title="Olive player" src="{gw}/embed/console" width="1100" height="900" allow="fullscreen" onload="window.__loaded = true"></iframe>
</body></html>"#
        );
        std::fs::write(self.dir.join("element.html"), element)?;
        std::fs::write(self.dir.join("frame.html"), frame)?;
        Ok(())
    }
}

/// Polls `script` (a function body) until `done` accepts its value.
async fn wait_js(
    b: &Browser,
    what: &str,
    script: &str,
    timeout: Duration,
    done: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let v = b.js(script, vec![]).await?;
        if done(&v) {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("{what}: not within {timeout:?} (last {v})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `state`s of the recorded events of `kind`, in order.
fn states(events: &Value, kind: &str) -> Vec<String> {
    events
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["type"] == kind || e["olive"] == kind)
                .filter_map(|e| e["state"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn wait_gone(gw: &TestGateway, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !gw.instances_of("console").is_empty() {
        if Instant::now() > deadline {
            bail!("{what}: the instance still exists 20 s after stop");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// Once the guest is ready and its console settled, the canvas `canvas` (a JS expression)
/// equals QEMU's screendump (images saved as `save_as.*.ppm` when not).
async fn shows_the_guest_screen(
    gw: &TestGateway,
    b: &Browser,
    id: &str,
    canvas: &str,
    save_as: &str,
) -> Result<()> {
    gw.wait_serial(id, "OLIVE-GUEST-READY", BOOT_TIMEOUT)
        .await?;
    // The shell prompt follows the ready line closely; let the console settle.
    tokio::time::sleep(Duration::from_secs(2)).await;
    b.wait_canvas_equals(
        canvas,
        || gw.screendump(id),
        Duration::from_secs(20),
        &scratch().join(save_as),
    )
    .await
}

/// `<olive-player>` on an allowed origin: start → running, the screen, typeText, stop.
async fn element(gw: &TestGateway, b: &Browser, site: &Site, engine: Engine) -> Result<()> {
    b.goto(&format!("{}/element.html", site.origin())).await?;
    wait_js(
        b,
        "the module loads and the element shows its Run button",
        "const p = document.getElementById('p'); \
         return window.__probe.module === 'loaded' && !!olivePartIn(p, 'button.run') \
           ? 'ready' : (window.__probe.module || null);",
        Duration::from_secs(30),
        |v| v == "ready" || v.as_str().is_some_and(|s| s.starts_with("refused")),
    )
    .await
    .and_then(|v| match v.as_str() {
        Some("ready") => Ok(()),
        _ => Err(anyhow!("module import: {v}")),
    })?;
    let probe = b.js("return window.__probe;", vec![]).await?;
    if probe["fetch"] != "ok 200" {
        bail!("an allowed origin's fetch of /api/collection: {probe}");
    }
    b.js("document.getElementById('p').start();", vec![])
        .await?;
    wait_js(
        b,
        "the element reaches running",
        "return document.getElementById('p').state;",
        RUN_TIMEOUT,
        |v| v == "running" || v == "error",
    )
    .await?;
    let events = b.js("return window.__events;", vec![]).await?;
    let seen = states(&events, "statechange");
    if seen.last().map(String::as_str) != Some("running") || !seen.iter().any(|s| s == "loading") {
        bail!("statechange events: {seen:?} (want loading … running)");
    }
    let id = b
        .js(
            &format!("return {ELEMENT_PLAYER}.dataset.instance;"),
            vec![],
        )
        .await?
        .as_str()
        .map(str::to_owned)
        .context("data-instance in the shadow root")?;
    shows_the_guest_screen(
        gw,
        b,
        &id,
        ELEMENT_CANVAS,
        &format!("embed-element-{engine}"),
    )
    .await
    .context("the element's canvas shows QEMU's screen")?;
    let skipped = b
        .js(
            "return document.getElementById('p').typeText('echo embed-$((6*7))-el > /dev/ttyS0\\n');",
            vec![],
        )
        .await?;
    if skipped != json!(0) {
        bail!("typeText skipped {skipped} characters");
    }
    gw.wait_serial(&id, "embed-42-el", Duration::from_secs(30))
        .await
        .context("typeText reaches the guest's shell")?;
    reset_gives_a_new_machine(gw, b, &id).await?;
    b.js("document.getElementById('p').stop();", vec![]).await?;
    wait_js(
        b,
        "an ended event after stop()",
        "return window.__events.filter((e) => e.type === 'ended').length;",
        Duration::from_secs(10),
        |v| v.as_u64() == Some(1),
    )
    .await?;
    wait_gone(gw, "element").await?;
    eprintln!(
        "ok {engine}: <olive-player> from {}: {seen:?}",
        site.origin()
    );
    Ok(())
}

/// `reset()` ends the session and runs a new machine: the element reaches running on another
/// instance, and the old one is gone from the registry.
async fn reset_gives_a_new_machine(gw: &TestGateway, b: &Browser, old: &str) -> Result<()> {
    b.js("document.getElementById('p').reset();", vec![])
        .await?;
    let probe = format!(
        "const i = {ELEMENT_PLAYER}; const s = document.getElementById('p').state; \
         return i && i.dataset.instance && i.dataset.instance !== '{old}' && s === 'running' \
           ? i.dataset.instance : (s === 'error' ? 'error' : null);"
    );
    let new = wait_js(
        b,
        "running on a new machine after reset()",
        &probe,
        RUN_TIMEOUT,
        |v| !v.is_null(),
    )
    .await?;
    let new = match new.as_str() {
        Some("error") | None => bail!("reset(): the element ended in error ({new})"),
        Some(id) => id.to_owned(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while gw.instances_of("console") != [new.clone()] {
        if Instant::now() > deadline {
            bail!(
                "after reset() the instances are {:?}, want only {new} (old {old})",
                gw.instances_of("console")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("reset(): {old} → {new}");
    Ok(())
}

/// `/embed/console` in an iframe on an allowed origin, driven by postMessage.
async fn iframe(gw: &TestGateway, b: &Browser, site: &Site, engine: Engine) -> Result<()> {
    b.goto(&format!("{}/frame.html", site.origin())).await?;
    let msgs = "return window.__msgs;";
    wait_js(
        b,
        "the frame says ready",
        msgs,
        Duration::from_secs(30),
        |v| {
            v.as_array()
                .is_some_and(|a| a.iter().any(|m| m["olive"] == "ready"))
        },
    )
    .await?;
    b.js("window.send({olive: 'start'});", vec![]).await?;
    wait_js(
        b,
        "statechange running from the frame",
        msgs,
        RUN_TIMEOUT,
        |v| {
            let s = states(v, "statechange");
            s.last().is_some_and(|s| s == "running" || s == "error")
        },
    )
    .await?;
    let seen = states(&b.js(msgs, vec![]).await?, "statechange");
    if seen.last().map(String::as_str) != Some("running") {
        bail!("statechange messages: {seen:?}");
    }
    b.client().enter_frame(0).await.context("enter the frame")?;
    let in_frame = async {
        let id = b
            .attr(PLAYER, "data-instance")
            .await?
            .context("data-instance in the frame")?;
        shows_the_guest_screen(
            gw,
            b,
            &id,
            &part_js(SCREEN),
            &format!("embed-frame-{engine}"),
        )
        .await
        .context("the frame's canvas shows QEMU's screen")?;
        Ok::<_, anyhow::Error>(id)
    }
    .await;
    b.client().enter_parent_frame().await?;
    let id = in_frame?;
    b.js(
        "window.send({olive: 'typeText', text: 'echo embed-$((6*7))-fr > /dev/ttyS0\\n'});",
        vec![],
    )
    .await?;
    gw.wait_serial(&id, "embed-42-fr", Duration::from_secs(30))
        .await
        .context("typeText by postMessage reaches the guest")?;
    b.js("window.send({olive: 'format-c'});", vec![]).await?;
    wait_js(
        b,
        "an error answer to a bad command",
        msgs,
        Duration::from_secs(10),
        |v| {
            v.as_array().is_some_and(|a| {
                a.iter().any(|m| {
                    m["olive"] == "error"
                        && m["message"]
                            .as_str()
                            .is_some_and(|t| t.contains("not an Olive command"))
                })
            })
        },
    )
    .await?;
    b.js("window.send({olive: 'stop'});", vec![]).await?;
    wait_js(b, "ended after stop", msgs, Duration::from_secs(10), |v| {
        v.as_array()
            .is_some_and(|a| a.iter().any(|m| m["olive"] == "ended"))
    })
    .await?;
    wait_gone(gw, "iframe").await?;
    eprintln!(
        "ok {engine}: /embed iframe from {}: {seen:?}",
        site.origin()
    );
    Ok(())
}

/// `Content-Security-Policy` of `GET path`, read with plain HTTP/1.0.
async fn csp_of(gw: &str, path: &str) -> Result<String> {
    let host = gw.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(host).await?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).await?;
    let text = String::from_utf8_lossy(&out);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    Ok(head
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-security-policy: ")
                .or_else(|| l.strip_prefix("Content-Security-Policy: "))
        })
        .unwrap_or("")
        .to_owned())
}

/// A page from an origin that is not listed gets nothing.
async fn refused(gw: &TestGateway, b: &Browser, site: &Site, allowed: &str) -> Result<()> {
    b.goto(&format!("{}/element.html", site.origin())).await?;
    let probe = wait_js(
        b,
        "the refused page's probes finish",
        "const p = window.__probe; return p.module && p.fetch && p.ws ? p : null;",
        Duration::from_secs(30),
        |v| v.is_object(),
    )
    .await?;
    if !probe["module"]
        .as_str()
        .is_some_and(|m| m.starts_with("refused"))
        || probe["fetch"] != "refused"
        || probe["ws"] != "refused"
    {
        bail!(
            "a page from {} that is not in embed_origins got: {probe}",
            site.origin()
        );
    }
    let csp = csp_of(gw.url(), "/embed/console").await?;
    if csp != format!("frame-ancestors 'self' {allowed}") {
        bail!("/embed/console: Content-Security-Policy {csp:?}");
    }
    b.goto(&format!("{}/frame.html", site.origin())).await?;
    wait_js(
        b,
        "the blocked frame loads (an error page)",
        "return window.__loaded;",
        Duration::from_secs(30),
        |v| v == true,
    )
    .await?;
    // What must not happen has no event: give the frame the time an allowed one needs
    // (well under a second here) many times over, then check it never spoke.
    tokio::time::sleep(Duration::from_secs(5)).await;
    b.js("window.send({olive: 'start'});", vec![]).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let msgs = b.js("return window.__msgs;", vec![]).await?;
    if msgs.as_array().is_some_and(|a| !a.is_empty()) {
        bail!("a frame on an origin outside embed_origins ran and posted {msgs}");
    }
    if !gw.instances_of("console").is_empty() {
        bail!("a refused origin started an instance");
    }
    eprintln!(
        "ok {}: {} refused (module, fetch, WebSocket, frame-ancestors)",
        b.engine(),
        site.origin()
    );
    Ok(())
}

async fn scenario(gw: &TestGateway, b: &Browser, allowed: &Site, other: &Site) -> Result<()> {
    let engine = b.engine();
    element(gw, b, allowed, engine).await?;
    iframe(gw, b, allowed, engine).await?;
    refused(gw, b, other, &allowed.origin()).await
}

async fn run_engine(engine: Engine) {
    let selected = Engine::selected().expect("OLIVE_BROWSERS");
    if !selected.contains(&engine) {
        eprintln!("SKIP {engine}: not in OLIVE_BROWSERS");
        return;
    }
    let _lock = qemu_lock();
    let t0 = Instant::now();
    let dist = require_dist().expect("web app");
    let allowed = Site::start("portal-allowed").await.expect("portal site");
    let other = Site::start("portal-other").await.expect("second site");
    let portal = format!("[portal]\nembed_origins = [\"{}\"]\n", allowed.origin());
    let gw = TestGateway::start_with(&scratch(), &dist, &[GwItem::console("console")], &portal)
        .await
        .expect("gateway");
    allowed.write_pages(gw.url()).expect("pages");
    other.write_pages(gw.url()).expect("pages");
    let browser = Browser::launch(&BrowserOptions {
        engine,
        scratch: scratch(),
        ..Default::default()
    })
    .await;
    let mut result = match &browser {
        Ok(b) => scenario(&gw, b, &allowed, &other).await,
        Err(e) => Err(anyhow!("{engine} session: {e:#}")),
    };
    if let Ok(b) = browser {
        if result.is_err() {
            let png = scratch().join(format!("embed-{engine}.png"));
            let _ = b.screenshot(&png).await;
            result = result.with_context(|| format!("screenshot {}", png.display()));
        }
        if let Err(e) = b.close().await {
            eprintln!("closing {engine}: {e:#}");
        }
    }
    gw.shutdown().await;
    eprintln!(
        "{engine}: embed suite took {:.1} s",
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firefox() {
    run_engine(Engine::Firefox).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webkit() {
    run_engine(Engine::WebKit).await;
}
