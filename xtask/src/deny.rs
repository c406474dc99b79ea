//! The `cargo deny check` step of `cargo xtask test`: licences, bans (duplicate
//! versions, wildcards) and sources as `deny.toml` states them, and the RustSec
//! advisories when their database can be had.
//!
//! The advisory database is a git repository on GitHub; no registry this project's
//! machines reach carries a copy. So the step first tries to fetch it: if that works
//! (a machine with GitHub) everything is checked, and otherwise the other checks run and
//! one line says that advisories were skipped and why — never a silent pass.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::install;

/// The cargo-deny the step installs (`cargo install cargo-deny --locked`, falling back to
/// an unlocked install as for wasm-bindgen-cli).
const CARGO_DENY: &str = "0.20.2";

/// How long fetching the advisory database may take before it counts as unreachable.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Installs cargo-deny if needed, then runs `cargo deny check`.
pub(crate) fn check() -> Result<()> {
    let started = Instant::now();
    install::cargo_install("cargo-deny", CARGO_DENY, &["cargo-deny"], true)?;
    eprintln!(
        "cargo-deny ready after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let result = if advisory_db_fetched() {
        crate::run(crate::cargo().args(["deny", "check"]))
    } else {
        println!(
            "cargo deny: advisories SKIPPED: the RustSec advisory database is only published \
             on GitHub, which this machine cannot reach (no registry it reaches carries a \
             copy); licenses, bans and sources are checked"
        );
        crate::run(crate::cargo().args(["deny", "check", "licenses", "bans", "sources"]))
    };
    eprintln!(
        "cargo deny check took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    result
}

/// `cargo deny fetch db`, bounded by [`FETCH_TIMEOUT`]; true if the database is there.
fn advisory_db_fetched() -> bool {
    let Ok(mut child) = crate::cargo()
        .args(["deny", "fetch", "db"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let deadline = Instant::now() + FETCH_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => {
                // A child process has no event to wait on with a timeout in std.
                std::thread::sleep(Duration::from_millis(100));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}
