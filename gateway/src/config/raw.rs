//! The file as written: serde's view of `gateway.toml`, with the spans of every value a
//! later check may need to point at.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use super::Accelerator;
use crate::model::{BootOrder, DiskBus, Display, Mouse, SoundCards};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub listen: Option<Spanned<String>>,
    pub token_port: Option<u16>,
    pub token_host: Option<String>,
    pub secret_key: Spanned<String>,
    pub data_dir: PathBuf,
    pub static_dir: Option<PathBuf>,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Obsolete: a `/ws` handshake without `Origin` is always accepted now.
    pub ws_allow_missing_origin: Option<bool>,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub qemu: RawQemu,
    #[serde(default)]
    pub trusted_package_hosts: Vec<String>,
    #[serde(default)]
    pub item: Vec<Spanned<RawItem>>,
    pub portal: Option<Spanned<RawPortal>>,
    #[serde(default)]
    pub kiosk: Vec<Spanned<RawKiosk>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKiosk {
    pub name: Spanned<String>,
    pub items: Spanned<Vec<Spanned<String>>>,
    pub attract_secs: Option<Spanned<u64>>,
    pub idle_secs: Option<Spanned<u64>>,
    pub warning_secs: Option<Spanned<u64>>,
    pub blocked_keys: Option<Vec<Spanned<String>>>,
    pub staff_chord: Option<Spanned<String>>,
    pub pin: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPortal {
    pub public_url: Option<Spanned<String>>,
    pub repository_name: Option<String>,
    pub admin_email: Option<String>,
    pub oai_page_size: Option<Spanned<usize>>,
    #[serde(default)]
    pub embed_origins: Vec<Spanned<String>>,
    #[serde(default)]
    pub key: Vec<Spanned<RawSigningKey>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSigningKey {
    pub name: String,
    pub secret: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub idle_timeout_secs: Option<Spanned<u64>>,
    pub session_limit_secs: Option<Spanned<u64>>,
    pub gc_interval_secs: Option<Spanned<u64>>,
    pub max_instances: Option<Spanned<usize>>,
    pub max_memory_mb: Option<u32>,
    pub max_vcpus: Option<u32>,
    pub chunk_cache_mb: Option<u64>,
    pub disconnect_grace_secs: Option<Spanned<u64>>,
    pub handover_secs: Option<Spanned<u64>>,
    pub creates_per_minute: Option<Spanned<u32>>,
    #[serde(default)]
    pub trusted_proxies: Vec<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQemu {
    pub binary: Option<PathBuf>,
    pub img_binary: Option<PathBuf>,
    pub accelerator: Option<Accelerator>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawItem {
    pub id: Spanned<String>,
    /// A package directory or URL; replaces `[item.machine]`, and its metadata fills any
    /// of the fields below left out.
    pub package: Option<Spanned<String>>,
    pub title: Option<String>,
    pub creator: Option<String>,
    pub year: Option<u32>,
    pub description: Option<String>,
    pub rights: Option<String>,
    pub thumbnail: Option<String>,
    /// The collection group (and OAI-PMH set) the item is listed under.
    pub group: Option<String>,
    /// `false`: launched only through a signed portal link.
    pub public: Option<bool>,
    /// The guest's keyboard layout: `us` (default), `de` or `fr`.
    pub keymap: Option<Spanned<String>>,
    /// Instances of this item alive at once; more visitors queue.
    pub seats: Option<Spanned<usize>>,
    pub machine: Option<Spanned<RawMachine>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMachine {
    pub disk: PathBuf,
    pub memory_image: Option<Spanned<PathBuf>>,
    pub memory_mb: Spanned<u32>,
    pub vcpus: Option<Spanned<u32>>,
    pub machine_type: Option<Spanned<String>>,
    #[serde(default)]
    pub display: Display,
    pub vga_memory_mb: Option<Spanned<u32>>,
    /// One card or a list.
    #[serde(default)]
    pub sound: SoundCards,
    pub limit_mouse_rate: Option<u32>,
    pub kernel: Option<PathBuf>,
    pub initrd: Option<Spanned<PathBuf>>,
    pub append: Option<Spanned<String>>,
    #[serde(default)]
    pub network: bool,
    /// `tablet = true|false` is the older spelling.
    #[serde(default, alias = "tablet")]
    pub mouse: Mouse,
    pub floppy: Option<PathBuf>,
    pub cdrom: Option<PathBuf>,
    pub boot: Option<Spanned<BootOrder>>,
    #[serde(default)]
    pub disk_bus: DiskBus,
    #[serde(default)]
    pub agent: bool,
}
