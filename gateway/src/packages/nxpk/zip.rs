//! Just enough ZIP for `.nxpk` packages: find the central directory (zip64 included) and the
//! data offset of each stored member, without reading member data.
//!
//! Works on byte ranges handed in by the caller, so the same code reads a local file or a
//! remote package through range requests. That is why it is ours: the `zip` crate reads
//! through `Read + Seek` over the whole archive and decompresses, where a remote package
//! needs only its tail and central directory fetched (a few KiB of a multi-GiB file) and
//! its members are served in place, never extracted. VMNetX requires every referenced
//! member to be stored (method 0) and unencrypted; that is checked when a member is looked
//! up.

/// A member of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The member's path in the archive.
    pub name: String,
    /// The compression method (0 = stored, the only one we read).
    pub method: u16,
    /// The general-purpose flags (bit 0 = encrypted).
    pub flags: u16,
    /// Bytes as stored in the archive.
    pub compressed_size: u64,
    /// Bytes once extracted (equal to `compressed_size` for a stored member).
    pub size: u64,
    /// Where the member's local header starts.
    pub header_offset: u64,
}

/// Why the archive cannot be read; every offset and length in it is untrusted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ZipError {
    /// No end-of-central-directory record in the file's tail.
    #[error("not a zip file (no end of central directory record)")]
    NoEocd,
    /// A record is truncated, has a bad signature, or points outside the file.
    #[error("zip: {0}")]
    Corrupt(&'static str),
    /// The archive spans several files, which packages never do.
    #[error("zip: multi-disk archives are not supported")]
    MultiDisk,
    /// A member the manifest names is not in the archive.
    #[error("package member {0:?} is missing")]
    Missing(String),
    /// A member is not stored as is, so it cannot be read by range.
    #[error("package member {0:?} is compressed or encrypted; VMNetX packages store members")]
    NotStored(String),
}

const EOCD_SIG: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
/// EOCD (22) + the longest comment (65535).
pub const MAX_TAIL: u64 = 22 + 65535;
/// Bound on the central directory we are willing to read (a package has 4 members).
pub const MAX_CENTRAL_DIR: u64 = 1 << 20;
/// Length of a local file header before its name and extra field.
pub const LOCAL_HEADER_LEN: u64 = 30;
const ZIP64_LOCATOR_LEN: u64 = 20;
const ZIP64_EOCD_LEN: u64 = 56;

fn u16_at(b: &[u8], o: usize) -> Result<u16, ZipError> {
    b.get(o..o + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or(ZipError::Corrupt("record truncated"))
}

fn u32_at(b: &[u8], o: usize) -> Result<u32, ZipError> {
    b.get(o..o + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(ZipError::Corrupt("record truncated"))
}

fn u64_at(b: &[u8], o: usize) -> Result<u64, ZipError> {
    b.get(o..o + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or(ZipError::Corrupt("record truncated"))
}

/// Where the central directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Directory {
    /// Where the central directory starts.
    pub offset: u64,
    /// Its length in bytes (at most [`MAX_CENTRAL_DIR`]).
    pub size: u64,
    /// How many entries it says it has.
    pub entries: u64,
}

/// What to read next after looking at the file's tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// The classic end record located the directory.
    Found(Directory),
    /// A zip64 archive: read `ZIP64_EOCD_LEN` bytes at this offset and call [`parse_zip64_eocd`].
    Zip64At(u64),
}

/// Finds the end-of-central-directory record in `tail`, the last bytes of a file of
/// `file_size` bytes (read `min(file_size, MAX_TAIL)` of them).
pub fn parse_tail(tail: &[u8], file_size: u64) -> Result<Tail, ZipError> {
    let tail_start = file_size
        .checked_sub(tail.len() as u64)
        .ok_or(ZipError::Corrupt("tail longer than file"))?;
    let pos = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| {
            u32_at(tail, i) == Ok(EOCD_SIG)
                && i + 22 + usize::from(u16_at(tail, i + 20).unwrap_or(u16::MAX)) == tail.len()
        })
        .ok_or(ZipError::NoEocd)?;
    let disk = u16_at(tail, pos + 4)?;
    let cd_disk = u16_at(tail, pos + 6)?;
    let entries = u16_at(tail, pos + 10)?;
    let size = u32_at(tail, pos + 12)?;
    let offset = u32_at(tail, pos + 16)?;
    if entries == u16::MAX || size == u32::MAX || offset == u32::MAX {
        let loc = pos
            .checked_sub(ZIP64_LOCATOR_LEN as usize)
            .ok_or(ZipError::Corrupt("zip64 locator missing"))?;
        if u32_at(tail, loc)? != ZIP64_LOCATOR_SIG {
            return Err(ZipError::Corrupt("zip64 locator missing"));
        }
        if u32_at(tail, loc + 16)? > 1 {
            return Err(ZipError::MultiDisk);
        }
        let at = u64_at(tail, loc + 8)?;
        if at
            .checked_add(ZIP64_EOCD_LEN)
            .is_none_or(|e| e > tail_start + loc as u64)
        {
            return Err(ZipError::Corrupt("zip64 record out of bounds"));
        }
        return Ok(Tail::Zip64At(at));
    }
    if disk != 0 || cd_disk != 0 {
        return Err(ZipError::MultiDisk);
    }
    let dir = Directory {
        offset: u64::from(offset),
        size: u64::from(size),
        entries: u64::from(entries),
    };
    check_dir(dir, tail_start + pos as u64)
}

