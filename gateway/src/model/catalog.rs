//! The catalog: every launchable item of the configuration, in its order.

use std::sync::Arc;

use super::item::Item;

/// All configured items, in configuration order; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    items: Arc<Vec<Arc<Item>>>,
}

impl Catalog {
    pub fn new(items: Vec<Item>) -> Catalog {
        Catalog {
            items: Arc::new(items.into_iter().map(Arc::new).collect()),
        }
    }

    /// The item with `id`.
    pub fn get(&self, id: &str) -> Option<Arc<Item>> {
        self.items.iter().find(|i| i.id == id).cloned()
    }

    pub fn items(&self) -> impl Iterator<Item = &Arc<Item>> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
