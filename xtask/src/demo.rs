//! `cargo xtask demo`: olive-gateway on http://127.0.0.1:8080 with a demo collection that
//! shows what Olive is for: real preserved software first (Doom, a 1990s X desktop, built
//! from Debian packages by `guests/build.sh`), each an instant-on package resumed from a
//! memory image, then the test guest's scenes under "Test patterns".
//!
//! Packages are made once and remade only when their guest changes (the guest's cache
//! directory name carries the hash of its inputs; the test guest has its stamp).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::{build_guest, build_web, cargo, guests, install, run, step, web_tools};

/// The group the period software is listed under, and the test scenes'.
const SOFTWARE: &str = "Preserved software";
const TEST_PATTERNS: &str = "Test patterns";

/// Every period guest `guests/` builds; each becomes one item of the same id.
const PERIOD: &[&str] = guests::PERIOD_GUESTS;

/// The period guests saved as instant-on packages. Doom is not among them yet: QMP
/// `migrate` of the running game (Sound Blaster playing) did not finish in 600 s here, so
/// it boots (about a minute under TCG).
const PACKAGED: &[&str] = &["xdesk"];

/// Builds what the demo needs and runs the gateway in the foreground.
pub(crate) fn demo(root: &Path) -> Result<()> {
    install::cargo_bin_on_path();
    let guest = build_guest(root)?;
    let mut period = Vec::new();
    for name in PERIOD {
        let t0 = Instant::now();
        let dir = guests::period_guest(root, name)?;
        eprintln!(
            "    guest {name}: {:.1} s, {} MB",
            t0.elapsed().as_secs_f64(),
            guests::dir_size(&dir) / 1_000_000
        );
        period.push((*name, dir));
    }
    let dir = root.join("target/olive-demo");
    std::fs::create_dir_all(dir.join("data")).context("creating the demo folder")?;
    let disk = dir.join("blank.qcow2");
    if !disk.exists() {
        run(Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2"])
            .arg(&disk)
            .arg("64M"))?;
    }
    let config = dir.join("gateway.toml");
    let dist = root.join("dist");
    let mut demo = Demo {
        guest: &guest,
        disk: &disk,
        dist: &dist,
        period: &period,
        packages: Vec::new(),
    };
    std::fs::write(&config, demo.config()?).context("writing the demo configuration")?;
    step("build olive-gateway", || {
        run(cargo().args(["build", "--release", "-p", "olive-gateway"]))
    })?;
    let gradient = dir.join("packages/gradient");
    let stamp = std::fs::read_to_string(guest.join("stamp")).unwrap_or_default();
    step("instant-on package of the gradient item", || {
        package(
            root,
            &config,
            "gradient",
            "OK scene gradient",
            &stamp,
            &gradient,
        )
    })?;
    demo.packages.push(("instant".into(), gradient));
    for (name, guest_dir) in period.iter().filter(|(n, _)| PACKAGED.contains(n)) {
        let out = dir.join("packages").join(name);
        let stamp = guest_dir.display().to_string();
        // A title that cannot be saved still runs: it boots instead of resuming.
        match step(&format!("instant-on package of {name}"), || {
            package(root, &config, name, "OLIVE-GUEST-READY", &stamp, &out)
        }) {
            Ok(()) => demo.packages.push((name.to_string(), out)),
            Err(e) => eprintln!("    {name} stays a booting item: {e:#}"),
        }
    }
    std::fs::write(&config, demo.config()?).context("writing the demo configuration")?;
    step("web tools (trunk, wasm-bindgen-cli)", || web_tools(root))?;
    step("web app (trunk build --release)", || build_web(root))?;
    eprintln!("Olive demo: http://127.0.0.1:8080  (collection: http://127.0.0.1:8080/api/collection; Ctrl-C stops)");
    run(Command::new(root.join("target/release/olive-gateway"))
        .arg("serve")
        .arg("--config")
        .arg(&config))
}

/// Saves `item` once its serial line `wait` appears, so the demo opens it at that moment
/// instead of booting; remade when `stamp` (what the guest was built from) changes.
fn package(
    root: &Path,
    config: &Path,
    item: &str,
    wait: &str,
    stamp: &str,
    out: &Path,
) -> Result<()> {
    let made_from = out.join("guest-stamp");
    if out.join("olive-package.json").exists()
        && std::fs::read_to_string(&made_from).ok().as_deref() == Some(stamp)
    {
        eprintln!("    (up to date)");
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(out);
    let t0 = Instant::now();
    run(Command::new(root.join("target/release/olive-gateway"))
        .args(["package", "create", "--config"])
        .arg(config)
        .args(["--item", item, "--out"])
        .arg(out)
        .args(["--wait-serial", wait, "--timeout", "600"]))?;
    eprintln!(
        "    {item}: packaged in {:.1} s, {} MB",
        t0.elapsed().as_secs_f64(),
        guests::dir_size(out) / 1_000_000
    );
    std::fs::write(&made_from, stamp).context("writing the package's guest stamp")
}

/// What the demo's configuration is made of.
struct Demo<'a> {
    /// The test guest's build directory.
    guest: &'a Path,
    /// The blank disk the test scenes share.
    disk: &'a Path,
    /// The web app.
    dist: &'a Path,
    /// The period guests by name, with their build directories.
    period: &'a [(&'static str, PathBuf)],
    /// Packages made so far: (item id, directory).
    packages: Vec<(String, PathBuf)>,
}

