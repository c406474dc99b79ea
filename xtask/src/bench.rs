//! `cargo xtask bench`: two tables.
//!
//! - Codecs: every image codec's decode throughput, and the whole replay's, natively
//!   (`crates/spice-client/benches/codec_table.rs`) and as wasm in headless Chromium
//!   (`crates/spice-client/tests/wasm_codec_bench.rs`): the same measuring loop on the same
//!   recordings, both built with the release profile, with the ratio native/wasm.
//!   (`cargo bench -p spice-client --bench replay` is the criterion view.)
//! - Launch: per browser engine (Chromium, Firefox, WebKit), the median Run → first guest
//!   pixel over RUNS cold launches of the test guest's `flat` item
//!   (`tests/examples/launch-bench.rs`), and the wasm + JS that engine fetched of the app,
//!   as shipped and at gzip -9. An engine that cannot run gets its reason in the table.
//!
//! `cargo xtask bench [codecs|launch] [RUNS]` runs one of them (RUNS: launches per engine,
//! default 3).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{
    browser_drivers, build_guest, build_web, cargo, chromedriver, describe, install, step,
    web_tools, APT_PACKAGES,
};

/// Best-sample throughput in millions of pixels per second, keyed by `group/codec` (e.g. `codec/glz`).
type Figures = BTreeMap<String, f64>;

/// The engines of the launch table, as `--engine` names them.
const ENGINES: &[&str] = &["chromium", "firefox", "webkit"];

/// Launches per engine when RUNS is not given: three cold boots under TCG take about a
/// minute per engine.
const DEFAULT_RUNS: usize = 3;

pub(crate) fn bench(root: &Path, args: &[String]) -> Result<()> {
    let (mut codecs, mut launch, mut runs) = (true, true, DEFAULT_RUNS);
    for a in args {
        match a.as_str() {
            "codecs" => launch = false,
            "launch" => codecs = false,
            n => {
                runs =
                    n.parse().ok().filter(|&n| n > 0).with_context(|| {
                        format!("cargo xtask bench [codecs|launch] [RUNS]: {n:?}?")
                    })?;
            }
        }
    }
    install::cargo_bin_on_path();
    install::apt_packages(APT_PACKAGES)?;
    let mut out = String::new();
    if codecs {
        let mut native = Figures::new();
        step("native benchmark (release)", || {
            native = native_figures()?;
            Ok(())
        })?;
        step("web tools (wasm-bindgen-cli)", || web_tools(root))?;
        let mut wasm = Figures::new();
        step("wasm benchmark in headless Chromium (release)", || {
            wasm = wasm_figures(root)?;
            Ok(())
        })?;
        out.push_str(&table(&native, &wasm));
    }
    if launch {
        step("web tools (trunk, wasm-bindgen-cli)", || web_tools(root))?;
        step("web app (trunk build --release)", || build_web(root))?;
        step("test guest", || build_guest(root).map(|_| ()))?;
        step("browser drivers (geckodriver)", || browser_drivers(root))?;
        let mut rows = Vec::new();
        step(&format!("launch benchmark, {runs} runs per engine"), || {
            rows = launch_rows(runs)?;
            Ok(())
        })?;
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&launch_table(&rows, runs));
    }
    print!("{out}");
    Ok(())
}

/// One engine's launch figures, or why it could not run.
#[derive(Debug, PartialEq)]
enum Launch {
    Ran {
        first_pixel_ms: f64,
        raw_bytes: u64,
        gzip_bytes: u64,
        wire_bytes: u64,
    },
    Failed(String),
}

/// Builds the launch bench once, then runs it for each engine in turn (they share the
/// QEMU lock, so one guest boots at a time).
fn launch_rows(runs: usize) -> Result<Vec<(&'static str, Launch)>> {
    let mut build = cargo();
    build.args(["build", "-p", "olive-tests", "--example", "launch-bench"]);
    crate::run(&mut build)?;
    let mut rows = Vec::new();
    for engine in ENGINES {
        let mut cmd = cargo();
        cmd.args([
            "run",
            "-q",
            "-p",
            "olive-tests",
            "--example",
            "launch-bench",
            "--",
        ])
        .args(["--engine", engine, "flat", &runs.to_string()])
        .env("CHROMEDRIVER", chromedriver())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        eprintln!("$ {}", describe(&cmd));
        let row = match cmd.output() {
            Ok(o) => {
                let stdout = String::from_utf8_lossy(&o.stdout);
                let stderr = String::from_utf8_lossy(&o.stderr);
                print!("{stdout}");
                eprint!("{stderr}");
                match stdout.lines().find_map(parse_launch_line) {
                    Some(l) if o.status.success() => l,
                    _ => Launch::Failed(failure_reason(&stderr, o.status)),
                }
            }
            Err(e) => Launch::Failed(format!("could not start {}: {e}", describe(&cmd))),
        };
        rows.push((*engine, row));
    }
    Ok(rows)
}

