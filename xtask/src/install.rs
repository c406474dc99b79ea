//! Installing what the tasks need, idempotently.
//!
//! A fresh CI machine has only the Rust toolchain; everything else comes from the package
//! registries this workplace reaches. When we cannot install (not root), we print the exact
//! command instead of failing obscurely later.

use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Installs the Debian packages whose probe command is missing from PATH.
pub fn apt_packages(wanted: &[(&str, &str)]) -> Result<()> {
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

pub fn rustup_target(target: &str) -> Result<()> {
    let installed = output("rustup", &["target", "list", "--installed"])?;
    if installed.lines().any(|l| l.trim() == target) {
        return Ok(());
    }
    checked(Command::new("rustup").args(["target", "add", target]))
}

pub fn rustup_component(component: &str) -> Result<()> {
    let installed = output("rustup", &["component", "list", "--installed"])?;
    if installed.lines().any(|l| l.starts_with(component)) {
        return Ok(());
    }
    checked(Command::new("rustup").args(["component", "add", component]))
}

pub fn on_path(program: &str) -> bool {
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
