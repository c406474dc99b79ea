//! Scheduling, ordering, bounds and reports, with the real JPEG decoder on a fixture.

use spice_codecs::jpeg::decode_jpeg;
use spice_codecs::Rgba;
use spice_proto::messages::display::{
    stream::stream_flags, video_codec, Brush, Clip, DisplayBase, DisplayMsg, DrawFill, Point,
    QMask, Rect as WireRect, StreamActivateReport, StreamCreate, StreamData, SurfaceCreate,
};

use super::{DisplayEvent, DisplayState, Rect, MAX_QUEUED_FRAMES};
use crate::display::rop::Ropd;
use crate::stats::Stats;

/// 33×17 grayscale JPEG from the codec fixtures.
const JPEG: &[u8] = include_bytes!("../../../../spice-codecs/tests/fixtures/gray_33x17.jpg");
const W: u32 = 33;
const H: u32 = 17;

struct Fixture {
    display: DisplayState,
    stats: Stats,
    frame: Rgba,
}

impl Fixture {
    /// A 100×50 primary surface (black) with stream 7 of `codec` at (10, 20).
    fn new(codec: u8, flags: u8, dest: WireRect) -> Self {
        let mut f = Fixture {
            display: DisplayState::default(),
            stats: Stats::default(),
            frame: decode_jpeg(JPEG).unwrap(),
        };
        f.apply(DisplayMsg::SurfaceCreate(SurfaceCreate {
            surface_id: 0,
            width: 100,
            height: 50,
            format: 32,
            flags: 1,
        }));
        f.apply(DisplayMsg::StreamCreate(StreamCreate {
            surface_id: 0,
            id: 7,
            flags,
            codec,
            stamp: 0,
            stream_width: W,
            stream_height: H,
            src_width: W,
            src_height: H,
            dest,
            clip: Clip::None,
        }));
        f
    }

    fn mjpeg() -> Self {
        Self::new(
            video_codec::MJPEG,
            stream_flags::TOP_DOWN,
            dest(10, 20, W, H),
        )
    }

    fn apply(&mut self, msg: DisplayMsg<'_>) -> Vec<Result<DisplayEvent, crate::DisplayError>> {
        self.display.handle(&msg, &mut self.stats)
    }

    fn data(&mut self, mm_time: u32) -> Vec<Result<DisplayEvent, crate::DisplayError>> {
        self.apply(DisplayMsg::StreamData(StreamData {
            id: 7,
            mm_time,
            data: JPEG,
        }))
    }

    fn poll(&mut self, now: u32) -> Vec<Result<DisplayEvent, crate::DisplayError>> {
        self.display.set_mm_now(Some(now));
        self.display.poll_streams(&mut self.stats)
    }

    fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let s = self.display.primary().unwrap();
        let i = ((y * s.width() + x) * 4) as usize;
        s.pixels()[i..i + 4].try_into().unwrap()
    }

    fn frame_pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * W + x) * 4) as usize;
        self.frame.pixels[i..i + 4].try_into().unwrap()
    }

    /// The frame sits unscaled at (10, 20), rows flipped if `flipped`.
    fn assert_frame_at_dest(&self, flipped: bool) {
        for y in 0..H {
            for x in 0..W {
                let fy = if flipped { H - 1 - y } else { y };
                assert_eq!(
                    self.pixel(10 + x, 20 + y),
                    self.frame_pixel(x, fy),
                    "({x}, {y})"
                );
            }
        }
        assert_eq!(self.pixel(9, 20), BLACK);
        assert_eq!(self.pixel(10 + W, 20), BLACK);
    }

    fn untouched(&self) -> bool {
        let s = self.display.primary().unwrap();
        s.pixels().chunks_exact(4).all(|p| p == BLACK)
    }
}

const BLACK: [u8; 4] = [0, 0, 0, 255];

fn dest(left: i32, top: i32, w: u32, h: u32) -> WireRect {
    WireRect {
        left,
        top,
        right: left + w as i32,
        bottom: top + h as i32,
    }
}

