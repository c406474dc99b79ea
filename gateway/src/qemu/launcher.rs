//! Runs one VM under QEMU as a child process.
//!
//! Everything an instance owns lives in one directory, `<data_dir>/instances/<id>/`, made
//! with mode 0700 before QEMU starts: the qcow2 overlay over the read-only pristine disk,
//! the SPICE and QMP sockets, the SPICE password file and `qemu.pid`. Because the
//! directory is private, the sockets QEMU creates with its umask are never reachable by
//! other users, and destroying an instance is one `remove_dir_all`. `qemu.pid` lets a
//! restarted gateway find and kill QEMUs it lost track of ([`reap_orphans`]).

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::catalog::{Display, Machine};
use crate::packages::olive::MemoryImage;
use crate::qemu::accel::Resolved;
use crate::qemu::qmp::{Qmp, QmpError};

/// How long QEMU may take from spawn to QMP readiness before the launch is abandoned.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("QEMU binary {0} not found")]
    QemuMissing(PathBuf),
    #[error("qemu-img binary {0} not found (install qemu-utils)")]
    QemuImgMissing(PathBuf),
    #[error("unsupported machine type {0:?}")]
    UnsupportedMachine(String),
    #[error("disk image {path}: {message}")]
    Disk { path: PathBuf, message: String },
    #[error("QEMU exited during startup ({status}): {log}")]
    Exited { status: String, log: String },
    #[error("QEMU did not become ready within {0:?}")]
    Timeout(Duration),
    /// The memory image could not be resumed (QEMU rejected it, it is corrupt, or the
    /// resumed screen stayed black); the caller cold-boots instead.
    #[error("memory image rejected: {0}")]
    MemoryRejected(String),
    /// A remote package could not be fetched (after bounded retries); shown to the visitor.
    #[error("fetching the package: {0}")]
    Fetch(String),
    #[error("QMP: {0}")]
    Qmp(#[from] QmpError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LaunchError {
    let what = what.into();
    move |source| LaunchError::Io { what, source }
}

/// The files of one instance.
#[derive(Clone, Debug)]
pub struct InstancePaths {
    pub dir: PathBuf,
    pub overlay: PathBuf,
    pub spice_socket: PathBuf,
    pub qmp_socket: PathBuf,
    /// A second QMP monitor, only for handing viewer sockets to SPICE
    /// ([`crate::qemu::handover`]).
    pub spice_monitor: PathBuf,
    pub password_file: PathBuf,
    pub pid_file: PathBuf,
    pub serial_log: PathBuf,
    pub qemu_log: PathBuf,
    /// The `unix:` migration socket (saving and resuming memory images).
    pub migration_socket: PathBuf,
    /// Where `screendump` writes.
    pub screendump: PathBuf,
}

impl InstancePaths {
    pub fn new(dir: PathBuf) -> InstancePaths {
        InstancePaths {
            overlay: dir.join("disk.qcow2"),
            spice_socket: dir.join("spice.sock"),
            qmp_socket: dir.join("qmp.sock"),
            spice_monitor: dir.join("spice-mon.sock"),
            password_file: dir.join("spice.pw"),
            pid_file: dir.join("qemu.pid"),
            serial_log: dir.join("serial.log"),
            qemu_log: dir.join("qemu.log"),
            migration_socket: dir.join("migrate.sock"),
            screendump: dir.join("screen.ppm"),
            dir,
        }
    }

    /// Creates the directory with mode 0700 (its parent must exist).
    pub fn create_dir(&self) -> Result<(), LaunchError> {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&self.dir)
            .map_err(io(format!("create {}", self.dir.display())))
    }
}

/// A QEMU that reached readiness.
#[derive(Debug)]
pub struct Launched {
    pub child: Child,
    pub pid: u32,
    pub elapsed: Duration,
}

/// Starts VMs with fixed binaries and accelerator.
#[derive(Clone, Debug)]
pub struct Launcher {
    pub qemu: PathBuf,
    pub qemu_img: PathBuf,
    pub accel: Resolved,
}

/// QEMU's option syntax splits on commas; a literal comma is written twice.
fn esc(p: &Path) -> String {
    p.display().to_string().replace(',', ",,")
}

