//! Replaying a recorded display channel, for benchmarks and regression tests.
//!
//! A recording is simply every byte the server sent on one display channel, link phase
//! included (see `spice-snapshot --record`). Replaying skips the link reply and result,
//! then runs the messages through the same decoder and renderer a live session uses.

use spice_codecs::glz::GlzDictionary;
use spice_codecs::Rgba;
use spice_proto::framing::{Deframer, RawMessage};
use spice_proto::link::{LinkHeader, LINK_HEADER_SIZE, LINK_RESULT_SIZE};
use spice_proto::messages::display::image::ImageType;
use spice_proto::messages::display::ImageData;
use spice_proto::messages::{decode_display, BaseMsg, DisplayMsg};

use crate::display::decode::{decode, Outcome};
use crate::display::images::DEFAULT_GLZ_WINDOW_PIXELS;
use crate::display::DisplayState;
use crate::error::ChannelError;
use crate::stats::Stats;

/// The display messages of a recording, in order.
pub fn display_messages(recording: &[u8]) -> Result<Vec<RawMessage>, ChannelError> {
    let header = LinkHeader::decode(recording)?;
    let start = LINK_HEADER_SIZE + header.size as usize + LINK_RESULT_SIZE;
    let body = recording
        .get(start..)
        .ok_or_else(|| ChannelError::Unexpected("recording ends inside the link phase".into()))?;
    let mut deframer = Deframer::new();
    deframer.push(body);
    let mut out = Vec::new();
    while let Some(m) = deframer.next_message()? {
        out.push(m);
    }
    Ok(out)
}

/// Renders a raw display stream (mini-header frames, no link phase), ignoring errors:
/// the entry point of the renderer's fuzz target and of robustness tests.
pub fn render_frames(frames: &[u8]) -> usize {
    let mut deframer = Deframer::new();
    deframer.push(frames);
    let mut state = DisplayState::default();
    let mut stats = Stats::default();
    let mut failed = 0;
    while let Ok(Some(m)) = deframer.next_message() {
        if apply(&mut state, &mut stats, m.ty, &m.body, &mut failed).is_err() {
            failed += 1;
        }
    }
    failed
}

/// Surfaces [`render_frames_with_surfaces`] creates before the frames: a 64x64 xRGB
/// primary (0), an A8 (1), a 16-bit 555 (2) and an ARGB (3) off-screen surface, so a
/// fuzzer reaches every draw op and target format without having to find SURFACE_CREATE.
pub const FUZZ_SURFACES: [(u32, u32, u32, u32); 4] = [
    (0, 64, 64, 32),
    (1, 32, 32, 8),
    (2, 16, 16, 16),
    (3, 16, 16, 96),
];

/// Like [`render_frames`], on the surfaces of [`FUZZ_SURFACES`].
pub fn render_frames_with_surfaces(frames: &[u8]) -> usize {
    let mut all = Vec::new();
    for (id, w, h, format) in FUZZ_SURFACES {
        let body: Vec<u8> = [id, w, h, format, u32::from(id == 0)]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        all.extend(spice_proto::framing::encode_message(
            spice_proto::messages::display::msg::SURFACE_CREATE,
            &body,
        ));
    }
    all.extend_from_slice(frames);
    render_frames(&all)
}

/// Renders `messages` into a fresh display state; returns it with the statistics, and
/// the number of draws that failed.
pub fn render(messages: &[RawMessage]) -> Result<(DisplayState, Stats, usize), ChannelError> {
    let mut replay = Replay::default();
    for m in messages {
        replay.push(m)?;
    }
    Ok(replay.into_parts())
}

/// A replay in progress: messages go in one at a time, and the display can be looked at
/// in between (the golden-picture tests compare it at several points of a recording).
#[derive(Debug, Default)]
pub struct Replay {
    state: DisplayState,
    stats: Stats,
    failed: usize,
}

impl Replay {
    /// Draws one recorded message. An error is a message that does not decode, after
    /// which the recording cannot be trusted; a draw that fails is only counted.
    pub fn push(&mut self, m: &RawMessage) -> Result<(), ChannelError> {
        apply(
            &mut self.state,
            &mut self.stats,
            m.ty,
            &m.body,
            &mut self.failed,
        )
    }

    /// The display as drawn so far.
    pub fn display(&self) -> &DisplayState {
        &self.state
    }

    /// Draws that failed so far.
    pub fn failed_draws(&self) -> usize {
        self.failed
    }

    /// The display, the statistics and the failed-draw count.
    pub fn into_parts(self) -> (DisplayState, Stats, usize) {
        (self.state, self.stats, self.failed)
    }
}

/// What decoding a recording's images of some codecs did: the figures a codec benchmark
/// divides by the time the caller measured around [`decode_images`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Images decoded.
    pub images: u64,
    /// Their pixels, added up.
    pub pixels: u64,
}

