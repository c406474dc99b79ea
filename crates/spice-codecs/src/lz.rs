//! SPICE LZ decoding (LZ_RGB, LZ_PLT and the alpha plane of JPEG_ALPHA).
//!
//! Design: pixel types are decoded in stream order straight into the RGBA output (a
//! match copies already-converted pixels, which is equivalent because the conversion is
//! per unit) and flipped afterwards when the stream is bottom-up, since back-references
//! are defined in stream order. Palette types are decoded to their packed bytes first,
//! because a match may start mid-byte in pixel terms; the rows are then expanded in
//! display order.
//!
//! Malformed streams are rejected strictly: overshooting tokens, references before the
//! start, and trailing bytes are all errors.

use crate::indexed::{IndexedRows, Packing};
use crate::palette::Palette;
use crate::pixel::rgb16_to_rgba;
use crate::rgba::pixel_count;
use crate::{CodecError, Rgba};

/// First header word; the bytes "  ZL" on the wire.
pub const LZ_MAGIC: u32 = 0x2020_5A4C;
/// The only header version servers emit.
pub const LZ_VERSION: u32 = 0x0001_0001;

/// The reference's cap on `stride * height`.
const MAX_STREAM_BYTES: u64 = (1 << 30) - 1;

/// Most units a single input byte can produce (a 255 length-extension byte), used to
/// reject headers whose size is implausible for the body before allocating for them.
const MAX_UNITS_PER_BYTE: u64 = 255;

/// LZ image types, numbered as in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum LzType {
    /// 1 bpp palette, bit 0 first.
    Plt1Le = 1,
    /// 1 bpp palette, bit 7 first.
    Plt1Be = 2,
    /// 4 bpp palette, low nibble first.
    Plt4Le = 3,
    /// 4 bpp palette, high nibble first.
    Plt4Be = 4,
    /// 8 bpp palette.
    Plt8 = 5,
    /// x1r5g5b5 pixels, literals big-endian.
    Rgb16 = 6,
    /// 24-bit pixels.
    Rgb24 = 7,
    /// 32-bit pixels (X not coded).
    Rgb32 = 8,
    /// 32-bit pixels, then an alpha pass.
    Rgba = 9,
    /// Alpha pass only, applied to an existing image (JPEG_ALPHA).
    Xxxa = 10,
    /// 8-bit alpha.
    A8 = 11,
}

impl TryFrom<u32> for LzType {
    type Error = CodecError;

    fn try_from(v: u32) -> Result<Self, CodecError> {
        Ok(match v {
            1 => LzType::Plt1Le,
            2 => LzType::Plt1Be,
            3 => LzType::Plt4Le,
            4 => LzType::Plt4Be,
            5 => LzType::Plt8,
            6 => LzType::Rgb16,
            7 => LzType::Rgb24,
            8 => LzType::Rgb32,
            9 => LzType::Rgba,
            10 => LzType::Xxxa,
            11 => LzType::A8,
            _ => return Err(CodecError::UnknownLzType(v)),
        })
    }
}

impl LzType {
    /// Palette types code packed bytes rather than pixels.
    pub(crate) fn packing(self) -> Option<Packing> {
        match self {
            LzType::Plt1Le => Some(Packing::OneLe),
            LzType::Plt1Be => Some(Packing::OneBe),
            LzType::Plt4Le => Some(Packing::FourLe),
            LzType::Plt4Be => Some(Packing::FourBe),
            LzType::Plt8 => Some(Packing::Eight),
            _ => None,
        }
    }

    /// Whether a palette must accompany the stream.
    pub fn is_palette(self) -> bool {
        self.packing().is_some()
    }

    /// Source bytes per pixel for non-palette types; the stride must equal width × this.
    pub(crate) fn bytes_per_pixel(self) -> u32 {
        match self {
            LzType::Rgb16 => 2,
            LzType::Rgb24 => 3,
            LzType::A8 => 1,
            _ => 4,
        }
    }

    /// Added to the length field to get the match count; the encoder's minimum match is
    /// longer for cheap units, so the bias differs per type.
    pub(crate) fn bias(self) -> usize {
        match self {
            LzType::Rgb24 | LzType::Rgb32 | LzType::Rgba => 0,
            LzType::Rgb16 => 1,
            _ => 2,
        }
    }
}

