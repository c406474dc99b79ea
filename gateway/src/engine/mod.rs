//! The engines instances run on. Today one: QEMU as a child process of the gateway
//! ([`QemuEngine`]); a VM on another host (libvirt, a second machine) would be a second
//! implementation of [`crate::instances::Engine`].
//!
//! The QEMU engine decides how a start goes: a remote package is fetched and its disk
//! exported first ([`crate::packages::remote`]); the first start of an instance resumes the
//! item's memory image and, if QEMU rejects it, tells the visitor and cold-boots; a restart
//! (the overlay exists and no longer matches the image) cold-boots, as in VMNetX.

mod vm;

use std::path::PathBuf;
use std::sync::Arc;

use crate::fetch::{FetchOptions, LazyChunkCache, NbdExport, OpenError};
use crate::instances::engine::{
    BoxFuture, Engine, EngineError, LaunchEvent, LaunchRequest, Started,
};
use crate::model::{Machine, MachineSource, Policy};
use crate::packages::remote::{self, RemoteError};
use crate::qemu::{InstancePaths, LaunchError, Launched, Launcher};

pub use vm::QemuVm;

/// Why the QEMU engine could not start a VM (shown to the visitor).
#[derive(Debug, thiserror::Error)]
pub enum QemuEngineError {
    /// QEMU could not be started or did not become ready.
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// A remote package could not be fetched or is refused.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The shared chunk cache could not be opened (first remote launch).
    #[error(transparent)]
    ChunkCache(#[from] OpenError),
    /// The instance directory could not be made.
    #[error("create {path}: {source}")]
    Create {
        /// The directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// QEMU child processes, one directory per instance under `<data_dir>/instances`.
pub struct QemuEngine {
    launcher: Launcher,
    instances_dir: PathBuf,
    chunks: Arc<LazyChunkCache>,
    policy: Policy,
    fetch: FetchOptions,
}

impl QemuEngine {
    /// An engine that starts VMs with `launcher` in directories under `instances_dir`, remote disks through `chunks`, every machine held to `policy`.
    pub fn new(
        launcher: Launcher,
        instances_dir: PathBuf,
        chunks: Arc<LazyChunkCache>,
        policy: Policy,
    ) -> QemuEngine {
        QemuEngine {
            launcher,
            instances_dir,
            chunks,
            policy,
            fetch: FetchOptions::default(),
        }
    }

    fn paths(&self, instance: &str) -> InstancePaths {
        InstancePaths::new(self.instances_dir.join(instance))
    }

    async fn start(&self, req: LaunchRequest<'_>) -> Result<Started, QemuEngineError> {
        let paths = self.paths(req.instance);
        // A restarted VM keeps its overlay, whose disk no longer matches the image.
        let fresh = !paths.overlay.exists();
        let (machine, export) = self.machine(&req.item.machine, &paths).await?;
        let name = format!("olive-{}", req.instance);
        let (launched, resumed) = self.boot(&machine, &paths, &req, &name, fresh).await?;
        let elapsed = launched.elapsed;
        let vm = QemuVm::watch(launched, paths, machine, export, self.launcher.clone());
        Ok(Started {
            vm,
            resumed,
            elapsed,
        })
    }

    /// The machine to launch; for a remote package also the export its disk is read from.
    async fn machine(
        &self,
        source: &MachineSource,
        paths: &InstancePaths,
    ) -> Result<(Machine, Option<NbdExport>), QemuEngineError> {
        match source {
            MachineSource::Local(m) => Ok((m.clone(), None)),
            MachineSource::Remote(r) => {
                let cache = self.chunks.get().await?;
                let p = remote::prepare(r, &cache, &self.fetch, self.policy, paths).await?;
                Ok((p.machine, Some(p.export)))
            }
        }
    }

    /// Resumes the memory image on a fresh instance, cold-booting if it is rejected;
    /// returns whether the VM was resumed.
    async fn boot(
        &self,
        machine: &Machine,
        paths: &InstancePaths,
        req: &LaunchRequest<'_>,
        name: &str,
        fresh: bool,
    ) -> Result<(Launched, bool), LaunchError> {
        let l = &self.launcher;
        let password = req.spice_password;
        if let (Some(image), true) = (&machine.memory_image, fresh) {
            let progress = |fraction| (req.report)(LaunchEvent::Progress(fraction));
            match l
                .resume(machine, image, paths, password, name, &progress)
                .await
            {
                Err(LaunchError::MemoryRejected(why)) => {
                    (req.report)(LaunchEvent::MemoryRejected(format!(
                        "memory image rejected: {why}"
                    )));
                    // The failed resume's overlays are unused, but start from clean ones.
                    for o in [&paths.overlay, &paths.floppy_overlay, &paths.cdrom_overlay] {
                        let _ = std::fs::remove_file(o);
                    }
                }
                other => return other.map(|v| (v, true)),
            }
        }
        l.launch(machine, paths, password, name)
            .await
            .map(|v| (v, false))
    }
}

impl Engine for QemuEngine {
    fn create(&self, instance: &str) -> Result<PathBuf, EngineError> {
        let paths = self.paths(instance);
        paths
            .create_dir()
            .map_err(|source| QemuEngineError::Create {
                path: paths.dir.clone(),
                source,
            })?;
        Ok(paths.dir)
    }

    fn launch<'a>(&'a self, req: LaunchRequest<'a>) -> BoxFuture<'a, Result<Started, EngineError>> {
        Box::pin(async move { self.start(req).await.map_err(EngineError::from) })
    }

    fn remove<'a>(&'a self, instance: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let dir = self.paths(instance).dir;
            if let Err(e) = tokio::fs::remove_dir_all(&dir).await {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!("cannot remove {}: {e}", dir.display());
                }
            }
        })
    }
}
