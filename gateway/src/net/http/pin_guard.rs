//! Slows down PIN guessing at a kiosk: per client address, every wrong PIN doubles the wait
//! before the next attempt is even compared (1 s, 2 s, 4 s … up to [`MAX_LOCKOUT`]), and a
//! right PIN clears the address. A four-digit PIN then takes days to guess instead of
//! minutes. Time comes from tokio's clock, so tests run it paused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;

/// The wait after the first wrong PIN.
const FIRST_LOCKOUT: Duration = Duration::from_secs(1);
/// The longest wait: staff who mistype a few times are not locked out for long.
pub const MAX_LOCKOUT: Duration = Duration::from_secs(300);
/// An address with no attempt for this long starts from scratch.
const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// Addresses tracked at most (a bound on memory, whatever a client sends).
const MAX_ADDRESSES: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    locked_until: Instant,
    last: Instant,
}

/// What the guard allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Compare the PIN now.
    Try,
    /// Too soon after a wrong PIN: answer 429 and say to wait this long.
    Wait(Duration),
}

/// The per-address record of wrong PINs.
#[derive(Debug, Default)]
pub struct PinGuard {
    records: HashMap<IpAddr, Record>,
}

impl PinGuard {
    /// Whether `addr` may try a PIN at `now`.
    pub fn check(&self, addr: IpAddr, now: Instant) -> Verdict {
        match self.records.get(&addr) {
            Some(r) if r.locked_until > now => Verdict::Wait(r.locked_until - now),
            _ => Verdict::Try,
        }
    }

    /// A wrong PIN from `addr` at `now`: returns the wait before its next attempt.
    pub fn failed(&mut self, addr: IpAddr, now: Instant) -> Duration {
        if self.records.len() >= MAX_ADDRESSES && !self.records.contains_key(&addr) {
            self.records
                .retain(|_, r| now.saturating_duration_since(r.last) < FORGET_AFTER);
            if self.records.len() >= MAX_ADDRESSES {
                // Full of recent guessers: make room by dropping the one that waited longest.
                if let Some(oldest) = self.records.iter().min_by_key(|(_, r)| r.last) {
                    let k = *oldest.0;
                    self.records.remove(&k);
                }
            }
        }
        let r = self.records.entry(addr).or_insert(Record {
            failures: 0,
            locked_until: now,
            last: now,
        });
        if now.saturating_duration_since(r.last) >= FORGET_AFTER {
            r.failures = 0;
        }
        r.failures = r.failures.saturating_add(1);
        let wait = FIRST_LOCKOUT
            .saturating_mul(1u32 << (r.failures - 1).min(16))
            .min(MAX_LOCKOUT);
        r.locked_until = now + wait;
        r.last = now;
        wait
    }

    /// The right PIN from `addr`: its record is cleared.
    pub fn succeeded(&mut self, addr: IpAddr) {
        self.records.remove(&addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    #[tokio::test(start_paused = true)]
    async fn each_wrong_pin_doubles_the_wait_per_address() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let mut g = PinGuard::default();
        assert_eq!(g.check(a, Instant::now()), Verdict::Try);
        assert_eq!(g.failed(a, Instant::now()), Duration::from_secs(1));
        assert_eq!(
            g.check(a, Instant::now()),
            Verdict::Wait(Duration::from_secs(1))
        );
        // Another address is not slowed down by a's guesses.
        assert_eq!(g.check(b, Instant::now()), Verdict::Try);
        advance(Duration::from_millis(400)).await;
        assert_eq!(
            g.check(a, Instant::now()),
            Verdict::Wait(Duration::from_millis(600))
        );
        advance(Duration::from_millis(600)).await;
        assert_eq!(g.check(a, Instant::now()), Verdict::Try);
        let waits: Vec<u64> = (0..10)
            .map(|_| {
                let w = g.failed(a, Instant::now());
                w.as_secs()
            })
            .collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        // The right PIN clears the record.
        g.succeeded(a);
        assert_eq!(g.check(a, Instant::now()), Verdict::Try);
        assert_eq!(g.failed(a, Instant::now()), Duration::from_secs(1));
        // An hour without attempts starts from the first wait again.
        advance(FORGET_AFTER).await;
        g.failed(a, Instant::now());
        advance(FORGET_AFTER).await;
        assert_eq!(g.failed(a, Instant::now()), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn the_table_is_bounded() {
        let mut g = PinGuard::default();
        for i in 0..(MAX_ADDRESSES as u32 + 10) {
            g.failed(IpAddr::from(i.to_be_bytes()), Instant::now());
            advance(Duration::from_millis(1)).await;
        }
        assert!(g.records.len() <= MAX_ADDRESSES);
    }
}
