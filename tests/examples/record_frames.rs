//! Records the display stream of each test-guest scene, for replay benchmarks:
//! `cargo run -p olive-tests --example record_frames -- OUTDIR [lz|off]...`
//!
//! Each recording is every byte QEMU sent on the display channel while a fresh client
//! connected and received the scene (see `spice_client::replay`).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use olive_tests::qemu::{Qemu, QemuConfig, Vga};
use spice_client::{ChannelKey, ChannelType, Compression, SessionConfig};
use spice_snapshot::{Driver, Target};
use tokio::time::Instant;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .context("usage: record_frames OUTDIR [lz|off]...")?,
    );
    let mut modes: Vec<String> = args.collect();
    if modes.is_empty() {
        modes = vec!["lz".into(), "off".into()];
    }
    std::fs::create_dir_all(&out)?;
    let mut qemu = Qemu::launch_locked(&QemuConfig::new(Vga::Qxl))?;
    qemu.wait_ready(Duration::from_secs(60))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    for scene in ["text", "gradient", "flat"] {
        qemu.command(&format!("scene {scene}"), Duration::from_secs(20))?;
        std::thread::sleep(Duration::from_millis(500));
        for mode in &modes {
            let compression =
                Compression::parse(mode).context("mode must be a compression name")?;
            let mut d = Driver::new(
                Target::Unix(qemu.spice_socket().to_path_buf()),
                SessionConfig {
                    compression: Some(compression),
                    ..SessionConfig::default()
                },
            );
            d.record(ChannelKey::new(ChannelType::Display, 0));
            rt.block_on(async {
                let deadline = Instant::now() + Duration::from_secs(30);
                d.wait_for_display(deadline).await?;
                d.settle(Duration::from_millis(500), deadline).await
            })?;
            let path = out.join(format!("{scene}-{mode}.spice"));
            std::fs::write(&path, d.recording().unwrap_or_default())?;
            println!(
                "{}: {} bytes",
                path.display(),
                d.recording().map_or(0, <[u8]>::len)
            );
        }
    }
    Ok(())
}
