//! Every image codec spice-server 0.15 picks, against real QEMU and the test guest.
//!
//! spice-server never compresses drawables for a client on a UNIX socket (it takes such a
//! client to be local), so these tests reach SPICE over 127.0.0.1 TCP, as a remote visitor's
//! traffic does through the gateway. The guest runs on QEMU's default display adapter (std
//! VGA, with the bochs DRM framebuffer) unless a test says otherwise; each scene is drawn
//! while the client is connected, so the server encodes fresh drawables, and each codec
//! setting must both appear in the client's statistics and decode to the screendump.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{bail, Result};
use olive_tests::checks::{assert_close_to_screendump, assert_matches_screendump, Checks};
use olive_tests::qemu::{free_tcp_port, Qemu, QemuConfig, Vga};
use spice_client::{Compression, SessionConfig};
use spice_snapshot::Driver;
use tokio::time::Instant;

const PASSWORD: &str = "olive-codec-pw";
const BOOT_TIMEOUT: Duration = Duration::from_secs(60);
const STEP: Duration = Duration::from_secs(30);
/// Scenes that hold still (the `moving` one is for video streams).
const SCENES: [&str; 4] = ["flat", "text", "gradient", "console"];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn boot(vga: Vga, spice_options: &[&str]) -> Result<Qemu> {
    let config = QemuConfig {
        spice_password: Some(PASSWORD.into()),
        spice_options: spice_options.iter().map(|o| o.to_string()).collect(),
        spice_tcp_port: Some(free_tcp_port()?),
        ..QemuConfig::new(vga)
    };
    let mut qemu = Qemu::launch_locked(&config)?;
    qemu.wait_ready(BOOT_TIMEOUT)?;
    Ok(qemu)
}

/// Connects with `compression` as the client's preference (`None`: no preference sent).
async fn connect(qemu: &Qemu, compression: Option<Compression>) -> Result<Driver> {
    let mut d = Driver::new(
        qemu.spice_target(),
        SessionConfig {
            password: PASSWORD.into(),
            compression,
            ..SessionConfig::default()
        },
    );
    d.wait_for_display(Instant::now() + STEP).await?;
    Ok(d)
}

/// How the surface must relate to the screendump.
#[derive(Clone, Copy)]
enum Fidelity {
    Exact,
    /// Lossy codecs: at least this PSNR in dB.
    Psnr(f64),
}

/// Shows every scene and checks the surface after each one; returns the image types seen.
async fn show_scenes(
    d: &mut Driver,
    qemu: &mut Qemu,
    what: &str,
    fidelity: Fidelity,
) -> Result<BTreeMap<String, u64>> {
    for scene in SCENES {
        qemu.command(&format!("scene {scene}"), STEP)?;
        let what = format!("{what} scene {scene}");
        match fidelity {
            Fidelity::Exact => assert_matches_screendump(d, qemu, &what, STEP).await?,
            Fidelity::Psnr(min) => {
                let db = assert_close_to_screendump(d, qemu, &what, min, STEP).await?;
                eprintln!("{what}: PSNR {db:.1} dB");
            }
        }
    }
    if let Some((ch, w)) = d.observed.warnings.first() {
        bail!("{what}: warning on {ch}: {w}");
    }
    let images: BTreeMap<String, u64> = d
        .session()
        .stats()
        .images
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    eprintln!("{what}: images {images:?}");
    Ok(images)
}

/// `must` were all seen; nothing outside `may` (plus `must`) was.
fn require_codecs(
    what: &str,
    images: &BTreeMap<String, u64>,
    must: &[&str],
    may: &[&str],
) -> Result<()> {
    if let Some(missing) = must.iter().find(|m| !images.contains_key(**m)) {
        bail!("{what}: no {missing} image was seen: {images:?}");
    }
    if let Some(other) = images
        .keys()
        .find(|k| !must.contains(&k.as_str()) && !may.contains(&k.as_str()))
    {
        bail!("{what}: unexpected {other} images: {images:?}");
    }
    Ok(())
}

/// What every setting may also produce: the first screen is sent as a surface image (no
/// drawable, so never GLZ), tiny images go uncompressed, and the pixmap cache answers
/// repeats.
const ALWAYS: &[&str] = &["BITMAP", "LZ_RGB", "FROM_CACHE", "FROM_CACHE_LOSSLESS"];

