//! `olive-gateway package validate`: everything that can be checked without running the
//! package — manifest schema, machine policy, every file's size and SHA-256, the memory
//! image decompressing to exactly its declared size, and the disk being a qcow2 without a
//! backing file.

use std::io::Read;
use std::path::Path;

use super::manifest::{FileRef, Policy};
use super::source::Source;
use super::{sha256_of, Package, PackageError};

#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("{field} ({path}): {message}")]
    File {
        field: String,
        path: String,
        message: String,
    },
}

fn file_err(field: &str, f: &FileRef, message: impl Into<String>) -> ValidateError {
    ValidateError::File {
        field: field.into(),
        path: f.path.clone(),
        message: message.into(),
    }
}

/// One line per check that passed, for the operator.
pub type Report = Vec<String>;

/// Runs every check on the package at `root`; blocking (hashes whole files).
pub fn validate(root: Source, policy: Policy, qemu_img: &Path) -> Result<Report, ValidateError> {
    let pkg = Package::open(root, policy)?;
    let m = &pkg.manifest;
    let mut report = vec![format!(
        "manifest: {} ({} MiB, {} vCPU, {})",
        m.name, m.machine.memory_mb, m.machine.vcpus, m.machine.machine_type
    )];
    for (field, f) in m.files() {
        let src = pkg.file(f);
        let (digest, len) = src
            .open()
            .map_err(|e| file_err(field, f, e.to_string()))
            .and_then(|r| sha256_of(r).map_err(|e| file_err(field, f, e.to_string())))?;
        if len != f.size {
            return Err(file_err(
                field,
                f,
                format!("size {len}, manifest says {}", f.size),
            ));
        }
        if digest != f.sha256 {
            return Err(file_err(field, f, "SHA-256 does not match the manifest"));
        }
        report.push(format!("{field}: {} ({len} bytes) sha256 ok", f.path));
    }
    if let Some(mem) = &m.memory {
        let f = &mem.file;
        let limit = mem.uncompressed_size;
        let raw = pkg
            .file(f)
            .open()
            .map_err(|e| file_err("memory", f, e.to_string()))?;
        let stream_err =
            |e: std::io::Error| file_err("memory", f, format!("{} stream: {e}", mem.codec.name()));
        let n = mem
            .codec
            .decoder(raw)
            .and_then(|d| count(d.take(limit + 1)))
            .map_err(stream_err)?;
        if n != limit {
            return Err(file_err(
                "memory",
                f,
                format!("decompresses to {n} bytes, manifest says {limit}"),
            ));
        }
        report.push(format!(
            "memory: {} decompresses to {n} bytes",
            mem.codec.name()
        ));
    }
    let disk = pkg
        .file(&m.disk)
        .local_path()
        .map_err(|e| file_err("disk", &m.disk, e.to_string()))?
        .to_path_buf();
    check_standalone_qcow2(qemu_img, &disk).map_err(|e| file_err("disk", &m.disk, e))?;
    report.push("disk: qcow2 without backing file".into());
    Ok(report)
}

fn count(mut r: impl Read) -> std::io::Result<u64> {
    std::io::copy(&mut r, &mut std::io::sink())
}

/// Whether `disk` is a qcow2 image with no backing file, according to `qemu-img info`.
pub fn check_standalone_qcow2(qemu_img: &Path, disk: &Path) -> Result<(), String> {
    let out = std::process::Command::new(qemu_img)
        .args(["info", "--output=json", "-U"])
        .arg(disk)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("run {}: {e}", qemu_img.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("qemu-img info: {e}"))?;
    standalone_qcow2(&v)
}

/// The check on `qemu-img info --output=json`'s answer.
pub fn standalone_qcow2(info: &serde_json::Value) -> Result<(), String> {
    let fmt = info.get("format").and_then(|f| f.as_str()).unwrap_or("");
    if fmt != "qcow2" {
        return Err(format!("format {fmt:?}, expected qcow2"));
    }
    if info.get("backing-filename").is_some() || info.get("full-backing-filename").is_some() {
        return Err("has a backing file (a package disk must stand alone)".into());
    }
    Ok(())
}
