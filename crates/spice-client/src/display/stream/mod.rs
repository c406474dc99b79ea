//! Video streams: screen regions the server sends as MJPEG frames instead of draws.
//!
//! Each frame carries the multimedia time at which it should appear. The core has no
//! clock, so the session tells the display what time it is ([`DisplayState::set_mm_now`]);
//! frames for later are queued and drawn by [`DisplayState::poll_streams`]. Without a
//! clock (replays, fuzzing) frames are drawn as they arrive.
//!
//! Order on a surface is what keeps the picture right: a queued frame must not land on
//! top of a draw the server sent after it. So before any other message touches a surface,
//! that surface's queued frames are drawn at once, early rather than out of order.

pub mod clock;
mod frame;
mod report;
pub mod tables;

use std::collections::{BTreeMap, HashMap, VecDeque};

use spice_proto::messages::display::{
    stream::stream_flags, Clip, DisplayMsg, Image, ImageData, StreamActivateReport, StreamCreate,
    StreamReport,
};

pub use clock::{mm_diff, MmClock};
pub use frame::{codec_name, is_decodable};

use super::{to_rect, DisplayEvent, DisplayState, Outcome, Rect, Surface};
use crate::error::DisplayError;
use crate::stats::Stats;
use report::ReportWindow;
use tables::JpegTables;

/// The server keeps at most 64 streams and numbers them below that.
pub const MAX_STREAMS: u32 = 64;
/// Frames waiting for their time, per stream. The server stamps frames ~400 ms ahead, so
/// a 30 fps stream holds about a dozen; far more means the clock is off.
pub const MAX_QUEUED_FRAMES: usize = 32;
/// Encoded bytes waiting across all streams, so a hostile server cannot grow memory.
pub const MAX_QUEUED_BYTES: usize = 32 << 20;

#[derive(Debug)]
struct Frame {
    mm_time: u32,
    dest: Rect,
    data: Vec<u8>,
}

#[derive(Debug)]
struct Stream {
    surface_id: u32,
    codec: u8,
    top_down: bool,
    dest: Rect,
    clip: Option<Vec<Rect>>,
    queue: VecDeque<Frame>,
    report: Option<ReportWindow>,
    /// Learnt from frames as they arrive (not when drawn), so a dropped frame's tables
    /// are not lost.
    tables: JpegTables,
}

impl Stream {
    fn new(c: &StreamCreate) -> Self {
        Stream {
            surface_id: c.surface_id,
            codec: c.codec,
            top_down: c.flags & stream_flags::TOP_DOWN != 0,
            dest: to_rect(&c.dest),
            clip: clip_rects(&c.clip),
            queue: VecDeque::new(),
            report: None,
            tables: JpegTables::default(),
        }
    }
}

/// The streams of one display channel.
#[derive(Debug, Default)]
pub struct StreamState {
    streams: BTreeMap<u32, Stream>,
    now_mm: Option<u32>,
    queued_bytes: usize,
    reports: Vec<StreamReport>,
}

/// Which surfaces a non-stream message may read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Touches {
    Surface(u32),
    All,
}

impl DisplayState {
    /// The multimedia clock reads `now_mm` (`None`: no clock, frames draw on arrival).
    pub fn set_mm_now(&mut self, now_mm: Option<u32>) {
        self.streams.now_mm = now_mm;
    }

    /// Draws every queued frame whose time has come.
    pub fn poll_streams(&mut self, stats: &mut Stats) -> Vec<Outcome> {
        let mut out = Vec::new();
        let ids: Vec<u32> = self.streams.streams.keys().copied().collect();
        for id in ids {
            self.streams
                .present_due(id, &mut self.surfaces, stats, &mut out);
            self.streams.check_report(id);
        }
        out
    }

    /// The multimedia time at which the next queued frame is due.
    pub fn next_stream_due(&self) -> Option<u32> {
        let now = self.streams.now_mm?;
        self.streams
            .streams
            .values()
            .filter_map(|s| s.queue.front())
            .map(|f| f.mm_time)
            .min_by_key(|&mm| mm_diff(mm, now))
    }

    /// STREAM_REPORTs the server asked for, to send on this display channel.
    pub fn take_stream_reports(&mut self) -> Vec<StreamReport> {
        std::mem::take(&mut self.streams.reports)
    }

    /// Frames waiting for their time, over all streams.
    pub fn queued_stream_frames(&self) -> usize {
        self.streams.streams.values().map(|s| s.queue.len()).sum()
    }

