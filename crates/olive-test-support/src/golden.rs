//! Golden pictures: a rendering compared with a PNG committed beside its input, so a
//! rendering regression shows up as a picture (the way ruffle's `output.expected.png`
//! and image-rs's reference tests work).
//!
//! On a mismatch the actual rendering and a picture of the differing pixels (red on a
//! faint copy of the golden one) are written to `$TMPDIR/olive-golden/` and named in the
//! failure. They stay there on purpose: they are what the developer looks at.
//!
//! To (re)generate golden files after an intended change, run the test with
//! `OLIVE_BLESS=1`: it writes the actual rendering over the golden PNG and passes. Look
//! at the new pictures before committing them.

use std::path::{Path, PathBuf};

use crate::image::{compare_with_tolerance, diff_picture, Image};

/// The environment variable that turns comparing into (re)writing the golden files.
pub const BLESS_VAR: &str = "OLIVE_BLESS";

/// True when this run should write golden files instead of comparing (`OLIVE_BLESS` set
/// to anything but empty or `0`).
pub fn blessing() -> bool {
    std::env::var(BLESS_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Compares `actual` with the golden PNG at `golden` (RGB channels, a pixel may differ
/// by at most `tolerance` per channel). With [`BLESS_VAR`] set, writes `actual` there
/// instead. The error names what differs and where the actual and diff pictures went.
pub fn check_golden(golden: &Path, actual: &Image, tolerance: u8) -> Result<(), String> {
    if blessing() {
        if let Some(dir) = golden.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        actual.save(golden).map_err(|e| e.to_string())?;
        eprintln!("blessed {}", golden.display());
        return Ok(());
    }
    let expected = match Image::load(golden) {
        Ok(img) => img,
        Err(e) => {
            let saved = save_artifacts(golden, actual, None);
            return Err(format!(
                "no usable golden picture ({e}); actual rendering: {saved}. \
                 Run with {BLESS_VAR}=1 to create it."
            ));
        }
    };
    let diff = compare_with_tolerance(&expected, actual, tolerance);
    if diff.is_identical() {
        return Ok(());
    }
    let what = if diff.size_mismatch {
        format!(
            "size {}x{}, golden {}x{}",
            actual.width, actual.height, expected.width, expected.height
        )
    } else {
        diff.to_string()
    };
    let saved = save_artifacts(golden, actual, diff_picture(&expected, actual, tolerance));
    Err(format!(
        "{} differs from the rendering: {what}; {saved}. If the change is intended, run with \
         {BLESS_VAR}=1 and commit the new picture.",
        golden.display()
    ))
}

/// [`check_golden`] as an assertion.
#[track_caller]
pub fn assert_golden(golden: &Path, actual: &Image, tolerance: u8) {
    if let Err(e) = check_golden(golden, actual, tolerance) {
        panic!("{e}");
    }
}

/// Where the failure pictures of `golden` go: `$TMPDIR/olive-golden/<parent>-<stem>-<pid>/`.
fn artifact_dir(golden: &Path) -> PathBuf {
    let stem = golden.file_stem().map(|s| s.to_string_lossy().into_owned());
    let parent = golden
        .parent()
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().into_owned());
    std::env::temp_dir().join("olive-golden").join(format!(
        "{}-{}-{}",
        parent.unwrap_or_default(),
        stem.unwrap_or_default(),
        std::process::id()
    ))
}

/// Writes `actual.png` (and `diff.png`) for a failure; says where, or why not.
fn save_artifacts(golden: &Path, actual: &Image, diff: Option<Image>) -> String {
    let dir = artifact_dir(golden);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return format!("could not save the actual picture ({}: {e})", dir.display());
    }
    let actual_path = dir.join("actual.png");
    let mut said = match actual.save(&actual_path) {
        Ok(()) => format!("actual {}", actual_path.display()),
        Err(e) => format!("could not save the actual picture ({e})"),
    };
    if let Some(diff) = diff {
        let diff_path = dir.join("diff.png");
        match diff.save(&diff_path) {
            Ok(()) => said.push_str(&format!(
                ", differing pixels in red {}",
                diff_path.display()
            )),
            Err(e) => said.push_str(&format!(", could not save the diff ({e})")),
        }
    }
    said
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scratch;

    #[test]
    fn a_match_passes_and_a_mismatch_names_its_pictures() {
        // Not under OLIVE_BLESS: this test is about comparing.
        if blessing() {
            return;
        }
        let dir = Scratch::new("golden-test");
        let golden = dir.join("scene.png");
        let img = Image::filled(3, 2, [10, 20, 30, 255]);
        img.save(&golden).unwrap();
        check_golden(&golden, &img, 0).unwrap();

        let mut off = img.clone();
        off.pixels[4] ^= 1; // one LSB of pixel (1, 0)
        let err = check_golden(&golden, &off, 0).unwrap_err();
        assert!(err.contains("1 differing pixels"), "{err}");
        assert!(check_golden(&golden, &off, 1).is_ok(), "within tolerance");
        let actual = artifact_dir(&golden).join("actual.png");
        let diff = artifact_dir(&golden).join("diff.png");
        assert!(err.contains(&actual.display().to_string()), "{err}");
        assert_eq!(Image::load(&actual).unwrap(), off);
        assert_eq!(Image::load(&diff).unwrap().pixel(1, 0), [255, 0, 0, 255]);
        let _ = std::fs::remove_dir_all(artifact_dir(&golden));

        let missing = check_golden(&dir.join("none.png"), &img, 0).unwrap_err();
        assert!(missing.contains("OLIVE_BLESS=1"), "{missing}");
        let _ = std::fs::remove_dir_all(artifact_dir(&dir.join("none.png")));
    }
}
