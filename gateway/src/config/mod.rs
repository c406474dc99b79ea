//! The gateway's TOML configuration: server settings, limits, QEMU and the catalog's items,
//! validated. Pure: nothing here opens a package or touches the network. [`Config::parse`]
//! and [`Config::read`] leave [`Config::catalog`] empty; [`Config::load`] (in
//! [`crate::catalog`], the one place that opens packages) reads the file and fills it.
//!
//! Every error names the file, the line and the field path (`item[1].machine.vcpus`),
//! because an operator who mistypes one key in a catalog of a hundred items should not have
//! to bisect the file. Lines come from the spans toml keeps for each value
//! (`toml::Spanned`); for serde's own errors the field path is read from toml's spanned
//! document (`config/locate.rs`). Relative paths are resolved against the configuration file's
//! directory so that a deployment can be moved as one folder.

mod items;
mod kiosk;
mod locate;
mod portal;
mod raw;
mod seating;
#[cfg(test)]
pub(crate) mod tests;

use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

pub use items::{ItemSource, ItemSpec, Location, MetaOverrides};
pub use kiosk::KioskSpec;
pub use seating::{
    Seating, DEFAULT_CREATES_PER_MINUTE, DEFAULT_DISCONNECT_GRACE_SECS, DEFAULT_HANDOVER_SECS,
};

use crate::model::{Catalog, Policy, PortalSettings};

/// VMNetX's default control port; kept so that old clients' URLs without a port still work.
pub const DEFAULT_TOKEN_PORT: u16 = 18923;
/// VMNetX's `instance_timeout`.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 300;
/// VMNetX's `gc_interval`.
pub const DEFAULT_GC_INTERVAL_SECS: u64 = 5;

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file as named on the command line.
        file: PathBuf,
        /// Why reading failed.
        #[source]
        source: std::io::Error,
    },
    /// Syntax or type error, or a check that failed; `message` is for the operator.
    #[error("{file}:{line}: field `{field}`: {message}")]
    Invalid {
        /// The file the error is in.
        file: PathBuf,
        /// The 1-based line of the offending value (or of its table, for a missing key).
        line: usize,
        /// The field path, e.g. `item[1].machine.vcpus`.
        field: String,
        /// What is wrong, in words for the operator.
        message: String,
    },
}

impl ConfigError {
    /// The field path (e.g. `item[2].machine.memory_mb`), for tests and tools.
    pub fn field(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { field, .. } => Some(field),
            ConfigError::Read { .. } => None,
        }
    }

    /// The 1-based line number.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Invalid { line, .. } => Some(*line),
            ConfigError::Read { .. } => None,
        }
    }

    /// An error about the field at `at` of `file`.
    pub fn at(file: &Path, at: &Location, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: file.to_path_buf(),
            line: at.line,
            field: at.field.clone(),
            message: message.into(),
        }
    }
}

/// Which QEMU accelerator to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accelerator {
    /// Hardware virtualisation; fails the launch where `/dev/kvm` is missing.
    Kvm,
    /// QEMU's software emulator: slow (a guest eats a host core) but runs anywhere.
    Tcg,
    /// KVM if `/dev/kvm` works, else TCG with a warning. Best-effort only: on some hosts KVM
    /// initialises fine and then never runs the guest, which no cheap probe detects.
    Auto,
}

/// The whole configuration, validated.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the file was read from (for messages).
    pub file: PathBuf,
    /// The HTTP address (web app, API, `/ws`, `/metrics`); `127.0.0.1:8080` when not given.
    pub listen: SocketAddr,
    /// The VMNetX-protocol TCP port (the token port), bound on `token_host`.
    pub token_port: u16,
    /// The address the token port is bound on; the IP of `listen` when not given.
    pub token_host: String,
    /// The `X-Secret-Key` of the admin routes (at least 16 characters), compared in constant time.
    pub secret_key: String,
    /// Where instances (`instances/<id>/`), saved packages and the chunk cache live.
    pub data_dir: PathBuf,
    /// The web app's `dist` folder; `None` or missing → a plain "not built" page.
    pub static_dir: Option<PathBuf>,
    /// Origins allowed to open `/ws`; empty means same-origin only (decided by the bridge).
    pub allowed_origins: Vec<String>,
    /// How long an instance may go without pings, connections or viewer traffic before the collector destroys it.
    pub idle_timeout: Duration,
    /// Hard session limit: an instance is destroyed this long after creation whatever it does.
    pub session_limit: Duration,
    /// How often the collector looks at the instances.
    pub gc_interval: Duration,
    /// Most instances alive at once; `POST /api/instances` beyond it is refused (each is a QEMU).
    pub max_instances: usize,
    /// The limits every machine is held to.
    pub policy: Policy,
    /// The `qemu-system-x86_64` to run.
    pub qemu_binary: PathBuf,
    /// The `qemu-img` that makes overlays and checks package disks.
    pub qemu_img: PathBuf,
    /// Which accelerator QEMU is asked for.
    pub accelerator: Accelerator,
    /// The catalog's items as configured, in file order.
    pub items: Vec<ItemSpec>,
    /// The items ready to launch (local packages opened); empty until
    /// [`crate::catalog::load`] has run, as [`Config::load`] does.
    pub catalog: Catalog,
    /// Hosts `GET /launch?package=URL` may launch from (`host` or `*.domain`); empty turns
    /// the route off.
    pub trusted_package_hosts: Vec<String>,
    /// Size limit of the chunk cache shared by remote packages (`<data_dir>/chunks`).
    pub chunk_cache_bytes: u64,
    /// Keys that are accepted for compatibility but no longer do anything.
    pub obsolete_keys: Vec<&'static str>,
    /// The `[portal]` section: public address, OAI-PMH identity, signing keys, embedders.
    pub portal: PortalSettings,
    /// Seats, hand-over and abuse limits (`[limits]`).
    pub seating: Seating,
    /// The `[[kiosk]]` profiles, in file order.
    pub kiosks: Vec<KioskSpec>,
}

