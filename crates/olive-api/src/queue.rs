//! The queue for a title whose seats are all taken: `POST /api/instances` answers 202 with
//! [`QueuedAnswer`], `GET /api/queue/{ticket}` streams [`QueuePosition`] events and finally
//! a `seat` event carrying a [`crate::Created`], and the admin's `GET /api/queue` lists
//! [`QueueList`].

use serde::{Deserialize, Serialize};

/// A place in line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Queued {
    /// The ticket: what `GET /api/queue/{ticket}` names. Secret enough (random 128 bits)
    /// that nobody else can take the seat it is called to.
    pub ticket: String,
    /// 1 = next in line.
    pub position: u32,
    /// Seconds until a seat is expected to free up, from recent session lengths; `None`
    /// when the title has no history yet (the page then gives no estimate).
    #[serde(default)]
    pub eta_secs: Option<u64>,
    /// How many seats the title has (for "All N machines are in use").
    pub seats: u32,
}

/// The 202 body of `POST /api/instances` when the visitor has to wait.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedAnswer {
    /// The place in line.
    pub queued: Queued,
}

/// The data of a `position` event on the queue stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePosition {
    /// 1 = next in line.
    pub position: u32,
    /// As [`Queued::eta_secs`].
    #[serde(default)]
    pub eta_secs: Option<u64>,
}

/// One waiting visitor in `GET /api/queue`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingRow {
    /// The ticket.
    pub ticket: String,
    /// 1 = next in line.
    pub position: u32,
    /// Seconds since the visitor joined.
    pub age_secs: u64,
    /// The visitor's address (the peer, or the right-most untrusted `X-Forwarded-For` hop).
    pub address: String,
}

/// One title in `GET /api/queue`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueItemRow {
    /// The item's config key.
    pub item: String,
    /// Its `seats`, when configured (else only `max_instances` limits it).
    #[serde(default)]
    pub seats: Option<u32>,
    /// Live instances of it.
    pub in_use: u32,
    /// Who waits, first in line first.
    pub waiting: Vec<WaitingRow>,
}

/// `GET /api/queue` (admin).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueList {
    /// Every item that has seats configured, instances or a queue.
    pub items: Vec<QueueItemRow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_answer_and_an_unknown_eta() {
        let a: QueuedAnswer = serde_json::from_str(
            r#"{"queued":{"ticket":"t","position":2,"eta_secs":null,"seats":1}}"#,
        )
        .unwrap();
        assert_eq!(a.queued.position, 2);
        assert_eq!(a.queued.eta_secs, None);
        let p: QueuePosition = serde_json::from_str(r#"{"position":1}"#).unwrap();
        assert_eq!(p.eta_secs, None);
    }
}
