//! Choosing the QEMU accelerator.
//!
//! `auto` is best-effort: it asks QEMU itself to initialise KVM (`-machine none`), which
//! catches a missing or inaccessible `/dev/kvm` without any `ioctl` of ours. It cannot
//! catch a KVM that initialises and then never runs guest code (seen on nested build
//! machines), so deployments on such hosts — and the tests — set `accelerator = "tcg"`.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::config::Accelerator;

/// The accelerator actually passed to `-accel`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// `-accel kvm`: the host's CPU runs the guest.
    Kvm,
    /// `-accel tcg`: QEMU emulates the CPU (slower, but needs no `/dev/kvm`).
    Tcg,
}

impl Resolved {
    /// The value of `-accel`.
    pub fn as_arg(self) -> &'static str {
        match self {
            Resolved::Kvm => "kvm",
            Resolved::Tcg => "tcg",
        }
    }
}

/// Whether QEMU at `qemu` can initialise KVM (bounded to a few seconds).
pub async fn kvm_usable(qemu: &Path) -> bool {
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        return false;
    }
    let child = tokio::process::Command::new(qemu)
        .args([
            "-machine",
            "none",
            "-accel",
            "kvm",
            "-nodefaults",
            "-display",
            "none",
            "-monitor",
            "stdio",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let Ok(mut child) = child else { return false };
    if let Some(mut stdin) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        let _ = stdin.write_all(b"quit\n").await;
    }
    matches!(
        tokio::time::timeout(Duration::from_secs(5), child.wait()).await,
        Ok(Ok(status)) if status.success()
    )
}

/// Resolves the configured accelerator; `auto` falls back to TCG with a warning.
pub async fn resolve(wanted: Accelerator, qemu: &Path) -> Resolved {
    match wanted {
        Accelerator::Kvm => Resolved::Kvm,
        Accelerator::Tcg => Resolved::Tcg,
        Accelerator::Auto => {
            if kvm_usable(qemu).await {
                tracing::info!(
                    "accelerator auto: using KVM (best-effort probe; set \"tcg\" if guests hang)"
                );
                Resolved::Kvm
            } else {
                tracing::warn!("accelerator auto: KVM missing or unusable, falling back to TCG");
                Resolved::Tcg
            }
        }
    }
}
