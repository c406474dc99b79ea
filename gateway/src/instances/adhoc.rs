//! Items made by `GET /launch?package=URL`: a package link from a trusted host becomes an
//! item (not in the configuration) under an id derived from the URL, so the same link
//! reuses the same item. At most [`MAX_ADHOC_ITEMS`] distinct links are remembered, a bound
//! on what visitors can make the gateway keep.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::Digest;

use crate::model::{Access, Item, ItemMeta, MachineSource, RemoteRef};

/// How many distinct package links `GET /launch` remembers as items.
pub const MAX_ADHOC_ITEMS: usize = 256;

#[derive(Default)]
pub(super) struct Adhoc {
    items: Mutex<HashMap<String, Arc<Item>>>,
}

impl Adhoc {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Item>>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The id of `remote`'s item, made now if it is new; `None` when full.
    pub(super) fn add(&self, remote: RemoteRef, meta: ItemMeta) -> Option<String> {
        let digest = sha2::Sha256::digest(remote.url.as_bytes());
        let id = format!("launch-{}", &data_encoding::HEXLOWER.encode(&digest)[..16]);
        let item = Arc::new(Item {
            id: id.clone(),
            meta,
            machine: MachineSource::Remote(remote),
            access: Access::Public,
            keymap: crate::model::Keymap::default(),
            screen: None,
        });
        let mut map = self.lock();
        if map.len() >= MAX_ADHOC_ITEMS && !map.contains_key(&id) {
            return None;
        }
        map.insert(id.clone(), item);
        Some(id)
    }

    pub(super) fn get(&self, id: &str) -> Option<Arc<Item>> {
        self.lock().get(id).cloned()
    }

    /// Every item's id and description, ordered by id.
    pub(super) fn list(&self) -> Vec<(String, ItemMeta)> {
        let mut v: Vec<_> = self
            .lock()
            .values()
            .map(|i| (i.id.clone(), i.meta.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}
