//! A builder for little-endian message bodies, the way SPICE and the replay tests put
//! them on the wire: fixed fields in order, and pointers (u32 offsets from the start of
//! the body) reserved as [`Slot`]s and patched once the pointee is placed.

/// A reserved pointer field; [`Wire::patch`] points it at the current end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot(usize);

/// A message body under construction. Every method appends and returns `self`, so a body
/// reads as the protocol's field list.
#[derive(Debug, Default, Clone)]
pub struct Wire(Vec<u8>);

impl Wire {
    /// An empty body.
    pub fn new() -> Self {
        Wire::default()
    }

    /// Appends a byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    /// Appends a little-endian u16.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends a little-endian u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends little-endian u32s.
    pub fn u32s(&mut self, values: &[u32]) -> &mut Self {
        for &v in values {
            self.u32(v);
        }
        self
    }

    /// Appends a little-endian i32.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends a little-endian u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }

    /// Appends a SPICE `Rect` in its wire order: top, left, bottom, right.
    pub fn rect(&mut self, top: i32, left: i32, bottom: i32, right: i32) -> &mut Self {
        self.i32(top).i32(left).i32(bottom).i32(right)
    }

    /// Reserves a u32 pointer field (0 until patched).
    pub fn slot(&mut self) -> Slot {
        let at = self.0.len();
        self.u32(0);
        Slot(at)
    }

    /// Points `slot` at the current end of the body: call just before writing the
    /// pointee. Panics if the body has outgrown a u32 offset.
    pub fn patch(&mut self, slot: Slot) -> &mut Self {
        let here = u32::try_from(self.0.len()).expect("body fits u32 offsets");
        self.0[slot.0..slot.0 + 4].copy_from_slice(&here.to_le_bytes());
        self
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Nothing written yet.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The body, leaving the builder empty for the next one.
    pub fn done(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_little_endian_and_slots_point_at_their_pointee() {
        let mut w = Wire::new();
        w.u8(1).u16(0x0203).rect(1, 2, 3, 4);
        let s = w.slot();
        w.u64(7).patch(s).u32s(&[9, 10]);
        let b = w.done();
        assert_eq!(&b[..3], &[1, 3, 2]);
        assert_eq!(&b[3..7], &1i32.to_le_bytes());
        assert_eq!(&b[15..19], &4i32.to_le_bytes());
        assert_eq!(u32::from_le_bytes(b[19..23].try_into().unwrap()), 31);
        assert_eq!(&b[31..35], &9u32.to_le_bytes());
        assert!(w.is_empty());
    }
}