fn invalidated(events: &[Result<DisplayEvent, crate::DisplayError>]) -> Vec<Rect> {
    events
        .iter()
        .map(|e| match e {
            Ok(DisplayEvent::Invalidate {
                surface_id: 0,
                rect,
            }) => *rect,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn frame_waits_for_its_time() {
    let mut f = Fixture::mjpeg();
    f.display.set_mm_now(Some(1000));
    assert!(f.data(1100).is_empty());
    assert!(f.untouched());
    assert_eq!(f.display.next_stream_due(), Some(1100));
    assert!(f.poll(1099).is_empty());
    assert!(f.untouched());
    assert_eq!(invalidated(&f.poll(1100)), [Rect::new(10, 20, 43, 37)]);
    f.assert_frame_at_dest(false);
    assert_eq!(f.display.next_stream_due(), None);
    assert_eq!(f.stats.stream_frames.get("MJPEG"), Some(&1));
    assert_eq!(f.stats.stream_frames_late, 0);
}

#[test]
fn late_frame_is_drawn_at_once_and_counted() {
    let mut f = Fixture::mjpeg();
    f.display.set_mm_now(Some(2000));
    assert_eq!(invalidated(&f.data(1990)), [Rect::new(10, 20, 43, 37)]);
    f.assert_frame_at_dest(false);
    assert_eq!(f.stats.stream_frames_late, 1);
    // Exactly on time is not late.
    f.data(2000);
    assert_eq!(f.stats.stream_frames_late, 1);
    assert_eq!(f.stats.stream_frames.get("MJPEG"), Some(&2));
}

#[test]
fn without_a_clock_frames_draw_on_arrival() {
    let mut f = Fixture::mjpeg();
    assert_eq!(invalidated(&f.data(123_456)).len(), 1);
    f.assert_frame_at_dest(false);
    assert_eq!(f.stats.stream_frames_late, 0);
}

#[test]
fn bottom_up_frames_are_flipped() {
    let mut f = Fixture::new(video_codec::MJPEG, 0, dest(10, 20, W, H));
    f.data(0);
    f.assert_frame_at_dest(true);
}

#[test]
fn frame_is_scaled_to_the_destination() {
    let mut f = Fixture::new(
        video_codec::MJPEG,
        stream_flags::TOP_DOWN,
        dest(0, 0, 2 * W, 2 * H),
    );
    assert_eq!(invalidated(&f.data(0)), [Rect::new(0, 0, 66, 34)]);
    for y in 0..2 * H {
        for x in 0..2 * W {
            assert_eq!(f.pixel(x, y), f.frame_pixel(x / 2, y / 2), "({x}, {y})");
        }
    }
    assert_eq!(f.pixel(66, 0), BLACK);
}

#[test]
fn stream_clip_limits_later_frames() {
    let mut f = Fixture::mjpeg();
    f.apply(DisplayMsg::StreamClip {
        id: 7,
        clip: Clip::Rects(vec![dest(12, 22, 3, 2)]),
    });
    assert_eq!(invalidated(&f.data(0)), [Rect::new(12, 22, 15, 24)]);
    for y in 0..50 {
        for x in 0..100 {
            let inside = (12..15).contains(&x) && (22..24).contains(&y);
            let want = if inside {
                f.frame_pixel(x - 10, y - 20)
            } else {
                BLACK
            };
            assert_eq!(f.pixel(x, y), want, "({x}, {y})");
        }
    }
}

fn fill(surface_id: u32, r: WireRect) -> DisplayMsg<'static> {
    DisplayMsg::DrawFill(DrawFill {
        base: DisplayBase {
            surface_id,
            bbox: r,
            clip: Clip::None,
        },
        brush: Brush::Solid(0x00ff_0000),
        rop: Ropd::OP_PUT,
        mask: QMask {
            flags: 0,
            pos: Point { x: 0, y: 0 },
            bitmap: None,
        },
    })
}

#[test]
fn a_draw_on_the_surface_first_shows_queued_frames() {
    let mut f = Fixture::mjpeg();
    f.display.set_mm_now(Some(1000));
    f.data(1400);
    // The fill was sent after the frame, so it must end up on top of it.
    let events = f.apply(fill(0, dest(10, 20, 5, 5)));
    assert_eq!(
        invalidated(&events),
        [Rect::new(10, 20, 43, 37), Rect::new(10, 20, 15, 25)]
    );
    assert_eq!(f.pixel(10, 20), [255, 0, 0, 255]);
    assert_eq!(f.pixel(14, 24), [255, 0, 0, 255]);
    assert_eq!(f.pixel(15, 24), f.frame_pixel(5, 4));
    assert_eq!(f.display.queued_stream_frames(), 0);
    // Once shown, the frame is not drawn again over the fill at its time.
    assert!(f.poll(1400).is_empty());
    assert_eq!(f.pixel(10, 20), [255, 0, 0, 255]);
}

#[test]
fn draws_on_other_surfaces_leave_frames_queued() {
    let mut f = Fixture::mjpeg();
    f.apply(DisplayMsg::SurfaceCreate(SurfaceCreate {
        surface_id: 1,
        width: 8,
        height: 8,
        format: 32,
        flags: 0,
    }));
    f.display.set_mm_now(Some(1000));
    f.data(1400);
    f.apply(fill(1, dest(0, 0, 8, 8)));
    assert_eq!(f.display.queued_stream_frames(), 1);
    assert!(f.untouched());
}

#[test]
fn destroy_shows_what_was_queued() {
    let mut f = Fixture::mjpeg();
    f.display.set_mm_now(Some(1000));
    f.data(1400);
    let events = f.apply(DisplayMsg::StreamDestroy { id: 7 });
    assert_eq!(invalidated(&events).len(), 1);
    f.assert_frame_at_dest(false);
    assert_eq!(f.display.next_stream_due(), None);
    assert!(matches!(
        f.data(1500)[..],
        [Err(crate::DisplayError::NoSuchStream(7))]
    ));
}

#[test]
fn a_full_queue_drops_the_oldest_frames() {
    let mut f = Fixture::mjpeg();
    f.display.set_mm_now(Some(0));
    let extra = 5;
    for i in 0..(MAX_QUEUED_FRAMES + extra) as u32 {
        assert!(f.data(1000 + i).is_empty());
    }
    assert_eq!(f.display.queued_stream_frames(), MAX_QUEUED_FRAMES);
    assert_eq!(f.stats.stream_frames_dropped, extra as u64);
    // The survivors are the newest ones, in order.
    assert_eq!(f.display.next_stream_due(), Some(1000 + extra as u32));
    let shown = f.poll(1000 + 10);
    assert_eq!(shown.len(), 10 - extra + 1);
    assert_eq!(
        f.display.queued_stream_frames(),
        MAX_QUEUED_FRAMES - shown.len()
    );
    assert_eq!(
        f.stats.stream_frames.get("MJPEG"),
        Some(&(shown.len() as u64))
    );
}

#[test]
fn undecodable_data_is_a_warning_and_a_drop() {
    let mut f = Fixture::mjpeg();
    let events = f.apply(DisplayMsg::StreamData(StreamData {
        id: 7,
        mm_time: 0,
        data: &[0xff, 0xd8, 0x00],
    }));
    assert!(matches!(events[..], [Err(crate::DisplayError::Codec(_))]));
    assert_eq!(f.stats.stream_frames_dropped, 1);
    assert!(f.untouched());
}

fn activate(max_window_size: u32) -> DisplayMsg<'static> {
    DisplayMsg::StreamActivateReport(StreamActivateReport {
        stream_id: 7,
        unique_id: 99,
        max_window_size,
        timeout_ms: 1000,
    })
}

#[test]
fn reports_follow_the_requested_window() {
    let mut f = Fixture::mjpeg();
    f.apply(activate(2));
    f.display.set_mm_now(Some(1000));
    f.data(1300);
    assert!(f.display.take_stream_reports().is_empty());
    f.data(1340);
    let reports = f.display.take_stream_reports();
    assert_eq!(reports.len(), 1);
    let r = reports[0];
    assert_eq!((r.stream_id, r.unique_id), (7, 99));
    assert_eq!((r.start_frame_mm_time, r.end_frame_mm_time), (1300, 1340));
    assert_eq!((r.num_frames, r.num_drops), (2, 0));
    assert_eq!(r.last_frame_delay, 340);
    assert_eq!(r.audio_delay, u32::MAX);
    // A partial window goes out when the server's timeout passes.
    f.data(1380);
    assert!(f.poll(2379).iter().all(|e| e.is_ok()));
    assert!(f.display.take_stream_reports().is_empty());
    f.poll(2380);
    let r = f.display.take_stream_reports();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].num_frames, 1);
}

