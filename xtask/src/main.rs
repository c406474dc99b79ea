//! Project tasks: `cargo xtask test`, `cargo xtask demo`, `cargo xtask bench`, ...
//!
//! These are the only two commands a newcomer needs, so each installs what it is missing
//! (Debian packages when run as root, the wasm32 target, cargo tools) before doing its work,
//! and says exactly what it runs.

mod bench;
mod demo;
mod deny;
mod guests;
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
    // gateway/tests/nxpk.rs builds VMNetX packages as VMNetX did: Python's zipfile, xz, and
    // the real lzop tool as a cross-check of our lzop decoder.
    ("python3", "python3"),
    ("xz", "xz-utils"),
    ("lzop", "lzop"),
    // Headless browsers for the wasm unit tests of olive-web and the browser e2e tests,
    // which run on all three engines: Chromium, Firefox ESR (geckodriver comes from
    // crates.io, see GECKODRIVER_VERSION) and WebKitGTK (WebKitWebDriver drives
    // MiniBrowser, which needs an X server: Xvfb).
    ("chromium", "chromium"),
    ("chromedriver", "chromium-driver"),
    ("firefox-esr", "firefox-esr"),
    ("WebKitWebDriver", "webkit2gtk-driver"),
    ("Xvfb", "xvfb"),
];

/// geckodriver (Firefox's WebDriver server) is a Rust crate: `cargo install`ed.
const GECKODRIVER_VERSION: &str = "0.37.1";

/// trunk builds the web app (`index.html` + `Trunk.toml` at the root → `dist/`).
const TRUNK_VERSION: &str = "0.21.14";

