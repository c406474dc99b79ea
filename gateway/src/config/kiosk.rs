//! The `[[kiosk]]` tables: names, the titles each runs, its timings, the chords it blocks,
//! the staff chord and PIN. Whether each title resumes from a memory image (and has a
//! saved screen for the attract loop) is known only once packages are opened, so
//! [`crate::catalog`] checks that, with the line kept here in [`KioskSpec::at`].

use std::time::Duration;

use olive_api::Chord;
use toml::Spanned;

use super::items::{ItemSpec, Location};
use super::raw::RawKiosk;
use super::{Checker, ConfigError};
use crate::model::kiosk::{
    DEFAULT_ATTRACT_SECS, DEFAULT_BLOCKED_KEYS, DEFAULT_IDLE_SECS, DEFAULT_STAFF_CHORD,
    DEFAULT_WARNING_SECS,
};
use crate::model::policy::is_item_id;
use crate::model::Kiosk;

/// Most titles in one attract loop: a visitor walks away long before 32 have cycled.
const MAX_ITEMS: usize = 32;
/// Longest timing accepted (a day); anything longer is a typo.
const MAX_SECS: u64 = 86_400;
/// Most chords blocked per kiosk.
const MAX_BLOCKED: usize = 64;
/// PIN length bounds: four digits at least, and short enough to type on a kiosk.
const PIN_DIGITS: std::ops::RangeInclusive<usize> = 4..=12;

/// A validated `[[kiosk]]`, with where each item was named for the catalog's checks.
#[derive(Clone, Debug)]
pub struct KioskSpec {
    /// The kiosk.
    pub kiosk: Kiosk,
    /// The location of each of `kiosk.items`, in the same order.
    pub at: Vec<Location>,
}

pub(super) fn check_kiosks(
    ck: &Checker<'_>,
    raw: Vec<Spanned<RawKiosk>>,
    items: &[ItemSpec],
) -> Result<Vec<KioskSpec>, ConfigError> {
    let mut out: Vec<KioskSpec> = Vec::new();
    for (i, k) in raw.into_iter().enumerate() {
        let k = k.into_inner();
        let at = |key: &str| format!("kiosk[{i}].{key}");
        let name = k.name.get_ref();
        if !is_item_id(name) {
            return Err(ck.error(
                k.name.span(),
                at("name"),
                "must be 1–64 characters of A-Z a-z 0-9 - _ . (it is part of /kiosk/NAME)",
            ));
        }
        if out.iter().any(|x| &x.kiosk.name == name) {
            return Err(ck.error(
                k.name.span(),
                at("name"),
                format!("duplicate kiosk name {name:?}"),
            ));
        }
        let list = k.items.get_ref();
        if list.is_empty() || list.len() > MAX_ITEMS {
            return Err(ck.error(
                k.items.span(),
                at("items"),
                format!("must name 1 to {MAX_ITEMS} items"),
            ));
        }
        let mut ids = Vec::new();
        let mut locations = Vec::new();
        for (j, id) in list.iter().enumerate() {
            let field = at(&format!("items[{j}]"));
            if !items.iter().any(|it| &it.id == id.get_ref()) {
                return Err(ck.error(
                    id.span(),
                    field,
                    format!("no [[item]] has id {:?}", id.get_ref()),
                ));
            }
            if ids.contains(id.get_ref()) {
                return Err(ck.error(id.span(), field, "named twice"));
            }
            ids.push(id.get_ref().clone());
            locations.push(ck.location(id.span(), field));
        }
        let secs = |v: &Option<Spanned<u64>>, key: &str, default: u64| match v {
            None => Ok(default),
            Some(s) if (1..=MAX_SECS).contains(s.get_ref()) => Ok(*s.get_ref()),
            Some(s) => Err(ck.error(s.span(), at(key), format!("must be 1 to {MAX_SECS}"))),
        };
        let attract = secs(&k.attract_secs, "attract_secs", DEFAULT_ATTRACT_SECS)?;
        let idle = secs(&k.idle_secs, "idle_secs", DEFAULT_IDLE_SECS)?;
        let warning = secs(&k.warning_secs, "warning_secs", DEFAULT_WARNING_SECS)?;
        let blocked_keys = match &k.blocked_keys {
            None => DEFAULT_BLOCKED_KEYS
                .iter()
                .map(|c| Chord::parse(c).expect("the default chords parse"))
                .collect(),
            Some(list) if list.len() > MAX_BLOCKED => {
                return Err(ck.error(
                    list[MAX_BLOCKED].span(),
                    at("blocked_keys"),
                    format!("at most {MAX_BLOCKED} chords"),
                ))
            }
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(j, c)| {
                    Chord::parse(c.get_ref()).map_err(|e| {
                        ck.error(c.span(), at(&format!("blocked_keys[{j}]")), e.to_string())
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let staff_chord = match &k.staff_chord {
            None => Chord::parse(DEFAULT_STAFF_CHORD).expect("the default chord parses"),
            Some(c) => Chord::parse(c.get_ref())
                .map_err(|e| ck.error(c.span(), at("staff_chord"), e.to_string()))?,
        };
        if blocked_keys.contains(&staff_chord) {
            return Err(ck.error(
                k.staff_chord.as_ref().map_or(k.name.span(), |c| c.span()),
                at("staff_chord"),
                "is also in blocked_keys",
            ));
        }
        let pin = k.pin.get_ref();
        if !PIN_DIGITS.contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ck.error(
                k.pin.span(),
                at("pin"),
                format!(
                    "must be {} to {} digits",
                    PIN_DIGITS.start(),
                    PIN_DIGITS.end()
                ),
            ));
        }
        out.push(KioskSpec {
            kiosk: Kiosk {
                name: name.clone(),
                items: ids,
                attract: Duration::from_secs(attract),
                idle: Duration::from_secs(idle),
                warning: Duration::from_secs(warning),
                blocked_keys,
                staff_chord,
                pin: pin.clone(),
            },
            at: locations,
        });
    }
    Ok(out)
}
