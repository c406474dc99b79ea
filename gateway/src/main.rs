//! `olive-gateway serve --config FILE` and `olive-gateway admin ...`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use olive_gateway::admin;
use olive_gateway::{Config, Server};

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
    /// Import a VMNetX `.nxpk` package into a directory (disk, unwrapped memory image,
    /// machine.json).
    ImportNxpk { package: PathBuf, out_dir: PathBuf },
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
enum AdminAction {
    /// List instances.
    List,
    /// Create an instance of a catalog item.
    Create { item: String },
    /// Destroy an instance.
    Destroy { id: String },
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
            println!(
                "{}: ok ({} items)",
                config.display(),
                c.catalog.items().count()
            );
        }
        Cmd::ImportNxpk { package, out_dir } => {
            let imported = olive_gateway::nxpk::import_local(&package, &out_dir).await?;
            println!("{}", serde_json::to_string_pretty(&imported)?);
        }
        Cmd::Admin {
            config,
            server,
            key,
            action,
        } => {
            let cfg = match &config {
                Some(p) => Some(Config::load(p)?),
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
            };
            print!("{}", admin::run(server, &key, cmd).await?);
        }
    }
    Ok(())
}
