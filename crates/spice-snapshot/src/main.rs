//! spice-snapshot: connect to a SPICE server, optionally type and click, wait for the
//! screen to settle, and write it as PNG. Thumbnails for a collection, or a quick look at
//! what a guest is doing.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use spice_client::{Compression, SessionConfig};
use spice_snapshot::{actions, png_out, Driver, Target};
use tokio::time::Instant;

#[derive(Parser, Debug)]
#[command(name = "spice-snapshot", version, about)]
struct Args {
    /// unix:PATH or tcp:HOST:PORT (or use --gateway)
    #[arg(long, required_unless_present = "gateway", conflicts_with = "gateway")]
    connect: Option<String>,
    /// An Olive gateway's WebSocket endpoint, ws://HOST:PORT/ws (needs --token)
    #[arg(long, requires = "token")]
    gateway: Option<String>,
    /// The instance token for --gateway
    #[arg(long)]
    token: Option<String>,
    /// Origin header to send to --gateway (default: none)
    #[arg(long, requires = "gateway")]
    origin: Option<String>,
    /// SPICE password (empty when the server has none)
    #[arg(long, default_value = "")]
    password: String,
    /// How long the display must stay unchanged before the snapshot, in milliseconds
    #[arg(long, default_value_t = 500)]
    settle_ms: u64,
    /// Give up after this many seconds
    #[arg(long, default_value_t = 30)]
    timeout_s: u64,
    /// Text to type (US layout) before the snapshot
    #[arg(long = "type")]
    type_text: Option<String>,
    /// Left-click at X,Y (primary surface pixels) before the snapshot
    #[arg(long, value_parser = parse_point)]
    click: Option<(u32, u32)>,
    /// Image compression to ask the server for (auto_glz, auto_lz, quic, glz, lz, lz4, off),
    /// or `server` to leave QEMU's own setting in force
    #[arg(long, default_value = "auto_glz")]
    compression: String,
    /// Where to write the PNG
    #[arg(long)]
    out: PathBuf,
    /// Also save every byte of the display channel here, for replay and benchmarks
    #[arg(long)]
    record: Option<PathBuf>,
}

fn parse_point(s: &str) -> Result<(u32, u32), String> {
    let (x, y) = s.split_once(',').ok_or("expected X,Y")?;
    Ok((
        x.trim().parse().map_err(|_| format!("bad X in {s:?}"))?,
        y.trim().parse().map_err(|_| format!("bad Y in {s:?}"))?,
    ))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("spice-snapshot: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spice-snapshot: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    let target = match (&args.connect, &args.gateway) {
        (Some(c), _) => Target::parse(c)?,
        (None, Some(url)) => Target::Gateway(spice_snapshot::gateway::Gateway {
            url: url.clone(),
            token: args.token.clone().unwrap_or_default(),
            origin: args.origin.clone(),
        }),
        (None, None) => bail!("give --connect or --gateway"),
    };
    let compression = match args.compression.as_str() {
        "server" => None,
        name => Some(Compression::parse(name).with_context(|| {
            format!("--compression must be server, auto_glz, auto_lz, quic, glz, lz, lz4 or off, not {name:?}")
        })?),
    };
    let config = SessionConfig {
        password: args.password.clone(),
        compression,
        ..SessionConfig::default()
    };
    let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
    let mut driver = Driver::new(target, config);
    if args.record.is_some() {
        driver.record(spice_client::ChannelKey::new(
            spice_client::ChannelType::Display,
            0,
        ));
    }
    driver.wait_for_display(deadline).await?;
    if args.type_text.is_some() || args.click.is_some() {
        driver
            .wait_for_channel(actions::inputs_key(), deadline)
            .await?;
    }
    if let Some(text) = &args.type_text {
        actions::type_text(&mut driver, text).await?;
    }
    if let Some((x, y)) = args.click {
        actions::click(&mut driver, x, y, deadline).await?;
    }
    // A blinking text cursor never lets the screen settle; a thumbnail is still wanted.
    if let Err(e) = driver
        .settle(Duration::from_millis(args.settle_ms), deadline)
        .await
    {
        if !driver.observed.failures.is_empty() || driver.session().primary_surface().is_none() {
            return Err(e);
        }
        eprintln!(
            "warning: the display never stayed quiet for {} ms; writing it as it is",
            args.settle_ms
        );
    }
    let surface = driver
        .session()
        .primary_surface()
        .context("the server has no primary surface")?;
    png_out::write_png(surface, &args.out)?;
    if let (Some(path), Some(bytes)) = (&args.record, driver.recording()) {
        std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    print_summary(&driver, &args.out);
    Ok(())
}

fn print_summary(driver: &Driver, out: &std::path::Path) {
    let session = driver.session();
    if let Some(s) = session.primary_surface() {
        println!("surface: {}x{} -> {}", s.width(), s.height(), out.display());
    }
    let stats = session.stats();
    println!("messages:");
    for (name, n) in &stats.messages {
        println!("  {name}: {n}");
    }
    println!("images:");
    for (codec, n) in &stats.images {
        println!("  {codec}: {n}");
    }
    if !stats.streams.is_empty() {
        println!("stream frames:");
        for (codec, n) in &stats.stream_frames {
            println!("  {codec}: {n}");
        }
        println!(
            "  late: {}, dropped: {}",
            stats.stream_frames_late, stats.stream_frames_dropped
        );
    }
    println!("bytes received: {}", stats.bytes_received);
    println!("{}", stats.codecs_line());
    for (ch, w) in &driver.observed.warnings {
        eprintln!("warning: {ch}: {w}");
    }
    for (ch, f) in &driver.observed.failures {
        eprintln!("channel failed: {ch}: {f}");
    }
}
