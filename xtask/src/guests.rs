//! `cargo xtask guest [test|doom|xdesk|all]`: builds (or reuses) Olive's guests and prints
//! where each one is.
//!
//! `test` is our own scene guest (`tests/guest/build.sh`, into `target/olive-guest`); `doom`
//! and `xdesk` are the period-software guests made from Debian 12 i386 packages by
//! `guests/build.sh`, cached under `~/.cache/olive/guests/<name>-<hash of inputs>/` because
//! a cold build takes minutes and several hundred MB of downloads. The script does the
//! caching and the locking; this only runs it and reports what it cost.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

/// The period-software guests `guests/build.sh` knows.
pub(crate) const PERIOD_GUESTS: &[&str] = &["doom", "xdesk"];

/// Runs the subcommand: `which` is `test` (the default), `doom`, `xdesk` or `all`.
pub(crate) fn guest(root: &Path, which: Option<&str>) -> Result<()> {
    let names: Vec<&str> = match which.unwrap_or("test") {
        "all" => std::iter::once("test")
            .chain(PERIOD_GUESTS.iter().copied())
            .collect(),
        one @ ("test" | "doom" | "xdesk") => vec![one],
        other => bail!("unknown guest {other:?}: use test, doom, xdesk or all"),
    };
    for name in names {
        let started = Instant::now();
        let dir = if name == "test" {
            crate::build_guest(root)?
        } else {
            period_guest(root, name)?
        };
        eprintln!(
            "guest {name}: ready in {:.1} s, {} MB on disk",
            started.elapsed().as_secs_f64(),
            dir_size(&dir) / 1_000_000
        );
        println!("{}", dir.display());
    }
    Ok(())
}

/// `guests/build.sh NAME`: builds or reuses the guest and returns its cache directory (the
/// script's last stdout line).
pub(crate) fn period_guest(root: &Path, name: &str) -> Result<PathBuf> {
    let script = root.join("guests/build.sh");
    eprintln!("$ sh {} {name}", script.display());
    let out = Command::new("sh")
        .arg(&script)
        .arg(name)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start {}", script.display()))?;
    if !out.status.success() {
        bail!("{} {name} exited with {}", script.display(), out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let dir = stdout
        .lines()
        .last()
        .map(PathBuf::from)
        .context("guests/build.sh printed no directory")?;
    for file in ["vmlinuz", "initrd.img", "disk.qcow2", "machine.toml"] {
        if !dir.join(file).is_file() {
            bail!(
                "guest {name} was built but {} is missing",
                dir.join(file).display()
            );
        }
    }
    Ok(dir)
}

/// Bytes the files directly in `dir` take on disk (allocated blocks: qcow2 is sparse).
pub(crate) fn dir_size(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.blocks() * 512)
                .sum()
        })
        .unwrap_or(0)
}
