//! Ending processes a test started, by PID and without `unsafe`.
//!
//! Every test cleans up what it started. A `std::process::Child` can only be SIGKILLed;
//! QEMU should get SIGTERM first (it then removes its sockets), and processes a test
//! never spawned itself (a browser's renderer, a QEMU the gateway launched) have only a
//! PID. `nix` sends the signals; `/proc` says what is still alive.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How often a wait for a process to go re-reads its state (there is no event to wait on
/// for a process that is not our child).
const POLL: Duration = Duration::from_millis(20);

/// Sends SIGTERM to `pid`; false if there was no such process (or no permission).
pub fn terminate(pid: u32) -> bool {
    signal(pid, Signal::SIGTERM)
}

/// Sends SIGKILL to `pid`; false if there was no such process (or no permission).
pub fn kill_pid(pid: u32) -> bool {
    signal(pid, Signal::SIGKILL)
}

fn signal(pid: u32, sig: Signal) -> bool {
    match i32::try_from(pid) {
        // 0 and negative PIDs address process groups: never what a test means.
        Ok(p) if p > 0 => kill(Pid::from_raw(p), sig).is_ok(),
        _ => false,
    }
}

/// True once `pid` has exited: no `/proc` entry, or a zombie waiting for its parent to
/// reap it (reap your own children with [`stop_child`]).
pub fn is_gone(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return !Path::new(&format!("/proc/{pid}")).exists();
    };
    // "pid (comm) state ...": comm may hold spaces and parentheses, the state follows
    // the last ')'.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    matches!(state, Some('Z' | 'X'))
}

/// Waits until every PID in `pids` is gone, for at most `timeout`; true if they all went.
pub fn wait_gone(pids: &[u32], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if pids.iter().all(|&p| is_gone(p)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// The PIDs whose command line has an argument containing `needle` (e.g. a scratch
/// directory the processes were started in).
pub fn pids_naming(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        if cmdline
            .split(|&b| b == 0)
            .any(|arg| String::from_utf8_lossy(arg).contains(needle))
        {
            out.push(pid);
        }
    }
    out
}

/// SIGKILLs every process whose command line names `needle` and waits (up to `timeout`)
/// for them to go; returns how many there were.
pub fn kill_naming(needle: &str, timeout: Duration) -> usize {
    let me = std::process::id();
    let pids: Vec<u32> = pids_naming(needle)
        .into_iter()
        .filter(|&p| p != me)
        .collect();
    for &p in &pids {
        kill_pid(p);
    }
    wait_gone(&pids, timeout);
    pids.len()
}

/// Stops our own child: SIGTERM, up to `grace` for it to exit, then SIGKILL; always
/// reaps it, so no zombie is left.
pub fn stop_child(child: &mut Child, grace: Duration) {
    if let Ok(None) = child.try_wait() {
        terminate(child.id());
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(POLL);
        }
        let _ = child.kill();
    }
    let _ = child.wait();
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::process::Command;

    /// Waits (bounded) until `pid` has exec'd and its command line names `needle`:
    /// between fork and exec a child still shows its parent's command line.
    pub(crate) fn wait_named(needle: &str, pid: u32) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pids_naming(needle).contains(&pid) {
            assert!(Instant::now() < deadline, "{pid} never named {needle}");
            std::thread::sleep(POLL);
        }
    }

    #[test]
    fn a_child_is_terminated_and_reaped() {
        let mut child = Command::new("sleep").arg("30").spawn().expect("sleep(1)");
        let pid = child.id();
        assert!(!is_gone(pid));
        stop_child(&mut child, Duration::from_secs(5));
        assert!(is_gone(pid));
        assert!(!terminate(pid), "no process left to signal");
    }

    #[test]
    fn processes_naming_a_needle_are_found_and_killed() {
        let needle = format!("olive-test-support-needle-{}", std::process::id());
        // `read` is a shell builtin: sh itself waits (on the open stdin), so its command
        // line keeps naming the needle.
        let mut child = Command::new("sh")
            .args(["-c", "read x", &needle])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        wait_named(&needle, child.id());
        assert_eq!(pids_naming(&needle), vec![child.id()]);
        assert!(kill_pid(child.id()));
        assert!(
            wait_gone(&[child.id()], Duration::from_secs(5)),
            "a zombie is gone"
        );
        child.wait().expect("reap");
        assert_eq!(kill_naming(&needle, Duration::from_secs(1)), 0);
        assert!(!kill_pid(0), "never a process group");
    }
}
