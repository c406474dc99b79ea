//! The small msgpack subset VMNetX messages use, read and written by hand.
//!
//! Why not `rmpv`:
//! - **Writing.** `rmp` packs 32..=255-byte strings as `str8` (`0xd9`), a type added in
//!   the 2013 spec revision. The Python 2 peers of VMNetX 0.5.1 packed with
//!   `use_bin_type=False`, which never emits `str8` because pre-2013 unpackers (old
//!   msgpack-python, msgpack-c as built into vmnetx-android) reject it. A thin-client
//!   token is 37 bytes, so this matters for the very first message. We therefore write
//!   exactly what such a peer writes: fixstr / str16 / str32, smallest-form ints,
//!   floats as float64.
//! - **Reading.** `rmpv::Value` materialises every element: a 1 MiB frame of `nil`s
//!   becomes ~32 MiB of `Value`s. The reader here validates the whole payload once
//!   without allocating (depth-limited, declared lengths checked against the bytes that
//!   are actually present) and then looks fields up by rescanning the top-level map,
//!   borrowing strings from the input.
//!
//! Accepted types: nil, bool, all ints, float32/64, str, bin, array, map. `ext`
//! and the reserved `0xc1` are rejected (VMNetX never sends them; the msgpack-python
//! of its era could not decode them either).

/// Maximum container nesting accepted. VMNetX messages are a flat map (depth 1); 32
/// leaves room for peers adding structured fields while keeping recursion trivially
/// bounded.
pub const MAX_DEPTH: usize = 32;

/// A decoded scalar, borrowing string/bin bytes from the input. Containers are only
/// validated and reported as [`Val::Array`] / [`Val::Map`]; no field of ours is one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val<'a> {
    Nil,
    Bool(bool),
    /// Every msgpack int (u64 and i64 ranges) fits in i128.
    Int(i128),
    Float(f64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Array,
    Map,
}

impl<'a> Val<'a> {
    /// Strings arrive as msgpack str *or* bin: Python 2 `str` is bytes, and whether it
    /// was packed as raw/str or bin depends on the peer's msgpack version and options.
    pub(crate) fn as_bytes(&self) -> Option<&'a [u8]> {
        match *self {
            Val::Str(b) | Val::Bin(b) => Some(b),
            _ => None,
        }
    }
}

/// Why a payload was rejected; all map to "Invalid message" on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadError {
    Truncated,
    Reserved,
    Ext,
    TooDeep,
    NotAMap,
    TrailingBytes,
}

impl ReadError {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            ReadError::Truncated => "truncated msgpack",
            ReadError::Reserved => "reserved msgpack byte 0xc1",
            ReadError::Ext => "msgpack ext types are not accepted",
            ReadError::TooDeep => "msgpack nesting too deep",
            ReadError::NotAMap => "payload is not a msgpack map",
            ReadError::TrailingBytes => "trailing bytes after msgpack value",
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        if n > self.remaining() {
            return Err(ReadError::Truncated);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, ReadError> {
        Ok(self.take(1)?[0])
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn len16(&mut self) -> Result<usize, ReadError> {
        Ok(u16::from_be_bytes(self.be()?) as usize)
    }

    fn len32(&mut self) -> Result<usize, ReadError> {
        // usize is at least 32 bits on every target we build for (wasm32, x86-64).
        Ok(u32::from_be_bytes(self.be()?) as usize)
    }

    /// Reads one value. Containers are walked (and validated) but not built. `depth` is
    /// the nesting level of the container holding this value (0 = top level).
    fn value(&mut self, depth: usize) -> Result<Val<'a>, ReadError> {
        let m = self.u8()?;
        let v = match m {
            0x00..=0x7f => Val::Int(m as i128),
            0xe0..=0xff => Val::Int((m as i8) as i128),
            0xc0 => Val::Nil,
            0xc2 => Val::Bool(false),
            0xc3 => Val::Bool(true),
            0xcc => Val::Int(self.u8()? as i128),
            0xcd => Val::Int(u16::from_be_bytes(self.be()?) as i128),
            0xce => Val::Int(u32::from_be_bytes(self.be()?) as i128),
            0xcf => Val::Int(u64::from_be_bytes(self.be()?) as i128),
            0xd0 => Val::Int(self.u8()? as i8 as i128),
            0xd1 => Val::Int(i16::from_be_bytes(self.be()?) as i128),
            0xd2 => Val::Int(i32::from_be_bytes(self.be()?) as i128),
            0xd3 => Val::Int(i64::from_be_bytes(self.be()?) as i128),
            0xca => Val::Float(f32::from_be_bytes(self.be()?) as f64),
            0xcb => Val::Float(f64::from_be_bytes(self.be()?)),
            0xa0..=0xbf => Val::Str(self.take((m & 0x1f) as usize)?),
            0xd9 => {
                let n = self.u8()? as usize;
                Val::Str(self.take(n)?)
            }
            0xda => {
                let n = self.len16()?;
                Val::Str(self.take(n)?)
            }
            0xdb => {
                let n = self.len32()?;
                Val::Str(self.take(n)?)
            }
            0xc4 => {
                let n = self.u8()? as usize;
                Val::Bin(self.take(n)?)
            }
            0xc5 => {
                let n = self.len16()?;
                Val::Bin(self.take(n)?)
            }
            0xc6 => {
                let n = self.len32()?;
                Val::Bin(self.take(n)?)
            }
            0x90..=0x9f => self.array((m & 0x0f) as usize, depth)?,
            0xdc => {
                let n = self.len16()?;
                self.array(n, depth)?
            }
            0xdd => {
                let n = self.len32()?;
                self.array(n, depth)?
            }
            0x80..=0x8f => self.map((m & 0x0f) as usize, depth)?,
            0xde => {
                let n = self.len16()?;
                self.map(n, depth)?
            }
            0xdf => {
                let n = self.len32()?;
                self.map(n, depth)?
            }
            0xc7..=0xc9 | 0xd4..=0xd8 => return Err(ReadError::Ext),
            0xc1 => return Err(ReadError::Reserved),
        };
        Ok(v)
    }

    fn array(&mut self, n: usize, depth: usize) -> Result<Val<'a>, ReadError> {
        self.enter(n, depth)?;
        for _ in 0..n {
            self.value(depth + 1)?;
        }
        Ok(Val::Array)
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Val<'a>, ReadError> {
        // Each entry is at least two bytes; the `n <= remaining` check in `enter` is a
        // cheap early reject, the loop fails on truncation anyway.
        self.enter(n, depth)?;
        for _ in 0..n {
            self.value(depth + 1)?;
            self.value(depth + 1)?;
        }
        Ok(Val::Map)
    }

