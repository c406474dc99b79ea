//! lzop files: VMNetX's fast memory-image compression (`compressed` = 4 in the save header).
//!
//! The container (magic, header with its checksum, then blocks of at most 64 MiB, each with
//! optional Adler-32/CRC-32 checksums, computed by `adler2` and `crc32fast`) is parsed here,
//! and so is LZO1X. The decompressor is hand-written on purpose: the LZO crates on
//! crates.io either wrap the C library (`unsafe`, which this project does not allow) or
//! trust the block's stated size; here every copy is bounds-checked against the size the
//! block declares, so hostile input gets an error, never a panic or an unbounded
//! allocation. It is fuzzed (`fuzz/fuzz_targets/nxpk_lzop.rs`) and checked against
//! `lzokay-native`'s compressor in the tests.

use std::io::{Read, Write};

/// Largest block lzop writes (its `MAX_BLOCK_SIZE`).
pub const MAX_BLOCK: u32 = 64 << 20;

const MAGIC: [u8; 9] = [0x89, b'L', b'Z', b'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a];

const F_ADLER32_D: u32 = 0x0001;
const F_ADLER32_C: u32 = 0x0002;
const F_H_EXTRA_FIELD: u32 = 0x0040;
const F_CRC32_D: u32 = 0x0100;
const F_CRC32_C: u32 = 0x0200;
const F_MULTIPART: u32 = 0x0400;
const F_H_FILTER: u32 = 0x0800;
const F_H_CRC32: u32 = 0x1000;

/// A feature of the lzop format that VMNetX never wrote and this reader does not take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    /// A format version we do not know.
    #[error("format version {0:#x}")]
    Version(u16),
    /// A method other than LZO1X-1.
    #[error("method {0}")]
    Method(u8),
    /// Filters applied before compression.
    #[error("filters")]
    Filters,
    /// A multipart file or one with an extra field.
    #[error("multipart/extra-field files")]
    Multipart,
}

/// Why an lzop stream cannot be read; every size and checksum in it is untrusted.
#[derive(Debug, thiserror::Error)]
pub enum LzopError {
    /// The stream does not start with lzop's magic.
    #[error("not an lzop file (bad magic)")]
    Magic,
    /// A feature this reader does not take.
    #[error("lzop: unsupported {0}")]
    Unsupported(Unsupported),
    /// The header's checksum does not match.
    #[error("lzop: header checksum mismatch")]
    HeaderChecksum,
    /// A block's sizes are zero, too large, or compress to more than they hold.
    #[error("lzop: block {block}: sizes {compressed} → {uncompressed} out of bounds")]
    BlockSizes {
        /// The block's index from the start.
        block: u64,
        /// Its compressed length.
        compressed: u32,
        /// Its uncompressed length.
        uncompressed: u32,
    },
    /// A block's checksum does not match.
    #[error("lzop: block {block}: {kind} of {data} data mismatch")]
    Checksum {
        /// The block's index from the start.
        block: u64,
        /// `Adler-32` or `CRC-32`.
        kind: &'static str,
        /// `compressed` or `uncompressed`.
        data: &'static str,
    },
    /// The LZO1X data is corrupt (the decoder's words).
    #[error("lzop: corrupt LZO1X data: {0}")]
    Lzo(&'static str),
    /// Reading the stream failed.
    #[error("lzop: {0}")]
    Io(std::io::Error),
}

impl From<std::io::Error> for LzopError {
    fn from(e: std::io::Error) -> Self {
        LzopError::Io(e)
    }
}

/// Adler-32 (lzop uses the standard initial value 1).
pub fn adler32(data: &[u8]) -> u32 {
    adler2::adler32_slice(data)
}

/// Reads the header and leaves `r` at the first block; returns the flags.
fn read_header<R: Read>(r: &mut R) -> Result<u32, LzopError> {
    let mut magic = [0u8; 9];
    r.read_exact(&mut magic)?;
    if magic != MAGIC {
        return Err(LzopError::Magic);
    }
    let mut h = Vec::with_capacity(64);
    let mut take = |r: &mut R, n: usize| -> Result<Vec<u8>, LzopError> {
        let mut b = vec![0; n];
        r.read_exact(&mut b)?;
        h.extend_from_slice(&b);
        Ok(b)
    };
    let be16 = |b: Vec<u8>| u16::from_be_bytes([b[0], b[1]]);
    let be32 = |b: Vec<u8>| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let version = be16(take(r, 2)?);
    let _lib_version = take(r, 2)?;
    if version >= 0x0940 {
        let needed = be16(take(r, 2)?);
        if needed > 0x1040 {
            return Err(LzopError::Unsupported(Unsupported::Version(needed)));
        }
    }
    let method = take(r, 1)?[0];
    if !matches!(method, 1..=3) {
        return Err(LzopError::Unsupported(Unsupported::Method(method)));
    }
    if version >= 0x0940 {
        take(r, 1)?; // level
    }
    let flags = be32(take(r, 4)?);
    if flags & F_H_FILTER != 0 {
        return Err(LzopError::Unsupported(Unsupported::Filters));
    }
    if flags & (F_MULTIPART | F_H_EXTRA_FIELD) != 0 {
        return Err(LzopError::Unsupported(Unsupported::Multipart));
    }
    take(r, 8)?; // mode, mtime low
    if version >= 0x0940 {
        take(r, 4)?; // mtime high
    }
    let name_len = take(r, 1)?[0];
    take(r, usize::from(name_len))?;
    let mut sum = [0u8; 4];
    r.read_exact(&mut sum)?;
    let want = u32::from_be_bytes(sum);
    let got = if flags & F_H_CRC32 != 0 {
        crc32fast::hash(&h)
    } else {
        adler32(&h)
    };
    if want != got {
        return Err(LzopError::HeaderChecksum);
    }
    Ok(flags)
}

fn read_u32<R: Read>(r: &mut R) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_be_bytes(b))
}