/// Bias of the RGBA type's second (alpha) pass.
pub(crate) const ALPHA_BIAS: usize = 2;

/// The validated 28-byte LZ header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LzHeader {
    /// Image type.
    pub kind: LzType,
    /// Width in pixels.
    pub width: u32,
    /// Height in rows.
    pub height: u32,
    /// Bytes per source row.
    pub stride: u32,
    /// Whether the first coded row is the top row.
    pub top_down: bool,
}

impl LzHeader {
    /// Encoded size.
    pub const LEN: usize = 28;

    /// Parses and validates the header at the start of `data`.
    ///
    /// Validation follows the reference (magic, version, type, stride rules, the 2^30
    /// cap) plus this crate's dimension limits, so a successful parse means the image can
    /// be allocated.
    pub fn parse(data: &[u8]) -> Result<LzHeader, CodecError> {
        let head = data.get(..Self::LEN).ok_or(CodecError::Truncated {
            needed: Self::LEN as u64,
            available: data.len() as u64,
        })?;
        let mut w = [0u32; 7];
        for (v, c) in w.iter_mut().zip(head.chunks_exact(4)) {
            *v = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        }
        let [magic, version, kind, width, height, stride, top_down] = w;
        if magic != LZ_MAGIC {
            return Err(CodecError::BadMagic(magic));
        }
        if version != LZ_VERSION {
            return Err(CodecError::BadVersion(version));
        }
        let kind = LzType::try_from(kind)?;
        pixel_count(width, height)?;
        let expected_stride = match kind.packing() {
            Some(p) => u64::from(p.row_bytes(width)),
            None => u64::from(width) * u64::from(kind.bytes_per_pixel()),
        };
        if u64::from(stride) != expected_stride
            || u64::from(stride) * u64::from(height) > MAX_STREAM_BYTES
        {
            return Err(CodecError::BadStride { stride, width });
        }
        Ok(LzHeader {
            kind,
            width,
            height,
            stride,
            top_down: top_down != 0,
        })
    }

    /// The header's wire form.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let words = [
            LZ_MAGIC,
            LZ_VERSION,
            self.kind as u32,
            self.width,
            self.height,
            self.stride,
            u32::from(self.top_down),
        ];
        let mut out = [0u8; Self::LEN];
        for (c, w) in out.chunks_exact_mut(4).zip(words) {
            c.copy_from_slice(&w.to_be_bytes());
        }
        out
    }

    /// Units each pass must produce: packed bytes for palette types, pixels otherwise.
    pub fn units_per_pass(&self) -> u64 {
        if self.kind.is_palette() {
            u64::from(self.stride) * u64::from(self.height)
        } else {
            u64::from(self.width) * u64::from(self.height)
        }
    }
}

/// Decodes a complete LZ stream (header and body) of any type except XXXA.
///
/// `palette` is required for the palette types. Output alpha is 255 except for RGBA and
/// A8, which keep the coded alpha (A8 as black with that alpha).
pub fn decode_lz(data: &[u8], palette: Option<&Palette>) -> Result<Rgba, CodecError> {
    let hdr = LzHeader::parse(data)?;
    let mut input = Input::new(data.get(LzHeader::LEN..).unwrap_or(&[]));
    let passes = if hdr.kind == LzType::Rgba { 2 } else { 1 };
    check_plausible(hdr.units_per_pass() * passes, input.data.len())?;

    let img = if let Some(packing) = hdr.kind.packing() {
        decode_palette(&hdr, packing, palette, &mut input)?
    } else {
        let mut img = Rgba::new_checked(hdr.width, hdr.height)?;
        let out = &mut img.pixels[..];
        if hdr.top_down {
            decode_pixels(hdr.kind, &mut input, out, Stream)?;
        } else {
            let lay = Flipped {
                row_units: hdr.width as usize,
                rows: hdr.height as usize,
            };
            decode_pixels(hdr.kind, &mut input, out, lay)?;
        }
        img
    };
    input.finish()?;
    Ok(img)
}

