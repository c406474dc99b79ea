//! On-disk chunk cache shared by every instance of the same remote file.
//!
//! Chunks live in `<dir>/<version>/<index>`, where `version` hashes the URL together with
//! the ETag/Last-Modified/size the server gave, so a file replaced upstream never serves
//! stale chunks: opening it under a new validator drops the old version's chunks. Unlike
//! VMNetX, the cache has a total size limit and evicts the least recently used chunks; the
//! order survives restarts through file modification times. Readers of a chunk that is
//! already being fetched wait for that fetch instead of starting another.
//!
//! One concept in about 500 lines, kept in one file on purpose: the LRU state, the
//! in-flight table and the on-disk layout change together (an eviction must never delete
//! a chunk a reader is waiting on), and the views over it ([`CachedImage`], [`ImageSlice`])
//! are thin. Its tests live in `gateway/tests/fetch/cache.rs`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::http_range::{FetchError, FetchOptions, RemoteFile, Validator};

/// A fetch failure shared by every reader that waited on it.
pub type SharedError = Arc<FetchError>;

/// Chunk fetches one read may have in flight (bounds requests a large NBD read makes).
const PARALLEL_CHUNKS: usize = 8;

type ChunkKey = (Arc<str>, u64);
type Pending = Arc<OnceCell<Result<Bytes, SharedError>>>;

#[derive(Default)]
struct State {
    /// Cached chunk → (length, last-use tick).
    chunks: HashMap<ChunkKey, (u64, u64)>,
    /// Last-use tick → chunk: the eviction order.
    lru: BTreeMap<u64, ChunkKey>,
    tick: u64,
    total: u64,
    inflight: HashMap<ChunkKey, Pending>,
    /// URL → its current version key.
    versions: HashMap<String, Arc<str>>,
}

impl State {
    fn touch(&mut self, key: &ChunkKey) -> bool {
        let Some(entry) = self.chunks.get_mut(key) else {
            return false;
        };
        self.lru.remove(&entry.1);
        self.tick += 1;
        entry.1 = self.tick;
        self.lru.insert(self.tick, key.clone());
        true
    }

    fn insert(&mut self, key: ChunkKey, len: u64) {
        if self.chunks.contains_key(&key) {
            self.touch(&key);
            return;
        }
        self.tick += 1;
        self.chunks.insert(key.clone(), (len, self.tick));
        self.lru.insert(self.tick, key);
        self.total += len;
    }

    fn remove(&mut self, key: &ChunkKey) {
        if let Some((len, tick)) = self.chunks.remove(key) {
            self.lru.remove(&tick);
            self.total -= len;
        }
    }

    /// Drops oldest chunks until the total fits; returns them for file removal.
    fn evict_to(&mut self, limit: u64) -> Vec<ChunkKey> {
        let mut gone = Vec::new();
        while self.total > limit {
            let Some((_, key)) = self.lru.pop_first() else {
                break;
            };
            if let Some((len, _)) = self.chunks.remove(&key) {
                self.total -= len;
            }
            gone.push(key);
        }
        gone
    }

    fn drop_version(&mut self, version: &Arc<str>) {
        let keys: Vec<ChunkKey> = self
            .chunks
            .keys()
            .filter(|k| k.0 == *version)
            .cloned()
            .collect();
        for k in keys {
            self.remove(&k);
        }
    }
}

/// What `<version>/info.json` records, so a restart can tell which URL a directory holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct VersionInfo {
    url: String,
    validator: Validator,
    size: u64,
    chunk_size: u64,
}

/// Counters for metrics: how well the cache serves reads.
#[derive(Debug, Default)]
pub struct CacheStats {
    /// Chunk reads served from disk.
    pub hits: AtomicU64,
    /// Chunk reads that fetched (or joined a fetch already under way).
    pub misses: AtomicU64,
    /// Chunks deleted to stay under the size limit (least recently used first).
    pub evictions: AtomicU64,
}