#[test]
fn other_codecs_are_refused_with_a_cannot_decode_report() {
    let mut f = Fixture::new(video_codec::H264, stream_flags::TOP_DOWN, dest(0, 0, W, H));
    assert_eq!(f.stats.streams.get("H264"), Some(&1));
    f.apply(activate(10));
    let r = f.display.take_stream_reports();
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].stream_id, r[0].unique_id), (7, 99));
    assert_eq!((r[0].num_frames, r[0].num_drops), (0, u32::MAX));
    assert!(f.data(0).is_empty());
    assert_eq!(f.stats.stream_frames_dropped, 1);
    assert!(f.stats.stream_frames.is_empty());
    assert!(f.untouched());
}

#[test]
fn out_of_range_ids_are_refused() {
    let mut f = Fixture::mjpeg();
    let events = f.apply(DisplayMsg::StreamCreate(StreamCreate {
        surface_id: 0,
        id: 64,
        flags: 0,
        codec: video_codec::MJPEG,
        stamp: 0,
        stream_width: 1,
        stream_height: 1,
        src_width: 1,
        src_height: 1,
        dest: dest(0, 0, 1, 1),
        clip: Clip::None,
    }));
    assert!(matches!(
        events[..],
        [Err(crate::DisplayError::StreamIdOutOfRange(64))]
    ));
}
