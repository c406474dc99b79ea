//! Waiting for a seat: the gateway answered `POST /api/instances` with a place in line,
//! and `GET /api/queue/{ticket}` (Server-Sent Events, the browser's `EventSource`) tells
//! the position and ETA as they change, then the instance once a seat is ours. Dropping
//! the [`QueueWatch`] closes the stream (leaving the page does too), and the gateway
//! gives the place up if no stream comes back within ~10 s.

use gloo::events::EventListener;
use olive_api::{Created, QueuePosition};
use wasm_bindgen::JsCast;
use web_sys::{EventSource, MessageEvent};

use super::Inner;
use crate::api::Gateway;
use crate::ui::dom::attr;
use crate::ui::status::{self, PlayerState};

/// What the stream says.
pub(crate) enum QueueEvent {
    /// A new place in line.
    Position(QueuePosition),
    /// A seat: connect to this instance as after a normal create.
    Seat(Created),
    /// The ticket is unknown to the gateway (it left the line), or the stream broke for good.
    Lost,
}

/// An open queue stream; closed when dropped.
pub(crate) struct QueueWatch {
    source: EventSource,
    _listeners: Vec<EventListener>,
}

impl Drop for QueueWatch {
    fn drop(&mut self) {
        self.source.close();
    }
}

fn data_of(e: &web_sys::Event) -> Option<String> {
    e.dyn_ref::<MessageEvent>()?.data().as_string()
}

impl QueueWatch {
    /// Opens the stream of `ticket`; `on` receives each event (after `Seat` or `Lost`
    /// nothing more comes).
    pub(crate) fn open(
        gateway: &Gateway,
        ticket: &str,
        on: impl Fn(QueueEvent) + 'static,
    ) -> Option<QueueWatch> {
        let url = gateway.http(&format!("/api/queue/{}", crate::router::encode(ticket)));
        let source = EventSource::new(&url).ok()?;
        let on = std::rc::Rc::new(on);
        let mut ls = Vec::new();
        let f = on.clone();
        ls.push(EventListener::new(
            &source,
            "position",
            move |e| match data_of(e).and_then(|d| serde_json::from_str(&d).ok()) {
                Some(p) => f(QueueEvent::Position(p)),
                None => crate::ui::dom::log("queue: unreadable position event"),
            },
        ));
        let f = on.clone();
        let s = source.clone();
        ls.push(EventListener::new(&source, "seat", move |e| {
            s.close();
            match data_of(e).and_then(|d| serde_json::from_str(&d).ok()) {
                Some(c) => f(QueueEvent::Seat(c)),
                None => f(QueueEvent::Lost),
            }
        }));
        let f = on.clone();
        let s = source.clone();
        ls.push(EventListener::new(&source, "gone", move |_| {
            s.close();
            f(QueueEvent::Lost)
        }));
        let s = source.clone();
        ls.push(EventListener::new(&source, "error", move |_| {
            // The browser retries a dropped stream by itself; only a closed one is final
            // (a 404: the ticket left the line).
            if s.ready_state() == EventSource::CLOSED {
                on(QueueEvent::Lost);
            }
        }));
        Some(QueueWatch {
            source,
            _listeners: ls,
        })
    }
}

impl Inner {
    /// Every seat is taken: show the place in line and follow the queue stream.
    pub(super) fn on_queued(&mut self, q: olive_api::Queued) {
        let seats = q.seats;
        self.show_place(seats, q.position, q.eta_secs);
        let weak = self.weak.clone();
        let watch = QueueWatch::open(&self.gateway, &q.ticket, move |ev| {
            Inner::with(&weak, |p| p.on_queue_event(seats, ev));
        });
        match watch {
            Some(w) => self.queue = Some(w),
            None => self.set_state(PlayerState::Error, status::QUEUE_LOST),
        }
    }

    fn show_place(&mut self, seats: u32, position: u32, eta_secs: Option<u64>) {
        attr(
            &self.view.root,
            "data-queue-position",
            &position.to_string(),
        );
        let text = status::queued(seats, &self.title, position, eta_secs);
        self.set_state(PlayerState::Loading, &text);
    }

    fn on_queue_event(&mut self, seats: u32, ev: QueueEvent) {
        if self.state.is_final() {
            return;
        }
        match ev {
            QueueEvent::Position(p) => self.show_place(seats, p.position, p.eta_secs),
            QueueEvent::Seat(c) => {
                // Dropped after this event's handler returns, not inside it.
                let w = self.queue.take();
                wasm_bindgen_futures::spawn_local(async move { drop(w) });
                let _ = self.view.root.remove_attribute("data-queue-position");
                self.on_instance(Ok(c));
            }
            QueueEvent::Lost => {
                let w = self.queue.take();
                wasm_bindgen_futures::spawn_local(async move { drop(w) });
                self.set_state(PlayerState::Error, status::QUEUE_LOST);
            }
        }
    }
}
