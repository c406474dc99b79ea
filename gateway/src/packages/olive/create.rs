//! `olive-gateway package create`: boot a catalog item, wait for the moment worth keeping,
//! and write a package whose memory image resumes exactly there.
//!
//! The VM is stopped right after the screendump and before saving (a non-live
//! migration), so the memory image, the disk and the screendump show the same instant (up
//! to the guest's activity between screendump and `stop`, a few milliseconds). The disk
//! written is the instance's overlay flattened into a standalone qcow2, so writes the
//! guest made before the moment are part of the package. Direct-kernel-boot guests get
//! their kernel and initrd copied in: a resumed guest needs the very kernel it was saved
//! with.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::manifest::{FileRef, MachineSpec, Manifest, MemoryRef, Metadata, FORMAT};
use super::manifest::{ManifestError, MANIFEST_FILE, MAX_DEVICE_STATE_BYTES};
use super::sha256_of;
use crate::codec::Codec;
use crate::model::{Item, ItemMeta, Machine, MachineSource, Media};
use crate::qemu::img::{self, ImgError};
use crate::qemu::migration::MigrationError;
use crate::qemu::process::kill_child;
use crate::qemu::qmp::{Qmp, QmpError};
use crate::qemu::{InstancePaths, LaunchError, Launcher};

