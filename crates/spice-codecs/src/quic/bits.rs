//! The QUIC bit reader: little-endian 32-bit words, each consumed MSB first (§2.1).

use super::model::CodeTable;
use super::RUN_J;
use crate::CodecError;

/// Reads the word stream through a 64-bit accumulator whose top `nbits` bits are the
/// next unconsumed bits. After every operation at least 32 bits are buffered, so a single
/// 32-bit peek covers any codeword (≤ 26 bits).
///
/// Past the last word the reader supplies zero words (the reference's look-ahead does
/// the same with its trailing zero word) and counts them, so overruns are detected by
/// arithmetic once per row instead of by a branch per symbol. Zero bits cannot make any
/// decoding loop run longer than the pixel count, so the deferred check is safe.
pub(super) struct BitReader<'a> {
    /// The stream, cut to whole words.
    data: &'a [u8],
    /// Byte offset of the next word to load.
    pos: usize,
    /// Next bits, MSB-aligned; bits below the top `nbits` are zero.
    acc: u64,
    /// Buffered bits, 32 ..= 63 between operations.
    nbits: u32,
    /// Zero words supplied past the end of `data`.
    virt: u64,
}

impl<'a> BitReader<'a> {
    /// A reader starting at byte `start` (a multiple of 4) of `data`.
    pub(super) fn new(data: &'a [u8], start: usize) -> Self {
        let whole = data.len() / 4 * 4;
        let mut r = BitReader {
            data: &data[..whole],
            pos: start.min(whole),
            acc: 0,
            nbits: 0,
            virt: 0,
        };
        r.refill();
        r
    }

    /// Tops the accumulator up to at least 32 bits.
    ///
    /// Branch-free on purpose: whether a word is needed depends on the lengths of the
    /// codewords just consumed, which a branch predictor cannot guess, so the next word
    /// is always loaded and merged only if needed. (The only branch, at the end of the
    /// data, is predictable.)
    #[inline(always)]
    fn refill(&mut self) {
        let need = u32::from(self.nbits < 32);
        let (word, real) = match self.data.get(self.pos..self.pos + 4) {
            Some(b) => (u32::from_le_bytes([b[0], b[1], b[2], b[3]]), 1),
            None => (0, 0),
        };
        let shift = 32u32.wrapping_sub(self.nbits) & 63;
        self.acc |= (u64::from(word) * u64::from(need)) << shift;
        self.pos += 4 * (need & real) as usize;
        self.virt += u64::from(need & !real & 1);
        self.nbits += 32 * need;
    }

    /// The next 32 bits, without consuming them.
    #[inline(always)]
    fn peek32(&self) -> u32 {
        (self.acc >> 32) as u32
    }

    /// Drops `n` ≤ 32 bits.
    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.acc <<= n;
        self.nbits -= n;
        self.refill();
    }

    /// Real (non-virtual) bits not yet consumed; negative after an overrun.
    fn remaining_bits(&self) -> i64 {
        let unloaded = ((self.data.len() - self.pos) / 4) as i64 * 32;
        unloaded + i64::from(self.nbits) - 32 * self.virt as i64
    }

    fn truncated(&self) -> CodecError {
        let consumed = (self.pos as u64) * 8 + 32 * self.virt - u64::from(self.nbits);
        CodecError::Truncated {
            // The stream must also hold the trailing zero word.
            needed: (consumed + 32).div_ceil(32) * 4,
            available: self.data.len() as u64,
        }
    }

    /// Fails if bits past the end of the data have been consumed.
    #[inline]
    pub(super) fn check_overrun(&self) -> Result<(), CodecError> {
        if self.remaining_bits() < 0 {
            Err(self.truncated())
        } else {
            Ok(())
        }
    }

    /// Fails unless a full 32 bits remain after the last codeword: the reference encoder
    /// always appends a zero word after the padded last word (§2.1, the trailer), so a stream
    /// without one was cut short.
    pub(super) fn check_trailer(&self) -> Result<(), CodecError> {
        if self.remaining_bits() < 32 {
            Err(self.truncated())
        } else {
            Ok(())
        }
    }

    /// Decodes one residual symbol with code parameter `l` (§2.5).
    #[inline(always)]
    pub(super) fn symbol(&mut self, t: &CodeTable, l: u8) -> Result<u8, CodecError> {
        let l = usize::from(l & 7);
        let code = &t.codes[l];
        let peek = self.peek32();
        if peek >= code.ordinary_min {
            // z < A_l leading zeros, a one, then l bits; z + 1 + l ≤ 26 fits the peek.
            let z = peek.leading_zeros();
            let low = (u64::from(peek << z << 1) >> (32 - code.l)) as u32;
            self.consume(z + 1 + code.l);
            // (z << l) | low < N_l ≤ 240.
            Ok(((z << code.l) | low) as u8)
        } else {
            // Escape: A_l zeros, then S_l bits (1 ≤ S_l, A_l + S_l ≤ 26).
            let v = (peek << code.a) >> (32 - code.s);
            self.consume(code.a + code.s);
            let sym = code.n + v;
            if sym > t.max {
                return Err(CodecError::Unsupported(
                    "QUIC escape symbol above the channel maximum (corrupt stream)",
                ));
            }
            Ok(sym as u8)
        }
    }

    /// Decodes a run length with run state `m` (§2.9) and checks it against `limit`,
    /// the pixels left before the row end or the next epoch boundary.
    #[inline]
    pub(super) fn run_length(&mut self, m: &mut u32, limit: usize) -> Result<usize, CodecError> {
        let mut len = 0usize;
        let mut j = RUN_J[(*m & 31) as usize];
        // The leading ones, a batch at a time (at most 31 per peek, so consume() stays
        // within its 32-bit limit); each adds 2^J[M] and advances M.
        loop {
            let ones = self.peek32().leading_ones();
            let take = ones.min(31);
            for _ in 0..take {
                len += 1 << j;
                if *m < 31 {
                    *m += 1;
                    j = RUN_J[*m as usize];
                }
            }
            self.consume(take);
            if len > limit {
                return Err(run_too_long());
            }
            if take == ones {
                break;
            }
        }
        if j > 0 {
            // The terminating zero and J[M] bits of remainder: ≤ 16 bits.
            len += ((self.peek32() << 1) >> (32 - j)) as usize;
        }
        self.consume(1 + j);
        *m = m.saturating_sub(1);
        if len > limit {
            return Err(run_too_long());
        }
        Ok(len)
    }
}

fn run_too_long() -> CodecError {
    CodecError::Unsupported("QUIC run past the row end or an epoch boundary (corrupt stream)")
}
