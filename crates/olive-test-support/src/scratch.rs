//! Scratch directories: unique per test, gone when the test is, even when it panics.
//!
//! Tests used to build `temp_dir()/olive-<tag>-<pid>-<n>` by hand and remove it at the
//! end, which a panic skips. [`Scratch`] does both in one place, and also kills what the
//! test left running there: any process whose command line names the directory (a QEMU
//! with its sockets in it, say) cannot be anyone else's.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::process;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh directory under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// Creates `$TMPDIR/olive-<tag>-<pid>-<n>` (empty: a leftover of an earlier run with
    /// the same PID is removed first). Panics if it cannot be created, which in a test is
    /// the clearest failure there is.
    pub fn new(tag: &str) -> Scratch {
        Scratch::new_in(&std::env::temp_dir(), tag)
    }

    /// Like [`Scratch::new`], under `parent`.
    pub fn new_in(parent: &Path, tag: &str) -> Scratch {
        let dir = parent.join(format!(
            "olive-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create scratch directory {}: {e}", dir.display());
        }
        Scratch { dir }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// A path inside the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.dir.join(name)
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        process::kill_naming(&self.dir.to_string_lossy(), Duration::from_secs(5));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_scratch_is_new_and_goes_with_its_processes() {
        let (a, b) = (Scratch::new("t"), Scratch::new("t"));
        assert_ne!(a.path(), b.path());
        std::fs::write(a.join("f"), b"x").unwrap();
        let child = std::process::Command::new("sh")
            .args(["-c", "read x", &a.join("marker").to_string_lossy()])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let (dir, pid) = (a.path().to_path_buf(), child.id());
        process::tests::wait_named(&dir.to_string_lossy(), pid);
        drop(a);
        assert!(!dir.exists());
        // Killed; the zombie is ours to reap.
        let mut child = child;
        let status = child.wait().unwrap();
        assert!(!status.success(), "{pid} was killed, not left to finish");
        assert!(b.path().is_dir());
    }
}