    fn enter(&self, n: usize, depth: usize) -> Result<(), ReadError> {
        if depth + 1 > MAX_DEPTH {
            return Err(ReadError::TooDeep);
        }
        // Every element takes at least one byte: a declared count larger than what is
        // left is a lie, reject it before looping (a 4-billion-entry header over a
        // 10-byte payload must cost nothing).
        if n > self.remaining() {
            return Err(ReadError::Truncated);
        }
        Ok(())
    }
}

/// A validated top-level msgpack map. Holds only the input slice; lookups rescan it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MapView<'a> {
    /// The entries, i.e. the payload after the map header.
    body: &'a [u8],
    count: usize,
}

impl<'a> MapView<'a> {
    /// Validates `payload` as exactly one msgpack map (no trailing bytes, as
    /// `msgpack.unpackb` requires) of nesting at most [`MAX_DEPTH`].
    pub(crate) fn parse(payload: &'a [u8]) -> Result<Self, ReadError> {
        let mut r = Reader {
            buf: payload,
            pos: 0,
        };
        let m = r.u8()?;
        let count = match m {
            0x80..=0x8f => (m & 0x0f) as usize,
            0xde => r.len16()?,
            0xdf => r.len32()?,
            _ => {
                // Still distinguish garbage from a valid non-map for the error reason.
                r.pos = 0;
                r.value(0)?;
                return Err(ReadError::NotAMap);
            }
        };
        let start = r.pos;
        r.pos = 0;
        r.value(0)?;
        if r.remaining() != 0 {
            return Err(ReadError::TrailingBytes);
        }
        Ok(MapView {
            body: &payload[start..],
            count,
        })
    }

    /// Iterates over `(key, value)` pairs. The map was validated, so the iterator
    /// cannot fail; it just stops if it somehow could not read.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (Val<'a>, Val<'a>)> + 'a {
        let mut r = Reader {
            buf: self.body,
            pos: 0,
        };
        let mut left = self.count;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let k = r.value(1).ok()?;
            let v = r.value(1).ok()?;
            Some((k, v))
        })
    }

    /// The value of string key `key` (str or bin). With duplicate keys the last one
    /// wins, as when Python builds a dict from the map.
    pub(crate) fn get(&self, key: &str) -> Option<Val<'a>> {
        let key = key.as_bytes();
        self.entries()
            .filter(|(k, _)| k.as_bytes() == Some(key))
            .last()
            .map(|(_, v)| v)
    }
}

/// Writes msgpack the way a Python 2 peer with `use_bin_type=False` does.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub(crate) out: Vec<u8>,
}

