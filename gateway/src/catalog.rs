//! The catalog: what can be launched, and the metadata shown to visitors.
//!
//! Items are split into [`ItemMeta`] (public) and [`Machine`] (paths and sizes that stay
//! on the server) so that `/api/collection` cannot leak a disk path by accident.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::packages::olive::MemoryImage;

/// Sound devices the launcher knows how to attach to a SPICE audiodev.
pub const SOUND_DEVICES: &[&str] = &["AC97", "intel-hda", "sb16", "es1370"];

/// The emulated display adapter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Display {
    #[default]
    Std,
    Qxl,
}

/// Public description of an item.
#[derive(Clone, Debug, Serialize)]
pub struct ItemMeta {
    pub title: String,
    pub creator: Option<String>,
    pub year: Option<u32>,
    pub description: Option<String>,
    pub rights: Option<String>,
    pub thumbnail: Option<String>,
}

/// How to run an item (server-side only).
#[derive(Clone, Debug)]
pub struct Machine {
    /// The pristine disk image; never written (each instance gets a qcow2 overlay).
    pub disk: PathBuf,
    /// The disk came from a package (untrusted): it must be a qcow2 without a backing
    /// file, or it could make QEMU open any file the gateway can read.
    pub standalone_disk: bool,
    /// A saved memory image (from a package): the first start of an instance resumes it.
    pub memory_image: Option<MemoryImage>,
    pub memory_mb: u32,
    pub vcpus: u32,
    /// `-machine` type, e.g. `pc` or `q35` (QEMU's default when absent).
    pub machine_type: Option<String>,
    pub display: Display,
    /// One of [`SOUND_DEVICES`]; `None` → no sound card.
    pub sound: Option<String>,
    pub limit_mouse_rate: Option<u32>,
    /// Direct kernel boot (used by the test guest).
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    pub append: Option<String>,
    /// Restricted user networking (see the launcher); off by default.
    pub network: bool,
    /// A usb-tablet so the SPICE client can use absolute (client) mouse mode.
    pub tablet: bool,
    /// A package at an http(s) URL: fetched when an instance launches
    /// ([`crate::packages::remote::prepare`]), which then supplies every other field.
    pub remote: Option<crate::packages::remote::RemoteRef>,
}

impl Machine {
    /// The stand-in for a remote package until it is fetched at launch.
    pub fn remote(r: crate::packages::remote::RemoteRef) -> Machine {
        Machine {
            disk: PathBuf::new(),
            standalone_disk: true,
            memory_image: None,
            memory_mb: 0,
            vcpus: 0,
            machine_type: None,
            display: Display::Std,
            sound: None,
            limit_mouse_rate: None,
            kernel: None,
            initrd: None,
            append: None,
            network: false,
            tablet: false,
            remote: Some(r),
        }
    }
}

/// One launchable item.
#[derive(Clone, Debug)]
pub struct Item {
    pub id: String,
    pub meta: ItemMeta,
    pub machine: Machine,
}

/// What `/api/collection` shows of an item.
#[derive(Clone, Debug, Serialize)]
pub struct PublicItem<'a> {
    pub id: &'a str,
    #[serde(flatten)]
    pub meta: &'a ItemMeta,
}

/// All items, in configuration order.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    items: Vec<Arc<Item>>,
}

impl Catalog {
    pub fn new(items: Vec<Item>) -> Catalog {
        Catalog {
            items: items.into_iter().map(Arc::new).collect(),
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<Item>> {
        self.items.iter().find(|i| i.id == id).cloned()
    }

    pub fn items(&self) -> impl Iterator<Item = &Arc<Item>> {
        self.items.iter()
    }

    /// The public view, for `/api/collection`.
    pub fn public(&self) -> Vec<PublicItem<'_>> {
        self.items
            .iter()
            .map(|i| PublicItem {
                id: &i.id,
                meta: &i.meta,
            })
            .collect()
    }
}
