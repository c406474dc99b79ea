//! Seats per title, one instance per visitor, the queue and its hand-over.
//!
//! [`Registry::seat`] is what `POST /api/instances` asks: a visitor (cookie + address)
//! who already owns a live instance of the item gets it back; one who owns an instance of
//! another item loses that one (one per visitor); otherwise a new instance starts if the
//! item's `seats` and `max_instances` allow and nobody is waiting, else the visitor gets a
//! ticket ([`queue`](super::queue)). Whenever an instance is destroyed the first in line
//! who fits gets an instance made for them (owner = them) and has `handover` to connect,
//! or it is destroyed and the next is called. Lock order: the queue, then the map.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::eta::{self, History};
use super::queue::Queue;
use super::rate::CreateLimiter;
use super::{ids, CreateError, Created, Instance, Registry, Shared};
use crate::model::{Item, VmState};

/// A ticket nobody watches leaves the line after this (a reload re-attaches sooner).
pub const TICKET_LINGER: Duration = Duration::from_secs(10);

/// Who asks: the visitor cookie (`None` for a client without one) and the address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visitor {
    /// The `olive_visitor` cookie the request carried.
    pub id: Option<String>,
    /// The client address (the peer, or the right-most untrusted `X-Forwarded-For` hop).
    pub address: IpAddr,
    /// A pristine machine is asked for (a kiosk's reset): the visitor's own live instance
    /// of the item is destroyed instead of handed back.
    pub fresh: bool,
}

/// A place in line as the creator is told it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// The ticket.
    pub ticket: String,
    /// 1 = next.
    pub position: usize,
    /// The estimate; `None` without history.
    pub eta: Option<Duration>,
    /// The item's seats (or `max_instances` for an item without).
    pub seats: usize,
}

/// What [`Registry::seat`] gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seat {
    /// A new instance.
    New(Created),
    /// The instance the visitor already had.
    Reused(Created),
    /// A place in line.
    Queued(Ticket),
}

/// Where a ticket stands now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TicketStatus {
    /// Still in line.
    Waiting {
        /// 1 = next.
        position: usize,
        /// The estimate.
        eta: Option<Duration>,
    },
    /// Called: this instance is the visitor's.
    Seated(Created),
}

/// One item in the admin's queue list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRow {
    /// The item id.
    pub item: String,
    /// Its `seats`.
    pub seats: Option<usize>,
    /// Live instances of it.
    pub in_use: usize,
    /// `(ticket, position, waited, address)`, first in line first.
    pub waiting: Vec<(String, usize, Duration, IpAddr)>,
}

/// The queue's state, behind one lock.
pub(crate) struct QueueState {
    queue: Queue,
    history: History,
    /// Tickets called, until their visitor's stream has seen it (pruned after the hand-over).
    seated: HashMap<String, (Created, Instant)>,
    limiter: CreateLimiter,
}

impl QueueState {
    pub(crate) fn new(creates_per_minute: u32) -> QueueState {
        QueueState {
            queue: Queue::default(),
            history: History::default(),
            seated: HashMap::new(),
            limiter: CreateLimiter::new(creates_per_minute),
        }
    }
}

/// A stream watching a ticket; dropping it detaches (the ticket lingers, see
/// [`TICKET_LINGER`]).
pub struct TicketWatch {
    shared: Arc<Shared>,
    ticket: String,
    /// Bumped whenever any line or seat changes.
    pub changed: watch::Receiver<u64>,
}

impl Drop for TicketWatch {
    fn drop(&mut self) {
        self.shared
            .queue()
            .queue
            .detach(&self.ticket, Instant::now());
    }
}

pub(super) fn created_of(i: &Instance) -> Created {
    Created {
        id: i.id().to_owned(),
        token: i.token(),
        spice_password: i.spice_password().to_owned(),
        keymap: i.item().keymap,
    }
}

impl Shared {
    pub(super) fn queue(&self) -> MutexGuard<'_, QueueState> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells every ticket stream to look again.
    pub(super) fn queue_changed(&self) {
        self.queue_changed.send_modify(|g| *g = g.wrapping_add(1));
    }

    fn seats_of(&self, item: &str) -> Option<usize> {
        self.settings.seats.get(item).copied()
    }