    /// Before `msg` is applied: the queued frames of every stream on a surface it touches
    /// are drawn, so that nothing is reordered.
    pub(super) fn flush_streams_before(
        &mut self,
        msg: &DisplayMsg<'_>,
        stats: &mut Stats,
    ) -> Vec<Outcome> {
        let mut out = Vec::new();
        let Some(touches) = touches(msg) else {
            return out;
        };
        let ids: Vec<u32> = self
            .streams
            .streams
            .iter()
            .filter(|(_, s)| touches == Touches::All || touches == Touches::Surface(s.surface_id))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.streams
                .present_all(id, &mut self.surfaces, stats, &mut out);
        }
        out
    }

    /// Applies a STREAM_* message.
    pub(super) fn handle_stream(
        &mut self,
        msg: &DisplayMsg<'_>,
        stats: &mut Stats,
    ) -> Vec<Outcome> {
        let mut out = Vec::new();
        let st = &mut self.streams;
        let surfaces = &mut self.surfaces;
        match msg {
            DisplayMsg::StreamCreate(c) => st.create(c, surfaces, stats, &mut out),
            DisplayMsg::StreamData(d) => {
                st.frame(d.id, d.mm_time, None, d.data, surfaces, stats, &mut out)
            }
            // The frame's own size comes from its JPEG header; only the new dest matters.
            DisplayMsg::StreamDataSized(d) => st.frame(
                d.id,
                d.mm_time,
                Some(to_rect(&d.dest)),
                d.data,
                surfaces,
                stats,
                &mut out,
            ),
            DisplayMsg::StreamClip { id, clip } => {
                // Frames already queued were sent under the old clip.
                st.present_all(*id, surfaces, stats, &mut out);
                match st.streams.get_mut(id) {
                    Some(s) => s.clip = clip_rects(clip),
                    None => out.push(Err(DisplayError::NoSuchStream(*id))),
                }
            }
            DisplayMsg::StreamDestroy { id } => {
                st.present_all(*id, surfaces, stats, &mut out);
                st.streams.remove(id);
            }
            DisplayMsg::StreamDestroyAll => {
                let ids: Vec<u32> = st.streams.keys().copied().collect();
                for id in ids {
                    st.present_all(id, surfaces, stats, &mut out);
                }
                st.streams.clear();
            }
            DisplayMsg::StreamActivateReport(a) => st.activate_report(a),
            _ => {}
        }
        out
    }
}

impl StreamState {
    fn create(
        &mut self,
        c: &StreamCreate,
        surfaces: &mut HashMap<u32, Surface>,
        stats: &mut Stats,
        out: &mut Vec<Outcome>,
    ) {
        if c.id >= MAX_STREAMS {
            out.push(Err(DisplayError::StreamIdOutOfRange(c.id)));
            return;
        }
        // A reused id replaces the old stream; what it still had queued goes out first.
        self.present_all(c.id, surfaces, stats, out);
        *stats.streams.entry(codec_name(c.codec)).or_default() += 1;
        if !is_decodable(c.codec) {
            out.push(Err(DisplayError::UnsupportedImage(codec_name(c.codec))));
        }
        self.streams.insert(c.id, Stream::new(c));
    }

    #[allow(clippy::too_many_arguments)]
    fn frame(
        &mut self,
        id: u32,
        mm_time: u32,
        dest: Option<Rect>,
        data: &[u8],
        surfaces: &mut HashMap<u32, Surface>,
        stats: &mut Stats,
        out: &mut Vec<Outcome>,
    ) {
        let now_mm = self.now_mm;
        let Some(stream) = self.streams.get_mut(&id) else {
            out.push(Err(DisplayError::NoSuchStream(id)));
            return;
        };
        let delay = now_mm.map(|now| mm_diff(mm_time, now));
        if let Some(r) = &mut stream.report {
            r.frame(mm_time, delay);
        }
        if !is_decodable(stream.codec) || data.len() > MAX_QUEUED_BYTES {
            drop_frame(stream, stats);
            self.check_report(id);
            return;
        }
        let data = match stream.tables.complete(data) {
            Ok(d) => d.into_owned(),
            Err(e) => {
                drop_frame(stream, stats);
                out.push(Err(e));
                self.check_report(id);
                return;
            }
        };
        let frame = Frame {
            mm_time,
            dest: dest.unwrap_or(stream.dest),
            data,
        };
        self.queued_bytes += frame.data.len();
        stream.queue.push_back(frame);
        match delay {
            // Due (or no clock): this frame and everything queued before it go out now.
            None | Some(..=0) => {
                if delay.is_some_and(|d| d < 0) {
                    stats.stream_frames_late += 1;
                }
                self.present_all(id, surfaces, stats, out);
            }
            Some(_) => self.enforce_bounds(id, stats),
        }
        self.check_report(id);
    }

    fn activate_report(&mut self, a: &StreamActivateReport) {
        let Some(stream) = self.streams.get_mut(&a.stream_id) else {
            return;
        };
        if is_decodable(stream.codec) {
            stream.report = Some(ReportWindow::new(a));
        } else {
            self.reports.push(report::cannot_decode(a.stream_id, a));
        }
    }

    fn check_report(&mut self, id: u32) {
        let now_mm = self.now_mm;
        let Some(window) = self.streams.get_mut(&id).and_then(|s| s.report.as_mut()) else {
            return;
        };
        if window.is_due(now_mm) {
            self.reports.push(window.take(id));
        }
    }

