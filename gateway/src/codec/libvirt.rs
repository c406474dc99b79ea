//! VMNetX memory images: libvirt's QEMU save format around a (compressed) QEMU migration
//! stream.
//!
//! Layout (native endian; x86 so little-endian): 16-byte magic `LibvirtQemudSave`, then 19
//! u32 — version (2), xml_len (XML plus NUL padding), was_running, compressed, 15 unused
//! (zero) — then the domain XML, then the migration stream compressed as `compressed` says.
//! Unwrapping yields the raw stream that QEMU loads with `-incoming`.

use std::io::{BufRead, BufReader, Read, Write};

use super::lzop;

/// The first 16 bytes of every libvirt QEMU save image.
pub const MAGIC: &[u8; 16] = b"LibvirtQemudSave";
/// Bytes before the XML.
pub const HEADER_LEN: usize = 16 + 19 * 4;
/// VMNetX pads the XML to ≥ 8 KiB extra; anything near this bound is not a real header.
pub const MAX_XML: u32 = 16 << 20;

/// How the migration stream is compressed (libvirt's numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Compression {
    /// The stream as QEMU wrote it.
    Raw,
    /// gzip (not read: VMNetX never used it).
    Gzip,
    /// bzip2 (not read: VMNetX never used it).
    Bzip2,
    /// xz, as VMNetX's packages mostly are.
    Xz,
    /// lzop, which VMNetX used for faster restores.
    Lzop,
}

/// libvirt's save header in front of a memory image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaveHeader {
    /// Whether the domain was running when saved (it resumes running either way).
    pub was_running: bool,
    /// How the stream after the header is compressed.
    pub compression: Compression,
    /// The domain XML embedded at save time (NUL padding removed).
    pub xml: String,
    /// Offset of the migration stream from the start of the image.
    pub data_offset: u64,
}

/// Why a VMNetX memory image cannot be unwrapped; every header field is untrusted.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// The file does not start with [`MAGIC`].
    #[error("memory image: not a libvirt save image (bad magic)")]
    Magic,
    /// The file ends inside the header.
    #[error("memory image: truncated header")]
    Truncated,
    /// A save format version other than 2.
    #[error("memory image: unsupported save format version {0} (expected 2)")]
    Version(u32),
    /// The header's XML length is zero or over [`MAX_XML`].
    #[error("memory image: header XML length {0} out of bounds")]
    XmlLength(u32),
    /// The header's XML is not UTF-8.
    #[error("memory image: header XML is not UTF-8")]
    XmlEncoding,
    /// A reserved header word (its index) is not zero.
    #[error("memory image: non-zero reserved header field {0}")]
    Reserved(usize),
    /// A compression id libvirt does not define.
    #[error("memory image: unknown compression id {0}")]
    UnknownCompression(u32),
    /// A compression libvirt defines but we do not read.
    #[error("memory image: {0:?} compression is not supported (only raw, xz and lzop)")]
    UnsupportedCompression(Compression),
    /// The xz stream is corrupt.
    #[error("memory image: xz: {0}")]
    Xz(std::io::Error),
    // Plain fields, not sources: the message already carries the cause, and a source
    // would make error chains print it twice.
    /// The lzop stream is corrupt.
    #[error("memory image: {0}")]
    Lzop(lzop::LzopError),
    /// Reading the image failed.
    #[error("memory image: {0}")]
    Io(std::io::Error),
}

impl From<lzop::LzopError> for MemoryError {
    fn from(e: lzop::LzopError) -> Self {
        MemoryError::Lzop(e)
    }
}

impl From<std::io::Error> for MemoryError {
    fn from(e: std::io::Error) -> Self {
        MemoryError::Io(e)
    }
}

