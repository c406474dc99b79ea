//! Resolution of SPICE pointers (u32 offsets from the start of the message body).
//!
//! Decoders first read a message's inline part, collecting raw pointer values, and only
//! then follow them. Pointees must lie after that inline part (the "floor"): the server's
//! marshaller always places them there, and the rule means a pointer can never alias the
//! structure that contains it, so hostile self-referencing input is an error rather than a
//! confusing reparse.

use crate::error::{ProtoError, Result};
use crate::reader::Reader;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Body<'a> {
    buf: &'a [u8],
    floor: usize,
}

impl<'a> Body<'a> {
    pub(crate) fn new(buf: &'a [u8], floor: usize) -> Self {
        Self { buf, floor }
    }

    fn bad(&self, pointer: u32) -> ProtoError {
        ProtoError::BadPointer {
            pointer,
            floor: self.floor,
            len: self.buf.len(),
        }
    }

    /// A reader at the pointee, or `None` for NULL.
    pub(crate) fn deref(&self, ptr: u32) -> Result<Option<Reader<'a>>> {
        if ptr == 0 {
            return Ok(None);
        }
        let off = usize::try_from(ptr).map_err(|_| self.bad(ptr))?;
        if off < self.floor || off >= self.buf.len() {
            return Err(self.bad(ptr));
        }
        Reader::at(self.buf, off).map(Some)
    }

    /// Like [`Body::deref`] for fields the protocol declares non-null.
    pub(crate) fn deref_nonnull(&self, ptr: u32) -> Result<Reader<'a>> {
        self.deref(ptr)?.ok_or_else(|| self.bad(ptr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_bounds() {
        let buf = [0u8; 10];
        let b = Body::new(&buf, 4);
        assert!(b.deref(0).unwrap().is_none());
        assert!(b.deref_nonnull(0).is_err());
        assert!(b.deref(3).is_err(), "into the inline part");
        assert_eq!(b.deref(4).unwrap().unwrap().position(), 4);
        assert!(b.deref(9).is_ok());
        assert!(b.deref(10).is_err(), "past the end");
        assert!(b.deref(u32::MAX).is_err());
    }
}