/// Checks one block checksum (Adler-32 and/or CRC-32 as the flags say).
fn check_sums(
    data: &[u8],
    adler: Option<u32>,
    crc: Option<u32>,
    block: u64,
    which: &'static str,
) -> Result<(), LzopError> {
    let bad = |kind: &'static str| LzopError::Checksum {
        block,
        kind,
        data: which,
    };
    if adler.is_some_and(|a| a != adler32(data)) {
        return Err(bad("Adler-32"));
    }
    if crc.is_some_and(|c| c != crc32fast::hash(data)) {
        return Err(bad("CRC-32"));
    }
    Ok(())
}

/// Decompresses a whole lzop file from `r` into `w`; returns the bytes written.
pub fn decompress<R: Read, W: Write>(r: &mut R, w: &mut W) -> Result<u64, LzopError> {
    let flags = read_header(r)?;
    let mut total = 0u64;
    for block in 0u64.. {
        let u_len = read_u32(r)?;
        if u_len == 0 {
            return Ok(total);
        }
        let c_len = read_u32(r)?;
        if u_len > MAX_BLOCK || c_len > u_len {
            return Err(LzopError::BlockSizes {
                block,
                compressed: c_len,
                uncompressed: u_len,
            });
        }
        let opt = |flag: u32, r: &mut R| -> std::io::Result<Option<u32>> {
            if flags & flag != 0 {
                read_u32(r).map(Some)
            } else {
                Ok(None)
            }
        };
        let d_adler = opt(F_ADLER32_D, r)?;
        let d_crc = opt(F_CRC32_D, r)?;
        let (c_adler, c_crc) = if c_len < u_len {
            (opt(F_ADLER32_C, r)?, opt(F_CRC32_C, r)?)
        } else {
            (None, None)
        };
        let mut packed = vec![0u8; c_len as usize];
        r.read_exact(&mut packed)?;
        let data = if c_len == u_len {
            packed
        } else {
            check_sums(&packed, c_adler, c_crc, block, "compressed")?;
            lzo1x_decompress(&packed, u_len as usize)?
        };
        check_sums(&data, d_adler, d_crc, block, "uncompressed")?;
        w.write_all(&data)?;
        total += data.len() as u64;
    }
    Ok(total)
}

