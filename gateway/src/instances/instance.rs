//! One instance and its state machine.
//!
//! States follow VMNetX: stopped → starting → running → stopping → stopped, and anything →
//! destroyed. A task per launch waits on the VM, so a VM that ends by itself is noticed at
//! once: the instance reports `vm-stopped` and is then destroyed, which frees its files in
//! the same breath. A generation number per launch keeps a late task of an old VM from
//! touching a newer one. Everything an instance does runs in its `instance` span (id and
//! item), so its log lines carry both.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::broadcast;
use tokio::time::Instant;
use tracing::Instrument;

use super::engine::{Engine, LaunchEvent, LaunchRequest, Vm};
use super::Shared;
use crate::model::{ControlError, ControlEvent, Item, SpiceEndpoint, VmState};

struct State {
    vm_state: VmState,
    vm: Option<Arc<dyn Vm>>,
    /// Incremented per launch so that the task of an old VM cannot touch a newer one.
    generation: u64,
    /// The latest `startup-progress` of the current launch (for clients joining late).
    progress: Option<f64>,
}

/// One instance: an id, a secret token, a private directory and at most one VM at a time.
pub struct Instance {
    pub(super) id: String,
    pub(super) secret: String,
    spice_password: String,
    item: Arc<Item>,
    dir: PathBuf,
    created: Instant,
    /// Milliseconds since the registry's epoch of the last activity.
    last_activity: AtomicU64,
    state: Mutex<State>,
    events: broadcast::Sender<ControlEvent>,
    engine: Arc<dyn Engine>,
    rt: tokio::runtime::Handle,
    shared: Weak<Shared>,
    span: tracing::Span,
    /// The visitor cookie of who asked for it (`None`: a client without one, or an admin).
    owner: Option<String>,
    /// Made for the first in line: must get its first connection within the hand-over.
    handover: bool,
    /// Open token-port connections (control and viewer, WebSocket-bridged or not).
    connections: AtomicU32,
    had_connection: AtomicBool,
    /// Milliseconds since the registry's epoch when the last connection closed.
    last_disconnect: AtomicU64,
}

/// One row of `GET /api/instances`.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The instance id.
    pub id: String,
    /// The item it runs.
    pub item: String,
    /// Its state.
    pub status: VmState,
    /// The VM's process id, while one runs locally.
    pub pid: Option<u32>,
    /// Seconds since it was created.
    pub age_secs: u64,
    /// Seconds since its last activity.
    pub idle_secs: u64,
}

impl Instance {
    pub(super) fn new(
        shared: &Arc<Shared>,
        id: String,
        item: Arc<Item>,
        dir: PathBuf,
        owner: Option<String>,
        handover: bool,
    ) -> Arc<Instance> {
        let (events, _) = broadcast::channel(64);
        let span = tracing::info_span!("instance", id = %id, item = %item.id);
        Arc::new(Instance {
            secret: super::ids::new_secret(),
            spice_password: super::ids::new_secret(),
            item,
            dir,
            created: Instant::now(),
            last_activity: AtomicU64::new(shared.now_ms()),
            state: Mutex::new(State {
                vm_state: VmState::Stopped,
                vm: None,
                generation: 0,
                progress: None,
            }),
            events,
            engine: shared.engine.clone(),
            rt: shared.rt.clone(),
            shared: Arc::downgrade(shared),
            span,
            id,
            owner,
            handover,
            connections: AtomicU32::new(0),
            had_connection: AtomicBool::new(false),
            last_disconnect: AtomicU64::new(0),
        })
    }

    /// The visitor cookie of its owner.
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// A connection authenticated to it.
    pub fn connected(&self) {
        self.connections.fetch_add(1, Ordering::SeqCst);
        let first = !self.had_connection.swap(true, Ordering::SeqCst);
        if first && self.handover {
            if let Some(sh) = self.shared.upgrade() {
                sh.metrics.observe_handover(self.created.elapsed());
            }
            tracing::info!(after = ?self.created.elapsed(), "hand-over taken");
        }
    }

