//! `olive-gateway serve --config FILE` and `olive-gateway admin ...`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use olive_gateway::admin;
use olive_gateway::{launcher_for, Config, Server};

#[derive(Parser)]
#[command(name = "olive-gateway", version, about = "Olive's VM gateway")]
struct Cli {
    /// Log filter (tracing-subscriber EnvFilter syntax), e.g. `info` or `olive_gateway=debug`;
    /// defaults to $RUST_LOG, else `info`.
    #[arg(long, global = true)]
    log: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server.
    Serve {
        #[arg(long)]
        config: PathBuf,
    },
    /// Check a configuration file and exit.
    CheckConfig {
        #[arg(long)]
        config: PathBuf,
    },
    /// Make and check Olive packages (a manifest, a disk, a memory image to resume from).
    Package {
        #[command(subcommand)]
        action: PackageAction,
    },
    /// Talk to a running server.
    Admin {
        /// Take the server address and secret key from this configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Server address (default: the config's `listen`, else $OLIVE_GATEWAY or 127.0.0.1:8080).
        #[arg(long)]
        server: Option<SocketAddr>,
        /// Secret key (default: the config's, else $OLIVE_SECRET_KEY).
        #[arg(long)]
        key: Option<String>,
        #[command(subcommand)]
        action: AdminAction,
    },
}

