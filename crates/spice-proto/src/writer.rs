//! Little-endian append helpers for encoding.
//!
//! Encoding only ever handles data the client built itself, so these cannot fail; the
//! asymmetry with [`crate::reader::Reader`] is deliberate.

pub(crate) trait PutLe {
    fn put_u8(&mut self, v: u8);
    fn put_u16(&mut self, v: u16);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    fn put_i32(&mut self, v: i32);
    fn put_i64(&mut self, v: i64);
}

impl PutLe for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_i32(&mut self, v: i32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_i64(&mut self, v: i64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
}

/// Converts a length to the u32 the wire needs.
///
/// # Panics
/// If `len` exceeds `u32::MAX`. Client messages are built from local data that is orders of
/// magnitude smaller (agent chunks are at most 2048 bytes), so this marks a caller bug.
pub(crate) fn len_u32(len: usize) -> u32 {
    u32::try_from(len).expect("SPICE length fields are 32-bit")
}