/// The "done" bar: QEMU entirely at its defaults (std VGA, `image-compression`
/// auto_glz, JPEG and zlib-GLZ on `auto`) and the client at its own defaults. Every scene
/// equals the screendump, and the server's choices (GLZ for the flat and text scenes,
/// QUIC for the photo-like gradient) were exercised.
#[test]
fn qemu_defaults_every_scene_equals_screendump() {
    let rt = runtime();
    let mut checks = Checks::default();
    for vga in [Vga::StdFramebuffer, Vga::Qxl] {
        let what = format!("defaults {vga:?}");
        let r = rt.block_on(async {
            let mut qemu = boot(vga, &[])?;
            let mut d = connect(&qemu, SessionConfig::default().compression).await?;
            let images = show_scenes(&mut d, &mut qemu, &what, Fidelity::Exact).await?;
            require_codecs(&what, &images, &["GLZ_RGB", "QUIC"], ALWAYS)
        });
        checks.record(&what, r);
    }
    checks.finish();
}

/// QEMU's `image-compression` settings with no client preference: each lossless one
/// gives the screendump exactly and shows the codec it names; `jpeg-wan-compression` and
/// `zlib-glz-wan-compression` forced on give JPEG (≥ 30 dB) and zlib-GLZ. (QEMU 7.2 does
/// not accept `image-compression=lz4`; LZ4 is reached through the client preference,
/// below.)
#[test]
fn server_image_compression_settings() {
    let rt = runtime();
    let mut checks = Checks::default();
    #[allow(clippy::type_complexity)]
    let settings: &[(&str, &[&str], Fidelity, &[&str], &[&str])] = &[
        (
            "auto_glz",
            &["image-compression=auto_glz"],
            Fidelity::Exact,
            &["GLZ_RGB", "QUIC"],
            &[],
        ),
        (
            "auto_lz",
            &["image-compression=auto_lz"],
            Fidelity::Exact,
            &["LZ_RGB", "QUIC"],
            &[],
        ),
        (
            "quic",
            &["image-compression=quic"],
            Fidelity::Exact,
            &["QUIC"],
            &[],
        ),
        (
            "glz",
            &["image-compression=glz"],
            Fidelity::Exact,
            &["GLZ_RGB"],
            &[],
        ),
        (
            "lz",
            &["image-compression=lz"],
            Fidelity::Exact,
            &["LZ_RGB"],
            &[],
        ),
        (
            "off",
            &["image-compression=off"],
            Fidelity::Exact,
            &["BITMAP"],
            &[],
        ),
        (
            "zlib-glz always",
            &["image-compression=glz", "zlib-glz-wan-compression=always"],
            Fidelity::Exact,
            &["ZLIB_GLZ_RGB"],
            &["GLZ_RGB"],
        ),
        (
            "jpeg always",
            &["image-compression=auto_glz", "jpeg-wan-compression=always"],
            Fidelity::Psnr(30.0),
            &["JPEG"],
            &["GLZ_RGB", "QUIC", "ZLIB_GLZ_RGB"],
        ),
    ];
    for (name, options, fidelity, must, may) in settings {
        let what = format!("server {name}");
        let r = rt.block_on(async {
            let mut qemu = boot(Vga::StdFramebuffer, options)?;
            let mut d = connect(&qemu, None).await?;
            let images = show_scenes(&mut d, &mut qemu, &what, *fidelity).await?;
            let may: Vec<&str> = ALWAYS.iter().chain(may.iter()).copied().collect();
            require_codecs(&what, &images, must, &may)
        });
        checks.record(&what, r);
    }
    checks.finish();
}

/// The client's preference overrides the server's setting; one guest serves them all
/// (the preference can change on every connection). LZ4 is only reachable this way.
#[test]
fn client_compression_preferences() {
    let rt = runtime();
    let mut checks = Checks::default();
    let mut qemu = match boot(Vga::StdFramebuffer, &[]) {
        Ok(q) => q,
        Err(e) => panic!("boot: {e:#}"),
    };
    let prefs: &[(Compression, &[&str])] = &[
        (Compression::Lz4, &["LZ4"]),
        (Compression::Lz, &["LZ_RGB"]),
        (Compression::Quic, &["QUIC"]),
        (Compression::Glz, &["GLZ_RGB"]),
        (Compression::AutoLz, &["LZ_RGB", "QUIC"]),
        (Compression::Off, &["BITMAP"]),
    ];
    for (pref, must) in prefs {
        let what = format!("preference {pref:?}");
        let r = rt.block_on(async {
            let mut d = connect(&qemu, Some(*pref)).await?;
            let images = show_scenes(&mut d, &mut qemu, &what, Fidelity::Exact).await?;
            require_codecs(&what, &images, must, ALWAYS)
        });
        checks.record(&what, r);
    }
    checks.finish();
}
