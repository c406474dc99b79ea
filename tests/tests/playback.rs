//! The playback channel against real QEMU (AC97 with a SPICE audiodev) and the test guest:
//! the guest plays sine tones on /dev/dsp, and the PCM the client receives must be a 48 kHz
//! stereo S16 stream whose pitch is the tone's. A second session advertising Opus must get
//! Opus packets instead.

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use olive_tests::qemu::{Qemu, QemuConfig, Vga};
use spice_client::playback::PlaybackEvent;
use spice_client::{ChannelKey, ChannelType, SessionConfig};
use spice_snapshot::{Driver, Target};
use tokio::runtime::Runtime;
use tokio::time::Instant;

const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
const RATE: f64 = 48_000.0;
/// Wait this long after the guest finished a tone for the stream's STOP.
const STOP_GRACE: Duration = Duration::from_secs(3);

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn playback_key() -> ChannelKey {
    ChannelKey::new(ChannelType::Playback, 0)
}

/// A session with only the playback channel (plus main).
fn connect(rt: &Runtime, qemu: &Qemu, opus: bool) -> Result<Driver> {
    let mut driver = Driver::new(
        Target::Unix(qemu.spice_socket().to_path_buf()),
        SessionConfig {
            channels: vec![ChannelType::Playback],
            playback_opus: opus,
            ..SessionConfig::default()
        },
    );
    rt.block_on(driver.wait_for_channel(playback_key(), Instant::now() + STEP_TIMEOUT))?;
    Ok(driver)
}

/// Runs `cmd` on the guest while the driver keeps pumping (the guest answers a tone only
/// after it drained, and the server must not stall meanwhile), then waits for the stream's
/// STOP. Returns the playback events that arrived meanwhile.
fn play(
    rt: &Runtime,
    driver: &mut Driver,
    qemu: &mut Qemu,
    cmd: &str,
) -> Result<Vec<PlaybackEvent>> {
    let first = driver.observed.playback.len();
    let answer = std::thread::scope(|s| -> Result<String> {
        let guest = s.spawn(|| qemu.command(cmd, STEP_TIMEOUT));
        let pumped = rt.block_on(driver.pump_until(
            Instant::now() + STEP_TIMEOUT + Duration::from_secs(1),
            &format!("the guest to finish {cmd:?}"),
            |_, _| guest.is_finished(),
        ));
        let answer = guest.join().expect("command thread panicked");
        pumped?;
        answer
    })?;
    eprintln!("guest: {answer}");
    let until = Instant::now() + STOP_GRACE;
    rt.block_on(driver.pump_until(
        until + Duration::from_secs(1),
        "the stream's STOP",
        |_, o| {
            Instant::now() >= until
                || o.playback
                    .get(first..)
                    .is_some_and(|e| e.contains(&PlaybackEvent::Stop))
        },
    ))?;
    let events = driver
        .observed
        .playback
        .get(first..)
        .unwrap_or(&[])
        .to_vec();
    if !events.contains(&PlaybackEvent::Stop) {
        eprintln!("note: no STOP within {STOP_GRACE:?} after {cmd:?}");
    }
    let warnings = &driver.observed.warnings;
    ensure!(
        warnings.iter().all(|(k, _)| *k != playback_key()),
        "playback warnings: {warnings:?}"
    );
    Ok(events)
}

/// Goertzel power of `x` at `freq` Hz, normalised by length.
fn goertzel(x: &[f64], freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / RATE;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (x.len() as f64).powi(2)
}

/// The strongest frequency in 100..=2000 Hz: a 5 Hz scan, then 0.1 Hz around the peak.
fn dominant_goertzel(x: &[f64]) -> (f64, f64) {
    let best = |freqs: &mut dyn Iterator<Item = f64>| {
        freqs
            .map(|f| (f, goertzel(x, f)))
            .fold((0.0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a })
    };
    let (coarse, _) = best(&mut (20..=400).map(|i| f64::from(i) * 5.0));
    best(&mut (-60..=60).map(|i| coarse + f64::from(i) * 0.1))
}

/// Frequency from rising zero crossings (linearly interpolated) over the whole signal.
fn zero_crossing_frequency(x: &[f64]) -> Option<f64> {
    let mut crossings = Vec::new();
    for (i, w) in x.windows(2).enumerate() {
        if w[0] < 0.0 && w[1] >= 0.0 {
            crossings.push(i as f64 + w[0] / (w[0] - w[1]));
        }
    }
    let (first, last) = (*crossings.first()?, *crossings.last()?);
    (crossings.len() >= 3).then(|| (crossings.len() - 1) as f64 * RATE / (last - first))
}

struct Analysis {
    frames: usize,
    sound_seconds: f64,
    goertzel_hz: f64,
    zero_crossing_hz: Option<f64>,
    peak: i16,
    /// Packets whose multimedia time jumped by more than 15 ms (lost audio).
    gaps: usize,
    /// 10 ms windows of silence inside the sound (guest underruns: QEMU fills with zeros).
    dropouts: usize,
}

