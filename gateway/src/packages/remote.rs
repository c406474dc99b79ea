//! Packages at http(s) URLs, resolved when an instance launches.
//!
//! Nothing is downloaded ahead: for an Olive package the manifest is one small GET, the disk
//! is served to QEMU from the shared chunk cache through an NBD export in the instance
//! directory (the overlay's backing), the memory image streams in one request through the
//! decompressor into `migrate-incoming`, and the (small) kernel and initrd are fetched whole
//! into the instance directory. A VMNetX `.nxpk` is opened through the chunk cache, its
//! `disk.img` member exported the same way and its `memory.img` member streamed through the
//! libvirt unwrapper.
//!
//! The disk's SHA-256 in an Olive manifest is not checked for remote disks: that would need
//! the whole disk, which is what demand fetching avoids. The disk is still required to be a
//! standalone qcow2 (checked over NBD at launch), and the memory image and kernel/initrd are
//! verified as they arrive.

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::catalog::{Display, ItemMeta, Machine};
use crate::fetch::{ChunkCache, FetchOptions, ImageSlice, NbdExport, RemoteFile};
use crate::packages::olive::manifest::{
    FileRef, Manifest, Policy, MANIFEST_FILE, MAX_MANIFEST_BYTES,
};
use crate::packages::olive::source::{RemoteRange, Source};
use crate::packages::olive::{hex, MemoryImage};
use crate::qemu::launcher::{InstancePaths, LaunchError};

/// Largest kernel or initrd fetched whole.
const MAX_BOOT_FILE: u64 = 128 << 20;

/// What kind of package a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An Olive package directory (`olive-package.json` under the URL).
    Olive,
    /// A VMNetX `.nxpk` file.
    Nxpk,
}

/// A package URL from the configuration or `/launch`, not yet fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteRef {
    /// The plain http(s) URL.
    pub url: String,
    pub kind: Kind,
}

impl RemoteRef {
    /// `text` as a remote package: `vmnetx+http(s)://…` and http(s) URLs whose path ends in
    /// `.nxpk` are VMNetX packages, other http(s) URLs Olive package directories. `None` for
    /// anything else (a local path); `Err` for a malformed URL.
    pub fn parse(text: &str) -> Option<Result<RemoteRef, String>> {
        let lower = text.trim().to_ascii_lowercase();
        let remote = ["http://", "https://", "vmnetx+http://", "vmnetx+https://"]
            .iter()
            .any(|p| lower.starts_with(p));
        if !remote {
            return None;
        }
        Some(
            crate::packages::nxpk::url::package_url(text)
                .map(|url| {
                    let kind = if lower.starts_with("vmnetx+") || url.path().ends_with(".nxpk") {
                        Kind::Nxpk
                    } else {
                        Kind::Olive
                    };
                    RemoteRef {
                        url: url.to_string(),
                        kind,
                    }
                })
                .map_err(|e| e.to_string()),
        )
    }
}

/// A remote package ready to launch: the concrete machine (disk = the NBD URI) and the
/// export QEMU reads it from, which must live as long as QEMU does.
pub struct Prepared {
    pub machine: Machine,
    pub disk_format: String,
    pub export: NbdExport,
}

fn fetch_err(e: impl std::fmt::Display) -> LaunchError {
    LaunchError::Fetch(e.to_string())
}

/// The manifest of the Olive package at `root`, checked against `policy`.
pub async fn olive_manifest(
    root: &str,
    opts: &FetchOptions,
    policy: Policy,
) -> Result<Manifest, LaunchError> {
    let url = Source::Remote(root.to_owned())
        .join(MANIFEST_FILE)
        .to_string();
    let bytes = fetch_small(&url, opts, MAX_MANIFEST_BYTES).await?;
    Manifest::parse(&bytes)
        .and_then(|m| m.check_policy(policy).map(|()| m))
        .map_err(|e| LaunchError::Fetch(format!("{url}: {e}")))
}

/// The whole of a small remote file, refusing anything over `limit` before reading it.
async fn fetch_small(url: &str, opts: &FetchOptions, limit: u64) -> Result<Vec<u8>, LaunchError> {
    let f = RemoteFile::open(url, opts.clone())
        .await
        .map_err(fetch_err)?;
    if f.size() > limit {
        return Err(LaunchError::Fetch(format!(
            "{url}: {} bytes, more than the {limit} allowed",
            f.size()
        )));
    }
    if f.size() == 0 {
        return Ok(Vec::new());
    }
    Ok(f.read_range(0, f.size()).await.map_err(fetch_err)?.to_vec())
}