    /// Starts an instance of `item` if its seats and `max_instances` allow.
    pub(super) fn spawn(
        self: &Arc<Self>,
        item: Arc<Item>,
        owner: Option<String>,
        handover: bool,
        replacing: Option<&str>,
    ) -> Result<Arc<Instance>, CreateError> {
        if self.closing.load(Ordering::Relaxed) {
            return Err(CreateError::AtCapacity(0));
        }
        let instance = {
            let mut map = self.map();
            // The machine being replaced gives up its seat inside this critical section, so
            // the new one takes it before the queue could see it free.
            let old = replacing.and_then(|id| map.remove(id));
            let admitted = self.admit(&map, &item.id).and_then(|()| {
                let id = ids::new_id();
                let dir = self.engine.create(&id).map_err(CreateError::Engine)?;
                Ok((id, dir))
            });
            let (id, dir) = match admitted {
                Ok(v) => v,
                Err(e) => {
                    if let Some(old) = old {
                        map.insert(old.id().to_owned(), old);
                    }
                    return Err(e);
                }
            };
            let inst = Instance::new(self, id.clone(), item, dir, owner, handover);
            map.insert(id, inst.clone());
            inst
        };
        self.metrics
            .instances_created
            .fetch_add(1, Ordering::Relaxed);
        let _ = instance.start_vm();
        tracing::info!(id = instance.id(), item = %instance.item().id, handover, "instance created");
        Ok(instance)
    }

    /// Whether one more instance of `item` fits under `max_instances` and the item's `seats`.
    fn admit(&self, map: &HashMap<String, Arc<Instance>>, item: &str) -> Result<(), CreateError> {
        let max = self.settings.max_instances;
        if map.len() >= max {
            self.metrics
                .rejected_at_capacity
                .fetch_add(1, Ordering::Relaxed);
            return Err(CreateError::AtCapacity(max));
        }
        match self.seats_of(item) {
            Some(seats) if map.values().filter(|i| i.item().id == item).count() >= seats => {
                Err(CreateError::SeatsFull(seats))
            }
            _ => Ok(()),
        }
    }

    /// A replaced machine (see [`Registry::seat`]'s `fresh`): destroyed without handing its
    /// seat on, since its successor already holds it; counted and remembered like any other.
    async fn retire(self: &Arc<Self>, old: Arc<Instance>) {
        old.destroy_now().await;
        self.metrics
            .instances_destroyed
            .fetch_add(1, Ordering::Relaxed);
        if old.had_connection() {
            self.queue().history.record(&old.item().id, old.age());
        }
    }

    /// The seats counted against `item`: its own instances when it has `seats`, else all.
    fn ages_in_use(&self, item: &str) -> Vec<Duration> {
        let own = self.seats_of(item).is_some();
        self.map()
            .values()
            .filter(|i| !own || i.item().id == item)
            .map(|i| i.age())
            .collect()
    }

    fn eta(&self, q: &QueueState, item: &str, position: usize) -> Option<Duration> {
        let eta = eta::eta(position, &self.ages_in_use(item), q.history.mean(item))?;
        // Whole tens of seconds: the page need not redraw for every second of drift.
        Some(Duration::from_secs(eta.as_secs().div_ceil(10) * 10))
    }

    /// Calls the first in line who fits, as long as someone does.
    pub(super) fn serve_queue(self: &Arc<Self>) {
        let mut served = false;
        'outer: loop {
            let mut q = self.queue();
            for item_id in q.queue.heads() {
                let item = self
                    .catalog
                    .get(&item_id)
                    .or_else(|| self.adhoc.get(&item_id));
                let Some(item) = item else {
                    while q.queue.pop(&item_id).is_some() {}
                    continue;
                };
                let Some(head) = q.queue.pop(&item_id) else {
                    continue;
                };
                match self.spawn(item, Some(head.visitor.clone()), true, None) {
                    Ok(inst) => {
                        tracing::info!(id = inst.id(), ticket = %head.ticket, "seat handed to the first in line");
                        q.seated
                            .insert(head.ticket, (created_of(&inst), Instant::now()));
                        self.metrics.queue_served.fetch_add(1, Ordering::Relaxed);
                        served = true;
                        continue 'outer;
                    }
                    Err(e) => {
                        if let CreateError::Engine(_) = e {
                            tracing::warn!(item = %item_id, "cannot seat the first in line: {e}");
                        }
                        q.queue.push_front(&item_id, head);
                    }
                }
            }
            break;
        }
        if served {
            self.queue_changed();
        }
    }

    /// An instance went away: remember how long it was used, call the next in line.
    pub(super) fn on_destroyed(self: &Arc<Self>, inst: &Instance) {
        if inst.had_connection() {
            self.queue().history.record(&inst.item().id, inst.age());
        }
        self.serve_queue();
        self.queue_changed();
    }
}