    /// Drops the oldest frames while this stream, or all streams together, hold too many.
    fn enforce_bounds(&mut self, id: u32, stats: &mut Stats) {
        while let Some(stream) = self.streams.get_mut(&id) {
            let over =
                stream.queue.len() > MAX_QUEUED_FRAMES || self.queued_bytes > MAX_QUEUED_BYTES;
            if !over {
                return;
            }
            let Some(f) = stream.queue.pop_front() else {
                return;
            };
            self.queued_bytes -= f.data.len();
            drop_frame(stream, stats);
        }
    }

    fn present_due(
        &mut self,
        id: u32,
        surfaces: &mut HashMap<u32, Surface>,
        stats: &mut Stats,
        out: &mut Vec<Outcome>,
    ) {
        let now_mm = self.now_mm;
        self.present_while(id, surfaces, stats, out, |f| {
            now_mm.is_none_or(|now| mm_diff(f.mm_time, now) <= 0)
        });
    }

    fn present_all(
        &mut self,
        id: u32,
        surfaces: &mut HashMap<u32, Surface>,
        stats: &mut Stats,
        out: &mut Vec<Outcome>,
    ) {
        self.present_while(id, surfaces, stats, out, |_| true);
    }

    fn present_while(
        &mut self,
        id: u32,
        surfaces: &mut HashMap<u32, Surface>,
        stats: &mut Stats,
        out: &mut Vec<Outcome>,
        ready: impl Fn(&Frame) -> bool,
    ) {
        let Some(stream) = self.streams.get_mut(&id) else {
            return;
        };
        while stream.queue.front().is_some_and(&ready) {
            let Some(f) = stream.queue.pop_front() else {
                break;
            };
            self.queued_bytes -= f.data.len();
            match present(stream, &f, surfaces, stats) {
                Ok(Some(ev)) => out.push(Ok(ev)),
                Ok(None) => {}
                Err(e) => {
                    drop_frame(stream, stats);
                    out.push(Err(e));
                }
            }
        }
    }
}

fn drop_frame(stream: &mut Stream, stats: &mut Stats) {
    stats.stream_frames_dropped += 1;
    if let Some(r) = &mut stream.report {
        r.drop_frame();
    }
}

/// Decodes and draws one frame; the event says what changed.
fn present(
    stream: &Stream,
    f: &Frame,
    surfaces: &mut HashMap<u32, Surface>,
    stats: &mut Stats,
) -> Result<Option<DisplayEvent>, DisplayError> {
    let surface = surfaces
        .get_mut(&stream.surface_id)
        .ok_or(DisplayError::NoSuchSurface(stream.surface_id))?;
    let image = frame::decode(stream.codec, &f.data, stream.top_down)?;
    *stats
        .stream_frames
        .entry(codec_name(stream.codec))
        .or_default() += 1;
    let rect = frame::draw(surface, &image, f.dest, stream.clip.as_deref());
    Ok((!rect.is_empty()).then_some(DisplayEvent::Invalidate {
        surface_id: stream.surface_id,
        rect,
    }))
}

fn clip_rects(clip: &Clip) -> Option<Vec<Rect>> {
    match clip {
        Clip::None => None,
        Clip::Rects(rects) => Some(rects.iter().map(to_rect).collect()),
    }
}

/// The surfaces a message other than STREAM_* reads or writes.
fn touches(msg: &DisplayMsg<'_>) -> Option<Touches> {
    let (surface_id, src) = match msg {
        DisplayMsg::DrawFill(d) => (d.base.surface_id, None),
        DisplayMsg::DrawOpaque(d) => (d.base.surface_id, Some(&d.src)),
        DisplayMsg::DrawCopy(d) | DisplayMsg::DrawBlend(d) => (d.base.surface_id, Some(&d.src)),
        DisplayMsg::DrawBlackness(d) | DisplayMsg::DrawWhiteness(d) | DisplayMsg::DrawInvers(d) => {
            (d.base.surface_id, None)
        }
        DisplayMsg::DrawRop3(d) => (d.base.surface_id, Some(&d.src)),
        DisplayMsg::DrawStroke(d) => (d.base.surface_id, None),
        DisplayMsg::DrawText(d) => (d.base.surface_id, None),
        DisplayMsg::DrawTransparent(d) => (d.base.surface_id, Some(&d.src)),
        DisplayMsg::DrawAlphaBlend(d) => (d.base.surface_id, Some(&d.src)),
        DisplayMsg::DrawComposite(d) => (d.base.surface_id, Some(&d.src)),
        DisplayMsg::CopyBits(c) => (c.base.surface_id, None),
        DisplayMsg::SurfaceCreate(c) => (c.surface_id, None),
        DisplayMsg::SurfaceDestroy { surface_id } => (*surface_id, None),
        DisplayMsg::Reset => return Some(Touches::All),
        _ => return None,
    };
    // A draw whose source is another surface reads that surface too.
    Some(if src.is_some_and(reads_surface) {
        Touches::All
    } else {
        Touches::Surface(surface_id)
    })
}

fn reads_surface(image: &Image<'_>) -> bool {
    matches!(image.data, ImageData::Surface { .. })
}

#[cfg(test)]
mod tests;
