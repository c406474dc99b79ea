//! Catalog items: the public description and the machine behind it.

use super::machine::MachineSource;
pub use olive_api::Keymap;

/// What visitors see of an item. Everything but the title is optional: a curator may
/// know no more than a title.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemMeta {
    /// The name on the item's card; the one field a curator must give.
    pub title: String,
    /// Who made the software, when known.
    pub creator: Option<String>,
    /// The year it came out, when known.
    pub year: Option<u32>,
    /// A paragraph for visitors, when the curator wrote one.
    pub description: Option<String>,
    /// Who holds the rights, or the licence it is shown under.
    pub rights: Option<String>,
    /// URL of a picture of the item.
    pub thumbnail: Option<String>,
    /// The collection group the item is listed under ("Test patterns"); also its OAI-PMH set.
    pub group: Option<String>,
}

impl ItemMeta {
    /// A description with a title and nothing else.
    pub fn titled(title: impl Into<String>) -> ItemMeta {
        ItemMeta {
            title: title.into(),
            ..ItemMeta::default()
        }
    }
}

/// One launchable item. [`ItemMeta`] is public, the machine stays on the server, so an API
/// that serialises the description cannot leak a disk path by accident.
#[derive(Clone, Debug)]
pub struct Item {
    /// 1–64 characters of `A-Z a-z 0-9 - _ .` (checked where items are made).
    pub id: String,
    /// What visitors see: `/api/collection` is built from this alone.
    pub meta: ItemMeta,
    /// How to run it: a local machine now, or a package URL resolved at launch.
    pub machine: MachineSource,
    /// Who may launch it.
    pub access: Access,
    /// The keyboard layout its guest is set up for (`keymap = "de"`), which the player
    /// needs to type text as keys.
    pub keymap: Keymap,
    /// The screen at the moment its package was saved (`screen.ppm`), for a kiosk's
    /// attract loop (`GET /api/items/{id}/screen`); `None` for items without one.
    pub screen: Option<std::path::PathBuf>,
}

/// Who may launch an item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Access {
    /// Anyone: listed in the collection, harvested by OAI-PMH.
    #[default]
    Public,
    /// Only through a launch link signed by a portal (`public = false`): not listed, not
    /// harvested, refused without a valid signature.
    SignedOnly,
}
