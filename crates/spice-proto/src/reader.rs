//! Bounds-checked little-endian cursor over untrusted bytes.
//!
//! Every decoder in the crate reads through this type so that truncated or hostile input
//! turns into a [`ProtoError`] instead of a panic, and so that counts are validated against
//! the bytes actually present before anything is allocated.

use crate::error::{ProtoError, Result};

/// A cursor over a borrowed buffer. `Copy` so that callers can cheaply fork a lookahead.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// A cursor over the same buffer starting at `offset`, used to follow SPICE pointers
    /// (which are offsets from the start of the message body).
    pub fn at(buf: &'a [u8], offset: usize) -> Result<Self> {
        if offset > buf.len() {
            return Err(ProtoError::Truncated {
                offset,
                needed: 0,
                available: 0,
            });
        }
        Ok(Self { buf, pos: offset })
    }

    /// The whole underlying buffer, independent of the cursor position.
    pub fn buffer(&self) -> &'a [u8] {
        self.buf
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let available = self.remaining();
        if n > available {
            return Err(ProtoError::Truncated {
                offset: self.pos,
                needed: n,
                available,
            });
        }
        let end = self.pos + n;
        let out = self.buf.get(self.pos..end).ok_or(ProtoError::Truncated {
            offset: self.pos,
            needed: n,
            available,
        })?;
        self.pos = end;
        Ok(out)
    }

    /// Like [`Reader::bytes`] for a length that came off the wire as u32/u64, so that the
    /// conversion to `usize` cannot truncate on 32-bit targets (wasm32).
    pub fn bytes_u64(&mut self, n: u64) -> Result<&'a [u8]> {
        let n = usize::try_from(n).map_err(|_| ProtoError::Truncated {
            offset: self.pos,
            needed: usize::MAX,
            available: self.remaining(),
        })?;
        self.bytes(n)
    }

    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.bytes(n).map(|_| ())
    }

    /// Everything after the cursor; used for "rest of message" fields.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = self.buf.get(self.pos..).unwrap_or(&[]);
        self.pos = self.buf.len();
        out
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8> {
        let [b] = self.array::<1>()?;
        Ok(b)
    }

    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_le_bytes(self.array()?))
    }

    pub fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// Validates that `count` elements of at least `min_elem_size` bytes each can still be
    /// present, so that `Vec::with_capacity(count)` is justified by bytes actually received.
    pub fn check_count(
        &self,
        what: &'static str,
        count: u64,
        min_elem_size: usize,
    ) -> Result<usize> {
        let available = self.remaining();
        let too_large = ProtoError::CountTooLarge {
            what,
            count,
            available,
        };
        let needed = count
            .checked_mul(min_elem_size as u64)
            .ok_or(too_large.clone())?;
        if needed > available as u64 {
            return Err(too_large);
        }
        usize::try_from(count).map_err(|_| too_large)
    }

    /// Reads `count` elements with `read`, after [`Reader::check_count`].
    pub fn vec<T>(
        &mut self,
        what: &'static str,
        count: u64,
        min_elem_size: usize,
        mut read: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<Vec<T>> {
        let n = self.check_count(what, count, min_elem_size)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(read(self)?);
        }
        Ok(out)
    }
}

/// Byte count of a packed raster: `((width * bpp + 7) / 8) * height`, or `None` on overflow.
pub(crate) fn image_size(bpp: u64, width: u64, height: u64) -> Option<u64> {
    let row = width.checked_mul(bpp)?.checked_add(7)? / 8;
    row.checked_mul(height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_and_stops_at_end() {
        let data = [1, 2, 3, 4, 5, 6, 7];
        let mut r = Reader::new(&data);
        assert_eq!(r.u16().unwrap(), 0x0201);
        assert_eq!(r.u32().unwrap(), 0x0605_0403);
        assert!(matches!(
            r.u16(),
            Err(ProtoError::Truncated {
                offset: 6,
                needed: 2,
                available: 1
            })
        ));
        assert_eq!(r.u8().unwrap(), 7);
        assert!(r.u8().is_err());
        assert_eq!(r.rest(), &[] as &[u8]);
    }

    #[test]
    fn huge_count_is_rejected_before_allocation() {
        let data = [0u8; 16];
        let r = Reader::new(&data);
        assert!(r.check_count("x", u64::MAX, 4).is_err());
        assert!(r.check_count("x", 1 << 32, 1).is_err());
        assert_eq!(r.check_count("x", 4, 4).unwrap(), 4);
        assert!(r.check_count("x", 5, 4).is_err());
    }

    #[test]
    fn at_checks_offset() {
        let data = [0u8; 4];
        assert!(Reader::at(&data, 4).is_ok());
        assert!(Reader::at(&data, 5).is_err());
        let mut r = Reader::new(&data);
        assert!(r.bytes_u64(u64::MAX).is_err());
    }

    #[test]
    fn image_size_overflow() {
        assert_eq!(image_size(1, 9, 2), Some(4));
        assert_eq!(image_size(8, 3, 3), Some(9));
        assert_eq!(image_size(8, u64::MAX, 2), None);
    }
}
