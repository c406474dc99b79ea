//! QEMU processes as processes: killing the ones we own, and reaping the ones a crashed
//! gateway left behind (QEMU does not die with the gateway: `PR_SET_PDEATHSIG` would need
//! `unsafe`).

use std::path::Path;
use std::time::Duration;

use tokio::process::Child;
use tokio::time::Instant;

/// SIGKILLs a child we own and reaps it (bounded).
pub async fn kill_child(child: &mut Child) {
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
}

/// Sends SIGKILL to `pid`.
pub fn kill_pid(pid: u32) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    if raw <= 1 {
        return false;
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(raw),
        nix::sys::signal::Signal::SIGKILL,
    )
    .is_ok()
}

/// Whether `pid` is gone or a zombie (dead but not yet reaped by its parent).
pub fn pid_dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
            .unwrap_or(false),
    }
}

/// Whether `pid`'s command line mentions `dir` (so it is our QEMU and not a recycled PID).
fn pid_uses_dir(pid: u32, dir: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let needle = dir.as_os_str().as_encoded_bytes();
    !needle.is_empty() && cmdline.windows(needle.len()).any(|w| w == needle)
}

/// Kills QEMUs left by a previous gateway run and deletes every instance directory under
/// `instances_dir`. Returns the number of processes killed. Run once at start, before any
/// instance of this run exists.
pub async fn reap_orphans(instances_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(instances_dir) else {
        return 0;
    };
    let mut killed = 0;
    for entry in entries.flatten() {
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        let pid = std::fs::read_to_string(dir.join("qemu.pid"))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid_uses_dir(pid, &dir) && kill_pid(pid) {
                killed += 1;
                tracing::warn!(pid, dir = %dir.display(), "killed orphaned QEMU");
                // Not our child, so there is nothing to wait on but /proc.
                let deadline = Instant::now() + Duration::from_secs(3);
                while !pid_dead(pid) && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), "cannot remove orphaned instance dir: {e}");
        }
    }
    killed
}
