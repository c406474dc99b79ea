//! The catalog: every launchable item of the configuration, in its order.

use std::sync::Arc;

use super::item::Item;

/// All configured items, in configuration order; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    items: Arc<Vec<Arc<Item>>>,
}

impl Catalog {
    /// Wraps `items` in configuration order (ids are unique by then: the config checks them).
    pub fn new(items: Vec<Item>) -> Catalog {
        Catalog {
            items: Arc::new(items.into_iter().map(Arc::new).collect()),
        }
    }

    /// The item with `id`.
    pub fn get(&self, id: &str) -> Option<Arc<Item>> {
        self.items.iter().find(|i| i.id == id).cloned()
    }

    /// Every item in configuration order, as `/api/collection` lists them.
    pub fn items(&self) -> impl Iterator<Item = &Arc<Item>> {
        self.items.iter()
    }

    /// How many items there are (for the startup log and metrics).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is configured (the collection page then says so).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