/// `LAUNCH engine=E ... first_pixel_ms=N ... wire_bytes=N raw_bytes=N gzip_bytes=N`.
fn parse_launch_line(line: &str) -> Option<Launch> {
    let rest = line.strip_prefix("LAUNCH ")?;
    let field = |name: &str| -> Option<&str> {
        rest.split_whitespace()
            .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
    };
    Some(Launch::Ran {
        first_pixel_ms: field("first_pixel_ms")?.parse().ok()?,
        raw_bytes: field("raw_bytes")?.parse().ok()?,
        gzip_bytes: field("gzip_bytes")?.parse().ok()?,
        wire_bytes: field("wire_bytes")?.parse().ok()?,
    })
}

/// The error the bench ended with (anyhow's `Error: …` and its causes), on one line.
fn failure_reason(stderr: &str, status: std::process::ExitStatus) -> String {
    let text: Vec<&str> = match stderr.lines().position(|l| l.starts_with("Error: ")) {
        Some(i) => stderr
            .lines()
            .skip(i)
            .take_while(|l| !l.starts_with("Stack backtrace:"))
            .collect(),
        None => stderr
            .lines()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect(),
    };
    let mut reason = text
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && *l != "Caused by:")
        .map(|l| l.strip_prefix("Error: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("; ");
    if reason.is_empty() {
        reason = format!("exited with {status}");
    }
    if reason.len() > 400 {
        let mut cut = 400;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
        reason.push('…');
    }
    reason
}

fn launch_table(rows: &[(&str, Launch)], runs: usize) -> String {
    let mut out = format!(
        "| engine | Run → first guest pixel (median of {runs}) | wasm + JS fetched | at gzip -9 | on the wire |\n"
    );
    out.push_str("|---|---:|---:|---:|---:|\n");
    for (engine, row) in rows {
        match row {
            Launch::Ran {
                first_pixel_ms,
                raw_bytes,
                gzip_bytes,
                wire_bytes,
            } => out.push_str(&format!(
                "| {engine} | {first_pixel_ms:.0} ms | {} | {} | {} |\n",
                bytes(*raw_bytes),
                bytes(*gzip_bytes),
                bytes(*wire_bytes)
            )),
            Launch::Failed(why) => {
                out.push_str(&format!(
                    "| {engine} | cannot run: {} | - | - | - |\n",
                    why.replace('|', "/")
                ));
            }
        }
    }
    out
}

/// Bytes as KiB with one decimal, exact bytes alongside.
fn bytes(n: u64) -> String {
    format!("{:.1} KiB ({n} B)", n as f64 / 1024.0)
}

/// Runs `recordings::run_all` natively (the `codec_table` bench of spice-client, release
/// profile) and reads its BENCH lines.
fn native_figures() -> Result<Figures> {
    let mut cmd = cargo();
    cmd.args(["bench", "-p", "spice-client", "--bench", "codec_table"])
        .stdout(Stdio::piped());
    bench_lines(&run_capturing(&mut cmd)?, "native")
}

fn bench_lines(stdout: &str, what: &str) -> Result<Figures> {
    let figures: Figures = stdout.lines().filter_map(parse_bench_line).collect();
    if figures.is_empty() {
        bail!("the {what} benchmark printed no BENCH line");
    }
    Ok(figures)
}

/// Runs the wasm benchmark through wasm-bindgen-test-runner and chromedriver, with a
/// private TMPDIR (the runner leaves a Chromium profile there), and reads its BENCH lines.
fn wasm_figures(root: &Path) -> Result<Figures> {
    let tmp = root.join(format!("target/wasm-bench-tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).context("creating the wasm bench TMPDIR")?;
    let mut cmd = cargo();
    cmd.args([
        "test",
        "--release",
        "-p",
        "spice-client",
        "--target",
        "wasm32-unknown-unknown",
        "--test",
        "wasm_codec_bench",
        "--",
        "--nocapture",
    ])
    .env("CHROMEDRIVER", chromedriver())
    .env(
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
        "wasm-bindgen-test-runner",
    )
    .env("WASM_BINDGEN_TEST_TIMEOUT", "600")
    .env("TMPDIR", &tmp)
    .stdout(Stdio::piped());
    let webdriver_json = root.join("web/webdriver.json");
    if webdriver_json.is_file() {
        cmd.env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", &webdriver_json);
    }
    let result = run_capturing(&mut cmd);
    let _ = std::fs::remove_dir_all(&tmp);
    bench_lines(&result?, "wasm")
}

fn run_capturing(cmd: &mut Command) -> Result<String> {
    eprintln!("$ {}", describe(cmd));
    let out = cmd
        .output()
        .with_context(|| format!("could not start {}", describe(cmd)))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{stdout}");
    if !out.status.success() {
        bail!("{} exited with {}", describe(cmd), out.status);
    }
    Ok(stdout)
}

/// `BENCH codec/glz pixels=123 ms=4.5 ...` (anywhere in the line) → (`codec/glz`, Mpx/s).
fn parse_bench_line(line: &str) -> Option<(String, f64)> {
    let rest = &line[line.find("BENCH ")? + "BENCH ".len()..];
    let mut words = rest.split_whitespace();
    let key = words.next()?.to_string();
    let mut pixels = None;
    let mut ms = None;
    for w in words {
        if let Some(v) = w.strip_prefix("pixels=") {
            pixels = v.parse::<f64>().ok();
        } else if let Some(v) = w.strip_prefix("ms=") {
            ms = v.parse::<f64>().ok();
        }
    }
    let (pixels, ms) = (pixels?, ms?);
    (ms > 0.0).then(|| (key, pixels / ms / 1e3))
}

fn table(native: &Figures, wasm: &Figures) -> String {
    let mut out = String::new();
    out.push_str("| benchmark | native Mpx/s | wasm Mpx/s | native/wasm |\n");
    out.push_str("|---|---:|---:|---:|\n");
    let fmt = |v: Option<&f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
    let keys: std::collections::BTreeSet<&String> = native.keys().chain(wasm.keys()).collect();
    for key in keys {
        let (n, w) = (native.get(key), wasm.get(key));
        let ratio = match (n, w) {
            (Some(n), Some(w)) if *w > 0.0 => format!("{:.2}", n / w),
            _ => "-".into(),
        };
        out.push_str(&format!("| {key} | {} | {} | {ratio} |\n", fmt(n), fmt(w)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_lines_give_megapixels_per_second() {
        let (key, mpx) =
            parse_bench_line("log: BENCH codec/glz pixels=2000000 ms=4.0000 mpx_s=500.0").unwrap();
        assert_eq!(key, "codec/glz");
        assert!((mpx - 500.0).abs() < 1e-9);
        assert_eq!(parse_bench_line("running 1 test"), None);
        assert_eq!(parse_bench_line("BENCH codec/x pixels=1 ms=0"), None);
    }

    #[test]
    fn launch_lines_and_failures_make_the_engine_table() {
        let ran = parse_launch_line(
            "LAUNCH engine=firefox item=flat runs=3 first_pixel_ms=2345 webdriver_ms=2500 wire_bytes=900 raw_bytes=900 gzip_bytes=300",
        )
        .unwrap();
        assert_eq!(
            ran,
            Launch::Ran {
                first_pixel_ms: 2345.0,
                raw_bytes: 900,
                gzip_bytes: 300,
                wire_bytes: 900
            }
        );
        assert_eq!(parse_launch_line("run 1: first pixel 12 ms"), None);
        assert_eq!(parse_launch_line("LAUNCH engine=x first_pixel_ms=?"), None);
        let stderr =
            "log line\nError: webkit session: no WebDriver\n\nCaused by:\n    0: Xvfb | missing\n\nStack backtrace:\n   0: anyhow\n";
        let why = failure_reason(stderr, std::process::ExitStatus::default());
        assert_eq!(why, "webkit session: no WebDriver; 0: Xvfb | missing");
        let t = launch_table(&[("firefox", ran), ("webkit", Launch::Failed(why))], 3);
        assert!(
            t.contains(
                "| firefox | 2345 ms | 0.9 KiB (900 B) | 0.3 KiB (300 B) | 0.9 KiB (900 B) |"
            ),
            "{t}"
        );
        assert!(
            t.contains("| webkit | cannot run: webkit session: no WebDriver; 0: Xvfb / missing |"),
            "{t}"
        );
    }

    #[test]
    fn table_has_the_ratio_and_marks_missing_figures() {
        let native = Figures::from([("codec/lz".into(), 300.0), ("render/lz".into(), 90.0)]);
        let wasm = Figures::from([("codec/lz".into(), 150.0)]);
        let t = table(&native, &wasm);
        assert!(t.contains("| codec/lz | 300.0 | 150.0 | 2.00 |"), "{t}");
        assert!(t.contains("| render/lz | 90.0 | - | - |"), "{t}");
    }
}