/// The QEMU command line for `machine` (without the binary). Pure, so it can be tested.
pub fn qemu_args(
    machine: &Machine,
    paths: &InstancePaths,
    accel: Resolved,
    name: &str,
    incoming: bool,
) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
    push(&["-name", name, "-nodefaults", "-no-user-config"]);
    // Seccomp: no new privileges, no spawning helpers, no obsolete syscalls.
    push(&[
        "-sandbox",
        "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
    ]);
    if let Some(mt) = &machine.machine_type {
        push(&["-machine", mt]);
    }
    push(&["-accel", accel.as_arg()]);
    push(&["-m", &machine.memory_mb.to_string()]);
    push(&["-smp", &machine.vcpus.to_string()]);
    push(&[
        "-vga",
        match machine.display {
            Display::Std => "std",
            Display::Qxl => "qxl",
        },
    ]);
    push(&["-display", "none", "-monitor", "none", "-parallel", "none"]);
    let drive = format!(
        "file={},format=qcow2,if=ide,index=0,media=disk",
        esc(&paths.overlay)
    );
    push(&["-drive", &drive]);
    if let Some(k) = &machine.kernel {
        push(&["-kernel", &k.display().to_string()]);
        if let Some(i) = &machine.initrd {
            push(&["-initrd", &i.display().to_string()]);
        }
        if let Some(ap) = &machine.append {
            push(&["-append", ap]);
        }
        // A serial console log is the only way to see a direct-boot kernel's complaints.
        let chardev = format!("file,id=olive-serial,path={}", esc(&paths.serial_log));
        push(&["-chardev", &chardev, "-serial", "chardev:olive-serial"]);
    } else {
        push(&["-serial", "none"]);
    }
    if machine.network {
        // An isolated SLIRP segment: the guest gets a NIC and DHCP, but `restrict=on`
        // drops every packet towards the host and the outside, so 10.0.2.2 (the host's
        // loopback in plain SLIRP, where the gateway API listens) is unreachable.
        push(&[
            "-netdev",
            "user,id=olive-net,restrict=on",
            "-device",
            "e1000,netdev=olive-net",
        ]);
    } else {
        push(&["-nic", "none"]);
    }
    let secret = format!(
        "secret,id=olive-spice-pw,file={}",
        esc(&paths.password_file)
    );
    push(&["-object", &secret]);
    let spice = format!(
        "unix=on,addr={},password-secret=olive-spice-pw,disable-copy-paste=on,disable-agent-file-xfer=on",
        esc(&paths.spice_socket)
    );
    push(&["-spice", &spice]);
    if let Some(dev) = &machine.sound {
        push(&["-audiodev", "spice,id=olive-snd"]);
        match dev.as_str() {
            "intel-hda" => push(&[
                "-device",
                "intel-hda,id=olive-hda",
                "-device",
                "hda-duplex,bus=olive-hda.0,audiodev=olive-snd",
            ]),
            other => {
                let d = format!("{other},audiodev=olive-snd");
                push(&["-device", &d]);
            }
        }
    }
    if machine.tablet {
        push(&[
            "-device",
            "qemu-xhci,id=olive-xhci",
            "-device",
            "usb-tablet,bus=olive-xhci.0",
        ]);
    }
    let qmp = format!("unix:{},server=on,wait=off", esc(&paths.qmp_socket));
    push(&["-qmp", &qmp]);
    let mon = format!(
        "socket,id=olive-spice-mon,path={},server=on,wait=off",
        esc(&paths.spice_monitor)
    );
    push(&[
        "-chardev",
        &mon,
        "-mon",
        "chardev=olive-spice-mon,mode=control",
    ]);
    if incoming {
        // Wait for `migrate-incoming`, and stay paused after it so the image's checksum
        // is verified before the guest runs a single instruction.
        push(&["-incoming", "defer", "-S"]);
    }
    a
}