/// The cache; one per gateway.
pub struct ChunkCache {
    dir: PathBuf,
    chunk_size: u64,
    limit: u64,
    state: Mutex<State>,
    images: Mutex<HashMap<String, Weak<CachedImage>>>,
    stats: CacheStats,
}

impl std::fmt::Debug for ChunkCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkCache")
            .field("dir", &self.dir)
            .field("chunk_size", &self.chunk_size)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

/// Default chunk size: large enough that boot-time reads need few requests, small enough
/// that a scattered read does not drag in much unused data.
pub const DEFAULT_CHUNK_SIZE: u64 = 256 << 10;

fn version_key(url: &str, v: &Validator, size: u64) -> Arc<str> {
    let mut h = Sha256::new();
    for part in [
        url,
        v.etag.as_deref().unwrap_or(""),
        v.last_modified.as_deref().unwrap_or(""),
        &size.to_string(),
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    let digest = h.finalize();
    Arc::from(data_encoding::HEXLOWER.encode(&digest[..16]))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent-enough bookkeeping (worst case a
    // chunk is refetched), so a poisoned lock is used rather than propagated.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ChunkCache {
    /// Opens (creating) the cache in `dir`, adopting chunks left by a previous run.
    pub fn open(dir: &Path, chunk_size: u64, limit: u64) -> std::io::Result<Arc<ChunkCache>> {
        if chunk_size == 0 || chunk_size > 64 << 20 {
            return Err(std::io::Error::other("chunk size must be 1 B..64 MiB"));
        }
        std::fs::create_dir_all(dir)?;
        let mut state = State::default();
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir)?.flatten() {
            let vdir = entry.path();
            let info = std::fs::read(vdir.join("info.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<VersionInfo>(&b).ok());
            let Some(info) = info.filter(|i| i.chunk_size == chunk_size) else {
                let _ = std::fs::remove_dir_all(&vdir);
                continue;
            };
            let version: Arc<str> = Arc::from(entry.file_name().to_string_lossy().as_ref());
            if let Some(old) = state.versions.insert(info.url.clone(), version.clone()) {
                // Two versions of one URL: keep neither's guesswork, drop the older dir.
                let _ = std::fs::remove_dir_all(dir.join(&*old));
            }
            for chunk in std::fs::read_dir(&vdir)?.flatten() {
                let name = chunk.file_name();
                let Some(idx) = name.to_str().and_then(|n| n.parse::<u64>().ok()) else {
                    continue;
                };
                let Ok(meta) = chunk.metadata() else { continue };
                let mtime = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
                found.push((mtime, version.clone(), idx, meta.len()));
            }
        }
        found.sort_by_key(|f| f.0);
        for (_, version, idx, len) in found {
            if state.versions.values().any(|v| *v == version) {
                state.insert((version, idx), len);
            }
        }
        let cache = ChunkCache {
            dir: dir.to_owned(),
            chunk_size,
            limit,
            state: Mutex::new(state),
            images: Mutex::new(HashMap::new()),
            stats: CacheStats::default(),
        };
        let gone = lock(&cache.state).evict_to(limit);
        cache.remove_files(&gone);
        Ok(Arc::new(cache))
    }

    /// The bytes per chunk: the unit of fetching and of eviction.
    pub fn chunk_size(&self) -> u64 {
        self.chunk_size
    }

    /// Hit, miss and eviction counters (for tests and logs).
    pub fn stats(&self) -> &CacheStats {
        &self.stats
    }

    /// Bytes of chunks held on disk.
    pub fn total_bytes(&self) -> u64 {
        lock(&self.state).total
    }

    /// The image for `url`, shared with every other user of the same URL while any holds it.
    pub async fn image(
        self: &Arc<Self>,
        url: &str,
        opts: FetchOptions,
    ) -> Result<Arc<CachedImage>, FetchError> {
        if let Some(img) = lock(&self.images).get(url).and_then(Weak::upgrade) {
            return Ok(img);
        }
        let remote = Arc::new(RemoteFile::open(url, opts).await?);
        let version = version_key(url, remote.validator(), remote.size());
        let stale = {
            let mut st = lock(&self.state);
            let old = st.versions.insert(url.to_owned(), version.clone());
            match old {
                Some(old) if old != version => {
                    st.drop_version(&old);
                    Some(old)
                }
                _ => None,
            }
        };
        if let Some(old) = stale {
            tracing::info!(url, "remote file changed; dropping its cached chunks");
            let _ = tokio::fs::remove_dir_all(self.dir.join(&*old)).await;
        }
        self.write_info(&version, url, &remote).await;
        let img = Arc::new(CachedImage {
            cache: self.clone(),
            remote,
            version,
        });
        let mut images = lock(&self.images);
        // Another opener may have raced us; prefer the one already shared.
        if let Some(existing) = images.get(url).and_then(Weak::upgrade) {
            return Ok(existing);
        }
        images.insert(url.to_owned(), Arc::downgrade(&img));
        Ok(img)
    }

    async fn write_info(&self, version: &str, url: &str, remote: &RemoteFile) {
        let vdir = self.dir.join(version);
        let info = VersionInfo {
            url: url.to_owned(),
            validator: remote.validator().clone(),
            size: remote.size(),
            chunk_size: self.chunk_size,
        };
        let res = async {
            tokio::fs::create_dir_all(&vdir).await?;
            let json = serde_json::to_vec(&info).map_err(std::io::Error::other)?;
            tokio::fs::write(vdir.join("info.json"), json).await
        }
        .await;
        if let Err(e) = res {
            tracing::warn!("chunk cache {}: {e}", vdir.display());
        }
    }

    fn chunk_path(&self, key: &ChunkKey) -> PathBuf {
        self.dir.join(&*key.0).join(key.1.to_string())
    }

    fn remove_files(&self, keys: &[ChunkKey]) {
        self.stats
            .evictions
            .fetch_add(keys.len() as u64, Ordering::Relaxed);
        for k in keys {
            let _ = std::fs::remove_file(self.chunk_path(k));
        }
    }

    /// True when chunk `idx` of `image` is on disk (for tests and statistics).
    pub fn is_cached(&self, image: &CachedImage, idx: u64) -> bool {
        lock(&self.state)
            .chunks
            .contains_key(&(image.version.clone(), idx))
    }

    async fn chunk(&self, image: &CachedImage, idx: u64) -> Result<Bytes, SharedError> {
        let key: ChunkKey = (image.version.clone(), idx);
        let want = image.chunk_len(idx);
        let pending = {
            let mut st = lock(&self.state);
            if st.touch(&key) {
                None
            } else {
                Some(st.inflight.entry(key.clone()).or_default().clone())
            }
        };
        let pending = match pending {
            Some(p) => p,
            None => match tokio::fs::read(self.chunk_path(&key)).await {
                Ok(data) if data.len() as u64 == want => {
                    self.stats.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(Bytes::from(data));
                }
                _ => {
                    // Evicted under us or damaged: fetch again. Forget the entry only if its
                    // file is gone, so a copy another reader just stored stays accounted.
                    let mut st = lock(&self.state);
                    if !self.chunk_path(&key).exists() {
                        st.remove(&key);
                    }
                    st.inflight.entry(key.clone()).or_default().clone()
                }
            },
        };
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        pending
            .get_or_init(|| self.fetch_and_store(image, key.clone(), want))
            .await
            .clone()
    }

    async fn fetch_and_store(
        &self,
        image: &CachedImage,
        key: ChunkKey,
        len: u64,
    ) -> Result<Bytes, SharedError> {
        let res = image
            .remote
            .read_range(key.1 * self.chunk_size, len)
            .await
            .map_err(Arc::new);
        if let Ok(data) = &res {
            if let Err(e) = self.store(&key, data).await {
                tracing::warn!("chunk cache: cannot store a chunk: {e}");
            }
        }
        let gone = {
            let mut st = lock(&self.state);
            st.inflight.remove(&key);
            if res.is_ok() && self.chunk_path(&key).exists() {
                st.insert(key.clone(), len);
            }
            st.evict_to(self.limit)
        };
        self.remove_files(&gone);
        if let Err(e) = &res {
            if matches!(**e, FetchError::Changed { .. }) {
                self.forget_image(image);
            }
        }
        res
    }

    async fn store(&self, key: &ChunkKey, data: &[u8]) -> std::io::Result<()> {
        let path = self.chunk_path(key);
        let tmp = path.with_extension("part");
        tokio::fs::write(&tmp, data).await?;
        tokio::fs::rename(&tmp, &path).await
    }

    /// After the server changed the file: the next opener re-validates and starts afresh.
    fn forget_image(&self, image: &CachedImage) {
        let mut images = lock(&self.images);
        if let Some(w) = images.get(image.remote.url()) {
            if std::ptr::eq(w.as_ptr(), image) {
                images.remove(image.remote.url());
            }
        }
        lock(&self.state).drop_version(&image.version);
    }
}

/// One version of a remote file, read through the cache.
#[derive(Debug)]
pub struct CachedImage {
    cache: Arc<ChunkCache>,
    remote: Arc<RemoteFile>,
    version: Arc<str>,
}

impl CachedImage {
    /// The remote file's length.
    pub fn size(&self) -> u64 {
        self.remote.size()
    }

    /// The remote file, pinned to the version the launch saw.
    pub fn remote(&self) -> &Arc<RemoteFile> {
        &self.remote
    }

    /// The cache its chunks live in.
    pub fn cache(&self) -> &Arc<ChunkCache> {
        &self.cache
    }

    fn chunk_len(&self, idx: u64) -> u64 {
        let cs = self.cache.chunk_size;
        self.size().saturating_sub(idx * cs).min(cs)
    }

    /// Reads `len` bytes at `offset` (must lie inside the file).
    pub async fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>, SharedError> {
        let end = match offset.checked_add(len) {
            Some(e) if e <= self.size() => e,
            _ => {
                return Err(Arc::new(FetchError::OutOfRange {
                    url: self.remote.url().to_owned(),
                    offset,
                    len,
                    size: self.size(),
                }))
            }
        };
        if len == 0 {
            return Ok(Vec::new());
        }
        let cs = self.cache.chunk_size;
        let chunks: Vec<Bytes> = futures_util::stream::iter(offset / cs..=(end - 1) / cs)
            .map(|idx| self.cache.chunk(self, idx))
            .buffered(PARALLEL_CHUNKS)
            .try_collect()
            .await?;
        let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        let skip = usize::try_from(offset % cs).unwrap_or(0);
        for (i, c) in chunks.iter().enumerate() {
            let from = if i == 0 { skip.min(c.len()) } else { 0 };
            out.extend_from_slice(&c[from..]);
        }
        out.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        Ok(out)
    }
}

/// A byte range of a cached image, e.g. `disk.img` inside a stored `.nxpk` zip.
#[derive(Debug, Clone)]
pub struct ImageSlice {
    image: Arc<CachedImage>,
    offset: u64,
    len: u64,
}

impl ImageSlice {
    /// The whole image.
    pub fn whole(image: Arc<CachedImage>) -> ImageSlice {
        let len = image.size();
        ImageSlice {
            image,
            offset: 0,
            len,
        }
    }

    /// `len` bytes from `offset`; `None` when that lies outside the image.
    pub fn new(image: Arc<CachedImage>, offset: u64, len: u64) -> Option<ImageSlice> {
        let end = offset.checked_add(len)?;
        (end <= image.size()).then_some(ImageSlice { image, offset, len })
    }

    /// The slice's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the slice has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The image the slice is of.
    pub fn image(&self) -> &Arc<CachedImage> {
        &self.image
    }

    /// Reads `len` bytes at `offset` relative to the slice.
    pub async fn read_at(&self, offset: u64, len: u64) -> Result<Vec<u8>, SharedError> {
        match offset.checked_add(len) {
            Some(e) if e <= self.len => self.image.read_at(self.offset + offset, len).await,
            _ => Err(Arc::new(FetchError::OutOfRange {
                url: self.image.remote.url().to_owned(),
                offset,
                len,
                size: self.len,
            })),
        }
    }
}
