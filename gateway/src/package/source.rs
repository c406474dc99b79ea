//! Where a package's files come from: a local directory or, later, an http(s) URL.
//!
//! Everything that reads package files goes through [`Source`], so remote packages
//! (HTTP range fetching and an NBD server for the disk, on the `fetch` branch) slot in by
//! adding a variant rather than by touching the launcher. Only local files are read
//! here; a remote source answers [`SourceError::RemoteUnsupported`].

use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}: remote packages are not supported yet")]
    RemoteUnsupported(String),
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{0}: larger than {1} bytes")]
    TooLarge(String, u64),
}

/// One file (or the package root) of a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
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
    /// plain file name (see `manifest::check_file_name`).
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

    /// A blocking reader over the whole file (memory images are streamed through it).
    pub fn open(&self) -> Result<Box<dyn Read + Send>, SourceError> {
        let path = self.local_path()?;
        let f = std::fs::File::open(path).map_err(|cause| SourceError::Io {
            path: path.to_path_buf(),
            cause,
        })?;
        Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)))
    }

    /// The file's size in bytes.
    pub fn size(&self) -> Result<u64, SourceError> {
        let path = self.local_path()?;
        std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|cause| SourceError::Io {
                path: path.to_path_buf(),
                cause,
            })
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
