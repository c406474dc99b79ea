//! Installing what the tasks need, idempotently.
//!
//! A fresh CI machine has only the Rust toolchain; everything else comes from the package
//! registries this workplace reaches. When we cannot install (not root), we print the exact
//! command instead of failing obscurely later.

use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Installs the Debian packages whose probe command is missing from PATH, then looks again:
/// an install can remove a package we rely on (on these machines Debian's QEMU 7.2 replaces a
/// backported `qemu-utils`, taking `qemu-img` with it), so a second pass installs what went.
pub(crate) fn apt_packages(wanted: &[(&str, &str)]) -> Result<()> {
    apt_pass(wanted)?;
    apt_pass(wanted)?;
    let gone: Vec<&str> = wanted
        .iter()
        .filter(|(probe, _)| !on_path(probe))
        .map(|(probe, _)| *probe)
        .collect();
    if !gone.is_empty() {
        bail!("still missing after apt-get install: {}", gone.join(", "));
    }
    Ok(())
}

fn apt_pass(wanted: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(probe, _)| !on_path(probe))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let command = format!("apt-get install -y {}", missing.join(" "));
    if !is_root() {
        bail!("missing packages; run as root: apt-get update && {command}");
    }
    eprintln!("installing {}", missing.join(", "));
    let update = Command::new("apt-get")
        .args(["update", "-q"])
        .status()
        .context("running apt-get update")?;
    if !update.success() {
        bail!("apt-get update failed");
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get install")?;
    if !status.success() {
        bail!("{command} failed");
    }
    Ok(())
}

pub(crate) fn rustup_target(target: &str) -> Result<()> {
    let installed = output("rustup", &["target", "list", "--installed"])?;
    if installed.lines().any(|l| l.trim() == target) {
        return Ok(());
    }
    checked(Command::new("rustup").args(["target", "add", target]))
}

pub(crate) fn rustup_component(component: &str) -> Result<()> {
    let installed = output("rustup", &["component", "list", "--installed"])?;
    if installed.lines().any(|l| l.starts_with(component)) {
        return Ok(());
    }
    checked(Command::new("rustup").args(["component", "add", component]))
}

pub(crate) fn on_path(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn is_root() -> bool {
    output("id", &["-u"])
        .map(|uid| uid.trim() == "0")
        .unwrap_or(false)
}

fn output(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn checked(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().context("starting installer")?;
    if !status.success() {
        bail!("{cmd:?} failed");
    }
    Ok(())
}

/// The version a `<program> --version` prints as its second word (`trunk 0.21.14`,
/// `wasm-bindgen 0.2.130`), if the program runs.
pub(crate) fn tool_version(program: &str) -> Option<String> {
    let out = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .map(|v| v.trim_start_matches('v').to_string())
}

/// The version of `package` in a Cargo.lock text (the first entry of that name).
pub(crate) fn lock_version(lock: &str, package: &str) -> Option<String> {
    let want = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == want {
            let v = lines.next()?.trim();
            return v
                .strip_prefix("version = \"")?
                .strip_suffix('"')
                .map(str::to_string);
        }
    }
    None
}

/// Installs `krate` at exactly `version` with `cargo install` unless every program in
/// `programs` is on PATH and the first reports that version. Tries `--locked` first and,
/// if `fallback_unlocked`, retries without it (some locked dependency versions are missing
/// from the registry this machine reaches: wasm-bindgen-cli 0.2.130 locks a webpki-roots
/// it does not have).
pub(crate) fn cargo_install(
    krate: &str,
    version: &str,
    programs: &[&str],
    fallback_unlocked: bool,
) -> Result<()> {
    let have = tool_version(programs[0]);
    if have.as_deref() == Some(version) && programs.iter().all(|p| on_path(p)) {
        eprintln!("{krate} {version}: already installed");
        return Ok(());
    }
    eprintln!(
        "{krate}: want {version}, found {}; installing (several minutes the first time)",
        have.as_deref().unwrap_or("none")
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let exact = format!("={version}");
    let locked = Command::new(&cargo)
        .args(["install", krate, "--version", &exact, "--locked", "--force"])
        .status()
        .context("running cargo install")?;
    if locked.success() {
        return Ok(());
    }
    if !fallback_unlocked {
        bail!("cargo install {krate} --version {exact} --locked failed");
    }
    eprintln!("cargo install --locked failed for {krate}; retrying without --locked");
    checked(Command::new(&cargo).args(["install", krate, "--version", &exact, "--force"]))
}

/// Puts cargo's bin folder (`$CARGO_HOME/bin`, default `~/.cargo/bin`) on PATH for this
/// process and its children, so freshly installed tools are found.
pub(crate) fn cargo_bin_on_path() {
    let bin = match std::env::var_os("CARGO_HOME") {
        Some(h) if !h.is_empty() => std::path::PathBuf::from(h).join("bin"),
        _ => match std::env::var_os("HOME") {
            Some(h) => std::path::PathBuf::from(h).join(".cargo/bin"),
            None => return,
        },
    };
    let path = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|p| p == bin) {
        return;
    }
    prepend_path(&bin);
}

/// Puts `dir` first on PATH for this process and its children. xtask is single-threaded.
pub(crate) fn prepend_path(dir: &std::path::Path) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let rest = std::env::split_paths(&path).filter(|p| p != dir);
    let joined = std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(rest))
        .expect("PATH entries are valid");
    std::env::set_var("PATH", joined);
}

#[cfg(test)]
mod tests {
    #[test]
    fn lock_versions_are_found() {
        let lock = "[[package]]\nname = \"wasm-bindgen-macro\"\nversion = \"0.2.1\"\n\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\nsource = \"x\"\n";
        assert_eq!(
            super::lock_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(super::lock_version(lock, "trunk"), None);
    }
}
