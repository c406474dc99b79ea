//! Where a package's files are: a local directory or an http(s) URL.
//!
//! Everything that reads the files of a package at load time goes through [`Source`]. A
//! [`Source::Remote`] is a reference only (a URL from the configuration, resolved when an
//! instance launches, see [`crate::packages::remote`]); once resolved, a memory image is a
//! [`RemoteRange`] of a remote file pinned by that launch, streamed in one request while
//! QEMU restores from it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::fetch::RemoteFile;
use crate::model::ByteStream;

/// Why a package file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A URL where only local files are read (the catalog at load time, `package validate`).
    #[error("{0}: remote packages are read when an instance launches, not here")]
    RemoteUnsupported(String),
    /// The local file could not be read.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// The file is larger than the limit given for it (its path or URL, the limit).
    #[error("{0}: larger than {1} bytes")]
    TooLarge(String, u64),
}

/// A byte range of a pinned remote file (the ETag the launch saw is the one streamed).
#[derive(Clone)]
pub struct RemoteRange {
    /// The remote file, pinned to the ETag the launch saw.
    pub file: Arc<RemoteFile>,
    /// Where the range starts.
    pub offset: u64,
    /// How many bytes it has.
    pub len: u64,
}

impl std::fmt::Debug for RemoteRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}+{}", self.file.url(), self.offset, self.len)
    }
}

impl ByteStream for RemoteRange {
    /// One streaming GET over the range, as a blocking reader. Must be called on a blocking
    /// thread of a tokio runtime (`spawn_blocking`), which is where the memory feeder runs.
    fn open(&self) -> std::io::Result<Box<dyn Read + Send>> {
        let handle = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
        let stream = handle
            .block_on(self.file.stream_range(self.offset, self.len))
            .map_err(std::io::Error::other)?;
        Ok(Box::new(tokio_util::io::SyncIoBridge::new_with_handle(
            stream, handle,
        )))
    }
}

/// One file (or the root) of a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A path on this machine.
    Local(PathBuf),
    /// An `http://` or `https://` URL.
    Remote(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Local(p) => write!(f, "{}", p.display()),
            Source::Remote(u) => f.write_str(u),
        }
    }
}

impl Source {
    /// `text` as a URL if it has an http(s) scheme, else as a path relative to `base`.
    pub fn parse(text: &str, base: &Path) -> Source {
        if text.starts_with("http://") || text.starts_with("https://") {
            return Source::Remote(text.to_string());
        }
        let p = Path::new(text);
        Source::Local(if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        })
    }

    /// The file `name` inside this package root. `name` must already be checked to be a
    /// plain file name (see [`crate::model::policy::check_file_name`]).
    pub fn join(&self, name: &str) -> Source {
        match self {
            Source::Local(p) => Source::Local(p.join(name)),
            Source::Remote(u) => Source::Remote(format!("{}/{name}", u.trim_end_matches('/'))),
        }
    }

    /// The local path, for consumers that need a file QEMU can open (the disk, kernel).
    pub fn local_path(&self) -> Result<&Path, SourceError> {
        match self {
            Source::Local(p) => Ok(p),
            Source::Remote(u) => Err(SourceError::RemoteUnsupported(u.clone())),
        }
    }

    /// A blocking reader over the whole (local) file.
    pub fn open(&self) -> Result<Box<dyn Read + Send>, SourceError> {
        let path = self.local_path()?;
        let f = std::fs::File::open(path).map_err(|cause| SourceError::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
    }

    /// The whole file, refusing anything longer than `limit` (manifests are small; a
    /// hostile package must not make us read gigabytes into memory).
    pub fn read_small(&self, limit: u64) -> Result<Vec<u8>, SourceError> {
        let mut out = Vec::new();
        self.open()?
            .take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|cause| SourceError::Io {
                path: PathBuf::from(self.to_string()),
                cause,
            })?;
        if out.len() as u64 > limit {
            return Err(SourceError::TooLarge(self.to_string(), limit));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_join() {
        let base = Path::new("/etc/olive");
        assert_eq!(
            Source::parse("pkgs/a", base).join("disk.qcow2"),
            Source::Local("/etc/olive/pkgs/a/disk.qcow2".into())
        );
        let r = Source::parse("https://example.org/p/", base).join("memory.lz4");
        assert_eq!(r, Source::Remote("https://example.org/p/memory.lz4".into()));
        assert!(matches!(
            r.local_path(),
            Err(SourceError::RemoteUnsupported(_))
        ));
    }
}
