//! The lifecycle under paused tokio time, with a fake engine. The fake stands for "a VM";
//! what is tested is the registry: states and events, capacity, the idle timeout and the
//! session limit, destruction. Real QEMU is exercised by `tests/lifecycle.rs`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{advance, Instant};

use super::engine::{
    BoxFuture, Engine, EngineError, Exit, LaunchEvent, LaunchRequest, SavedPackage, Started, Vm,
};
use super::{CreateError, Registry, SaveError, Settings};
use crate::metrics::Metrics;
use crate::model::{
    Access, Catalog, Codec, ControlError, ControlEvent, Disk, Hardware, Item, ItemMeta, Machine,
    MachineSource, SpiceAddress, SpiceEndpoint, VmState,
};

/// A VM that runs until killed or told to crash.
struct FakeVm {
    exit: watch::Sender<Option<Exit>>,
}

impl FakeVm {
    fn crash(&self) {
        self.exit
            .send_replace(Some(Exit::Exited("signal: 9 (SIGKILL)".into())));
    }
}

impl Vm for FakeVm {
    fn pid(&self) -> Option<u32> {
        Some(4242)
    }
    fn spice(&self) -> SpiceEndpoint {
        SpiceEndpoint {
            address: SpiceAddress::Tcp("vmhost.example:5900".into()),
            handover: None,
        }
    }
    fn wait(&self) -> BoxFuture<'_, Exit> {
        let mut rx = self.exit.subscribe();
        Box::pin(async move {
            let got = rx.wait_for(Option::is_some).await;
            got.ok().and_then(|e| e.clone()).unwrap_or(Exit::Killed)
        })
    }
    fn kill(&self) -> BoxFuture<'_, ()> {
        self.exit.send_if_modified(|e| {
            let first = e.is_none();
            if first {
                *e = Some(Exit::Killed);
            }
            first
        });
        Box::pin(async {})
    }
    fn save<'a>(
        &'a self,
        meta: &'a ItemMeta,
        _: &'a Path,
        _: Codec,
    ) -> BoxFuture<'a, Result<SavedPackage, EngineError>> {
        Box::pin(async move {
            Ok(SavedPackage {
                name: meta.title.clone(),
                memory_bytes: Some(1),
            })
        })
    }
}

/// How the fake engine starts VMs.
#[derive(Default)]
pub(super) struct FakeEngine {
    /// Time a start takes.
    boot: Duration,
    /// Launches fail with this text.
    fail: Option<&'static str>,
    /// A memory image is "rejected" first (then a cold boot).
    reject_memory: bool,
    vms: Mutex<Vec<Arc<FakeVm>>>,
    created: Mutex<Vec<String>>,
    removed: Mutex<Vec<String>>,
    launches: AtomicUsize,
}

impl Engine for FakeEngine {
    fn create(&self, instance: &str) -> Result<PathBuf, EngineError> {
        self.created.lock().unwrap().push(instance.to_owned());
        Ok(PathBuf::from("/nonexistent/instances").join(instance))
    }
    fn launch<'a>(&'a self, req: LaunchRequest<'a>) -> BoxFuture<'a, Result<Started, EngineError>> {
        Box::pin(async move {
            self.launches.fetch_add(1, Ordering::SeqCst);
            (req.report)(LaunchEvent::Progress(0.5));
            tokio::time::sleep(self.boot).await;
            if let Some(why) = self.fail {
                return Err(why.into());
            }
            if self.reject_memory {
                (req.report)(LaunchEvent::MemoryRejected("bad image".into()));
            }
            let (exit, _) = watch::channel(None);
            let vm = Arc::new(FakeVm { exit });
            self.vms.lock().unwrap().push(vm.clone());
            Ok(Started {
                vm,
                resumed: !self.reject_memory,
                elapsed: self.boot,
            })
        })
    }
    fn remove<'a>(&'a self, instance: &'a str) -> BoxFuture<'a, ()> {
        self.removed.lock().unwrap().push(instance.to_owned());
        Box::pin(async {})
    }
}

pub(super) fn item(id: &str) -> Item {
    Item {
        id: id.into(),
        meta: ItemMeta::titled("Guest"),
        machine: MachineSource::Local(Machine::new(
            Hardware::new(256, 1),
            Disk::File("/nonexistent/disk.qcow2".into()),
        )),
        access: Access::Public,
        keymap: crate::model::Keymap::default(),
        screen: None,
    }
}

