//! Runs one VM under QEMU as a child process and waits until it is ready: QMP says the
//! guest runs and SPICE is enabled (and, for a resumed memory image, the screen is not
//! black). On any error nothing is left running.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::time::Instant;

use super::accel::Resolved;
use super::args::qemu_args;
use super::img::{self, ImgError};
use super::migration::{self, MigrationError};
use super::paths::InstancePaths;
use super::process::kill_child;
use super::qmp::{Qmp, QmpError};
use super::screen::{check_not_black, ScreenError};
use crate::model::{Disk, DiskFormat, Machine, Media, MemoryImage};

/// How long QEMU may take from spawn to QMP readiness before the launch is abandoned.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a memory image could not be resumed; the caller cold-boots instead.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    /// The migration itself failed or QEMU refused the stream.
    #[error(transparent)]
    Migration(MigrationError),
    /// The monitor failed while the image loaded.
    #[error(transparent)]
    Qmp(QmpError),
    /// The image resumed but the screen stayed black (see `qemu::screen`).
    #[error(transparent)]
    Screen(ScreenError),
}

/// Why a VM could not be started; the text goes into `startup-failed` and the log.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The QEMU binary is not there.
    #[error("QEMU binary {0} not found")]
    QemuMissing(PathBuf),
    /// QEMU does not know the machine's `-machine` type.
    #[error("unsupported machine type {0:?}")]
    UnsupportedMachine(String),
    /// The configured disk file does not exist.
    #[error("disk image {0}: not found")]
    DiskMissing(PathBuf),
    // The qemu-img error is part of the message, so it is not also a `source`.
    /// `qemu-img` refused the disk or could not make the overlay.
    #[error("disk image {disk}: {cause}")]
    Disk {
        /// The disk as named by the machine.
        disk: String,
        /// What qemu-img said.
        cause: ImgError,
    },
    /// `log` is QEMU's own output.
    #[error("QEMU exited during startup ({status}): {log}")]
    Exited {
        /// How QEMU ended.
        status: ExitStatus,
        /// The start of `qemu.log` (at most 2000 characters).
        log: String,
    },
    /// QMP did not answer within [`READY_TIMEOUT`].
    #[error("QEMU did not become ready within {0:?}")]
    Timeout(Duration),
    /// The memory image could not be resumed and no cold boot was attempted.
    #[error("memory image rejected: {0}")]
    MemoryRejected(Rejection),
    /// Reading a remote memory image failed: the launch fails (a cold boot would hit the
    /// same network); the text is shown to the visitor.
    #[error("fetching the memory image: {0}")]
    MemorySource(std::io::Error),
    /// QMP failed after the monitor was up.
    #[error("QMP: {0}")]
    Qmp(#[from] QmpError),
    /// QEMU's `query-spice` answer.
    #[error("SPICE not enabled: {0}")]
    SpiceDisabled(serde_json::Value),
    /// A file of the instance directory could not be made or read.
    #[error("{what} {path}: {source}")]
    Io {
        /// Which file (for the log).
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> LaunchError {
    let path = path.to_path_buf();
    move |source| LaunchError::Io { what, path, source }
}

/// A QEMU that reached readiness.
#[derive(Debug)]
pub struct Launched {
    /// The QEMU process, owned so it dies with its handle.
    pub child: Child,
    /// Its pid, for `qemu.pid`, `/api/instances` and signals.
    pub pid: u32,
    /// From spawn to QMP readiness (the launch histogram of `/metrics`).
    pub elapsed: Duration,
}

/// Starts VMs with fixed binaries and accelerator.
#[derive(Clone, Debug)]
pub struct Launcher {
    /// The `qemu-system-x86_64` to run.
    pub qemu: PathBuf,
    /// The `qemu-img` for overlays and disk checks.
    pub qemu_img: PathBuf,
    /// The accelerator every VM gets.
    pub accel: Resolved,
}

impl Launcher {
    /// Checks an untrusted disk and creates the instance's qcow2 overlay over it unless the
    /// overlay exists (a VM stopped and started again keeps its changes, as in VMNetX).
    pub async fn ensure_overlay(&self, disk: &Disk, overlay: &Path) -> Result<(), LaunchError> {
        let (backing, format, check) = match disk {
            Disk::File(p) => (
                std::path::absolute(p).map_err(io("resolve", p))?,
                None,
                false,
            ),
            Disk::Package(p) => (
                std::path::absolute(p).map_err(io("resolve", p))?,
                Some(DiskFormat::Qcow2),
                true,
            ),
            Disk::Export { uri, format } => {
                (uri.into(), Some(*format), *format == DiskFormat::Qcow2)
            }
        };
        let disk_err = |cause| LaunchError::Disk {
            disk: backing.display().to_string(),
            cause,
        };
        if check {
            img::check_standalone(&self.qemu_img, backing.as_os_str())
                .await
                .map_err(disk_err)?;
        }
        if overlay.exists() {
            return Ok(());
        }
        let format = match format {
            Some(f) => f.name().to_owned(),
            None if !backing.is_file() => return Err(LaunchError::DiskMissing(backing)),
            None => img::probe_format(&self.qemu_img, &backing)
                .await
                .map_err(disk_err)?,
        };
        img::create_overlay(&self.qemu_img, backing.as_os_str(), &format, overlay)
            .await
            .map_err(disk_err)
    }

    /// Creates the overlays over the machine's floppy and CD-ROM images unless they exist,
    /// as for the disk. The images are declared raw, never probed: a floppy image whose
    /// bytes look like a qcow2 header naming a backing file must stay a floppy.
    pub async fn ensure_media_overlays(
        &self,
        media: &Media,
        paths: &InstancePaths,
    ) -> Result<(), LaunchError> {
        for (image, overlay) in [
            (&media.floppy, &paths.floppy_overlay),
            (&media.cdrom, &paths.cdrom_overlay),
        ] {
            let Some(image) = image else { continue };
            if overlay.exists() {
                continue;
            }
            let backing = std::path::absolute(image).map_err(io("resolve", image))?;
            if !backing.is_file() {
                return Err(LaunchError::DiskMissing(backing));
            }
            img::create_overlay(&self.qemu_img, backing.as_os_str(), "raw", overlay)
                .await
                .map_err(|cause| LaunchError::Disk {
                    disk: backing.display().to_string(),
                    cause,
                })?;
        }
        Ok(())
    }

    /// Launches QEMU for `machine` in `paths.dir` (which must exist), booting it from
    /// scratch, and waits until QMP says the VM runs and SPICE is enabled.
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
    /// cold-boots.
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
            migration::load(&mut qmp, &paths.migration_socket, image, progress)
                .await
                .map_err(|e| match e {
                    MigrationError::Source(e) => LaunchError::MemorySource(e),
                    e => LaunchError::MemoryRejected(Rejection::Migration(e)),
                })?;
            let rejected = |e| LaunchError::MemoryRejected(Rejection::Qmp(e));
            qmp.execute("cont", None).await.map_err(rejected)?;
            wait_running(&mut qmp, Instant::now() + READY_TIMEOUT)
                .await
                .map_err(|e| match e {
                    LaunchError::Qmp(q) => rejected(q),
                    other => other,
                })?;
            check_spice(&mut qmp, paths).await?;
            check_not_black(&mut qmp, paths).await.map_err(|e| match e {
                ScreenError::Qmp(q) => LaunchError::Qmp(q),
                black => LaunchError::MemoryRejected(Rejection::Screen(black)),
            })
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
        self.ensure_overlay(&machine.disk, &paths.overlay).await?;
        self.ensure_media_overlays(&machine.media, paths).await?;
        write_private(&paths.password_file, password.as_bytes())?;
        let log = std::fs::File::create(&paths.qemu_log).map_err(io("create", &paths.qemu_log))?;
        let log2 = log.try_clone().map_err(io("dup", &paths.qemu_log))?;
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
                _ => io("spawn", &self.qemu)(e),
            })?;
        let pid = child.id().unwrap_or(0);
        if let Err(e) = write_private(&paths.pid_file, format!("{pid}\n").as_bytes()) {
            kill_child(&mut child).await;
            return Err(e);
        }
        Ok((child, pid))
    }

    /// Connects to QMP once QEMU has created its socket (before it runs the guest). QEMU
    /// announces nothing when the socket appears, so its existence is polled.
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
                    machine.hardware.machine_type.clone().unwrap_or_default(),
                );
            }
            LaunchError::Exited {
                status,
                log: log.trim().chars().take(2000).collect(),
            }
        };
        loop {
            if let Some(status) = child.try_wait().map_err(io("wait for", &self.qemu))? {
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

/// Polls `query-status` until the guest runs (QMP's `RESUME` event is not sent for a
/// cold boot, so the status is the one reliable signal).
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
        return Err(LaunchError::SpiceDisabled(spice));
    }
    // Belt and braces: the directory is already 0700.
    for sock in [&paths.spice_socket, &paths.spice_monitor] {
        std::fs::set_permissions(sock, std::fs::Permissions::from_mode(0o600))
            .map_err(io("chmod", sock))?;
    }
    Ok(())
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
        .map_err(io("create", path))?;
    f.write_all(bytes).map_err(io("write", path))
}
