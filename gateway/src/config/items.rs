//! The `[[item]]` tables: ids, where each machine comes from, and the machine settings of
//! an `[item.machine]` held to the limits.

use std::path::{Path, PathBuf};

use toml::Spanned;

use super::raw::{RawItem, RawMachine};
use super::Checker;
use crate::config::ConfigError;
use crate::model::policy::{check_append, is_item_id};
use crate::model::{
    Access, BootDevice, Disk, Hardware, ItemMeta, KernelBoot, Keymap, Machine, Media, Policy,
    RemoteRef,
};

/// A line of the file and the field path there, kept for errors found later (when the
/// catalog opens a package).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The 1-based line in the file.
    pub line: usize,
    /// The field path there, e.g. `item[3].package`.
    pub field: String,
}

/// Metadata written in an item that points at a package: each field given replaces the
/// package's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetaOverrides {
    /// Replaces the package's title.
    pub title: Option<String>,
    /// Replaces the package's creator.
    pub creator: Option<String>,
    /// Replaces the package's year.
    pub year: Option<u32>,
    /// Replaces the package's description.
    pub description: Option<String>,
    /// Replaces the package's rights.
    pub rights: Option<String>,
    /// Replaces the package's thumbnail URL.
    pub thumbnail: Option<String>,
    /// Puts the item in a collection group (and OAI-PMH set).
    pub group: Option<String>,
}

impl MetaOverrides {
    /// `base` with these fields put over it.
    pub fn over(self, base: ItemMeta) -> ItemMeta {
        ItemMeta {
            title: self.title.unwrap_or(base.title),
            creator: self.creator.or(base.creator),
            year: self.year.or(base.year),
            description: self.description.or(base.description),
            rights: self.rights.or(base.rights),
            thumbnail: self.thumbnail.or(base.thumbnail),
            group: self.group.or(base.group),
        }
    }
}

/// Where an item's machine comes from, as configured.
// Built once per item when the configuration loads; boxing the machine would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum ItemSource {
    /// An `[item.machine]`.
    Machine {
        /// What visitors see.
        meta: ItemMeta,
        /// The machine as configured, held to the limits.
        machine: Machine,
    },
    /// `package = "http(s)://…"`: fetched at launch, not at load (a slow or absent server
    /// must not stop the gateway from starting).
    Remote {
        /// What visitors see before the package is fetched: the item's own fields (the title defaults to the id).
        meta: ItemMeta,
        /// The package's URL.
        remote: RemoteRef,
    },
    /// `package = DIR`: opened by the catalog when the configuration is loaded.
    Package {
        /// The package directory, resolved against the file's directory.
        dir: PathBuf,
        /// Metadata from the item that wins over the package's.
        overrides: MetaOverrides,
        /// Where `package` was written, for an error found when it is opened.
        at: Location,
    },
}

/// One `[[item]]`.
#[derive(Clone, Debug)]
pub struct ItemSpec {
    /// The item's id (checked: 1–64 of `A-Z a-z 0-9 - _ .`, unique).
    pub id: String,
    /// Where its machine comes from.
    pub source: ItemSource,
    /// `public = false` makes it [`Access::SignedOnly`].
    pub access: Access,
    /// `keymap = "us" | "de" | "fr"`, default `us`.
    pub keymap: Keymap,
    /// `seats = N`: instances of it alive at once (`None`: only `max_instances` limits it).
    pub seats: Option<usize>,
}

