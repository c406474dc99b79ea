//! olive-gateway: the server half of Olive.
//!
//! [`Server::start`] reaps QEMUs left by a previous run, then serves HTTP (web app, API,
//! metrics, `/ws`) and the VMNetX token port, and garbage-collects idle instances.
//!
//! Modules: [`config`] (TOML), [`catalog`] (items), [`accel`] (KVM/TCG choice),
//! [`launcher`] (QEMU child processes), [`qmp`] (readiness), [`instances`] (registry,
//! state machine, GC), [`http`] (axum routes), [`metrics`], [`admin`] (CLI client),
//! [`control`] (the contract with [`token_port`] and [`ws_bridge`]), [`fetch`] (demand fetching
//! of http(s) packages: range reads, shared chunk cache, NBD export), [`nxpk`] (VMNetX packages).

pub mod admin;
pub mod catalog;
pub mod config;
pub mod fetch;
pub mod instances;
pub mod metrics;
pub mod net;
pub mod packages;
pub mod qemu;

// Paths of the flat layout, still used by the end-to-end harness in `tests/`.
pub use net::control;
pub use packages::olive as package;
pub use qemu::{accel, launcher};

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::fs::DirBuilderExt;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use config::Config;
pub use instances::Registry;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("QEMU binary {0} not found or not runnable")]
    QemuMissing(std::path::PathBuf),
}

/// A running gateway.
pub struct Server {
    registry: Registry,
    http_addr: SocketAddr,
    token_addr: SocketAddr,
    stop_token_port: Box<dyn Fn() + Send + Sync>,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Starts everything; returns once both listeners are bound.
    pub async fn start(config: Config) -> Result<Server, StartError> {
        let config = Arc::new(config);
        let instances_dir = config.data_dir.join("instances");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&instances_dir)
            .map_err(|source| StartError::DataDir {
                path: instances_dir.clone(),
                source,
            })?;
        let reaped = qemu::launcher::reap_orphans(&instances_dir).await;
        if reaped > 0 {
            tracing::warn!(reaped, "killed QEMUs left by a previous gateway");
        }
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
        let accel = qemu::accel::resolve(config.accelerator, &config.qemu_binary).await;
        let launcher = qemu::launcher::Launcher {
            qemu: config.qemu_binary.clone(),
            qemu_img: config.qemu_img.clone(),
            accel,
        };
        let metrics = Arc::new(metrics::Metrics::default());
        let registry = Registry::new(config.clone(), launcher, metrics);
        let dyn_registry: Arc<dyn net::control::Registry> = Arc::new(registry.clone());

        let token_bind = format!("{}:{}", config.token_host, config.token_port);
        let token_listener =
            TcpListener::bind(&token_bind)
                .await
                .map_err(|source| StartError::Bind {
                    addr: token_bind.clone(),
                    source,
                })?;
        let token_addr = token_listener
            .local_addr()
            .map_err(|source| StartError::Bind {
                addr: token_bind,
                source,
            })?;
        let mut tasks = Vec::new();
        let (bridge_router, stop_token_port) = bridges(
            dyn_registry,
            token_listener,
            token_addr,
            &config,
            &mut tasks,
        );
        let app = net::http::router(
            net::http::AppState {
                registry: registry.clone(),
            },
            config.static_dir.clone(),
        )
        .merge(bridge_router);

        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen.to_string(),
                    source,
                })?;
        let http_addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen.to_string(),
            source,
        })?;
        tasks.push(tokio::spawn(async move {
            let svc = app.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, svc).await {
                tracing::error!("HTTP server failed: {e}");
            }
        }));
        tasks.push(tokio::spawn(registry.clone().gc_loop()));
        tracing::info!(%http_addr, %token_addr, accel = accel.as_arg(), "olive-gateway listening");
        Ok(Server {
            registry,
            http_addr,
            token_addr,
            stop_token_port,
            tasks,
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    pub fn token_addr(&self) -> SocketAddr {
        self.token_addr
    }

    /// Stops listening and destroys every instance (QEMU killed, files removed).
    pub async fn shutdown(self) {
        (self.stop_token_port)();
        for t in &self.tasks {
            t.abort();
        }
        self.registry.destroy_all().await;
    }
}

/// Starts G3's token port on `listener` and returns the `/ws` router plus a function that
/// stops the token port.
fn bridges(
    dyn_registry: Arc<dyn net::control::Registry>,
    token_listener: TcpListener,
    token_addr: SocketAddr,
    config: &Config,
    tasks: &mut Vec<JoinHandle<()>>,
) -> (axum::Router, Box<dyn Fn() + Send + Sync>) {
    let forwarded = Arc::new(net::token_port::ForwardedPeers::default());
    let opts = net::token_port::TokenPortOptions {
        forwarded: forwarded.clone(),
        ..Default::default()
    };
    let port = net::token_port::TokenPort::new(dyn_registry.clone(), opts);
    let p = port.clone();
    tasks.push(tokio::spawn(async move {
        if let Err(e) = p.serve(token_listener).await {
            tracing::error!("token port failed: {e}");
        }
    }));

    // The bridge always dials the token port over loopback when it listens on a
    // wildcard or loopback address.
    let bridge_target = match token_addr.ip() {
        ip if ip.is_unspecified() || ip.is_loopback() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), token_addr.port())
        }
        _ => token_addr,
    };
    let mut bridge_cfg =
        net::ws_bridge::WsBridgeConfig::new(bridge_target, config.allowed_origins.clone());
    bridge_cfg.allow_missing_origin = config.ws_allow_missing_origin;
    let bridge = net::ws_bridge::WsBridge::new(bridge_cfg, dyn_registry, forwarded);
    (
        net::ws_bridge::router(bridge),
        Box::new(move || port.shutdown()),
    )
}
