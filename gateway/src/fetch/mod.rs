//! Demand fetching of packages served over http(s).
//!
//! A package is not downloaded before launch: [`http_range::RemoteFile`] pins the remote file
//! and reads byte ranges, [`chunk_cache::ChunkCache`] keeps fetched chunks on disk for every
//! instance of the same package (size-limited, least recently used evicted),
//! [`nbd::NbdExport`] hands the disk to QEMU as a read-only NBD export, and
//! [`stream::RangeStream`] streams the memory image in one request while QEMU restores.
//!
//! For a launch: open the cache once ([`LazyChunkCache`], or
//! `ChunkCache::open(data_dir/"chunks", DEFAULT_CHUNK_SIZE, limit)`), then per instance
//! `cache.image(url, opts)` → `ImageSlice` (whole file, or the
//! `disk.img` member of an `.nxpk`) → `NbdExport::serve(instance_dir/"disk.nbd", slice)`, and
//! create the overlay with `qemu-img create -f qcow2 -F <fmt> -b NbdExport::qemu_uri(..)`.
//! Keep the `NbdExport` alive as long as QEMU runs; `last_error()` says why reads failed.

pub mod chunk_cache;
pub mod http_range;
pub mod nbd;
pub mod stream;

pub use chunk_cache::{CachedImage, ChunkCache, ImageSlice, DEFAULT_CHUNK_SIZE};
pub use http_range::{FetchError, FetchOptions, FetchStats, RemoteFile, Validator};
pub use nbd::NbdExport;
pub use stream::RangeStream;

use std::path::PathBuf;
use std::sync::Arc;

/// The gateway's one chunk cache, opened on first use (a gateway without remote packages
/// never creates `<data_dir>/chunks`).
#[derive(Debug)]
pub struct LazyChunkCache {
    dir: PathBuf,
    limit: u64,
    cell: tokio::sync::OnceCell<Arc<ChunkCache>>,
}

/// The chunk cache could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("open chunk cache {dir}: {source}")]
pub struct OpenError {
    /// The cache directory (`<data_dir>/chunks`).
    pub dir: PathBuf,
    /// Why it could not be made or read.
    #[source]
    pub source: std::io::Error,
}

impl LazyChunkCache {
    /// A cache in `dir` holding at most `limit` bytes, with [`DEFAULT_CHUNK_SIZE`] chunks.
    pub fn new(dir: PathBuf, limit: u64) -> LazyChunkCache {
        LazyChunkCache {
            dir,
            limit,
            cell: tokio::sync::OnceCell::new(),
        }
    }

    /// The cache, opened now if this is the first use.
    pub async fn get(&self) -> Result<Arc<ChunkCache>, OpenError> {
        self.cell
            .get_or_try_init(|| async {
                ChunkCache::open(&self.dir, DEFAULT_CHUNK_SIZE, self.limit).map_err(|source| {
                    OpenError {
                        dir: self.dir.clone(),
                        source,
                    }
                })
            })
            .await
            .cloned()
    }
}