impl Writer {
    pub(crate) fn map_header(&mut self, n: usize) {
        if n < 16 {
            self.out.push(0x80 | n as u8);
        } else if n <= u16::MAX as usize {
            self.out.push(0xde);
            self.out.extend_from_slice(&(n as u16).to_be_bytes());
        } else {
            self.out.push(0xdf);
            self.out
                .extend_from_slice(&(n.min(u32::MAX as usize) as u32).to_be_bytes());
        }
    }

    /// fixstr, then str16, then str32 — never str8 (see module docs). Strings longer
    /// than 4 GiB cannot be framed anyway; they are clamped in the header and the
    /// resulting frame is rejected by the size cap on the peer.
    pub(crate) fn str(&mut self, s: &str) {
        let b = s.as_bytes();
        let n = b.len();
        if n < 32 {
            self.out.push(0xa0 | n as u8);
        } else if n <= u16::MAX as usize {
            self.out.push(0xda);
            self.out.extend_from_slice(&(n as u16).to_be_bytes());
        } else {
            self.out.push(0xdb);
            self.out
                .extend_from_slice(&(n.min(u32::MAX as usize) as u32).to_be_bytes());
        }
        self.out.extend_from_slice(b);
    }

    pub(crate) fn nil(&mut self) {
        self.out.push(0xc0);
    }

    pub(crate) fn bool(&mut self, v: bool) {
        self.out.push(if v { 0xc3 } else { 0xc2 });
    }

    /// Smallest encoding, unsigned forms for non-negative values, as msgpack-python.
    pub(crate) fn int(&mut self, v: i64) {
        if v >= 0 {
            let u = v as u64;
            if u < 0x80 {
                self.out.push(u as u8);
            } else if u <= u8::MAX as u64 {
                self.out.extend_from_slice(&[0xcc, u as u8]);
            } else if u <= u16::MAX as u64 {
                self.out.push(0xcd);
                self.out.extend_from_slice(&(u as u16).to_be_bytes());
            } else if u <= u32::MAX as u64 {
                self.out.push(0xce);
                self.out.extend_from_slice(&(u as u32).to_be_bytes());
            } else {
                self.out.push(0xcf);
                self.out.extend_from_slice(&u.to_be_bytes());
            }
        } else if v >= -32 {
            self.out.push(v as i8 as u8);
        } else if v >= i8::MIN as i64 {
            self.out.extend_from_slice(&[0xd0, v as i8 as u8]);
        } else if v >= i16::MIN as i64 {
            self.out.push(0xd1);
            self.out.extend_from_slice(&(v as i16).to_be_bytes());
        } else if v >= i32::MIN as i64 {
            self.out.push(0xd2);
            self.out.extend_from_slice(&(v as i32).to_be_bytes());
        } else {
            self.out.push(0xd3);
            self.out.extend_from_slice(&v.to_be_bytes());
        }
    }

