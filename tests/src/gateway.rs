//! olive-gateway in-process for browser tests: a scratch folder with a blank pristine disk and a
//! generated `gateway.toml` (TCG, the test guest by direct kernel boot, the web app's `dist/`
//! as `static_dir`, only its own `http://127.0.0.1:PORT` allowed as WebSocket origin), plus
//! access to each instance's files (QMP screendump, serial log, QEMU PID).
//!
//! [`TestGateway::shutdown`] destroys every instance (QEMU killed, directories removed) and
//! deletes the scratch folder; dropping it without shutdown still SIGKILLs the QEMUs named in
//! the instances' `qemu.pid` files and deletes the folder.

use crate::chromedriver::free_port;
use crate::guest::{ensure_guest, workspace_root};
use crate::ppm::Rgba;
use crate::qmp::Qmp;
use anyhow::{bail, Context, Result};
use olive_test_support::{process, Scratch};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One catalog item of the test collection.
#[derive(Clone, Debug)]
pub struct GwItem {
    /// The item's id in the generated `gateway.toml`.
    pub id: String,
    /// Its title on the collection page.
    pub title: String,
    /// `std` (VGA text console) or `qxl` (1024x768 framebuffer).
    pub display: &'static str,
    /// `olive.scene=` for the guest (shown at start); `None` = the console.
    pub scene: Option<String>,
    /// AC97 sound.
    pub sound: bool,
    /// usb-tablet (SPICE client mouse mode).
    pub tablet: bool,
    /// An Olive package directory to launch instead of the machine above (which is then
    /// only what the package was made from).
    pub package: Option<PathBuf>,
    /// `keymap =` for the item (`None`: left out, i.e. `us`).
    pub keymap: Option<&'static str>,
    /// `seats = N`: at most this many instances at once, more visitors queue.
    pub seats: Option<u32>,
    /// A period-software guest of `guests/` (built in this directory) instead of the test
    /// guest: its own hardware and metadata, `display`/`scene`/`sound`/`tablet` unused.
    pub period: Option<PathBuf>,
}

impl GwItem {
    /// The VGA text console with a shell on tty1 (`-vga std`), with sound and a tablet.
    pub fn console(id: &str) -> GwItem {
        GwItem {
            id: id.into(),
            title: "Test guest: text console".into(),
            display: "std",
            scene: None,
            sound: true,
            tablet: true,
            package: None,
            keymap: None,
            seats: None,
            period: None,
        }
    }

    /// The period-software guest built in `images` (`crate::guests`), under `id`.
    pub fn period(id: &str, images: &crate::guests::PeriodImages) -> GwItem {
        GwItem {
            title: images.guest.name().into(),
            period: Some(images.dir.clone()),
            ..GwItem::console(id)
        }
    }

    /// Whether this is a period guest, which boots for a minute or more under TCG.
    pub fn is_period(&self) -> bool {
        self.period.is_some()
    }

    /// The same item with `seats = n`.
    pub fn with_seats(mut self, n: u32) -> GwItem {
        self.seats = Some(n);
        self
    }

    /// The same item with a PS/2 mouse only (no USB tablet): the SPICE server then keeps
    /// the session in server (relative) mouse mode, as for an operating system older
    /// than USB.
    pub fn ps2(mut self, id: &str) -> GwItem {
        self.id = id.into();
        self.title.push_str(", PS/2 mouse");
        self.tablet = false;
        self
    }

    /// The same item, said to have a guest set up for the layout `keymap` (`de`, `fr`):
    /// the test guest's console stays US, but its key report shows the keys pressed.
    pub fn with_keymap(mut self, id: &str, keymap: &'static str) -> GwItem {
        self.id = id.into();
        self.title.push_str(&format!(", keymap {keymap}"));
        self.keymap = Some(keymap);
        self
    }

    /// The same item launched from the package at `dir`.
    pub fn packaged(mut self, id: &str, dir: &Path) -> GwItem {
        self.id = id.into();
        self.package = Some(dir.to_path_buf());
        self
    }

