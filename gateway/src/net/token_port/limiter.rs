//! Rate limiting of failed authentications, per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Per-address limiter of failed authentications (GCRA: a token bucket kept as the time at
/// which the bucket will be full again).
#[derive(Debug)]
pub struct AuthLimiter {
    burst: u32,
    interval: Duration,
    max_delay: Duration,
    /// Per address: when the bucket is full again.
    full_at: Mutex<HashMap<IpAddr, Instant>>,
}

/// What the limiter decided for one authentication attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthPermit {
    /// Check the token after waiting this long (zero when the bucket has a token). Call
    /// [`AuthLimiter::refund`] if the token was right.
    After(Duration),
    /// Too many failures: refuse without checking.
    Refused,
}

impl AuthLimiter {
    /// `burst` failed attempts pass at once, then one per `interval`; a wait past `max_delay` is a refusal.
    pub fn new(burst: u32, interval: Duration, max_delay: Duration) -> AuthLimiter {
        AuthLimiter {
            burst: burst.max(1),
            interval,
            max_delay,
            full_at: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Instant>> {
        self.full_at.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves one attempt for `ip`.
    pub fn acquire(&self, ip: IpAddr) -> AuthPermit {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() > 65_536 {
            map.retain(|_, t| *t > now);
        }
        let full = map.get(&ip).copied().unwrap_or(now).max(now);
        let next_full = full + self.interval;
        // The bucket holds `burst` tokens: a reservation may start `burst` intervals early.
        let capacity = self.interval * self.burst;
        let wait = next_full.saturating_duration_since(now + capacity);
        if wait > self.max_delay {
            return AuthPermit::Refused;
        }
        map.insert(ip, next_full);
        AuthPermit::After(wait)
    }

    /// Gives back the token of a successful attempt.
    pub fn refund(&self, ip: IpAddr) {
        let mut map = self.lock();
        if let Some(t) = map.get_mut(&ip) {
            *t = t.checked_sub(self.interval).unwrap_or(*t);
        }
    }
}