fn le32(b: &[u8], i: usize) -> u32 {
    let o = 16 + 4 * i;
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

/// Parses the fixed part of the header; returns (compression, was_running, xml_len).
pub fn parse_fixed(b: &[u8]) -> Result<(Compression, bool, u32), MemoryError> {
    if b.len() < HEADER_LEN {
        return Err(if b.len() >= 16 && &b[..16] != MAGIC {
            MemoryError::Magic
        } else {
            MemoryError::Truncated
        });
    }
    if &b[..16] != MAGIC {
        return Err(MemoryError::Magic);
    }
    let version = le32(b, 0);
    if version != 2 {
        return Err(MemoryError::Version(version));
    }
    let xml_len = le32(b, 1);
    if xml_len == 0 || xml_len > MAX_XML {
        return Err(MemoryError::XmlLength(xml_len));
    }
    if let Some(i) = (4..19).find(|&i| le32(b, i) != 0) {
        return Err(MemoryError::Reserved(i));
    }
    let compression = match le32(b, 3) {
        0 => Compression::Raw,
        1 => Compression::Gzip,
        2 => Compression::Bzip2,
        3 => Compression::Xz,
        4 => Compression::Lzop,
        n => return Err(MemoryError::UnknownCompression(n)),
    };
    Ok((compression, le32(b, 2) != 0, xml_len))
}

/// Reads the whole header from `r`, leaving it at the migration stream.
pub fn read_header<R: Read>(r: &mut R) -> Result<SaveHeader, MemoryError> {
    let mut fixed = [0u8; HEADER_LEN];
    r.read_exact(&mut fixed).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => MemoryError::Truncated,
        _ => MemoryError::Io(e),
    })?;
    let (compression, was_running, xml_len) = parse_fixed(&fixed)?;
    let mut xml = Vec::new();
    r.by_ref().take(u64::from(xml_len)).read_to_end(&mut xml)?;
    if xml.len() != xml_len as usize {
        return Err(MemoryError::Truncated);
    }
    let end = xml.iter().position(|&c| c == 0).unwrap_or(xml.len());
    xml.truncate(end);
    let xml = String::from_utf8(xml).map_err(|_| MemoryError::XmlEncoding)?;
    Ok(SaveHeader {
        was_running,
        compression,
        xml,
        data_offset: (HEADER_LEN as u64) + u64::from(xml_len),
    })
}

/// Unwraps a memory image: parses the header and writes the decompressed QEMU migration
/// stream to `out`. Returns the header and the stream length. Synchronous: run it on a
/// blocking thread (bridging an async source with `tokio_util::io::SyncIoBridge`).
pub fn unwrap<R: Read, W: Write>(r: R, out: &mut W) -> Result<(SaveHeader, u64), MemoryError> {
    let mut r = BufReader::with_capacity(1 << 20, r);
    let header = read_header(&mut r)?;
    let n = match header.compression {
        Compression::Raw => std::io::copy(&mut r, out)?,
        Compression::Xz => xz(&mut r, out)?,
        Compression::Lzop => lzop::decompress(&mut r, out)?,
        c => return Err(MemoryError::UnsupportedCompression(c)),
    };
    Ok((header, n))
}

/// The same bounded xz decoder as Olive packages use ([`super::xz_decoder`]).
fn xz<R: BufRead, W: Write>(r: &mut R, out: &mut W) -> Result<u64, MemoryError> {
    let mut d = super::xz_decoder(r).map_err(MemoryError::Xz)?;
    std::io::copy(&mut d, out).map_err(MemoryError::Xz)
}

/// Builds a save image around `stream` (for tests and for re-packing): XML padded with NULs
/// so the stream starts 4 KiB-aligned, as `vmnetx-generate` does.
pub fn wrap_header(xml: &str, compression: Compression, was_running: bool) -> Vec<u8> {
    let id = match compression {
        Compression::Raw => 0u32,
        Compression::Gzip => 1,
        Compression::Bzip2 => 2,
        Compression::Xz => 3,
        Compression::Lzop => 4,
    };
    let min = HEADER_LEN + xml.len() + 1 + 8192;
    let total = min.div_ceil(4096) * 4096;
    let xml_len = (total - HEADER_LEN) as u32;
    let mut h = MAGIC.to_vec();
    for v in [2u32, xml_len, u32::from(was_running), id] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    h.resize(HEADER_LEN, 0);
    h.extend_from_slice(xml.as_bytes());
    h.resize(total, 0);
    h
}