/// Decodes an XXXA stream and writes its alpha into `image`, leaving colour untouched.
///
/// This is the second half of JPEG_ALPHA: `image` is the decoded JPEG (display order) and
/// the stream's rows are mapped through its own top_down flag. `image` is modified only
/// if the whole stream decodes.
pub fn decode_lz_alpha_into(data: &[u8], image: &mut Rgba) -> Result<(), CodecError> {
    let hdr = LzHeader::parse(data)?;
    if hdr.kind != LzType::Xxxa {
        return Err(CodecError::WrongLzType(hdr.kind as u32));
    }
    let w = hdr.width as usize;
    let expected_len = pixel_count(hdr.width, hdr.height)? * 4;
    if hdr.width != image.width || hdr.height != image.height || image.pixels.len() != expected_len
    {
        return Err(CodecError::SizeMismatch {
            stream_width: hdr.width,
            stream_height: hdr.height,
            target_width: image.width,
            target_height: image.height,
        });
    }
    let mut input = Input::new(data.get(LzHeader::LEN..).unwrap_or(&[]));
    check_plausible(hdr.units_per_pass(), input.data.len())?;
    let mut alpha = vec![0u8; expected_len / 4];
    decode_units::<1, 1, Stream>(&mut input, &mut alpha, Stream, hdr.kind.bias(), |s| [s[0]])?;
    input.finish()?;

    let rows = alpha.chunks_exact(w);
    let out_rows = image.pixels.chunks_exact_mut(w * 4);
    let apply = |src: &[u8], out: &mut [u8]| {
        for (o, &a) in out.chunks_exact_mut(4).zip(src) {
            o[3] = a;
        }
    };
    if hdr.top_down {
        rows.zip(out_rows).for_each(|(s, o)| apply(s, o));
    } else {
        rows.rev().zip(out_rows).for_each(|(s, o)| apply(s, o));
    }
    Ok(())
}

/// The pass(es) of a non-palette type, monomorphised per layout so the top-down case
/// pays nothing for row splitting.
fn decode_pixels<L: Layout>(
    kind: LzType,
    input: &mut Input<'_>,
    out: &mut [u8],
    lay: L,
) -> Result<(), CodecError> {
    let bias = kind.bias();
    match kind {
        LzType::Rgb16 => decode_units::<2, 4, L>(input, out, lay, bias, |s| {
            rgb16_to_rgba(u16::from_be_bytes([s[0], s[1]]))
        }),
        LzType::Rgb24 | LzType::Rgb32 => {
            decode_units::<3, 4, L>(input, out, lay, bias, |s| [s[2], s[1], s[0], 255])
        }
        LzType::Rgba => {
            decode_units::<3, 4, L>(input, out, lay, bias, |s| [s[2], s[1], s[0], 255])?;
            decode_alpha_lane(input, out, lay)
        }
        LzType::A8 => decode_units::<1, 4, L>(input, out, lay, bias, |s| [0, 0, 0, s[0]]),
        _ => Err(CodecError::WrongLzType(kind as u32)),
    }
}

fn decode_palette(
    hdr: &LzHeader,
    packing: Packing,
    palette: Option<&Palette>,
    input: &mut Input<'_>,
) -> Result<Rgba, CodecError> {
    let expander = IndexedRows::new(packing, palette)?;
    let stride = hdr.stride as usize;
    // Bounded: stride ≤ width, and width × height passed the pixel limit.
    let mut raw = vec![0u8; stride * hdr.height as usize];
    decode_units::<1, 1, Stream>(input, &mut raw, Stream, hdr.kind.bias(), |s| [s[0]])?;
    let mut img = Rgba::new_checked(hdr.width, hdr.height)?;
    let row_out = img.row_bytes();
    let rows = raw.chunks_exact(stride);
    let out_rows = img.pixels.chunks_exact_mut(row_out);
    if hdr.top_down {
        for (s, o) in rows.zip(out_rows) {
            expander.expand_row(s, o)?;
        }
    } else {
        for (s, o) in rows.rev().zip(out_rows) {
            expander.expand_row(s, o)?;
        }
    }
    Ok(img)
}

/// Rejects bodies too short to possibly produce `units`, before anything is allocated.
fn check_plausible(units: u64, body_len: usize) -> Result<(), CodecError> {
    if units > MAX_UNITS_PER_BYTE * body_len as u64 {
        return Err(CodecError::Truncated {
            needed: units.div_ceil(MAX_UNITS_PER_BYTE),
            available: body_len as u64,
        });
    }
    Ok(())
}

