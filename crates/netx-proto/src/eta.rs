//! VMNetX's humanised "time remaining" for memory-image loading (0.5.0, PR #58;
//! `ui/view.py:LoadProgressWindow.progress`), so our loading screen says what VMNetX's
//! did.
//!
//! Rules (`docs/vmnetx-notes.md` §3): nothing is estimated before 5 s have elapsed or while
//! nothing is loaded ("calculating..."); otherwise `ETA = elapsed / fraction − elapsed`,
//! shown as "any time now" (< 2 s), "N seconds" rounded **up** to a multiple of 5
//! (< 90 s), "N minutes" (< 4800 s, at least 2), "N hours" (< 86400 s, at least 2), else
//! "more than a day".
//!
//! Rounding of minutes and hours — our reading. The notes state the rounding only for
//! seconds. For minutes and hours we round to the nearest unit (half away from zero, as
//! Python 2's `round`) and then apply the minimum of 2. The "at least 2" clamp is what
//! tells: with rounding *up* it could never bind (90 s is already ⌈1.5⌉ = 2 minutes and
//! 4800 s is ⌈1.33⌉ = 2 hours), whereas with rounding to nearest it is needed exactly at
//! the lower edges (4800 s → 1.33 h → 1 → 2). The readings differ only in the text
//! shown (125 s: "3 minutes" by round-up, "2 minutes" by round);
//! [`MINUTES_HOURS_ROUND_UP`] switches if the original turns out to use `ceil`.
//!
//! Remote quantisation: a VMNetX thin client turned `fraction` into
//! `(int(fraction * 10000), 10000)` before the window saw it, so "nothing loaded" meant
//! `fraction < 0.0001`. [`eta_text`] does the same.

use std::time::Duration;

/// Set to `true` to round minutes/hours up instead of to nearest (see module docs).
pub const MINUTES_HOURS_ROUND_UP: bool = false;

/// Loading time before any estimate is shown.
pub const ETA_MIN_ELAPSED: Duration = Duration::from_secs(5);

/// Text for "no estimate yet".
pub const CALCULATING: &str = "calculating...";

/// The humanised ETA after `elapsed` of loading with `fraction` (0..=1) done.
///
/// Never panics; nonsensical fractions (NaN, negative, > 1) degrade to "calculating..." or
/// "any time now" instead of printing nonsense, since `fraction` comes from the server.
pub fn eta_text(elapsed: Duration, fraction: f64) -> String {
    match eta_seconds(elapsed, fraction) {
        Some(s) => humanize(s),
        None => CALCULATING.to_owned(),
    }
}

/// The raw estimate in seconds (what VMNetX's [`humanize`] takes), or `None` while
/// "calculating...".
pub fn eta_seconds(elapsed: Duration, fraction: f64) -> Option<f64> {
    if elapsed < ETA_MIN_ELAPSED {
        return None;
    }
    let elapsed = elapsed.as_secs_f64();
    // NaN must land on the "no estimate" side, hence the explicit NaN check.
    let count = (fraction * 10000.0).floor();
    if count.is_nan() || count < 1.0 {
        return None;
    }
    let fraction = (count / 10000.0).min(1.0);
    Some(elapsed / fraction - elapsed)
}

/// VMNetX's `humanize(seconds)`.
pub fn humanize(seconds: f64) -> String {
    if seconds.is_nan() || seconds < 2.0 {
        // Also NaN and negatives (fraction > 1): "any time now" is the honest answer.
        return "any time now".to_owned();
    }
    if seconds < 90.0 {
        let n = (seconds / 5.0).ceil() * 5.0;
        return format!("{} seconds", n as u64);
    }
    let unit = |div: f64| -> u64 {
        let x = seconds / div;
        let n = if MINUTES_HOURS_ROUND_UP {
            x.ceil()
        } else {
            x.round()
        };
        (n as u64).max(2)
    };
    if seconds < 4800.0 {
        format!("{} minutes", unit(60.0))
    } else if seconds < 86400.0 {
        format!("{} hours", unit(3600.0))
    } else {
        "more than a day".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_boundaries() {
        assert_eq!(humanize(0.0), "any time now");
        assert_eq!(humanize(1.99), "any time now");
        assert_eq!(humanize(2.0), "5 seconds");
        assert_eq!(humanize(5.0), "5 seconds");
        assert_eq!(humanize(5.01), "10 seconds");
        assert_eq!(humanize(41.0), "45 seconds");
        assert_eq!(humanize(89.9), "90 seconds");
        assert_eq!(humanize(90.0), "2 minutes");
        assert_eq!(humanize(149.0), "2 minutes");
        assert_eq!(humanize(150.0), "3 minutes");
        assert_eq!(humanize(4799.0), "80 minutes");
        assert_eq!(humanize(4800.0), "2 hours");
        assert_eq!(humanize(9000.0), "3 hours"); // 2.5 rounds half away from zero
        assert_eq!(humanize(86399.0), "24 hours");
        assert_eq!(humanize(86400.0), "more than a day");
        assert_eq!(humanize(f64::INFINITY), "more than a day");
        assert_eq!(humanize(f64::NAN), "any time now");
        assert_eq!(humanize(-10.0), "any time now");
    }

    #[test]
    fn eta_rules() {
        let s = Duration::from_secs;
        assert_eq!(eta_text(Duration::from_millis(4990), 0.5), CALCULATING);
        assert_eq!(eta_text(s(10), 0.0), CALCULATING);
        assert_eq!(eta_text(s(10), 0.00009), CALCULATING); // int(0.9) == 0 in VMNetX
        assert_eq!(eta_text(s(10), f64::NAN), CALCULATING);
        assert_eq!(eta_text(s(10), -0.5), CALCULATING);
        // 10 s for half: 10 s to go.
        assert_eq!(eta_seconds(s(10), 0.5), Some(10.0));
        assert_eq!(eta_text(s(10), 0.5), "10 seconds");
        assert_eq!(eta_text(s(10), 1.0), "any time now");
        assert_eq!(eta_text(s(10), 7.0), "any time now");
        // 60 s for 10 %: 540 s = 9 minutes.
        assert_eq!(eta_text(s(60), 0.1), "9 minutes");
        // 100 s for 0.01 %: ~11.6 days.
        assert_eq!(eta_text(s(100), 0.0001), "more than a day");
        // The longest elapsed time a clock can give still yields text.
        assert_eq!(eta_text(Duration::MAX, 0.5), "more than a day");
    }
}
