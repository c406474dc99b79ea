//! MJPEG table carry-over.
//!
//! spice-server's encoder writes the quantisation (DQT) and Huffman (DHT) tables only in a
//! stream's first frame and again when they change (libjpeg's "write only unsent tables");
//! the other frames are abbreviated JPEGs that rely on the decoder remembering them, which
//! a stand-alone JPEG decoder does not. So the tables are kept per stream, as frames
//! arrive, and put back in front of every frame that lacks them.

use std::borrow::Cow;

use crate::error::DisplayError;

const SOI: u8 = 0xd8;
const EOI: u8 = 0xd9;
const SOS: u8 = 0xda;
const DQT: u8 = 0xdb;
const DHT: u8 = 0xc4;
/// Table segments kept per stream; libjpeg writes one table per segment and JPEG has at
/// most 4 quantisation and 8 Huffman tables, so more than this is not a real stream.
const MAX_SEGMENTS: usize = 16;

/// The latest table segments of one stream, keyed by marker and table id.
#[derive(Debug, Default, Clone)]
pub struct JpegTables {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone)]
struct Segment {
    marker: u8,
    /// The first table's class/id byte: a later segment with the same key replaces it.
    table: u8,
    bytes: Vec<u8>,
}

impl JpegTables {
    /// Records the tables `frame` defines and returns the frame made stand-alone: with
    /// the remembered tables inserted after SOI when it has no DQT or no DHT of its own.
    /// The frame's own tables still follow and, coming later, take precedence.
    pub fn complete<'a>(&mut self, frame: &'a [u8]) -> Result<Cow<'a, [u8]>, DisplayError> {
        let (mut has_dqt, mut has_dht) = (false, false);
        for seg in segments(frame)? {
            let (marker, bytes) = seg?;
            match marker {
                DQT => has_dqt = true,
                DHT => has_dht = true,
                _ => continue,
            }
            self.remember(marker, bytes)?;
        }
        if (has_dqt && has_dht) || self.segments.is_empty() {
            return Ok(Cow::Borrowed(frame));
        }
        let extra: usize = self.segments.iter().map(|s| s.bytes.len()).sum();
        let mut out = Vec::with_capacity(frame.len() + extra);
        out.extend_from_slice(&frame[..2]);
        for s in &self.segments {
            out.extend_from_slice(&s.bytes);
        }
        out.extend_from_slice(&frame[2..]);
        Ok(Cow::Owned(out))
    }

    fn remember(&mut self, marker: u8, bytes: &[u8]) -> Result<(), DisplayError> {
        let table = bytes.get(4).copied().unwrap_or(0);
        let segment = Segment {
            marker,
            table,
            bytes: bytes.to_vec(),
        };
        let existing = self
            .segments
            .iter()
            .position(|s| s.marker == marker && s.table == table);
        match existing {
            Some(i) => self.segments[i] = segment,
            None if self.segments.len() < MAX_SEGMENTS => self.segments.push(segment),
            None => return Err(bad("too many JPEG tables in one stream")),
        }
        Ok(())
    }
}

fn bad(what: &'static str) -> DisplayError {
    DisplayError::Codec(format!("MJPEG frame: {what}"))
}

/// The marker segments before the first scan, each with its marker and its bytes
/// (marker and length included).
fn segments(
    frame: &[u8],
) -> Result<impl Iterator<Item = Result<(u8, &[u8]), DisplayError>>, DisplayError> {
    if frame.get(..2) != Some(&[0xff, SOI][..]) {
        return Err(bad("does not start with SOI"));
    }
    let mut pos = 2;
    let mut done = false;
    Ok(std::iter::from_fn(move || {
        if done {
            return None;
        }
        // Fill bytes (0xff runs) may precede a marker.
        while frame.get(pos) == Some(&0xff) && frame.get(pos + 1) == Some(&0xff) {
            pos += 1;
        }
        let marker = match frame.get(pos..pos + 2) {
            Some(&[0xff, m]) => m,
            _ => {
                done = true;
                return Some(Err(bad("marker expected before the scan")));
            }
        };
        if marker == SOS || marker == EOI {
            done = true;
            return None;
        }
        let Some(&[hi, lo]) = frame.get(pos + 2..pos + 4) else {
            done = true;
            return Some(Err(bad("truncated marker segment")));
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let Some(bytes) = frame.get(pos..pos + 2 + len).filter(|_| len >= 2) else {
            done = true;
            return Some(Err(bad("truncated marker segment")));
        };
        pos += 2 + len;
        Some(Ok((marker, bytes)))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use spice_codecs::jpeg::decode_jpeg;

    const JPEG: &[u8] =
        include_bytes!("../../../../spice-codecs/tests/fixtures/photo_61x47_420.jpg");

    /// The frame without its DQT and DHT segments, as the server sends later frames.
    fn abbreviated(frame: &[u8]) -> Vec<u8> {
        let mut out = frame[..2].to_vec();
        let mut rest_at = 2;
        for seg in segments(frame).unwrap() {
            let (marker, bytes) = seg.unwrap();
            let start = bytes.as_ptr() as usize - frame.as_ptr() as usize;
            rest_at = start + bytes.len();
            if marker != DQT && marker != DHT {
                out.extend_from_slice(bytes);
            }
        }
        out.extend_from_slice(&frame[rest_at..]);
        out
    }

    #[test]
    fn abbreviated_frames_get_the_earlier_tables() {
        let short = abbreviated(JPEG);
        assert!(short.len() < JPEG.len());
        assert!(decode_jpeg(&short).is_err());
        let mut tables = JpegTables::default();
        assert!(matches!(tables.complete(JPEG).unwrap(), Cow::Borrowed(_)));
        let fixed = tables.complete(&short).unwrap();
        assert_eq!(decode_jpeg(&fixed).unwrap(), decode_jpeg(JPEG).unwrap());
    }

    #[test]
    fn without_earlier_tables_the_frame_is_left_alone() {
        let short = abbreviated(JPEG);
        let mut tables = JpegTables::default();
        assert_eq!(&*tables.complete(&short).unwrap(), &short[..]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut tables = JpegTables::default();
        for bad in [
            &[][..],
            &[0xff][..],
            &[0xff, 0xd8][..],
            &[0xff, 0xd8, 0xff, 0xdb, 0x00][..],
            &[0xff, 0xd8, 0xff, 0xdb, 0x00, 0x01][..],
            &[0xff, 0xd8, 0xff, 0xdb, 0xff, 0xff, 1, 2][..],
            &[0xff, 0xd8, 0x12, 0x34][..],
        ] {
            assert!(tables.complete(bad).is_err(), "{bad:?}");
        }
        // Only SOI then the scan: nothing to learn, nothing to add.
        assert!(tables.complete(&[0xff, 0xd8, 0xff, 0xda, 0, 2]).is_ok());
    }

    #[test]
    fn table_count_is_bounded() {
        let mut tables = JpegTables::default();
        let mut frame = vec![0xff, SOI];
        for id in 0..=MAX_SEGMENTS as u8 {
            frame.extend_from_slice(&[0xff, DHT, 0, 3, id]);
        }
        frame.extend_from_slice(&[0xff, SOS, 0, 2]);
        assert!(tables.complete(&frame).is_err());
    }
}
