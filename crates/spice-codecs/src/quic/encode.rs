//! A reference-compatible QUIC encoder, for tests, benchmarks and fuzz seeds only.
//!
//! The client never encodes QUIC; this exists so the decoder can be checked against the
//! spec's hash-only vectors (V9, V10) and exercised on images of any size and type. It
//! mirrors the decoder step for step (§2.10) and reuses its model, so it is deliberately
//! simple rather than fast.

use super::model::{Channel, CodeTable, CODES5, CODES8, TABLE};
use super::{
    epoch_limit, GroupState, QuicType, EPOCH_PIXELS, MAX_EPOCH, QUIC_MAGIC, QUIC_VERSION, RUN_J,
    TRIGGER, WAIT_MASK,
};
use crate::Rgba;

/// MSB-first bit writer producing little-endian words.
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    nbits: u32,
}

impl BitWriter {
    /// Appends the low `n` ≤ 32 bits of `v`, MSB first.
    fn put(&mut self, v: u32, n: u32) {
        if n == 0 {
            return;
        }
        let v = u64::from(v) & ((1u64 << n) - 1);
        self.acc = (self.acc << n) | v;
        self.nbits += n;
        while self.nbits >= 32 {
            self.nbits -= 32;
            let word = (self.acc >> self.nbits) as u32;
            self.out.extend_from_slice(&word.to_le_bytes());
        }
    }

    /// Zero-pads the last word and appends the trailing zero word (§2.1, the trailer).
    fn finish(mut self) -> Vec<u8> {
        if self.nbits > 0 {
            self.put(0, 32 - self.nbits);
        }
        self.out.extend_from_slice(&[0; 4]);
        self.out
    }

    fn symbol(&mut self, t: &CodeTable, l: u8, n: u32) {
        let code = &t.codes[usize::from(l)];
        if n < code.n {
            let q = n >> code.l;
            self.put(0, q);
            self.put((1 << code.l) | (n & ((1 << code.l) - 1)), code.l + 1);
        } else {
            self.put(0, code.a);
            self.put(n - code.n, code.s);
        }
    }

    fn run(&mut self, m: &mut u32, mut len: usize) {
        while len >= 1 << RUN_J[*m as usize] {
            self.put(1, 1);
            len -= 1 << RUN_J[*m as usize];
            if *m < 31 {
                *m += 1;
            }
        }
        self.put(len as u32, RUN_J[*m as usize] + 1);
        *m = m.saturating_sub(1);
    }
}

/// Encodes `img` as a QUIC stream of type `kind`.
///
/// The coded values are taken from the RGBA pixels: R, G, B (and A for RGBA); the top
/// 5 bits of each for RGB16; R alone for GRAY.
pub fn encode_quic(kind: QuicType, img: &Rgba) -> Vec<u8> {
    let (w, h) = (img.width as usize, img.height as usize);
    let (codes, shift): (&CodeTable, u8) = match kind {
        QuicType::Rgb16 => (&CODES5, 3),
        _ => (&CODES8, 0),
    };
    let groups: &[&[usize]] = match kind {
        QuicType::Gray => &[&[0]],
        QuicType::Rgba => &[&[0, 1, 2], &[3]],
        _ => &[&[0, 1, 2]],
    };
    let val = |x: usize, y: usize, c: usize| -> u32 {
        u32::from(img.pixels[4 * (y * w + x) + c] >> shift)
    };
    let same = |chans: &[usize], x0: usize, y0: usize, x1: usize, y1: usize| {
        chans.iter().all(|&c| val(x0, y0, c) == val(x1, y1, c))
    };

    let mut bw = BitWriter {
        out: Vec::new(),
        acc: 0,
        nbits: 0,
    };
    for word in [QUIC_MAGIC, QUIC_VERSION, kind as u32, img.width, img.height] {
        bw.put(word, 32);
    }
    let bpc = codes.bpc as u8;
    let mut chans: Vec<Vec<Channel>> = groups
        .iter()
        .map(|g| g.iter().map(|_| Channel::new(w, bpc)).collect())
        .collect();
    let mut states: Vec<GroupState> = groups.iter().map(|_| GroupState::default()).collect();

    for y in 0..h {
        for (gi, &group) in groups.iter().enumerate() {
            let ch = &mut chans[gi];
            let st = &mut states[gi];
            for c in ch.iter_mut() {
                c.ctx[0] = if y == 0 { 0 } else { c.ctx[1] };
            }
            let mut x = 0;
            let mut zero_run_at = usize::MAX;
            while x < w {
                if y > 0
                    && x >= 3
                    && zero_run_at != x
                    && same(group, x - 1, y - 1, x, y - 1)
                    && same(group, x - 1, y, x - 2, y)
                {
                    let g = y * w + x;
                    let end = (y * w + w).min(epoch_limit(g)) - y * w;
                    let mut len = 0;
                    while x + len < end && same(group, x + len, y, x - 1, y) {
                        len += 1;
                    }
                    bw.run(&mut st.run_state, len);
                    if len == 0 {
                        zero_run_at = x;
                    } else {
                        x += len;
                    }
                    continue;
                }
                let mut used = [(0usize, 0u8); 3];
                for (i, &c) in group.iter().enumerate() {
                    let chan = &mut ch[i];
                    let b = codes.bucket(chan.ctx[x]);
                    let pred = match (y, x) {
                        (0, 0) => 0,
                        (0, _) => val(x - 1, y, c),
                        (_, 0) => val(0, y - 1, c),
                        _ => (val(x - 1, y, c) + val(x, y - 1, c)) >> 1,
                    };
                    let d = val(x, y, c).wrapping_sub(pred) & codes.max;
                    let s = if d <= codes.max / 2 {
                        2 * d
                    } else {
                        2 * (codes.max - d) + 1
                    };
                    bw.symbol(codes, chan.buckets[b].best, s);
                    chan.ctx[x + 1] = s as u8;
                    used[i] = (b, s as u8);
                }
                if st.skip == 0 {
                    let e = ((y * w + x) / EPOCH_PIXELS).min(MAX_EPOCH);
                    for (chan, &(b, s)) in ch.iter_mut().zip(&used) {
                        chan.buckets[b].update(codes, s, TRIGGER[e]);
                    }
                    st.skip = TABLE[(st.draw & 255) as usize] & WAIT_MASK[e];
                    st.draw = st.draw.wrapping_add(1);
                } else {
                    st.skip -= 1;
                }
                x += 1;
            }
        }
    }
    bw.finish()
}
