//! A seeded pseudo-random generator for robustness loops.
//!
//! Tests want the same "random" input on every run so a failure reproduces, and want it
//! without a dependency whose stream could change under them: xorshift64 is four lines
//! and good enough to pick sizes, bytes and mutations.

/// A xorshift64 generator (13, 7, 17). The seed must not be 0 (0 stays 0).
#[derive(Debug, Clone)]
pub struct XorShift(pub u64);

impl XorShift {
    /// The next 64 random bits. (An endless generator, not an iterator: callers want the
    /// value, never `None`.)
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// A copy of `data` with 1–4 random edits: bit flips, pokes of values decoders treat
    /// specially (0, 1, 0x7F, 0x80, 0xFF, ...), truncation, insertion.
    pub fn mutate(&mut self, data: &[u8]) -> Vec<u8> {
        const POKES: [u8; 11] = [0, 1, 5, 0x0F, 31, 32, 0x7F, 0x80, 0xE0, 0xF0, 0xFF];
        let mut d = data.to_vec();
        for _ in 0..1 + self.below(4) {
            match self.below(5) {
                0 if !d.is_empty() => {
                    let i = self.below(d.len());
                    d[i] ^= 1 << self.below(8);
                }
                1 if !d.is_empty() => {
                    let i = self.below(d.len());
                    d[i] = POKES[self.below(POKES.len())];
                }
                2 => {
                    let n = self.below(d.len() + 1);
                    d.truncate(n);
                }
                3 => {
                    let i = self.below(d.len() + 1);
                    let b = self.next() as u8;
                    d.insert(i, b);
                }
                _ if !d.is_empty() => {
                    let i = self.below(d.len());
                    d[i] = self.next() as u8;
                }
                _ => {}
            }
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_the_published_xorshift64() {
        // Marsaglia's xorshift64 (13, 7, 17) from seed 1.
        let mut r = XorShift(1);
        assert_eq!(r.next(), 1_082_269_761);
        assert_eq!(r.next(), 1_152_992_998_833_853_505);
        assert!(r.below(0) == 0 && r.below(1) == 0);
    }

    #[test]
    fn mutations_change_something_and_stay_bounded() {
        let mut r = XorShift(0x9E37_79B9_7F4A_7C15);
        let data = vec![0x55u8; 64];
        let changed = (0..100).filter(|_| r.mutate(&data) != data).count();
        assert!(changed > 90, "{changed} of 100 mutations changed nothing");
        assert!((0..100).all(|_| r.mutate(&data).len() <= data.len() + 4));
    }
}
