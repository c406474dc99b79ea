//! The instance registry: creation, VM state machine, destruction and garbage collection.
//!
//! An instance is VMNetX's unit: an id, a secret token, a private directory and at most
//! one QEMU at a time. States follow VMNetX (stopped → starting → running → stopping →
//! stopped; anything → destroyed). A per-launch watcher task owns the QEMU `Child`, so
//! QEMU is always killed through its handle (no PID-reuse race) and an unexpected exit is
//! noticed at once: the instance reports `vm-stopped` and is then destroyed, which frees
//! the directory (overlay, sockets, password file) in the same breath.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::Digest;
use subtle::ConstantTimeEq;
use tokio::sync::{broadcast, oneshot, watch};

use crate::catalog::Item;
use crate::config::Config;
use crate::metrics::{state_name, Metrics};
use crate::net::control::{
    ControlError, ControlEvent, InstanceHandle, Registry as RegistryTrait, VmState,
};
use crate::qemu::launcher::{kill_pid, InstancePaths, LaunchError, Launcher};

/// How many distinct package links `GET /launch` remembers as items.
pub const MAX_ADHOC_ITEMS: usize = 256;

/// Why an instance could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("no such item {0:?}")]
    UnknownItem(String),
    #[error("all {0} instance slots are in use")]
    AtCapacity(usize),
    #[error("cannot create instance: {0}")]
    Io(String),
}

/// Why a running instance could not be saved as a package.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("no such instance")]
    NoInstance,
    #[error("the instance's VM is not running")]
    NotRunning,
    #[error("package name: {0}")]
    BadName(String),
    #[error("saving failed: {0}")]
    Failed(String),
}

/// What the creator of an instance gets back (`POST /api/instances`).
#[derive(Clone, Debug, Serialize)]
pub struct Created {
    pub id: String,
    /// `"<id>/<secret>"`, VMNetX's token shape.
    pub token: String,
    /// The SPICE ticket; separate from the token, unlike VMNetX.
    pub spice_password: String,
    /// Path of the WebSocket endpoint.
    pub control_url: String,
}

/// One row of `GET /api/instances`.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub id: String,
    pub item: String,
    pub status: &'static str,
    pub pid: Option<u32>,
    pub age_secs: u64,
    pub idle_secs: u64,
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The OS RNG failing is not recoverable in any meaningful way, and handing out
    // predictable tokens would be worse than refusing to run.
    getrandom::getrandom(&mut b).expect("OS random number generator unavailable");
    b
}