/// Debian's chromedriver (override with `$CHROMEDRIVER`).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The core crates must stay sans-IO and build for the browser.
const WASM_CRATES: &[&str] = &["spice-proto", "spice-codecs", "spice-client"];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root).context("entering the workspace root")?;
    match args.first().map(String::as_str) {
        Some("test") => test(&root, &args[1..]),
        Some("demo") => demo::demo(&root),
        Some("web") => web(&root),
        Some("guest") => guests::guest(&root, args.get(1).map(String::as_str)),
        Some("fuzz") => fuzz(&root, &args[1..]),
        Some("bench") => bench::bench(&root, &args[1..]),
        Some("deny") => {
            install::cargo_bin_on_path();
            deny::check()
        }
        _ => {
            eprintln!("usage: cargo xtask <test|demo|guest|web|fuzz|bench|deny>");
            eprintln!("  test   format check, clippy, wasm32 build, web app (trunk) and its wasm tests in");
            eprintln!(
                "         headless Chromium, unit + integration + browser end-to-end tests on"
            );
            eprintln!("         Chromium, Firefox and WebKit (OLIVE_BROWSERS=chromium,firefox,webkit picks)");
            eprintln!("         (--quick: no web app, no guest; only --lib --bins)");
            eprintln!("  demo   build the web app, bring up Olive with a demo collection on http://127.0.0.1:8080");
            eprintln!(
                "  guest [test|doom|xdesk|all]  build (or reuse) guests, print their directories"
            );
            eprintln!("  deny   install cargo-deny, check licences, bans, sources (and advisories when reachable)");
            eprintln!(
                "  web    install trunk + wasm-bindgen-cli, build the web app, run its wasm tests"
            );
            eprintln!(
                "  fuzz [SECONDS]  run every cargo-fuzz target for SECONDS (default 30) each"
            );
            eprintln!("  bench [codecs|launch] [RUNS]  codec decode and replay throughput (Mpx/s), native");
            eprintln!(
                "         and wasm in headless Chromium, with the ratio; and per engine (Chromium,"
            );
            eprintln!(
                "         Firefox, WebKit) Run → first guest pixel (median of RUNS, default 3) and"
            );
            eprintln!("         the wasm + JS each downloads (as shipped and at gzip -9)");
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

/// Runs every check CI runs, in the order that fails fastest: format, clippy and the wasm32
/// build of the core take seconds; installing the web tools takes minutes only once; then the
/// web app, its wasm unit tests in headless Chromium, the test guest and the workspace tests
/// (QEMU and browser end-to-end). The last line totals every test binary, wasm ones included.
fn test(root: &Path, rest: &[String]) -> Result<()> {
    let quick = rest.iter().any(|a| a == "--quick");
    install::cargo_bin_on_path();
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
    step("cargo deny", deny::check)?;
    step("wasm32 build of the core crates", || {
        let mut cmd = cargo();
        cmd.args(["build", "--target", "wasm32-unknown-unknown"]);
        for krate in WASM_CRATES {
            cmd.args(["-p", krate]);
        }
        run(&mut cmd)
    })?;
    let mut totals = Totals::default();
    let result = test_rest(root, quick, &mut totals);
    println!(
        "tests: {} passed, {} failed (wasm in Chromium: {} passed, {} failed)",
        totals.passed + totals.wasm_passed,
        totals.failed + totals.wasm_failed,
        totals.wasm_passed,
        totals.wasm_failed
    );
    result
}

/// The web app alone: tools, `trunk build --release`, wasm tests in headless Chromium.
fn web(root: &Path) -> Result<()> {
    install::cargo_bin_on_path();
    install::apt_packages(APT_PACKAGES)?;
    step("web tools (trunk, wasm-bindgen-cli)", || web_tools(root))?;
    step("web app (trunk build --release)", || build_web(root))?;
    let mut totals = Totals::default();
    let result = step("wasm tests of olive-web in headless Chromium", || {
        wasm_tests(root, &mut totals)
    });
    println!(
        "tests: {} passed, {} failed",
        totals.wasm_passed, totals.wasm_failed
    );
    result
}

/// Test counts over every `cargo test` run of `cargo xtask test`.
#[derive(Default)]
struct Totals {
    passed: u64,
    failed: u64,
    wasm_passed: u64,
    wasm_failed: u64,
}

fn test_rest(root: &Path, quick: bool, totals: &mut Totals) -> Result<()> {
    if !quick {
        step("web tools (trunk, wasm-bindgen-cli)", || web_tools(root))?;
        step("web app (trunk build --release)", || build_web(root))?;
        step("wasm tests of olive-web in headless Chromium", || {
            wasm_tests(root, totals)
        })?;
        // All guests before the tests: a cold period-guest build inside the test run would
        // take both cores from whichever TCG guest is booting beside it.
        step("guests (test, doom, xdesk)", || {
            guests::guest(root, Some("all"))
        })?;
        step("browser drivers (geckodriver) and axe-core", || {
            browser_drivers(root)
        })?;
    }
    step("tests", || {
        let mut cmd = cargo();
        cmd.args(["test", "--workspace"]);
        if quick {
            cmd.args(["--lib", "--bins"]);
        }
        cmd.env("CHROMEDRIVER", chromedriver());
        let (p, f) = run_tests(&mut cmd);
        totals.passed += p;
        totals.failed += f;
        tests_result(&cmd, f)
    })
}

/// npm's axe-core, injected into pages by the browser tests' accessibility checks
/// (`tests/src/a11y.rs` reads `target/npm/node_modules/axe-core/axe.min.js`).
const AXE_CORE_NPM: &str = "axe-core@4";

/// geckodriver for the Firefox runs of the browser end-to-end tests (chromedriver and
/// WebKitWebDriver come with their Debian packages), and axe-core for their accessibility
/// checks.
fn browser_drivers(root: &Path) -> Result<()> {
    install::cargo_install("geckodriver", GECKODRIVER_VERSION, &["geckodriver"], false)?;
    let prefix = root.join("target/npm");
    if !prefix.join("node_modules/axe-core/axe.min.js").is_file() {
        install::apt_packages(&[("npm", "npm")])?;
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(AXE_CORE_NPM))?;
    }
    Ok(())
}

fn chromedriver() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.into())
}

/// trunk and wasm-bindgen-cli at the versions the web app needs (wasm-bindgen-cli must equal
/// the `wasm-bindgen` crate in Cargo.lock), installed with `cargo install` when missing.
fn web_tools(root: &Path) -> Result<()> {
    install::cargo_bin_on_path();
    install::rustup_target("wasm32-unknown-unknown")?;
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let wbg = install::lock_version(&lock, "wasm-bindgen")
        .context("no wasm-bindgen in Cargo.lock (is olive-web a workspace member?)")?;
    // `--locked` fails for some wasm-bindgen-cli versions here (a locked dependency missing
    // from the registry mirror), hence the fallback; trunk's lock works.
    install::cargo_install(
        "wasm-bindgen-cli",
        &wbg,
        &["wasm-bindgen", "wasm-bindgen-test-runner"],
        true,
    )?;
    install::cargo_install("trunk", TRUNK_VERSION, &["trunk"], false)?;
    wasm_opt_if_enabled(root)
}

