//! How long a visitor in line will probably wait, from how long recent sessions of the
//! same title lasted. Pure.
//!
//! The model: every seat in use frees after the mean recent session length minus its age
//! (at least a few seconds: a session past the mean may end any moment, not never), and a
//! freed seat then serves the next in line for one more mean. Position P is served at the
//! P-th freeing. With no history there is no estimate (`None`, "unknown"): guessing would
//! only teach visitors that the numbers lie.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

/// Session lengths remembered per item.
pub const HISTORY: usize = 20;

/// The shortest remaining time assumed for a seat in use.
const FLOOR: Duration = Duration::from_secs(5);

/// Recent session lengths per item.
#[derive(Debug, Default)]
pub struct History {
    lengths: HashMap<String, VecDeque<Duration>>,
}

impl History {
    /// Records a destroyed instance of `item` that lived `length`.
    pub fn record(&mut self, item: &str, length: Duration) {
        let l = self.lengths.entry(item.to_owned()).or_default();
        if l.len() == HISTORY {
            l.pop_front();
        }
        l.push_back(length);
    }

    /// The mean of `item`'s recent session lengths, if it has any.
    pub fn mean(&self, item: &str) -> Option<Duration> {
        let l = self.lengths.get(item).filter(|l| !l.is_empty())?;
        let n = u32::try_from(l.len()).ok()?;
        Some(l.iter().sum::<Duration>() / n)
    }
}

/// When position `position` (1 = next) is expected to get a seat, given the ages of the
/// seats in use and the mean session length; `None` without a mean or with no seat.
pub fn eta(position: usize, ages_in_use: &[Duration], mean: Option<Duration>) -> Option<Duration> {
    let mean = mean?;
    if ages_in_use.is_empty() || position == 0 {
        return None;
    }
    let mut free_at: Vec<Duration> = ages_in_use
        .iter()
        .map(|a| mean.saturating_sub(*a).max(FLOOR))
        .collect();
    for _ in 1..position {
        // The seat that frees first serves this one, then frees again one mean later.
        let (i, t) = free_at.iter().enumerate().min_by_key(|(_, t)| **t)?;
        free_at[i] = *t + mean;
    }
    free_at.into_iter().min()
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn history_keeps_the_last_twenty() {
        let mut h = History::default();
        assert_eq!(h.mean("g"), None);
        for _ in 0..HISTORY {
            h.record("g", s(1000));
        }
        h.record("g", s(100));
        // 19 × 1000 + 100 over 20.
        assert_eq!(h.mean("g"), Some(Duration::from_millis(955_000)));
        assert_eq!(h.mean("other"), None);
    }

    #[test]
    fn estimates() {
        // No history: unknown.
        assert_eq!(eta(1, &[s(10)], None), None);
        // One seat, 60 s in of a 300 s mean: the first waits 240 s, the second 540 s.
        assert_eq!(eta(1, &[s(60)], Some(s(300))), Some(s(240)));
        assert_eq!(eta(2, &[s(60)], Some(s(300))), Some(s(540)));
        // Two seats: the second in line takes the seat that frees second.
        assert_eq!(eta(2, &[s(60), s(200)], Some(s(300))), Some(s(240)));
        assert_eq!(eta(3, &[s(60), s(200)], Some(s(300))), Some(s(400)));
        // A session past the mean may end any moment: the floor, not zero.
        assert_eq!(eta(1, &[s(900)], Some(s(300))), Some(FLOOR));
    }
}