/// Public metadata of a remote package (for `/launch`): the manifest's for an Olive package,
/// the package name for a `.nxpk`.
pub async fn meta(
    r: &RemoteRef,
    cache: &Arc<ChunkCache>,
    opts: &FetchOptions,
    policy: Policy,
) -> Result<ItemMeta, LaunchError> {
    let title = match r.kind {
        Kind::Olive => {
            let m = olive_manifest(&r.url, opts, policy).await?;
            if m.metadata.title.is_empty() {
                m.name
            } else {
                return Ok(ItemMeta {
                    title: m.metadata.title,
                    creator: m.metadata.creator,
                    year: m.metadata.year,
                    description: m.metadata.description,
                    rights: m.metadata.rights,
                    thumbnail: None,
                });
            }
        }
        Kind::Nxpk => {
            let img = cache.image(&r.url, opts.clone()).await.map_err(fetch_err)?;
            let pkg = crate::packages::nxpk::Package::open(img)
                .await
                .map_err(fetch_err)?;
            pkg.manifest.name
        }
    };
    Ok(ItemMeta {
        title,
        creator: None,
        year: None,
        description: None,
        rights: None,
        thumbnail: None,
    })
}

/// Fetches what `r` needs before QEMU starts and exports its disk at
/// `<instance>/disk.nbd`.
pub async fn prepare(
    r: &RemoteRef,
    cache: &Arc<ChunkCache>,
    opts: &FetchOptions,
    policy: Policy,
    paths: &InstancePaths,
) -> Result<Prepared, LaunchError> {
    let socket = paths.dir.join("disk.nbd");
    let _ = std::fs::remove_file(&socket);
    let (machine, slice, disk_format) = match r.kind {
        Kind::Olive => prepare_olive(r, cache, opts, policy, paths).await?,
        Kind::Nxpk => prepare_nxpk(r, cache, opts, policy).await?,
    };
    let export = NbdExport::serve(&socket, slice).map_err(|e| LaunchError::Io {
        what: format!("serve {}", socket.display()),
        source: e,
    })?;
    let machine = Machine {
        disk: NbdExport::qemu_uri(&socket).into(),
        ..machine
    };
    Ok(Prepared {
        machine,
        disk_format,
        export,
    })
}

async fn prepare_olive(
    r: &RemoteRef,
    cache: &Arc<ChunkCache>,
    opts: &FetchOptions,
    policy: Policy,
    paths: &InstancePaths,
) -> Result<(Machine, ImageSlice, String), LaunchError> {
    let m = olive_manifest(&r.url, opts, policy).await?;
    let root = Source::Remote(r.url.clone());
    let url_of = |f: &FileRef| root.join(&f.path).to_string();
    // Deliberately not checked: the disk's SHA-256 (see the module comment).
    let disk = cache
        .image(&url_of(&m.disk), opts.clone())
        .await
        .map_err(fetch_err)?;
    let memory_image = match &m.memory {
        None => None,
        Some(mem) => {
            let file = RemoteFile::open(&url_of(&mem.file), opts.clone())
                .await
                .map_err(fetch_err)?;
            let len = file.size();
            Some(MemoryImage {
                source: Source::Fetched(RemoteRange {
                    file: Arc::new(file),
                    offset: 0,
                    len,
                }),
                codec: mem.codec,
                uncompressed_size: mem.uncompressed_size,
                sha256: Some(mem.file.sha256.clone()),
                libvirt: false,
            })
        }
    };
    let boot = |f: &Option<FileRef>, name: &'static str| {
        let target = paths.dir.join(name);
        let f = f.clone();
        let url = f.as_ref().map(&url_of);
        async move {
            match (f, url) {
                (Some(f), Some(url)) => fetch_verified(&url, &f, opts, &target)
                    .await
                    .map(|()| Some(target)),
                _ => Ok(None),
            }
        }
    };
    let kernel = boot(&m.kernel, "vmlinuz").await?;
    let initrd = boot(&m.initrd, "initrd.img").await?;
    let spec = &m.machine;
    let machine = Machine {
        disk: Default::default(),
        standalone_disk: true,
        memory_image,
        memory_mb: spec.memory_mb,
        vcpus: spec.vcpus,
        machine_type: Some(spec.machine_type.clone()),
        display: spec.display,
        sound: spec.sound.clone(),
        limit_mouse_rate: spec.limit_mouse_rate,
        kernel,
        initrd,
        append: spec.append.clone(),
        network: spec.network,
        tablet: spec.tablet,
        remote: None,
    };
    Ok((machine, ImageSlice::whole(disk), "qcow2".into()))
}

