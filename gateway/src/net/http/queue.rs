//! The queue's routes: `GET /api/queue/{ticket}` (Server-Sent Events for the visitor who
//! waits) and `GET /api/queue` (admin: who waits for what).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use futures_util::stream::{self, Stream};
use olive_api::{QueueItemRow, QueueList, QueuePosition, WaitingRow};

use super::api::created;
use super::auth::AdminKey;
use super::error::ApiError;
use super::AppState;
use crate::instances::{ids, Registry, TicketStatus, TicketWatch};

/// How often a waiting visitor's estimate is recomputed without any change in line (the
/// seats in use age).
const REFRESH: Duration = Duration::from_secs(15);

fn secs(d: Option<Duration>) -> Option<u64> {
    d.map(|d| d.as_secs())
}

fn position_of(position: usize) -> u32 {
    u32::try_from(position).unwrap_or(u32::MAX)
}

struct Watching {
    registry: Registry,
    watch: TicketWatch,
    ticket: String,
    last: Option<(usize, Option<u64>)>,
    done: bool,
}

/// `GET /api/queue/{ticket}`: `position {position, eta_secs}` whenever either changes, then
/// `seat {…Created…}` once the visitor has a machine (the stream then ends). 404 for an
/// unknown ticket (it left the line, or never was in it). While the stream is open the
/// ticket keeps its place; closed for longer than ~10 s, it leaves.
pub(super) async fn events(
    State(st): State<AppState>,
    Path(ticket): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if !ids::is_random128(&ticket) {
        return Err(ApiError::NotFound("No such ticket"));
    }
    let watch = st
        .registry
        .watch_ticket(&ticket)
        .ok_or(ApiError::NotFound("No such ticket"))?;
    let state = Watching {
        registry: st.registry.clone(),
        watch,
        ticket,
        last: None,
        done: false,
    };
    let events = stream::unfold(state, |mut s| async move {
        loop {
            if s.done {
                return None;
            }
            match s.registry.ticket_status(&s.ticket) {
                None => {
                    s.done = true;
                    return Some((Ok(Event::default().event("gone").data("{}")), s));
                }
                Some(TicketStatus::Seated(c)) => {
                    s.done = true;
                    let ev = Event::default().event("seat").json_data(created(c));
                    return Some((ev.or_else(|_| Ok(Event::default().event("gone"))), s));
                }
                Some(TicketStatus::Waiting { position, eta }) => {
                    let now = (position, secs(eta));
                    if s.last != Some(now) {
                        s.last = Some(now);
                        let data = QueuePosition {
                            position: position_of(position),
                            eta_secs: secs(eta),
                        };
                        let ev = Event::default().event("position").json_data(data);
                        return Some((ev.or_else(|_| Ok(Event::default().comment(""))), s));
                    }
                }
            }
            tokio::select! {
                r = s.watch.changed.changed() => if r.is_err() { return None },
                _ = tokio::time::sleep(REFRESH) => {}
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// `GET /api/queue` (admin): per item its seats, how many are in use and who waits.
pub(super) async fn list(_: AdminKey, State(st): State<AppState>) -> Json<QueueList> {
    let items = st
        .registry
        .queue_list()
        .into_iter()
        .map(|r| QueueItemRow {
            item: r.item,
            seats: r.seats.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            in_use: u32::try_from(r.in_use).unwrap_or(u32::MAX),
            waiting: r
                .waiting
                .into_iter()
                .map(|(ticket, position, waited, address)| WaitingRow {
                    ticket,
                    position: position_of(position),
                    age_secs: waited.as_secs(),
                    address: address.to_string(),
                })
                .collect(),
        })
        .collect();
    Json(QueueList { items })
}