pub(super) fn check_items(
    ck: &Checker<'_>,
    raw: Vec<Spanned<RawItem>>,
    policy: Policy,
    abs: &dyn Fn(&Path) -> PathBuf,
) -> Result<Vec<ItemSpec>, ConfigError> {
    let mut items: Vec<ItemSpec> = Vec::new();
    for (i, it) in raw.into_iter().enumerate() {
        let span = it.span();
        let it = it.into_inner();
        let at = |key: &str| format!("item[{i}].{key}");
        let id = it.id.get_ref();
        if !is_item_id(id) {
            return Err(ck.error(
                it.id.span(),
                at("id"),
                "must be 1–64 characters of A-Z a-z 0-9 - _ .",
            ));
        }
        if items.iter().any(|x| &x.id == id) {
            return Err(ck.error(it.id.span(), at("id"), format!("duplicate item id {id:?}")));
        }
        let overrides = MetaOverrides {
            title: it.title,
            creator: it.creator,
            year: it.year,
            description: it.description,
            rights: it.rights,
            thumbnail: it.thumbnail,
            group: it.group,
        };
        let source = match (it.package, it.machine) {
            (Some(p), Some(_)) => {
                return Err(ck.error(
                    p.span(),
                    at("package"),
                    "an item has either `package` or `[item.machine]`, not both",
                ))
            }
            (None, None) => {
                return Err(ck.error(
                    span,
                    at("machine"),
                    "missing `[item.machine]` (or `package`)",
                ))
            }
            (Some(p), None) if RemoteRef::is_url(p.get_ref()) => {
                let remote = RemoteRef::parse(p.get_ref())
                    .map_err(|e| ck.error(p.span(), at("package"), e.to_string()))?;
                let meta = overrides.over(ItemMeta::titled(id.clone()));
                ItemSource::Remote { meta, remote }
            }
            (Some(p), None) => ItemSource::Package {
                dir: abs(Path::new(p.get_ref())),
                overrides,
                at: ck.location(p.span(), at("package")),
            },
            (None, Some(m)) => {
                let Some(title) = overrides.title.clone() else {
                    return Err(ck.error(span, at("title"), "missing field `title`"));
                };
                let meta = overrides.over(ItemMeta::titled(title));
                let machine = check_machine(ck, m, policy, abs, &at("machine"))?;
                ItemSource::Machine { meta, machine }
            }
        };
        let keymap = match &it.keymap {
            None => Keymap::default(),
            Some(k) => Keymap::parse(k.get_ref()).ok_or_else(|| {
                ck.error(
                    k.span(),
                    at("keymap"),
                    format!(
                        "unknown keyboard layout {:?}: one of \"us\", \"de\", \"fr\"",
                        k.get_ref()
                    ),
                )
            })?,
        };
        let access = match it.public {
            Some(false) => Access::SignedOnly,
            Some(true) | None => Access::Public,
        };
        let seats = ck.at_least_one(it.seats.as_ref(), &at("seats"), 0)?;
        items.push(ItemSpec {
            id: it.id.into_inner(),
            source,
            access,
            keymap,
            seats: (seats > 0).then_some(seats),
        });
    }
    Ok(items)
}

/// A hand-written `[item.machine]`, checked against the limits. `at` is its field path.
fn check_machine(
    ck: &Checker<'_>,
    m: Spanned<RawMachine>,
    policy: Policy,
    abs: &dyn Fn(&Path) -> PathBuf,
    at: &str,
) -> Result<Machine, ConfigError> {
    let table = m.span();
    let m = m.into_inner();
    let field = |key: &str| format!("{at}.{key}");
    if let Some(mi) = &m.memory_image {
        return Err(ck.error(
            mi.span(),
            field("memory_image"),
            "memory images come from packages: make one with `olive-gateway package create` and use `package = DIR`",
        ));
    }
    let hardware = Hardware {
        machine_type: m.machine_type.as_ref().map(|t| t.get_ref().clone()),
        display: m.display,
        vga_memory_mb: m.vga_memory_mb.as_ref().map(|v| *v.get_ref()),
        sound: m.sound,
        limit_mouse_rate: m.limit_mouse_rate,
        network: m.network,
        mouse: m.mouse,
        disk_bus: m.disk_bus,
        boot_order: m.boot.as_ref().map(|b| b.get_ref().clone()),
        agent: m.agent,
        ..Hardware::new(
            *m.memory_mb.get_ref(),
            m.vcpus.as_ref().map_or(1, |v| *v.get_ref()),
        )
    };
    policy.check(&hardware).map_err(|v| {
        let span = match v.field {
            "memory_mb" => Some(m.memory_mb.span()),
            "vcpus" => m.vcpus.as_ref().map(Spanned::span),
            "machine_type" => m.machine_type.as_ref().map(Spanned::span),
            "vga_memory_mb" => m.vga_memory_mb.as_ref().map(Spanned::span),
            _ => None,
        };
        ck.error(span.unwrap_or(table.clone()), field(v.field), v.message)
    })?;
    let boot = match m.kernel {
        Some(kernel) => Some(KernelBoot {
            kernel: abs(&kernel),
            initrd: m.initrd.map(|i| abs(i.get_ref())),
            append: match m.append {
                Some(a) => {
                    check_append(a.get_ref())
                        .map_err(|v| ck.error(a.span(), field("append"), v.message))?;
                    Some(a.into_inner())
                }
                None => None,
            },
        }),
        None if m.initrd.is_some() || m.append.is_some() => {
            return Err(ck.error(table, field("kernel"), "initrd/append need a kernel"));
        }
        None => None,
    };
    let media = Media {
        floppy: m.floppy.as_deref().map(abs),
        cdrom: m.cdrom.as_deref().map(abs),
    };
    if let Some(order) = &m.boot {
        if let Some(dev) = media.missing_boot_device(order.get_ref()) {
            let drive = match dev {
                BootDevice::Floppy => "floppy",
                _ => "cdrom",
            };
            return Err(ck.error(
                order.span(),
                field("boot"),
                format!("boots from the {drive} drive, but `{drive}` is not set"),
            ));
        }
    }
    Ok(Machine::new(hardware, Disk::File(abs(&m.disk)))
        .with_media(media)
        .with_boot(boot))
}