/// Fetches a kernel or initrd whole into `to`, checking size and SHA-256 against `f`.
async fn fetch_verified(
    url: &str,
    f: &FileRef,
    opts: &FetchOptions,
    to: &Path,
) -> Result<(), LaunchError> {
    let bytes = fetch_small(url, opts, MAX_BOOT_FILE.min(f.size)).await?;
    let got = hex(&Sha256::digest(&bytes));
    if bytes.len() as u64 != f.size || got != f.sha256 {
        return Err(LaunchError::Fetch(format!(
            "{url}: size or SHA-256 does not match the manifest"
        )));
    }
    std::fs::write(to, bytes).map_err(|e| LaunchError::Io {
        what: format!("write {}", to.display()),
        source: e,
    })
}

async fn prepare_nxpk(
    r: &RemoteRef,
    cache: &Arc<ChunkCache>,
    opts: &FetchOptions,
    policy: Policy,
) -> Result<(Machine, ImageSlice, String), LaunchError> {
    let img = cache.image(&r.url, opts.clone()).await.map_err(fetch_err)?;
    let pkg = crate::packages::nxpk::Package::open(img.clone())
        .await
        .map_err(|e| LaunchError::Fetch(format!("{}: {e}", r.url)))?;
    let s = &pkg.settings;
    let machine =
        nxpk_machine(s, policy).map_err(|e| LaunchError::Fetch(format!("{}: {e}", r.url)))?;
    let memory_image = pkg.memory.as_ref().map(|m| MemoryImage {
        source: Source::Fetched(RemoteRange {
            file: img.remote().clone(),
            offset: m.offset,
            len: m.size,
        }),
        codec: crate::packages::olive::codec::Codec::None,
        uncompressed_size: m.size,
        // VMNetX packages carry no checksums; QEMU validates the stream's structure.
        sha256: None,
        libvirt: true,
    });
    let slice = ImageSlice::new(img, pkg.disk.offset, pkg.disk.size)
        .ok_or_else(|| LaunchError::Fetch(format!("{}: disk member outside the file", r.url)))?;
    Ok((
        Machine {
            memory_image,
            ..machine
        },
        slice,
        s.disk.format.clone(),
    ))
}

/// Our launcher's machine for a whitelisted VMNetX domain, held to the configured limits.
pub fn nxpk_machine(
    s: &crate::packages::nxpk::MachineSettings,
    policy: Policy,
) -> Result<Machine, String> {
    let memory_mb = u32::try_from(s.memory_mb)
        .ok()
        .filter(|&m| (16..=policy.max_memory_mb).contains(&m))
        .ok_or_else(|| format!("{} MiB of memory is over the limit", s.memory_mb))?;
    if s.vcpus == 0 || s.vcpus > policy.max_vcpus {
        return Err(format!("{} vCPUs is over the limit", s.vcpus));
    }
    if s.arch != "x86_64" && s.arch != "i686" {
        return Err(format!("architecture {:?} is not supported", s.arch));
    }
    if s.disk.bus != "ide" {
        // The launcher attaches the disk as IDE only; a migration stream for another bus
        // would not load, and the guest might not boot from IDE.
        tracing::warn!(bus = %s.disk.bus, "nxpk disk bus is not IDE; attaching it as IDE");
    }
    let sound = match s.sound.as_deref() {
        Some("ac97") => Some("AC97".to_owned()),
        Some("ich6") => Some("intel-hda".to_owned()),
        Some("es1370") => Some("es1370".to_owned()),
        _ => None,
    };
    Ok(Machine {
        disk: Default::default(),
        // A raw disk cannot name a backing file; a qcow2 one is checked at launch.
        standalone_disk: s.disk.format == "qcow2",
        memory_image: None,
        memory_mb,
        vcpus: s.vcpus,
        machine_type: Some(s.machine.clone()),
        display: match s.video.as_deref() {
            Some("qxl") => Display::Qxl,
            _ => Display::Std,
        },
        sound,
        limit_mouse_rate: None,
        kernel: None,
        initrd: None,
        append: None,
        network: s.nic.is_some(),
        tablet: s.usb_tablet,
        remote: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_classified() {
        let k = |t: &str| RemoteRef::parse(t).map(|r| r.map(|r| r.kind));
        assert_eq!(k("pkgs/a"), None);
        assert_eq!(k("/abs/pkg"), None);
        assert_eq!(k("https://h/p/"), Some(Ok(Kind::Olive)));
        assert_eq!(k("http://h/x.nxpk"), Some(Ok(Kind::Nxpk)));
        assert_eq!(k("vmnetx+https://h/pkg"), Some(Ok(Kind::Nxpk)));
        let r = RemoteRef::parse("vmnetx+http://h/a.nxpk").unwrap().unwrap();
        assert_eq!(r.url, "http://h/a.nxpk");
        assert!(matches!(RemoteRef::parse("https://"), Some(Err(_))));
    }
}
