//! The multimedia clock: the server's millisecond timeline that stream frames are stamped
//! with, mapped onto the platform's monotonic clock.
//!
//! The core cannot read a clock, so the platform reports its monotonic time through
//! [`MmClock::tick`]; the server's time arrives in MAIN INIT and MULTI_MEDIA_TIME. The
//! clock then runs as `mm = mm_at_sync + (now - now_at_sync)`.

/// Signed distance `a - b` on the wrapping 32-bit mm timeline.
pub fn mm_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MmClock {
    now_ms: Option<u64>,
    /// The last server time announced, and the platform time it was learned at (unknown
    /// when it arrived before the platform ever ticked; the next tick stands in).
    sync: Option<(u32, Option<u64>)>,
}

impl MmClock {
    /// The platform's monotonic clock reads `now_ms`. A clock that steps back is held,
    /// so the mm clock never runs backwards.
    pub fn tick(&mut self, now_ms: u64) {
        let now = self.now_ms.map_or(now_ms, |prev| prev.max(now_ms));
        self.now_ms = Some(now);
        if let Some((_, at @ None)) = &mut self.sync {
            *at = Some(now);
        }
    }

    /// The server says its multimedia clock reads `mm` now.
    pub fn sync(&mut self, mm: u32) {
        self.sync = Some((mm, self.now_ms));
    }

    /// The server time last announced.
    pub fn last_sync(&self) -> Option<u32> {
        self.sync.map(|(mm, _)| mm)
    }

    pub fn now_ms(&self) -> Option<u64> {
        self.now_ms
    }

    /// The multimedia time now, once both clocks are known.
    pub fn now_mm(&self) -> Option<u32> {
        let (mm, at) = self.sync?;
        let elapsed = self.now_ms?.saturating_sub(at?);
        // Truncation is the wrap of the 32-bit timeline, not a loss.
        Some(mm.wrapping_add(elapsed as u32))
    }

    /// The platform time at which the mm clock reaches `mm` (now, if it already has).
    pub fn platform_time_of(&self, mm: u32) -> Option<u64> {
        let now = self.now_ms?;
        let ahead = mm_diff(mm, self.now_mm()?);
        Some(now.saturating_add(u64::try_from(ahead).unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_from_the_last_sync() {
        let mut c = MmClock::default();
        assert_eq!(c.now_mm(), None);
        c.tick(1000);
        assert_eq!(c.now_mm(), None);
        c.sync(50_000);
        assert_eq!(c.now_mm(), Some(50_000));
        c.tick(1250);
        assert_eq!(c.now_mm(), Some(50_250));
        assert_eq!(c.platform_time_of(50_300), Some(1300));
        assert_eq!(c.platform_time_of(50_000), Some(1250));
        c.sync(60_000);
        assert_eq!(c.now_mm(), Some(60_000));
    }

    #[test]
    fn sync_before_the_first_tick_starts_at_that_tick() {
        let mut c = MmClock::default();
        c.sync(7);
        assert_eq!(c.now_mm(), None);
        c.tick(500);
        assert_eq!(c.now_mm(), Some(7));
        c.tick(510);
        assert_eq!(c.now_mm(), Some(17));
    }

    #[test]
    fn never_runs_backwards_and_wraps() {
        let mut c = MmClock::default();
        c.tick(100);
        c.sync(u32::MAX - 5);
        c.tick(90);
        assert_eq!(c.now_mm(), Some(u32::MAX - 5));
        c.tick(110);
        assert_eq!(c.now_mm(), Some(4));
        assert_eq!(mm_diff(4, u32::MAX - 5), 10);
        assert_eq!(mm_diff(u32::MAX - 5, 4), -10);
    }
}
