//! Seats, the queue, the disconnect grace and the hand-over, on the registry with the fake
//! engine under paused time (the real guest: `tests/tests/seats.rs`).

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::advance;

use super::tests::{item, settings, settle, FakeEngine};
use super::{CreateError, Registry, Seat, Settings, TicketStatus, Visitor};
use crate::metrics::Metrics;
use crate::model::Catalog;

fn visitor(name: &str) -> Visitor {
    Visitor {
        id: Some(format!("{name:_<22}")),
        address: IpAddr::from([192, 0, 2, 1]),
        fresh: false,
    }
}

fn registry(engine: &Arc<FakeEngine>, seats: usize, grace: u64, handover: u64) -> Registry {
    let mut s: Settings = settings(300, 3600, 1, 4);
    s.seats.insert("game".into(), seats);
    s.disconnect_grace = Duration::from_secs(grace);
    s.handover = Duration::from_secs(handover);
    let catalog = Catalog::new(vec![item("game"), item("other")]);
    Registry::new(s, catalog, engine.clone(), Arc::new(Metrics::default()))
}

fn created(s: Seat) -> super::Created {
    match s {
        Seat::New(c) | Seat::Reused(c) => c,
        Seat::Queued(t) => panic!("queued: {t:?}"),
    }
}

fn ticket(s: Seat) -> super::Ticket {
    match s {
        Seat::Queued(t) => t,
        other => panic!("not queued: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_seat_goes_to_the_first_in_line_after_the_grace() {
    let engine = Arc::new(FakeEngine::default());
    let reg = registry(&engine, 1, 3, 20);
    let (a, b, c) = (visitor("a"), visitor("b"), visitor("c"));
    let a1 = created(reg.seat("game", &a).await.unwrap());
    assert!(matches!(reg.seat("game", &a).await.unwrap(), Seat::Reused(ref x) if *x == a1));
    let tb = ticket(reg.seat("game", &b).await.unwrap());
    assert_eq!((tb.position, tb.eta, tb.seats), (1, None, 1));
    let _wb = reg.watch_ticket(&tb.ticket).expect("b watches");
    let tc = ticket(reg.seat("game", &c).await.unwrap());
    assert_eq!(tc.position, 2);
    let _wc = reg.watch_ticket(&tc.ticket).expect("c watches");
    // A client without the cookie is not queued.
    let anon = Visitor {
        id: None,
        ..visitor("x")
    };
    assert!(matches!(
        reg.seat("game", &anon).await,
        Err(CreateError::SeatsFull(1))
    ));

    // A connects and leaves; before the grace is over nothing moves.
    let inst = reg.get(&a1.id).unwrap();
    inst.connected();
    settle().await;
    advance(Duration::from_secs(10)).await;
    inst.disconnected();
    advance(Duration::from_secs(2)).await;
    reg.collect_garbage().await;
    assert!(reg.get(&a1.id).is_some(), "within the grace");
    advance(Duration::from_secs(2)).await;
    reg.collect_garbage().await;
    assert!(reg.get(&a1.id).is_none(), "the visitor left");
    let Some(TicketStatus::Seated(b1)) = reg.ticket_status(&tb.ticket) else {
        panic!("B is seated: {:?}", reg.ticket_status(&tb.ticket));
    };
    assert_eq!(reg.get(&b1.id).unwrap().owner(), b.id.as_deref());
    // C moved up, and now has an estimate: one session of 10 s is the history.
    assert!(matches!(
        reg.ticket_status(&tc.ticket),
        Some(TicketStatus::Waiting {
            position: 1,
            eta: Some(_)
        })
    ));
    assert_eq!(reg.metrics().queue_served.load(Ordering::Relaxed), 1);
    assert_eq!(reg.metrics().instances_reused.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn a_hand_over_not_taken_calls_the_next() {
    let engine = Arc::new(FakeEngine::default());
    let reg = registry(&engine, 1, 3, 5);
    let a1 = created(reg.seat("game", &visitor("a")).await.unwrap());
    let tb = ticket(reg.seat("game", &visitor("b")).await.unwrap());
    let tc = ticket(reg.seat("game", &visitor("c")).await.unwrap());
    let (_wb, _wc) = (reg.watch_ticket(&tb.ticket), reg.watch_ticket(&tc.ticket));
    assert!(reg.destroy(&a1.id).await);
    let Some(TicketStatus::Seated(b1)) = reg.ticket_status(&tb.ticket) else {
        panic!("B is called at once when A is destroyed");
    };
    // B never connects.
    advance(Duration::from_secs(6)).await;
    reg.collect_garbage().await;
    assert!(reg.get(&b1.id).is_none(), "B's hand-over expired");
    assert!(matches!(
        reg.ticket_status(&tc.ticket),
        Some(TicketStatus::Seated(_))
    ));
    assert_eq!(reg.metrics().queue_abandoned.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn one_instance_per_visitor_and_a_rate_limit_per_address() {
    let engine = Arc::new(FakeEngine::default());
    let reg = registry(&engine, 2, 3, 5);
    let a = visitor("a");
    let g = created(reg.seat("game", &a).await.unwrap());
    let o = created(reg.seat("other", &a).await.unwrap());
    assert!(
        reg.get(&g.id).is_none(),
        "switching titles ends the old one"
    );
    assert!(reg.get(&o.id).is_some());
    // Cookie-less creates from one address: ten, then 429.
    let anon = Visitor {
        id: None,
        address: IpAddr::from([198, 51, 100, 9]),
        fresh: false,
    };
    let mut refused = None;
    for n in 0..12 {
        match reg.seat("other", &anon).await {
            Ok(Seat::New(c)) => assert!(reg.destroy(&c.id).await),
            Err(CreateError::RateLimited(wait)) => {
                refused = Some((n, wait.as_secs()));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(refused, Some((10, 6)));
    assert_eq!(reg.metrics().rate_limited.load(Ordering::Relaxed), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unwatched_ticket_leaves_the_line() {
    let engine = Arc::new(FakeEngine::default());
    let reg = registry(&engine, 1, 3, 5);
    created(reg.seat("game", &visitor("a")).await.unwrap());
    let tb = ticket(reg.seat("game", &visitor("b")).await.unwrap());
    let tc = ticket(reg.seat("game", &visitor("c")).await.unwrap());
    let wb = reg.watch_ticket(&tb.ticket).unwrap();
    let wc = reg.watch_ticket(&tc.ticket).unwrap();
    drop(wb);
    advance(Duration::from_secs(11)).await;
    reg.collect_garbage().await;
    assert_eq!(reg.ticket_status(&tb.ticket), None, "B closed the tab");
    assert!(matches!(
        reg.ticket_status(&tc.ticket),
        Some(TicketStatus::Waiting { position: 1, .. })
    ));
    assert_eq!(reg.queue_list()[0].waiting.len(), 1);
    drop(wc);
}

#[tokio::test(start_paused = true)]
async fn a_fresh_machine_replaces_the_visitors_own() {
    let engine = Arc::new(FakeEngine::default());
    let reg = registry(&engine, 1, 3, 20);
    let a = visitor("a");
    let first = created(reg.seat("game", &a).await.unwrap());
    let fresh = Visitor {
        fresh: true,
        ..visitor("a")
    };
    // With the one seat taken by the visitor's own machine, a fresh one still fits: the
    // old one goes first.
    let second = created(reg.seat("game", &fresh).await.unwrap());
    assert_ne!(first.id, second.id);
    assert!(reg.get(&first.id).is_none(), "the old machine is destroyed");
    assert_eq!(reg.get(&second.id).unwrap().owner(), a.id.as_deref());
    assert_eq!(reg.metrics().instances_reused.load(Ordering::Relaxed), 0);
}

#[tokio::test(start_paused = true)]
async fn a_fresh_machine_keeps_its_seat_with_visitors_in_line() {
    let engine = Arc::new(FakeEngine::default());
    let reg = registry(&engine, 1, 3, 20);
    let (a, b) = (visitor("a"), visitor("b"));
    let first = created(reg.seat("game", &a).await.unwrap());
    let tb = ticket(reg.seat("game", &b).await.unwrap());
    let _wb = reg.watch_ticket(&tb.ticket).expect("b watches");
    let fresh = Visitor {
        fresh: true,
        ..visitor("a")
    };
    // A kiosk's reset: the new machine takes the old one's seat, b is not called for it.
    let second = created(reg.seat("game", &fresh).await.unwrap());
    settle().await;
    assert_ne!(first.id, second.id);
    assert!(reg.get(&first.id).is_none(), "the old machine is destroyed");
    assert_eq!(reg.get(&second.id).unwrap().owner(), a.id.as_deref());
    assert!(
        matches!(
            reg.ticket_status(&tb.ticket),
            Some(TicketStatus::Waiting { position: 1, .. })
        ),
        "b still waits first in line"
    );
    assert_eq!(reg.metrics().queue_served.load(Ordering::Relaxed), 0);
    assert_eq!(reg.metrics().instances_destroyed.load(Ordering::Relaxed), 1);
}
