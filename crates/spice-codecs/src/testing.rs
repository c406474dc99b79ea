//! Deterministic pseudo-random input for this crate's robustness loops (unit tests,
//! integration tests and benches share it; hidden from the docs, not an API).

/// A xorshift64 generator: reproducible, dependency-free, good enough to mutate streams.
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

    /// A copy of `data` with 1–4 random edits: bit flips, pokes of values codecs treat
    /// specially, truncation, insertion.
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
