//! A chromedriver child process on a free 127.0.0.1 port, killed and reaped on drop.

use anyhow::{bail, Context, Result};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long chromedriver may take to listen.
pub const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(15);

/// The chromedriver binary: `$CHROMEDRIVER`, else `/usr/bin/chromedriver`, else `chromedriver`
/// on PATH.
pub fn chromedriver_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMEDRIVER").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let debian = Path::new("/usr/bin/chromedriver");
    if debian.exists() {
        return debian.to_path_buf();
    }
    PathBuf::from("chromedriver")
}

/// The Chromium binary chromedriver should start: `$CHROMIUM`, else Debian's real binary
/// (`/usr/lib/chromium/chromium`, not the `/usr/bin/chromium` wrapper script), else `None`
/// (chromedriver's own search).
pub fn chromium_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let debian = Path::new("/usr/lib/chromium/chromium");
    debian.exists().then(|| debian.to_path_buf())
}

/// A free TCP port on 127.0.0.1 (bound and released; a tiny race is acceptable in tests).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// A running chromedriver. Dropping it kills (SIGKILL) and reaps the process.
#[derive(Debug)]
pub struct ChromeDriver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl ChromeDriver {
    /// Starts chromedriver on a free port, logging to `log`, and waits (bounded) until it
    /// accepts connections.
    pub fn start(log: &Path) -> Result<ChromeDriver> {
        let bin = chromedriver_binary();
        let port = free_port()?;
        let child = Command::new(&bin)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| {
                format!(
                    "start {} (Debian: apt-get install chromium chromium-driver, or set CHROMEDRIVER)",
                    bin.display()
                )
            })?;
        let mut driver = ChromeDriver {
            child,
            port,
            log: log.to_path_buf(),
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
                    bin.display(),
                    driver.log.display()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not listen on {addr} within {DRIVER_START_TIMEOUT:?}",
                    bin.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:PORT`, the WebDriver endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
