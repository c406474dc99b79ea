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
        let (meta, machine, screen) = match &spec.source {
            ItemSource::Machine { meta, machine } => {
                (meta.clone(), MachineSource::Local(machine.clone()), None)
            }
            ItemSource::Remote { meta, remote } => {
                (meta.clone(), MachineSource::Remote(remote.clone()), None)
            }
            ItemSource::Package { dir, overrides, at } => {
                let fail =
                    |e: &dyn std::fmt::Display| ConfigError::at(&config.file, at, e.to_string());
                let p = Package::open(Source::Local(dir.clone()), config.policy)
                    .map_err(|e| fail(&e))?;
                let machine = p.machine().map_err(|e| fail(&e))?;
                let screen = p
                    .manifest
                    .screenshot
                    .as_ref()
                    .and_then(|s| p.file(s).local_path().ok().map(Path::to_path_buf));
                (
                    overrides.clone().over(p.meta()),
                    MachineSource::Local(machine),
                    screen,
                )
            }
        };
        items.push(Item {
            id: spec.id.clone(),
            meta,
            machine,
            access: spec.access,
            keymap: spec.keymap,
            screen,
        });
    }
    let catalog = Catalog::new(items);
    check_kiosks(config, &catalog)?;
    Ok(catalog)
}

/// Every kiosk title must resume from a memory image (a reset is "a second or two, not a
/// boot"), and in an attract loop (more than one title) have a saved screen to show.
fn check_kiosks(config: &Config, catalog: &Catalog) -> Result<(), ConfigError> {
    for spec in &config.kiosks {
        let looped = spec.kiosk.items.len() > 1;
        for (id, at) in spec.kiosk.items.iter().zip(&spec.at) {
            let Some(item) = catalog.get(id) else {
                continue;
            };
            let instant = match &item.machine {
                MachineSource::Local(m) => m.memory_image.is_some(),
                MachineSource::Remote(_) => false,
            };
            if !instant {
                return Err(ConfigError::at(
                    &config.file,
                    at,
                    format!(
                        "item {id:?} has no memory image: a kiosk title must be a local package \
                         saved with `package create` (or a machine with memory_image), so it \
                         resets in seconds instead of booting"
                    ),
                ));
            }
            if looped && item.screen.is_none() {
                return Err(ConfigError::at(
                    &config.file,
                    at,
                    format!(
                        "item {id:?} has no saved screen (screen.ppm) for the attract loop: \
                         use a package made by `package create`"
                    ),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{line_of, parse, GOOD, KIOSK};

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

    #[test]
    fn kiosk_titles_must_resume_from_a_memory_image() {
        let text = format!("{GOOD}{KIOSK}");
        let c = parse(&text).unwrap();
        // `a` is a plain machine: it would boot at every reset.
        let e = load(&c).unwrap_err();
        assert_eq!(e.field(), Some("kiosk[0].items[0]"), "{e}");
        assert_eq!(e.line(), Some(line_of(&text, "items = [")), "{e}");
        assert!(e.to_string().contains("no memory image"), "{e}");
    }
}