impl Demo<'_> {
    /// The configuration: the period software (from its package once made, else booting
    /// its guest, which is also what `package create` saves), then the test patterns.
    fn config(&self) -> Result<String> {
        let mut out = format!(
            r#"# Generated by `cargo xtask demo`; edit gateway/examples/gateway.toml for a real deployment.
listen = "127.0.0.1:8080"
token_port = 18923
secret_key = "olive-demo-secret-key-not-for-production"
data_dir = "data"
static_dir = "{dist}"
allowed_origins = ["http://127.0.0.1:8080", "http://localhost:8080"]

[limits]
idle_timeout_secs = 300
max_instances = 2

[qemu]
accelerator = "tcg"
"#,
            dist = self.dist.display()
        );
        for (name, dir) in self.period {
            let entry = olive_test_support::period::catalog_item(name, dir, Some(SOFTWARE), "")?;
            match self.package(name) {
                // The package carries the hardware; the metadata stays the guest's.
                Some(pkg) => {
                    let (head, _machine) = entry
                        .split_once("[item.machine]")
                        .context("period catalog item")?;
                    out.push_str(&format!("{head}package = \"{}\"\n", pkg.display()));
                }
                None => out.push_str(&entry),
            }
        }
        out.push_str(&self.test_patterns());
        Ok(out)
    }

    fn package(&self, id: &str) -> Option<&Path> {
        self.packages
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, p)| p.as_path())
    }

    /// One item per test guest scene, all on the pristine blank disk (each instance gets
    /// its own overlay), and the gradient scene resumed from its package once made.
    fn test_patterns(&self) -> String {
        const BASE: &str = "console=tty0 quiet vt.global_cursor_default=0 consoleblank=0";
        let items: &[(&str, &str, &str, &str, &str)] = &[
            (
                "console",
                "Text console",
                "std",
                "",
                "A Linux shell on a VGA text console, 80x25, as a PC of the 1990s showed it.",
            ),
            (
                "flat",
                "Flat colours",
                "qxl",
                "flat",
                "Eight solid colour blocks on a 1024x768 framebuffer.",
            ),
            (
                "text",
                "Framebuffer text",
                "qxl",
                "text",
                "Lines of bitmap-font text drawn on a 1024x768 framebuffer.",
            ),
            (
                "gradient",
                "Photo-like gradient",
                "qxl",
                "gradient",
                "A smooth gradient with noise, the kind of image lossless codecs find hard.",
            ),
            (
                "moving",
                "Moving block",
                "qxl",
                "moving",
                "A block crossing the screen at 20 frames per second.",
            ),
        ];
        let mut out = String::new();
        for (id, title, display, scene, description) in items {
            let append = if scene.is_empty() {
                BASE.to_string()
            } else {
                format!("{BASE} olive.scene={scene}")
            };
            out.push_str(&format!(
                r#"
[[item]]
id = "{id}"
group = "{TEST_PATTERNS}"
title = "Olive test guest: {title}"
creator = "Olive project"
year = 2026
description = "{description}"
rights = "Linux kernel and BusyBox: GPL-2.0. Test program: Olive project."

[item.machine]
disk = "{disk}"
memory_mb = 256
vcpus = 1
display = "{display}"
sound = "AC97"
kernel = "{kernel}"
initrd = "{initrd}"
append = "{append}"
"#,
                disk = self.disk.display(),
                kernel = self.guest.join("vmlinuz").display(),
                initrd = self.guest.join("initrd.img").display(),
            ));
        }
        if let Some(p) = self.package("instant") {
            out.push_str(&format!(
                r#"
[[item]]
id = "instant"
group = "{TEST_PATTERNS}"
title = "Olive test guest: instant-on"
creator = "Olive project"
year = 2026
description = "The gradient scene resumed from a memory image saved the moment it was shown: no boot, a progress bar while it loads."
rights = "Linux kernel and BusyBox: GPL-2.0. Test program: Olive project."
package = "{}"
"#,
                p.display()
            ));
        }
        out
    }
}
