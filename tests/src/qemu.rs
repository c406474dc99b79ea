//! Launching the test guest under QEMU (TCG) with SPICE on a UNIX socket, QMP, a serial log
//! (ttyS0: guest → host) and a command port (ttyS1: host → guest).
//!
//! Guest serial protocol (see `tests/guest/README.md`): the guest prints
//! `OLIVE-GUEST-READY fb=<W>x<H>x<bpp>|none dsp=<0|1> dri=<0|1> cmd=ttyS1` when ready, answers
//! every command with `OK <cmd>...` or `ERR <cmd>...`, and reports input as `EV ...` lines.

use crate::guest::{ensure_guest, GuestImages};
use crate::lock::{qemu_lock, QemuLock};
use crate::ppm::Rgba;
use crate::qmp::Qmp;
use anyhow::{anyhow, bail, Context, Result};
use olive_test_support::{process, Scratch};
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kernel command line of the test guest.
pub const KERNEL_CMDLINE: &str = "console=tty0 quiet vt.global_cursor_default=0 consoleblank=0";

/// The guest's display adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vga {
    /// `-vga std`: the console stays in VGA text mode (720x400 surface), no framebuffer.
    Std,
    /// `-vga qxl`: the qxl DRM driver gives /dev/fb0 1024x768x32 and a hardware cursor.
    Qxl,
    /// `-vga std` (QEMU's default adapter) with the bochs DRM driver: /dev/fb0 1024x768x32.
    /// Its updates reach SPICE through QEMU's own display path as fresh drawables, which
    /// is where spice-server uses GLZ, zlib-GLZ, QUIC and JPEG.
    StdFramebuffer,
}

/// How to start QEMU.
#[derive(Debug, Clone)]
pub struct QemuConfig {
    /// The display adapter.
    pub vga: Vga,
    /// Guest RAM in MiB.
    pub memory_mb: u32,
    /// SPICE password (`password-secret`); `None` → `disable-ticketing=on`.
    pub spice_password: Option<String>,
    /// Extra `-spice` options, e.g. `"image-compression=quic"`, `"jpeg-wan-compression=always"`.
    pub spice_options: Vec<String>,
    /// `-device qemu-xhci -device usb-tablet` (needed for SPICE client/absolute mouse mode).
    pub usb_tablet: bool,
    /// `-device AC97` with a SPICE audiodev.
    pub sound: bool,
    /// SPICE on this 127.0.0.1 TCP port instead of the UNIX socket. spice-server never
    /// compresses drawables sent over a UNIX socket (it assumes a local client), so the
    /// codec tests need TCP to see what a remote client gets.
    pub spice_tcp_port: Option<u16>,
    /// Appended to [`KERNEL_CMDLINE`].
    pub kernel_cmdline_extra: Option<String>,
    /// Extra raw QEMU arguments.
    pub extra_args: Vec<String>,
    /// Guest images; `None` → [`ensure_guest`].
    pub images: Option<GuestImages>,
}

impl Default for QemuConfig {
    fn default() -> Self {
        QemuConfig {
            vga: Vga::Qxl,
            memory_mb: 512,
            spice_password: None,
            spice_options: Vec::new(),
            usb_tablet: true,
            sound: true,
            spice_tcp_port: None,
            kernel_cmdline_extra: None,
            extra_args: Vec::new(),
            images: None,
        }
    }
}

/// A 127.0.0.1 TCP port that was free a moment ago, for [`QemuConfig::spice_tcp_port`].
/// Callers hold the QEMU lock, so no other test races for it.
pub fn free_tcp_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

impl QemuConfig {
    /// Defaults with the given display adapter.
    pub fn new(vga: Vga) -> Self {
        QemuConfig {
            vga,
            ..Default::default()
        }
    }
}

/// A position in the serial log: the number of complete lines before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SerialMark(pub usize);

/// The parsed `OLIVE-GUEST-READY` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// The whole line as printed.
    pub line: String,
    /// Framebuffer (width, height, bpp), `None` in VGA text mode.
    pub fb: Option<(u32, u32, u32)>,
    /// `dsp=1`: the guest has a sound device (`/dev/dsp`).
    pub dsp: bool,
    /// `dri=1`: the guest has a DRM device (`/dev/dri`).
    pub dri: bool,
    /// Time from QEMU launch to the marker being seen by the harness.
    pub elapsed: Duration,
}

