//! Range reads and the chunk cache against the counting server.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_served_from_chunks_and_cached() {
    bounded(async {
        let data = pattern(1 << 20, 1);
        let srv = RangeServer::start(data.clone()).await;
        let dir = common::scratch("cache");
        let cache = ChunkCache::open(&dir.join("chunks"), 64 * KIB, 1 << 30).unwrap();
        let img = cache.image(&srv.url("disk.img"), quick()).await.unwrap();
        assert_eq!(img.size(), data.len() as u64);

        let got = img.read_at(100_000, 50_000).await.unwrap();
        assert_eq!(got, &data[100_000..150_000]);
        // 100000..150000 spans chunks 1 and 2 of 64 KiB.
        assert_eq!(srv.gets(), 2);
        assert_eq!(srv.bytes(), 128 * KIB);
        let again = img.read_at(70_000, 60_000).await.unwrap();
        assert_eq!(again, &data[70_000..130_000]);
        assert_eq!(srv.gets(), 2, "cached chunks are not fetched again");

        // The last, short chunk.
        let tail = img.read_at(data.len() as u64 - 10, 10).await.unwrap();
        assert_eq!(tail, &data[data.len() - 10..]);
        assert!(img.read_at(data.len() as u64 - 10, 11).await.is_err());

        // Another opener shares the image; a new cache over the same directory reuses the
        // chunks on disk (a gateway restart).
        drop(img);
        drop(cache);
        let cache = ChunkCache::open(&dir.join("chunks"), 64 * KIB, 1 << 30).unwrap();
        let img = cache.image(&srv.url("disk.img"), quick()).await.unwrap();
        let before = srv.gets();
        assert_eq!(
            img.read_at(100_000, 50_000).await.unwrap(),
            &data[100_000..150_000]
        );
        assert_eq!(srv.gets(), before, "chunks survive a restart");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_evicts_least_recently_used_within_its_limit() {
    bounded(async {
        let data = pattern(1 << 20, 2);
        let srv = RangeServer::start(data.clone()).await;
        let dir = common::scratch("lru");
        let cs = 64 * KIB;
        let cache = ChunkCache::open(&dir.join("chunks"), cs, 3 * cs).unwrap();
        let img = cache.image(&srv.url("a"), quick()).await.unwrap();
        for idx in [0, 1, 2] {
            img.read_at(idx * cs, 1).await.unwrap();
        }
        img.read_at(0, 1).await.unwrap(); // chunk 0 is now the most recent
        img.read_at(3 * cs, 1).await.unwrap(); // evicts chunk 1, the least recent
        assert!(cache.is_cached(&img, 0));
        assert!(
            !cache.is_cached(&img, 1),
            "least recently used chunk evicted"
        );
        assert!(cache.is_cached(&img, 2));
        assert!(cache.is_cached(&img, 3));
        assert!(cache.total_bytes() <= 3 * cs);
        let files = std::fs::read_dir(dir.join("chunks"))
            .unwrap()
            .flatten()
            .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
            .filter(|f| f.file_name() != "info.json")
            .count();
        assert_eq!(files, 3, "evicted chunk files are deleted");
        assert_eq!(cache.stats().evictions.load(Ordering::SeqCst), 1);
        assert_eq!(cache.stats().hits.load(Ordering::SeqCst), 1);
        assert_eq!(cache.stats().misses.load(Ordering::SeqCst), 4);
        let before = srv.gets();
        assert_eq!(
            img.read_at(cs, 16).await.unwrap(),
            &data[cs as usize..cs as usize + 16]
        );
        assert_eq!(srv.gets(), before + 1, "evicted chunk is fetched again");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_validator_invalidates_cached_chunks() {
    bounded(async {
        let old = pattern(512 * 1024, 3);
        let new = pattern(512 * 1024, 4);
        let srv = RangeServer::start(old.clone()).await;
        let dir = common::scratch("etag");
        let cache = ChunkCache::open(&dir.join("chunks"), 64 * KIB, 1 << 30).unwrap();
        let img = cache.image(&srv.url("p"), quick()).await.unwrap();
        assert_eq!(img.read_at(0, 100).await.unwrap(), &old[..100]);

        srv.replace(new.clone(), "v2");
        // A running user of the old version must not get new bytes mixed in.
        let err = img.read_at(200_000, 100).await.unwrap_err();
        assert!(matches!(*err, FetchError::Changed { .. }), "{err}");
        assert!(err.to_string().contains("changed on the server"), "{err}");
        drop(img);

        let img = cache.image(&srv.url("p"), quick()).await.unwrap();
        assert_eq!(img.read_at(0, 100).await.unwrap(), &new[..100]);
        assert_eq!(
            img.read_at(200_000, 100).await.unwrap(),
            &new[200_000..200_100]
        );
        let versions = std::fs::read_dir(dir.join("chunks")).unwrap().count();
        assert_eq!(versions, 1, "the old version's directory is removed");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_readers_share_one_fetch() {
    bounded(async {
        let data = pattern(256 * 1024, 5);
        let srv = RangeServer::start(data.clone()).await;
        srv.shared.delay_ms.store(300, Ordering::SeqCst);
        let dir = common::scratch("dedupe");
        let cache = ChunkCache::open(&dir.join("chunks"), 64 * KIB, 1 << 30).unwrap();
        let a = cache.image(&srv.url("x"), quick()).await.unwrap();
        let b = cache.image(&srv.url("x"), quick()).await.unwrap();
        assert!(Arc::ptr_eq(&a, &b), "one image per URL");
        let readers: Vec<_> = (0..8)
            .map(|i| {
                let img = if i % 2 == 0 { a.clone() } else { b.clone() };
                tokio::spawn(async move { img.read_at(1000 + i * 10, 100).await.unwrap() })
            })
            .collect();
        for (i, r) in readers.into_iter().enumerate() {
            let got = r.await.unwrap();
            let at = 1000 + i * 10;
            assert_eq!(got, &data[at..at + 100]);
        }
        assert_eq!(srv.gets(), 1, "eight readers of one chunk, one request");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_retried_then_reported() {
    bounded(async {
        let data = pattern(128 * 1024, 6);
        let srv = RangeServer::start(data.clone()).await;
        let remote = RemoteFile::open(&srv.url("r"), quick()).await.unwrap();
        srv.shared.fail_next.store(2, Ordering::SeqCst);
        assert_eq!(remote.read_range(10, 20).await.unwrap(), &data[10..30]);
        assert_eq!(srv.gets(), 3, "two 503s, then success");
        assert_eq!(remote.stats().retries.load(Ordering::SeqCst), 2);

        srv.shared.drop_mid_body.store(true, Ordering::SeqCst);
        let before = srv.gets();
        let err = remote.read_range(0, 64 * 1024).await.unwrap_err();
        assert_eq!(srv.gets() - before, 3, "bounded: three attempts");
        let msg = err.to_string();
        assert!(msg.contains("connection dropped"), "{msg}");
        assert!(msg.contains(&srv.url("r")), "names the URL: {msg}");

        // A server that refuses HEAD is sized by a one-byte range GET.
        srv.shared.drop_mid_body.store(false, Ordering::SeqCst);
        srv.shared.refuse_head.store(true, Ordering::SeqCst);
        let remote = RemoteFile::open(&srv.url("r"), quick()).await.unwrap();
        assert_eq!(remote.size(), data.len() as u64);
        assert_eq!(remote.validator().etag.as_deref(), Some("\"v1\""));
        assert_eq!(remote.read_range(100, 10).await.unwrap(), &data[100..110]);

        // Non-http(s) URLs are refused before any request.
        let err = RemoteFile::open("file:///etc/passwd", quick())
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::BadUrl(_)), "{err}");
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_image_streams_in_one_request_and_reports_a_drop() {
    bounded(async {
        let data = pattern(3 << 20, 7);
        let srv = RangeServer::start(data.clone()).await;
        let remote = Arc::new(RemoteFile::open(&srv.url("m"), quick()).await.unwrap());
        let mut s = remote
            .stream_range(4096, data.len() as u64 - 4096)
            .await
            .unwrap();
        let (received, total) = s.progress();
        assert_eq!(total, data.len() as u64 - 4096);
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert_eq!(received.load(Ordering::SeqCst), total);
        assert_eq!(got, &data[4096..]);
        assert_eq!(srv.gets(), 1, "one request for the whole stream");

        srv.shared.drop_mid_body.store(true, Ordering::SeqCst);
        let mut s = remote.stream_range(0, data.len() as u64).await.unwrap();
        let mut got = Vec::new();
        let err = s.read_to_end(&mut got).await.unwrap_err();
        assert_eq!(srv.gets(), 2, "no retry once bytes were delivered");
        assert!(!got.is_empty() && got.len() < data.len());
        assert_eq!(got, &data[..got.len()], "what arrived is correct");
        let msg = err.to_string();
        assert!(
            msg.contains("connection dropped after") && msg.contains(&data.len().to_string()),
            "{msg}"
        );
    })
    .await
    .expect("test timed out");
}
