//! A real OAI-PMH harvester for the gateway's `/oai`: Sickle (PyPI), the client library
//! repositories and aggregators use, in a virtualenv cached outside the repository and keyed
//! by its version, made on first use (PyPI is one of the registries this machine reaches).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The Sickle release the tests harvest with.
pub const SICKLE_VERSION: &str = "0.7.0";

/// The virtualenv's directory: `$OLIVE_CACHE` or `~/.cache/olive`, then
/// `harvester-sickle-<version>`.
pub fn venv_dir() -> PathBuf {
    let cache = std::env::var_os("OLIVE_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/olive")))
        .unwrap_or_else(|| PathBuf::from("/tmp/olive-cache"));
    cache.join(format!("harvester-sickle-{SICKLE_VERSION}"))
}

/// The virtualenv's python, with Sickle importable; made (under a file lock, so parallel
/// tests build it once) when missing.
pub fn ensure_sickle() -> Result<PathBuf> {
    let dir = venv_dir();
    let python = dir.join("bin/python");
    let ready = dir.join(".ready");
    if ready.is_file() {
        return Ok(python);
    }
    std::fs::create_dir_all(dir.parent().unwrap_or(Path::new("/tmp")))?;
    let lock_path = dir.with_extension("lock");
    let lock = crate::lock::lock_file(&lock_path)
        .with_context(|| format!("lock {}", lock_path.display()))?;
    if !ready.is_file() {
        let _ = std::fs::remove_dir_all(&dir);
        run(Command::new("python3").args(["-m", "venv"]).arg(&dir))?;
        run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("sickle=={SICKLE_VERSION}"),
        ]))?;
        std::fs::write(&ready, SICKLE_VERSION)?;
    }
    let _ = lock.unlock();
    Ok(python)
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
