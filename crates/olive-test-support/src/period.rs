//! A period-software guest of `guests/` (Doom, the X desktop) as a gateway catalog entry,
//! for the tests' gateways and for `cargo xtask demo`.
//!
//! `guests/build.sh` writes each guest's `machine.toml` with the catalog's metadata and its
//! hardware already under the gateway's own field names, plus the kernel command line; so
//! the entry is those lines split between `[[item]]` and `[item.machine]`, with the built
//! files' paths. Hand-written because the file is ours and flat (`key = value` lines): a
//! TOML parser and re-serialiser would only lose its comments and order.

use std::path::Path;

/// Keys of `machine.toml` that describe the item rather than its hardware.
const METADATA: &[&str] = &["title", "creator", "year", "description", "rights"];

/// What went wrong reading a built guest.
#[derive(Debug, thiserror::Error)]
pub enum PeriodItemError {
    /// The guest's `machine.toml` could not be read.
    #[error("read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It has no `kernel_cmdline = "..."` line (the guests boot directly).
    #[error("{0} has no kernel_cmdline string")]
    NoCmdline(String),
}

/// The `[[item]]` (id `id`, under `group` if given) for the guest built in `dir`: its
/// metadata, then `[item.machine]` with the pristine `disk.qcow2` on virtio (the guests'
/// initramfs carries only that driver), direct boot of `vmlinuz` + `initrd.img` with the
/// kernel command line plus `extra_append`, and the hardware lines as they are.
pub fn catalog_item(
    id: &str,
    dir: &Path,
    group: Option<&str>,
    extra_append: &str,
) -> Result<String, PeriodItemError> {
    let path = dir.join("machine.toml");
    let text = std::fs::read_to_string(&path).map_err(|source| PeriodItemError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let mut item = format!("\n[[item]]\nid = \"{id}\"\n");
    if let Some(g) = group {
        item.push_str(&format!("group = \"{g}\"\n"));
    }
    let mut machine = format!(
        "[item.machine]\ndisk = \"{}\"\ndisk_bus = \"virtio\"\nkernel = \"{}\"\ninitrd = \"{}\"\n",
        dir.join("disk.qcow2").display(),
        dir.join("vmlinuz").display(),
        dir.join("initrd.img").display(),
    );
    let mut cmdline = None;
    for line in text.lines().map(str::trim) {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if line.starts_with('#') {
            continue;
        } else if key == "kernel_cmdline" {
            cmdline = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned);
        } else if METADATA.contains(&key) {
            item.push_str(&format!("{key} = {value}\n"));
        } else {
            machine.push_str(&format!("{key} = {value}\n"));
        }
    }
    let cmdline = cmdline.ok_or_else(|| PeriodItemError::NoCmdline(path.display().to_string()))?;
    let append = [cmdline.as_str(), extra_append]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    machine.push_str(&format!("append = \"{append}\"\n"));
    Ok(item + &machine)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_goes_to_the_item_and_hardware_to_its_machine() {
        let s = crate::Scratch::new("period-item");
        std::fs::write(
            s.path().join("machine.toml"),
            "# comment = no\ntitle = \"Doom\"\nyear = 1993\ndisplay = \"std\"\n\
             sound = [\"sb16\", \"adlib\"]\nmemory_mb = 256\n\
             kernel_cmdline = \"root=/dev/vda quiet\"\n",
        )
        .unwrap();
        let t = catalog_item("doom", s.path(), Some("Games"), "olive.x=1").unwrap();
        let (item, machine) = t.split_once("[item.machine]").unwrap();
        assert!(item.contains("id = \"doom\"\ngroup = \"Games\"\ntitle = \"Doom\"\nyear = 1993\n"));
        assert!(!item.contains("comment"));
        for want in [
            "display = \"std\"",
            "sound = [\"sb16\", \"adlib\"]",
            "memory_mb = 256",
            "disk_bus = \"virtio\"",
            "append = \"root=/dev/vda quiet olive.x=1\"",
        ] {
            assert!(machine.contains(want), "{want} not in {machine}");
        }
        std::fs::write(s.path().join("machine.toml"), "title = \"x\"\n").unwrap();
        assert!(matches!(
            catalog_item("x", s.path(), None, ""),
            Err(PeriodItemError::NoCmdline(_))
        ));
    }
}
