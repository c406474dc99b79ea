//! The single error type shared by every decoder.
//!
//! Each variant names *which* validation failed so a caller can log something actionable
//! when a server (or an attacker) sends a malformed image; nothing here is recoverable
//! by retrying, so there is no finer-grained classification.

/// Why an image or cursor could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Zero-sized or over-wide/over-tall images are never produced by a sane server.
    #[error("invalid dimensions {width}x{height}")]
    BadDimensions {
        /// Claimed width in pixels.
        width: u32,
        /// Claimed height in pixels.
        height: u32,
    },
    /// The image would exceed [`crate::MAX_IMAGE_PIXELS`]; rejected before allocating.
    #[error("image {width}x{height} exceeds the pixel limit")]
    TooLarge {
        /// Claimed width in pixels.
        width: u32,
        /// Claimed height in pixels.
        height: u32,
    },
    /// The input ended before the decoder had everything it needed.
    #[error("truncated input: needed {needed} bytes, have {available}")]
    Truncated {
        /// Bytes (or a lower bound on them) the decoder required.
        needed: u64,
        /// Bytes actually present.
        available: u64,
    },
    /// The row stride is inconsistent with the width and pixel format.
    #[error("bad stride {stride} for width {width}")]
    BadStride {
        /// Claimed stride in bytes.
        stride: u32,
        /// Width in pixels it was checked against.
        width: u32,
    },
    /// Unknown SPICE bitmap format number.
    #[error("unknown bitmap format {0}")]
    UnknownFormat(u8),
    /// The LZ header does not start with the "  ZL" magic.
    #[error("bad LZ magic {0:#010x}")]
    BadMagic(u32),
    /// The LZ header carries a version this decoder does not know.
    #[error("unsupported LZ version {0:#010x}")]
    BadVersion(u32),
    /// LZ image type outside 1..=11.
    #[error("unknown LZ type {0}")]
    UnknownLzType(u32),
    /// The LZ type is valid but not the one this entry point decodes.
    #[error("LZ type {0} not accepted here")]
    WrongLzType(u32),
    /// An indexed format was given no palette.
    #[error("palette required but missing")]
    MissingPalette,
    /// A pixel referenced a palette entry that does not exist.
    #[error("palette index {index} out of range (palette has {len} entries)")]
    PaletteIndex {
        /// The offending index.
        index: u32,
        /// Number of entries in the palette.
        len: u32,
    },
    /// An LZ match points before the first unit of the image.
    #[error("LZ match at unit {position} reaches back {distance} units, before the start")]
    MatchBeforeStart {
        /// Unit position of the match.
        position: u64,
        /// Distance back, in units.
        distance: u64,
    },
    /// An LZ token would produce more units than the image holds.
    #[error("LZ token at unit {position} of {total} overshoots by producing {count} units")]
    Overshoot {
        /// Unit position of the token.
        position: u64,
        /// Units the token would produce.
        count: u64,
        /// Units the pass must produce in total.
        total: u64,
    },
    /// Bytes remain after the last LZ pass; the reference treats this as corruption.
    #[error("{0} trailing bytes after the LZ stream")]
    TrailingBytes(u64),
    /// The target image passed to an in-place decoder has different dimensions.
    #[error("dimension mismatch: stream is {stream_width}x{stream_height}, target is {target_width}x{target_height}")]
    SizeMismatch {
        /// Width claimed by the stream.
        stream_width: u32,
        /// Height claimed by the stream.
        stream_height: u32,
        /// Width of the target image.
        target_width: u32,
        /// Height of the target image.
        target_height: u32,
    },
    /// A well-formed input of a kind this crate deliberately does not decode.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}
