//! The GLZ token decoder: LZ grammar plus wide offsets and dictionary references.

use super::dictionary::{GlzDictionary, Lookup, StoredImage};
use super::GlzHeader;
use crate::lz::{copy_back, Input, LzType, ALPHA_BIAS};
use crate::pixel::rgb16_to_rgba;
use crate::CodecError;

/// Most units a single input byte can produce (a 255 length-extension byte).
const MAX_UNITS_PER_BYTE: u64 = 255;

/// Outcome of decoding a body.
pub(super) enum Body {
    /// Stream-order RGBA pixels.
    Decoded(Vec<u8>),
    /// A dictionary reference to an image not received yet.
    Missing(u64),
}

/// Decodes the pass(es) of `hdr.kind` from `body` into a new stream-order buffer.
pub(super) fn decode_body(
    hdr: &GlzHeader,
    body: &[u8],
    dict: &GlzDictionary,
) -> Result<Body, CodecError> {
    let units = hdr.units();
    let passes = if hdr.kind == LzType::Rgba { 2 } else { 1 };
    if units * passes > MAX_UNITS_PER_BYTE * body.len() as u64 {
        return Err(CodecError::Truncated {
            needed: (units * passes).div_ceil(MAX_UNITS_PER_BYTE),
            available: body.len() as u64,
        });
    }
    // Bounded: the header passed the pixel limit and the dictionary's window check.
    let mut out = vec![0u8; units as usize * 4];
    let mut ctx = Ctx {
        input: Input::new(body),
        hdr,
        dict,
        cache: None,
    };
    let bias = hdr.kind.bias();
    let missing = match hdr.kind {
        LzType::Rgb16 => ctx.rgb_pass::<2>(&mut out, bias, |s| {
            rgb16_to_rgba(u16::from_be_bytes([s[0], s[1]]))
        })?,
        LzType::Rgb24 | LzType::Rgb32 => {
            ctx.rgb_pass::<3>(&mut out, bias, |s| [s[2], s[1], s[0], 255])?
        }
        LzType::Rgba => match ctx.rgb_pass::<3>(&mut out, bias, |s| [s[2], s[1], s[0], 255])? {
            Some(id) => Some(id),
            None => ctx.alpha_pass(&mut out)?,
        },
        other => return Err(CodecError::WrongLzType(other as u32)),
    };
    Ok(match missing {
        Some(id) => Body::Missing(id),
        None => Body::Decoded(out),
    })
}

/// One token; counts and offsets are in units.
enum Token {
    Literal(usize),
    /// In-image match `distance` units back.
    Local {
        count: usize,
        distance: usize,
    },
    /// Copy from unit `offset` of image `id - image_dist`.
    Remote {
        count: usize,
        image_dist: u32,
        offset: usize,
    },
}

#[inline]
fn next_token(input: &mut Input<'_>, bias: usize) -> Result<Token, CodecError> {
    let c = input.byte()?;
    if c < 32 {
        return Ok(Token::Literal(usize::from(c) + 1));
    }
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
    let mut p = usize::from(c & 0x0F) | usize::from(input.byte()?) << 4;
    let b2 = input.byte()?;
    let extra = b2 >> 6;
    let mut image_dist;
    if c & 0x10 == 0 {
        image_dist = u32::from(b2 & 0x3F);
        for k in 0..extra {
            image_dist |= u32::from(input.byte()?) << (6 + 8 * k);
        }
    } else {
        p |= usize::from(b2 & 0x1F) << 12;
        image_dist = 0;
        for k in 0..extra {
            image_dist |= u32::from(input.byte()?) << (8 * k);
        }
        if b2 & 0x20 != 0 {
            p |= usize::from(input.byte()?) << 17;
        }
    }
    let count = field.saturating_add(bias);
    Ok(if image_dist == 0 {
        Token::Local {
            count,
            distance: p + 1,
        }
    } else {
        Token::Remote {
            count,
            image_dist,
            offset: p,
        }
    })
}