impl Ready {
    fn parse(line: &str, elapsed: Duration) -> Ready {
        let mut fb = None;
        let (mut dsp, mut dri) = (false, false);
        for word in line.split_whitespace() {
            if let Some(v) = word.strip_prefix("fb=") {
                let p: Vec<u32> = v.split('x').filter_map(|n| n.parse().ok()).collect();
                if p.len() == 3 {
                    fb = Some((p[0], p[1], p[2]));
                }
            } else if let Some(v) = word.strip_prefix("dsp=") {
                dsp = v == "1";
            } else if let Some(v) = word.strip_prefix("dri=") {
                dri = v == "1";
            }
        }
        Ready {
            line: line.to_string(),
            fb,
            dsp,
            dri,
            elapsed,
        }
    }
}

struct Serial {
    path: PathBuf,
    file: Option<File>,
    partial: Vec<u8>,
    lines: Vec<String>,
}

impl Serial {
    fn refresh(&mut self) {
        if self.file.is_none() {
            self.file = File::open(&self.path).ok();
        }
        let Some(f) = self.file.as_mut() else { return };
        let mut buf = Vec::new();
        if f.read_to_end(&mut buf).is_err() {
            return;
        }
        for &b in &buf {
            if b == b'\n' {
                let mut line = String::from_utf8_lossy(&self.partial).into_owned();
                while line.ends_with('\r') {
                    line.pop();
                }
                self.lines.push(line);
                self.partial.clear();
            } else {
                self.partial.push(b);
            }
        }
    }
}

/// A running QEMU with the test guest. Dropping it kills QEMU (SIGTERM, then SIGKILL) and
/// removes its temporary directory.
pub struct Qemu {
    child: Child,
    /// Sockets, logs and dumps; removed (with anything still running there) on drop.
    dir: Scratch,
    spice_sock: PathBuf,
    qmp_sock: PathBuf,
    cmd_sock: PathBuf,
    qmp: Qmp,
    cmd: Option<UnixStream>,
    serial: Serial,
    cursor: SerialMark,
    ready: Option<Ready>,
    launched_at: Instant,
    config: QemuConfig,
    dumps: usize,
    _lock: Option<QemuLock>,
}

impl std::fmt::Debug for Qemu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qemu")
            .field("pid", &self.child.id())
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn qemu_binary() -> String {
    std::env::var("OLIVE_QEMU").unwrap_or_else(|_| "qemu-system-x86_64".to_string())
}

impl Qemu {
    /// Takes the cross-process QEMU lock, then launches (the lock is held until drop).
    pub fn launch_locked(config: &QemuConfig) -> Result<Qemu> {
        let lock = qemu_lock();
        let mut q = Qemu::launch(config)?;
        q._lock = Some(lock);
        Ok(q)
    }

