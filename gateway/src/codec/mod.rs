//! The transforms of memory images: the codecs Olive packages are compressed with, and
//! VMNetX's libvirt save format ([`libvirt`], with its [`lzop`] container).
//!
//! A memory image is decompressed on the critical path of every resume, so the codec is
//! chosen for decompression speed, not ratio (VMNetX shipped xz and then recompressed to
//! lzop on first use because xz decoded about twice as slowly). `resume-bench` measures
//! the candidates on a real migration stream; [`Codec::DEFAULT`] follows its numbers. The
//! codec names themselves are data and live in [`crate::model::memory`].

pub mod libvirt;
pub mod lzop;

use std::io::{Read, Write};

pub use crate::model::Codec;

/// Zstandard level: fast to compress, and zstd decodes at the same speed at any level.
const ZSTD_LEVEL: i32 = 3;
const XZ_PRESET: u32 = 6;
/// Most memory an xz decoder may take: a hostile header cannot ask for more (xz -9 needs
/// about 65 MiB).
const XZ_MEMLIMIT: u64 = 256 << 20;

/// An xz decoder for `r` whose memory is bounded by `XZ_MEMLIMIT` (256 MiB).
pub fn xz_decoder<R: Read>(r: R) -> std::io::Result<xz2::read::XzDecoder<R>> {
    let stream =
        xz2::stream::Stream::new_stream_decoder(XZ_MEMLIMIT, 0).map_err(std::io::Error::other)?;
    Ok(xz2::read::XzDecoder::new_stream(r, stream))
}

impl Codec {
    /// A reader yielding the decompressed stream of `r`.
    pub fn decoder<'a>(
        self,
        r: Box<dyn Read + Send + 'a>,
    ) -> std::io::Result<Box<dyn Read + Send + 'a>> {
        Ok(match self {
            Codec::None => r,
            Codec::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(r)),
            Codec::Zstd => Box::new(zstd::stream::read::Decoder::new(r)?),
            Codec::Xz => Box::new(xz_decoder(r)?),
        })
    }

    /// A writer compressing into `w`; call [`Encoder::finish`] at the end.
    pub fn encoder<'a, W: Write + Send + 'a>(self, w: W) -> std::io::Result<Encoder<'a, W>> {
        Ok(match self {
            Codec::None => Encoder::None(w),
            Codec::Lz4 => Encoder::Lz4(lz4_flex::frame::FrameEncoder::new(w)),
            Codec::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(w, ZSTD_LEVEL)?),
            Codec::Xz => Encoder::Xz(xz2::write::XzEncoder::new(w, XZ_PRESET)),
        })
    }
}

/// A compressing writer of any [`Codec`].
pub enum Encoder<'a, W: Write> {
    /// No compression: bytes pass through.
    None(W),
    /// An LZ4 frame.
    Lz4(lz4_flex::frame::FrameEncoder<W>),
    /// A Zstandard stream.
    Zstd(zstd::stream::write::Encoder<'a, W>),
    /// An xz stream.
    Xz(xz2::write::XzEncoder<W>),
}

impl<W: Write> Write for Encoder<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Encoder::None(w) => w.write(buf),
            Encoder::Lz4(w) => w.write(buf),
            Encoder::Zstd(w) => w.write(buf),
            Encoder::Xz(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Encoder::None(w) => w.flush(),
            Encoder::Lz4(w) => w.flush(),
            Encoder::Zstd(w) => w.flush(),
            Encoder::Xz(w) => w.flush(),
        }
    }
}

impl<W: Write> Encoder<'_, W> {
    /// Writes the trailer and returns the inner writer.
    pub fn finish(self) -> std::io::Result<W> {
        match self {
            Encoder::None(w) => Ok(w),
            Encoder::Lz4(w) => w.finish().map_err(std::io::Error::other),
            Encoder::Zstd(w) => w.finish(),
            Encoder::Xz(w) => w.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_round_trips() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        for c in Codec::ALL {
            let mut enc = c.encoder(Vec::new()).unwrap();
            enc.write_all(&data).unwrap();
            let packed = enc.finish().unwrap();
            let mut out = Vec::new();
            c.decoder(Box::new(&packed[..]))
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, data, "{}", c.name());
            assert_eq!(Codec::from_name(c.name()), Some(c));
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for c in [Codec::Lz4, Codec::Zstd, Codec::Xz] {
            let junk = vec![0x5au8; 4096];
            let mut out = Vec::new();
            let r = c
                .decoder(Box::new(&junk[..]))
                .and_then(|mut d| d.read_to_end(&mut out));
            assert!(r.is_err(), "{}", c.name());
        }
    }
}
