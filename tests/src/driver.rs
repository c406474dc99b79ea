//! WebDriver server processes (chromedriver, geckodriver, WebKitWebDriver) and the X server
//! WebKit needs, each a child on 127.0.0.1 killed by PID on drop.
//!
//! A driver starts the browser as its own child, and the browser starts its helpers as
//! children of its own, so a session that was never closed leaves a process tree behind.
//! Dropping a [`DriverProcess`] therefore collects every descendant of the driver *before*
//! killing anything (a killed parent's children are re-parented and could no longer be
//! found), SIGKILLs them all, then the driver, then its X server, and reaps what it can.

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a driver may take to listen.
pub const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long Xvfb may take to create its socket.
pub const XVFB_START_TIMEOUT: Duration = Duration::from_secs(10);

/// A free TCP port on 127.0.0.1 (bound and released; a tiny race is acceptable in tests).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// What to start: the driver binary, its arguments (`{port}` is replaced by the port),
/// and whether it needs an X display.
#[derive(Clone, Debug)]
pub struct DriverCommand {
    /// The driver executable (chromedriver, geckodriver, WebKitWebDriver).
    pub binary: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Whether it must run under Xvfb (WebKitGTK cannot run headless without a display).
    pub needs_display: bool,
    /// Shown when the binary cannot be started.
    pub install_hint: &'static str,
}

/// A private X server (`Xvfb :N`), for browsers that have no headless mode of their own.
#[derive(Debug)]
pub struct Xvfb {
    child: Child,
    display: u32,
}

impl Xvfb {
    /// Starts Xvfb on the first free display number from a per-process offset, and waits
    /// (bounded) for its socket.
    pub fn start(screen: (u32, u32)) -> Result<Xvfb> {
        let first = 100 + std::process::id() % 400;
        for display in first..first + 40 {
            if Path::new(&format!("/tmp/.X{display}-lock")).exists()
                || Path::new(&format!("/tmp/.X11-unix/X{display}")).exists()
            {
                continue;
            }
            let mut child = Command::new("Xvfb")
                .arg(format!(":{display}"))
                .args(["-screen", "0", &format!("{}x{}x24", screen.0, screen.1)])
                .args(["-nolisten", "tcp", "-noreset"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("start Xvfb (Debian: apt-get install xvfb)")?;
            let socket = PathBuf::from(format!("/tmp/.X11-unix/X{display}"));
            let deadline = Instant::now() + XVFB_START_TIMEOUT;
            loop {
                if socket.exists() {
                    return Ok(Xvfb { child, display });
                }
                if child.try_wait()?.is_some() {
                    break; // display taken meanwhile: try the next one
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    bail!("Xvfb :{display} made no socket within {XVFB_START_TIMEOUT:?}");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        bail!("no free X display for Xvfb in {first}..{}", first + 40)
    }

    /// `:N`, for `DISPLAY`.
    pub fn display(&self) -> String {
        format!(":{}", self.display)
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running WebDriver server. Dropping it kills its process tree (see the module docs).
#[derive(Debug)]
pub struct DriverProcess {
    child: Child,
    port: u16,
    log: PathBuf,
    xvfb: Option<Xvfb>,
}

impl DriverProcess {
    /// Starts `cmd` on a free port with stdout and stderr in `log`, and waits (bounded)
    /// until it accepts connections.
    pub fn start(cmd: &DriverCommand, log: &Path, screen: (u32, u32)) -> Result<DriverProcess> {
        let xvfb = if cmd.needs_display {
            Some(Xvfb::start(screen)?)
        } else {
            None
        };
        let port = free_port()?;
        let out =
            std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?;
        let mut command = Command::new(&cmd.binary);
        command
            .args(
                cmd.args
                    .iter()
                    .map(|a| a.replace("{port}", &port.to_string())),
            )
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        if let Some(x) = &xvfb {
            command.env("DISPLAY", x.display());
        }
        let child = command
            .spawn()
            .with_context(|| format!("start {} ({})", cmd.binary.display(), cmd.install_hint))?;
        let mut driver = DriverProcess {
            child,
            port,
            log: log.to_path_buf(),
            xvfb,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(driver);
            }
            if let Some(status) = driver.child.try_wait()? {
                bail!(
                    "{} exited at start ({status}); log {}",
                    cmd.binary.display(),
                    driver.log.display()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not listen on {addr} within {DRIVER_START_TIMEOUT:?}",
                    cmd.binary.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:PORT`, the WebDriver endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The driver's process id, for killing it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where the driver's stdout and stderr go.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The X display the driver (and its browser) draws on, if any.
    pub fn display(&self) -> Option<String> {
        self.xvfb.as_ref().map(Xvfb::display)
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        kill_tree(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        drop(self.xvfb.take());
    }
}

/// Every live descendant of `root` (children, grandchildren, …), from `/proc`.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(ppid) = parent_pid(pid) {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        for &c in children.get(&p).map(Vec::as_slice).unwrap_or_default() {
            if !out.contains(&c) {
                out.push(c);
                stack.push(c);
            }
        }
    }
    out
}

/// The parent PID from `/proc/PID/stat` (the field after the parenthesised command name,
/// which may itself contain spaces and parentheses).
fn parent_pid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// SIGKILLs every descendant of `root` (not `root` itself) and waits, bounded, until they
/// are gone. Returns how many were signalled.
pub fn kill_tree(root: u32) -> usize {
    let pids = descendants(root);
    for &pid in &pids {
        sigkill(pid);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|&p| alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    pids.len()
}

/// SIGKILL to one PID (never 0, 1 or a negative group).
pub fn sigkill(pid: u32) -> bool {
    match i32::try_from(pid) {
        Ok(raw) if raw > 1 => nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(raw),
            nix::sys::signal::Signal::SIGKILL,
        )
        .is_ok(),
        _ => false,
    }
}

/// Whether `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_kills_a_process_tree() {
        // sh → sleep (grandchild via a subshell): both must be found and killed.
        let mut child = Command::new("sh")
            .args(["-c", "(sleep 30 & sleep 30 & wait) & wait"])
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut found = Vec::new();
        while Instant::now() < deadline {
            found = descendants(child.id());
            if found.len() >= 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(found.len() >= 3, "subshell and two sleeps, got {found:?}");
        assert_eq!(kill_tree(child.id()), found.len());
        assert!(found.iter().all(|&p| !alive(p)));
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn parent_of_self() {
        let me = std::process::id();
        assert_eq!(parent_pid(me), Some(std::os::unix::process::parent_id()));
        assert!(!sigkill(0) && !sigkill(1));
    }
}
