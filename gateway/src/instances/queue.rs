//! The waiting lines of titles whose seats are taken: pure bookkeeping, time passed in.
//!
//! One line per item, first come first served; a global sequence number orders the heads
//! of different lines (a seat freed by `max_instances` goes to whoever came first of
//! those who fit). A ticket is *attached* while at least one event stream watches it; a
//! ticket detached for longer than the linger (a closed tab) leaves the line, while a
//! reload re-attaches in time and keeps its place. Others joining or leaving never
//! reorder a line. A visitor holds at most one ticket.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;

/// Most visitors waiting for one item; beyond it the gateway answers 503, since an ETA of
/// hours helps nobody and the memory is the gateway's.
pub const MAX_WAITING_PER_ITEM: usize = 1000;

/// One visitor in line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    /// The ticket (random, secret).
    pub ticket: String,
    /// The visitor cookie of who waits.
    pub visitor: String,
    /// Their address, for the admin list.
    pub address: IpAddr,
    /// When they joined.
    pub joined: Instant,
    seq: u64,
    streams: u32,
    detached_since: Option<Instant>,
}

/// Where a ticket stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// The item it waits for.
    pub item: String,
    /// 1 = next in line.
    pub position: usize,
    /// The ticket.
    pub ticket: String,
}

/// Every line.
#[derive(Debug, Default)]
pub struct Queue {
    lines: BTreeMap<String, VecDeque<Waiting>>,
    seq: u64,
}

impl Queue {
    /// Puts `visitor` at the end of `item`'s line with `ticket`, or returns the place they
    /// already hold there (a reload re-POSTs). A ticket they hold for another item is
    /// given up: one per visitor. `None` when the line is full.
    pub fn join(
        &mut self,
        item: &str,
        visitor: &str,
        address: IpAddr,
        ticket: String,
        now: Instant,
    ) -> Option<Place> {
        if let Some(p) = self.find_visitor(visitor) {
            if p.item == item {
                return Some(p);
            }
            self.leave(&p.ticket);
        }
        let line = self.lines.entry(item.to_owned()).or_default();
        if line.len() >= MAX_WAITING_PER_ITEM {
            return None;
        }
        self.seq += 1;
        line.push_back(Waiting {
            ticket: ticket.clone(),
            visitor: visitor.to_owned(),
            address,
            joined: now,
            seq: self.seq,
            streams: 0,
            // Not watched yet: the page opens its stream right after the answer.
            detached_since: Some(now),
        });
        Some(Place {
            item: item.to_owned(),
            position: line.len(),
            ticket,
        })
    }

    /// The place `visitor` holds, if any.
    pub fn find_visitor(&self, visitor: &str) -> Option<Place> {
        self.find(|w| w.visitor == visitor)
    }

    /// Where `ticket` stands, if it is in a line.
    pub fn place(&self, ticket: &str) -> Option<Place> {
        self.find(|w| w.ticket == ticket)
    }

    fn find(&self, pred: impl Fn(&Waiting) -> bool) -> Option<Place> {
        self.lines.iter().find_map(|(item, line)| {
            line.iter().position(&pred).map(|i| Place {
                item: item.clone(),
                position: i + 1,
                ticket: line[i].ticket.clone(),
            })
        })
    }

    fn get_mut(&mut self, ticket: &str) -> Option<&mut Waiting> {
        self.lines
            .values_mut()
            .flat_map(|l| l.iter_mut())
            .find(|w| w.ticket == ticket)
    }

    /// A stream starts watching `ticket`; false if it is in no line.
    pub fn attach(&mut self, ticket: &str) -> bool {
        match self.get_mut(ticket) {
            Some(w) => {
                w.streams += 1;
                w.detached_since = None;
                true
            }
            None => false,
        }
    }

    /// A stream watching `ticket` ended.
    pub fn detach(&mut self, ticket: &str, now: Instant) {
        if let Some(w) = self.get_mut(ticket) {
            w.streams = w.streams.saturating_sub(1);
            if w.streams == 0 {
                w.detached_since = Some(now);
            }
        }
    }

    /// Takes `ticket` out of its line; the others keep their order.
    pub fn leave(&mut self, ticket: &str) -> Option<Waiting> {
        for line in self.lines.values_mut() {
            if let Some(i) = line.iter().position(|w| w.ticket == ticket) {
                return line.remove(i);
            }
        }
        None
    }

