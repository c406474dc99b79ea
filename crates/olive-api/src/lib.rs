//! The JSON of Olive's HTTP API (`gateway/README.md`), defined once for the server that
//! writes it (`olive-gateway`) and the browser app that reads it (`olive-web`).
//!
//! Only data and serde: no I/O, builds for wasm32 and native. Optional metadata is optional
//! on both sides: the gateway leaves a missing field out instead of sending `null`, and a
//! reader accepts either. [`parse_collection`] reads a collection item by item, so one
//! malformed item is skipped (and reported) instead of hiding the others.

#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};

mod kiosk;
mod queue;
pub use kiosk::{Chord, ChordError, KioskItem, KioskProfile, UnlockRequest};
pub use queue::{QueueItemRow, QueueList, QueuePosition, Queued, QueuedAnswer, WaitingRow};

/// The path of the WebSocket endpoint when the gateway does not say otherwise.
pub const CONTROL_URL: &str = "/ws";

/// One item of `GET /api/collection`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionItem {
    /// The key of the item in the gateway's config: what `POST /api/instances` names.
    pub id: String,
    /// The name shown on the item's card.
    pub title: String,
    /// Who made the software (a person, studio or publisher), when the config says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    /// The year the software came out, for sorting and display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub year: Option<u32>,
    /// A paragraph about the item, shown under its title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who holds the rights, or under which licence it is shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rights: Option<String>,
    /// URL of a picture of the item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
    /// The group the collection page lists it under ("Test patterns").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Made by `GET /launch` from a package link (listed after the configured items).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub launched: bool,
    /// The keyboard layout the guest expects; left out for the default, `us`.
    #[serde(default, skip_serializing_if = "Keymap::is_default")]
    pub keymap: Keymap,
}

/// The keyboard layout an item's guest is set up for. Keys from a physical keyboard go by
/// position and need no layout; text the player types for the visitor (the Type-text box,
/// a phone keyboard, a portal's `typeText`) must be turned into the keys a person with
/// this layout would press, or `z` arrives as `y` in a German guest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Keymap {
    /// US English (ANSI, QWERTY): what a guest without a layout setting assumes.
    #[default]
    Us,
    /// German (T1, QWERTZ), with dead `^`, `´` and `` ` ``.
    De,
    /// French (AZERTY), with dead `^` and `¨` (and, as on Windows, `~` and `` ` ``).
    Fr,
}

impl Keymap {
    /// Every layout, in the order the documentation lists them.
    pub const ALL: [Keymap; 3] = [Keymap::Us, Keymap::De, Keymap::Fr];

    /// The configuration's and the JSON's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Keymap::Us => "us",
            Keymap::De => "de",
            Keymap::Fr => "fr",
        }
    }

    /// Parses [`Keymap::as_str`]'s names (exactly, lower case).
    pub fn parse(name: &str) -> Option<Keymap> {
        Keymap::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether this is the default (`us`), which the JSON leaves out.
    pub fn is_default(&self) -> bool {
        *self == Keymap::Us
    }
}

/// `GET /api/collection`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    /// The items in the order the config lists them, launched items last.
    pub items: Vec<CollectionItem>,
}

/// An item [`parse_collection`] could not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedItem {
    /// Its position in `items`.
    pub index: usize,
    /// Its `id`, when it has a readable one.
    pub id: Option<String>,
    /// What was wrong (serde's words).
    pub reason: String,
}

/// What [`parse_collection`] read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedCollection {
    /// The items that were read, in their order.
    pub items: Vec<CollectionItem>,
    /// The items that were not, so the app can say how many are missing and why.
    pub skipped: Vec<SkippedItem>,
}

#[derive(Deserialize)]
struct RawCollection {
    items: Vec<serde_json::Value>,
}