    /// Launches QEMU (does not wait for the guest; see [`Qemu::wait_ready`]). The caller should
    /// hold [`qemu_lock`].
    pub fn launch(config: &QemuConfig) -> Result<Qemu> {
        let images = match &config.images {
            Some(i) => i.clone(),
            None => ensure_guest()?,
        };
        let dir = Scratch::new("qemu");
        let spice_sock = dir.join("spice.sock");
        let qmp_sock = dir.join("qmp.sock");
        let cmd_sock = dir.join("cmd.sock");
        let serial_log = dir.join("serial0.log");
        let qemu_log = dir.join("qemu.log");

        let mut spice = match config.spice_tcp_port {
            Some(port) => format!("addr=127.0.0.1,port={port}"),
            None => format!("unix=on,addr={}", spice_sock.display()),
        };
        let mut args: Vec<String> = Vec::new();
        match &config.spice_password {
            Some(pw) => {
                let pw_file = dir.join("spice.pw");
                std::fs::write(&pw_file, pw)?;
                std::fs::set_permissions(&pw_file, std::fs::Permissions::from_mode(0o600))?;
                args.push("-object".into());
                args.push(format!(
                    "secret,id=olive-spice-pw,file={}",
                    pw_file.display()
                ));
                spice.push_str(",password-secret=olive-spice-pw");
            }
            None => spice.push_str(",disable-ticketing=on"),
        }
        for o in &config.spice_options {
            spice.push(',');
            spice.push_str(o);
        }
        let mut cmdline = KERNEL_CMDLINE.to_string();
        if config.vga == Vga::StdFramebuffer {
            cmdline.push_str(" olive.fb=bochs");
        }
        if let Some(extra) = &config.kernel_cmdline_extra {
            cmdline.push(' ');
            cmdline.push_str(extra);
        }
        let s = |v: &str| v.to_string();
        args.extend([
            s("-name"),
            s("olive-test-guest"),
            s("-accel"),
            s("tcg"),
            s("-m"),
            config.memory_mb.to_string(),
            s("-vga"),
            s(match config.vga {
                Vga::Std | Vga::StdFramebuffer => "std",
                Vga::Qxl => "qxl",
            }),
            s("-nic"),
            s("none"),
            s("-display"),
            s("none"),
            s("-monitor"),
            s("none"),
            s("-parallel"),
            s("none"),
            s("-kernel"),
            images.kernel.display().to_string(),
            s("-initrd"),
            images.initrd.display().to_string(),
            s("-append"),
            cmdline,
            s("-chardev"),
            format!("file,id=olive-s0,path={}", serial_log.display()),
            s("-serial"),
            s("chardev:olive-s0"),
            s("-chardev"),
            format!(
                "socket,id=olive-s1,path={},server=on,wait=off",
                cmd_sock.display()
            ),
            s("-serial"),
            s("chardev:olive-s1"),
            s("-qmp"),
            format!("unix:{},server=on,wait=off", qmp_sock.display()),
            s("-spice"),
            spice,
        ]);
        if config.sound {
            args.extend([
                s("-audiodev"),
                s("spice,id=olive-snd"),
                s("-device"),
                s("AC97,audiodev=olive-snd"),
            ]);
        }
        if config.usb_tablet {
            args.extend([
                s("-device"),
                s("qemu-xhci,id=olive-xhci"),
                s("-device"),
                s("usb-tablet,bus=olive-xhci.0"),
            ]);
        }
        args.extend(config.extra_args.iter().cloned());

        let log = File::create(&qemu_log)?;
        let launched_at = Instant::now();
        let mut child = Command::new(qemu_binary())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawn {}", qemu_binary()))?;

        // Wait for the sockets (QEMU creates them before running the guest).
        let deadline = Instant::now() + Duration::from_secs(20);
        let qmp = loop {
            if let Some(status) = child.try_wait()? {
                let log = std::fs::read_to_string(&qemu_log).unwrap_or_default();
                bail!("QEMU exited at start ({status}): {log}\nargs: {args:?}");
            }
            if qmp_sock.exists() {
                match Qmp::connect(&qmp_sock, Duration::from_secs(5)) {
                    Ok(q) => break q,
                    Err(e) if Instant::now() > deadline => {
                        kill_child(&mut child);
                        return Err(e);
                    }
                    Err(_) => {}
                }
            }
            if Instant::now() > deadline {
                kill_child(&mut child);
                bail!("QEMU did not create {} within 20 s", qmp_sock.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut q = Qemu {
            child,
            dir,
            spice_sock,
            qmp_sock,
            cmd_sock,
            qmp,
            cmd: None,
            serial: Serial {
                path: serial_log,
                file: None,
                partial: Vec::new(),
                lines: Vec::new(),
            },
            cursor: SerialMark(0),
            ready: None,
            launched_at,
            config: config.clone(),
            dumps: 0,
            _lock: None,
        };
        q.connect_cmd()?;
        Ok(q)
    }

    fn connect_cmd(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match UnixStream::connect(&self.cmd_sock) {
                Ok(s) => {
                    s.set_write_timeout(Some(Duration::from_secs(10)))?;
                    self.cmd = Some(s);
                    return Ok(());
                }
                Err(e) if Instant::now() > deadline => {
                    return Err(e).with_context(|| format!("connect {}", self.cmd_sock.display()))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Where a client reaches SPICE: the TCP port if one was configured, else the socket.
    pub fn spice_target(&self) -> spice_snapshot::Target {
        match self.config.spice_tcp_port {
            Some(port) => spice_snapshot::Target::Tcp(format!("127.0.0.1:{port}")),
            None => spice_snapshot::Target::Unix(self.spice_sock.clone()),
        }
    }

    /// The SPICE server's UNIX socket (`spice+unix://` URI path).
    pub fn spice_socket(&self) -> &Path {
        &self.spice_sock
    }

    /// The QMP socket (the harness is already connected to it; QEMU accepts one client).
    pub fn qmp_socket(&self) -> &Path {
        &self.qmp_sock
    }

    /// The file receiving the guest's ttyS0.
    pub fn serial_log_path(&self) -> &Path {
        &self.serial.path
    }

    /// The temporary directory (sockets, logs, dumps); removed on drop.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// QEMU's stdout/stderr so far.
    pub fn qemu_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("qemu.log")).unwrap_or_default()
    }

    /// What this QEMU was started with.
    pub fn config(&self) -> &QemuConfig {
        &self.config
    }

    /// QEMU's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// When QEMU was spawned (the start of boot-time figures).
    pub fn launched_at(&self) -> Instant {
        self.launched_at
    }

    /// The QMP session.
    pub fn qmp(&mut self) -> &mut Qmp {
        &mut self.qmp
    }

    /// Whether the QEMU process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    // ------------------------------------------------------------------ serial

    fn check_alive(&mut self) -> Result<()> {
        if let Ok(Some(status)) = self.child.try_wait() {
            bail!("QEMU exited ({status}); log: {}", self.qemu_log());
        }
        Ok(())
    }

    /// The mark after every line received so far.
    pub fn serial_mark(&mut self) -> SerialMark {
        self.serial.refresh();
        SerialMark(self.serial.lines.len())
    }

    /// Every complete line received so far.
    pub fn serial_lines(&mut self) -> Vec<String> {
        self.serial.refresh();
        self.serial.lines.clone()
    }

    /// Complete lines received after `mark`.
    pub fn serial_since(&mut self, mark: SerialMark) -> Vec<String> {
        self.serial.refresh();
        self.serial
            .lines
            .get(mark.0..)
            .map(<[String]>::to_vec)
            .unwrap_or_default()
    }

    /// Waits for a line after `mark` for which `pred` holds; returns it and the mark just
    /// after it.
    pub fn wait_serial_where(
        &mut self,
        mark: SerialMark,
        mut pred: impl FnMut(&str) -> bool,
        timeout: Duration,
        what: &str,
    ) -> Result<(String, SerialMark)> {
        let deadline = Instant::now() + timeout;
        let mut next = mark.0;
        loop {
            self.serial.refresh();
            while next < self.serial.lines.len() {
                if pred(&self.serial.lines[next]) {
                    return Ok((self.serial.lines[next].clone(), SerialMark(next + 1)));
                }
                next += 1;
            }
            self.check_alive()?;
            if Instant::now() >= deadline {
                let tail: Vec<&String> = self.serial.lines.iter().rev().take(20).rev().collect();
                bail!("timed out after {timeout:?} waiting for {what} on the guest serial port; last lines: {tail:#?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for a line containing `pattern` after `mark`; returns it and the mark after it.
    pub fn wait_for_serial_since(
        &mut self,
        mark: SerialMark,
        pattern: &str,
        timeout: Duration,
    ) -> Result<(String, SerialMark)> {
        self.wait_serial_where(
            mark,
            |l| l.contains(pattern),
            timeout,
            &format!("{pattern:?}"),
        )
    }

    /// Waits for a line containing `pattern` after the harness's internal cursor, and moves
    /// the cursor past it (so successive calls consume lines in order).
    pub fn wait_for_serial(&mut self, pattern: &str, timeout: Duration) -> Result<String> {
        let (line, mark) = self.wait_for_serial_since(self.cursor, pattern, timeout)?;
        self.cursor = mark;
        Ok(line)
    }

    /// Waits for `OLIVE-GUEST-READY` (once; later calls return the cached result).
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<Ready> {
        if let Some(r) = &self.ready {
            return Ok(r.clone());
        }
        let (line, mark) = self.wait_serial_where(
            SerialMark(0),
            |l| l.starts_with("OLIVE-GUEST-READY"),
            timeout,
            "OLIVE-GUEST-READY",
        )?;
        let ready = Ready::parse(&line, self.launched_at.elapsed());
        self.cursor = self.cursor.max(mark);
        self.ready = Some(ready.clone());
        Ok(ready)
    }

    /// Sends `cmd` on ttyS1 and waits for its answer; returns `Ok(Ok(line))` for `OK ...` and
    /// `Ok(Err(line))` for `ERR ...`. Waits for the ready marker first (input sent before the
    /// guest opens ttyS1 would be lost).
    pub fn try_command(
        &mut self,
        cmd: &str,
        timeout: Duration,
    ) -> Result<std::result::Result<String, String>> {
        let start = Instant::now();
        self.wait_ready(timeout)?;
        let word = cmd
            .split_whitespace()
            .next()
            .ok_or_else(|| anyhow!("empty command"))?
            .to_string();
        let mark = self.serial_mark();
        let stream = self
            .cmd
            .as_mut()
            .ok_or_else(|| anyhow!("command port not connected"))?;
        stream
            .write_all(format!("{cmd}\n").as_bytes())
            .with_context(|| format!("send command {cmd:?}"))?;
        let ok = format!("OK {word}");
        let err = format!("ERR {word}");
        let matches = |l: &str, p: &str| {
            l.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', ':']))
        };
        let remaining = timeout.saturating_sub(start.elapsed());
        let (line, after) = self.wait_serial_where(
            mark,
            |l| matches(l, &ok) || matches(l, &err),
            remaining,
            &format!("the answer to {cmd:?}"),
        )?;
        self.cursor = self.cursor.max(after);
        Ok(if line.starts_with("OK") {
            Ok(line)
        } else {
            Err(line)
        })
    }

    /// Like [`Qemu::try_command`] but an `ERR` answer is an error.
    pub fn command(&mut self, cmd: &str, timeout: Duration) -> Result<String> {
        match self.try_command(cmd, timeout)? {
            Ok(line) => Ok(line),
            Err(line) => bail!("guest refused {cmd:?}: {line}"),
        }
    }

    // ------------------------------------------------------------------ screen

    /// QMP screendump into the temporary directory, loaded as RGBA.
    pub fn screendump(&mut self) -> Result<Rgba> {
        self.dumps += 1;
        let path = self.dir.join(format!("dump-{}.ppm", self.dumps));
        let img = self.qmp.screendump(&path);
        let _ = std::fs::remove_file(&path);
        img
    }

    /// Takes screendumps until `pred` accepts one (guest drawing reaches the device
    /// asynchronously), or fails after `timeout` returning the last dump's description.
    pub fn screendump_until(
        &mut self,
        mut pred: impl FnMut(&Rgba) -> bool,
        timeout: Duration,
    ) -> Result<Rgba> {
        let deadline = Instant::now() + timeout;
        loop {
            let img = self.screendump()?;
            if pred(&img) {
                return Ok(img);
            }
            if Instant::now() >= deadline {
                let path = self.dir.path().with_extension("last-dump.ppm");
                let _ = img.save_ppm(&path);
                bail!("screendump did not reach the expected state within {timeout:?} (last dump saved to {})", path.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Asks QEMU to quit via QMP and waits up to `timeout` for it to exit.
    pub fn shutdown(mut self, timeout: Duration) -> Result<()> {
        let _ = self.qmp.quit();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(anyhow!("QEMU did not exit within {timeout:?} after quit"))
    }
}

/// SIGTERM (QEMU then removes its sockets), SIGKILL after 3 s, and reaping.
fn kill_child(child: &mut Child) {
    process::stop_child(child, Duration::from_secs(3));
}

impl Drop for Qemu {
    fn drop(&mut self) {
        self.cmd = None;
        kill_child(&mut self.child);
        // The scratch directory goes with `self.dir`, the QEMU lock after it.
    }
}