    /// Removes the tickets nobody has watched for longer than `linger`; returns them.
    pub fn expire(&mut self, now: Instant, linger: Duration) -> Vec<Waiting> {
        let mut gone = Vec::new();
        for line in self.lines.values_mut() {
            line.retain(|w| {
                let stale = w
                    .detached_since
                    .is_some_and(|t| now.saturating_duration_since(t) > linger);
                if stale {
                    gone.push(w.clone());
                }
                !stale
            });
        }
        self.lines.retain(|_, l| !l.is_empty());
        gone
    }

    /// The items whose lines are not empty, the one whose head came first first.
    pub fn heads(&self) -> Vec<String> {
        let mut heads: Vec<(u64, &String)> = self
            .lines
            .iter()
            .filter_map(|(item, l)| l.front().map(|w| (w.seq, item)))
            .collect();
        heads.sort();
        heads.into_iter().map(|(_, i)| i.clone()).collect()
    }

    /// Takes the first in `item`'s line.
    pub fn pop(&mut self, item: &str) -> Option<Waiting> {
        let line = self.lines.get_mut(item)?;
        let w = line.pop_front();
        if line.is_empty() {
            self.lines.remove(item);
        }
        w
    }

    /// Puts `w` (just popped from `item`'s line) back at its head.
    pub fn push_front(&mut self, item: &str, w: Waiting) {
        self.lines.entry(item.to_owned()).or_default().push_front(w);
    }

    /// How many wait for `item`.
    pub fn len(&self, item: &str) -> usize {
        self.lines.get(item).map_or(0, VecDeque::len)
    }

    /// Every line, by item id.
    pub fn lines(&self) -> impl Iterator<Item = (&String, &VecDeque<Waiting>)> {
        self.lines.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    const ADDR: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn join(q: &mut Queue, item: &str, who: &str) -> Place {
        q.join(item, who, ADDR, format!("t-{who}"), Instant::now())
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn first_come_and_leaving_never_reorders() {
        let mut q = Queue::default();
        assert_eq!(join(&mut q, "game", "b").position, 1);
        assert_eq!(join(&mut q, "game", "c").position, 2);
        assert_eq!(join(&mut q, "game", "d").position, 3);
        // C leaves: B is still first, D moves up.
        assert!(q.leave("t-c").is_some());
        assert_eq!(q.place("t-b").unwrap().position, 1);
        assert_eq!(q.place("t-d").unwrap().position, 2);
        // A re-POST from B returns B's place, not a new one.
        assert_eq!(join(&mut q, "game", "b").ticket, "t-b");
        assert_eq!(q.len("game"), 2);
        assert_eq!(q.pop("game").unwrap().visitor, "b");
        assert_eq!(q.place("t-d").unwrap().position, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn one_ticket_per_visitor_and_heads_by_arrival() {
        let mut q = Queue::default();
        join(&mut q, "x", "a");
        join(&mut q, "y", "b");
        assert_eq!(q.heads(), ["x", "y"]);
        // A switches to y: leaves x's line and queues behind B.
        let p = join(&mut q, "y", "a");
        assert_eq!((p.item.as_str(), p.position), ("y", 2));
        assert_eq!(q.len("x"), 0);
        assert_eq!(q.heads(), ["y"]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unwatched_ticket_leaves_after_the_linger_a_reattached_one_stays() {
        let linger = Duration::from_secs(10);
        let mut q = Queue::default();
        join(&mut q, "g", "b");
        join(&mut q, "g", "c");
        assert!(q.attach("t-b"));
        assert!(q.attach("t-c"));
        // B reloads: the stream closes and a new one attaches within the linger.
        q.detach("t-b", Instant::now());
        advance(Duration::from_secs(5)).await;
        assert!(q.attach("t-b"));
        // C closes the tab.
        q.detach("t-c", Instant::now());
        advance(Duration::from_secs(9)).await;
        assert!(q.expire(Instant::now(), linger).is_empty());
        advance(Duration::from_secs(2)).await;
        let gone = q.expire(Instant::now(), linger);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].visitor, "c");
        assert_eq!(q.place("t-b").unwrap().position, 1);
        // A ticket never watched goes the same way.
        join(&mut q, "g", "d");
        advance(Duration::from_secs(11)).await;
        assert_eq!(q.expire(Instant::now(), linger)[0].visitor, "d");
        assert!(!q.attach("t-d"));
    }
}