    /// The same item launched from a package served at `url` (`package` then holds a URL).
    pub fn remote(mut self, id: &str, url: &str) -> GwItem {
        self.id = id.into();
        self.package = Some(PathBuf::from(url));
        self
    }

    /// A qxl framebuffer item showing `scene`, with sound and a tablet.
    pub fn qxl(id: &str, scene: &str) -> GwItem {
        GwItem {
            id: id.into(),
            title: format!("Test guest: {scene}"),
            display: "qxl",
            scene: Some(scene.into()),
            sound: true,
            tablet: true,
            package: None,
            keymap: None,
            seats: None,
            period: None,
        }
    }
}

/// The web app's build output: `$OLIVE_WEB_DIST`, else `<workspace>/dist` (trunk's output
/// from the root `index.html`).
pub fn dist_dir() -> PathBuf {
    match std::env::var_os("OLIVE_WEB_DIST") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => workspace_root().join("dist"),
    }
}

/// The dist folder, or an error telling how to build it.
pub fn require_dist() -> Result<PathBuf> {
    let dist = dist_dir();
    let has_wasm = std::fs::read_dir(&dist)
        .map(|rd| {
            rd.flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "wasm"))
        })
        .unwrap_or(false);
    if !dist.join("index.html").is_file() || !has_wasm {
        bail!(
            "the web app is not built in {} (run `cargo xtask test`, or `trunk build --release` at the workspace root)",
            dist.display()
        );
    }
    Ok(dist)
}

/// A running in-process gateway.
pub struct TestGateway {
    server: Option<olive_gateway::Server>,
    /// The gateway's folder (configuration, data, instances); goes with the gateway.
    dir: Scratch,
    origin: String,
}

impl std::fmt::Debug for TestGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestGateway")
            .field("dir", &self.dir)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// The generated configuration (exposed for the bench and for failure reports).
pub fn config_text(port: u16, static_dir: &Path, items: &[GwItem]) -> Result<String> {
    config_text_limits(port, static_dir, items, "")
}

/// [`config_text`] with `limits` (lines such as `disconnect_grace_secs = 2`) added to its
/// `[limits]` table.
pub fn config_text_limits(
    port: u16,
    static_dir: &Path,
    items: &[GwItem],
    limits: &str,
) -> Result<String> {
    let g = ensure_guest()?;
    let mut out = format!(
        r#"listen = "127.0.0.1:{port}"
token_port = 0
token_host = "127.0.0.1"
secret_key = "olive-browser-test-secret-key"
data_dir = "data"
static_dir = "{dist}"
allowed_origins = ["http://127.0.0.1:{port}"]
trusted_package_hosts = ["127.0.0.1"]

[limits]
idle_timeout_secs = 300
max_instances = 2
{limits}

[qemu]
accelerator = "tcg"
"#,
        dist = static_dir.display()
    );
    for it in items {
        let keymap = it
            .keymap
            .map(|k| format!("keymap = \"{k}\"\n"))
            .unwrap_or_default();
        let seats = it
            .seats
            .map(|n| format!("seats = {n}\n"))
            .unwrap_or_default();
        if let Some(pkg) = &it.package {
            out.push_str(&format!(
                "\n[[item]]\nid = \"{id}\"\ntitle = \"{title}\"\n{keymap}{seats}package = \"{pkg}\"\n",
                id = it.id,
                title = it.title,
                pkg = pkg.display()
            ));
            continue;
        }
        if let Some(dir) = &it.period {
            let item = olive_test_support::period::catalog_item(&it.id, dir, None, "")?;
            // `[[item]]`'s own keys must come before its `[item.machine]` table.
            let (head, machine) = item.split_once("[item.machine]").context("period item")?;
            out.push_str(&format!("{head}{keymap}{seats}[item.machine]{machine}"));
            continue;
        }
        let mut append = crate::qemu::KERNEL_CMDLINE.to_string();
        if let Some(s) = &it.scene {
            append.push_str(&format!(" olive.scene={s}"));
        }
        out.push_str(&format!(
            r#"
[[item]]
id = "{id}"
title = "{title}"
creator = "Olive project"
year = 2026
description = "Olive test guest."
rights = "GPL-2.0"
{keymap}{seats}[item.machine]
disk = "blank.qcow2"
memory_mb = 256
vcpus = 1
display = "{display}"
{sound}tablet = {tablet}
kernel = "{kernel}"
initrd = "{initrd}"
append = "{append}"
"#,
            id = it.id,
            title = it.title,
            display = it.display,
            sound = if it.sound { "sound = \"AC97\"\n" } else { "" },
            tablet = it.tablet,
            kernel = g.kernel.display(),
            initrd = g.initrd.display(),
        ));
    }
    Ok(out)
}

