//! Mini-header framing of post-link traffic, and splitting of `SPICE_MSG_LIST`.
//!
//! Only the mini header (`u16 type, u32 size`) is supported: both spice-server 0.15 and
//! this client advertise `MINI_HEADER`, and the legacy 18-byte header carries nothing a
//! client needs. Serial numbers are implicit (first message = 1), so counting them is the
//! session's job.

use crate::error::{ProtoError, Result};
use crate::reader::Reader;
use crate::writer::{len_u32, PutLe};

pub const MINI_HEADER_SIZE: usize = 6;
/// Default cap on a single message body. Large enough for an uncompressed 4K frame
/// (3840*2160*4 = 33 MB) plus headroom, small enough that a corrupt size field cannot make
/// a browser tab buffer gigabytes.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024 * 1024;
/// Message type of `SPICE_MSG_LIST` (same on every channel).
pub const MSG_LIST: u16 = 8;

/// Frames one message with the mini header.
///
/// # Panics
/// If `body` is longer than `u32::MAX` bytes (impossible for client messages).
pub fn encode_message(ty: u16, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(MINI_HEADER_SIZE + body.len());
    v.put_u16(ty);
    v.put_u32(len_u32(body.len()));
    v.extend_from_slice(body);
    v
}

/// A complete framed message, owned so it can outlive the receive buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    pub ty: u16,
    pub body: Vec<u8>,
}

/// Incremental de-framer for one channel's byte stream.
///
/// Transport chunks (WebSocket frames, TCP reads) have arbitrary boundaries; push them in
/// as they arrive and drain complete messages. Memory is bounded by what was pushed: a
/// header announcing a huge body allocates nothing until the bytes actually arrive, and a
/// body above the limit is an error. After an error the stream position is unknown, so the
/// de-framer stays poisoned and keeps returning that error.
#[derive(Debug, Clone)]
pub struct Deframer {
    buf: Vec<u8>,
    start: usize,
    max_body: usize,
    poisoned: Option<ProtoError>,
}

impl Default for Deframer {
    fn default() -> Self {
        Self::new()
    }
}

impl Deframer {
    pub fn new() -> Self {
        Self::with_max_body(DEFAULT_MAX_BODY)
    }

    pub fn with_max_body(max_body: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            max_body,
            poisoned: None,
        }
    }

    pub fn max_body(&self) -> usize {
        self.max_body
    }

    pub fn push(&mut self, data: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(data);
    }

    /// Bytes received but not yet returned as messages.
    pub fn buffered(&self) -> usize {
        self.buf.len().saturating_sub(self.start)
    }

    /// Returns the next complete message, `Ok(None)` if more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<RawMessage>> {
        if let Some(e) = &self.poisoned {
            return Err(e.clone());
        }
        let pending = self.buf.get(self.start..).unwrap_or(&[]);
        let mut r = Reader::new(pending);
        let (Ok(ty), Ok(size)) = (r.u16(), r.u32()) else {
            return Ok(None);
        };
        let size_ok = usize::try_from(size).ok().filter(|&s| s <= self.max_body);
        let Some(size) = size_ok else {
            let e = ProtoError::MessageTooLarge {
                size: size.into(),
                max: self.max_body as u64,
            };
            self.poisoned = Some(e.clone());
            return Err(e);
        };
        let Ok(body) = r.bytes(size) else {
            return Ok(None);
        };
        let msg = RawMessage {
            ty,
            body: body.to_vec(),
        };
        self.start = self.start.saturating_add(MINI_HEADER_SIZE + size);
        Ok(Some(msg))
    }

    /// Drops consumed bytes. Done lazily (only when they dominate the buffer) so that a
    /// burst of small messages does not cause a memmove per message.
    fn compact(&mut self) {
        if self.start == 0 {
            return;
        }
        if self.start >= self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start >= 64 * 1024 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

/// One message inside a `SPICE_MSG_LIST`; pointers inside `body` are relative to `body`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubMessage<'a> {
    pub ty: u16,
    pub body: &'a [u8],
}

/// Splits the body of a `SPICE_MSG_LIST` (`u16 count; u32 offsets[count]`, each offset
/// pointing at `{u16 type; u32 size; body}`) into its sub-messages, in offset-table order.
///
/// Sub-messages must lie after the offset table and must not overlap, and a LIST may not
/// contain a LIST: a well-formed server never does either, and rejecting them means a
/// consumer that recurses into sub-messages cannot be driven into unbounded recursion or
/// quadratic re-parsing.
pub fn split_list(body: &[u8]) -> Result<Vec<SubMessage<'_>>> {
    let mut r = Reader::new(body);
    let count = r.u16()?;
    let offsets = r.vec("list offsets", count.into(), 4, |r| r.u32())?;
    let floor = r.position();
    let min_sub = count_min_bytes(count);
    if min_sub > r.remaining() {
        return Err(ProtoError::CountTooLarge {
            what: "list sub-messages",
            count: count.into(),
            available: r.remaining(),
        });
    }
    let mut out = Vec::with_capacity(offsets.len());
    let mut ranges = Vec::with_capacity(offsets.len());
    for &off in &offsets {
        let start = usize::try_from(off).unwrap_or(usize::MAX);
        if start < floor || start >= body.len() {
            return Err(ProtoError::BadPointer {
                pointer: off,
                floor,
                len: body.len(),
            });
        }
        let mut s = Reader::at(body, start)?;
        let ty = s.u16()?;
        let size = s.u32()?;
        let sub = s.bytes_u64(size.into())?;
        if ty == MSG_LIST {
            return Err(ProtoError::InvalidValue {
                what: "nested SPICE_MSG_LIST",
                value: ty.into(),
            });
        }
        ranges.push((start, s.position()));
        out.push(SubMessage { ty, body: sub });
    }
    ranges.sort_unstable();
    for pair in ranges.windows(2) {
        if let [(_, prev_end), (next_start, _)] = pair {
            if next_start < prev_end {
                return Err(ProtoError::BadPointer {
                    pointer: u32::try_from(*next_start).unwrap_or(u32::MAX),
                    floor: *prev_end,
                    len: body.len(),
                });
            }
        }
    }
    Ok(out)
}

