//! The limits every machine is held to, whoever wrote it: an operator's `[item.machine]`,
//! a package's manifest or a VMNetX domain. One set of checks, so a package cannot ask for
//! what the configuration could not.

use super::machine::{Hardware, KernelBoot};

/// The gateway's `[limits]` on machines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Most RAM one machine may ask for (MiB); bounds what a package can make the host allocate.
    pub max_memory_mb: u32,
    /// Most virtual processors one machine may ask for; each is a host thread under TCG.
    pub max_vcpus: u32,
}

impl Default for Policy {
    /// The configuration's defaults.
    fn default() -> Self {
        Policy {
            max_memory_mb: 4096,
            max_vcpus: 4,
        }
    }
}

/// Smallest RAM a machine may have (MiB).
pub const MIN_MEMORY_MB: u32 = 16;
/// Longest kernel command line accepted.
pub const MAX_APPEND: usize = 4096;

/// A machine setting outside the limits; `field` is the setting's name inside the machine
/// (`vcpus`, `memory_mb`, ...), for the caller to place in its own path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PolicyViolation {
    /// The setting's name inside the machine (`vcpus`, `memory_mb`, ...).
    pub field: &'static str,
    /// What is wrong with it, with the limit it broke.
    pub message: String,
}

fn violation(field: &'static str, message: String) -> PolicyViolation {
    PolicyViolation { field, message }
}

impl Policy {
    /// Checks RAM, vCPUs, the machine type's spelling and the video memory size.
    pub fn check(&self, hw: &Hardware) -> Result<(), PolicyViolation> {
        if hw.memory_mb < MIN_MEMORY_MB || hw.memory_mb > self.max_memory_mb {
            return Err(violation(
                "memory_mb",
                format!(
                    "{} MiB is outside {MIN_MEMORY_MB}..={} (limits.max_memory_mb)",
                    hw.memory_mb, self.max_memory_mb
                ),
            ));
        }
        if hw.vcpus == 0 || hw.vcpus > self.max_vcpus {
            return Err(violation(
                "vcpus",
                format!(
                    "{} is outside 1..={} (limits.max_vcpus)",
                    hw.vcpus, self.max_vcpus
                ),
            ));
        }
        if let Some(mt) = &hw.machine_type {
            if !is_plain_name(mt, 64) {
                return Err(violation("machine_type", format!("invalid name {mt:?}")));
            }
        }
        if let Some(mb) = hw.vga_memory_mb {
            hw.display
                .check_vga_memory(mb)
                .map_err(|m| violation("vga_memory_mb", m))?;
        }
        Ok(())
    }
}

/// The kernel command line must be one line (it becomes one QEMU argument).
pub fn check_append(append: &str) -> Result<(), PolicyViolation> {
    if append.len() > MAX_APPEND || append.chars().any(char::is_control) {
        return Err(violation(
            "append",
            format!("must be one line of at most {MAX_APPEND} bytes"),
        ));
    }
    Ok(())
}

/// [`check_append`] for a boot's command line.
pub fn check_boot(boot: &KernelBoot) -> Result<(), PolicyViolation> {
    boot.append.as_deref().map_or(Ok(()), check_append)
}

/// 1..=`max` characters of `A-Z a-z 0-9 - _ .`.
fn is_plain_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// A name that is not a plain file name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a plain file name (A-Z a-z 0-9 - _ ., not starting with .)")]
pub struct BadFileName(pub String);

/// Whether `name` is a plain file name (package members, saved package names): no
/// separators, no `..`, nothing hidden.
pub fn check_file_name(name: &str) -> Result<(), BadFileName> {
    if is_plain_name(name, 128) && !name.starts_with('.') {
        Ok(())
    } else {
        Err(BadFileName(name.chars().take(128).collect()))
    }
}

/// Whether `id` is a valid item id (1–64 characters of `A-Z a-z 0-9 - _ .`).
pub fn is_item_id(id: &str) -> bool {
    is_plain_name(id, 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_setting() {
        let p = Policy {
            max_memory_mb: 1024,
            max_vcpus: 2,
        };
        assert_eq!(p.check(&Hardware::new(256, 2)), Ok(()));
        let e = p.check(&Hardware::new(4096, 1)).unwrap_err();
        assert_eq!(e.field, "memory_mb");
        assert!(e.message.contains("limits.max_memory_mb"), "{e}");
        assert_eq!(p.check(&Hardware::new(256, 3)).unwrap_err().field, "vcpus");
        assert_eq!(
            p.check(&Hardware::new(8, 1)).unwrap_err().field,
            "memory_mb"
        );
        let hw = Hardware {
            machine_type: Some("pc,accel=kvm".into()),
            ..Hardware::new(256, 1)
        };
        assert_eq!(p.check(&hw).unwrap_err().field, "machine_type");
    }

    #[test]
    fn names() {
        assert!(check_file_name("disk.qcow2").is_ok());
        for bad in ["", "../x", ".hidden", "a/b", "a b"] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
        }
        let boot = |a: &str| KernelBoot {
            kernel: "k".into(),
            initrd: None,
            append: Some(a.into()),
        };
        assert!(check_boot(&boot("quiet console=ttyS0")).is_ok());
        assert!(check_boot(&boot("a\nb")).is_err());
        assert!(is_item_id("test-guest_1.0") && !is_item_id("a/b"));
    }
}
