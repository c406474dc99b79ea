//! `cargo xtask bench`: every image codec's decode throughput, and the whole replay's,
//! natively (`crates/spice-client/benches/codec_table.rs`) and as wasm in headless
//! Chromium (`crates/spice-client/tests/wasm_codec_bench.rs`): the same measuring loop on
//! the same recordings, both built with the release profile. Prints one table with the
//! ratio native/wasm. (`cargo bench -p spice-client --bench replay` is the criterion view.)

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{cargo, chromedriver, describe, install, step, web_tools, APT_PACKAGES};

/// Best-sample throughput in millions of pixels per second, keyed by `group/codec` (e.g. `codec/glz`).
type Figures = BTreeMap<String, f64>;

pub(crate) fn bench(root: &Path) -> Result<()> {
    install::cargo_bin_on_path();
    install::apt_packages(APT_PACKAGES)?;
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
    print!("{}", table(&native, &wasm));
    Ok(())
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
    fn table_has_the_ratio_and_marks_missing_figures() {
        let native = Figures::from([("codec/lz".into(), 300.0), ("render/lz".into(), 90.0)]);
        let wasm = Figures::from([("codec/lz".into(), 150.0)]);
        let t = table(&native, &wasm);
        assert!(t.contains("| codec/lz | 300.0 | 150.0 | 2.00 |"), "{t}");
        assert!(t.contains("| render/lz | 90.0 | - | - |"), "{t}");
    }
}
