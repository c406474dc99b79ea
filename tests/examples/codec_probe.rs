//! Shows which image codecs spice-server picks for each test-guest scene under given QEMU
//! settings, and whether the client's surface matches the screendump:
//! `cargo run -p olive-tests --example codec_probe -- std-fb|std|qxl unix|tcp [auto_glz|lz|...|none] [SPICE-OPTION]...`
//!
//! A development aid for choosing test settings; the tests assert, this only reports.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use olive_tests::checks::surface_rgba;
use olive_tests::ppm::{compare, psnr};
use olive_tests::qemu::{free_tcp_port, Qemu, QemuConfig, Vga};
use spice_client::display::images::DEFAULT_GLZ_WINDOW_PIXELS;
use spice_client::{Compression, SessionConfig};
use spice_snapshot::Driver;
use tokio::time::Instant;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let vga = match args.next().as_deref() {
        Some("std") => Vga::Std,
        Some("std-fb") => Vga::StdFramebuffer,
        Some("qxl") => Vga::Qxl,
        _ => {
            bail!("usage: codec_probe std-fb|std|qxl unix|tcp [COMPRESSION|none] [SPICE-OPTION]...")
        }
    };
    let tcp = match args.next().as_deref() {
        Some("tcp") => Some(free_tcp_port()?),
        Some("unix") => None,
        _ => bail!("second argument: unix or tcp"),
    };
    let compression = match args.next().as_deref() {
        None | Some("none") => None,
        Some(c) => Some(Compression::parse(c).context("unknown compression")?),
    };
    let config = QemuConfig {
        spice_options: args.collect(),
        spice_tcp_port: tcp,
        ..QemuConfig::new(vga)
    };
    let mut qemu = Qemu::launch_locked(&config)?;
    qemu.wait_ready(Duration::from_secs(90))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut d = Driver::new(
        qemu.spice_target(),
        SessionConfig {
            compression,
            glz_window_pixels: DEFAULT_GLZ_WINDOW_PIXELS as i32,
            ..SessionConfig::default()
        },
    );
    let deadline = || Instant::now() + Duration::from_secs(30);
    rt.block_on(d.wait_for_display(deadline()))?;
    for scene in ["flat", "text", "gradient", "console"] {
        qemu.command(&format!("scene {scene}"), Duration::from_secs(20))?;
        rt.block_on(d.settle(Duration::from_millis(500), deadline()))?;
        let dump = qemu.screendump()?;
        let ours = surface_rgba(&d)?;
        println!(
            "{scene}: {} / PSNR {:.1} dB; images so far {:?}",
            compare(&ours, &dump),
            psnr(&ours, &dump),
            d.session().stats().images
        );
    }
    Ok(())
}
