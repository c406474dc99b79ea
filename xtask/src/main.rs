//! Project tasks: `cargo xtask test` and `cargo xtask demo`.
//!
//! These are the only two commands a newcomer needs, so each installs what it is missing
//! (Debian packages when run as root, the wasm32 target, cargo tools) before doing its work,
//! and says exactly what it runs.

mod install;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// Packages the integration tests and the test-guest build need on Debian.
const APT_PACKAGES: &[(&str, &str)] = &[
    ("qemu-system-x86_64", "qemu-system-x86"),
    ("qemu-img", "qemu-utils"),
    ("cpio", "cpio"),
    ("depmod", "kmod"),
    ("gcc", "gcc"),
];

/// The core crates must stay sans-IO and build for the browser.
const WASM_CRATES: &[&str] = &["spice-proto", "spice-codecs", "spice-client"];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root).context("entering the workspace root")?;
    match args.first().map(String::as_str) {
        Some("test") => test(&root, &args[1..]),
        Some("demo") => demo(&root),
        Some("guest") => build_guest(&root).map(|_| ()),
        Some("fuzz") => fuzz(&root, &args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <test|demo|guest>");
            eprintln!("  test   format check, clippy, unit tests, wasm32 build, integration tests");
            eprintln!("  demo   bring up Olive with a demo collection on http://127.0.0.1:8080");
            eprintln!("  guest  build (or reuse) the test guest kernel and initramfs");
            eprintln!(
                "  fuzz [SECONDS]  run every cargo-fuzz target for SECONDS (default 30) each"
            );
            std::process::exit(2);
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Runs every check CI runs, in the order that fails fastest.
fn test(root: &Path, rest: &[String]) -> Result<()> {
    let quick = rest.iter().any(|a| a == "--quick");
    install::apt_packages(APT_PACKAGES)?;
    install::rustup_target("wasm32-unknown-unknown")?;
    install::rustup_component("rustfmt")?;
    install::rustup_component("clippy")?;

    step("format", || run(cargo().args(["fmt", "--all", "--check"])))?;
    step("clippy", || {
        run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    step("wasm32 build of the core crates", || {
        let mut cmd = cargo();
        cmd.args(["build", "--target", "wasm32-unknown-unknown"]);
        for krate in WASM_CRATES {
            cmd.args(["-p", krate]);
        }
        run(&mut cmd)
    })?;
    if !quick {
        step("test guest", || build_guest(root).map(|_| ()))?;
    }
    step("tests", || {
        let mut cmd = cargo();
        cmd.args(["test", "--workspace"]);
        if quick {
            cmd.args(["--lib", "--bins"]);
        }
        run_tests(&mut cmd)
    })?;
    Ok(())
}

/// Runs a `cargo test` command, echoing its output, and ends with one line totalling
/// every test binary's result, so a reader (or CI) sees the whole count at a glance.
fn run_tests(cmd: &mut Command) -> Result<()> {
    use std::io::{BufRead, BufReader};
    eprintln!("$ {}", describe(cmd));
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start {}", describe(cmd)))?;
    let (mut passed, mut failed) = (0u64, 0u64);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line.context("reading test output")?;
            println!("{line}");
            if let Some((p, f)) = parse_result_line(&line) {
                passed += p;
                failed += f;
            }
        }
    }
    let status = child.wait().context("waiting for cargo test")?;
    println!("tests: {passed} passed, {failed} failed");
    if !status.success() {
        bail!("{} exited with {status}", describe(cmd));
    }
    Ok(())
}

/// Parses libtest's `test result: ok. 3 passed; 0 failed; ...` line.
fn parse_result_line(line: &str) -> Option<(u64, u64)> {
    let rest = line.strip_prefix("test result: ")?;
    let count = |word: &str| -> Option<u64> {
        rest.split(';').find_map(|part| {
            part.trim()
                .strip_suffix(word)?
                .trim()
                .rsplit(' ')
                .next()?
                .parse()
                .ok()
        })
    };
    Some((count("passed")?, count("failed")?))
}

/// Brings up olive-gateway on http://127.0.0.1:8080 with a demo collection made of the
/// test guest: its VGA text console and each of its framebuffer scenes, as separate items.
fn demo(root: &Path) -> Result<()> {
    let guest = build_guest(root)?;
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
    std::fs::write(&config, demo_config(&guest, &disk, &root.join("dist")))
        .context("writing the demo configuration")?;
    step("build olive-gateway", || {
        run(cargo().args(["build", "--release", "-p", "olive-gateway"]))
    })?;
    if !root.join("dist/index.html").exists() {
        eprintln!("note: the web app (dist/) is not built yet; the gateway serves its API and a placeholder page");
    }
    eprintln!("Olive demo: http://127.0.0.1:8080  (collection: http://127.0.0.1:8080/api/collection; Ctrl-C stops)");
    run(Command::new(root.join("target/release/olive-gateway"))
        .arg("serve")
        .arg("--config")
        .arg(&config))
}

/// One catalog item per guest scene; all share the pristine blank disk (each instance
/// gets its own overlay).
fn demo_config(guest: &Path, disk: &Path, dist: &Path) -> String {
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
        dist = dist.display()
    );
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
            disk = disk.display(),
            kernel = guest.join("vmlinuz").display(),
            initrd = guest.join("initrd.img").display(),
        ));
    }
    out
}

