//! Demand fetching: range reads, the shared chunk cache, the memory stream, and the NBD export
//! read by real qemu-img/qemu-io and booted from by real QEMU with the test guest.
//!
//! The remote side is a local HTTP server on 127.0.0.1 that counts requests and bytes.

mod range_server;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use olive_gateway::fetch::{
    ChunkCache, FetchError, FetchOptions, ImageSlice, NbdExport, RemoteFile,
};
use range_server::RangeServer;
use tokio::io::AsyncReadExt;

const KIB: u64 = 1024;
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A private scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "olive-fetch-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Deterministic, incompressible-looking bytes.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn quick() -> FetchOptions {
    FetchOptions {
        attempts: 3,
        backoff: Duration::from_millis(20),
        request_timeout: Duration::from_secs(20),
        ..FetchOptions::default()
    }
}

/// Bounds a test; generous because QEMU tests may first wait for the shared QEMU lock.
fn bounded<F: std::future::Future>(f: F) -> tokio::time::Timeout<F> {
    tokio::time::timeout(Duration::from_secs(300), f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_served_from_chunks_and_cached() {
    bounded(async {
        let data = pattern(1 << 20, 1);
        let srv = RangeServer::start(data.clone()).await;
        let dir = Scratch::new("cache");
        let cache = ChunkCache::open(&dir.0, 64 * KIB, 1 << 30).unwrap();
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
        let cache = ChunkCache::open(&dir.0, 64 * KIB, 1 << 30).unwrap();
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
        let dir = Scratch::new("lru");
        let cs = 64 * KIB;
        let cache = ChunkCache::open(&dir.0, cs, 3 * cs).unwrap();
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
        let files = std::fs::read_dir(&dir.0)
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
        let dir = Scratch::new("etag");
        let cache = ChunkCache::open(&dir.0, 64 * KIB, 1 << 30).unwrap();
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
        let versions = std::fs::read_dir(&dir.0).unwrap().count();
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
        let dir = Scratch::new("dedupe");
        let cache = ChunkCache::open(&dir.0, 64 * KIB, 1 << 30).unwrap();
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

async fn run(cmd: &str, args: &[&str]) -> String {
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new(cmd)
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{cmd} timed out"))
    .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd} {args:?}: {text}");
    text
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nbd_export_reads_byte_for_byte_with_qemu_img() {
    bounded(async {
        let data = pattern(32 << 20, 8);
        let srv = RangeServer::start(data.clone()).await;
        let dir = Scratch::new("nbd-raw");
        let cache = ChunkCache::open(&dir.0.join("chunks"), 256 * KIB, 1 << 30).unwrap();
        let img = cache.image(&srv.url("raw.img"), quick()).await.unwrap();
        let sock = dir.0.join("disk.nbd");
        let export = NbdExport::serve(&sock, ImageSlice::whole(img)).unwrap();
        let uri = NbdExport::qemu_uri(&sock);

        let info = run("qemu-img", &["info", "--output=json", &uri]).await;
        assert!(
            info.contains(&format!("\"virtual-size\": {}", data.len())),
            "{info}"
        );
        let out = dir.0.join("copy.raw");
        run(
            "qemu-img",
            &["convert", "-f", "raw", "-O", "raw", &uri, p(&out)],
        )
        .await;
        let copy = std::fs::read(&out).unwrap();
        assert!(copy == data, "full read through NBD equals the source");
        assert_eq!(srv.bytes(), data.len() as u64, "each byte fetched once");
        assert!(export.last_error().is_none());
    })
    .await
    .expect("test timed out");
}

/// A 256 MiB qcow2 image with two marked regions, served over HTTP.
async fn marked_qcow2(dir: &Path) -> Vec<u8> {
    let path = dir.join("src.qcow2");
    run(
        "qemu-img",
        &["create", "-q", "-f", "qcow2", p(&path), "256M"],
    )
    .await;
    run(
        "qemu-io",
        &[
            "-f",
            "qcow2",
            "-c",
            "write -P 0xab 1M 64k",
            "-c",
            "write -P 0xcd 200M 1M",
            p(&path),
        ],
    )
    .await;
    std::fs::read(&path).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qemu_io_reads_few_sectors_of_a_remote_qcow2() {
    bounded(async {
        let dir = Scratch::new("nbd-qcow2");
        let data = marked_qcow2(&dir.0).await;
        let srv = RangeServer::start(data.clone()).await;
        let cache = ChunkCache::open(&dir.0.join("chunks"), 256 * KIB, 1 << 30).unwrap();
        let img = cache.image(&srv.url("disk.qcow2"), quick()).await.unwrap();
        let sock = dir.0.join("disk.nbd");
        let _export = NbdExport::serve(&sock, ImageSlice::whole(img)).unwrap();
        let uri = NbdExport::qemu_uri(&sock);

        let info = run("qemu-img", &["info", &uri]).await;
        assert!(info.contains("file format: qcow2"), "{info}");
        assert!(info.contains("virtual size: 256 MiB"), "{info}");
        run(
            "qemu-io",
            &["-r", "-f", "qcow2", "-c", "read -P 0xab 1M 64k", &uri],
        )
        .await;
        // The export is read-only: a write is refused and nothing reaches the server.
        let w = tokio::process::Command::new("qemu-io")
            .args(["-f", "raw", "-c", "write -P 0x11 0 512", &uri])
            .output()
            .await
            .unwrap();
        let text =
            String::from_utf8_lossy(&w.stderr).to_string() + &String::from_utf8_lossy(&w.stdout);
        eprintln!("write attempt: {}", text.trim());
        assert!(!w.status.success(), "write accepted: {text}");
        let (gets, bytes) = (srv.gets(), srv.bytes());
        eprintln!(
            "qcow2 image {} bytes; info + read: {gets} GETs, {bytes} bytes",
            data.len()
        );
        assert!(bytes < data.len() as u64 / 2, "{bytes} of {}", data.len());
    })
    .await
    .expect("test timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_guest_boots_with_a_demand_fetched_disk() {
    bounded(async {
        let dir = Scratch::new("boot");
        // A raw disk: 256 MiB of data, so "touches little" is measured against real bytes.
        let data = pattern(256 << 20, 9);
        let srv = RangeServer::start(data).await;
        let cache = ChunkCache::open(&dir.0.join("chunks"), 256 * KIB, 1 << 30).unwrap();
        let img = cache.image(&srv.url("disk.img"), quick()).await.unwrap();
        let sock = dir.0.join("disk.nbd");
        let export = NbdExport::serve(&sock, ImageSlice::whole(img)).unwrap();
        let overlay = dir.0.join("overlay.qcow2");
        let backing = NbdExport::qemu_uri(&sock);
        run(
            "qemu-img",
            &[
                "create",
                "-q",
                "-f",
                "qcow2",
                "-F",
                "raw",
                "-b",
                &backing,
                p(&overlay),
            ],
        )
        .await;
        let overlay_arg = format!(
            "file={},if=ide,format=qcow2,id=olive-disk",
            overlay.display()
        );
        let shared = srv.shared.clone();
        let measured =
            tokio::task::spawn_blocking(move || -> anyhow::Result<(u64, u64, String)> {
                let cfg = olive_tests::qemu::QemuConfig {
                    extra_args: vec!["-drive".into(), overlay_arg],
                    sound: false,
                    ..Default::default()
                };
                let mut q = olive_tests::qemu::Qemu::launch_locked(&cfg)?;
                q.wait_ready(Duration::from_secs(90))?;
                let boot_bytes = shared.counters.bytes.load(Ordering::SeqCst);
                let boot_gets = shared.counters.gets.load(Ordering::SeqCst);
                // A read by the running QEMU's block layer, through the overlay into NBD.
                let out = q.qmp().execute(
                    "human-monitor-command",
                    Some(
                        serde_json::json!({"command-line": "qemu-io olive-disk \"read 100M 64k\""}),
                    ),
                )?;
                let log = q.qemu_log();
                let _ = q.shutdown(Duration::from_secs(10));
                Ok((boot_gets, boot_bytes, format!("{out}{log}")))
            })
            .await
            .unwrap();
        let (boot_gets, boot_bytes, io_out) =
            measured.expect("the guest boots with the NBD-backed disk attached");
        assert!(io_out.contains("read 65536/65536 bytes"), "{io_out}");
        let (gets, bytes) = (srv.gets(), srv.bytes());
        eprintln!(
            "256 MiB remote disk: boot fetched {boot_bytes} bytes in {boot_gets} GETs; \
             after a 64 KiB qemu-io read: {bytes} bytes in {gets} GETs"
        );
        assert!(gets > boot_gets, "the read went to the server");
        assert!(
            bytes <= 4 << 20,
            "boot + read touched {bytes} bytes of 256 MiB"
        );
        assert!(export.last_error().is_none());
    })
    .await
    .expect("test timed out");
}

/// The NBD protocol as a client other than QEMU might speak it: declined options, reads past
/// the end, writes to the read-only export, disconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nbd_protocol_edges() {
    use tokio::io::AsyncWriteExt;
    bounded(async {
        let data = pattern(1 << 20, 10);
        let srv = RangeServer::start(data.clone()).await;
        let dir = Scratch::new("nbd-proto");
        let cache = ChunkCache::open(&dir.0.join("chunks"), 64 * KIB, 1 << 30).unwrap();
        let img = cache.image(&srv.url("p"), quick()).await.unwrap();
        let sock = dir.0.join("disk.nbd");
        let _export = NbdExport::serve(&sock, ImageSlice::whole(img)).unwrap();
        let mut c = tokio::net::UnixStream::connect(&sock).await.unwrap();

        let mut hello = [0u8; 18];
        c.read_exact(&mut hello).await.unwrap();
        assert_eq!(&hello[..8], b"NBDMAGIC");
        assert_eq!(&hello[8..16], b"IHAVEOPT");
        c.write_all(&3u32.to_be_bytes()).await.unwrap(); // fixed newstyle, no zeroes

        async fn option(
            c: &mut tokio::net::UnixStream,
            opt: u32,
            data: &[u8],
        ) -> Vec<(u32, Vec<u8>)> {
            let mut msg = b"IHAVEOPT".to_vec();
            msg.extend_from_slice(&opt.to_be_bytes());
            msg.extend_from_slice(&(data.len() as u32).to_be_bytes());
            msg.extend_from_slice(data);
            c.write_all(&msg).await.unwrap();
            let mut replies = Vec::new();
            loop {
                let mut h = [0u8; 20];
                c.read_exact(&mut h).await.unwrap();
                assert_eq!(
                    u64::from_be_bytes(h[..8].try_into().unwrap()),
                    0x3e889045565a9
                );
                assert_eq!(u32::from_be_bytes(h[8..12].try_into().unwrap()), opt);
                let kind = u32::from_be_bytes(h[12..16].try_into().unwrap());
                let mut body = vec![0; u32::from_be_bytes(h[16..20].try_into().unwrap()) as usize];
                c.read_exact(&mut body).await.unwrap();
                replies.push((kind, body));
                if kind != 3 {
                    return replies; // not NBD_REP_INFO: the last reply
                }
            }
        }
        // Structured replies are declined.
        assert_eq!(option(&mut c, 8, &[]).await, vec![(0x8000_0001, vec![])]);
        // NBD_OPT_GO "disk", no info requests: export info, block size, then ACK.
        let mut go = 4u32.to_be_bytes().to_vec();
        go.extend_from_slice(b"disk");
        go.extend_from_slice(&0u16.to_be_bytes());
        let replies = option(&mut c, 7, &go).await;
        assert_eq!(replies.last().unwrap().0, 1, "ACK");
        let export = &replies[0].1;
        assert_eq!(u16::from_be_bytes([export[0], export[1]]), 0);
        assert_eq!(
            u64::from_be_bytes(export[2..10].try_into().unwrap()),
            data.len() as u64
        );
        let flags = u16::from_be_bytes([export[10], export[11]]);
        assert_eq!(flags & 3, 3, "HAS_FLAGS | READ_ONLY");

        async fn request(
            c: &mut tokio::net::UnixStream,
            kind: u16,
            handle: u64,
            off: u64,
            len: u32,
            payload: &[u8],
        ) -> (u32, u64) {
            let mut msg = 0x2560_9513u32.to_be_bytes().to_vec();
            msg.extend_from_slice(&0u16.to_be_bytes());
            msg.extend_from_slice(&kind.to_be_bytes());
            msg.extend_from_slice(&handle.to_be_bytes());
            msg.extend_from_slice(&off.to_be_bytes());
            msg.extend_from_slice(&len.to_be_bytes());
            msg.extend_from_slice(payload);
            c.write_all(&msg).await.unwrap();
            let mut r = [0u8; 16];
            c.read_exact(&mut r).await.unwrap();
            assert_eq!(u32::from_be_bytes(r[..4].try_into().unwrap()), 0x6744_6698);
            (
                u32::from_be_bytes(r[4..8].try_into().unwrap()),
                u64::from_be_bytes(r[8..16].try_into().unwrap()),
            )
        }
        let size = data.len() as u64;
        assert_eq!(
            request(&mut c, 0, 1, size - 10, 20, &[]).await,
            (22, 1),
            "read past the end: EINVAL"
        );
        assert_eq!(
            request(&mut c, 1, 2, 0, 512, &[0x11; 512]).await,
            (1, 2),
            "write: EPERM"
        );
        assert_eq!(request(&mut c, 3, 3, 0, 0, &[]).await, (0, 3), "flush: ok");
        assert_eq!(request(&mut c, 0, 4, 1000, 16, &[]).await, (0, 4));
        let mut got = [0u8; 16];
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, &data[1000..1016]);
        // Disconnect: the server closes the connection.
        let mut disc = 0x2560_9513u32.to_be_bytes().to_vec();
        disc.extend_from_slice(&[0, 0, 0, 2]);
        disc.extend_from_slice(&[0; 20]);
        c.write_all(&disc).await.unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    })
    .await
    .expect("test timed out");
}
