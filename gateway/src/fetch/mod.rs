//! Demand fetching of packages served over http(s).
//!
//! A package is not downloaded before launch: [`http_range::RemoteFile`] pins the remote file
//! and reads byte ranges, [`chunk_cache::ChunkCache`] keeps fetched chunks on disk for every
//! instance of the same package (size-limited, least recently used evicted),
//! [`nbd::NbdExport`] hands the disk to QEMU as a read-only NBD export, and
//! [`stream::RangeStream`] streams the memory image in one request while QEMU restores.
//!
//! For the launcher: open the cache once (`ChunkCache::open(data_dir/"chunks", DEFAULT_CHUNK_SIZE,
//! limit)`), then per instance `cache.image(url, opts)` → `ImageSlice` (whole file, or the
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
