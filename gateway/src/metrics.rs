//! Counters for `/metrics`, written in the Prometheus text format by hand (a handful of
//! series does not justify a metrics framework).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::model::VmState;

/// Upper bounds (seconds) of the launch-time histogram: QMP readiness is sub-second when
/// healthy, so the buckets are fine at the low end.
const BUCKETS: &[f64] = &[0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; 7],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        let s = d.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.counts[i] += 1;
            }
        }
        self.sum += s;
        self.count += 1;
    }
}

/// Process-wide counters.
#[derive(Default)]
pub struct Metrics {
    /// Instances made (`olive_instances_created_total`).
    pub instances_created: AtomicU64,
    /// Instances destroyed, for any reason (`olive_instances_destroyed_total`).
    pub instances_destroyed: AtomicU64,
    /// VMs that reached readiness (`olive_launches_total`).
    pub launches: AtomicU64,
    /// VMs that failed to start (`olive_launch_failures_total`).
    pub launch_failures: AtomicU64,
    /// Bytes passed between viewers and SPICE (`olive_bridged_bytes_total`).
    pub bridged_bytes: AtomicU64,
    /// `POST /api/instances` refused at `max_instances` (`olive_rejected_at_capacity_total`).
    pub rejected_at_capacity: AtomicU64,
    /// Memory images that could not be resumed (the VM cold-booted instead).
    pub memory_rejected: AtomicU64,
    /// Visitors who joined a queue (`olive_queue_joined_total`).
    pub queue_joined: AtomicU64,
    /// Visitors called from a queue (`olive_queue_served_total`).
    pub queue_served: AtomicU64,
    /// Tickets whose stream went away, and hand-overs not taken (`olive_queue_abandoned_total`).
    pub queue_abandoned: AtomicU64,
    /// Creates answered with the visitor's existing instance (`olive_instances_reused_total`).
    pub instances_reused: AtomicU64,
    /// Creates refused by the per-address rate limit (`olive_rate_limited_total`).
    pub rate_limited: AtomicU64,
    launch_time: Mutex<Histogram>,
    handover_time: Mutex<Histogram>,
}

impl Metrics {
    /// Counts one launch that took `d` and adds it to the launch-time histogram.
    pub fn observe_launch(&self, d: Duration) {
        self.launches.fetch_add(1, Ordering::Relaxed);
        self.launch_time
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .observe(d);
    }

    /// Adds a hand-over (a seat called from the queue → its first connection) that took `d`.
    pub fn observe_handover(&self, d: Duration) {
        self.handover_time
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .observe(d);
    }

    /// `olive_queue_waiting{item}` for `waiting` (item, count), as exposition text.
    pub fn render_waiting(waiting: &[(String, usize)]) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "# HELP olive_queue_waiting Visitors waiting for a seat, per item."
        );
        let _ = writeln!(o, "# TYPE olive_queue_waiting gauge");
        for (item, n) in waiting {
            // Item ids are `A-Z a-z 0-9 - _ .`: nothing to escape.
            let _ = writeln!(o, "olive_queue_waiting{{item=\"{item}\"}} {n}");
        }
        o
    }

    /// The exposition text; `by_state` counts live instances per VM state.
    pub fn render(&self, by_state: &[(VmState, usize)]) -> String {
        let mut o = String::new();
        let c = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(o, "# HELP olive_instances Live instances by VM state.");
        let _ = writeln!(o, "# TYPE olive_instances gauge");
        for (state, n) in by_state {
            let _ = writeln!(o, "olive_instances{{state=\"{}\"}} {n}", state.name());
        }
        for (name, help, v) in [
            (
                "olive_instances_created_total",
                "Instances created.",
                c(&self.instances_created),
            ),
            (
                "olive_instances_destroyed_total",
                "Instances destroyed.",
                c(&self.instances_destroyed),
            ),
            (
                "olive_launches_total",
                "QEMU launches that reached readiness.",
                c(&self.launches),
            ),
            (
                "olive_launch_failures_total",
                "QEMU launches that failed.",
                c(&self.launch_failures),
            ),
            (
                "olive_bridged_bytes_total",
                "Bytes bridged between clients and VMs.",
                c(&self.bridged_bytes),
            ),
            (
                "olive_rejected_at_capacity_total",
                "Instance requests refused at the concurrency limit.",
                c(&self.rejected_at_capacity),
            ),
            (
                "olive_memory_rejected_total",
                "Memory images that could not be resumed (cold boot instead).",
                c(&self.memory_rejected),
            ),
            (
                "olive_queue_joined_total",
                "Visitors who joined a queue for a seat.",
                c(&self.queue_joined),
            ),
            (
                "olive_queue_served_total",
                "Visitors called from a queue to a seat.",
                c(&self.queue_served),
            ),
            (
                "olive_queue_abandoned_total",
                "Places in line given up (stream closed) and hand-overs not taken.",
                c(&self.queue_abandoned),
            ),
            (
                "olive_instances_reused_total",
                "Creates answered with the visitor's existing instance.",
                c(&self.instances_reused),
            ),
            (
                "olive_rate_limited_total",
                "Creates refused by the per-address rate limit.",
                c(&self.rate_limited),
            ),
        ] {
            let _ = writeln!(o, "# HELP {name} {help}");
            let _ = writeln!(o, "# TYPE {name} counter");
            let _ = writeln!(o, "{name} {v}");
        }
        let h = self.launch_time.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(
            o,
            "# HELP olive_launch_seconds Time from launch to QMP readiness."
        );
        let _ = writeln!(o, "# TYPE olive_launch_seconds histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                o,
                "olive_launch_seconds_bucket{{le=\"{b}\"}} {}",
                h.counts[i]
            );
        }
        let _ = writeln!(o, "olive_launch_seconds_bucket{{le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(o, "olive_launch_seconds_sum {}", h.sum);
        let _ = writeln!(o, "olive_launch_seconds_count {}", h.count);
        drop(h);
        let h = self.handover_time.lock().unwrap_or_else(|e| e.into_inner());
        let name = "olive_queue_handover_seconds";
        let _ = writeln!(
            o,
            "# HELP {name} Time from a seat called from the queue to the visitor's first connection."
        );
        let _ = writeln!(o, "# TYPE {name} histogram");
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(o, "{name}_bucket{{le=\"{b}\"}} {}", h.counts[i]);
        }
        let _ = writeln!(o, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
        let _ = writeln!(o, "{name}_sum {}", h.sum);
        let _ = writeln!(o, "{name}_count {}", h.count);
        o
    }
}