/// Crates with cargo-fuzz targets (each has a standalone `fuzz/` package).
const FUZZ_CRATES: &[&str] = &[
    "crates/spice-proto",
    "crates/spice-codecs",
    "crates/spice-client",
    "crates/netx-proto",
];

/// Runs every fuzz target for a while. cargo-fuzz needs nightly features; this toolchain
/// is stable, so RUSTC_BOOTSTRAP unlocks them for these builds only.
fn fuzz(root: &Path, rest: &[String]) -> Result<()> {
    let seconds: u64 = match rest.first() {
        Some(s) => s.parse().context("fuzz takes a number of seconds")?,
        None => 30,
    };
    if !install::on_path("cargo-fuzz") {
        run(cargo().args(["install", "cargo-fuzz", "--locked"]))?;
    }
    for krate in FUZZ_CRATES {
        let dir = root.join(krate).join("fuzz");
        if !dir.exists() {
            continue;
        }
        let list =
            std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["fuzz", "list"])
                .current_dir(root.join(krate))
                .output()
                .context("cargo fuzz list")?;
        for target in String::from_utf8_lossy(&list.stdout).lines() {
            step(&format!("fuzz {krate} {target} for {seconds} s"), || {
                run(cargo()
                    .args(["fuzz", "run", target, "--"])
                    .arg(format!("-max_total_time={seconds}"))
                    .current_dir(root.join(krate))
                    .env("RUSTC_BOOTSTRAP", "1"))
            })?;
        }
    }
    Ok(())
}

fn build_guest(root: &Path) -> Result<PathBuf> {
    install::apt_packages(APT_PACKAGES)?;
    let out = root.join("target/olive-guest");
    run(Command::new("bash")
        .arg(root.join("tests/guest/build.sh"))
        .arg(&out))?;
    Ok(out)
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn step(name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    eprintln!("==> {name}");
    let started = Instant::now();
    let result = f().with_context(|| format!("step '{name}' failed"));
    eprintln!(
        "==> {name}: {} in {:.1} s",
        if result.is_ok() { "ok" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    result
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", describe(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("could not start {}", describe(cmd)))?;
    if !status.success() {
        bail!("{} exited with {status}", describe(cmd));
    }
    Ok(())
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn result_lines_are_totalled() {
        assert_eq!(
            super::parse_result_line(
                "test result: ok. 30 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out"
            ),
            Some((30, 2))
        );
        assert_eq!(super::parse_result_line("running 3 tests"), None);
    }
}
