//! olive-gateway: the server half of Olive.
//!
//! [`Server::start`] reaps QEMUs left by a previous run, then serves HTTP (web app, API,
//! metrics, `/ws`) and the VMNetX token port, and garbage-collects idle instances.
//!
//! The map, lowest layer first (a module imports only from the ones above it in this
//! list; `cargo test -p olive-gateway --test layers` checks it):
//!
//! | module | what it holds |
//! |---|---|
//! | [`model`] | the vocabulary: items and metadata, machines (`MachineSource`), memory images, package URLs, instance states, policy; pure data |
//! | [`fetch`] | demand fetching over http(s): range reads, the shared chunk cache, NBD export |
//! | [`codec`] | memory-image codecs (lz4, zstd, xz) and VMNetX's libvirt save format with lzop |
//! | [`metrics`] | counters and the Prometheus text of `/metrics` |
//! | [`config`] | TOML → validated [`Config`] (pure; errors name `file:line` and the field path) |
//! | [`qemu`] | QEMU as a child process: command line, spawning, QMP, migration, screen check, SPICE handover, `qemu-img`, reaping |
//! | [`packages`] | Olive packages (manifest, create, import, validate), VMNetX `.nxpk`, packages at URLs |
//! | [`catalog`] | [`Config`] → [`model::Catalog`], opening local packages |
//! | [`portal`] | signed launch links, the OAI-PMH repository, item pages' JSON-LD and Open Graph tags; pure |
//! | [`instances`] | the registry: instance state machine, ids and tokens, GC, `/launch` items, saving; VMs through the [`instances::Engine`] trait |
//! | [`engine`] | the engines: QEMU child processes |
//! | [`net`] | the control contract, `http/` (routes, `ApiError`, admin key, static files), `token_port/`, `ws_bridge` |
//! | [`admin`] | the `olive-gateway admin` HTTP client |
//! | `lib.rs` | [`Server`]: wires them together |

pub mod admin;
pub mod catalog;
pub mod codec;
pub mod config;
pub mod engine;
pub mod fetch;
pub mod instances;
pub mod metrics;
pub mod model;
pub mod net;
pub mod packages;
pub mod portal;
pub mod qemu;

use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_http::trace::{DefaultMakeSpan, TraceLayer};

pub use config::Config;
pub use instances::Registry;
pub use model::Catalog;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not be bound (address in use, no permission).
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address as configured.
        addr: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The data directory or its `instances/` could not be made.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The configured QEMU binary is missing or does not run (its path).
    #[error("QEMU binary {0} not found or not runnable")]
    QemuMissing(std::path::PathBuf),
}

/// A running gateway.
pub struct Server {
    registry: Registry,
    http_addr: SocketAddr,
    token_addr: SocketAddr,
    token_port: Arc<net::token_port::TokenPort>,
    tasks: Vec<JoinHandle<()>>,
}

async fn bind(addr: &str) -> Result<(TcpListener, SocketAddr), StartError> {
    let bind_err = |source| StartError::Bind {
        addr: addr.to_owned(),
        source,
    };
    let listener = TcpListener::bind(addr).await.map_err(bind_err)?;
    let local = listener.local_addr().map_err(bind_err)?;
    Ok((listener, local))
}

impl Server {
    /// Starts everything; returns once both listeners are bound.
    pub async fn start(config: Config) -> Result<Server, StartError> {
        let config = Arc::new(config);
        let catalog = config.catalog.clone();
        for key in &config.obsolete_keys {
            tracing::warn!("{}: `{key}` is obsolete and ignored", config.file.display());
        }
        let instances_dir = config.data_dir.join("instances");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&instances_dir)
            .map_err(|source| StartError::DataDir {
                path: instances_dir.clone(),
                source,
            })?;
        let reaped = qemu::process::reap_orphans(&instances_dir).await;
        if reaped > 0 {
            tracing::warn!(reaped, "killed QEMUs left by a previous gateway");
        }
        let launcher = launcher_for(&config).await?;
        let accel = launcher.accel;
        let chunks = Arc::new(fetch::LazyChunkCache::new(
            config.data_dir.join("chunks"),
            config.chunk_cache_bytes,
        ));
        let engine =
            engine::QemuEngine::new(launcher, instances_dir, chunks.clone(), config.policy);
        let settings = instances::Settings {
            idle_timeout: config.idle_timeout,
            session_limit: config.session_limit,
            gc_interval: config.gc_interval,
            max_instances: config.max_instances,
            packages_dir: config.data_dir.join("packages"),
            seats: config
                .items
                .iter()
                .filter_map(|i| Some((i.id.clone(), i.seats?)))
                .collect(),
            disconnect_grace: config.seating.disconnect_grace,
            handover: config.seating.handover,
            creates_per_minute: config.seating.creates_per_minute,
        };
        let metrics = Arc::new(metrics::Metrics::default());
        let registry = Registry::new(settings, catalog, Arc::new(engine), metrics);

        let (token_listener, token_addr) =
            bind(&format!("{}:{}", config.token_host, config.token_port)).await?;
        let (bridge_router, token_port, token_task) = net::ws_bridge::mount(
            Arc::new(registry.clone()),
            token_listener,
            token_addr,
            config.allowed_origins.clone(),
            config.portal.embed_origins.clone(),
        );
        let state = net::http::AppState {
            registry: registry.clone(),
            config: config.clone(),
            chunks,
            oai: net::http::repository(&config),
            pins: Default::default(),
        };
        let app = net::http::router(state, config.static_dir.clone())
            .merge(bridge_router)
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO)),
            );
        let (listener, http_addr) = bind(&config.listen.to_string()).await?;
        let http = tokio::spawn(async move {
            let svc = app.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, svc).await {
                tracing::error!("HTTP server failed: {e}");
            }
        });
        let gc = tokio::spawn(registry.clone().gc_loop());
        tracing::info!(%http_addr, %token_addr, accel = accel.as_arg(), "olive-gateway listening");
        Ok(Server {
            registry,
            http_addr,
            token_addr,
            token_port,
            tasks: vec![token_task, http, gc],
        })
    }

    /// The registry of instances, for the harness and the admin paths.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Where HTTP is served (the bound address; useful with port 0).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// Where the token port is served (the bound address; useful with port 0).
    pub fn token_addr(&self) -> SocketAddr {
        self.token_addr
    }

    /// Stops listening and destroys every instance (QEMU killed, files removed).
    pub async fn shutdown(self) {
        self.token_port.shutdown();
        for t in &self.tasks {
            t.abort();
        }
        self.registry.destroy_all().await;
    }
}

/// A QEMU launcher with the configuration's binaries and accelerator (after checking that
/// QEMU runs at all).
pub async fn launcher_for(config: &Config) -> Result<qemu::Launcher, StartError> {
    let qemu_ok = tokio::process::Command::new(&config.qemu_binary)
        .arg("-version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success());
    if !qemu_ok {
        return Err(StartError::QemuMissing(config.qemu_binary.clone()));
    }
    Ok(qemu::Launcher {
        qemu: config.qemu_binary.clone(),
        qemu_img: config.qemu_img.clone(),
        accel: qemu::accel::resolve(config.accelerator, &config.qemu_binary).await,
    })
}
