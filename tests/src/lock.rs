//! A cross-process lock so that QEMU-backed tests run one at a time (the machine has two cores
//! and TCG guests are CPU-bound).

use std::fs::{File, OpenOptions};

/// Path of the lock file shared by every test process.
pub const QEMU_LOCK_PATH: &str = "/tmp/olive-qemu.lock";

/// Held while a QEMU-backed test runs; released on drop.
#[derive(Debug)]
pub struct QemuLock {
    file: File,
}

/// Blocks until no other test (in this or any other process) holds the QEMU lock.
///
/// Each call opens its own file description, so two threads of one process exclude each other
/// too. Do not call it twice on one thread without dropping the first guard (that deadlocks).
pub fn qemu_lock() -> QemuLock {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(QEMU_LOCK_PATH)
        .unwrap_or_else(|e| panic!("open {QEMU_LOCK_PATH}: {e}"));
    file.lock()
        .unwrap_or_else(|e| panic!("lock {QEMU_LOCK_PATH}: {e}"));
    QemuLock { file }
}

impl Drop for QemuLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Blocks until this process holds an exclusive lock on `path` (made if missing): for builds
/// of cached artefacts (guests, tool virtualenvs) that parallel test processes must make once.
/// The lock is released when the returned file is dropped.
pub fn lock_file(path: &std::path::Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    file.lock()?;
    Ok(file)
}
