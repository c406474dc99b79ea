//! Memory images: a QEMU migration stream saved at the moment worth keeping, and where its
//! bytes are.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// How an Olive memory image file is compressed (the transforms are in `crate::codec`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// The raw migration stream.
    None,
    /// An LZ4 frame (lz4_flex).
    Lz4,
    /// Zstandard at level 3.
    Zstd,
    /// xz (LZMA2) at preset 6; for reference, as VMNetX's packages used it.
    Xz,
}

impl Codec {
    /// The default for new packages; `resume-bench` measured lz4 to load fastest.
    pub const DEFAULT: Codec = Codec::Lz4;
    /// Every codec, in the order `package create --codec` lists them.
    pub const ALL: [Codec; 4] = [Codec::None, Codec::Lz4, Codec::Zstd, Codec::Xz];

    /// The name in manifests, the API and `--codec`.
    pub fn name(self) -> &'static str {
        match self {
            Codec::None => "none",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zstd",
            Codec::Xz => "xz",
        }
    }

    /// The file name extension used by `package create`.
    pub fn extension(self) -> &'static str {
        match self {
            Codec::None => "raw",
            Codec::Lz4 => "lz4",
            Codec::Zstd => "zst",
            Codec::Xz => "xz",
        }
    }

    /// The codec called `s` ([`Codec::name`]), if any.
    pub fn from_name(s: &str) -> Option<Codec> {
        Codec::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// Bytes that are read at launch from somewhere other than a local file (a range of a
/// remote file, pinned when the launch began).
pub trait ByteStream: Send + Sync + std::fmt::Debug {
    /// A blocking reader over all the bytes, for a blocking thread of a tokio runtime.
    fn open(&self) -> std::io::Result<Box<dyn Read + Send>>;
}

/// Where a memory image's bytes are.
#[derive(Clone, Debug)]
pub enum ImageBytes {
    /// A local file (a package on this machine).
    File(PathBuf),
    /// Bytes fetched as they are read (a package at a URL).
    Stream(Arc<dyn ByteStream>),
}

impl ImageBytes {
    /// A blocking reader over the image.
    pub fn open(&self) -> std::io::Result<Box<dyn Read + Send>> {
        match self {
            ImageBytes::File(p) => Ok(Box::new(std::io::BufReader::with_capacity(
                1 << 20,
                std::fs::File::open(p)?,
            ))),
            ImageBytes::Stream(s) => s.open(),
        }
    }
}

/// How the stream is wrapped in the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    /// An Olive image: the stream compressed with `codec`; loading never feeds QEMU more
    /// than `uncompressed_size` bytes, and progress counts bytes fed.
    Olive {
        /// How the stream is compressed.
        codec: Codec,
        /// The migration stream's length: the most that is fed to QEMU.
        uncompressed_size: u64,
    },
    /// A VMNetX image: libvirt's save header and xz/lzop around the stream, unwrapped
    /// while it streams. The unwrapped length is not known ahead, so progress counts the
    /// `wrapped_size` bytes read.
    Libvirt {
        /// The file's length as stored: the denominator of progress.
        wrapped_size: u64,
    },
}

/// A memory image to resume from.
#[derive(Clone, Debug)]
pub struct MemoryImage {
    /// Where the bytes are.
    pub bytes: ImageBytes,
    /// How the migration stream is wrapped in them.
    pub format: ImageFormat,
    /// Lowercase hex SHA-256 of the file as stored, checked while loading (before the
    /// guest runs); VMNetX images carry none.
    pub sha256: Option<String>,
}

impl MemoryImage {
    /// The denominator of `startup-progress`.
    pub fn progress_total(&self) -> u64 {
        match self.format {
            ImageFormat::Olive {
                uncompressed_size, ..
            } => uncompressed_size,
            ImageFormat::Libvirt { wrapped_size } => wrapped_size,
        }
    }
}