/// Reads a `GET /api/collection` body item by item: a malformed item lands in `skipped`
/// and the others are kept. Only a body that is not `{"items": [...]}` is an error.
pub fn parse_collection(json: &str) -> Result<ParsedCollection, serde_json::Error> {
    let raw: RawCollection = serde_json::from_str(json)?;
    let mut out = ParsedCollection::default();
    for (index, value) in raw.items.into_iter().enumerate() {
        let id = value.get("id").and_then(|v| v.as_str()).map(str::to_owned);
        match serde_json::from_value::<CollectionItem>(value) {
            Ok(item) => out.items.push(item),
            Err(e) => out.skipped.push(SkippedItem {
                index,
                id,
                reason: e.to_string(),
            }),
        }
    }
    Ok(out)
}

/// `POST /api/instances`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRequest {
    /// The item (its config key) to start a VM of.
    pub item: String,
    /// A portal's signed launch link, as its query parameters carried it
    /// (`?expires=…&key=…&sig=…[&seat=…]`): required for items that are not public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<LaunchGrant>,
    /// A pristine machine: the visitor's own live instance of the item (which they would
    /// otherwise get back) is destroyed and a new one started. A kiosk's reset asks for
    /// this, so the next visitor finds the title as saved.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fresh: bool,
}

/// The signed part of a portal's launch link (see the gateway README, "Signed launch
/// links").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchGrant {
    /// Unix seconds after which the link no longer launches.
    pub expires: u64,
    /// The name of the portal's key.
    pub key: String,
    /// Lower-case hex HMAC-SHA256 of `ITEM\nEXPIRES\nSEAT`.
    pub sig: String,
    /// The portal's seat class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat: Option<String>,
}

fn control_url() -> String {
    CONTROL_URL.to_owned()
}

/// A created instance: the answer to `POST /api/instances`. The VM starts at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// The instance id: what `GET /api/instances` and the admin routes name.
    pub id: String,
    /// `ID/SECRET`, VMNetX's token shape.
    pub token: String,
    /// The SPICE ticket.
    pub spice_password: String,
    /// Path (or `ws(s)://` URL) of the WebSocket endpoint.
    #[serde(default = "control_url")]
    pub control_url: String,
    /// The item's keyboard layout, so a player that knows only the item id (a portal's
    /// `<olive-player>`) types text right; left out for `us`.
    #[serde(default, skip_serializing_if = "Keymap::is_default")]
    pub keymap: Keymap,
}

/// `GET /launch?package=URL` with `Accept: application/json`: the item made from the link
/// and a started instance of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Launched {
    /// The key of the item made from the link, under which it is now listed.
    pub item: String,
    /// The instance started from it.
    #[serde(flatten)]
    pub instance: Created,
}

/// An instance's state, in VMNetX's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not running; the instance directory (and its disk overlay) is kept for a restart.
    Stopped,
    /// QEMU is booting or resuming; a client may connect but sees nothing yet.
    Starting,
    /// The VM runs and the token port accepts clients.
    Running,
    /// Being powered off; becomes `stopped`.
    Stopping,
    /// Gone: QEMU killed and its directory deleted. Only seen by a client that held on.
    Destroyed,
}

/// One row of `GET /api/instances`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRow {
    /// The instance id.
    pub id: String,
    /// The config key of the item it runs.
    pub item: String,
    /// Where it is in its lifecycle.
    pub status: Status,
    /// The VM's process id, when it runs as a local process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Seconds since the instance was created (compared with `session_limit_secs`).
    pub age_secs: u64,
    /// Seconds since the last ping, connection or viewer traffic (compared with `idle_timeout_secs`).
    pub idle_secs: u64,
}

/// `GET /api/instances`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceList {
    /// Every instance the gateway holds, in no particular order.
    pub instances: Vec<InstanceRow>,
}

/// `POST /api/instances/{id}/package`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveRequest {
    /// The package's directory name under `<data_dir>/packages/`: letters, digits, `-`, `_`.
    pub name: String,
    /// `none`, `lz4` (the default), `zstd` or `xz`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
}

