//! Length-prefixed framing: a 4-byte big-endian payload length, then a msgpack map.
//!
//! [`Decoder`] is incremental and sans-IO: feed it whatever the transport delivered
//! ([`Decoder::push`]) and drain messages with [`Decoder::next`] until `Ok(None)`.
//!
//! Two VMNetX behaviours shape it:
//! - **Oversized frames are skipped, not fatal.** A VMNetX endpoint that receives a
//!   length above [`MAX_MESSAGE_SIZE`] replies `error{"Message too large"}`, reads and
//!   drops the payload, and carries on. `next` reports
//!   [`ProtocolError::MessageTooLarge`] once, as soon as the header is seen, and the
//!   payload is discarded as it arrives, never buffered.
//! - **The connection can stop being framed.** After `attach-viewer` /
//!   `attaching-viewer` the same byte stream carries raw SPICE. Python read exactly
//!   4 + N bytes per message, so nothing was over-read; we buffer ahead, so instead the
//!   decoder notices the last framed message ([`Decode::ends_framing`]) and stops
//!   interpreting input: later bytes, including any that arrived in the same chunk, are
//!   kept verbatim for [`Decoder::take_remaining`]. Without this, SPICE's `REDQ` magic
//!   would read as a 1.4 GB length and be "skipped".

use crate::error::ProtocolError;
use crate::message::{Decode, Encode};
use crate::MAX_MESSAGE_SIZE;

/// Length of the big-endian `u32` length prefix.
pub const HEADER_LEN: usize = 4;

/// Encodes `msg` as one frame: length prefix + msgpack payload.
///
/// Infallible by design: our own messages are small. A payload above
/// [`MAX_MESSAGE_SIZE`] (e.g. a multi-megabyte error text) would be rejected by the peer;
/// use [`try_encode`] where the content is not under our control.
pub fn encode<M: Encode + ?Sized>(msg: &M) -> Vec<u8> {
    let payload = msg.encode_payload();
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    // Payloads over 4 GiB cannot be expressed; saturating keeps this panic-free and the
    // peer rejects the frame by its size.
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Like [`encode`], but refuses payloads the peer would reject as too large.
pub fn try_encode<M: Encode + ?Sized>(msg: &M) -> Result<Vec<u8>, ProtocolError> {
    let frame = encode(msg);
    let len = frame.len() - HEADER_LEN;
    if len > MAX_MESSAGE_SIZE {
        return Err(ProtocolError::MessageTooLarge {
            len: u32::try_from(len).unwrap_or(u32::MAX),
        });
    }
    Ok(frame)
}

/// Incremental frame decoder for one connection (either direction; the message type
/// is chosen per call to [`Decoder::next`]).
///
/// Memory: at most the unconsumed input of the last [`push`](Decoder::push) plus one
/// partial frame of at most `4 + MAX_MESSAGE_SIZE` bytes; payloads of oversized frames
/// at the head of the stream are dropped on arrival. Once framing has ended, input is
/// kept verbatim until [`take_remaining`](Decoder::take_remaining).
#[derive(Debug, Default, Clone)]
pub struct Decoder {
    /// Received bytes; `buf[start..]` is unconsumed and (while framed) starts at a frame
    /// boundary. Consumed bytes are compacted away lazily to keep `next` O(frame).
    buf: Vec<u8>,
    start: usize,
    /// Payload bytes of an oversized frame still to be dropped as they arrive.
    skip: usize,
    /// An oversized header was consumed but `next` has not reported it yet.
    pending_too_large: Option<u32>,
    /// The last framed message has been returned; input is now raw.
    spliced: bool,
}

impl Decoder {
    /// A decoder at the start of a connection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, mut data: &[u8]) {
        if self.spliced {
            self.buf.extend_from_slice(data);
            return;
        }
        if self.skip > 0 {
            // `skip` is only non-zero while nothing is buffered (it is set when the
            // oversized header reaches the head and drains the buffer first).
            let n = self.skip.min(data.len());
            self.skip -= n;
            data = &data[n..];
        }
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
        self.settle_head();
    }

    /// Decodes the next complete message, if any.
    ///
    /// - `Ok(None)`: need more input (or framing has ended, see [`Decode::ends_framing`]).
    /// - `Err(_)`: this frame was bad. The frame is consumed (oversized ones are being
    ///   skipped), so calling `next` again continues with the following frame, exactly
    ///   as a VMNetX endpoint does after sending its `error` reply
    ///   ([`ProtocolError::wire_text`]).
    #[allow(clippy::should_implement_trait)] // generic over M, and errors are per item
    pub fn next<M: Decode>(&mut self) -> Result<Option<M>, ProtocolError> {
        if self.spliced {
            return Ok(None);
        }
        self.settle_head();
        if let Some(len) = self.pending_too_large.take() {
            return Err(ProtocolError::MessageTooLarge { len });
        }
        let avail = &self.buf[self.start..];
        let Some(len) = header(avail) else {
            return Ok(None);
        };
        // settle_head() guarantees len <= MAX_MESSAGE_SIZE here.
        let end = HEADER_LEN + len as usize;
        if avail.len() < end {
            return Ok(None);
        }
        let result = M::decode(&avail[HEADER_LEN..end]);
        self.start += end;
        self.compact();
        match result {
            Ok(msg) => {
                if msg.ends_framing() {
                    self.spliced = true;
                }
                Ok(Some(msg))
            }
            Err(e) => Err(e),
        }
    }

    /// Removes and returns every byte received after the last complete frame that
    /// [`next`](Decoder::next) returned.
    ///
    /// Call it when switching the connection to raw forwarding after
    /// `attach-viewer` / `attaching-viewer`: these are the first SPICE bytes. The
    /// decoder is left empty (still spliced, until [`resume_framing`]).
    ///
    /// [`resume_framing`]: Decoder::resume_framing
    pub fn take_remaining(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.start);
        self.buf.clear();
        self.start = 0;
        rest
    }

    /// True once the last framed message has been decoded; input is now kept raw.
    pub fn is_spliced(&self) -> bool {
        self.spliced
    }

    /// Goes back to framed decoding after a splice that did not happen. A VMNetX server
    /// that fails to reach QEMU's SPICE port answers `error{"Couldn't connect viewer"}`
    /// and re-enables the protocol on the same connection; bytes buffered meanwhile are
    /// decoded as frames again.
    pub fn resume_framing(&mut self) {
        self.spliced = false;
        self.settle_head();
    }

    /// Bytes currently buffered (unconsumed).
    pub fn buffered_len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// If the frame at the head is oversized, consume its header, queue the error and
    /// drop whatever of its payload is buffered. Only the head is examined: bytes behind
    /// a frame that ends framing must never be interpreted.
    fn settle_head(&mut self) {
        if self.spliced || self.pending_too_large.is_some() || self.skip > 0 {
            return;
        }
        let avail = &self.buf[self.start..];
        let Some(len) = header(avail) else { return };
        if len as usize <= MAX_MESSAGE_SIZE {
            return;
        }
        self.pending_too_large = Some(len);
        let have = avail.len() - HEADER_LEN;
        let drop = have.min(len as usize);
        self.start += HEADER_LEN + drop;
        self.skip = len as usize - drop;
        self.compact();
    }

    fn compact(&mut self) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > MAX_MESSAGE_SIZE || self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

