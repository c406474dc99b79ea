//! Video streams against real QEMU: spice-server with `streaming-video=all` turns the test
//! guest's `video` scene (a fixed box repainted at 20 fps) into an MJPEG stream. The client
//! must decode its frames: while streaming, the box must show one of the guest's frames
//! (its pattern is known); once the animation is frozen, the screen must be what QEMU
//! shows. (After a stream ends the server repaints its area losslessly, so the frozen
//! comparison alone would not see a wrongly decoded stream.)

use std::time::Duration;

use anyhow::{bail, Result};
use olive_tests::checks::surface_rgba;
use olive_tests::ppm::{psnr, Rgba};
use olive_tests::qemu::{Qemu, QemuConfig, Vga};
use spice_client::SessionConfig;
use spice_snapshot::{Driver, Target};
use tokio::time::Instant;

const PASSWORD: &str = "olive-test-pw";
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
const STEP_TIMEOUT: Duration = Duration::from_secs(45);
/// Frames to see decoded before freezing: two seconds of the guest's 20 fps.
const MIN_FRAMES: u64 = 40;
/// The guest's video box: 320×240 in the middle of the 1024×768 framebuffer.
const BOX: (u32, u32, u32, u32) = ((1024 - 320) / 2, (768 - 240) / 2, 320, 240);
/// MJPEG is lossy; 30 dB is what the lossy image codecs are held to as well.
const MIN_PSNR_DB: f64 = 30.0;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn deadline() -> Instant {
    Instant::now() + STEP_TIMEOUT
}

fn crop(img: &Rgba, (x0, y0, w, h): (u32, u32, u32, u32)) -> Rgba {
    img.crop(x0, y0, w, h)
}

/// The guest's `video` scene, frame `f` (tests/guest/olive-guest.c `video_step`).
fn video_frame(f: u32) -> Rgba {
    let tri = |v: u32| {
        let v = v & 511;
        (if v < 256 { v } else { 511 - v }) as u8
    };
    let (_, _, w, h) = BOX;
    let mut pixels = Vec::with_capacity((w * h * 4) as usize);
    for y in 0..h {
        for x in 0..w {
            pixels.extend_from_slice(&[
                tri(2 * x + 6 * f),
                tri(2 * y + 4 * f),
                tri(x + y + 3 * f),
                255,
            ]);
        }
    }
    Rgba {
        width: w,
        height: h,
        pixels,
    }
}

/// Cheap similarity on every 8th row, to find the candidate frame before the full PSNR.
fn rough_error(a: &Rgba, b: &Rgba) -> u64 {
    let row = a.width as usize * 4;
    a.pixels
        .chunks(row)
        .zip(b.pixels.chunks(row))
        .step_by(8)
        .flat_map(|(ra, rb)| ra.iter().zip(rb))
        .map(|(&p, &q)| u64::from(p.abs_diff(q)))
        .sum()
}

/// The guest frame the client's box shows best, and how well (dB).
fn best_video_frame(client_box: &Rgba, frames: u32) -> (u32, f64) {
    let best = (0..frames)
        .min_by_key(|&f| rough_error(client_box, &video_frame(f)))
        .unwrap_or(0);
    (best, psnr(client_box, &video_frame(best)))
}

fn mjpeg_frames(driver: &Driver) -> u64 {
    let stats = driver.session().stats();
    stats.stream_frames.get("MJPEG").copied().unwrap_or(0)
}

#[test]
fn qxl_mjpeg_stream_is_decoded_and_matches_the_screendump() {
    runtime().block_on(mjpeg_stream()).unwrap();
}

async fn mjpeg_stream() -> Result<()> {
    let config = QemuConfig {
        spice_password: Some(PASSWORD.into()),
        spice_options: vec!["streaming-video=all".into()],
        ..QemuConfig::new(Vga::Qxl)
    };
    let mut qemu = Qemu::launch_locked(&config)?;
    qemu.wait_ready(BOOT_TIMEOUT)?;
    let mut d = Driver::new(
        Target::Unix(qemu.spice_socket().to_path_buf()),
        SessionConfig {
            password: PASSWORD.into(),
            ..SessionConfig::default()
        },
    );
    d.wait_for_display(deadline()).await?;
    let scene_start = Instant::now();
    let fb = qemu.command("scene video", STEP_TIMEOUT)?;
    if !fb.contains("fb=1024x768") {
        bail!("the video box assumes a 1024x768 framebuffer, the guest says: {fb}");
    }
    d.pump_until(deadline(), "decoded MJPEG stream frames", |s, _| {
        s.stats().stream_frames.get("MJPEG").copied().unwrap_or(0) >= MIN_FRAMES
    })
    .await?;
    let streaming = crop(&surface_rgba(&d)?, BOX);
    let elapsed_frames = (scene_start.elapsed().as_secs_f64() * 20.0) as u32 + 20;
    let (frame, streamed_db) = best_video_frame(&streaming, elapsed_frames);
    eprintln!("while streaming the box shows guest frame {frame} at {streamed_db:.1} dB");
    let frozen = qemu.command("freeze", STEP_TIMEOUT)?;
    eprintln!("{frozen}; {} MJPEG frames so far", mjpeg_frames(&d));
    // Queued frames are up to ~400 ms ahead of the clock; then the server stops the stream.
    d.settle(Duration::from_millis(1500), deadline()).await?;

    let ours = surface_rgba(&d)?;
    let dump = qemu.screendump()?;
    let whole = psnr(&ours, &dump);
    let boxed = psnr(&crop(&ours, BOX), &crop(&dump, BOX));
    let stats = d.session().stats();
    eprintln!(
        "PSNR whole screen {whole:.1} dB, video box {boxed:.1} dB; {}; streams {:?}, frames {:?}, late {}, dropped {}",
        stats.codecs_line(),
        stats.streams,
        stats.stream_frames,
        stats.stream_frames_late,
        stats.stream_frames_dropped
    );
    let mut problems = Vec::new();
    if !stats.codecs_line().contains("streams=MJPEG") {
        problems.push(format!("no MJPEG stream in {}", stats.codecs_line()));
    }
    if mjpeg_frames(&d) < MIN_FRAMES {
        problems.push(format!("only {} MJPEG frames decoded", mjpeg_frames(&d)));
    }
    if streamed_db < MIN_PSNR_DB {
        let path = qemu.dir().join("streaming-box.ppm");
        let _ = streaming.save_ppm(&path);
        problems.push(format!(
            "while streaming the box is no guest frame: best {frame} at {streamed_db:.1} dB ({})",
            path.display()
        ));
    }
    if stats.stream_frames_dropped != 0 {
        problems.push(format!("{} frames dropped", stats.stream_frames_dropped));
    }
    if whole < MIN_PSNR_DB || boxed < MIN_PSNR_DB {
        let dir = qemu.dir().to_path_buf();
        let _ = ours.save_ppm(dir.join("stream-client.ppm"));
        let _ = dump.save_ppm(dir.join("stream-qemu.ppm"));
        problems.push(format!(
            "client differs from the screendump: {whole:.1} dB whole, {boxed:.1} dB in the box (< {MIN_PSNR_DB} dB; dumps in {})",
            dir.display()
        ));
    }
    if let Some((ch, w)) = d.observed.warnings.first() {
        problems.push(format!("warning on {ch}: {w}"));
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(())
}
