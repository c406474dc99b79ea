//! `qemu-img`: probing an operator's image, checking that an untrusted disk stands alone,
//! and creating the throw-away overlay every instance writes to.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use crate::model::DiskFormat;

/// A `qemu-img` run that did not give what was needed.
#[derive(Debug, thiserror::Error)]
pub enum ImgError {
    /// The binary is not there.
    #[error("qemu-img binary {0} not found (install qemu-utils)")]
    Missing(PathBuf),
    /// The binary could not be started.
    #[error("run {binary}: {source}")]
    Run {
        /// The binary that was run.
        binary: PathBuf,
        /// Why the spawn failed.
        #[source]
        source: std::io::Error,
    },
    /// qemu-img's own words (its stderr).
    #[error("qemu-img {command}: {stderr}")]
    Failed {
        /// The subcommand (`create`, `info`, ...).
        command: &'static str,
        /// Its stderr, trimmed.
        stderr: String,
    },
    /// `qemu-img info --output=json` printed something that is not its JSON.
    #[error("qemu-img info: {0}")]
    Info(serde_json::Error),
    /// The JSON has no `format`.
    #[error("qemu-img info gave no format")]
    NoFormat,
    /// An untrusted disk is not qcow2 (raw would let a guest write a header QEMU probes later).
    #[error("format {0:?}, expected qcow2")]
    NotQcow2(String),
    /// An untrusted qcow2 names a backing file, which would make QEMU open any path.
    #[error("has a backing file (a package disk must stand alone)")]
    HasBacking,
}

fn run_error(binary: &Path, e: std::io::Error) -> ImgError {
    match e.kind() {
        std::io::ErrorKind::NotFound => ImgError::Missing(binary.to_path_buf()),
        _ => ImgError::Run {
            binary: binary.to_path_buf(),
            source: e,
        },
    }
}

fn checked(command: &'static str, out: Output) -> Result<Output, ImgError> {
    if out.status.success() {
        Ok(out)
    } else {
        Err(ImgError::Failed {
            command,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

fn info_command(img: &Path, disk: &OsStr) -> std::process::Command {
    let mut c = std::process::Command::new(img);
    c.args(["info", "--output=json", "-U"])
        .arg(disk)
        .stdin(Stdio::null());
    c
}

fn parse_info(out: Output) -> Result<serde_json::Value, ImgError> {
    let out = checked("info", out)?;
    serde_json::from_slice(&out.stdout).map_err(ImgError::Info)
}

/// `qemu-img info` of `disk` (a path or a QEMU URI).
pub async fn info(img: &Path, disk: &OsStr) -> Result<serde_json::Value, ImgError> {
    let out = tokio::process::Command::from(info_command(img, disk))
        .output()
        .await
        .map_err(|e| run_error(img, e))?;
    parse_info(out)
}

/// The format qemu-img sees in an operator's (trusted) image.
pub async fn probe_format(img: &Path, disk: &Path) -> Result<String, ImgError> {
    let v = info(img, disk.as_os_str()).await?;
    v.get("format")
        .and_then(|f| f.as_str())
        .filter(|f| f.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_string)
        .ok_or(ImgError::NoFormat)
}

/// The check on `qemu-img info --output=json`'s answer: a qcow2 naming no backing file.
pub fn standalone_qcow2(info: &serde_json::Value) -> Result<(), ImgError> {
    let fmt = info.get("format").and_then(|f| f.as_str()).unwrap_or("");
    if fmt != DiskFormat::Qcow2.name() {
        return Err(ImgError::NotQcow2(fmt.chars().take(32).collect()));
    }
    if info.get("backing-filename").is_some() || info.get("full-backing-filename").is_some() {
        return Err(ImgError::HasBacking);
    }
    Ok(())
}

/// Whether `disk` (a path or QEMU URI) is a qcow2 image without a backing file: a package's
/// disk naming one could make QEMU open any file the gateway can read.
pub async fn check_standalone(img: &Path, disk: &OsStr) -> Result<(), ImgError> {
    standalone_qcow2(&info(img, disk).await?)
}

/// [`check_standalone`] for blocking callers (`package validate`).
pub fn check_standalone_blocking(img: &Path, disk: &Path) -> Result<(), ImgError> {
    let out = info_command(img, disk.as_os_str())
        .output()
        .map_err(|e| run_error(img, e))?;
    standalone_qcow2(&parse_info(out)?)
}

/// Creates `overlay` over `backing` (a file or a QEMU URI such as an NBD export) whose
/// format is given, never probed: a raw image must not be read as a qcow2 header.
pub async fn create_overlay(
    img: &Path,
    backing: &OsStr,
    format: &str,
    overlay: &Path,
) -> Result<(), ImgError> {
    let out = tokio::process::Command::new(img)
        .args(["create", "-q", "-f", "qcow2", "-F", format, "-b"])
        .arg(backing)
        .arg(overlay)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| run_error(img, e))?;
    checked("create", out).map(drop)
}

/// `qemu-img convert` of `from` (read as `format`, or probed when `None`, which only
/// trusted images may be) into a standalone qcow2 `to`. `-U` lets it read an image a
/// running QEMU holds locked (a curator saving a live instance).
pub async fn convert_to_qcow2(
    img: &Path,
    from: &Path,
    format: Option<DiskFormat>,
    to: &Path,
) -> Result<(), ImgError> {
    convert(img, from, format, DiskFormat::Qcow2, to).await
}

/// [`convert_to_qcow2`] into a raw image: a floppy or CD-ROM overlay flattened back into
/// the plain image a package carries.
pub async fn convert_to_raw(
    img: &Path,
    from: &Path,
    format: Option<DiskFormat>,
    to: &Path,
) -> Result<(), ImgError> {
    convert(img, from, format, DiskFormat::Raw, to).await
}

async fn convert(
    img: &Path,
    from: &Path,
    format: Option<DiskFormat>,
    out_format: DiskFormat,
    to: &Path,
) -> Result<(), ImgError> {
    let mut c = tokio::process::Command::new(img);
    c.args(["convert", "-q"]);
    match format {
        Some(f) => c.args(["-f", f.name()]),
        None => c.arg("-U"),
    };
    let out = c
        .args(["-O", out_format.name()])
        .arg(from)
        .arg(to)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| run_error(img, e))?;
    checked("convert", out).map(drop)
}