    /// Python floats are doubles and are always packed as float64.
    pub(crate) fn f64(&mut self, v: f64) {
        self.out.push(0xcb);
        self.out.extend_from_slice(&v.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut wr = Writer::default();
        f(&mut wr);
        wr.out
    }

    #[test]
    fn int_encodings_are_smallest_form() {
        assert_eq!(w(|w| w.int(0)), [0x00]);
        assert_eq!(w(|w| w.int(127)), [0x7f]);
        assert_eq!(w(|w| w.int(128)), [0xcc, 0x80]);
        assert_eq!(w(|w| w.int(300)), [0xcd, 0x01, 0x2c]);
        assert_eq!(w(|w| w.int(70000)), [0xce, 0, 1, 0x11, 0x70]);
        assert_eq!(w(|w| w.int(1 << 40)), [0xcf, 0, 0, 1, 0, 0, 0, 0, 0]);
        assert_eq!(w(|w| w.int(-1)), [0xff]);
        assert_eq!(w(|w| w.int(-32)), [0xe0]);
        assert_eq!(w(|w| w.int(-33)), [0xd0, 0xdf]);
        assert_eq!(w(|w| w.int(-129)), [0xd1, 0xff, 0x7f]);
        assert_eq!(w(|w| w.int(-40000)), [0xd2, 0xff, 0xff, 0x63, 0xc0]);
        assert_eq!(w(|w| w.int(i64::MIN))[0], 0xd3);
    }

    #[test]
    fn strings_never_use_str8() {
        assert_eq!(w(|w| w.str(""))[..], [0xa0]);
        assert_eq!(w(|w| w.str(&"x".repeat(31)))[0], 0xbf);
        assert_eq!(w(|w| w.str(&"x".repeat(32)))[..3], [0xda, 0x00, 0x20]);
        assert_eq!(w(|w| w.str(&"x".repeat(255)))[..3], [0xda, 0x00, 0xff]);
        assert_eq!(
            w(|w| w.str(&"x".repeat(65536)))[..5],
            [0xdb, 0x00, 0x01, 0x00, 0x00]
        );
    }

    #[test]
    fn reader_agrees_with_rmpv_on_scalars() {
        let vals = [
            rmpv::Value::Nil,
            rmpv::Value::Boolean(true),
            rmpv::Value::from(u64::MAX),
            rmpv::Value::from(i64::MIN),
            rmpv::Value::from(-5i64),
            rmpv::Value::F32(1.5),
            rmpv::Value::F64(-2.25),
            rmpv::Value::from("hé"),
            rmpv::Value::Binary(vec![1, 2, 3]),
        ];
        for v in vals {
            let mut map = Vec::new();
            let m = rmpv::Value::Map(vec![(rmpv::Value::from("k"), v.clone())]);
            rmpv::encode::write_value(&mut map, &m).unwrap();
            let view = MapView::parse(&map).unwrap();
            let got = view.get("k").unwrap();
            match (&v, got) {
                (rmpv::Value::Nil, Val::Nil) => {}
                (rmpv::Value::Boolean(a), Val::Bool(b)) => assert_eq!(*a, b),
                (rmpv::Value::Integer(a), Val::Int(b)) => {
                    let a = a
                        .as_i64()
                        .map(i128::from)
                        .or(a.as_u64().map(i128::from))
                        .unwrap();
                    assert_eq!(a, b)
                }
                (rmpv::Value::F32(a), Val::Float(b)) => assert_eq!(*a as f64, b),
                (rmpv::Value::F64(a), Val::Float(b)) => assert_eq!(*a, b),
                (rmpv::Value::String(a), Val::Str(b)) => assert_eq!(a.as_bytes(), b),
                (rmpv::Value::Binary(a), Val::Bin(b)) => assert_eq!(&a[..], b),
                (a, b) => panic!("mismatch {a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn rmpv_reads_what_we_write() {
        let bytes = w(|w| {
            w.map_header(4);
            w.str("_");
            w.str(&"t".repeat(40));
            w.str("n");
            w.int(-1000);
            w.str("f");
            w.f64(0.5);
            w.str("b");
            w.nil();
        });
        let v = rmpv::decode::read_value(&mut &bytes[..]).unwrap();
        let m = v.as_map().unwrap();
        assert_eq!(m[0].1.as_str().unwrap(), "t".repeat(40));
        assert_eq!(m[1].1.as_i64(), Some(-1000));
        assert_eq!(m[2].1.as_f64(), Some(0.5));
        assert!(m[3].1.is_nil());
    }

    #[test]
    fn rejects_lies_and_depth() {
        // map32 declaring 4G entries over 2 bytes.
        assert_eq!(
            MapView::parse(&[0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0]).unwrap_err(),
            ReadError::Truncated
        );
        // str32 declaring 4 GiB.
        assert_eq!(
            MapView::parse(&[0x81, 0xa1, b'k', 0xdb, 0xff, 0xff, 0xff, 0xff, 0]).unwrap_err(),
            ReadError::Truncated
        );
        let mut deep = vec![0x81, 0xa1, b'k'];
        deep.extend(std::iter::repeat_n(0x91, 100));
        deep.push(0xc0);
        assert_eq!(MapView::parse(&deep).unwrap_err(), ReadError::TooDeep);
        // 31 nested arrays inside the map: depth 32, allowed.
        let mut ok = vec![0x81, 0xa1, b'k'];
        ok.extend(std::iter::repeat_n(0x91, MAX_DEPTH - 1));
        ok.push(0xc0);
        assert!(MapView::parse(&ok).is_ok());
        let mut too = vec![0x81, 0xa1, b'k'];
        too.extend(std::iter::repeat_n(0x91, MAX_DEPTH));
        too.push(0xc0);
        assert_eq!(MapView::parse(&too).unwrap_err(), ReadError::TooDeep);
        assert_eq!(
            MapView::parse(&[0x80, 0xc0]).unwrap_err(),
            ReadError::TrailingBytes
        );
        assert_eq!(MapView::parse(&[0x90]).unwrap_err(), ReadError::NotAMap);
        assert_eq!(MapView::parse(&[0xc1]).unwrap_err(), ReadError::Reserved);
        assert_eq!(
            MapView::parse(&[0x81, 0xa1, b'k', 0xd4, 0, 0]).unwrap_err(),
            ReadError::Ext
        );
        assert_eq!(MapView::parse(&[]).unwrap_err(), ReadError::Truncated);
    }

    #[test]
    fn duplicate_keys_last_wins_and_bin_keys_match() {
        let bytes = [0x82, 0xa1, b'k', 0x01, 0xc4, 1, b'k', 0x02];
        let v = MapView::parse(&bytes).unwrap();
        assert_eq!(v.get("k"), Some(Val::Int(2)));
        assert_eq!(v.get("x"), None);
    }
}
