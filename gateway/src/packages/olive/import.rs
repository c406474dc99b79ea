//! `package import`: a VMNetX `.nxpk` becomes an Olive package.
//!
//! The domain (already held to VMNetX's whitelist by [`crate::packages::nxpk`]) maps onto our
//! machine settings, the disk becomes a standalone qcow2, and the memory image is unwrapped
//! from libvirt's save format and recompressed with a fast codec. Whether QEMU can load
//! that image is only known by trying, so the import resumes it once in a scratch
//! instance: an image QEMU rejects (most images saved by VMNetX-era QEMU versions, whose
//! device models have changed since) is dropped, and the package cold-boots instead.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;

use super::create::{
    copy_in, file_ref, io, make_out_dir, qemu_version, throwaway_password, write_manifest,
    CreateError,
};
use super::manifest::{FileRef, MachineSpec, Manifest, MemoryRef, Metadata, FORMAT};
use super::source::Source;
use super::Package;
use crate::codec::Codec;
use crate::model::{DiskFormat, Policy};
use crate::packages::nxpk::{self, MachineSettings};
use crate::qemu::img;
use crate::qemu::process::kill_child;
use crate::qemu::{InstancePaths, LaunchError, Launcher};

/// What to make.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// How the memory image is recompressed (VMNetX's xz/lzop is unwrapped first).
    pub codec: Codec,
    /// Resume the memory image once to see whether this QEMU accepts it.
    pub check_restore: bool,
    /// Direct kernel boot files, for packages whose guest was started that way (VMNetX
    /// packages boot from their disk; our test guest does not).
    pub kernel: Option<PathBuf>,
    /// The initrd for direct kernel boot.
    pub initrd: Option<PathBuf>,
    /// The kernel command line for direct kernel boot.
    pub append: Option<String>,
    /// The limits the imported machine is held to.
    pub policy: Policy,
}

/// The package written, and why its memory image was dropped, if it was.
#[derive(Debug)]
pub struct Imported {
    /// The manifest written.
    pub manifest: Manifest,
    /// Why the memory image was left out (the trial resume failed), when it was: the package then cold-boots.
    pub memory_dropped: Option<String>,
}

/// Imports the `.nxpk` at `nxpk` into the new (or empty) directory `out`.
pub async fn import(
    launcher: &Launcher,
    nxpk_path: &Path,
    out: &Path,
    opts: &ImportOptions,
) -> Result<Imported, CreateError> {
    make_out_dir(out)?;
    let work = out.join(".import-work");
    let result = import_into(launcher, nxpk_path, out, &work, opts).await;
    let _ = std::fs::remove_dir_all(&work);
    result
}

async fn import_into(
    launcher: &Launcher,
    nxpk_path: &Path,
    out: &Path,
    work: &Path,
    opts: &ImportOptions,
) -> Result<Imported, CreateError> {
    let unpacked =
        nxpk::import_local(nxpk_path, work)
            .await
            .map_err(|cause| CreateError::Nxpk {
                path: nxpk_path.to_path_buf(),
                cause,
            })?;
    let settings = &unpacked.settings;
    let format = DiskFormat::from_name(&settings.disk.format)
        .ok_or_else(|| CreateError::DiskFormat(settings.disk.format.clone()))?;
    let disk = convert_disk(launcher, &unpacked.disk, format, out).await?;
    let mut memory_dropped = unpacked.memory_rejected.clone();
    let memory = match &unpacked.memory {
        Some(raw) => Some(compress_memory(raw, out, opts.codec).await?),
        None => None,
    };
    let manifest = Manifest {
        format: FORMAT.into(),
        name: unpacked.name.clone(),
        metadata: Metadata {
            title: unpacked.name.clone(),
            ..Metadata::default()
        },
        machine: machine_spec(launcher, settings, opts.append.clone()).await?,
        qemu_version: qemu_version(&launcher.qemu).await,
        disk,
        kernel: copy_in(opts.kernel.as_deref(), out, "vmlinuz").await?,
        initrd: copy_in(opts.initrd.as_deref(), out, "initrd.img").await?,
        floppy: None,
        cdrom: None,
        memory,
        screenshot: None,
    };
    manifest.check_policy(opts.policy)?;
    write_manifest(out, &manifest)?;
    let mut manifest = manifest;
    if manifest.memory.is_some() && opts.check_restore {
        if let Some(why) = trial_restore(launcher, out, work, opts.policy).await? {
            tracing::warn!("memory image dropped, the package will cold-boot: {why}");
            if let Some(m) = manifest.memory.take() {
                let _ = std::fs::remove_file(out.join(&m.file.path));
            }
            memory_dropped = Some(why);
            write_manifest(out, &manifest)?;
        }
    }
    Ok(Imported {
        manifest,
        memory_dropped,
    })
}