    /// A connection that [`Instance::connected`] counted closed.
    pub fn disconnected(&self) {
        if let Some(sh) = self.shared.upgrade() {
            self.last_disconnect.store(sh.now_ms(), Ordering::SeqCst);
        }
        let _ = self
            .connections
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    /// Whether any connection ever authenticated.
    pub fn had_connection(&self) -> bool {
        self.had_connection.load(Ordering::SeqCst)
    }

    /// Milliseconds since the visitor left (had connections, has none), at `now_ms`.
    pub(super) fn left_ms(&self, now_ms: u64) -> Option<u64> {
        (self.had_connection() && self.connections.load(Ordering::SeqCst) == 0)
            .then(|| now_ms.saturating_sub(self.last_disconnect.load(Ordering::SeqCst)))
    }

    /// Whether it was made for a hand-over that nobody took within `limit`.
    pub(super) fn handover_missed(&self, limit: std::time::Duration) -> bool {
        self.handover && !self.had_connection() && self.created.elapsed() > limit
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, e: ControlEvent) {
        // No receivers is normal (nobody connected yet).
        let _ = self.events.send(e);
    }

    /// The id (the first half of the token).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The item it runs.
    pub fn item(&self) -> &Arc<Item> {
        &self.item
    }

    /// The instance's local directory (its files: sockets, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The VM's process id, while one runs.
    pub fn pid(&self) -> Option<u32> {
        self.lock().vm.as_ref().and_then(|v| v.pid())
    }

    /// The SPICE ticket its viewers present.
    pub fn spice_password(&self) -> &str {
        &self.spice_password
    }

    /// The token (`id/secret`).
    pub fn token(&self) -> String {
        super::ids::token(&self.id, &self.secret)
    }

    /// Its state now.
    pub fn state(&self) -> VmState {
        self.lock().vm_state
    }

    /// A receiver of the events every control connection of this instance is told.
    pub fn subscribe(&self) -> broadcast::Receiver<ControlEvent> {
        self.events.subscribe()
    }

    /// Records activity now, for the idle timeout.
    pub fn touch(&self) {
        if let Some(sh) = self.shared.upgrade() {
            self.last_activity.store(sh.now_ms(), Ordering::Relaxed);
        }
    }

    /// How to reach the display, while the VM runs.
    pub fn spice(&self) -> Option<SpiceEndpoint> {
        let s = self.lock();
        match (&s.vm_state, &s.vm) {
            (VmState::Running, Some(vm)) => Some(vm.spice()),
            _ => None,
        }
    }

    /// The latest `startup-progress` fraction while a memory image loads.
    pub fn startup_progress(&self) -> Option<f64> {
        let s = self.lock();
        (s.vm_state == VmState::Starting)
            .then_some(s.progress)
            .flatten()
    }

    /// The running VM, for work that needs it (saving a package).
    pub(super) fn running_vm(&self) -> Option<Arc<dyn Vm>> {
        let s = self.lock();
        (s.vm_state == VmState::Running)
            .then(|| s.vm.clone())
            .flatten()
    }

    /// Milliseconds since the last activity, at `now_ms`.
    pub(super) fn idle_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.last_activity.load(Ordering::Relaxed))
    }

    pub(super) fn age(&self) -> std::time::Duration {
        self.created.elapsed()
    }

    /// Moves stopped → starting and launches the VM in the background.
    pub fn start_vm(self: &Arc<Self>) -> Result<(), ControlError> {
        let generation = {
            let mut s = self.lock();
            if s.vm_state != VmState::Stopped {
                return Err(ControlError::NotStopped);
            }
            if self.shared.strong_count() == 0 {
                return Err(ControlError::ShuttingDown);
            }
            s.vm_state = VmState::Starting;
            s.progress = None;
            s.generation += 1;
            s.generation
        };
        let me = self.clone();
        let span = self.span.clone();
        self.rt
            .spawn(async move { me.run_vm(generation).await }.instrument(span));
        Ok(())
    }

    /// Running → stopping: a hard power-off, as VMNetX's stop; the VM's task then reports
    /// `vm-stopped`. The disk overlay is kept, so a restart sees the guest's writes.
    pub fn stop_vm(&self) -> Result<(), ControlError> {
        let vm = {
            let mut s = self.lock();
            if s.vm_state != VmState::Running {
                return Err(ControlError::NotRunning);
            }
            s.vm_state = VmState::Stopping;
            s.vm.clone()
        };
        if let Some(vm) = vm {
            self.rt
                .spawn(async move { vm.kill().await }.instrument(self.span.clone()));
        }
        Ok(())
    }

    /// Destroys the instance in the background.
    pub fn destroy(self: &Arc<Self>) {
        let me = self.clone();
        self.rt.spawn(async move { me.destroy_now().await });
    }

    /// What a launch reports, told to every control connection.
    fn on_launch_event(&self, e: LaunchEvent) {
        match e {
            LaunchEvent::Progress(fraction) => {
                self.lock().progress = Some(fraction);
                self.emit(ControlEvent::StartupProgress { fraction });
            }
            LaunchEvent::MemoryRejected(why) => {
                tracing::warn!("{why}; cold-booting");
                if let Some(sh) = self.shared.upgrade() {
                    sh.metrics.memory_rejected.fetch_add(1, Ordering::Relaxed);
                }
                self.lock().progress = None;
                self.emit(ControlEvent::StartupRejectedMemory);
            }
        }
    }

    async fn run_vm(self: Arc<Self>, generation: u64) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let report = |e| self.on_launch_event(e);
        let request = LaunchRequest {
            instance: &self.id,
            item: &self.item,
            spice_password: &self.spice_password,
            report: &report,
        };
        let started = match self.engine.launch(request).await {
            Ok(s) => s,
            Err(e) => {
                shared
                    .metrics
                    .launch_failures
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!("launch failed: {e}");
                let mut s = self.lock();
                if s.vm_state == VmState::Starting && s.generation == generation {
                    s.vm_state = VmState::Stopped;
                    drop(s);
                    self.emit(ControlEvent::StartupFailed {
                        message: e.to_string(),
                    });
                    self.emit(ControlEvent::VmStopped);
                }
                return;
            }
        };
        let vm = started.vm;
        let orphaned = {
            let mut s = self.lock();
            if s.vm_state != VmState::Starting || s.generation != generation {
                true
            } else {
                s.vm_state = VmState::Running;
                s.vm = Some(vm.clone());
                false
            }
        };
        if orphaned {
            // Destroyed while launching: this VM is nobody's.
            vm.kill().await;
            self.engine.remove(&self.id).await;
            return;
        }
        shared.metrics.observe_launch(started.elapsed);
        tracing::info!(pid = vm.pid(), elapsed = ?started.elapsed, "VM running");
        // `check_display` tells VMNetX clients to look for a black screen; the engine has
        // already looked, a client doing it again is harmless.
        self.emit(ControlEvent::VmStarted {
            check_display: started.resumed,
        });
        drop(shared);
        let exit = vm.wait().await;
        drop(vm);
        let unexpected = {
            let mut s = self.lock();
            if s.generation != generation {
                return;
            }
            match s.vm_state {
                VmState::Stopping => {
                    s.vm_state = VmState::Stopped;
                    s.vm = None;
                    drop(s);
                    self.emit(ControlEvent::VmStopped);
                    false
                }
                VmState::Running => {
                    s.vm_state = VmState::Stopped;
                    s.vm = None;
                    true
                }
                _ => false,
            }
        };
        if unexpected {
            tracing::warn!(?exit, "VM ended unexpectedly; destroying the instance");
            self.emit(ControlEvent::VmStopped);
            self.destroy_now().await;
        }
    }

    /// Destroys the instance and waits until its VM is dead and its files are gone.
    pub async fn destroy_now(self: &Arc<Self>) {
        let vm = {
            let mut s = self.lock();
            if s.vm_state == VmState::Destroyed {
                return;
            }
            s.vm_state = VmState::Destroyed;
            s.vm.take()
        };
        async {
            if let Some(sh) = self.shared.upgrade() {
                sh.forget(&self.id);
            }
            self.emit(ControlEvent::VmDestroyed);
            if let Some(vm) = vm {
                vm.kill().await;
            }
            self.engine.remove(&self.id).await;
            tracing::info!("instance destroyed");
        }
        .instrument(self.span.clone())
        .await
    }

    pub(super) fn summary(&self, now_ms: u64) -> Summary {
        let (status, pid) = {
            let s = self.lock();
            (s.vm_state, s.vm.as_ref().and_then(|v| v.pid()))
        };
        Summary {
            id: self.id.clone(),
            item: self.item.id.clone(),
            status,
            pid,
            age_secs: self.created.elapsed().as_secs(),
            idle_secs: self.idle_ms(now_ms) / 1000,
        }
    }
}