/// A cursor over compressed input whose reads fail cleanly at the end.
struct Input<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn byte(&mut self) -> Result<u8, LzopError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or(LzopError::Lzo("input overrun"))?;
        self.pos += 1;
        Ok(b)
    }

    fn le16(&mut self) -> Result<usize, LzopError> {
        let lo = self.byte()?;
        let hi = self.byte()?;
        Ok(usize::from(u16::from_le_bytes([lo, hi])))
    }

    /// A length continued in zero bytes: each 0 adds 255, the final non-zero byte ends it.
    fn long_len(&mut self, base: usize) -> Result<usize, LzopError> {
        let mut n = base;
        loop {
            match self.byte()? {
                0 => {
                    n = n
                        .checked_add(255)
                        .ok_or(LzopError::Lzo("length overflow"))?
                }
                b => return Ok(n + usize::from(b)),
            }
        }
    }

    fn literals(&mut self, out: &mut Vec<u8>, n: usize, cap: usize) -> Result<(), LzopError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(LzopError::Lzo("input overrun"))?;
        let src = self
            .buf
            .get(self.pos..end)
            .ok_or(LzopError::Lzo("input overrun"))?;
        if out.len() + n > cap {
            return Err(LzopError::Lzo("output overrun"));
        }
        out.extend_from_slice(src);
        self.pos = end;
        Ok(())
    }
}

fn copy_match(out: &mut Vec<u8>, dist: usize, len: usize, cap: usize) -> Result<(), LzopError> {
    if dist == 0 || dist > out.len() {
        return Err(LzopError::Lzo("lookbehind overrun"));
    }
    if out.len() + len > cap {
        return Err(LzopError::Lzo("output overrun"));
    }
    let start = out.len() - dist;
    for i in 0..len {
        let b = out[start + i];
        out.push(b);
    }
    Ok(())
}

/// Decompresses one LZO1X block that must expand to exactly `size` bytes.
pub fn lzo1x_decompress(src: &[u8], size: usize) -> Result<Vec<u8>, LzopError> {
    let mut out = Vec::with_capacity(size);
    let mut inp = Input { buf: src, pos: 0 };
    // state: literals copied by the previous instruction (0..3), or 4 for a long run.
    let mut state = 0usize;
    if let Some(&first) = src.first() {
        if first > 17 {
            inp.pos = 1;
            let n = usize::from(first - 17);
            inp.literals(&mut out, n, size)?;
            state = if n < 4 { n } else { 4 };
        }
    }
    loop {
        let inst = usize::from(inp.byte()?);
        let (dist, len, next) = match inst {
            0..=15 if state == 0 => {
                let n = if inst == 0 { inp.long_len(15)? } else { inst };
                inp.literals(&mut out, n + 3, size)?;
                state = 4;
                continue;
            }
            0..=15 => {
                let h = usize::from(inp.byte()?);
                let base = if state == 4 { 2049 } else { 1 };
                let len = if state == 4 { 3 } else { 2 };
                ((h << 2) + (inst >> 2) + base, len, inst & 3)
            }
            16..=31 => {
                let l = inst & 7;
                let len = 2 + if l == 0 { inp.long_len(7)? } else { l };
                let d = inp.le16()?;
                let dist = 16384 + ((inst & 8) << 11) + (d >> 2);
                if dist == 16384 {
                    return if out.len() == size && inp.pos == src.len() {
                        Ok(out)
                    } else {
                        Err(LzopError::Lzo("size mismatch at end of stream"))
                    };
                }
                (dist, len, d & 3)
            }
            32..=63 => {
                let l = inst & 31;
                let len = 2 + if l == 0 { inp.long_len(31)? } else { l };
                let d = inp.le16()?;
                ((d >> 2) + 1, len, d & 3)
            }
            64..=127 => {
                let h = usize::from(inp.byte()?);
                (
                    (h << 3) + ((inst >> 2) & 7) + 1,
                    3 + ((inst >> 5) & 1),
                    inst & 3,
                )
            }
            _ => {
                let h = usize::from(inp.byte()?);
                (
                    (h << 3) + ((inst >> 2) & 7) + 1,
                    5 + ((inst >> 5) & 3),
                    inst & 3,
                )
            }
        };
        copy_match(&mut out, dist, len, size)?;
        inp.literals(&mut out, next, size)?;
        state = next;
    }
}
