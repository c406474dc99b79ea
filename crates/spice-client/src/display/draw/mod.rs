//! Per-pixel building blocks of the draw ops that are not plain copies or fills: masks,
//! brushes, source sampling, ternary raster ops, coverage maps (strokes, text), alpha
//! blending and Render compositing.
//!
//! The hot paths (unmasked DRAW_COPY and solid fills) stay in `surface.rs`; everything
//! here runs through [`raster::paint`], one closure call per destination pixel, which is
//! fine for ops guests send rarely and keeps each op a few lines.

pub mod blend;
pub mod brush;
pub mod composite;
pub mod coverage;
pub mod mask;
pub mod pixfmt;
pub mod raster;
pub mod rop3;
pub mod sample;
pub mod stroke;
pub mod text;
