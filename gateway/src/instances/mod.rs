//! The instance registry: creation, the VM state machine, destruction and garbage
//! collection.
//!
//! An instance is VMNetX's unit: an id, a secret token, a private directory and at most
//! one VM at a time ([`instance`]). The registry owns them, enforces the capacity limit and
//! collects the idle and the too-old (`gc.rs`); VMs are started and stopped through an
//! [`engine::Engine`], so none of this knows QEMU. Time is tokio's, so tests run the
//! timeouts under `tokio::time::pause()`.

pub mod adhoc;
pub mod engine;
pub mod eta;
mod gc;
pub mod ids;
pub mod instance;
pub mod queue;
pub mod rate;
pub mod seats;
#[cfg(test)]
mod seats_tests;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

pub use adhoc::MAX_ADHOC_ITEMS;
pub use engine::{Engine, EngineError, SavedPackage};
pub use instance::{Instance, Summary};
pub use seats::{QueueRow, Seat, Ticket, TicketStatus, TicketWatch, Visitor};

use crate::metrics::Metrics;
use crate::model::policy::{check_file_name, BadFileName};
use crate::model::{Catalog, Codec, Item, ItemMeta, RemoteRef, VmState};

/// The limits and places the registry works with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// An instance without activity this long is destroyed.
    pub idle_timeout: Duration,
    /// An instance is destroyed this long after creation whatever it does.
    pub session_limit: Duration,
    /// How often the garbage collector looks.
    pub gc_interval: Duration,
    /// Live instances at most.
    pub max_instances: usize,
    /// Where saved packages go (`<data_dir>/packages`).
    pub packages_dir: PathBuf,
    /// `seats = N` per item id (items without are limited by `max_instances` only).
    pub seats: HashMap<String, usize>,
    /// An instance that had a connection and has had none this long is destroyed.
    pub disconnect_grace: Duration,
    /// An instance made for the first in line must get a connection within this.
    pub handover: Duration,
    /// New instances and places in line per client address per minute.
    pub creates_per_minute: u32,
}

impl Settings {
    /// VMNetX's timeouts, the defaults of the seat limits, `max_instances` instances.
    pub fn new(packages_dir: PathBuf, max_instances: usize) -> Settings {
        let seating = crate::config::Seating::default();
        Settings {
            idle_timeout: Duration::from_secs(crate::config::DEFAULT_IDLE_TIMEOUT_SECS),
            session_limit: Duration::from_secs(4 * 3600),
            gc_interval: Duration::from_secs(crate::config::DEFAULT_GC_INTERVAL_SECS),
            max_instances,
            packages_dir,
            seats: HashMap::new(),
            disconnect_grace: seating.disconnect_grace,
            handover: seating.handover,
            creates_per_minute: seating.creates_per_minute,
        }
    }
}

/// Why an instance could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The item id is not in the catalog (nor a `/launch` item).
    #[error("no such item {0:?}")]
    UnknownItem(String),
    /// `max_instances` instances are alive (the limit).
    #[error("all {0} instance slots are in use")]
    AtCapacity(usize),
    /// The item's `seats` are taken (and the client cannot queue without a cookie).
    #[error("all {0} machines of this title are in use")]
    SeatsFull(usize),
    /// The line for the item is full ([`queue::MAX_WAITING_PER_ITEM`]).
    #[error("the waiting line for this title is full")]
    QueueFull,
    /// The address asked for too many machines in the last minute.
    #[error("too many machines requested from this address; try again in {} s", .0.as_secs().max(1))]
    RateLimited(Duration),
    /// The engine could not make the instance's VM.
    #[error("cannot create instance: {0}")]
    Engine(EngineError),
}