/// VMNetX's settings in our terms (see [`MachineSettings::hardware`]). A memory image
/// saved with a device we emulate differently fails the trial restore and the package
/// cold-boots, which is the honest outcome.
async fn machine_spec(
    launcher: &Launcher,
    s: &MachineSettings,
    append: Option<String>,
) -> Result<MachineSpec, CreateError> {
    let memory_mb =
        u32::try_from(s.memory_mb).map_err(|_| CreateError::MemoryTooLarge(s.memory_mb))?;
    let machine_type = concrete_machine_type(&launcher.qemu, &s.machine).await?;
    Ok(MachineSpec::new(
        &s.hardware(memory_mb),
        machine_type,
        append,
    ))
}

/// The concrete machine type QEMU's `alias` (VMNetX always says `pc`) stands for today,
/// from `-machine help` ("pc   Standard PC ... (alias of pc-i440fx-7.2)").
async fn concrete_machine_type(qemu: &Path, alias: &str) -> Result<String, CreateError> {
    let out = Command::new(qemu)
        .args(["-machine", "help"])
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .map_err(io("run", qemu))?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_machine_help(&text, alias)
        .ok_or_else(|| CreateError::UnknownMachineType(Some(alias.to_owned())))
}

fn parse_machine_help(text: &str, alias: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (name, rest) = line.split_once(char::is_whitespace)?;
        if name != alias {
            return None;
        }
        match rest.split_once("(alias of ") {
            Some((_, tail)) => tail.split(')').next().map(str::to_string),
            None => Some(name.to_string()),
        }
    })
}

/// Converts the package's disk into a standalone qcow2. The format comes from the domain,
/// never from probing: a "raw" disk whose bytes look like a qcow2 header with a backing
/// file must not make qemu-img open a host file.
async fn convert_disk(
    launcher: &Launcher,
    disk: &Path,
    format: DiskFormat,
    out: &Path,
) -> Result<FileRef, CreateError> {
    if format == DiskFormat::Qcow2 {
        img::check_standalone(&launcher.qemu_img, disk.as_os_str()).await?;
    }
    img::convert_to_qcow2(
        &launcher.qemu_img,
        disk,
        Some(format),
        &out.join("disk.qcow2"),
    )
    .await?;
    file_ref(out, "disk.qcow2").await
}

/// Recompresses the raw migration stream with `codec` (VMNetX's xz took about twice as
/// long to decompress as lzop; see the resume bench for ours).
async fn compress_memory(raw: &Path, out: &Path, codec: Codec) -> Result<MemoryRef, CreateError> {
    let name = format!("memory.{}", codec.extension());
    let (from, to) = (raw.to_path_buf(), out.join(&name));
    let uncompressed_size = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
        let mut src = std::io::BufReader::new(std::fs::File::open(&from)?);
        let dst = std::io::BufWriter::new(std::fs::File::create(&to)?);
        let mut enc = codec.encoder(dst)?;
        let n = std::io::copy(&mut src, &mut enc)?;
        std::io::Write::flush(&mut enc.finish()?)?;
        Ok(n)
    })
    .await?
    .map_err(io("recompress", raw))?;
    Ok(MemoryRef {
        file: file_ref(out, &name).await?,
        codec,
        uncompressed_size,
    })
}

/// Resumes the written package once in a scratch instance. `Some(reason)` when QEMU
/// rejected the image (or it resumed to a black screen); other failures are errors.
async fn trial_restore(
    launcher: &Launcher,
    out: &Path,
    work: &Path,
    policy: Policy,
) -> Result<Option<String>, CreateError> {
    let pkg = Package::open(Source::Local(out.to_path_buf()), policy)?;
    let machine = pkg.machine()?;
    let Some(image) = machine.memory_image.clone() else {
        return Ok(None);
    };
    let dir = work.join("trial");
    let paths = InstancePaths::new(dir.clone());
    paths.create_dir().map_err(io("create", &dir))?;
    launcher
        .ensure_overlay(&machine.disk, &paths.overlay)
        .await?;
    let password = throwaway_password("import");
    let result = tokio::time::timeout(
        Duration::from_secs(300),
        launcher.resume(
            &machine,
            &image,
            &paths,
            &password,
            "olive-import-check",
            &|_| {},
        ),
    )
    .await
    .map_err(|_| CreateError::TrialTimeout)?;
    match result {
        Ok(mut launched) => {
            kill_child(&mut launched.child).await;
            Ok(None)
        }
        Err(LaunchError::MemoryRejected(why)) => {
            Ok(Some(format!("this QEMU did not resume it ({why})")))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "Supported machines are:\n\
        microvm              microvm (i386)\n\
        pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)\n\
        pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)\n\
        q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)\n";

    #[test]
    fn machine_aliases_resolve_to_concrete_types() {
        assert_eq!(
            parse_machine_help(HELP, "pc").as_deref(),
            Some("pc-i440fx-7.2")
        );
        assert_eq!(
            parse_machine_help(HELP, "q35").as_deref(),
            Some("pc-q35-7.2")
        );
        assert_eq!(
            parse_machine_help(HELP, "pc-i440fx-7.2").as_deref(),
            Some("pc-i440fx-7.2")
        );
        assert_eq!(parse_machine_help(HELP, "isapc"), None);
    }
}