/// Why `package create`, `package import` or a save could not make a package.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The VM could not be started.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// Saving the memory image failed.
    #[error(transparent)]
    Migration(#[from] MigrationError),
    /// The monitor failed.
    #[error(transparent)]
    Qmp(#[from] QmpError),
    /// `qemu-img` could not flatten or check the disk.
    #[error(transparent)]
    Img(#[from] ImgError),
    /// A file could not be written or read.
    #[error("{what} {path}: {source}")]
    Io {
        /// Which step (for the message).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The output directory has files in it already; we never overwrite a package.
    #[error("{0} exists and is not empty")]
    NotEmpty(PathBuf),
    /// The item is fetched from a URL; a package is made from a local machine.
    #[error("item {0:?} is a remote package; packages are made from local items")]
    RemoteItem(String),
    /// The `--wait-serial` marker or timer did not come before the timeout.
    #[error("the save condition was not met within {0:?}")]
    ConditionTimeout(Duration),
    /// The signal's sender went away before it fired (the admin request was dropped).
    #[error("the save signal was cancelled")]
    SignalCancelled,
    /// QEMU ended before the serial marker showed up.
    #[error("QEMU exited ({status}) before {marker:?} appeared on the serial console")]
    ExitedEarly {
        /// How QEMU ended.
        status: std::process::ExitStatus,
        /// The serial text that was waited for.
        marker: String,
    },
    /// QEMU does not know the machine type (the default when `None`).
    #[error("QEMU does not know machine type {0:?}")]
    UnknownMachineType(Option<String>),
    /// The manifest we made does not pass our own checks.
    #[error("the package being written: {0}")]
    Manifest(#[from] ManifestError),
    /// A blocking task panicked or was cancelled.
    #[error("a blocking task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A `.nxpk` being imported is malformed.
    #[error("{path}: {cause}")]
    Nxpk {
        /// The `.nxpk` file.
        path: PathBuf,
        /// What is wrong with it.
        cause: crate::packages::nxpk::NxpkError,
    },
    /// The package to be re-validated could not be opened.
    #[error("{0}")]
    Package(#[from] super::PackageError),
    /// A VMNetX domain asks for more memory than fits a machine.
    #[error("memory of {0} MB is too large")]
    MemoryTooLarge(u64),
    /// A VMNetX disk is in a format we do not launch.
    #[error("disk format {0:?} is not raw or qcow2")]
    DiskFormat(String),
    /// The trial resume of the new memory image did not finish in time.
    #[error("the trial restore timed out")]
    TrialTimeout,
}

pub(super) fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CreateError {
    let path = path.to_path_buf();
    move |source| CreateError::Io { what, path, source }
}

/// When to save.
#[derive(Debug)]
pub enum WaitFor {
    /// A line of the serial console containing this text (direct-kernel-boot guests).
    Serial(String),
    /// A fixed time after QEMU is ready.
    Seconds(u64),
    /// A curator's signal (the admin API, or the CLI's Enter key).
    Signal(oneshot::Receiver<()>),
}

/// What to make.
#[derive(Debug)]
pub struct CreateOptions {
    /// How the memory image is compressed.
    pub codec: Codec,
    /// When the moment to save comes.
    pub wait: WaitFor,
    /// Bound on the wait (a guest that never prints its marker must not hang us).
    pub timeout: Duration,
}

/// Boots `item`, waits, saves into the new directory `out`; `work` is a scratch
/// directory (created, then removed) for the instance files.
pub async fn create(
    launcher: &Launcher,
    item: &Item,
    out: &Path,
    work: &Path,
    opts: CreateOptions,
) -> Result<Manifest, CreateError> {
    let MachineSource::Local(machine) = &item.machine else {
        return Err(CreateError::RemoteItem(item.id.clone()));
    };
    make_out_dir(out)?;
    let paths = InstancePaths::new(work.to_path_buf());
    paths.create_dir().map_err(io("create", work))?;
    let result = boot_wait_save(launcher, item, machine, out, &paths, opts).await;
    let _ = std::fs::remove_dir_all(work);
    result
}

async fn boot_wait_save(
    launcher: &Launcher,
    item: &Item,
    machine: &Machine,
    out: &Path,
    paths: &InstancePaths,
    opts: CreateOptions,
) -> Result<Manifest, CreateError> {
    let machine = machine.clone().with_memory_image(None);
    let password = throwaway_password("package");
    let name = format!("olive-package-{}", item.id);
    let mut launched = launcher.launch(&machine, paths, &password, &name).await?;
    let result = async {
        wait(&mut launched.child, paths, opts.wait, opts.timeout).await?;
        let mut qmp = Qmp::connect(&paths.qmp_socket, Duration::from_secs(10)).await?;
        save(
            launcher, &mut qmp, &machine, &item.meta, paths, out, opts.codec,
        )
        .await
    }
    .await;
    kill_child(&mut launched.child).await;
    let manifest = result?;
    // The disk is flattened only now: QEMU is dead, so the overlay is consistent and
    // unlocked.
    let disk = flatten_disk(launcher, &paths.overlay, out).await?;
    let (floppy, cdrom) = flatten_media(launcher, &machine.media, paths, out).await?;
    let manifest = Manifest {
        disk,
        floppy,
        cdrom,
        ..manifest
    };
    write_manifest(out, &manifest)?;
    Ok(manifest)
}

/// A SPICE password for a VM nobody views.
pub(super) fn throwaway_password(what: &str) -> String {
    format!(
        "{}-{what}",
        data_encoding::HEXLOWER.encode(&std::process::id().to_le_bytes())
    )
}

/// Saves the running VM of an instance, which runs `machine`, into the new directory
/// `out` (a curator's signal through the admin API: the curator brought the guest to the
/// moment worth keeping). The VM is paused while its state is saved and its disk copied,
/// then continues.
pub async fn save_running(
    launcher: &Launcher,
    machine: &Machine,
    meta: &ItemMeta,
    paths: &InstancePaths,
    out: &Path,
    codec: Codec,
) -> Result<Manifest, CreateError> {
    make_out_dir(out)?;
    let mut qmp = Qmp::connect(&paths.qmp_socket, Duration::from_secs(10)).await?;
    let result = async {
        let manifest = save(launcher, &mut qmp, machine, meta, paths, out, codec).await?;
        // `stop` flushed the overlay; QEMU still holds its lock, hence `-U` in flatten.
        let disk = flatten_disk(launcher, &paths.overlay, out).await?;
        let (floppy, cdrom) = flatten_media(launcher, &machine.media, paths, out).await?;
        Ok::<_, CreateError>(Manifest {
            disk,
            floppy,
            cdrom,
            ..manifest
        })
    }
    .await;
    // Whatever happened, the curator's VM goes on (after a completed migration QEMU is in
    // `postmigrate`, from which `cont` resumes it).
    let _ = qmp.execute("cont", None).await;
    let manifest = result?;
    write_manifest(out, &manifest)?;
    Ok(manifest)
}

/// Creates `out`, which must not exist or be empty (never mix two packages).
pub(super) fn make_out_dir(out: &Path) -> Result<(), CreateError> {
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .map_err(io("read", out))?
            .next()
            .is_none();
        if !empty {
            return Err(CreateError::NotEmpty(out.to_path_buf()));
        }
        return Ok(());
    }
    std::fs::create_dir_all(out).map_err(io("create", out))
}

async fn wait(
    child: &mut tokio::process::Child,
    paths: &InstancePaths,
    what: WaitFor,
    timeout: Duration,
) -> Result<(), CreateError> {
    let deadline = Instant::now() + timeout;
    match what {
        WaitFor::Seconds(s) => {
            tokio::time::sleep(Duration::from_secs(s).min(timeout)).await;
            Ok(())
        }
        WaitFor::Signal(rx) => tokio::time::timeout(timeout, rx)
            .await
            .map_err(|_| CreateError::ConditionTimeout(timeout))?
            .map_err(|_| CreateError::SignalCancelled),
        // The serial console is a file QEMU appends to; it is read again until the marker
        // shows (or QEMU dies).
        WaitFor::Serial(marker) => loop {
            let log = std::fs::read(&paths.serial_log).unwrap_or_default();
            if String::from_utf8_lossy(&log).contains(&marker) {
                return Ok(());
            }
            if let Some(status) = child.try_wait().map_err(io("wait for QEMU", &paths.dir))? {
                return Err(CreateError::ExitedEarly { status, marker });
            }
            if Instant::now() > deadline {
                return Err(CreateError::ConditionTimeout(timeout));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        },
    }
}

/// The concrete machine type behind `machine_type` (or QEMU's default), so a later QEMU
/// whose `pc` alias moved on still builds the machine the image was saved on.
async fn concrete_machine_type(qmp: &mut Qmp, want: Option<&str>) -> Result<String, CreateError> {
    let list = qmp.execute("query-machines", None).await?;
    let entries = list.as_array().cloned().unwrap_or_default();
    entries
        .iter()
        .find(|e| {
            let name = e.get("name").and_then(|n| n.as_str());
            let alias = e.get("alias").and_then(|n| n.as_str());
            let default = e.get("is-default").and_then(|d| d.as_bool()) == Some(true);
            match want {
                Some(w) => name == Some(w) || alias == Some(w),
                None => default,
            }
        })
        .and_then(|e| e.get("name").and_then(|n| n.as_str()))
        .map(str::to_string)
        .ok_or_else(|| CreateError::UnknownMachineType(want.map(str::to_owned)))
}

/// Stops the VM, takes the screendump and saves the memory image and boot files.
async fn save(
    launcher: &Launcher,
    qmp: &mut Qmp,
    machine: &Machine,
    meta: &ItemMeta,
    paths: &InstancePaths,
    out: &Path,
    codec: Codec,
) -> Result<Manifest, CreateError> {
    let hw = &machine.hardware;
    let machine_type = concrete_machine_type(qmp, hw.machine_type.as_deref()).await?;
    // The screendump comes first: a stopped QXL device no longer renders (its SPICE
    // worker is paused), so a screendump after `stop` shows a stale or black surface.
    let screen = out.join("screen.ppm");
    qmp.execute(
        "screendump",
        Some(serde_json::json!({ "filename": screen.display().to_string() })),
    )
    .await?;
    qmp.execute("stop", None).await?;
    let mem_name = format!("memory.{}", codec.extension());
    let max = u64::from(hw.memory_mb) * (1 << 20) + MAX_DEVICE_STATE_BYTES;
    let saved = crate::qemu::migration::save(
        qmp,
        &paths.migration_socket,
        &out.join(&mem_name),
        codec,
        max,
    )
    .await?;
    tracing::info!(
        uncompressed = saved.uncompressed_size,
        compressed = saved.compressed_size,
        elapsed = ?saved.elapsed,
        "memory image saved"
    );
    let boot = machine.boot.as_ref();
    let kernel = copy_in(boot.map(|b| b.kernel.as_path()), out, "vmlinuz").await?;
    let initrd = copy_in(boot.and_then(|b| b.initrd.as_deref()), out, "initrd.img").await?;
    let screenshot = Some(file_ref(out, "screen.ppm").await?);
    let append = boot.and_then(|b| b.append.clone());
    Ok(Manifest {
        format: FORMAT.into(),
        name: meta.title.clone(),
        metadata: Metadata::from_meta(meta),
        machine: MachineSpec::new(hw, machine_type, append),
        qemu_version: qemu_version(&launcher.qemu).await,
        // Filled in once QEMU is gone.
        disk: FileRef {
            path: String::new(),
            size: 0,
            sha256: String::new(),
        },
        kernel,
        initrd,
        // Filled in with the disk.
        floppy: None,
        cdrom: None,
        memory: Some(MemoryRef {
            file: FileRef {
                path: mem_name,
                size: saved.compressed_size,
                sha256: saved.sha256,
            },
            codec,
            uncompressed_size: saved.uncompressed_size,
        }),
        screenshot,
    })
}

pub(super) async fn copy_in(
    from: Option<&Path>,
    out: &Path,
    name: &str,
) -> Result<Option<FileRef>, CreateError> {
    let Some(from) = from else { return Ok(None) };
    tokio::fs::copy(from, out.join(name))
        .await
        .map_err(io("copy", from))?;
    Ok(Some(file_ref(out, name).await?))
}

pub(super) async fn file_ref(dir: &Path, name: &str) -> Result<FileRef, CreateError> {
    let path: PathBuf = dir.join(name);
    let p = path.clone();
    let (sha256, size) = tokio::task::spawn_blocking(move || {
        std::fs::File::open(&p).and_then(|f| sha256_of(std::io::BufReader::new(f)))
    })
    .await?
    .map_err(io("hash", &path))?;
    Ok(FileRef {
        path: name.into(),
        size,
        sha256,
    })
}

/// The overlay (with its backing chain) as one standalone `out/disk.qcow2`.
async fn flatten_disk(
    launcher: &Launcher,
    overlay: &Path,
    out: &Path,
) -> Result<FileRef, CreateError> {
    img::convert_to_qcow2(&launcher.qemu_img, overlay, None, &out.join("disk.qcow2")).await?;
    file_ref(out, "disk.qcow2").await
}

/// The floppy and CD-ROM overlays flattened into `out/floppy.img` and `out/cdrom.iso`:
/// a memory image expects the media as the guest left them (a DOS game writes its saves
/// to the floppy).
async fn flatten_media(
    launcher: &Launcher,
    media: &Media,
    paths: &InstancePaths,
    out: &Path,
) -> Result<(Option<FileRef>, Option<FileRef>), CreateError> {
    let l = launcher;
    let floppy = flatten_medium(l, &media.floppy, &paths.floppy_overlay, out, "floppy.img");
    let floppy = floppy.await?;
    let cdrom = flatten_medium(l, &media.cdrom, &paths.cdrom_overlay, out, "cdrom.iso");
    Ok((floppy, cdrom.await?))
}

async fn flatten_medium(
    launcher: &Launcher,
    image: &Option<PathBuf>,
    overlay: &Path,
    out: &Path,
    name: &str,
) -> Result<Option<FileRef>, CreateError> {
    if image.is_none() {
        return Ok(None);
    }
    img::convert_to_raw(&launcher.qemu_img, overlay, None, &out.join(name)).await?;
    Ok(Some(file_ref(out, name).await?))
}

pub(super) async fn qemu_version(qemu: &Path) -> String {
    let out = Command::new(qemu)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    out.ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// Writes the manifest last and atomically: a directory without one is no package.
pub(super) fn write_manifest(out: &Path, m: &Manifest) -> Result<(), CreateError> {
    let tmp = out.join(format!(".{MANIFEST_FILE}.tmp"));
    std::fs::write(&tmp, m.to_json()).map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, out.join(MANIFEST_FILE)).map_err(io("rename", &tmp))
}
