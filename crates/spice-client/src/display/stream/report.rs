//! STREAM_REPORT windows: what the client tells the server about a stream's playback so
//! that it can adapt the bit rate (`docs/spice-protocol.md` §5.6).

use spice_proto::messages::display::{StreamActivateReport, StreamReport};

use super::clock::mm_diff;

/// `audio_delay` when no audio is played.
const NO_AUDIO: u32 = u32::MAX;

/// One report window: frames counted since the last report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReportWindow {
    unique_id: u32,
    max_frames: u32,
    timeout_ms: u32,
    frames: u32,
    drops: u32,
    start_mm: Option<u32>,
    end_mm: u32,
    last_delay: i32,
}

impl ReportWindow {
    pub(crate) fn new(activate: &StreamActivateReport) -> Self {
        ReportWindow {
            unique_id: activate.unique_id,
            // A window of 0 frames would report on every frame; 1 means the same.
            max_frames: activate.max_window_size.max(1),
            timeout_ms: activate.timeout_ms,
            frames: 0,
            drops: 0,
            start_mm: None,
            end_mm: 0,
            last_delay: 0,
        }
    }

    /// A frame stamped `mm_time` arrived; `delay` is how far ahead of the clock it was
    /// (negative: late; unknown without a clock, reported as 0).
    pub(crate) fn frame(&mut self, mm_time: u32, delay: Option<i32>) {
        self.start_mm.get_or_insert(mm_time);
        self.end_mm = mm_time;
        self.frames = self.frames.saturating_add(1);
        self.last_delay = delay.unwrap_or(0);
    }

    /// A frame was never shown (queue overflow, undecodable).
    pub(crate) fn drop_frame(&mut self) {
        self.drops = self.drops.saturating_add(1);
    }

    /// The window is full, or has been open for the server's timeout.
    pub(crate) fn is_due(&self, now_mm: Option<u32>) -> bool {
        if self.frames >= self.max_frames {
            return true;
        }
        match (self.start_mm, now_mm) {
            (Some(start), Some(now)) => {
                i64::from(mm_diff(now, start)) >= i64::from(self.timeout_ms)
            }
            _ => false,
        }
    }

    /// The report for this window; the next window starts empty.
    pub(crate) fn take(&mut self, stream_id: u32) -> StreamReport {
        let report = StreamReport {
            stream_id,
            unique_id: self.unique_id,
            start_frame_mm_time: self.start_mm.unwrap_or(self.end_mm),
            end_frame_mm_time: self.end_mm,
            num_frames: self.frames,
            num_drops: self.drops,
            last_frame_delay: self.last_delay,
            audio_delay: NO_AUDIO,
        };
        self.frames = 0;
        self.drops = 0;
        self.start_mm = None;
        report
    }
}

/// The report that tells the server this client cannot decode the stream at all; the
/// server then stops streaming it and goes back to ordinary draws.
pub(crate) fn cannot_decode(stream_id: u32, activate: &StreamActivateReport) -> StreamReport {
    StreamReport {
        stream_id,
        unique_id: activate.unique_id,
        start_frame_mm_time: 0,
        end_frame_mm_time: 0,
        num_frames: 0,
        num_drops: u32::MAX,
        last_frame_delay: 0,
        audio_delay: NO_AUDIO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn activate(max: u32, timeout: u32) -> StreamActivateReport {
        StreamActivateReport {
            stream_id: 3,
            unique_id: 77,
            max_window_size: max,
            timeout_ms: timeout,
        }
    }

    #[test]
    fn full_window_reports_and_restarts() {
        let mut w = ReportWindow::new(&activate(3, 10_000));
        w.frame(1000, Some(380));
        w.drop_frame();
        w.frame(1040, Some(390));
        assert!(!w.is_due(Some(1100)));
        w.frame(1080, Some(-20));
        assert!(w.is_due(None));
        assert_eq!(
            w.take(3),
            StreamReport {
                stream_id: 3,
                unique_id: 77,
                start_frame_mm_time: 1000,
                end_frame_mm_time: 1080,
                num_frames: 3,
                num_drops: 1,
                last_frame_delay: -20,
                audio_delay: u32::MAX,
            }
        );
        assert!(!w.is_due(Some(100_000)));
        w.frame(2000, None);
        assert_eq!(w.take(3).start_frame_mm_time, 2000);
    }

    #[test]
    fn timeout_reports_a_partial_window() {
        let mut w = ReportWindow::new(&activate(100, 500));
        w.frame(1000, Some(400));
        assert!(!w.is_due(None));
        assert!(!w.is_due(Some(1499)));
        assert!(w.is_due(Some(1500)));
    }
}
