//! One QEMU child process as a [`Vm`]. A watcher task owns the `Child`, so QEMU is always
//! killed through its handle (no PID-reuse race) and an exit is noticed at once.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use crate::codec::Codec;
use crate::fetch::NbdExport;
use crate::instances::engine::{BoxFuture, EngineError, Exit, SavedPackage, Vm};
use crate::model::{ItemMeta, Machine, SpiceAddress, SpiceEndpoint};
use crate::packages::olive::create::save_running;
use crate::qemu::process::{kill_child, kill_pid};
use crate::qemu::{InstancePaths, Launched, Launcher};

/// How long a killed QEMU may take to be reaped before its PID is killed directly.
const KILL_GRACE: Duration = Duration::from_secs(4);

/// One VM of the QEMU engine: the child process, its instance directory and the machine it runs.
pub struct QemuVm {
    pid: u32,
    paths: InstancePaths,
    /// The machine it runs (for a remote package: as fetched), recorded in saved packages.
    machine: Machine,
    launcher: Launcher,
    kill: Mutex<Option<oneshot::Sender<()>>>,
    exit: watch::Receiver<Option<Exit>>,
    /// A remote package's disk, served as long as QEMU may read it.
    export: Mutex<Option<NbdExport>>,
}

impl QemuVm {
    /// Watches a ready QEMU.
    pub fn watch(
        launched: Launched,
        paths: InstancePaths,
        machine: Machine,
        export: Option<NbdExport>,
        launcher: Launcher,
    ) -> Arc<QemuVm> {
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        let (exit_tx, exit_rx) = watch::channel(None);
        let mut child = launched.child;
        tokio::spawn(async move {
            // A dropped sender (the VM object gone) kills QEMU too.
            let exit = tokio::select! {
                st = child.wait() => Exit::Exited(st.map_or_else(|e| e.to_string(), |s| s.to_string())),
                _ = kill_rx => {
                    kill_child(&mut child).await;
                    Exit::Killed
                }
            };
            let _ = exit_tx.send(Some(exit));
        });
        Arc::new(QemuVm {
            pid: launched.pid,
            paths,
            machine,
            launcher,
            kill: Mutex::new(Some(kill_tx)),
            exit: exit_rx,
            export: Mutex::new(export),
        })
    }

    async fn exited(&self, within: Option<Duration>) -> Option<Exit> {
        let mut rx = self.exit.clone();
        let wait = rx.wait_for(Option::is_some);
        let got = match within {
            Some(d) => tokio::time::timeout(d, wait).await.ok()?,
            None => wait.await,
        };
        let exit = got.ok().and_then(|e| e.clone());
        // QEMU is gone: stop serving its disk (the chunk cache stays for other instances).
        self.export.lock().unwrap_or_else(|e| e.into_inner()).take();
        exit
    }
}

impl Vm for QemuVm {
    fn pid(&self) -> Option<u32> {
        Some(self.pid)
    }

    fn spice(&self) -> SpiceEndpoint {
        SpiceEndpoint {
            address: SpiceAddress::Unix(self.paths.spice_socket.clone()),
            handover: Some(self.paths.spice_monitor.clone()),
        }
    }

    fn wait(&self) -> BoxFuture<'_, Exit> {
        Box::pin(async move {
            // The watcher gone without a word (runtime shutting down): treat as killed.
            self.exited(None).await.unwrap_or(Exit::Killed)
        })
    }

    fn kill(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let sender = self.kill.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(k) = sender {
                let _ = k.send(());
            }
            if self.exited(Some(KILL_GRACE)).await.is_none() {
                // The watcher is gone (runtime shutting down?): fall back to the PID.
                kill_pid(self.pid);
            }
        })
    }

    fn save<'a>(
        &'a self,
        meta: &'a ItemMeta,
        out: &'a Path,
        codec: Codec,
    ) -> BoxFuture<'a, Result<SavedPackage, EngineError>> {
        Box::pin(async move {
            let m =
                save_running(&self.launcher, &self.machine, meta, &self.paths, out, codec).await?;
            Ok(SavedPackage {
                memory_bytes: m.memory.as_ref().map(|x| x.file.size),
                name: m.name,
            })
        })
    }
}
