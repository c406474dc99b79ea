//! Creates per client address per minute: a token bucket per address (time passed in),
//! so a script without cookies cannot start QEMU after QEMU or fill the queue.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;

/// Addresses tracked at most; beyond it, full (idle) buckets are forgotten first.
const MAX_ADDRESSES: usize = 65_536;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The per-address limiter.
#[derive(Debug)]
pub struct CreateLimiter {
    per_minute: u32,
    buckets: HashMap<IpAddr, Bucket>,
}

impl CreateLimiter {
    /// Allows a burst of `per_minute`, refilled at `per_minute` a minute.
    pub fn new(per_minute: u32) -> CreateLimiter {
        CreateLimiter {
            per_minute: per_minute.max(1),
            buckets: HashMap::new(),
        }
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        let rate = f64::from(self.per_minute) / 60.0;
        let dt = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + dt * rate).min(f64::from(self.per_minute));
        b.at = now;
    }

    /// Takes one create for `addr` at `now`; `Err(wait)` says when the next is allowed.
    pub fn take(&mut self, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.buckets.len() >= MAX_ADDRESSES && !self.buckets.contains_key(&addr) {
            let full = f64::from(self.per_minute);
            let rate = full / 60.0;
            self.buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < full
            });
            if self.buckets.len() >= MAX_ADDRESSES {
                return Err(Duration::from_secs(60));
            }
        }
        let mut b = *self.buckets.entry(addr).or_insert(Bucket {
            tokens: f64::from(self.per_minute),
            at: now,
        });
        self.refill(&mut b, now);
        let result = if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let rate = f64::from(self.per_minute) / 60.0;
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        };
        self.buckets.insert(addr, b);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_one_every_six_seconds_per_address() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let mut l = CreateLimiter::new(10);
        for _ in 0..10 {
            assert!(l.take(a, Instant::now()).is_ok());
        }
        let wait = l.take(a, Instant::now()).unwrap_err();
        assert_eq!(wait.as_secs(), 6);
        assert!(
            l.take(b, Instant::now()).is_ok(),
            "another address is not limited"
        );
        advance(Duration::from_secs(6)).await;
        assert!(l.take(a, Instant::now()).is_ok());
        assert!(l.take(a, Instant::now()).is_err());
    }
}