/// npm's binaryen (Debian's wasm-opt 108 cannot parse current wasm-bindgen output).
const BINARYEN_NPM: &str = "binaryen@132";

/// When `index.html` lets trunk run wasm-opt (no `data-wasm-opt="0"`), puts npm
/// `binaryen@132` (installed into `target/npm`) first on PATH.
fn wasm_opt_if_enabled(root: &Path) -> Result<()> {
    let html = std::fs::read_to_string(root.join("index.html")).unwrap_or_default();
    if html.contains("data-wasm-opt=\"0\"") {
        eprintln!("wasm-opt is off in index.html (data-wasm-opt=\"0\"); not installing binaryen");
        return Ok(());
    }
    let prefix = root.join("target/npm");
    let bin = prefix.join("node_modules/.bin");
    if !bin.join("wasm-opt").exists() {
        install::apt_packages(&[("npm", "npm")])?;
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(BINARYEN_NPM))?;
    }
    install::prepend_path(&bin);
    Ok(())
}

/// `trunk build --release` at the root: `index.html` + `Trunk.toml` → `dist/`. Prints the
/// shipped wasm and JS sizes.
fn build_web(root: &Path) -> Result<()> {
    run(Command::new("trunk")
        .args(["build", "--release"])
        .current_dir(root)
        .env("TRUNK_SKIP_VERSION_CHECK", "true"))?;
    let dist = root.join("dist");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dist)
        .with_context(|| format!("reading {}", dist.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm" || x == "js"))
        .collect();
    files.sort();
    for f in files {
        let len = std::fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
        eprintln!("    {} {len} bytes", f.display());
    }
    Ok(())
}

/// `cargo test -p olive-web --target wasm32-unknown-unknown` through wasm-bindgen-test-runner
/// and chromedriver, with a private TMPDIR (the runner leaves a Chromium profile there)
/// that is deleted afterwards.
fn wasm_tests(root: &Path, totals: &mut Totals) -> Result<()> {
    let tmp = root.join(format!("target/wasm-test-tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).context("creating the wasm test TMPDIR")?;
    let mut cmd = cargo();
    cmd.args([
        "test",
        "-p",
        "olive-web",
        "--target",
        "wasm32-unknown-unknown",
    ])
    .env("CHROMEDRIVER", chromedriver())
    .env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
        "wasm-bindgen-test-runner",
    )
    .env("WASM_BINDGEN_TEST_TIMEOUT", "60")
    .env("TMPDIR", &tmp);
    let webdriver_json = root.join("web/webdriver.json");
    if webdriver_json.is_file() {
        cmd.env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", &webdriver_json);
    }
    let (p, f) = run_tests(&mut cmd);
    totals.wasm_passed += p;
    totals.wasm_failed += f;
    let _ = std::fs::remove_dir_all(&tmp);
    tests_result(&cmd, f)
}

/// Runs a `cargo test` command, echoing its output, and returns the passed and failed counts
/// summed over every test binary. A command that cannot start, or exits non-zero without a
/// failing test (a build error, a crashed runner), counts as one failure.
fn run_tests(cmd: &mut Command) -> (u64, u64) {
    use std::io::{BufRead, BufReader};
    eprintln!("$ {}", describe(cmd));
    let mut child = match cmd.stdout(std::process::Stdio::piped()).spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("could not start {}: {e}", describe(cmd));
            return (0, 1);
        }
    };
    let (mut passed, mut failed) = (0u64, 0u64);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(std::io::Result::ok) {
            println!("{line}");
            if let Some((p, f)) = parse_result_line(&line) {
                passed += p;
                failed += f;
            }
        }
    }
    let ok = child.wait().map(|s| s.success()).unwrap_or(false);
    if !ok && failed == 0 {
        eprintln!("{} did not succeed", describe(cmd));
        failed = 1;
    }
    (passed, failed)
}

fn tests_result(cmd: &Command, failed: u64) -> Result<()> {
    if failed > 0 {
        bail!("{} had {failed} failure(s)", describe(cmd));
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

/// Crates with cargo-fuzz targets (each has a standalone `fuzz/` package).
const FUZZ_CRATES: &[&str] = &[
    "crates/spice-proto",
    "crates/spice-codecs",
    "crates/spice-client",
    "crates/netx-proto",
    "gateway",
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
