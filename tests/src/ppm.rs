//! Pictures in the harness: olive-test-support's [`Image`](olive_test_support::Image)
//! under the name the harness and the gateway's tests know it by, `Rgba`. One PPM/PNG
//! reader and one comparison serve the whole workspace; nothing is parsed here.

pub use olive_test_support::image::{
    compare, compare_with_tolerance, diff_picture, mean_abs_error, psnr, Diff, Image as Rgba,
    ImageError,
};