/// Why a running instance could not be saved as a package.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The id names no live instance.
    #[error("no such instance")]
    NoInstance,
    /// Only a running VM can be saved.
    #[error("the instance's VM is not running")]
    NotRunning,
    /// The package name is not a plain file name.
    #[error("package name: {0}")]
    BadName(#[from] BadFileName),
    /// `<data_dir>/packages` could not be made.
    #[error("cannot create {path}: {source}")]
    PackagesDir {
        /// The directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The engine's save failed.
    #[error("saving failed: {0}")]
    Engine(EngineError),
}

/// What the creator of an instance gets back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    /// The new instance's id.
    pub id: String,
    /// `"<id>/<secret>"`, VMNetX's token shape.
    pub token: String,
    /// The SPICE ticket; separate from the token, unlike VMNetX.
    pub spice_password: String,
    /// The layout the item's guest expects, which the player types text by.
    pub keymap: crate::model::Keymap,
}

/// A package saved from a running instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Saved {
    /// The package directory written.
    pub dir: PathBuf,
    /// What the API answers about it.
    pub package: SavedPackage,
}

pub(crate) struct Shared {
    settings: Settings,
    catalog: Catalog,
    engine: Arc<dyn Engine>,
    instances: Mutex<HashMap<String, Arc<Instance>>>,
    metrics: Arc<Metrics>,
    epoch: Instant,
    rt: tokio::runtime::Handle,
    adhoc: adhoc::Adhoc,
    queue: Mutex<seats::QueueState>,
    queue_changed: tokio::sync::watch::Sender<u64>,
    /// Set by [`Registry::destroy_all`]: nothing new starts while the gateway shuts down.
    closing: AtomicBool,
}

impl Shared {
    /// Milliseconds since the registry started (tokio's clock).
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, Arc<Instance>>> {
        self.instances.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a destroyed instance out of the registry; its seat goes to the next in line.
    fn forget(self: &Arc<Self>, id: &str) {
        let removed = self.map().remove(id);
        if let Some(inst) = removed {
            self.metrics
                .instances_destroyed
                .fetch_add(1, Ordering::Relaxed);
            self.on_destroyed(&inst);
        }
    }
}

/// The registry; cheap to clone.
#[derive(Clone)]
pub struct Registry {
    shared: Arc<Shared>,
}

impl Registry {
    /// A registry for the items of `catalog`, running VMs on `engine`. Must be called
    /// inside a Tokio runtime (its handle is kept for the synchronous methods that spawn
    /// work).
    pub fn new(
        settings: Settings,
        catalog: Catalog,
        engine: Arc<dyn Engine>,
        metrics: Arc<Metrics>,
    ) -> Registry {
        Registry {
            shared: Arc::new(Shared {
                catalog,
                engine,
                instances: Mutex::new(HashMap::new()),
                metrics,
                epoch: Instant::now(),
                rt: tokio::runtime::Handle::current(),
                adhoc: adhoc::Adhoc::default(),
                queue: Mutex::new(seats::QueueState::new(settings.creates_per_minute)),
                queue_changed: tokio::sync::watch::channel(0).0,
                closing: AtomicBool::new(false),
                settings,
            }),
        }
    }

    /// The lifecycle settings the registry was made with.
    pub fn settings(&self) -> &Settings {
        &self.shared.settings
    }

    /// The configured items.
    pub fn catalog(&self) -> &Catalog {
        &self.shared.catalog
    }

    /// The counters `/metrics` prints.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// Creates an instance of `item_id` (a catalog item or one made by `/launch`) and starts
    /// its VM at once (boot overlaps the page load); returns before the VM is ready.
    pub fn create(&self, item_id: &str) -> Result<Created, CreateError> {
        let item = self
            .shared
            .catalog
            .get(item_id)
            .or_else(|| self.shared.adhoc.get(item_id))
            .ok_or_else(|| CreateError::UnknownItem(item_id.chars().take(64).collect()))?;
        self.create_for(item)
    }

    fn create_for(&self, item: Arc<Item>) -> Result<Created, CreateError> {
        let instance = self.shared.spawn(item, None, false, None)?;
        Ok(seats::created_of(&instance))
    }