impl TestGateway {
    /// Makes the scratch folder (under `scratch`), the blank disk and the configuration,
    /// and starts the gateway on a free 127.0.0.1 port.
    pub async fn start(scratch: &Path, static_dir: &Path, items: &[GwItem]) -> Result<Self> {
        Self::start_with(scratch, static_dir, items, "").await
    }

    /// Like [`TestGateway::start`], with `extra` TOML (such as a `[portal]` table) after
    /// the generated configuration.
    pub async fn start_with(
        scratch: &Path,
        static_dir: &Path,
        items: &[GwItem],
        extra: &str,
    ) -> Result<Self> {
        Self::start_limits(scratch, static_dir, items, "", extra).await
    }

    /// Like [`TestGateway::start_with`], with `limits` lines in the `[limits]` table (see
    /// [`config_text_limits`]).
    pub async fn start_limits(
        scratch: &Path,
        static_dir: &Path,
        items: &[GwItem],
        limits: &str,
        extra: &str,
    ) -> Result<Self> {
        let dir = Scratch::new_in(scratch, "gw-browser");
        blank_disk(dir.path())?;
        let path = dir.join("gateway.toml");
        let mut gw = TestGateway {
            server: None,
            dir,
            origin: String::new(),
        };
        let mut last_err = None;
        // The free port is found by binding and releasing it; retry on the rare clash.
        for _ in 0..3 {
            let port = free_port()?;
            let text = config_text_limits(port, static_dir, items, limits)? + "\n" + extra;
            std::fs::write(&path, text)?;
            let config = olive_gateway::Config::load(&path)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .context("generated gateway.toml")?;
            match olive_gateway::Server::start(config).await {
                Ok(server) => {
                    gw.origin = format!("http://{}", server.http_addr());
                    gw.server = Some(server);
                    return Ok(gw);
                }
                Err(e) => last_err = Some(e),
            }
        }
        bail!("gateway did not start: {:?}", last_err)
    }

    /// The gateway under test.
    pub fn server(&self) -> &olive_gateway::Server {
        self.server.as_ref().expect("running")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.origin
    }

    /// `<data_dir>/instances/<id>`.
    pub fn instance_dir(&self, id: &str) -> PathBuf {
        self.dir.join("data/instances").join(id)
    }

    /// The ids of the live instances of `item`.
    pub fn instances_of(&self, item: &str) -> Vec<String> {
        self.server()
            .registry()
            .list()
            .into_iter()
            .filter(|s| s.item == item)
            .map(|s| s.id)
            .collect()
    }

