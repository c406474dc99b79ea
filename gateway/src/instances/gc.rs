//! The garbage collector: every `gc_interval` it destroys the instances idle longer than
//! the idle timeout (no ping, connection or viewer traffic), those older than the
//! session limit, those whose visitor left (connected once, no connection for the
//! disconnect grace) and hand-over instances not taken in time; then it drops tickets
//! nobody watches and calls the next in line.

use std::sync::Arc;

use super::{Instance, Registry};

impl Registry {
    /// One garbage-collection pass. Returns how many instances it destroyed.
    pub async fn collect_garbage(&self) -> usize {
        let s = &self.shared.settings;
        let now = self.shared.now_ms();
        let idle_ms = u64::try_from(s.idle_timeout.as_millis()).unwrap_or(u64::MAX);
        let grace_ms = u64::try_from(s.disconnect_grace.as_millis()).unwrap_or(u64::MAX);
        let doomed: Vec<(Arc<Instance>, &'static str)> = self
            .shared
            .map()
            .values()
            .filter_map(|i| {
                if i.age() > s.session_limit {
                    Some((i.clone(), "session limit"))
                } else if i.left_ms(now).is_some_and(|ms| ms > grace_ms) {
                    Some((i.clone(), "visitor left"))
                } else if i.handover_missed(s.handover) {
                    Some((i.clone(), "hand-over not taken"))
                } else if i.idle_ms(now) > idle_ms {
                    Some((i.clone(), "idle timeout"))
                } else {
                    None
                }
            })
            .collect();
        let n = doomed.len();
        for (i, why) in doomed {
            tracing::info!(id = i.id(), "garbage-collecting instance ({why})");
            if why == "hand-over not taken" {
                self.shared
                    .metrics
                    .queue_abandoned
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            i.destroy_now().await;
        }
        self.expire_tickets();
        self.shared.serve_queue();
        n
    }

    /// Runs [`Registry::collect_garbage`] every `gc_interval` until the task is aborted.
    pub async fn gc_loop(self) {
        let mut tick = tokio::time::interval(self.shared.settings.gc_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            self.collect_garbage().await;
        }
    }
}
