//! Records display streams of the test-guest scenes, one per image codec, for the codec
//! and replay benchmarks:
//! `cargo run -p olive-tests --example record_frames -- OUTDIR [CODEC]...`
//! with CODEC among glz, zlib-glz, quic, lz4, jpeg, lz, off (default: all of them).
//! Each recording is written as `OUTDIR/<codec>.spice.z`, zlib-compressed as the
//! benchmarks load it.
//!
//! A recording is every byte QEMU sent on the display channel (see `spice_client::replay`)
//! while a client connected and the guest then drew the text, gradient and flat scenes.
//! spice-server compresses only drawables, only for TCP clients, and only those drawn
//! while the client is connected, hence SPICE over 127.0.0.1 TCP on the std VGA
//! framebuffer, and the scenes after the connection.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use olive_tests::qemu::{free_tcp_port, Qemu, QemuConfig, Vga};
use spice_client::{ChannelKey, ChannelType, Compression, SessionConfig};
use spice_snapshot::Driver;
use tokio::time::Instant;

const SCENES: [&str; 3] = ["text", "gradient", "flat"];
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);
const STEP: Duration = Duration::from_secs(60);
/// A smaller screen than the guest's 1024x768 default keeps the recordings, which are
/// committed, to a few hundred KB each: the gradient scene is noise that lossless codecs
/// barely shrink.
const VIDEO_MODE: &str = "video=640x480";

/// How to make spice-server pick one codec: QEMU's `-spice` options and the client's
/// preference (the preference overrides `image-compression`, but the WAN options only
/// exist on the server side). See tests/tests/codecs_qemu.rs.
struct Setting {
    codec: &'static str,
    server: &'static [&'static str],
    client: Option<Compression>,
}

const SETTINGS: &[Setting] = &[
    Setting {
        codec: "glz",
        server: &[],
        client: Some(Compression::Glz),
    },
    Setting {
        codec: "quic",
        server: &[],
        client: Some(Compression::Quic),
    },
    Setting {
        codec: "lz4",
        server: &[],
        client: Some(Compression::Lz4),
    },
    Setting {
        codec: "lz",
        server: &[],
        client: Some(Compression::Lz),
    },
    Setting {
        codec: "off",
        server: &[],
        client: Some(Compression::Off),
    },
    Setting {
        codec: "zlib-glz",
        server: &["image-compression=glz", "zlib-glz-wan-compression=always"],
        client: None,
    },
    Setting {
        codec: "jpeg",
        server: &["image-compression=auto_glz", "jpeg-wan-compression=always"],
        client: None,
    },
];

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .context("usage: record_frames OUTDIR [CODEC]...")?,
    );
    let wanted: Vec<String> = args.collect();
    if let Some(bad) = wanted
        .iter()
        .find(|w| !SETTINGS.iter().any(|s| s.codec == w.as_str()))
    {
        bail!("unknown codec {bad}; known: glz zlib-glz quic lz4 jpeg lz off");
    }
    let chosen: Vec<&Setting> = SETTINGS
        .iter()
        .filter(|s| wanted.is_empty() || wanted.iter().any(|w| w == s.codec))
        .collect();
    std::fs::create_dir_all(&out)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // One guest per distinct server setting; client preferences share it.
    let mut servers: Vec<&[&str]> = chosen.iter().map(|s| s.server).collect();
    servers.dedup();
    for server in servers {
        let mut qemu = boot(server)?;
        for setting in chosen.iter().filter(|s| s.server == server) {
            let recording = rt.block_on(record(&mut qemu, setting.client))?;
            write(&out, setting.codec, &recording)?;
        }
    }
    Ok(())
}

fn boot(server: &[&str]) -> Result<Qemu> {
    let config = QemuConfig {
        spice_options: server.iter().map(|o| o.to_string()).collect(),
        spice_tcp_port: Some(free_tcp_port()?),
        kernel_cmdline_extra: Some(VIDEO_MODE.into()),
        ..QemuConfig::new(Vga::StdFramebuffer)
    };
    let mut qemu = Qemu::launch_locked(&config)?;
    qemu.wait_ready(BOOT_TIMEOUT)?;
    Ok(qemu)
}

/// Connects, then has the guest draw each scene and waits for it to arrive.
async fn record(qemu: &mut Qemu, compression: Option<Compression>) -> Result<Vec<u8>> {
    let mut d = Driver::new(
        qemu.spice_target(),
        SessionConfig {
            compression,
            ..SessionConfig::default()
        },
    );
    d.record(ChannelKey::new(ChannelType::Display, 0));
    d.wait_for_display(Instant::now() + STEP).await?;
    d.settle(Duration::from_millis(500), Instant::now() + STEP)
        .await?;
    for scene in SCENES {
        qemu.command(&format!("scene {scene}"), STEP)?;
        d.settle(Duration::from_millis(1000), Instant::now() + STEP)
            .await?;
    }
    let images: Vec<String> = d
        .session()
        .stats()
        .images
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    eprintln!("{compression:?}: images {}", images.join(" "));
    Ok(d.recording().unwrap_or_default().to_vec())
}

fn write(out: &Path, codec: &str, recording: &[u8]) -> Result<()> {
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(recording, 10);
    let path = out.join(format!("{codec}.spice.z"));
    std::fs::write(&path, &packed).with_context(|| format!("writing {}", path.display()))?;
    println!(
        "{}: {} bytes ({} raw)",
        path.display(),
        packed.len(),
        recording.len()
    );
    Ok(())
}
