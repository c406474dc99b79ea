//! The `[limits]` keys of seats and the queue: how long a visitor who left keeps the
//! machine, how long the one called from the queue has to take it, how many machines one
//! address may create per minute, and which proxies' `X-Forwarded-For` is believed.

use std::net::IpAddr;
use std::time::Duration;

use super::raw::RawLimits;
use super::{Checker, ConfigError};

/// `[limits] disconnect_grace_secs` when not given: a reload or a short network drop must
/// not cost the seat, a closed tab should free it soon.
pub const DEFAULT_DISCONNECT_GRACE_SECS: u64 = 30;
/// `[limits] handover_secs` when not given.
pub const DEFAULT_HANDOVER_SECS: u64 = 20;
/// `[limits] creates_per_minute` when not given.
pub const DEFAULT_CREATES_PER_MINUTE: u32 = 10;

/// Seats, hand-over and abuse limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seating {
    /// An instance that had a connection and has none for this long is destroyed.
    pub disconnect_grace: Duration,
    /// The visitor called from the queue must connect within this, or the next is called.
    pub handover: Duration,
    /// Instances (and places in line) one client address may ask for per minute.
    pub creates_per_minute: u32,
    /// Peers whose `X-Forwarded-For` is believed (a reverse proxy on the same host).
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for Seating {
    fn default() -> Seating {
        Seating {
            disconnect_grace: Duration::from_secs(DEFAULT_DISCONNECT_GRACE_SECS),
            handover: Duration::from_secs(DEFAULT_HANDOVER_SECS),
            creates_per_minute: DEFAULT_CREATES_PER_MINUTE,
            trusted_proxies: Vec::new(),
        }
    }
}

pub(super) fn check_seating(ck: &Checker<'_>, l: &RawLimits) -> Result<Seating, ConfigError> {
    let grace = ck.at_least_one(
        l.disconnect_grace_secs.as_ref(),
        "limits.disconnect_grace_secs",
        DEFAULT_DISCONNECT_GRACE_SECS,
    )?;
    let handover = ck.at_least_one(
        l.handover_secs.as_ref(),
        "limits.handover_secs",
        DEFAULT_HANDOVER_SECS,
    )?;
    let creates = ck.at_least_one(
        l.creates_per_minute.as_ref(),
        "limits.creates_per_minute",
        DEFAULT_CREATES_PER_MINUTE,
    )?;
    let mut trusted_proxies = Vec::new();
    for (i, p) in l.trusted_proxies.iter().enumerate() {
        let ip: IpAddr = p.get_ref().trim().parse().map_err(|_| {
            ck.error(
                p.span(),
                format!("limits.trusted_proxies[{i}]"),
                format!("{:?} is not an IP address", p.get_ref()),
            )
        })?;
        trusted_proxies.push(ip);
    }
    Ok(Seating {
        disconnect_grace: Duration::from_secs(grace),
        handover: Duration::from_secs(handover),
        creates_per_minute: creates,
        trusted_proxies,
    })
}