impl Launcher {
    /// The pristine image's format, from `qemu-img info`.
    async fn disk_format(&self, disk: &Path) -> Result<String, LaunchError> {
        let out = Command::new(&self.qemu_img)
            .args(["info", "--output=json", "-U"])
            .arg(disk)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => LaunchError::QemuImgMissing(self.qemu_img.clone()),
                _ => LaunchError::Io {
                    what: format!("run {}", self.qemu_img.display()),
                    source: e,
                },
            })?;
        if !out.status.success() {
            return Err(LaunchError::Disk {
                path: disk.to_path_buf(),
                message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| LaunchError::Disk {
                path: disk.to_path_buf(),
                message: format!("qemu-img info: {e}"),
            })?;
        v.get("format")
            .and_then(|f| f.as_str())
            .filter(|f| f.bytes().all(|b| b.is_ascii_alphanumeric()))
            .map(str::to_string)
            .ok_or_else(|| LaunchError::Disk {
                path: disk.to_path_buf(),
                message: "qemu-img info gave no format".into(),
            })
    }

    /// Creates the instance's qcow2 overlay over `disk` unless it exists (a VM stopped and
    /// started again keeps its changes, as in VMNetX).
    pub async fn ensure_overlay(&self, disk: &Path, overlay: &Path) -> Result<(), LaunchError> {
        if overlay.exists() {
            return Ok(());
        }
        let disk = std::path::absolute(disk).map_err(io(format!("resolve {}", disk.display())))?;
        if !disk.is_file() {
            return Err(LaunchError::Disk {
                path: disk,
                message: "not found".into(),
            });
        }
        let fmt = self.disk_format(&disk).await?;
        self.create_overlay(disk.as_os_str(), &fmt, overlay).await
    }

    /// Creates `overlay` over `backing` (a file or a QEMU URI such as an NBD export) whose
    /// format is given, never probed: a raw image must not be read as a qcow2 header.
    pub async fn create_overlay(
        &self,
        backing: &std::ffi::OsStr,
        fmt: &str,
        overlay: &Path,
    ) -> Result<(), LaunchError> {
        let disk = PathBuf::from(backing);
        let out = Command::new(&self.qemu_img)
            .args(["create", "-q", "-f", "qcow2", "-F", fmt, "-b"])
            .arg(backing)
            .arg(overlay)
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(io(format!("run {}", self.qemu_img.display())))?;
        if !out.status.success() {
            return Err(LaunchError::Disk {
                path: disk,
                message: format!(
                    "qemu-img create: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        Ok(())
    }

    /// Launches QEMU for `machine` in `paths.dir` (which must exist), booting it from
    /// scratch, and waits until QMP says the VM runs and SPICE is enabled. On error
    /// nothing is left running.
    pub async fn launch(
        &self,
        machine: &Machine,
        paths: &InstancePaths,
        password: &str,
        name: &str,
    ) -> Result<Launched, LaunchError> {
        let t0 = Instant::now();
        let (mut child, pid) = self.spawn(machine, paths, password, name, false).await?;
        let deadline = t0 + READY_TIMEOUT;
        let ready = async {
            let mut qmp = self
                .connect_qmp(&mut child, paths, machine, deadline)
                .await?;
            wait_running(&mut qmp, deadline).await?;
            check_spice(&mut qmp, paths).await
        }
        .await;
        finish(child, pid, t0, ready).await
    }

    /// Launches QEMU for `machine` and resumes `image` into it, calling `progress` with
    /// the fraction loaded. Fails with [`LaunchError::MemoryRejected`] if QEMU refuses the
    /// image, the image is corrupt, or the screen is still entirely black a second after
    /// the VM resumed (VMNetX issue #30: QEMU spinning on a bad image); the caller then
    /// cold-boots. On error nothing is left running.
    pub async fn resume(
        &self,
        machine: &Machine,
        image: &MemoryImage,
        paths: &InstancePaths,
        password: &str,
        name: &str,
        progress: &(dyn Fn(f64) + Send + Sync),
    ) -> Result<Launched, LaunchError> {
        let t0 = Instant::now();
        let (mut child, pid) = self.spawn(machine, paths, password, name, true).await?;
        let ready = async {
            let mut qmp = self
                .connect_qmp(&mut child, paths, machine, t0 + READY_TIMEOUT)
                .await?;
            crate::qemu::migration::load(&mut qmp, &paths.migration_socket, image, progress)
                .await
                .map_err(|e| match e {
                    crate::qemu::migration::MigrationError::Source(m) => LaunchError::Fetch(m),
                    e => LaunchError::MemoryRejected(e.to_string()),
                })?;
            let rejected = |e: QmpError| LaunchError::MemoryRejected(e.to_string());
            qmp.execute("cont", None).await.map_err(rejected)?;
            let deadline = Instant::now() + READY_TIMEOUT;
            wait_running(&mut qmp, deadline)
                .await
                .map_err(|e| match e {
                    LaunchError::Qmp(q) => rejected(q),
                    other => other,
                })?;
            check_spice(&mut qmp, paths).await?;
            check_not_black(&mut qmp, paths).await
        }
        .await;
        finish(child, pid, t0, ready).await
    }

    /// Creates the overlay and password file, then starts QEMU (not yet ready).
    async fn spawn(
        &self,
        machine: &Machine,
        paths: &InstancePaths,
        password: &str,
        name: &str,
        incoming: bool,
    ) -> Result<(Child, u32), LaunchError> {
        if machine.standalone_disk {
            self.check_standalone(&machine.disk).await?;
        }
        self.ensure_overlay(&machine.disk, &paths.overlay).await?;
        write_private(&paths.password_file, password.as_bytes())?;
        let log = std::fs::File::create(&paths.qemu_log)
            .map_err(io(format!("create {}", paths.qemu_log.display())))?;
        let log2 = log
            .try_clone()
            .map_err(io(format!("dup {}", paths.qemu_log.display())))?;
        let args = qemu_args(machine, paths, self.accel, name, incoming);
        tracing::debug!(?args, "spawning QEMU");
        let mut child = Command::new(&self.qemu)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            // Its own process group: a Ctrl-C meant for the gateway must not kill VMs
            // behind the registry's back (the gateway destroys them itself).
            .process_group(0)
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => LaunchError::QemuMissing(self.qemu.clone()),
                _ => LaunchError::Io {
                    what: format!("spawn {}", self.qemu.display()),
                    source: e,
                },
            })?;
        let pid = child.id().unwrap_or(0);
        if let Err(e) = write_private(&paths.pid_file, format!("{pid}\n").as_bytes()) {
            kill_child(&mut child).await;
            return Err(e);
        }
        Ok((child, pid))
    }

    /// A package's disk must not name a backing file (it could be any file we can read).
    async fn check_standalone(&self, disk: &Path) -> Result<(), LaunchError> {
        let (img, d) = (self.qemu_img.clone(), disk.to_path_buf());
        let r = tokio::task::spawn_blocking(move || {
            crate::packages::olive::validate::check_standalone_qcow2(&img, &d)
        })
        .await
        .map_err(|e| LaunchError::Disk {
            path: disk.to_path_buf(),
            message: e.to_string(),
        })?;
        r.map_err(|message| LaunchError::Disk {
            path: disk.to_path_buf(),
            message,
        })
    }

    /// Connects to QMP once QEMU has created its socket (before it runs the guest).
    pub(crate) async fn connect_qmp(
        &self,
        child: &mut Child,
        paths: &InstancePaths,
        machine: &Machine,
        deadline: Instant,
    ) -> Result<Qmp, LaunchError> {
        let exited = |status: ExitStatus| {
            let log = std::fs::read_to_string(&paths.qemu_log).unwrap_or_default();
            if log.contains("unsupported machine type") {
                return LaunchError::UnsupportedMachine(
                    machine.machine_type.clone().unwrap_or_default(),
                );
            }
            LaunchError::Exited {
                status: status.to_string(),
                log: log.trim().chars().take(2000).collect(),
            }
        };
        loop {
            if let Some(status) = child.try_wait().map_err(io("wait for QEMU"))? {
                return Err(exited(status));
            }
            if Instant::now() > deadline {
                return Err(LaunchError::Timeout(READY_TIMEOUT));
            }
            if paths.qmp_socket.exists() {
                match Qmp::connect(&paths.qmp_socket, Duration::from_secs(10)).await {
                    Ok(q) => return Ok(q),
                    Err(e) => tracing::debug!("QMP not ready yet: {e}"),
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// Hands back a ready QEMU, or kills it and passes the error on.
async fn finish(
    mut child: Child,
    pid: u32,
    t0: Instant,
    ready: Result<(), LaunchError>,
) -> Result<Launched, LaunchError> {
    match ready {
        Ok(()) => Ok(Launched {
            child,
            pid,
            elapsed: t0.elapsed(),
        }),
        Err(e) => {
            kill_child(&mut child).await;
            Err(e)
        }
    }
}

async fn wait_running(qmp: &mut Qmp, deadline: Instant) -> Result<(), LaunchError> {
    loop {
        let status = qmp.execute("query-status", None).await?;
        if status.get("status").and_then(|s| s.as_str()) == Some("running") {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(LaunchError::Timeout(READY_TIMEOUT));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn check_spice(qmp: &mut Qmp, paths: &InstancePaths) -> Result<(), LaunchError> {
    let spice = qmp.execute("query-spice", None).await?;
    if spice.get("enabled").and_then(|e| e.as_bool()) != Some(true) {
        return Err(LaunchError::Qmp(QmpError::Protocol(format!(
            "SPICE not enabled: {spice}"
        ))));
    }
    // Belt and braces: the directory is already 0700.
    std::fs::set_permissions(&paths.spice_socket, std::fs::Permissions::from_mode(0o600))
        .map_err(io(format!("chmod {}", paths.spice_socket.display())))?;
    std::fs::set_permissions(&paths.spice_monitor, std::fs::Permissions::from_mode(0o600))
        .map_err(io(format!("chmod {}", paths.spice_monitor.display())))
}

/// How long a resumed screen may stay entirely black (VMNetX's client waited 1000 ms).
pub const BLACK_SCREEN_GRACE: Duration = Duration::from_secs(1);

/// VMNetX issue #30, checked on the server (where the screen is known before any viewer
/// draws it): a resumed VM whose screen is entirely black for [`BLACK_SCREEN_GRACE`]
/// loaded an image it cannot run. A good image passes on the first screendump, so this
/// costs one screendump, not a second.
async fn check_not_black(qmp: &mut Qmp, paths: &InstancePaths) -> Result<(), LaunchError> {
    let until = Instant::now() + BLACK_SCREEN_GRACE;
    let file = paths.screendump.display().to_string();
    loop {
        qmp.execute("screendump", Some(serde_json::json!({ "filename": file })))
            .await?;
        let data = std::fs::read(&paths.screendump).unwrap_or_default();
        let _ = std::fs::remove_file(&paths.screendump);
        match crate::qemu::migration::ppm_all_black(&data) {
            Some(false) => return Ok(()),
            None => {
                tracing::warn!("unreadable screendump; skipping the black-screen check");
                return Ok(());
            }
            Some(true) if Instant::now() >= until => {
                return Err(LaunchError::MemoryRejected(
                    "the screen is still entirely black after resuming".into(),
                ))
            }
            Some(true) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Writes `bytes` to a new file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), LaunchError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io(format!("create {}", path.display())))?;
    f.write_all(bytes)
        .map_err(io(format!("write {}", path.display())))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine {
        Machine {
            disk: "/d/disk.qcow2".into(),
            standalone_disk: false,
            memory_image: None,
            memory_mb: 256,
            vcpus: 2,
            machine_type: Some("pc".into()),
            display: Display::Qxl,
            sound: Some("AC97".into()),
            limit_mouse_rate: None,
            kernel: None,
            initrd: None,
            append: None,
            network: false,
            tablet: true,
            remote: None,
        }
    }

    #[test]
    fn args_are_locked_down() {
        let p = InstancePaths::new("/data/instances/x,y".into());
        let a = qemu_args(&machine(), &p, Resolved::Tcg, "olive-x", false).join(" ");
        for want in [
            "-nodefaults",
            "-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
            "-accel tcg",
            "-m 256",
            "-smp 2",
            "-machine pc",
            "-vga qxl",
            "-display none",
            "-monitor none",
            "-serial none",
            "-nic none",
            "-audiodev spice,id=olive-snd",
            "-device AC97,audiodev=olive-snd",
            "file=/data/instances/x,,y/disk.qcow2",
            "password-secret=olive-spice-pw",
        ] {
            assert!(a.contains(want), "missing {want:?} in {a}");
        }
        assert!(!a.contains("nographic"));
    }

    #[test]
    fn resume_differs_only_by_incoming() {
        // A migration stream loads only into the machine it was saved from: the resume
        // command line is the cold one plus `-incoming defer -S`, nothing else.
        let p = InstancePaths::new("/x".into());
        let cold = qemu_args(&machine(), &p, Resolved::Tcg, "n", false);
        let warm = qemu_args(&machine(), &p, Resolved::Tcg, "n", true);
        assert_eq!(warm[..cold.len()], cold[..]);
        assert_eq!(warm[cold.len()..], ["-incoming", "defer", "-S"]);
    }

    #[test]
    fn network_is_restricted() {
        let mut m = machine();
        m.network = true;
        let p = InstancePaths::new("/x".into());
        let a = qemu_args(&m, &p, Resolved::Kvm, "n", false).join(" ");
        assert!(a.contains("user,id=olive-net,restrict=on"), "{a}");
        assert!(!a.contains("-nic none"));
    }
}