/// A byte cursor whose reads fail instead of panicking.
/// A byte cursor whose reads fail instead of panicking (shared with GLZ, whose stream
/// grammar extends LZ's).
pub(crate) struct Input<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Input<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Input { data, pos: 0 }
    }

    pub(crate) fn truncated(&self, n: usize) -> CodecError {
        CodecError::Truncated {
            needed: self.pos as u64 + n as u64,
            available: self.data.len() as u64,
        }
    }

    #[inline]
    pub(crate) fn byte(&mut self) -> Result<u8, CodecError> {
        let b = *self.data.get(self.pos).ok_or_else(|| self.truncated(1))?;
        self.pos += 1;
        Ok(b)
    }

    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let data: &'a [u8] = self.data;
        let s = data
            .get(self.pos..)
            .and_then(|rest| rest.get(..n))
            .ok_or_else(|| self.truncated(n))?;
        self.pos += n;
        Ok(s)
    }

    /// The reference asserts exact consumption; leftovers mean a desynchronised stream.
    fn finish(&self) -> Result<(), CodecError> {
        let left = self.data.len().saturating_sub(self.pos);
        if left != 0 {
            return Err(CodecError::TrailingBytes(left as u64));
        }
        Ok(())
    }
}

/// One decoded token; counts and distances are in units.
enum Token {
    Literal(usize),
    Match { count: usize, distance: usize },
}

#[inline]
fn next_token(input: &mut Input<'_>, bias: usize) -> Result<Token, CodecError> {
    let c = input.byte()?;
    if c < 32 {
        return Ok(Token::Literal(usize::from(c) + 1));
    }
    let high = usize::from(c & 31);
    let mut field = usize::from(c >> 5);
    if field == 7 {
        loop {
            let e = input.byte()?;
            field = field.saturating_add(usize::from(e));
            if e != 255 {
                break;
            }
        }
    }
    let o = usize::from(input.byte()?);
    let distance = if high == 31 && o == 255 {
        let x = usize::from(input.byte()?);
        let y = usize::from(input.byte()?);
        256 * x + y + 8192
    } else {
        256 * high + o + 1
    };
    Ok(Token::Match {
        count: field.saturating_add(bias),
        distance,
    })
}

/// Validates a token's extent against the pass; shared by both pass kinds.
#[inline]
fn check_extent(pos: usize, count: usize, total: usize) -> Result<(), CodecError> {
    if count > total - pos {
        return Err(CodecError::Overshoot {
            position: pos as u64,
            count: count as u64,
            total: total as u64,
        });
    }
    Ok(())
}

/// Where stream units land in the output.
///
/// Bottom-up streams are written straight to their display rows instead of being decoded
/// top-down and flipped afterwards, which saves a full pass over the image. Tokens are
/// split at row ends, where the mapping stops being contiguous.
trait Layout: Copy {
    /// Output slot of stream unit `u`.
    fn slot(self, u: usize) -> usize;
    /// Units from `u` until the mapping stops being contiguous.
    fn run(self, u: usize) -> usize;
}

/// Output in stream order.
#[derive(Clone, Copy)]
struct Stream;

impl Layout for Stream {
    #[inline(always)]
    fn slot(self, u: usize) -> usize {
        u
    }

    #[inline(always)]
    fn run(self, _u: usize) -> usize {
        usize::MAX
    }
}

/// Output with rows in reverse stream order.
#[derive(Clone, Copy)]
struct Flipped {
    row_units: usize,
    rows: usize,
}

impl Layout for Flipped {
    #[inline]
    fn slot(self, u: usize) -> usize {
        let (row, col) = (u / self.row_units, u % self.row_units);
        (self.rows - 1 - row) * self.row_units + col
    }

    #[inline]
    fn run(self, u: usize) -> usize {
        self.row_units - u % self.row_units
    }
}

/// Validates a match and returns its source unit.
#[inline]
fn match_source(
    pos: usize,
    count: usize,
    distance: usize,
    total: usize,
) -> Result<usize, CodecError> {
    check_extent(pos, count, total)?;
    if distance > pos {
        return Err(CodecError::MatchBeforeStart {
            position: pos as u64,
            distance: distance as u64,
        });
    }
    Ok(pos - distance)
}