/// The answer to a save.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedPackage {
    /// The package directory on the server.
    pub package: String,
    /// The name it was saved under.
    pub name: String,
    /// Bytes of the saved memory image, when the save holds one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
}

/// The body of every error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, in words meant for the person at the browser.
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_metadata_is_left_out_and_accepted_as_null() {
        let bare = CollectionItem {
            id: "a".into(),
            title: "A".into(),
            ..CollectionItem::default()
        };
        let json = serde_json::to_string(&bare).unwrap();
        assert_eq!(json, r#"{"id":"a","title":"A"}"#);
        let with_nulls = r#"{"id":"a","title":"A","creator":null,"year":null,"description":null,"rights":null,"thumbnail":null}"#;
        assert_eq!(
            serde_json::from_str::<CollectionItem>(with_nulls).unwrap(),
            bare
        );
    }

    #[test]
    fn one_malformed_item_does_not_hide_the_others() {
        // An item configured without creator, description or rights (as the gateway used to
        // send it, with nulls), a full one, and a malformed one (year is not a number).
        let body = r#"{"items":[
            {"id":"bare","title":"Bare","creator":null,"description":null,"rights":null},
            {"id":"full","title":"Full","creator":"C","year":1993,"description":"d","rights":"r","thumbnail":"/t.png"},
            {"id":"bad","title":"Bad","year":"nineteen-ninety"},
            {"title":"no id"}
        ]}"#;
        let c = parse_collection(body).unwrap();
        let ids: Vec<&str> = c.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["bare", "full"]);
        assert_eq!(c.items[0].creator, None);
        assert_eq!(c.items[1].year, Some(1993));
        assert_eq!(c.skipped.len(), 2);
        assert_eq!(c.skipped[0].index, 2);
        assert_eq!(c.skipped[0].id.as_deref(), Some("bad"));
        assert!(
            c.skipped[0].reason.contains("invalid type"),
            "{:?}",
            c.skipped[0]
        );
        assert_eq!((c.skipped[1].index, c.skipped[1].id.as_deref()), (3, None));
        assert!(parse_collection(r#"{"items": 3}"#).is_err());
        assert!(parse_collection("not json").is_err());
    }

    #[test]
    fn created_and_launched() {
        let c: Created =
            serde_json::from_str(r#"{"id":"x","token":"x/y","spice_password":"p"}"#).unwrap();
        assert_eq!(c.control_url, "/ws");
        assert_eq!(c.keymap, Keymap::Us);
        let l = Launched {
            item: "launch-1".into(),
            instance: c.clone(),
        };
        let v: serde_json::Value = serde_json::to_value(&l).unwrap();
        assert_eq!(v["item"], "launch-1");
        assert_eq!(v["token"], "x/y");
        let back: Launched = serde_json::from_value(v).unwrap();
        assert_eq!(back, l);
    }

    #[test]
    fn keymaps_by_name() {
        for k in Keymap::ALL {
            assert_eq!(Keymap::parse(k.as_str()), Some(k));
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
        }
        assert_eq!(Keymap::parse("DE"), None);
        let de = CollectionItem {
            id: "a".into(),
            title: "A".into(),
            keymap: Keymap::De,
            ..CollectionItem::default()
        };
        let json = serde_json::to_string(&de).unwrap();
        assert_eq!(json, r#"{"id":"a","title":"A","keymap":"de"}"#);
        assert_eq!(serde_json::from_str::<CollectionItem>(&json).unwrap(), de);
        assert!(serde_json::from_str::<CollectionItem>(
            r#"{"id":"a","title":"A","keymap":"dvorak"}"#
        )
        .is_err());
    }

    #[test]
    fn instance_rows() {
        let row = InstanceRow {
            id: "A".into(),
            item: "guest".into(),
            status: Status::Running,
            pid: None,
            age_secs: 3,
            idle_secs: 1,
        };
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(
            json,
            r#"{"id":"A","item":"guest","status":"running","age_secs":3,"idle_secs":1}"#
        );
    }
}
