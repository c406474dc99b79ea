//! What SPICE tests keep asserting: a client surface against QEMU's own framebuffer, and a
//! list of checks run on one booted guest whose failures are all reported together.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use spice_snapshot::Driver;
use tokio::time::Instant;

use crate::ppm::{compare, psnr, Rgba};
use crate::qemu::Qemu;

/// Collects failures so one run reports every broken check (a TCG boot is too dear to
/// stop at the first).
#[derive(Default)]
pub struct Checks {
    failures: Vec<String>,
}

impl Checks {
    /// Prints `ok: name` or `FAILED: name: error` and keeps the failure for the end.
    pub fn record(&mut self, name: &str, r: Result<()>) {
        match r {
            Ok(()) => eprintln!("ok: {name}"),
            Err(e) => {
                eprintln!("FAILED: {name}: {e:#}");
                self.failures.push(format!("{name}: {e:#}"));
            }
        }
    }

    /// Panics with every recorded failure, if any.
    pub fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} check(s) failed:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

/// The client's primary surface as opaque RGBA (the screendump has no alpha).
pub fn surface_rgba(driver: &Driver) -> Result<Rgba> {
    let s = driver
        .session()
        .primary_surface()
        .context("no primary surface")?;
    let mut pixels = s.pixels().to_vec();
    pixels.chunks_exact_mut(4).for_each(|p| p[3] = 255);
    Ok(Rgba {
        width: s.width(),
        height: s.height(),
        pixels,
    })
}

/// Waits for the display to settle, then requires the surface to equal the screendump
/// exactly. A draw may be in flight when the dump is taken, so a mismatch is retried a few
/// times, each retry waiting again for the display to be quiet (the event a draw in
/// flight ends with, rather than a fixed pause); the last pair is saved as PPMs in the
/// QEMU dir for inspection.
pub async fn assert_matches_screendump(
    driver: &mut Driver,
    qemu: &mut Qemu,
    what: &str,
    step: Duration,
) -> Result<()> {
    let mut last = String::new();
    for attempt in 0..5 {
        driver
            .settle(Duration::from_millis(400), Instant::now() + step)
            .await
            .with_context(|| format!("{what}: settling"))?;
        let dump = qemu.screendump()?;
        let ours = surface_rgba(driver)?;
        let diff = compare(&ours, &dump);
        if diff.is_identical() {
            if attempt > 0 {
                eprintln!("{what}: identical after {attempt} retries");
            }
            return Ok(());
        }
        last = diff.to_string();
        if attempt == 4 {
            save_pair(qemu, what, &ours, &dump);
        }
    }
    bail!("{what}: client surface differs from the screendump: {last}")
}

/// Like [`assert_matches_screendump`] for lossy codecs: the surface must come within
/// `min_db` PSNR of the screendump. Returns the PSNR reached.
pub async fn assert_close_to_screendump(
    driver: &mut Driver,
    qemu: &mut Qemu,
    what: &str,
    min_db: f64,
    step: Duration,
) -> Result<f64> {
    let mut best = 0.0;
    for _ in 0..5 {
        driver
            .settle(Duration::from_millis(400), Instant::now() + step)
            .await
            .with_context(|| format!("{what}: settling"))?;
        let dump = qemu.screendump()?;
        let ours = surface_rgba(driver)?;
        let db = psnr(&ours, &dump);
        if db >= min_db {
            return Ok(db);
        }
        best = f64::max(best, db);
        save_pair(qemu, what, &ours, &dump);
    }
    bail!("{what}: PSNR {best:.1} dB is below {min_db} dB")
}

fn save_pair(qemu: &Qemu, what: &str, ours: &Rgba, dump: &Rgba) {
    let dir = qemu.dir().to_path_buf();
    let name = what.replace(' ', "_");
    let _ = ours.save_ppm(dir.join(format!("{name}-client.ppm")));
    let _ = dump.save_ppm(dir.join(format!("{name}-qemu.ppm")));
}
