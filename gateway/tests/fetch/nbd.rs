//! The NBD export, read by qemu-img, qemu-io and a booting guest.

use super::*;

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
        let dir = common::scratch("nbd-raw");
        let cache = ChunkCache::open(&dir.join("chunks"), 256 * KIB, 1 << 30).unwrap();
        let img = cache.image(&srv.url("raw.img"), quick()).await.unwrap();
        let sock = dir.join("disk.nbd");
        let export = NbdExport::serve(&sock, ImageSlice::whole(img)).unwrap();
        let uri = NbdExport::qemu_uri(&sock);

        let info = run("qemu-img", &["info", "--output=json", &uri]).await;
        assert!(
            info.contains(&format!("\"virtual-size\": {}", data.len())),
            "{info}"
        );
        let out = dir.join("copy.raw");
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
        let dir = common::scratch("nbd-qcow2");
        let data = marked_qcow2(dir.path()).await;
        let srv = RangeServer::start(data.clone()).await;
        let cache = ChunkCache::open(&dir.join("chunks"), 256 * KIB, 1 << 30).unwrap();
        let img = cache.image(&srv.url("disk.qcow2"), quick()).await.unwrap();
        let sock = dir.join("disk.nbd");
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
        let dir = common::scratch("boot");
        // A raw disk: 256 MiB of data, so "touches little" is measured against real bytes.
        let data = pattern(256 << 20, 9);
        let srv = RangeServer::start(data).await;
        let cache = ChunkCache::open(&dir.join("chunks"), 256 * KIB, 1 << 30).unwrap();
        let img = cache.image(&srv.url("disk.img"), quick()).await.unwrap();
        let sock = dir.join("disk.nbd");
        let export = NbdExport::serve(&sock, ImageSlice::whole(img)).unwrap();
        let overlay = dir.join("overlay.qcow2");
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
        let dir = common::scratch("nbd-proto");
        let cache = ChunkCache::open(&dir.join("chunks"), 64 * KIB, 1 << 30).unwrap();
        let img = cache.image(&srv.url("p"), quick()).await.unwrap();
        let sock = dir.join("disk.nbd");
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