impl Registry {
    /// What `POST /api/instances` does for `visitor` (see the module's text).
    pub async fn seat(&self, item_id: &str, visitor: &Visitor) -> Result<Seat, CreateError> {
        let sh = &self.shared;
        let item = sh
            .catalog
            .get(item_id)
            .or_else(|| sh.adhoc.get(item_id))
            .ok_or_else(|| CreateError::UnknownItem(item_id.chars().take(64).collect()))?;
        if let Some(vid) = &visitor.id {
            let owned: Vec<Arc<Instance>> = sh
                .map()
                .values()
                .filter(|i| i.owner() == Some(vid.as_str()) && i.state() != VmState::Destroyed)
                .cloned()
                .collect();
            if let Some(same) = owned.iter().find(|i| i.item().id == item.id) {
                if !visitor.fresh {
                    sh.metrics.instances_reused.fetch_add(1, Ordering::Relaxed);
                    return Ok(Seat::Reused(created_of(same)));
                }
                return self.renew(same.clone(), visitor).await;
            }
            for other in owned {
                tracing::info!(
                    id = other.id(),
                    "visitor switched titles; destroying their old instance"
                );
                other.destroy_now().await;
            }
        }
        let mut q = sh.queue();
        if let Some(vid) = &visitor.id {
            if let Some(p) = q.queue.find_visitor(vid).filter(|p| p.item == item.id) {
                let eta = sh.eta(&q, &p.item, p.position);
                return Ok(Seat::Queued(Ticket {
                    ticket: p.ticket,
                    position: p.position,
                    eta,
                    seats: self.seats_shown(&item.id),
                }));
            }
        }
        if let Err(wait) = q.limiter.take(visitor.address, Instant::now()) {
            sh.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
            return Err(CreateError::RateLimited(wait));
        }
        if q.queue.len(&item.id) == 0 {
            match sh.spawn(item.clone(), visitor.id.clone(), false, None) {
                Ok(inst) => {
                    if let Some(vid) = &visitor.id {
                        if let Some(p) = q.queue.find_visitor(vid) {
                            q.queue.leave(&p.ticket);
                        }
                    }
                    return Ok(Seat::New(created_of(&inst)));
                }
                Err(e @ (CreateError::AtCapacity(_) | CreateError::SeatsFull(_))) => {
                    if visitor.id.is_none() {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        // A client without the cookie could not find its place again: it is told to retry
        // (and gets the cookie with that answer).
        let Some(vid) = &visitor.id else {
            return Err(match self.seats_of(&item.id) {
                Some(n) => CreateError::SeatsFull(n),
                None => CreateError::AtCapacity(sh.settings.max_instances),
            });
        };
        let place = q
            .queue
            .join(
                &item.id,
                vid,
                visitor.address,
                ids::new_random128(),
                Instant::now(),
            )
            .ok_or(CreateError::QueueFull)?;
        sh.metrics.queue_joined.fetch_add(1, Ordering::Relaxed);
        let eta = sh.eta(&q, &place.item, place.position);
        drop(q);
        sh.queue_changed();
        tracing::info!(item = %item.id, position = place.position, "visitor queued");
        Ok(Seat::Queued(Ticket {
            ticket: place.ticket,
            position: place.position,
            eta,
            seats: self.seats_shown(&item.id),
        }))
    }

    /// `fresh` for an item the visitor already runs: a pristine machine in the old one's
    /// seat, even with visitors in line (a kiosk's reset must not send it to the back).
    async fn renew(&self, old: Arc<Instance>, visitor: &Visitor) -> Result<Seat, CreateError> {
        let sh = &self.shared;
        if let Err(wait) = sh.queue().limiter.take(visitor.address, Instant::now()) {
            sh.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
            return Err(CreateError::RateLimited(wait));
        }
        let inst = sh.spawn(
            old.item().clone(),
            visitor.id.clone(),
            false,
            Some(old.id()),
        )?;
        tracing::info!(
            old = old.id(),
            id = inst.id(),
            "fresh machine in the old one's seat"
        );
        sh.retire(old).await;
        Ok(Seat::New(created_of(&inst)))
    }

    fn seats_of(&self, item: &str) -> Option<usize> {
        self.shared.seats_of(item)
    }

    fn seats_shown(&self, item: &str) -> usize {
        self.seats_of(item)
            .unwrap_or(self.shared.settings.max_instances)
    }

    /// Where `ticket` stands; `None` if it is unknown (never issued, left, or expired).
    pub fn ticket_status(&self, ticket: &str) -> Option<TicketStatus> {
        let sh = &self.shared;
        let q = sh.queue();
        if let Some((c, _)) = q.seated.get(ticket) {
            return Some(TicketStatus::Seated(c.clone()));
        }
        let p = q.queue.place(ticket)?;
        let eta = sh.eta(&q, &p.item, p.position);
        Some(TicketStatus::Waiting {
            position: p.position,
            eta,
        })
    }

    /// Starts watching `ticket` (it stays in line while watched); `None` if unknown.
    pub fn watch_ticket(&self, ticket: &str) -> Option<TicketWatch> {
        let sh = &self.shared;
        let mut q = sh.queue();
        if !q.seated.contains_key(ticket) && !q.queue.attach(ticket) {
            return None;
        }
        Some(TicketWatch {
            shared: sh.clone(),
            ticket: ticket.to_owned(),
            changed: sh.queue_changed.subscribe(),
        })
    }

    /// Drops tickets nobody watches and called seats long past their hand-over; counts
    /// the abandoned. Run by the collector.
    pub(super) fn expire_tickets(&self) {
        let sh = &self.shared;
        let now = Instant::now();
        let keep = sh.settings.handover + TICKET_LINGER;
        let gone = {
            let mut q = sh.queue();
            q.seated
                .retain(|_, (_, at)| now.saturating_duration_since(*at) <= keep);
            q.queue.expire(now, TICKET_LINGER)
        };
        if !gone.is_empty() {
            let n = u64::try_from(gone.len()).unwrap_or(u64::MAX);
            sh.metrics.queue_abandoned.fetch_add(n, Ordering::Relaxed);
            tracing::info!(n, "tickets left the queue (stream closed)");
            sh.queue_changed();
        }
    }

    /// Per item with seats, instances or a line: seats, in use and who waits.
    pub fn queue_list(&self) -> Vec<QueueRow> {
        let sh = &self.shared;
        let q = sh.queue();
        let mut in_use: HashMap<String, usize> = HashMap::new();
        for i in sh.map().values() {
            *in_use.entry(i.item().id.clone()).or_default() += 1;
        }
        let mut items: Vec<String> = sh.settings.seats.keys().cloned().collect();
        items.extend(in_use.keys().cloned());
        items.extend(q.queue.lines().map(|(i, _)| i.clone()));
        items.sort();
        items.dedup();
        let now = Instant::now();
        items
            .into_iter()
            .map(|item| {
                let waiting = q
                    .queue
                    .lines()
                    .find(|(i, _)| **i == item)
                    .map(|(_, line)| {
                        line.iter()
                            .enumerate()
                            .map(|(n, w)| {
                                let waited = now.saturating_duration_since(w.joined);
                                (w.ticket.clone(), n + 1, waited, w.address)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                QueueRow {
                    seats: self.seats_of(&item),
                    in_use: in_use.get(&item).copied().unwrap_or(0),
                    waiting,
                    item,
                }
            })
            .collect()
    }

    /// How many wait per item (for `/metrics`).
    pub fn waiting_counts(&self) -> Vec<(String, usize)> {
        let q = self.shared.queue();
        q.queue.lines().map(|(i, l)| (i.clone(), l.len())).collect()
    }
}
