//! `olive-gateway package create`: boot a catalog item, wait for the moment worth keeping,
//! and write a package whose memory image resumes exactly there.
//!
//! The VM is stopped right after the screendump and before saving (a non-live
//! migration), so the memory image, the disk and the screendump show the same instant
//! (up to the guest's activity between screendump and `stop`, a few milliseconds). The disk written is the instance's
//! overlay flattened into a standalone qcow2, so writes the guest made before the moment
//! are part of the package. Direct-kernel-boot guests get their kernel and initrd copied
//! in: a resumed guest needs the very kernel it was saved with.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::process::Command;
use tokio::sync::oneshot;

use super::codec::Codec;
use super::manifest::{FileRef, MachineSpec, Manifest, MemoryRef, Metadata, FORMAT};
use super::manifest::{MANIFEST_FILE, MAX_DEVICE_STATE_BYTES};
use super::sha256_of;
use crate::catalog::{Item, Machine};
use crate::qemu::launcher::{kill_child, InstancePaths, LaunchError, Launcher};
use crate::qemu::migration::MigrationError;
use crate::qemu::qmp::{Qmp, QmpError};

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("{0}")]
    Launch(#[from] LaunchError),
    #[error("{0}")]
    Migration(#[from] MigrationError),
    #[error("{0}")]
    Qmp(#[from] QmpError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Failed(String),
}

pub(super) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CreateError {
    let what = what.into();
    move |source| CreateError::Io { what, source }
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
    pub codec: Codec,
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
    make_out_dir(out)?;
    let paths = InstancePaths::new(work.to_path_buf());
    paths.create_dir()?;
    let result = boot_wait_save(launcher, item, out, &paths, opts).await;
    let _ = std::fs::remove_dir_all(work);
    result
}

async fn boot_wait_save(
    launcher: &Launcher,
    item: &Item,
    out: &Path,
    paths: &InstancePaths,
    opts: CreateOptions,
) -> Result<Manifest, CreateError> {
    let mut machine = item.machine.clone();
    machine.memory_image = None;
    let password = crate::packages::olive::hex(&std::process::id().to_le_bytes()) + "-package";
    let mut launched = launcher
        .launch(
            &machine,
            paths,
            &password,
            &format!("olive-package-{}", item.id),
        )
        .await?;
    let result = async {
        wait(&mut launched.child, paths, opts.wait, opts.timeout).await?;
        let mut qmp = Qmp::connect(&paths.qmp_socket, Duration::from_secs(10)).await?;
        machine.machine_type = Some(concrete_machine_type(&mut qmp, &machine).await?);
        save(launcher, &mut qmp, &machine, item, paths, out, opts.codec).await
    }
    .await;
    kill_child(&mut launched.child).await;
    let manifest = result?;
    // The disk is flattened only now: QEMU is dead, so the overlay is consistent and
    // unlocked.
    let disk = flatten_disk(launcher, &paths.overlay, &out.join("disk.qcow2")).await?;
    let manifest = Manifest { disk, ..manifest };
    write_manifest(out, &manifest)?;
    Ok(manifest)
}

/// Saves the running VM of an instance into the new directory `out` (a curator's signal
/// through the admin API: the curator brought the guest to the moment worth keeping).
/// The VM is paused while its state is saved and its disk copied, then continues.
pub async fn save_running(
    launcher: &Launcher,
    item: &Item,
    paths: &InstancePaths,
    out: &Path,
    codec: Codec,
) -> Result<Manifest, CreateError> {
    make_out_dir(out)?;
    let mut qmp = Qmp::connect(&paths.qmp_socket, Duration::from_secs(10)).await?;
    let mut machine = item.machine.clone();
    machine.memory_image = None;
    let result = async {
        machine.machine_type = Some(concrete_machine_type(&mut qmp, &machine).await?);
        let manifest = save(launcher, &mut qmp, &machine, item, paths, out, codec).await?;
        // `stop` flushed the overlay; QEMU still holds its lock, hence `-U` in flatten.
        let disk = flatten_disk(launcher, &paths.overlay, &out.join("disk.qcow2")).await?;
        Ok::<_, CreateError>(Manifest { disk, ..manifest })
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
            .map_err(io(format!("read {}", out.display())))?
            .next()
            .is_none();
        if !empty {
            return Err(CreateError::Failed(format!(
                "{} exists and is not empty",
                out.display()
            )));
        }
        return Ok(());
    }
    std::fs::create_dir_all(out).map_err(io(format!("create {}", out.display())))
}

async fn wait(
    child: &mut tokio::process::Child,
    paths: &InstancePaths,
    what: WaitFor,
    timeout: Duration,
) -> Result<(), CreateError> {
    let deadline = Instant::now() + timeout;
    let timed_out =
        || CreateError::Failed(format!("the save condition was not met within {timeout:?}"));
    match what {
        WaitFor::Seconds(s) => {
            tokio::time::sleep(Duration::from_secs(s).min(timeout)).await;
            Ok(())
        }
        WaitFor::Signal(rx) => tokio::time::timeout(timeout, rx)
            .await
            .map_err(|_| timed_out())?
            .map_err(|_| CreateError::Failed("the save signal was cancelled".into())),
        WaitFor::Serial(marker) => loop {
            let log = std::fs::read(&paths.serial_log).unwrap_or_default();
            if String::from_utf8_lossy(&log).contains(&marker) {
                return Ok(());
            }
            if let Some(st) = child.try_wait().map_err(io("wait for QEMU"))? {
                return Err(CreateError::Failed(format!(
                    "QEMU exited ({st}) before {marker:?} appeared on the serial console"
                )));
            }
            if Instant::now() > deadline {
                return Err(timed_out());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        },
    }
}

/// The concrete machine type behind `machine.machine_type` (or QEMU's default), so a
/// later QEMU whose `pc` alias moved on still builds the machine the image was saved on.
async fn concrete_machine_type(qmp: &mut Qmp, machine: &Machine) -> Result<String, CreateError> {
    let list = qmp.execute("query-machines", None).await?;
    let entries = list.as_array().cloned().unwrap_or_default();
    let want = machine.machine_type.as_deref();
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
        .ok_or_else(|| CreateError::Failed(format!("QEMU does not know machine type {want:?}")))
}

/// Stops the VM, takes the screendump and saves the memory image and boot files.
async fn save(
    launcher: &Launcher,
    qmp: &mut Qmp,
    machine: &Machine,
    item: &Item,
    paths: &InstancePaths,
    out: &Path,
    codec: Codec,
) -> Result<Manifest, CreateError> {
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
    let max = u64::from(machine.memory_mb) * (1 << 20) + MAX_DEVICE_STATE_BYTES;
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
    let kernel = copy_in(machine.kernel.as_deref(), out, "vmlinuz").await?;
    let initrd = copy_in(machine.initrd.as_deref(), out, "initrd.img").await?;
    let screenshot = Some(file_ref(out, "screen.ppm").await?);
    let meta = &item.meta;
    Ok(Manifest {
        format: FORMAT.into(),
        name: meta.title.clone(),
        metadata: Metadata {
            title: meta.title.clone(),
            creator: meta.creator.clone(),
            year: meta.year,
            description: meta.description.clone(),
            rights: meta.rights.clone(),
        },
        machine: MachineSpec {
            machine_type: machine.machine_type.clone().unwrap_or_default(),
            memory_mb: machine.memory_mb,
            vcpus: machine.vcpus,
            display: machine.display,
            sound: machine.sound.clone(),
            tablet: machine.tablet,
            network: machine.network,
            limit_mouse_rate: machine.limit_mouse_rate,
            append: machine.append.clone(),
        },
        qemu_version: qemu_version(&launcher.qemu).await,
        // Filled in once QEMU is gone.
        disk: FileRef {
            path: String::new(),
            size: 0,
            sha256: String::new(),
        },
        kernel,
        initrd,
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
        .map_err(io(format!("copy {}", from.display())))?;
    Ok(Some(file_ref(out, name).await?))
}

pub(super) async fn file_ref(dir: &Path, name: &str) -> Result<FileRef, CreateError> {
    let path: PathBuf = dir.join(name);
    let (sha256, size) = tokio::task::spawn_blocking(move || {
        std::fs::File::open(&path).and_then(|f| sha256_of(std::io::BufReader::new(f)))
    })
    .await
    .map_err(|e| CreateError::Failed(e.to_string()))?
    .map_err(io(format!("hash {name}")))?;
    Ok(FileRef {
        path: name.into(),
        size,
        sha256,
    })
}

/// `qemu-img convert` the overlay (with its backing chain) into one standalone qcow2.
pub(super) async fn flatten_disk(
    launcher: &Launcher,
    overlay: &Path,
    to: &Path,
) -> Result<FileRef, CreateError> {
    let out = Command::new(&launcher.qemu_img)
        .args(["convert", "-q", "-U", "-O", "qcow2"])
        .arg(overlay)
        .arg(to)
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(io(format!("run {}", launcher.qemu_img.display())))?;
    if !out.status.success() {
        return Err(CreateError::Failed(format!(
            "qemu-img convert: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let dir = to.parent().unwrap_or(Path::new("."));
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    file_ref(dir, &name).await
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
    std::fs::write(&tmp, m.to_json()).map_err(io(format!("write {}", tmp.display())))?;
    std::fs::rename(&tmp, out.join(MANIFEST_FILE)).map_err(io("rename the manifest"))
}