/// RFC 4648 base32 without padding (VMNetX's id alphabet: A–Z 2–7).
fn base32(bytes: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(A[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(A[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// URL-safe base64 without padding.
fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(A[((acc >> bits) & 63) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(A[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out
}

/// The QEMU currently running for an instance.
struct Vm {
    pid: u32,
    kill: Option<oneshot::Sender<()>>,
    exited: watch::Receiver<bool>,
}

struct StateInner {
    vm_state: VmState,
    vm: Option<Vm>,
    /// Incremented per launch so that a watcher of an old QEMU cannot touch a newer one.
    generation: u64,
    /// The latest `startup-progress` of the current launch (for clients joining late).
    progress: Option<f64>,
    /// A remote package's disk export, kept as long as a QEMU may read it (replaced by
    /// the next launch, dropped with the instance).
    export: Option<crate::fetch::NbdExport>,
    /// The format of that export's image.
    disk_format: Option<String>,
}

/// One instance.
pub struct Instance {
    id: String,
    secret: String,
    spice_password: String,
    item: Arc<Item>,
    paths: InstancePaths,
    created: Instant,
    /// Milliseconds since `shared.epoch` of the last activity.
    last_activity: AtomicU64,
    inner: Mutex<StateInner>,
    events: broadcast::Sender<ControlEvent>,
    shared: Weak<Shared>,
}

struct Shared {
    config: Arc<Config>,
    launcher: Launcher,
    instances: Mutex<HashMap<String, Arc<Instance>>>,
    metrics: Arc<Metrics>,
    epoch: Instant,
    rt: tokio::runtime::Handle,
    control_url: String,
    /// The chunk cache of remote packages, opened on first use.
    chunks: tokio::sync::OnceCell<Arc<crate::fetch::ChunkCache>>,
    /// Items made by `GET /launch` (not in the public collection).
    adhoc: Mutex<HashMap<String, Arc<Item>>>,
}

impl Shared {
    async fn chunk_cache(&self) -> Result<Arc<crate::fetch::ChunkCache>, LaunchError> {
        self.chunks
            .get_or_try_init(|| async {
                let dir = self.config.data_dir.join("chunks");
                crate::fetch::ChunkCache::open(
                    &dir,
                    crate::fetch::DEFAULT_CHUNK_SIZE,
                    self.config.chunk_cache_bytes,
                )
                .map_err(|source| LaunchError::Io {
                    what: format!("open chunk cache {}", dir.display()),
                    source,
                })
            })
            .await
            .cloned()
    }

    fn policy(&self) -> crate::packages::olive::manifest::Policy {
        crate::packages::olive::manifest::Policy {
            max_memory_mb: self.config.max_memory_mb,
            max_vcpus: self.config.max_vcpus,
        }
    }
}

/// The registry; cheap to clone.
#[derive(Clone)]
pub struct Registry {
    shared: Arc<Shared>,
}

impl Instance {
    fn lock(&self) -> std::sync::MutexGuard<'_, StateInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, e: ControlEvent) {
        // No receivers is normal (nobody connected yet).
        let _ = self.events.send(e);
    }

    pub fn item(&self) -> &Arc<Item> {
        &self.item
    }

    pub fn dir(&self) -> &std::path::Path {
        &self.paths.dir
    }

    /// The QEMU PID, while one runs.
    pub fn pid(&self) -> Option<u32> {
        self.lock().vm.as_ref().map(|v| v.pid)
    }

    pub fn spice_password(&self) -> &str {
        &self.spice_password
    }

    /// The token (`id/secret`).
    pub fn token(&self) -> String {
        format!("{}/{}", self.id, self.secret)
    }

    /// Records activity now (saving takes a while; the idle timer must not fire).
    fn touch_now(&self, epoch: Instant) {
        self.last_activity
            .store(epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Moves stopped → starting and launches QEMU in the background.
    fn begin_start(self: &Arc<Self>) -> Result<(), ControlError> {
        let Some(shared) = self.shared.upgrade() else {
            return Err(ControlError::Failed("server shutting down".into()));
        };
        let generation = {
            let mut s = self.lock();
            if s.vm_state != VmState::Stopped {
                return Err(ControlError::NotStopped);
            }
            s.vm_state = VmState::Starting;
            s.progress = None;
            s.generation += 1;
            s.generation
        };
        let me = self.clone();
        shared.rt.spawn(async move { me.run_vm(generation).await });
        Ok(())
    }

    async fn run_vm(self: Arc<Self>, generation: u64) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let name = format!("olive-{}", self.id);
        let (result, resumed) = self.launch(&shared, &name).await;
        let mut launched = match result {
            Ok(l) => l,
            Err(e) => {
                shared
                    .metrics
                    .launch_failures
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(id = %self.id, item = %self.item.id, "launch failed: {e}");
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
        let (kill_tx, mut kill_rx) = oneshot::channel::<()>();
        let (exited_tx, exited_rx) = watch::channel(false);
        let orphaned = {
            let mut s = self.lock();
            if s.vm_state != VmState::Starting || s.generation != generation {
                true
            } else {
                s.vm_state = VmState::Running;
                s.vm = Some(Vm {
                    pid: launched.pid,
                    kill: Some(kill_tx),
                    exited: exited_rx,
                });
                false
            }
        };
        if orphaned {
            // Destroyed while launching: this QEMU is nobody's.
            crate::qemu::launcher::kill_child(&mut launched.child).await;
            let _ = tokio::fs::remove_dir_all(&self.paths.dir).await;
            return;
        }
        shared.metrics.observe_launch(launched.elapsed);
        tracing::info!(id = %self.id, pid = launched.pid, elapsed = ?launched.elapsed, "VM running");
        // `check_display` tells VMNetX clients to look for a black screen; the gateway has
        // already looked (see `Launcher::resume`), a client doing it again is harmless.
        self.emit(ControlEvent::VmStarted {
            check_display: resumed,
        });
        let mut child = launched.child;
        let status = tokio::select! {
            st = child.wait() => st.ok(),
            _ = &mut kill_rx => {
                crate::qemu::launcher::kill_child(&mut child).await;
                None
            }
        };
        let _ = exited_tx.send(true);
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
            tracing::warn!(id = %self.id, ?status, "QEMU exited unexpectedly; destroying instance");
            self.emit(ControlEvent::VmStopped);
            self.destroy_now().await;
        }
    }

    /// Starts QEMU: resuming the item's memory image on the first start (a restart keeps
    /// the overlay, whose disk no longer matches the image, so it cold-boots as in
    /// VMNetX), and cold-booting after telling the visitor if the image is rejected.
    /// Returns whether the VM was resumed.
    async fn launch(
        &self,
        shared: &Shared,
        name: &str,
    ) -> (Result<crate::qemu::launcher::Launched, LaunchError>, bool) {
        let launcher = &shared.launcher;
        let fresh = !self.paths.overlay.exists();
        let prepared;
        let machine = match &self.item.machine.remote {
            None => &self.item.machine,
            Some(r) => match self.prepare_remote(shared, r, fresh).await {
                Ok(m) => {
                    prepared = m;
                    &prepared
                }
                Err(e) => return (Err(e), false),
            },
        };
        if let Some(image) = machine.memory_image.as_ref() {
            if fresh {
                let progress = |fraction: f64| {
                    self.lock().progress = Some(fraction);
                    self.emit(ControlEvent::StartupProgress { fraction });
                };
                let r = launcher
                    .resume(
                        machine,
                        image,
                        &self.paths,
                        &self.spice_password,
                        name,
                        &progress,
                    )
                    .await;
                match r {
                    Err(LaunchError::MemoryRejected(why)) => {
                        tracing::warn!(id = %self.id, item = %self.item.id, "{why}; cold-booting");
                        shared
                            .metrics
                            .memory_rejected
                            .fetch_add(1, Ordering::Relaxed);
                        self.lock().progress = None;
                        self.emit(ControlEvent::StartupRejectedMemory);
                        // The failed resume's overlay is unused, but start from a clean one.
                        let _ = std::fs::remove_file(&self.paths.overlay);
                        if let Some(fmt) = self.remote_format() {
                            if let Err(e) = launcher
                                .create_overlay(machine.disk.as_os_str(), &fmt, &self.paths.overlay)
                                .await
                            {
                                return (Err(e), false);
                            }
                        }
                    }
                    other => return (other, true),
                }
            }
        }
        let r = launcher
            .launch(machine, &self.paths, &self.spice_password, name)
            .await;
        (r, false)
    }

    /// Fetches the remote package's manifest (or `.nxpk` directory), exports its disk and
    /// gives the machine to launch; on a fresh instance also creates the overlay over the
    /// export (a restarted one keeps its overlay, which names the same socket path).
    async fn prepare_remote(
        &self,
        shared: &Shared,
        r: &crate::packages::remote::RemoteRef,
        fresh: bool,
    ) -> Result<crate::catalog::Machine, LaunchError> {
        // The previous launch's export must release the socket path first.
        self.lock().export = None;
        let cache = shared.chunk_cache().await?;
        let opts = crate::fetch::FetchOptions::default();
        let p = crate::packages::remote::prepare(r, &cache, &opts, shared.policy(), &self.paths)
            .await?;
        if fresh {
            shared
                .launcher
                .create_overlay(
                    p.machine.disk.as_os_str(),
                    &p.disk_format,
                    &self.paths.overlay,
                )
                .await?;
        }
        self.lock().export = Some(p.export);
        self.lock().disk_format = Some(p.disk_format);
        Ok(p.machine)
    }

    /// The disk format of a prepared remote package (`None` for local items).
    fn remote_format(&self) -> Option<String> {
        self.lock().disk_format.clone()
    }

    /// Destroys the instance and waits until QEMU is dead and its files are gone.
    pub async fn destroy_now(self: &Arc<Self>) {
        let vm = {
            let mut s = self.lock();
            if s.vm_state == VmState::Destroyed {
                return;
            }
            s.vm_state = VmState::Destroyed;
            s.vm.take()
        };
        let shared = self.shared.upgrade();
        if let Some(sh) = &shared {
            sh.instances
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&self.id);
            sh.metrics
                .instances_destroyed
                .fetch_add(1, Ordering::Relaxed);
        }
        self.emit(ControlEvent::VmDestroyed);
        if let Some(mut vm) = vm {
            if let Some(k) = vm.kill.take() {
                let _ = k.send(());
            }
            let dead = tokio::time::timeout(Duration::from_secs(4), vm.exited.wait_for(|e| *e))
                .await
                .is_ok_and(|r| r.is_ok());
            if !dead {
                // The watcher is gone (runtime shutting down?): fall back to the PID.
                kill_pid(vm.pid);
            }
        }
        // QEMU is gone: stop serving its disk (the chunk cache stays for other instances).
        self.lock().export = None;
        if let Err(e) = tokio::fs::remove_dir_all(&self.paths.dir).await {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(id = %self.id, "cannot remove {}: {e}", self.paths.dir.display());
            }
        }
        tracing::info!(id = %self.id, "instance destroyed");
    }

    fn summary(&self, epoch: Instant) -> Summary {
        let now_ms = epoch.elapsed().as_millis() as u64;
        let s = self.lock();
        Summary {
            id: self.id.clone(),
            item: self.item.id.clone(),
            status: state_name(s.vm_state),
            pid: s.vm.as_ref().map(|v| v.pid),
            age_secs: self.created.elapsed().as_secs(),
            idle_secs: now_ms.saturating_sub(self.last_activity.load(Ordering::Relaxed)) / 1000,
        }
    }
}

/// Keeps `Arc<Instance>` reachable from `&self` for the trait methods, which take `&self`.
struct HandleRef(Arc<Instance>);

impl InstanceHandle for HandleRef {
    fn id(&self) -> &str {
        &self.0.id
    }
    fn name(&self) -> String {
        self.0.item.meta.title.clone()
    }
    fn state(&self) -> VmState {
        self.0.lock().vm_state
    }
    fn limit_mouse_rate(&self) -> Option<u32> {
        self.0.item.machine.limit_mouse_rate
    }
    fn subscribe(&self) -> broadcast::Receiver<ControlEvent> {
        self.0.events.subscribe()
    }
    fn touch(&self) {
        if let Some(sh) = self.0.shared.upgrade() {
            self.0
                .last_activity
                .store(sh.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
        }
    }
    fn spice_socket(&self) -> Option<PathBuf> {
        (self.state() == VmState::Running).then(|| self.0.paths.spice_socket.clone())
    }
    fn spice_monitor(&self) -> Option<PathBuf> {
        (self.state() == VmState::Running).then(|| self.0.paths.spice_monitor.clone())
    }
    fn startup_progress(&self) -> Option<f64> {
        let s = self.0.lock();
        (s.vm_state == VmState::Starting)
            .then_some(s.progress)
            .flatten()
    }
    fn start_vm(&self) -> Result<(), ControlError> {
        self.0.begin_start()
    }
    fn stop_vm(&self) -> Result<(), ControlError> {
        let mut s = self.0.lock();
        if s.vm_state != VmState::Running {
            return Err(ControlError::NotRunning);
        }
        s.vm_state = VmState::Stopping;
        // Hard power-off, as VMNetX's stop.
        if let Some(k) = s.vm.as_mut().and_then(|v| v.kill.take()) {
            let _ = k.send(());
        }
        Ok(())
    }
    fn destroy(&self) {
        let me = self.0.clone();
        match self.0.shared.upgrade() {
            Some(sh) => {
                sh.rt.spawn(async move { me.destroy_now().await });
            }
            None => {
                if let Some(pid) = me.pid() {
                    kill_pid(pid);
                }
                let _ = std::fs::remove_dir_all(&me.paths.dir);
            }
        }
    }
}

impl Registry {
    /// A registry for `config`. Must be called inside a Tokio runtime (its handle is kept
    /// for the synchronous [`InstanceHandle`] methods that spawn work).
    pub fn new(config: Arc<Config>, launcher: Launcher, metrics: Arc<Metrics>) -> Registry {
        Registry {
            shared: Arc::new(Shared {
                config,
                launcher,
                instances: Mutex::new(HashMap::new()),
                metrics,
                epoch: Instant::now(),
                rt: tokio::runtime::Handle::current(),
                control_url: "/ws".into(),
                chunks: tokio::sync::OnceCell::new(),
                adhoc: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.shared.config
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Instance>>> {
        self.shared
            .instances
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Creates an instance of `item_id` and starts its VM at once (boot overlaps the page
    /// load); returns before QEMU is ready.
    pub fn create(&self, item_id: &str) -> Result<Created, CreateError> {
        let cfg = &self.shared.config;
        let adhoc = || {
            self.shared
                .adhoc
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(item_id)
                .cloned()
        };
        let item = cfg
            .catalog
            .get(item_id)
            .or_else(adhoc)
            .ok_or_else(|| CreateError::UnknownItem(item_id.chars().take(64).collect()))?;
        self.create_for(item)
    }

    /// Registers an item made from a package URL (`GET /launch`), under an id derived from
    /// the URL so the same link reuses the same item; it is not listed in the collection.
    /// `None` once [`MAX_ADHOC_ITEMS`] distinct links have been launched (a bound on what
    /// visitors can make the gateway remember).
    pub fn add_adhoc(
        &self,
        r: crate::packages::remote::RemoteRef,
        meta: crate::catalog::ItemMeta,
    ) -> Option<String> {
        let digest = sha2::Sha256::digest(r.url.as_bytes());
        let id = format!("launch-{}", &crate::packages::olive::hex(&digest)[..16]);
        let item = Arc::new(Item {
            id: id.clone(),
            meta,
            machine: crate::catalog::Machine::remote(r),
        });
        let mut map = self.shared.adhoc.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ADHOC_ITEMS && !map.contains_key(&id) {
            return None;
        }
        map.insert(id.clone(), item);
        Some(id)
    }

    /// The items made by `GET /launch` (id and public description), ordered by id.
    pub fn adhoc_items(&self) -> Vec<(String, crate::catalog::ItemMeta)> {
        let mut v: Vec<_> = self
            .shared
            .adhoc
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|i| (i.id.clone(), i.meta.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The chunk cache of remote packages.
    pub async fn chunk_cache(&self) -> Result<Arc<crate::fetch::ChunkCache>, LaunchError> {
        self.shared.chunk_cache().await
    }

    /// The package limits of this gateway.
    pub fn policy(&self) -> crate::packages::olive::manifest::Policy {
        self.shared.policy()
    }

    fn create_for(&self, item: Arc<Item>) -> Result<Created, CreateError> {
        let cfg = &self.shared.config;
        let instance = {
            let mut map = self.map();
            if map.len() >= cfg.max_instances {
                self.shared
                    .metrics
                    .rejected_at_capacity
                    .fetch_add(1, Ordering::Relaxed);
                return Err(CreateError::AtCapacity(cfg.max_instances));
            }
            let id = base32(&random_bytes::<10>());
            let paths = InstancePaths::new(cfg.data_dir.join("instances").join(&id));
            paths
                .create_dir()
                .map_err(|e| CreateError::Io(e.to_string()))?;
            let (events, _) = broadcast::channel(64);
            let inst = Arc::new(Instance {
                id: id.clone(),
                secret: base64url(&random_bytes::<18>()),
                spice_password: base64url(&random_bytes::<18>()),
                item,
                paths,
                created: Instant::now(),
                last_activity: AtomicU64::new(self.shared.epoch.elapsed().as_millis() as u64),
                inner: Mutex::new(StateInner {
                    vm_state: VmState::Stopped,
                    vm: None,
                    generation: 0,
                    progress: None,
                    export: None,
                    disk_format: None,
                }),
                events,
                shared: Arc::downgrade(&self.shared),
            });
            map.insert(id, inst.clone());
            inst
        };
        self.shared
            .metrics
            .instances_created
            .fetch_add(1, Ordering::Relaxed);
        let _ = instance.begin_start();
        tracing::info!(id = %instance.id, item = %instance.item.id, "instance created");
        Ok(Created {
            id: instance.id.clone(),
            token: instance.token(),
            spice_password: instance.spice_password.clone(),
            control_url: self.shared.control_url.clone(),
        })
    }

    /// Saves instance `id`'s running VM as the package `<data_dir>/packages/<name>` (the
    /// curator's "save now"); the VM continues afterwards.
    pub async fn save_package(
        &self,
        id: &str,
        name: &str,
        codec: crate::packages::olive::codec::Codec,
    ) -> Result<
        (
            std::path::PathBuf,
            crate::packages::olive::manifest::Manifest,
        ),
        SaveError,
    > {
        crate::packages::olive::manifest::check_file_name(name).map_err(SaveError::BadName)?;
        let inst = self.get(id).ok_or(SaveError::NoInstance)?;
        if inst.lock().vm_state != VmState::Running {
            return Err(SaveError::NotRunning);
        }
        let dir = self.shared.config.data_dir.join("packages");
        std::fs::create_dir_all(&dir).map_err(|e| SaveError::Failed(e.to_string()))?;
        let out = dir.join(name);
        inst.touch_now(self.shared.epoch);
        let m = crate::packages::olive::create::save_running(
            &self.shared.launcher,
            &inst.item,
            &inst.paths,
            &out,
            codec,
        )
        .await
        .map_err(|e| SaveError::Failed(e.to_string()))?;
        tracing::info!(id, package = %out.display(), "instance saved as a package");
        Ok((out, m))
    }

    /// The live instance with `id`.
    pub fn get(&self, id: &str) -> Option<Arc<Instance>> {
        self.map().get(id).cloned()
    }

    /// A control handle for instance `id` (for tests and tools; clients use tokens).
    pub fn handle(&self, id: &str) -> Option<Arc<dyn InstanceHandle>> {
        self.get(id)
            .map(|i| Arc::new(HandleRef(i)) as Arc<dyn InstanceHandle>)
    }

    pub fn list(&self) -> Vec<Summary> {
        let mut v: Vec<Summary> = self
            .map()
            .values()
            .map(|i| i.summary(self.shared.epoch))
            .collect();
        v.sort_by(|a, b| b.age_secs.cmp(&a.age_secs).then(a.id.cmp(&b.id)));
        v
    }

    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts of live instances per state, for `/metrics`.
    pub fn by_state(&self) -> Vec<(VmState, usize)> {
        let mut counts = [0usize; 4];
        for i in self.map().values() {
            match i.lock().vm_state {
                VmState::Stopped => counts[0] += 1,
                VmState::Starting => counts[1] += 1,
                VmState::Running => counts[2] += 1,
                VmState::Stopping => counts[3] += 1,
                VmState::Destroyed => {}
            }
        }
        [
            VmState::Stopped,
            VmState::Starting,
            VmState::Running,
            VmState::Stopping,
        ]
        .into_iter()
        .zip(counts)
        .collect()
    }

    /// Destroys instance `id`; false if there is none.
    pub async fn destroy(&self, id: &str) -> bool {
        match self.get(id) {
            Some(i) => {
                i.destroy_now().await;
                true
            }
            None => false,
        }
    }

    /// Destroys every instance (clean shutdown).
    pub async fn destroy_all(&self) {
        let all: Vec<Arc<Instance>> = self.map().values().cloned().collect();
        for i in all {
            i.destroy_now().await;
        }
    }

    /// One garbage-collection pass: destroys instances idle longer than the idle timeout
    /// or older than the session limit. Returns how many it destroyed.
    pub async fn collect_garbage(&self) -> usize {
        let cfg = &self.shared.config;
        let now_ms = self.shared.epoch.elapsed().as_millis() as u64;
        let idle_ms = cfg.idle_timeout.as_millis() as u64;
        let doomed: Vec<(Arc<Instance>, &'static str)> = self
            .map()
            .values()
            .filter_map(|i| {
                if i.created.elapsed() > cfg.session_limit {
                    Some((i.clone(), "session limit"))
                } else if now_ms.saturating_sub(i.last_activity.load(Ordering::Relaxed)) > idle_ms {
                    Some((i.clone(), "idle timeout"))
                } else {
                    None
                }
            })
            .collect();
        let n = doomed.len();
        for (i, why) in doomed {
            tracing::info!(id = %i.id, "garbage-collecting instance ({why})");
            i.destroy_now().await;
        }
        n
    }

    /// Runs [`Registry::collect_garbage`] every `gc_interval` until the task is aborted.
    pub async fn gc_loop(self) {
        let mut tick = tokio::time::interval(self.shared.config.gc_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.collect_garbage().await;
        }
    }
}

impl RegistryTrait for Registry {
    fn authenticate(&self, token: &str) -> Option<Arc<dyn InstanceHandle>> {
        let (id, secret) = token.split_once('/')?;
        let inst = self.get(id)?;
        let ok: bool = inst.secret.as_bytes().ct_eq(secret.as_bytes()).into();
        if !ok || inst.lock().vm_state == VmState::Destroyed {
            return None;
        }
        Some(Arc::new(HandleRef(inst)))
    }

    fn server_timeouts(&self) -> (u64, u64) {
        let c = &self.shared.config;
        let idle = c.idle_timeout.as_secs();
        (idle, idle + c.gc_interval.as_secs())
    }

    fn count_bridged(&self, bytes: u64) {
        self.shared
            .metrics
            .bridged_bytes
            .fetch_add(bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(base32(&random_bytes::<10>()).len(), 16);
        assert_eq!(base64url(&random_bytes::<18>()).len(), 24);
    }
}