/// Decoding state shared by both passes.
struct Ctx<'a, 'd> {
    input: Input<'a>,
    hdr: &'a GlzHeader,
    dict: &'d GlzDictionary,
    /// Last resolved reference: consecutive tokens usually hit the same image.
    cache: Option<(u32, &'d StoredImage)>,
}

impl<'d> Ctx<'_, 'd> {
    /// The referenced image, or `Err(Ok(id))` when it has not arrived yet.
    #[inline]
    fn image(&mut self, image_dist: u32) -> Result<Result<&'d StoredImage, u64>, CodecError> {
        if let Some((d, img)) = self.cache {
            if d == image_dist {
                return Ok(Ok(img));
            }
        }
        match self.dict.lookup(self.hdr, image_dist)? {
            Lookup::Found(img) => {
                self.cache = Some((image_dist, img));
                Ok(Ok(img))
            }
            Lookup::Missing(id) => Ok(Err(id)),
        }
    }

    /// A pass over whole pixels: `IN` literal bytes per unit converted by `lit`.
    /// Returns the id of a missing dictionary image, if any.
    fn rgb_pass<const IN: usize>(
        &mut self,
        out: &mut [u8],
        bias: usize,
        lit: impl Fn(&[u8]) -> [u8; 4],
    ) -> Result<Option<u64>, CodecError> {
        let total = out.len() / 4;
        let mut pos = 0;
        while pos < total {
            match next_token(&mut self.input, bias)? {
                Token::Literal(n) => {
                    check_extent(pos, n, total)?;
                    let src = self.input.take(n * IN)?;
                    let dst = &mut out[pos * 4..(pos + n) * 4];
                    for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(IN)) {
                        d.copy_from_slice(&lit(s));
                    }
                    pos += n;
                }
                Token::Local { count, distance } => {
                    check_extent(pos, count, total)?;
                    check_distance(pos, distance)?;
                    copy_back(out, pos * 4, distance * 4, count * 4);
                    pos += count;
                }
                Token::Remote {
                    count,
                    image_dist,
                    offset,
                } => {
                    check_extent(pos, count, total)?;
                    let img = match self.image(image_dist)? {
                        Ok(img) => img,
                        Err(id) => return Ok(Some(id)),
                    };
                    let end = remote_end(offset, count, img)?;
                    out[pos * 4..(pos + count) * 4]
                        .copy_from_slice(&img.pixels[offset * 4..end * 4]);
                    pos += count;
                }
            }
        }
        Ok(None)
    }

    /// The RGBA type's alpha pass: 1-byte literals, bias 2, copies of byte 3 only.
    fn alpha_pass(&mut self, out: &mut [u8]) -> Result<Option<u64>, CodecError> {
        let total = out.len() / 4;
        let mut pos = 0;
        while pos < total {
            match next_token(&mut self.input, ALPHA_BIAS)? {
                Token::Literal(n) => {
                    check_extent(pos, n, total)?;
                    let src = self.input.take(n)?;
                    for (px, &a) in out[pos * 4..(pos + n) * 4].chunks_exact_mut(4).zip(src) {
                        px[3] = a;
                    }
                    pos += n;
                }
                Token::Local { count, distance } => {
                    check_extent(pos, count, total)?;
                    check_distance(pos, distance)?;
                    // Forward order gives LZ semantics when source and destination overlap.
                    let back = distance * 4;
                    for i in (pos * 4 + 3..(pos + count) * 4).step_by(4) {
                        out[i] = out[i - back];
                    }
                    pos += count;
                }
                Token::Remote {
                    count,
                    image_dist,
                    offset,
                } => {
                    check_extent(pos, count, total)?;
                    let img = match self.image(image_dist)? {
                        Ok(img) => img,
                        Err(id) => return Ok(Some(id)),
                    };
                    let end = remote_end(offset, count, img)?;
                    let src = &img.pixels[offset * 4..end * 4];
                    for (d, s) in out[pos * 4..(pos + count) * 4]
                        .chunks_exact_mut(4)
                        .zip(src.chunks_exact(4))
                    {
                        d[3] = s[3];
                    }
                    pos += count;
                }
            }
        }
        Ok(None)
    }
}

/// Rejects tokens producing more units than the pass has left.
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

/// Rejects in-image matches reaching before the first unit.
#[inline]
fn check_distance(pos: usize, distance: usize) -> Result<(), CodecError> {
    if distance > pos {
        return Err(CodecError::MatchBeforeStart {
            position: pos as u64,
            distance: distance as u64,
        });
    }
    Ok(())
}

/// End unit of a dictionary copy, which must lie within the referenced image.
#[inline]
fn remote_end(offset: usize, count: usize, img: &StoredImage) -> Result<usize, CodecError> {
    let units = img.units();
    match offset.checked_add(count) {
        Some(end) if end <= units => Ok(end),
        _ => Err(CodecError::Overshoot {
            position: offset as u64,
            count: count as u64,
            total: units as u64,
        }),
    }
}
