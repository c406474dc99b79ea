//! What Olive's tests share, written once: before this crate each test file carried its
//! own copy of a xorshift generator, a little-endian message builder, a self-deleting
//! temporary directory and a PPM reader.
//!
//! - [`rng`]: [`XorShift`], a seeded generator for robustness loops and mutated input.
//! - [`wire`]: [`Wire`], a builder for little-endian message bodies with pointer slots.
//! - [`scratch`]: [`Scratch`], a unique temporary directory that takes its files and the
//!   processes started under it with it.
//! - [`process`]: signalling and reaping processes by PID, without `unsafe`.
//! - [`image`]: [`Image`] (RGBA8), PPM/PGM and PNG reading and writing, pixel comparison
//!   ([`compare`], [`psnr`]) and a picture of the differences.
//! - [`period`]: a period-software guest of `guests/` as a gateway catalog entry.
//! - [`golden`]: comparing a rendering with a committed PNG, `OLIVE_BLESS=1` to rewrite it.
//!
//! Dev-only: no shipped crate depends on it except under `[dev-dependencies]`. It depends
//! on no Olive crate either, so the codecs' and the protocol's own unit tests can use it.

pub mod golden;
pub mod image;
pub mod period;
pub mod process;
pub mod rng;
pub mod scratch;
pub mod wire;

pub use golden::assert_golden;
pub use image::{compare, compare_with_tolerance, psnr, Diff, Image, ImageError};
pub use rng::XorShift;
pub use scratch::Scratch;
pub use wire::{Slot, Wire};