    /// The guest's first serial port (empty until written).
    pub fn serial_log(&self, id: &str) -> String {
        let bytes = std::fs::read(self.instance_dir(id).join("serial.log")).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Polls the serial log until a line contains `pattern`; returns that line.
    pub async fn wait_serial(&self, id: &str, pattern: &str, timeout: Duration) -> Result<String> {
        self.wait_serial_where(id, timeout, |l| l.contains(pattern))
            .await
            .with_context(|| format!("waiting for {pattern:?} on the serial log"))
    }

    /// Polls the serial log until a line satisfies `pred`.
    pub async fn wait_serial_where(
        &self,
        id: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.serial_log(id);
            if let Some(l) = log.lines().find(|l| pred(l)) {
                return Ok(l.trim_end().to_string());
            }
            if Instant::now() > deadline {
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                bail!(
                    "no matching serial line within {timeout:?}; last lines (newest first): {tail:#?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// QMP screendump of instance `id` (a short QMP session on its `qmp.sock`).
    pub fn screendump(&self, id: &str) -> Result<Rgba> {
        let dir = self.instance_dir(id);
        let mut qmp = Qmp::connect(dir.join("qmp.sock"), Duration::from_secs(5))?;
        qmp.set_timeout(Duration::from_secs(10))?;
        let ppm = self.dir.join(format!("screendump-{id}.ppm"));
        let img = qmp.screendump(&ppm);
        let _ = std::fs::remove_file(&ppm);
        img
    }

    /// QEMU's PID from the instance's `qemu.pid`.
    pub fn qemu_pid(&self, id: &str) -> Result<u32> {
        let p = self.instance_dir(id).join("qemu.pid");
        let s = std::fs::read_to_string(&p).with_context(|| format!("read {}", p.display()))?;
        s.trim()
            .parse()
            .with_context(|| format!("bad pid in {}", p.display()))
    }

    /// Destroys every instance and deletes the scratch folder.
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(20), server.shutdown()).await;
        }
        // Drop kills anything left and removes the folder.
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        // Without an orderly shutdown (e.g. a panic), make sure no QEMU outlives the test:
        // every process whose command line names the gateway's folder is one of its VMs.
        process::kill_naming(&self.dir.path().to_string_lossy(), Duration::from_secs(5));
        drop(self.server.take());
        // The folder goes with `self.dir`.
    }
}

/// `dir/blank.qcow2`, the pristine 64 MiB disk the test items overlay.
fn blank_disk(dir: &Path) -> Result<()> {
    let st = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(dir.join("blank.qcow2"))
        .arg("64M")
        .status()
        .context("qemu-img (package qemu-utils)")?;
    if !st.success() {
        bail!("qemu-img create failed: {st}");
    }
    Ok(())
}

/// Serves the files of `dir` over HTTP on 127.0.0.1 (HEAD, byte ranges, Last-Modified), as a
/// package host would; the server stops when the handle is dropped or aborted.
pub async fn serve_dir(dir: &Path) -> Result<(std::net::SocketAddr, AbortOnDrop)> {
    let app = axum::Router::new().fallback_service(tower_http::services::ServeDir::new(dir));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, AbortOnDrop(task)))
}

/// Aborts a background task when dropped.
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Makes an Olive package of `item` (the test guest) at its `OLIVE-GUEST-READY` marker, in
/// the new directory `out`, with the memory image compressed by `codec`. Takes no QEMU
/// lock: the caller holds it.
pub async fn package_item(
    scratch: &Path,
    item: &GwItem,
    out: &Path,
    codec: olive_gateway::model::Codec,
) -> Result<olive_gateway::packages::olive::manifest::Manifest> {
    use olive_gateway::packages::olive::create;
    let scratch = Scratch::new_in(scratch, "pkg-make");
    let dir = scratch.path();
    let result = async {
        blank_disk(dir)?;
        let path = dir.join("gateway.toml");
        std::fs::write(&path, config_text(0, dir, std::slice::from_ref(item))?)?;
        let config = olive_gateway::Config::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
        let it = config.catalog.get(&item.id).context("item")?;
        let launcher = olive_gateway::qemu::Launcher {
            qemu: config.qemu_binary.clone(),
            qemu_img: config.qemu_img.clone(),
            accel: olive_gateway::qemu::accel::Resolved::Tcg,
        };
        let opts = create::CreateOptions {
            codec,
            wait: create::WaitFor::Serial("OLIVE-GUEST-READY".into()),
            // A period guest boots X and its programs under TCG: a minute or two.
            timeout: Duration::from_secs(if item.is_period() { 420 } else { 120 }),
        };
        create::create(&launcher, &it, out, &dir.join("work"), opts)
            .await
            .map_err(|e| anyhow::anyhow!("package create: {e}"))
    }
    .await;
    drop(scratch);
    result
}
