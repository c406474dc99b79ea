//! Configuration → [`Catalog`]: the one place that opens packages when the configuration
//! is loaded (their manifests supply the machine and the metadata the item leaves out).
//! Remote packages are not touched here; they are fetched when an instance launches.

use std::path::Path;

use crate::config::{Config, ConfigError, ItemSource};
use crate::model::{Catalog, Item, MachineSource};
use crate::packages::olive::source::Source;
use crate::packages::olive::Package;

impl Config {
    /// Reads and validates `path` and opens the local packages its items name: the
    /// configuration `olive-gateway serve` runs.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let mut config = Config::read(path)?;
        config.catalog = load(&config)?;
        Ok(config)
    }
}

/// The catalog of `config`. A package that cannot be opened is an error naming the
/// configuration's `file:line` and the item's `package` field.
pub fn load(config: &Config) -> Result<Catalog, ConfigError> {
    let mut items = Vec::with_capacity(config.items.len());
    for spec in &config.items {
        let (meta, machine) = match &spec.source {
            ItemSource::Machine { meta, machine } => {
                (meta.clone(), MachineSource::Local(machine.clone()))
            }
            ItemSource::Remote { meta, remote } => {
                (meta.clone(), MachineSource::Remote(remote.clone()))
            }
            ItemSource::Package { dir, overrides, at } => {
                let fail =
                    |e: &dyn std::fmt::Display| ConfigError::at(&config.file, at, e.to_string());
                let p = Package::open(Source::Local(dir.clone()), config.policy)
                    .map_err(|e| fail(&e))?;
                let machine = p.machine().map_err(|e| fail(&e))?;
                (
                    overrides.clone().over(p.meta()),
                    MachineSource::Local(machine),
                )
            }
        };
        items.push(Item {
            id: spec.id.clone(),
            meta,
            machine,
            access: spec.access,
            keymap: spec.keymap,
        });
    }
    Ok(Catalog::new(items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{parse, GOOD};

    #[test]
    fn an_unreadable_package_names_its_line() {
        let text = GOOD.replace(
            "id = \"b\"\n",
            "id = \"b\"\npackage = \"/nonexistent/pkg\"\n",
        );
        let cut = text.find("[item.machine]\ndisk = \"/abs").unwrap();
        let c = parse(&text[..cut]).unwrap();
        let e = load(&c).unwrap_err();
        assert_eq!(
            (e.line(), e.field()),
            (Some(21), Some("item[1].package")),
            "{e}"
        );
        assert!(e.to_string().contains("olive-package.json"), "{e}");
    }

    #[test]
    fn configured_items_keep_their_order() {
        let c = load(&parse(GOOD).unwrap()).unwrap();
        let ids: Vec<&str> = c.items().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(c.get("b").unwrap().meta.title, "B");
    }
}