    /// Registers an item made from a package URL (`GET /launch`); see [`adhoc`]. `None`
    /// once [`MAX_ADHOC_ITEMS`] distinct links have been launched.
    pub fn add_adhoc(&self, remote: RemoteRef, meta: ItemMeta) -> Option<String> {
        self.shared.adhoc.add(remote, meta)
    }

    /// The items made by `GET /launch` (id and public description), ordered by id.
    pub fn adhoc_items(&self) -> Vec<(String, ItemMeta)> {
        self.shared.adhoc.list()
    }

    /// Saves instance `id`'s running VM as the package `<packages_dir>/<name>` (the
    /// curator's "save now"); the VM continues afterwards.
    pub async fn save_package(
        &self,
        id: &str,
        name: &str,
        codec: Codec,
    ) -> Result<Saved, SaveError> {
        check_file_name(name)?;
        let inst = self.get(id).ok_or(SaveError::NoInstance)?;
        let vm = inst.running_vm().ok_or(SaveError::NotRunning)?;
        let dir = &self.shared.settings.packages_dir;
        std::fs::create_dir_all(dir).map_err(|source| SaveError::PackagesDir {
            path: dir.clone(),
            source,
        })?;
        let out = dir.join(name);
        // Saving takes a while; the idle timer must not fire meanwhile.
        inst.touch();
        let package = vm
            .save(&inst.item().meta, &out, codec)
            .await
            .map_err(SaveError::Engine)?;
        tracing::info!(id, package = %out.display(), "instance saved as a package");
        Ok(Saved { dir: out, package })
    }

    /// The live instance with `id`.
    pub fn get(&self, id: &str) -> Option<Arc<Instance>> {
        self.shared.map().get(id).cloned()
    }

    /// The live instance with `id` (the name tools and tests use for a control handle;
    /// clients use tokens).
    pub fn handle(&self, id: &str) -> Option<Arc<Instance>> {
        self.get(id)
    }

    /// The instance whose token equals `token` (secret compared in constant time), if it
    /// is not destroyed.
    pub fn authenticate(&self, token: &str) -> Option<Arc<Instance>> {
        let (id, secret) = ids::split_token(token)?;
        let inst = self.get(id)?;
        if !ids::secret_matches(&inst.secret, secret) || inst.state() == VmState::Destroyed {
            return None;
        }
        Some(inst)
    }

    /// `auth-ok.server_timeout_min` / `_max` in seconds (the idle timeout, and the idle
    /// timeout plus the garbage collector's period).
    pub fn server_timeouts(&self) -> (u64, u64) {
        let s = &self.shared.settings;
        let idle = s.idle_timeout.as_secs();
        (idle, idle + s.gc_interval.as_secs())
    }

    /// Every live instance, oldest first.
    pub fn list(&self) -> Vec<Summary> {
        let now = self.shared.now_ms();
        let mut v: Vec<Summary> = self.shared.map().values().map(|i| i.summary(now)).collect();
        v.sort_by(|a, b| b.age_secs.cmp(&a.age_secs).then(a.id.cmp(&b.id)));
        v
    }

    /// How many live instances there are.
    pub fn len(&self) -> usize {
        self.shared.map().len()
    }

    /// Whether no instance is alive.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts of live instances per state, for `/metrics`.
    pub fn by_state(&self) -> Vec<(VmState, usize)> {
        let states: Vec<VmState> = self.shared.map().values().map(|i| i.state()).collect();
        VmState::LIVE
            .into_iter()
            .map(|s| (s, states.iter().filter(|x| **x == s).count()))
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
        self.shared.closing.store(true, Ordering::Relaxed);
        let all: Vec<Arc<Instance>> = self.shared.map().values().cloned().collect();
        for i in all {
            i.destroy_now().await;
        }
    }

    /// Counts bridged bytes, for `/metrics`.
    pub fn count_bridged(&self, bytes: u64) {
        self.shared
            .metrics
            .bridged_bytes
            .fetch_add(bytes, Ordering::Relaxed);
    }
}
