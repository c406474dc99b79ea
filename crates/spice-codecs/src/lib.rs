//! SPICE image and cursor decoders producing RGBA8, for the Olive browser client.
//!
//! Everything here is a pure function over byte slices: no I/O, no global state, so the
//! same code runs natively (tests, benches, tools) and in `wasm32-unknown-unknown`.
//!
//! Every decoder treats its input as hostile: malformed data yields a [`CodecError`],
//! never a panic, and dimensions are checked against [`MAX_IMAGE_PIXELS`] and
//! [`MAX_DIMENSION`] before any allocation proportional to them.
//!
//! Output is always [`Rgba`]: bytes R, G, B, A, rows top-down, tightly packed (the
//! browser's `ImageData` layout). Formats without alpha decode with A = 255; whether to
//! honour decoded alpha (e.g. HIGH_BITS_SET) is the caller's call, see
//! [`Rgba::force_opaque`].
//!
//! The encoders (`lz_encode`, `glz::encode`, `quic::encode`) exist for tests, benchmarks
//! and fuzz seeds only; they are compiled for this crate's tests and behind the
//! `test-encoders` feature, never in what the browser ships.
//!
//! Behaviour follows the project's notes, `docs/spice-codecs.md` (the image payloads)
//! and `docs/spice-protocol.md` §5.4 and §7 (images and cursors on the wire), not any
//! LGPL implementation.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bitmap;
pub mod cursor;
mod error;
pub mod glz;
mod indexed;
pub mod jpeg;
pub mod lz;
pub mod lz4;
#[cfg(any(test, feature = "test-encoders"))]
pub mod lz_encode;
pub mod palette;
pub mod pixel;
pub mod quic;
mod rgba;

#[cfg(test)]
mod robustness;

pub use bitmap::{decode_bitmap, BitmapFormat};
pub use cursor::{decode_cursor, CursorImage, MAX_CURSOR_DIMENSION};
pub use error::CodecError;
pub use lz::{decode_lz, decode_lz_alpha_into, LzHeader, LzType};
pub use palette::Palette;
pub use rgba::{Rgba, MAX_DIMENSION, MAX_IMAGE_PIXELS};
