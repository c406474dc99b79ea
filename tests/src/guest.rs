//! Builds (or reuses) the test guest: `tests/guest/build.sh <target>/olive-guest`.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The kernel and initramfs of the test guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestImages {
    /// The guest's kernel (`vmlinuz`), for direct kernel boot.
    pub kernel: PathBuf,
    /// Its initramfs, which holds the whole guest.
    pub initrd: PathBuf,
    /// `manifest.txt`: package versions and source hashes.
    pub manifest: PathBuf,
}

/// The workspace root (parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `$CARGO_TARGET_DIR` if set, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let p = PathBuf::from(d);
            if p.is_absolute() {
                p
            } else {
                workspace_root().join(p)
            }
        }
        _ => workspace_root().join("target"),
    }
}

/// Where the guest is built: `OLIVE_GUEST_DIR` if set, else `<target>/olive-guest`.
pub fn guest_dir() -> PathBuf {
    match std::env::var_os("OLIVE_GUEST_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => target_dir().join("olive-guest"),
    }
}

static BUILT: Mutex<Option<GuestImages>> = Mutex::new(None);

/// Builds the guest if needed (cached by `build.sh`'s stamp; once per process) and returns
/// its images. Safe to call from several threads and processes at once.
pub fn ensure_guest() -> Result<GuestImages> {
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(images) = built.as_ref() {
        return Ok(images.clone());
    }
    let out = guest_dir();
    std::fs::create_dir_all(&out).with_context(|| format!("create {}", out.display()))?;
    let lock_path = out.with_extension("lock");
    let lock = crate::lock::lock_file(&lock_path)
        .with_context(|| format!("lock {}", lock_path.display()))?;

    let script = workspace_root().join("tests/guest/build.sh");
    let output = Command::new("sh")
        .arg(&script)
        .arg(&out)
        .output()
        .with_context(|| format!("run {}", script.display()))?;
    let _ = lock.unlock();
    if !output.status.success() {
        bail!(
            "{} {} failed ({}):\n{}{}",
            script.display(),
            out.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let images = GuestImages {
        kernel: out.join("vmlinuz"),
        initrd: out.join("initrd.img"),
        manifest: out.join("manifest.txt"),
    };
    for p in [&images.kernel, &images.initrd] {
        if !p.is_file() {
            bail!("guest build finished but {} is missing", p.display());
        }
    }
    *built = Some(images.clone());
    Ok(images)
}