/// One pass whose units occupy whole `OUT`-byte slots of `out`, coded as `IN` literal
/// bytes each and converted by `lit`.
fn decode_units<const IN: usize, const OUT: usize, L: Layout>(
    input: &mut Input<'_>,
    out: &mut [u8],
    lay: L,
    bias: usize,
    lit: impl Fn(&[u8]) -> [u8; OUT],
) -> Result<(), CodecError> {
    let total = out.len() / OUT;
    let mut pos = 0;
    while pos < total {
        match next_token(input, bias)? {
            Token::Literal(n) => {
                check_extent(pos, n, total)?;
                let mut src = input.take(n * IN)?;
                let end = pos + n;
                while pos < end {
                    let seg = (end - pos).min(lay.run(pos));
                    let d = lay.slot(pos) * OUT;
                    let (now, later) = src.split_at(seg * IN);
                    let dst = &mut out[d..d + seg * OUT];
                    for (d, s) in dst.chunks_exact_mut(OUT).zip(now.chunks_exact(IN)) {
                        d.copy_from_slice(&lit(s));
                    }
                    src = later;
                    pos += seg;
                }
            }
            Token::Match { count, distance } => {
                let mut from = match_source(pos, count, distance, total)?;
                let end = pos + count;
                while pos < end {
                    let seg = (end - pos).min(lay.run(pos)).min(lay.run(from));
                    let (s, d) = (lay.slot(from) * OUT, lay.slot(pos) * OUT);
                    if s < d && d - s == distance * OUT {
                        // Contiguous in memory (same row, or stream order): may overlap.
                        copy_back(out, d, distance * OUT, seg * OUT);
                    } else {
                        // Different rows of a flipped image: disjoint pieces.
                        out.copy_within(s..s + seg * OUT, d);
                    }
                    pos += seg;
                    from += seg;
                }
            }
        }
    }
    Ok(())
}

/// Copies `len` bytes to `dst` from `dist` bytes back, with LZ overlap semantics (each
/// byte reads the value written `dist` bytes earlier). Caller guarantees the bounds.
#[inline]
pub(crate) fn copy_back(out: &mut [u8], dst: usize, dist: usize, len: usize) {
    let src = dst - dist;
    if dist >= len {
        out.copy_within(src..src + len, dst);
        return;
    }
    // Overlapping: the region [src, dst + done) is periodic with period `dist`, so it
    // can be copied in chunks that double in size instead of byte by byte.
    let mut done = 0;
    while done < len {
        let n = (len - done).min(dst + done - src);
        out.copy_within(src..src + n, dst + done);
        done += n;
    }
}

/// The RGBA type's second pass: alpha units living in byte 3 of each RGBA pixel, which
/// matches copy only among themselves.
fn decode_alpha_lane<L: Layout>(
    input: &mut Input<'_>,
    out: &mut [u8],
    lay: L,
) -> Result<(), CodecError> {
    let total = out.len() / 4;
    let mut pos = 0;
    while pos < total {
        match next_token(input, ALPHA_BIAS)? {
            Token::Literal(n) => {
                check_extent(pos, n, total)?;
                let mut src = input.take(n)?;
                let end = pos + n;
                while pos < end {
                    let seg = (end - pos).min(lay.run(pos));
                    let d = lay.slot(pos) * 4;
                    let (now, later) = src.split_at(seg);
                    for (px, &a) in out[d..d + seg * 4].chunks_exact_mut(4).zip(now) {
                        px[3] = a;
                    }
                    src = later;
                    pos += seg;
                }
            }
            Token::Match { count, distance } => {
                let mut from = match_source(pos, count, distance, total)?;
                let end = pos + count;
                while pos < end {
                    let seg = (end - pos).min(lay.run(pos)).min(lay.run(from));
                    let (s, d) = (lay.slot(from) * 4, lay.slot(pos) * 4);
                    // Forward unit order gives LZ semantics when the pieces overlap
                    // (same row, source first) and is trivially right when they do not.
                    for i in 0..seg {
                        out[d + i * 4 + 3] = out[s + i * 4 + 3];
                    }
                    pos += seg;
                    from += seg;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