/// Checks the stream format and finds the pitch of channel 0 over the part that is not
/// silence.
fn analyse(events: &[PlaybackEvent], last_start: &mut Option<PlaybackEvent>) -> Result<Analysis> {
    let mut samples: Vec<i16> = Vec::new();
    let mut times = Vec::new();
    for e in events {
        match e {
            PlaybackEvent::Start { .. } => *last_start = Some(e.clone()),
            PlaybackEvent::Pcm { time, samples: s } => {
                ensure!(
                    s.chunks_exact(2).remainder().is_empty(),
                    "odd stereo packet of {} samples",
                    s.len()
                );
                samples.extend_from_slice(s);
                times.push(*time);
            }
            PlaybackEvent::Opus { .. } => bail!("Opus packet on a session that did not ask"),
            _ => {}
        }
    }
    match last_start {
        Some(PlaybackEvent::Start {
            channels,
            frequency,
            format,
            ..
        }) => ensure!(
            (*channels, *frequency, *format) == (2, 48_000, 1),
            "START: {channels} channels, {frequency} Hz, format {format} (want 2, 48000, S16=1)"
        ),
        _ => bail!("no START before the data ({} events)", events.len()),
    }
    let left: Vec<i16> = samples.iter().step_by(2).copied().collect();
    let peak = left.iter().map(|s| s.saturating_abs()).max().unwrap_or(0);
    ensure!(peak > 1000, "channel 0 is silent (peak {peak})");
    let threshold = peak / 4;
    let start = left.iter().position(|s| s.saturating_abs() > threshold);
    let end = left.iter().rposition(|s| s.saturating_abs() > threshold);
    let (Some(start), Some(end)) = (start, end) else {
        bail!("no sound above {threshold}");
    };
    let sound: Vec<f64> = left[start..=end].iter().map(|&s| f64::from(s)).collect();
    let (goertzel_hz, _) = dominant_goertzel(&sound);
    let dropouts = left[start..=end]
        .chunks(480)
        .filter(|w| w.iter().all(|s| s.saturating_abs() <= threshold))
        .count();
    let gaps = times
        .windows(2)
        .filter(|w| w[1].wrapping_sub(w[0]) > 15)
        .count();
    Ok(Analysis {
        frames: left.len(),
        sound_seconds: sound.len() as f64 / RATE,
        goertzel_hz,
        zero_crossing_hz: zero_crossing_frequency(&sound),
        peak,
        gaps,
        dropouts,
    })
}

fn check_tone(a: &Analysis, hz: f64, ms: f64) -> Result<()> {
    eprintln!(
        "tone {hz} Hz: {} frames ({:.3} s), {:.3} s of sound, peak {}, Goertzel {:.2} Hz, zero crossings {}, {} time gaps, {} silent 10 ms windows inside",
        a.frames,
        a.frames as f64 / RATE,
        a.sound_seconds,
        a.peak,
        a.goertzel_hz,
        a.zero_crossing_hz
            .map_or("-".to_string(), |f| format!("{f:.2} Hz")),
        a.gaps,
        a.dropouts,
    );
    ensure!(
        a.frames as f64 >= 0.5 * RATE && a.sound_seconds >= 0.5_f64.min(ms / 1000.0 * 0.6),
        "only {} frames ({:.3} s of sound) for a {ms} ms tone",
        a.frames,
        a.sound_seconds
    );
    ensure!(
        (a.goertzel_hz - hz).abs() <= 5.0,
        "dominant frequency {:.2} Hz, want {hz} ± 5",
        a.goertzel_hz
    );
    Ok(())
}

#[test]
fn playback_tones_reach_the_client() -> Result<()> {
    let started = std::time::Instant::now();
    let mut qemu = Qemu::launch_locked(&QemuConfig::new(Vga::Qxl))?;
    let ready = qemu.wait_ready(BOOT_TIMEOUT)?;
    eprintln!(
        "guest ready in {:.1} s: {}",
        ready.elapsed.as_secs_f64(),
        ready.line
    );
    let rt = runtime();
    let mut failures = Vec::new();

    // RAW PCM.
    let mut driver = connect(&rt, &qemu, false)?;
    let mut last_start = None;
    for hz in [440, 1000] {
        let r = play(&rt, &mut driver, &mut qemu, &format!("tone {hz} 800"))
            .and_then(|events| analyse(&events, &mut last_start))
            .and_then(|a| check_tone(&a, f64::from(hz), 800.0));
        if let Err(e) = r {
            failures.push(format!("RAW tone {hz} Hz: {e:#}"));
        }
    }
    ensure!(
        driver.session().playback().dropped_packets() == 0,
        "dropped {} packets",
        driver.session().playback().dropped_packets()
    );
    drop(driver);

    // Opus: a new session (it replaces the first) that advertises OPUS.
    let r = (|| -> Result<()> {
        let mut driver = connect(&rt, &qemu, true)?;
        let events = play(&rt, &mut driver, &mut qemu, "tone 440 300")?;
        let packets: Vec<usize> = events
            .iter()
            .filter_map(|e| match e {
                PlaybackEvent::Opus { packet, .. } => Some(packet.len()),
                _ => None,
            })
            .collect();
        let pcm = events
            .iter()
            .filter(|e| matches!(e, PlaybackEvent::Pcm { .. }))
            .count();
        eprintln!(
            "Opus session: {} Opus packets ({} bytes), {pcm} PCM packets",
            packets.len(),
            packets.iter().sum::<usize>()
        );
        ensure!(pcm == 0, "{pcm} PCM packets on an Opus session");
        ensure!(
            packets.len() >= 15,
            "only {} Opus packets for 300 ms",
            packets.len()
        );
        Ok(())
    })()
    .context("Opus session");
    if let Err(e) = r {
        failures.push(format!("{e:#}"));
    }

    eprintln!(
        "playback test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if !failures.is_empty() {
        bail!("{} failure(s):\n{}", failures.len(), failures.join("\n"));
    }
    Ok(())
}