fn check_dir(dir: Directory, limit: u64) -> Result<Tail, ZipError> {
    if dir.size > MAX_CENTRAL_DIR {
        return Err(ZipError::Corrupt("central directory too large"));
    }
    if dir.offset.checked_add(dir.size).is_none_or(|e| e > limit) {
        return Err(ZipError::Corrupt("central directory out of bounds"));
    }
    Ok(Tail::Found(dir))
}

/// Parses the zip64 end-of-central-directory record read at the offset [`Tail::Zip64At`] gave.
pub fn parse_zip64_eocd(rec: &[u8], record_offset: u64) -> Result<Directory, ZipError> {
    if u32_at(rec, 0)? != ZIP64_EOCD_SIG {
        return Err(ZipError::Corrupt("bad zip64 end record"));
    }
    if u32_at(rec, 16)? != 0 || u32_at(rec, 20)? != 0 {
        return Err(ZipError::MultiDisk);
    }
    let dir = Directory {
        entries: u64_at(rec, 32)?,
        size: u64_at(rec, 40)?,
        offset: u64_at(rec, 48)?,
    };
    match check_dir(dir, record_offset)? {
        Tail::Found(d) => Ok(d),
        Tail::Zip64At(_) => Err(ZipError::Corrupt("bad zip64 end record")),
    }
}

/// Parses the central directory bytes into entries.
pub fn parse_central_directory(cd: &[u8], expected: u64) -> Result<Vec<Entry>, ZipError> {
    let mut entries = Vec::new();
    let mut p = 0usize;
    while p < cd.len() {
        if u32_at(cd, p)? != CENTRAL_SIG {
            return Err(ZipError::Corrupt("bad central directory entry"));
        }
        let flags = u16_at(cd, p + 8)?;
        let method = u16_at(cd, p + 10)?;
        let mut compressed_size = u64::from(u32_at(cd, p + 20)?);
        let mut size = u64::from(u32_at(cd, p + 24)?);
        let name_len = usize::from(u16_at(cd, p + 28)?);
        let extra_len = usize::from(u16_at(cd, p + 30)?);
        let comment_len = usize::from(u16_at(cd, p + 32)?);
        let mut header_offset = u64::from(u32_at(cd, p + 42)?);
        let name_at = p + 46;
        let name = cd
            .get(name_at..name_at + name_len)
            .ok_or(ZipError::Corrupt("name truncated"))?;
        let extra = cd
            .get(name_at + name_len..name_at + name_len + extra_len)
            .ok_or(ZipError::Corrupt("extra field truncated"))?;
        zip64_extra(extra, &mut size, &mut compressed_size, &mut header_offset)?;
        entries.push(Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            method,
            flags,
            compressed_size,
            size,
            header_offset,
        });
        p = name_at + name_len + extra_len + comment_len;
    }
    if entries.len() as u64 != expected {
        return Err(ZipError::Corrupt("entry count mismatch"));
    }
    Ok(entries)
}

/// Replaces saturated 32-bit fields with the zip64 extra field's values, in the order the
/// format lists them (only those saturated are present).
fn zip64_extra(
    mut extra: &[u8],
    size: &mut u64,
    csize: &mut u64,
    offset: &mut u64,
) -> Result<(), ZipError> {
    while extra.len() >= 4 {
        let id = u16_at(extra, 0)?;
        let len = usize::from(u16_at(extra, 2)?);
        let body = extra
            .get(4..4 + len)
            .ok_or(ZipError::Corrupt("extra field truncated"))?;
        if id == 1 {
            let mut at = 0;
            for field in [size, csize, offset] {
                if *field == u64::from(u32::MAX) {
                    *field = u64_at(body, at)?;
                    at += 8;
                }
            }
            return Ok(());
        }
        extra = &extra[4 + len..];
    }
    Ok(())
}

/// The member named `name`, checked to be stored and unencrypted.
pub fn stored<'a>(entries: &'a [Entry], name: &str) -> Result<&'a Entry, ZipError> {
    let e = entries
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| ZipError::Missing(name.to_owned()))?;
    if e.method != 0 || e.flags & 1 != 0 || e.compressed_size != e.size {
        return Err(ZipError::NotStored(name.to_owned()));
    }
    Ok(e)
}

/// Offset of a member's data from its 30-byte local header (`header_offset + 30 + name +
/// extra`, as VMNetX computes it).
pub fn data_offset(entry: &Entry, local_header: &[u8], file_size: u64) -> Result<u64, ZipError> {
    if u32_at(local_header, 0)? != LOCAL_SIG {
        return Err(ZipError::Corrupt("bad local file header"));
    }
    let name_len = u64::from(u16_at(local_header, 26)?);
    let extra_len = u64::from(u16_at(local_header, 28)?);
    let start = entry.header_offset + LOCAL_HEADER_LEN + name_len + extra_len;
    if start.checked_add(entry.size).is_none_or(|e| e > file_size) {
        return Err(ZipError::Corrupt("member data out of bounds"));
    }
    Ok(start)
}