fn header(b: &[u8]) -> Option<u32> {
    let h: [u8; HEADER_LEN] = b.get(..HEADER_LEN)?.try_into().ok()?;
    Some(u32::from_be_bytes(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{ClientMsg, ServerMsg};

    fn frame_raw(payload: &[u8]) -> Vec<u8> {
        let mut v = (payload.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn every_prefix_is_incomplete_not_an_error() {
        let f = encode(&ServerMsg::AuthOk {
            state: "running".into(),
            name: "Windows 3.1".into(),
            limit_mouse_rate: Some(30),
            server_timeout_min: 300,
            server_timeout_max: 305,
        });
        for cut in 0..f.len() {
            let mut d = Decoder::new();
            d.push(&f[..cut]);
            assert_eq!(d.next::<ServerMsg>(), Ok(None), "prefix {cut}");
            d.push(&f[cut..]);
            assert!(matches!(
                d.next::<ServerMsg>(),
                Ok(Some(ServerMsg::AuthOk { .. }))
            ));
            assert_eq!(d.next::<ServerMsg>(), Ok(None));
            assert_eq!(d.buffered_len(), 0);
        }
    }

    #[test]
    fn byte_at_a_time() {
        let mut all = encode(&ClientMsg::Ping);
        all.extend(encode(&ClientMsg::StartVm));
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for b in &all {
            d.push(std::slice::from_ref(b));
            while let Some(m) = d.next::<ClientMsg>().unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got, [ClientMsg::Ping, ClientMsg::StartVm]);
    }

    #[test]
    fn oversized_frame_is_reported_once_skipped_and_never_buffered() {
        let big = (MAX_MESSAGE_SIZE + 10) as u32;
        let mut d = Decoder::new();
        d.push(&encode(&ClientMsg::Ping));
        d.push(&big.to_be_bytes());
        // The ping before it comes out first.
        assert_eq!(d.next::<ClientMsg>(), Ok(Some(ClientMsg::Ping)));
        assert_eq!(
            d.next::<ClientMsg>(),
            Err(ProtocolError::MessageTooLarge { len: big })
        );
        assert_eq!(
            ProtocolError::MessageTooLarge { len: big }.wire_text(),
            "Message too large"
        );
        // Feed the payload in chunks; nothing is kept.
        let chunk = vec![0xc1u8; 64 * 1024];
        let mut left = big as usize;
        while left > 0 {
            let n = left.min(chunk.len());
            d.push(&chunk[..n]);
            left -= n;
            assert_eq!(d.buffered_len(), 0);
            assert_eq!(d.next::<ClientMsg>(), Ok(None));
        }
        d.push(&encode(&ClientMsg::StopVm));
        assert_eq!(d.next::<ClientMsg>(), Ok(Some(ClientMsg::StopVm)));
    }

    #[test]
    fn oversized_frame_in_one_chunk_with_following_frame() {
        let big = MAX_MESSAGE_SIZE + 1;
        let mut all = (big as u32).to_be_bytes().to_vec();
        all.extend(std::iter::repeat_n(0u8, big));
        all.extend(encode(&ServerMsg::Pong));
        let mut d = Decoder::new();
        d.push(&all);
        // Dropped on push already: only the following frame is buffered.
        assert_eq!(d.buffered_len(), encode(&ServerMsg::Pong).len());
        assert!(matches!(
            d.next::<ServerMsg>(),
            Err(ProtocolError::MessageTooLarge { .. })
        ));
        assert_eq!(d.next::<ServerMsg>(), Ok(Some(ServerMsg::Pong)));
    }

    #[test]
    fn exactly_max_size_is_accepted() {
        // A map with "_" = "ping" and one filler bin key, padded to exactly 1 MiB.
        let mut payload = vec![0x82, 0xa1, b'_', 0xa4, b'p', b'i', b'n', b'g', 0xa1, b'x'];
        let filler = MAX_MESSAGE_SIZE - payload.len() - 5;
        payload.push(0xc6);
        payload.extend((filler as u32).to_be_bytes());
        payload.extend(std::iter::repeat_n(0u8, filler));
        assert_eq!(payload.len(), MAX_MESSAGE_SIZE);
        let mut d = Decoder::new();
        d.push(&frame_raw(&payload));
        assert_eq!(d.next::<ClientMsg>(), Ok(Some(ClientMsg::Ping)));
    }

    #[test]
    fn bad_frame_is_consumed_and_decoding_resumes() {
        let mut d = Decoder::new();
        d.push(&frame_raw(&[0xc1, 0x00]));
        d.push(&frame_raw(&[0x80])); // empty map: no "_"
        d.push(&encode(&ClientMsg::Ping));
        let e1 = d.next::<ClientMsg>().unwrap_err();
        let e2 = d.next::<ClientMsg>().unwrap_err();
        assert_eq!(e1.wire_text(), "Invalid message");
        assert_eq!(e2.wire_text(), "Invalid message");
        assert_eq!(d.next::<ClientMsg>(), Ok(Some(ClientMsg::Ping)));
    }

    #[test]
    fn splice_keeps_following_bytes_raw() {
        // attaching-viewer followed, in the same chunk, by SPICE's "REDQ" magic, which
        // would read as a 1.4 GB length.
        let mut all = encode(&ServerMsg::AttachingViewer);
        all.extend_from_slice(b"REDQ\x02\x00\x00\x00more spice");
        let mut d = Decoder::new();
        d.push(&all[..3]);
        assert_eq!(d.next::<ServerMsg>(), Ok(None));
        d.push(&all[3..]);
        assert_eq!(d.next::<ServerMsg>(), Ok(Some(ServerMsg::AttachingViewer)));
        assert!(d.is_spliced());
        assert_eq!(d.next::<ServerMsg>(), Ok(None));
        d.push(b" and later");
        assert_eq!(
            d.take_remaining(),
            b"REDQ\x02\x00\x00\x00more spice and later"
        );
        assert_eq!(d.buffered_len(), 0);
    }

    #[test]
    fn server_side_splice_and_resume() {
        let mut all = encode(&ClientMsg::AttachViewer);
        all.extend(encode(&ClientMsg::Ping));
        let mut d = Decoder::new();
        d.push(&all);
        assert_eq!(d.next::<ClientMsg>(), Ok(Some(ClientMsg::AttachViewer)));
        assert_eq!(d.next::<ClientMsg>(), Ok(None));
        // Viewer connect failed: protocol re-enabled on the same connection.
        d.resume_framing();
        assert_eq!(d.next::<ClientMsg>(), Ok(Some(ClientMsg::Ping)));
    }

    #[test]
    fn take_remaining_returns_partial_frame() {
        let f = encode(&ClientMsg::Ping);
        let mut d = Decoder::new();
        d.push(&f);
        d.push(&f[..2]);
        assert_eq!(d.next::<ClientMsg>(), Ok(Some(ClientMsg::Ping)));
        assert_eq!(d.take_remaining(), &f[..2]);
    }

    #[test]
    fn try_encode_refuses_oversize() {
        let m = ClientMsg::Error {
            message: "x".repeat(MAX_MESSAGE_SIZE),
        };
        assert!(matches!(
            try_encode(&m),
            Err(ProtocolError::MessageTooLarge { .. })
        ));
        assert!(try_encode(&ClientMsg::Ping).is_ok());
    }
}