/// Makes errors that point into one file.
struct Checker<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Checker<'_> {
    fn error(
        &self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_path_buf(),
            line: locate::line_of(self.text, span.start),
            field: field.into(),
            message: message.into(),
        }
    }

    fn location(&self, span: Range<usize>, field: impl Into<String>) -> Location {
        Location {
            line: locate::line_of(self.text, span.start),
            field: field.into(),
        }
    }

    /// A syntax or type error from toml/serde, placed at its span's field.
    fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let offset = e.span().map_or(0, |s| s.start);
        let (doc, _) = toml::de::DeTable::parse_recoverable(self.text);
        let found = locate::path_at(doc.get_ref(), offset);
        let field = match locate::missing_field(e.message()) {
            Some(name) => locate::child(found, name),
            None => found.map(|f| f.path).unwrap_or_default(),
        };
        self.error(offset..offset, field, e.message().trim())
    }

    /// `value` unless it is zero.
    fn at_least_one<T: Copy + Default + PartialEq>(
        &self,
        value: Option<&Spanned<T>>,
        field: &str,
        default: T,
    ) -> Result<T, ConfigError> {
        match value {
            Some(v) if *v.get_ref() == T::default() => {
                Err(self.error(v.span(), field, "must be at least 1"))
            }
            Some(v) => Ok(*v.get_ref()),
            None => Ok(default),
        }
    }
}

impl Config {
    /// Reads and validates `path`, without opening packages (see [`Config::load`]).
    pub fn read(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Config::parse(path, &text)
    }

    /// Parses `text` as if read from `path` (relative paths are resolved against its folder).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let ck = Checker { file: path, text };
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| ck.toml_error(&e))?;
        let abs = |p: &Path| -> PathBuf {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };

        let listen: SocketAddr = match &raw.listen {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(l) => l.get_ref().parse().map_err(|_| {
                ck.error(
                    l.span(),
                    "listen",
                    format!("{:?} is not an address:port", l.get_ref()),
                )
            })?,
        };
        if raw.secret_key.get_ref().len() < 16 {
            return Err(ck.error(
                raw.secret_key.span(),
                "secret_key",
                "must be at least 16 characters",
            ));
        }
        let l = &raw.limits;
        let idle = ck.at_least_one(
            l.idle_timeout_secs.as_ref(),
            "limits.idle_timeout_secs",
            DEFAULT_IDLE_TIMEOUT_SECS,
        )?;
        let gc = ck.at_least_one(
            l.gc_interval_secs.as_ref(),
            "limits.gc_interval_secs",
            DEFAULT_GC_INTERVAL_SECS,
        )?;
        let session = ck.at_least_one(
            l.session_limit_secs.as_ref(),
            "limits.session_limit_secs",
            4 * 3600,
        )?;
        let max_instances = ck.at_least_one(l.max_instances.as_ref(), "limits.max_instances", 4)?;
        let defaults = Policy::default();
        let policy = Policy {
            max_memory_mb: l.max_memory_mb.unwrap_or(defaults.max_memory_mb),
            max_vcpus: l.max_vcpus.unwrap_or(defaults.max_vcpus),
        };
        let seating = seating::check_seating(&ck, l)?;
        let items = items::check_items(&ck, raw.item, policy, &abs)?;
        let portal = portal::check_portal(&ck, raw.portal)?;
        let kiosks = kiosk::check_kiosks(&ck, raw.kiosk, &items)?;
        let obsolete_keys = match raw.ws_allow_missing_origin {
            Some(_) => vec!["ws_allow_missing_origin"],
            None => Vec::new(),
        };

        Ok(Config {
            file: path.to_path_buf(),
            listen,
            token_port: raw.token_port.unwrap_or(DEFAULT_TOKEN_PORT),
            token_host: raw.token_host.unwrap_or_else(|| listen.ip().to_string()),
            secret_key: raw.secret_key.into_inner(),
            data_dir: abs(&raw.data_dir),
            static_dir: raw.static_dir.as_deref().map(abs),
            allowed_origins: raw.allowed_origins,
            idle_timeout: Duration::from_secs(idle),
            session_limit: Duration::from_secs(session),
            gc_interval: Duration::from_secs(gc),
            max_instances,
            policy,
            qemu_binary: raw
                .qemu
                .binary
                .unwrap_or_else(|| PathBuf::from("qemu-system-x86_64")),
            qemu_img: raw
                .qemu
                .img_binary
                .unwrap_or_else(|| PathBuf::from("qemu-img")),
            accelerator: raw.qemu.accelerator.unwrap_or(Accelerator::Auto),
            items,
            catalog: Catalog::default(),
            trusted_package_hosts: raw.trusted_package_hosts,
            chunk_cache_bytes: l.chunk_cache_mb.unwrap_or(4096).saturating_mul(1 << 20),
            obsolete_keys,
            portal,
            seating,
            kiosks,
        })
    }
}