pub(super) fn settings(idle: u64, session: u64, gc: u64, max: usize) -> Settings {
    Settings {
        idle_timeout: Duration::from_secs(idle),
        session_limit: Duration::from_secs(session),
        gc_interval: Duration::from_secs(gc),
        ..Settings::new(std::env::temp_dir().join("olive-never-written"), max)
    }
}

fn registry(engine: &Arc<FakeEngine>, s: Settings) -> Registry {
    let catalog = Catalog::new(vec![item("guest")]);
    Registry::new(s, catalog, engine.clone(), Arc::new(Metrics::default()))
}

/// Lets spawned tasks run (time is paused: this only yields).
pub(super) async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

async fn events_until(
    rx: &mut tokio::sync::broadcast::Receiver<ControlEvent>,
    last: &ControlEvent,
) -> Vec<ControlEvent> {
    let mut seen = Vec::new();
    while seen.last() != Some(last) {
        seen.push(rx.recv().await.expect("event"));
    }
    seen
}

#[tokio::test(start_paused = true)]
async fn create_starts_at_once_and_reports_progress_then_running() {
    let engine = Arc::new(FakeEngine {
        boot: Duration::from_secs(2),
        ..FakeEngine::default()
    });
    let reg = registry(&engine, settings(300, 3600, 5, 2));
    let t0 = Instant::now();
    let c = reg.create("guest").unwrap();
    let inst = reg.authenticate(&c.token).expect("token authenticates");
    assert!(reg.authenticate(&format!("{}/wrong", c.id)).is_none());
    let mut rx = inst.subscribe();
    let seen = events_until(
        &mut rx,
        &ControlEvent::VmStarted {
            check_display: true,
        },
    )
    .await;
    assert_eq!(
        seen,
        [
            ControlEvent::StartupProgress { fraction: 0.5 },
            ControlEvent::VmStarted {
                check_display: true
            }
        ]
    );
    assert_eq!(
        t0.elapsed(),
        Duration::from_secs(2),
        "ready when the engine is"
    );
    assert_eq!(inst.state(), VmState::Running);
    assert_eq!(inst.pid(), Some(4242));
    let spice = inst.spice().expect("a running VM has a display");
    assert_eq!(
        spice.address,
        SpiceAddress::Tcp("vmhost.example:5900".into())
    );
    assert_eq!(reg.list()[0].status, VmState::Running);
    assert_eq!(reg.metrics().launches.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn capacity_is_enforced_and_freed_by_destroy() {
    let engine = Arc::new(FakeEngine::default());
    let reg = registry(&engine, settings(300, 3600, 5, 2));
    let a = reg.create("guest").unwrap();
    reg.create("guest").unwrap();
    assert!(matches!(
        reg.create("guest"),
        Err(CreateError::AtCapacity(2))
    ));
    assert!(matches!(
        reg.create("nope"),
        Err(CreateError::UnknownItem(_))
    ));
    settle().await;
    assert!(reg.destroy(&a.id).await);
    assert!(!reg.destroy(&a.id).await);
    assert!(
        reg.authenticate(&a.token).is_none(),
        "a dead token stays dead"
    );
    assert_eq!(*engine.removed.lock().unwrap(), std::slice::from_ref(&a.id));
    assert!(
        engine.vms.lock().unwrap()[0].exit.borrow().is_some(),
        "VM killed"
    );
    reg.create("guest").expect("a slot is free again");
    assert_eq!(
        reg.metrics().rejected_at_capacity.load(Ordering::Relaxed),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn idle_instances_go_at_the_first_collection_after_the_timeout() {
    // idle 3 s, GC every 1 s: an untouched instance is idle for more than 3 s first at the
    // collection at t = 4 s.
    let engine = Arc::new(FakeEngine::default());
    let reg = registry(&engine, settings(3, 3600, 1, 2));
    let gc = tokio::spawn(reg.clone().gc_loop());
    // The collector's first pass runs at once; the clock starts with it.
    settle().await;
    let t0 = Instant::now();
    let idle = reg.create("guest").unwrap();
    let busy = reg.create("guest").unwrap();
    let busy_handle = reg.get(&busy.id).unwrap();
    let mut gone = None;
    while t0.elapsed() < Duration::from_secs(10) {
        advance(Duration::from_millis(100)).await;
        settle().await;
        busy_handle.touch();
        if gone.is_none() && reg.get(&idle.id).is_none() {
            gone = Some(t0.elapsed());
        }
    }
    gc.abort();
    assert_eq!(
        gone,
        Some(Duration::from_secs(4)),
        "idle instance collected"
    );
    assert!(reg.get(&busy.id).is_some(), "a touched instance stays");
    assert_eq!(reg.server_timeouts(), (3, 4));
}

#[tokio::test(start_paused = true)]
async fn the_session_limit_ends_even_a_busy_instance() {
    let engine = Arc::new(FakeEngine::default());
    let reg = registry(&engine, settings(3, 7, 1, 2));
    let gc = tokio::spawn(reg.clone().gc_loop());
    settle().await;
    let t0 = Instant::now();
    let c = reg.create("guest").unwrap();
    let h = reg.get(&c.id).unwrap();
    let mut rx = h.subscribe();
    let mut gone = None;
    while gone.is_none() && t0.elapsed() < Duration::from_secs(20) {
        advance(Duration::from_millis(200)).await;
        settle().await;
        h.touch();
        if reg.get(&c.id).is_none() {
            gone = Some(t0.elapsed());
        }
    }
    gc.abort();
    // Older than 7 s at the collection at t = 8 s.
    assert_eq!(gone, Some(Duration::from_secs(8)));
    let seen = events_until(&mut rx, &ControlEvent::VmDestroyed).await;
    assert!(
        seen.contains(&ControlEvent::VmStarted {
            check_display: true
        }),
        "{seen:?}"
    );
    assert_eq!(h.state(), VmState::Destroyed);
}

#[tokio::test(start_paused = true)]
async fn a_vm_that_dies_reports_stopped_then_destroyed() {
    let engine = Arc::new(FakeEngine::default());
    let reg = registry(&engine, settings(300, 3600, 5, 2));
    let c = reg.create("guest").unwrap();
    let h = reg.get(&c.id).unwrap();
    let mut rx = h.subscribe();
    events_until(
        &mut rx,
        &ControlEvent::VmStarted {
            check_display: true,
        },
    )
    .await;
    engine.vms.lock().unwrap()[0].crash();
    let seen = events_until(&mut rx, &ControlEvent::VmDestroyed).await;
    assert_eq!(seen, [ControlEvent::VmStopped, ControlEvent::VmDestroyed]);
    assert!(reg.get(&c.id).is_none());
    assert_eq!(*engine.removed.lock().unwrap(), [c.id]);
    assert_eq!(reg.metrics().instances_destroyed.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn stop_and_start_follow_vmnetx_states() {
    let engine = Arc::new(FakeEngine::default());
    let reg = registry(&engine, settings(300, 3600, 5, 2));
    let c = reg.create("guest").unwrap();
    let h = reg.get(&c.id).unwrap();
    let mut rx = h.subscribe();
    events_until(
        &mut rx,
        &ControlEvent::VmStarted {
            check_display: true,
        },
    )
    .await;
    assert_eq!(h.start_vm(), Err(ControlError::NotStopped));
    h.stop_vm().unwrap();
    assert_eq!(h.state(), VmState::Stopping);
    assert_eq!(h.stop_vm(), Err(ControlError::NotRunning));
    events_until(&mut rx, &ControlEvent::VmStopped).await;
    assert_eq!(h.state(), VmState::Stopped);
    assert!(h.spice().is_none());
    assert!(reg.get(&c.id).is_some(), "a stopped instance is kept");
    h.start_vm().unwrap();
    events_until(
        &mut rx,
        &ControlEvent::VmStarted {
            check_display: true,
        },
    )
    .await;
    assert_eq!(engine.launches.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_failed_launch_is_told_and_leaves_the_instance_stopped() {
    let engine = Arc::new(FakeEngine {
        fail: Some("unsupported machine type \"no-such-board\""),
        ..FakeEngine::default()
    });
    let reg = registry(&engine, settings(300, 3600, 5, 2));
    let c = reg.create("guest").unwrap();
    let h = reg.get(&c.id).unwrap();
    let mut rx = h.subscribe();
    let seen = events_until(&mut rx, &ControlEvent::VmStopped).await;
    assert!(
        seen.contains(&ControlEvent::StartupFailed {
            message: "unsupported machine type \"no-such-board\"".into()
        }),
        "{seen:?}"
    );
    assert_eq!(h.state(), VmState::Stopped);
    assert_eq!(reg.metrics().launch_failures.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn a_rejected_memory_image_is_told_before_the_cold_boot() {
    let engine = Arc::new(FakeEngine {
        reject_memory: true,
        ..FakeEngine::default()
    });
    let reg = registry(&engine, settings(300, 3600, 5, 2));
    let c = reg.create("guest").unwrap();
    let h = reg.get(&c.id).unwrap();
    let mut rx = h.subscribe();
    let seen = events_until(
        &mut rx,
        &ControlEvent::VmStarted {
            check_display: false,
        },
    )
    .await;
    assert_eq!(
        seen,
        [
            ControlEvent::StartupProgress { fraction: 0.5 },
            ControlEvent::StartupRejectedMemory,
            ControlEvent::VmStarted {
                check_display: false
            }
        ]
    );
    assert_eq!(reg.metrics().memory_rejected.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn destroyed_while_launching_the_vm_is_killed() {
    let engine = Arc::new(FakeEngine {
        boot: Duration::from_secs(5),
        ..FakeEngine::default()
    });
    let reg = registry(&engine, settings(300, 3600, 5, 2));
    let c = reg.create("guest").unwrap();
    settle().await;
    assert_eq!(reg.get(&c.id).unwrap().startup_progress(), Some(0.5));
    assert!(reg.destroy(&c.id).await);
    advance(Duration::from_secs(6)).await;
    settle().await;
    let vms = engine.vms.lock().unwrap();
    assert_eq!(vms.len(), 1, "the launch finished");
    assert_eq!(
        *vms[0].exit.borrow(),
        Some(Exit::Killed),
        "and its VM was killed"
    );
    assert_eq!(
        engine.removed.lock().unwrap().len(),
        2,
        "files removed after it too"
    );
}

#[tokio::test(start_paused = true)]
async fn saving_needs_a_running_vm_and_a_plain_name() {
    let engine = Arc::new(FakeEngine {
        boot: Duration::from_secs(1),
        ..FakeEngine::default()
    });
    let reg = registry(&engine, settings(300, 3600, 5, 2));
    let c = reg.create("guest").unwrap();
    assert!(matches!(
        reg.save_package(&c.id, "pkg", Codec::Lz4).await,
        Err(SaveError::NotRunning)
    ));
    assert!(matches!(
        reg.save_package(&c.id, "../etc", Codec::Lz4).await,
        Err(SaveError::BadName(_))
    ));
    assert!(matches!(
        reg.save_package("nope", "pkg", Codec::Lz4).await,
        Err(SaveError::NoInstance)
    ));
    settle().await;
    advance(Duration::from_secs(2)).await;
    settle().await;
    let saved = reg.save_package(&c.id, "pkg", Codec::Lz4).await.unwrap();
    assert_eq!(saved.package.name, "Guest");
    assert!(saved.dir.ends_with("olive-never-written/pkg"));
}

#[tokio::test(start_paused = true)]
async fn launched_links_are_remembered_once_and_bounded() {
    use crate::model::{Kind, RemoteRef};
    let engine = Arc::new(FakeEngine::default());
    let reg = registry(&engine, settings(300, 3600, 5, 2));
    let link = |n: usize| RemoteRef {
        url: format!("https://h.example/{n}.nxpk"),
        kind: Kind::Nxpk,
    };
    let first = reg.add_adhoc(link(0), ItemMeta::titled("zero")).unwrap();
    assert_eq!(
        reg.add_adhoc(link(0), ItemMeta::titled("zero")),
        Some(first.clone())
    );
    for n in 1..super::MAX_ADHOC_ITEMS {
        assert!(reg.add_adhoc(link(n), ItemMeta::titled("n")).is_some());
    }
    assert_eq!(reg.add_adhoc(link(9999), ItemMeta::titled("full")), None);
    assert_eq!(reg.adhoc_items().len(), super::MAX_ADHOC_ITEMS);
    assert!(first.starts_with("launch-") && first.len() == 23);
}
