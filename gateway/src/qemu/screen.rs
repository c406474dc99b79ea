//! The screen as QEMU draws it: `screendump` files, and VMNetX issue #30's check that a
//! resumed VM is not stuck on a black screen.
//!
//! QEMU writes screendumps as binary PPM (P6). This is the gateway's one PPM reader; a few
//! lines of header parsing do not justify an image crate, and every length is checked
//! against the file, which comes from a guest's framebuffer.

use std::time::Duration;

use tokio::time::Instant;

use super::paths::InstancePaths;
use super::qmp::{Qmp, QmpError};

/// An RGB image from a screendump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ppm<'a> {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width * height * 3` bytes, row by row.
    pub rgb: &'a [u8],
}

impl<'a> Ppm<'a> {
    /// Parses a binary PPM with 8-bit samples (`P6 W H 255`, `#` comments allowed);
    /// `None` for anything else or a wrong length.
    pub fn parse(data: &'a [u8]) -> Option<Ppm<'a>> {
        let mut fields = Vec::with_capacity(4);
        let mut i = 0;
        while fields.len() < 4 {
            match *data.get(i)? {
                b'#' => {
                    while *data.get(i)? != b'\n' {
                        i += 1;
                    }
                }
                c if c.is_ascii_whitespace() => i += 1,
                _ => {
                    let start = i;
                    while !data.get(i)?.is_ascii_whitespace() {
                        i += 1;
                    }
                    fields.push(std::str::from_utf8(&data[start..i]).ok()?);
                }
            }
        }
        if fields[0] != "P6" || fields[3] != "255" {
            return None;
        }
        let width: usize = fields[1].parse().ok()?;
        let height: usize = fields[2].parse().ok()?;
        // Exactly one whitespace byte separates the header from the pixels.
        let rgb = data.get(i + 1..)?;
        (rgb.len() == width.checked_mul(height)?.checked_mul(3)?).then_some(Ppm {
            width,
            height,
            rgb,
        })
    }

    /// Whether every pixel is black (a resumed guest that lost its display).
    pub fn is_all_black(&self) -> bool {
        self.rgb.iter().all(|&b| b == 0)
    }
}

/// How long a resumed screen may stay entirely black (VMNetX's client waited 1000 ms).
pub const BLACK_SCREEN_GRACE: Duration = Duration::from_secs(1);

/// What [`check_not_black`] found wrong.
#[derive(Debug, thiserror::Error)]
pub enum ScreenError {
    /// Still black after [`BLACK_SCREEN_GRACE`]: the resume is rejected and the guest boots cold.
    #[error("the screen is still entirely black after resuming")]
    Black,
    /// The screendump itself failed.
    #[error(transparent)]
    Qmp(#[from] QmpError),
}

/// VMNetX issue #30, checked on the server (where the screen is known before any viewer
/// draws it): a resumed VM whose screen is entirely black for [`BLACK_SCREEN_GRACE`]
/// loaded an image it cannot run. A good image passes on the first screendump, so this
/// costs one screendump, not a second. An unreadable screendump skips the check.
pub async fn check_not_black(qmp: &mut Qmp, paths: &InstancePaths) -> Result<(), ScreenError> {
    let until = Instant::now() + BLACK_SCREEN_GRACE;
    let file = paths.screendump.display().to_string();
    loop {
        qmp.execute("screendump", Some(serde_json::json!({ "filename": file })))
            .await?;
        let data = std::fs::read(&paths.screendump).unwrap_or_default();
        let _ = std::fs::remove_file(&paths.screendump);
        match Ppm::parse(&data).map(|p| p.is_all_black()) {
            Some(false) => return Ok(()),
            None => {
                tracing::warn!("unreadable screendump; skipping the black-screen check");
                return Ok(());
            }
            Some(true) if Instant::now() >= until => return Err(ScreenError::Black),
            // The guest is given time to draw; there is no event for "drew something".
            Some(true) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_ppm() {
        let mut black = b"P6\n2 2\n255\n".to_vec();
        black.extend([0u8; 12]);
        let p = Ppm::parse(&black).unwrap();
        assert_eq!((p.width, p.height, p.is_all_black()), (2, 2, true));
        let mut grey = black.clone();
        grey[15] = 1;
        assert!(!Ppm::parse(&grey).unwrap().is_all_black());
        assert_eq!(Ppm::parse(&black[..14]), None);
        assert_eq!(Ppm::parse(b"P5\n1 1\n255\n\0"), None);
        assert_eq!(Ppm::parse(b""), None);
        assert_eq!(Ppm::parse(b"P6\n99999999999 99999999999\n255\n"), None);
        let commented = b"P6\n# by QEMU\n1 1\n255\n\x01\x02\x03";
        assert_eq!(Ppm::parse(commented).unwrap().rgb, b"\x01\x02\x03");
    }
}
