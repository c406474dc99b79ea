//! The files of one instance.
//!
//! Everything an instance owns lives in one directory, `<data_dir>/instances/<id>/`, made
//! with mode 0700 before QEMU starts: the qcow2 overlay over the read-only pristine disk,
//! the SPICE and QMP sockets, the SPICE password file and `qemu.pid`. Because the
//! directory is private, the sockets QEMU creates with its umask are never reachable by
//! other users, and destroying an instance is one `remove_dir_all`. `qemu.pid` lets a
//! restarted gateway find and kill QEMUs it lost track of
//! ([`crate::qemu::process::reap_orphans`]).

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

/// The files of one instance.
#[derive(Clone, Debug)]
pub struct InstancePaths {
    /// `<data_dir>/instances/<id>/` (mode 0700), deleted with the instance.
    pub dir: PathBuf,
    /// `disk.qcow2`: the throw-away overlay over the pristine disk; the guest's writes.
    pub overlay: PathBuf,
    /// The overlays over a machine's floppy and CD-ROM images (see [`crate::model::Media`]).
    pub floppy_overlay: PathBuf,
    /// The CD-ROM's overlay.
    pub cdrom_overlay: PathBuf,
    /// `spice.sock` (0600): SPICE's UNIX socket.
    pub spice_socket: PathBuf,
    /// `qmp.sock`: the gateway's QMP monitor.
    pub qmp_socket: PathBuf,
    /// A second QMP monitor, only for handing viewer sockets to SPICE
    /// ([`crate::qemu::handover`]).
    pub spice_monitor: PathBuf,
    /// `spice.pw` (0600): the SPICE ticket, passed with `-object secret` so it never shows in `ps`.
    pub password_file: PathBuf,
    /// `qemu.pid`: lets the next gateway run reap this QEMU if it is left over.
    pub pid_file: PathBuf,
    /// `serial.log`: the guest's serial console (direct kernel boot).
    pub serial_log: PathBuf,
    /// `qemu.log`: QEMU's stdout and stderr.
    pub qemu_log: PathBuf,
    /// The `unix:` migration socket (saving and resuming memory images).
    pub migration_socket: PathBuf,
    /// Where `screendump` writes.
    pub screendump: PathBuf,
    /// A remote package's disk, exported over NBD (the overlay's backing).
    pub nbd_socket: PathBuf,
}

impl InstancePaths {
    /// The paths under `dir` (nothing is created).
    pub fn new(dir: PathBuf) -> InstancePaths {
        InstancePaths {
            overlay: dir.join("disk.qcow2"),
            floppy_overlay: dir.join("floppy.qcow2"),
            cdrom_overlay: dir.join("cdrom.qcow2"),
            spice_socket: dir.join("spice.sock"),
            qmp_socket: dir.join("qmp.sock"),
            spice_monitor: dir.join("spice-mon.sock"),
            password_file: dir.join("spice.pw"),
            pid_file: dir.join("qemu.pid"),
            serial_log: dir.join("serial.log"),
            qemu_log: dir.join("qemu.log"),
            migration_socket: dir.join("migrate.sock"),
            screendump: dir.join("screen.ppm"),
            nbd_socket: dir.join("disk.nbd"),
            dir,
        }
    }

    /// Creates the directory with mode 0700 (its parent must exist).
    pub fn create_dir(&self) -> std::io::Result<()> {
        std::fs::DirBuilder::new().mode(0o700).create(&self.dir)
    }
}