/// Decodes, with spice-codecs alone (no protocol state, no caches, no drawing), every
/// image in `messages` whose wire type is in `kinds`, in stream order. GLZ images share
/// one dictionary, as in a session, so GLZ and zlib-GLZ must be decoded together (and
/// from the start of the stream) for back-references to resolve. Palette bitmaps and
/// LZ_PLT are not handled: they need the palette cache, and the recordings have none.
pub fn decode_images(
    messages: &[RawMessage],
    kinds: &[ImageType],
) -> Result<Decoded, ChannelError> {
    let mut glz = GlzDictionary::new(DEFAULT_GLZ_WINDOW_PIXELS);
    let mut out = Decoded::default();
    for m in messages {
        for_each_display_msg(m.ty, &m.body, &mut |msg| {
            for image in msg.images() {
                if !kinds.contains(&image.descriptor.kind) {
                    continue;
                }
                let rgba = decode_one(
                    &image.data,
                    image.descriptor.width,
                    image.descriptor.height,
                    &mut glz,
                )
                .map_err(|e| {
                    ChannelError::Unexpected(format!(
                        "{} image {:#x}: {e}",
                        image.descriptor.kind.name(),
                        image.descriptor.id
                    ))
                })?;
                out.images += 1;
                out.pixels += u64::from(rgba.width) * u64::from(rgba.height);
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// Pixels of every image `messages` carry (descriptor sizes, cache hits included): what a
/// replay draws, the unit of render throughput.
pub fn image_pixels(messages: &[RawMessage]) -> Result<u64, ChannelError> {
    let mut pixels = 0u64;
    for m in messages {
        for_each_display_msg(m.ty, &m.body, &mut |msg| {
            for image in msg.images() {
                let d = &image.descriptor;
                pixels += u64::from(d.width) * u64::from(d.height);
            }
            Ok(())
        })?;
    }
    Ok(pixels)
}

/// Calls `f` on the display message and, for a MSG_LIST, on each of its sub-messages.
fn for_each_display_msg(
    ty: u16,
    body: &[u8],
    f: &mut dyn FnMut(&DisplayMsg) -> Result<(), ChannelError>,
) -> Result<(), ChannelError> {
    let msg = decode_display(ty, body)?;
    if let DisplayMsg::Base(BaseMsg::List(subs)) = &msg {
        for sub in subs {
            for_each_display_msg(sub.ty, sub.body, f)?;
        }
        return Ok(());
    }
    f(&msg)
}

fn decode_one(
    data: &ImageData,
    width: u32,
    height: u32,
    glz: &mut GlzDictionary,
) -> Result<Rgba, String> {
    match decode(data, width, height, None, glz).map_err(|e| e.to_string())? {
        Outcome::Pixels { image, .. } => Ok(image),
        Outcome::MissingGlzImage(id) => Err(format!(
            "refers to GLZ image {id}, which is not in the recording"
        )),
        Outcome::NotInMessage => Err("is not a self-contained image".into()),
    }
}

fn apply(
    state: &mut DisplayState,
    stats: &mut Stats,
    ty: u16,
    body: &[u8],
    failed: &mut usize,
) -> Result<(), ChannelError> {
    let msg = decode_display(ty, body)?;
    if let DisplayMsg::Base(spice_proto::messages::BaseMsg::List(subs)) = &msg {
        for sub in subs {
            apply(state, stats, sub.ty, sub.body, failed)?;
        }
        return Ok(());
    }
    *failed += state
        .handle(&msg, stats)
        .iter()
        .filter(|r| r.is_err())
        .count();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use olive_test_support::{Wire, XorShift};
    use spice_proto::framing::encode_message;

    fn surface_create(id: u32, w: u32, h: u32) -> Vec<u8> {
        encode_message(314, &Wire::new().u32s(&[id, w, h, 32, 1]).done())
    }

    fn fill(surface: u32, [t, l, b, r]: [i32; 4], color: u32) -> Vec<u8> {
        let body = Wire::new()
            .u32(surface)
            .rect(t, l, b, r)
            .u8(0) // clip none
            .u8(1) // solid brush
            .u32(color)
            .u16(8) // OP_PUT
            .u8(0) // mask flags
            .i32(0) // mask pos
            .i32(0)
            .u32(0) // no mask bitmap
            .done();
        encode_message(302, &body)
    }

    #[test]
    fn hostile_fills_are_clipped_not_fatal() {
        let mut stream = surface_create(0, 16, 16);
        // Rect is top, left, bottom, right on the wire.
        stream.extend(fill(0, [i32::MIN, i32::MIN, i32::MAX, i32::MAX], 0xff0000));
        stream.extend(fill(0, [10, 10, 5, 5], 0x00ff00));
        stream.extend(fill(7, [0, 0, 1, 1], 0x0000ff));
        stream.extend(surface_create(1, u32::MAX, u32::MAX));
        assert_eq!(
            render_frames(&stream),
            2,
            "unknown surface and oversized surface fail"
        );
    }

    #[test]
    fn pseudo_random_streams_never_panic() {
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let base = [surface_create(0, 64, 48), fill(0, [1, 2, 30, 40], 0x123456)].concat();
        for _ in 0..3000 {
            let mut s = base.clone();
            for _ in 0..8 {
                let i = rng.below(s.len());
                s[i] = rng.next() as u8;
            }
            render_frames(&s);
        }
    }
}