fn count_min_bytes(count: u16) -> usize {
    usize::from(count) * MINI_HEADER_SIZE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_layout() {
        assert_eq!(
            encode_message(0x0102, &[9, 8]),
            vec![2, 1, 2, 0, 0, 0, 9, 8]
        );
    }

    #[test]
    fn deframer_handles_arbitrary_chunking() {
        let mut stream = encode_message(3, &[1, 2, 3, 4, 5, 6, 7, 8]);
        stream.extend(encode_message(4, &[]));
        stream.extend(encode_message(101, &[0xaa; 100]));
        for chunk in 1..stream.len() {
            let mut d = Deframer::new();
            let mut got = Vec::new();
            for c in stream.chunks(chunk) {
                d.push(c);
                while let Some(m) = d.next_message().unwrap() {
                    got.push(m);
                }
            }
            assert_eq!(got.len(), 3, "chunk {chunk}");
            assert_eq!(got[0].ty, 3);
            assert_eq!(got[0].body, vec![1, 2, 3, 4, 5, 6, 7, 8]);
            assert_eq!(got[1].body, Vec::<u8>::new());
            assert_eq!(got[2].body, vec![0xaa; 100]);
            assert_eq!(d.buffered(), 0);
        }
    }

    #[test]
    fn deframer_rejects_oversize_without_allocating() {
        let mut d = Deframer::with_max_body(1000);
        d.push(&[1, 0, 0xe9, 0x03, 0, 0]); // 1001 bytes announced
        assert!(matches!(
            d.next_message(),
            Err(ProtoError::MessageTooLarge {
                size: 1001,
                max: 1000
            })
        ));
        d.push(&[0; 10]);
        assert!(d.next_message().is_err(), "stays poisoned");

        let mut d = Deframer::new();
        d.push(&[1, 0, 0xff, 0xff, 0xff, 0xff]);
        assert!(d.next_message().is_err());

        let mut d = Deframer::new();
        d.push(&[1, 0, 0, 0, 0, 1]); // 16 MiB announced, nothing sent
        assert_eq!(d.next_message().unwrap(), None);
        assert!(d.buffered() < 16);
    }

    #[test]
    fn deframer_compacts() {
        let mut d = Deframer::new();
        let m = encode_message(1, &[0; 4096]);
        for _ in 0..100 {
            d.push(&m);
            d.next_message().unwrap().unwrap();
        }
        assert!(d.buf.len() <= 2 * m.len());
    }

    pub(crate) fn build_list(subs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut v = Vec::new();
        v.put_u16(subs.len() as u16);
        let mut off = 2 + 4 * subs.len();
        for (_, b) in subs {
            v.put_u32(off as u32);
            off += 6 + b.len();
        }
        for (t, b) in subs {
            v.extend(encode_message(*t, b));
        }
        v
    }

    #[test]
    fn split_list_valid_and_hostile() {
        let body = build_list(&[(5, &[0]), (105, &[1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9])]);
        let subs = split_list(&body).unwrap();
        assert_eq!(subs.len(), 2);
        assert_eq!(subs[0], SubMessage { ty: 5, body: &[0] });
        assert_eq!(subs[1].ty, 105);
        assert_eq!(subs[1].body.len(), 11);
        for n in 0..body.len() {
            assert!(split_list(&body[..n]).is_err(), "prefix {n}");
        }
        // Overlap: both offsets point at the same sub-message.
        let mut o = body.clone();
        o[6..10].copy_from_slice(&10u32.to_le_bytes());
        assert!(matches!(split_list(&o), Err(ProtoError::BadPointer { .. })));
        // Offset into the offset table (self-reference).
        let mut o = body.clone();
        o[2..6].copy_from_slice(&2u32.to_le_bytes());
        assert!(matches!(split_list(&o), Err(ProtoError::BadPointer { .. })));
        // Offset past the end.
        let mut o = body.clone();
        o[2..6].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(split_list(&o), Err(ProtoError::BadPointer { .. })));
        // Huge count.
        let mut o = body.clone();
        o[0..2].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(matches!(
            split_list(&o),
            Err(ProtoError::CountTooLarge { .. })
        ));
        // Nested list.
        let inner = build_list(&[(4, &[])]);
        let outer = build_list(&[(MSG_LIST, &inner)]);
        assert!(matches!(
            split_list(&outer),
            Err(ProtoError::InvalidValue { .. })
        ));
        assert_eq!(split_list(&[0, 0]).unwrap(), vec![]);
    }
}