#[derive(Subcommand)]
enum PackageAction {
    /// Boot a catalog item, wait for the save condition, write a package into OUT.
    Create {
        /// The gateway configuration holding the item (its QEMU and limits are used too).
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        item: String,
        /// A new (or empty) directory.
        #[arg(long)]
        out: PathBuf,
        /// Save when the serial console prints this text (e.g. OLIVE-GUEST-READY).
        #[arg(long, conflicts_with_all = ["wait_secs", "wait_enter"])]
        wait_serial: Option<String>,
        /// Save this many seconds after QEMU is ready.
        #[arg(long, conflicts_with = "wait_enter")]
        wait_secs: Option<u64>,
        /// Save when Enter is pressed on standard input.
        #[arg(long)]
        wait_enter: bool,
        /// Memory image codec: none, lz4, zstd or xz.
        #[arg(long, default_value = "lz4")]
        codec: String,
        /// Give up if the condition is not met within this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Convert a VMNetX `.nxpk` into an Olive package in OUT: the domain mapped to our
    /// machine settings, the disk as a standalone qcow2, the memory image unwrapped and
    /// recompressed, and kept only if this QEMU resumes it (otherwise the package
    /// cold-boots).
    Import {
        /// The gateway configuration whose QEMU and limits are used.
        #[arg(long)]
        config: PathBuf,
        /// The `.nxpk` file.
        nxpk: PathBuf,
        /// A new (or empty) directory.
        #[arg(long)]
        out: PathBuf,
        /// Memory image codec: none, lz4, zstd or xz.
        #[arg(long, default_value = "lz4")]
        codec: String,
        /// Keep the memory image without trying to resume it once.
        #[arg(long)]
        no_restore_check: bool,
        /// Direct kernel boot files for guests started that way (not VMNetX's own).
        #[arg(long)]
        kernel: Option<PathBuf>,
        #[arg(long, requires = "kernel")]
        initrd: Option<PathBuf>,
        #[arg(long, requires = "kernel")]
        append: Option<String>,
    },
    /// Check a package: manifest schema, checksums, machine settings within policy.
    Validate {
        /// The package directory.
        package: String,
        /// Take limits and qemu-img from this configuration (default limits otherwise).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AdminAction {
    /// List instances.
    List,
    /// Create an instance of a catalog item.
    Create { item: String },
    /// Destroy an instance.
    Destroy { id: String },
    /// Save a running instance as the package `<data_dir>/packages/NAME` (the curator's
    /// "this is the moment").
    Package {
        id: String,
        name: String,
        #[arg(long)]
        codec: Option<String>,
    },
}

fn init_logging(filter: Option<&str>) {
    let filter = match filter {
        Some(f) => tracing_subscriber::EnvFilter::new(f),
        None => tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
    };
    tracing_subscriber::fmt().with_env_filter(filter).init();
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[tokio::main]
async fn main() {
    // Print the error chain on one line rather than anyhow's Debug dump (with backtrace).
    if let Err(e) = run().await {
        eprintln!("olive-gateway: {e:#}");
        std::process::exit(1);
    }
}

async fn run() -> Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log.as_deref());
    match cli.cmd {
        Cmd::Serve { config } => {
            let config = Config::load(&config)?;
            let server = Server::start(config).await?;
            wait_for_signal().await;
            tracing::info!("shutting down: destroying instances");
            server.shutdown().await;
        }
        Cmd::CheckConfig { config } => {
            let c = Config::load(&config)?;
            let items = c.catalog.len();
            for key in &c.obsolete_keys {
                eprintln!("{}: `{key}` is obsolete and ignored", config.display());
            }
            println!("{}: ok ({items} items)", config.display());
        }
        Cmd::Package { action } => package(action).await?,
        Cmd::Admin {
            config,
            server,
            key,
            action,
        } => {
            let cfg = match &config {
                Some(p) => Some(Config::read(p)?),
                None => None,
            };
            let server = match (server, &cfg, std::env::var("OLIVE_GATEWAY").ok()) {
                (Some(s), _, _) => s,
                (None, Some(c), _) => {
                    let mut a = c.listen;
                    if a.ip().is_unspecified() {
                        a.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                    }
                    a
                }
                (None, None, Some(env)) => env.parse().context("$OLIVE_GATEWAY")?,
                (None, None, None) => "127.0.0.1:8080".parse()?,
            };
            let key = key
                .or_else(|| cfg.as_ref().map(|c| c.secret_key.clone()))
                .or_else(|| std::env::var("OLIVE_SECRET_KEY").ok())
                .context("no secret key: pass --key, --config or set $OLIVE_SECRET_KEY")?;
            let cmd = match action {
                AdminAction::List => admin::Command::List,
                AdminAction::Create { item } => admin::Command::Create { item },
                AdminAction::Destroy { id } => admin::Command::Destroy { id },
                AdminAction::Package { id, name, codec } => {
                    admin::Command::Package { id, name, codec }
                }
            };
            print!("{}", admin::run(server, &key, cmd).await?);
        }
    }
    Ok(())
}

async fn package(action: PackageAction) -> Result<()> {
    use olive_gateway::model::{Codec, Policy};
    use olive_gateway::packages::olive::{self as package, create, source::Source};
    match action {
        PackageAction::Create {
            config,
            item,
            out,
            wait_serial,
            wait_secs,
            wait_enter,
            codec,
            timeout,
        } => {
            let cfg = Config::load(&config)?;
            let it = cfg
                .catalog
                .get(&item)
                .with_context(|| format!("no item {item:?} in {}", config.display()))?;
            let codec = Codec::from_name(&codec)
                .with_context(|| format!("unknown codec {codec:?} (none, lz4, zstd, xz)"))?;
            let wait = match (wait_serial, wait_secs, wait_enter) {
                (Some(m), _, _) => create::WaitFor::Serial(m),
                (_, Some(s), _) => create::WaitFor::Seconds(s),
                (_, _, true) => {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    std::thread::spawn(move || {
                        eprintln!("press Enter to save the package");
                        let mut line = String::new();
                        if std::io::stdin().read_line(&mut line).is_ok() {
                            let _ = tx.send(());
                        }
                    });
                    create::WaitFor::Signal(rx)
                }
                _ => anyhow::bail!("say when to save: --wait-serial, --wait-secs or --wait-enter"),
            };
            let launcher = launcher_for(&cfg).await?;
            let out = std::path::absolute(&out)?;
            let work = out.with_file_name(format!(
                ".{}.work-{}",
                out.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default(),
                std::process::id()
            ));
            let opts = create::CreateOptions {
                codec,
                wait,
                timeout: std::time::Duration::from_secs(timeout),
            };
            let m = create::create(&launcher, &it, &out, &work, opts).await?;
            println!("{}: package {:?} written", out.display(), m.name);
            if let Some(mem) = &m.memory {
                println!(
                    "memory image: {} bytes -> {} bytes ({})",
                    mem.uncompressed_size,
                    mem.file.size,
                    mem.codec.name()
                );
            }
        }
        PackageAction::Import {
            config,
            nxpk,
            out,
            codec,
            no_restore_check,
            kernel,
            initrd,
            append,
        } => {
            let cfg = Config::read(&config)?;
            let opts = package::import::ImportOptions {
                codec: Codec::from_name(&codec)
                    .with_context(|| format!("unknown codec {codec:?} (none, lz4, zstd, xz)"))?,
                check_restore: !no_restore_check,
                kernel: kernel.map(std::path::absolute).transpose()?,
                initrd: initrd.map(std::path::absolute).transpose()?,
                append,
                policy: cfg.policy,
            };
            let launcher = launcher_for(&cfg).await?;
            let out = std::path::absolute(&out)?;
            let imported = package::import::import(&launcher, &nxpk, &out, &opts).await?;
            println!(
                "{}: package {:?} written",
                out.display(),
                imported.manifest.name
            );
            match (&imported.manifest.memory, &imported.memory_dropped) {
                (Some(m), _) => println!(
                    "memory image: {} bytes -> {} bytes ({}), resumes in this QEMU",
                    m.uncompressed_size,
                    m.file.size,
                    m.codec.name()
                ),
                (None, Some(why)) => {
                    println!("memory image dropped (the package cold-boots): {why}")
                }
                (None, None) => println!("no memory image (the package cold-boots)"),
            }
        }
        PackageAction::Validate {
            package: pkg,
            config,
        } => {
            let (policy, qemu_img) = match &config {
                Some(p) => {
                    let c = Config::read(p)?;
                    (c.policy, c.qemu_img)
                }
                None => (Policy::default(), PathBuf::from("qemu-img")),
            };
            let root = Source::parse(&pkg, &std::env::current_dir()?);
            let report = tokio::task::spawn_blocking(move || {
                package::validate::validate(root, policy, &qemu_img)
            })
            .await??;
            for line in report {
                println!("ok  {line}");
            }
            println!("{pkg}: valid");
        }
    }
    Ok(())
}
