//! A real package built from the running test guest, imported, resumed and read remotely.

use super::*;
use crate::formats::{lzop_encode, mixed_data};

// ---------------------------------------------------------------- a real package

/// The test guest, saved: its migration stream and the screen at save time.
struct Saved {
    stream: Vec<u8>,
    screen: olive_tests::ppm::Rgba,
}

fn guest_config() -> QemuConfig {
    QemuConfig {
        sound: false,
        ..Default::default()
    }
}

fn save_running_guest(dir: &Path) -> Saved {
    let mut q = Qemu::launch_locked(&guest_config()).unwrap();
    q.wait_ready(Duration::from_secs(120)).unwrap();
    q.command("scene flat", Duration::from_secs(20)).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    q.qmp().execute("stop", None).unwrap();
    let screen = q.screendump().unwrap();

    let sock = dir.join("mig.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let reader = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        conn.read_to_end(&mut buf).map(|_| buf)
    });
    let uri = format!("unix:{}", sock.display());
    q.qmp()
        .execute("migrate", Some(json!({ "uri": uri })))
        .unwrap();
    wait_migrated(&mut q);
    let stream = reader.join().unwrap().unwrap();
    let _ = q.shutdown(Duration::from_secs(10));
    Saved { stream, screen }
}

/// Polls `query-migrate` until QEMU says `completed` (it sends no event we could wait
/// on); a failed or cancelled migration, or none done in two minutes, fails the test.
fn wait_migrated(q: &mut Qemu) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let st = q.qmp().execute("query-migrate", None).unwrap();
        match st["status"].as_str() {
            Some("completed") => return,
            Some("failed" | "cancelled") => panic!("migration failed: {st}\n{}", q.qemu_log()),
            _ if Instant::now() > deadline => panic!("migration did not complete: {st}"),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Loads a raw migration stream into a fresh QEMU with the same devices; returns the screen.
fn resume(raw: &Path) -> olive_tests::ppm::Rgba {
    let mut cfg = guest_config();
    cfg.extra_args = vec!["-incoming".into(), "defer".into()];
    let mut q = Qemu::launch_locked(&cfg).unwrap();
    let uri = format!("exec:cat {}", raw.display());
    q.qmp()
        .execute("migrate-incoming", Some(json!({ "uri": uri })))
        .unwrap();
    wait_migrated(&mut q);
    q.qmp().execute("cont", None).unwrap();
    let screen = q.screendump().unwrap();
    let _ = q.shutdown(Duration::from_secs(10));
    screen
}

/// Builds `<dir>/<name>.nxpk` around `saved` with the memory image compressed as given.
fn build_nxpk(dir: &Path, name: &str, saved: &Saved, compression: Compression) -> PathBuf {
    let manifest = dir.join("vmnetx-package.xml");
    std::fs::write(
        &manifest,
        r#"<?xml version='1.0' encoding='UTF-8'?>
<image xmlns="http://olivearchive.org/xmlns/vmnetx/package" name="Olive test guest">
  <domain path="domain.xml"/>
  <disk path="disk.img"/>
  <memory path="memory.img"/>
</image>"#,
    )
    .unwrap();
    let domain = dir.join("domain.xml");
    std::fs::write(&domain, common::VMNETX_DOMAIN).unwrap();
    let disk = dir.join("disk.qcow2");
    if !disk.exists() {
        common::run(
            "qemu-img",
            &["create", "-q", "-f", "qcow2", disk.to_str().unwrap(), "64M"],
        );
    }
    let mut mem = memory::wrap_header(common::VMNETX_DOMAIN, compression, true);
    match compression {
        Compression::Xz => mem.extend_from_slice(&common::xz(&saved.stream)),
        Compression::Lzop => mem.extend_from_slice(&lzop_encode(&saved.stream, 256 << 10)),
        _ => mem.extend_from_slice(&saved.stream),
    }
    let memory_img = dir.join(format!("{name}-memory.img"));
    std::fs::write(&memory_img, &mem).unwrap();
    let out = dir.join(format!("{name}.nxpk"));
    common::python_zip(
        &out,
        &[
            ("vmnetx-package.xml", &manifest),
            ("domain.xml", &domain),
            ("memory.img", &memory_img),
            ("disk.img", &disk),
        ],
    );
    out
}

#[test]
fn nxpk_from_the_running_test_guest_imports_and_resumes_to_the_same_screen() {
    let dir = common::scratch("real");
    let saved = save_running_guest(dir.path());
    eprintln!("migration stream: {} bytes", saved.stream.len());
    let rt = tokio::runtime::Runtime::new().unwrap();

    for (name, compression) in [("xz", Compression::Xz), ("lzop", Compression::Lzop)] {
        let nxpk = build_nxpk(dir.path(), name, &saved, compression);
        let out = dir.join(format!("{name}-import"));
        let imported = rt.block_on(nxpk::import_local(&nxpk, &out)).unwrap();
        assert_eq!(imported.name, "Olive test guest");
        assert_eq!(imported.settings.memory_mb, 512);
        assert!(imported.memory_rejected.is_none());
        let raw = imported.memory.clone().expect("memory image kept");
        assert!(
            std::fs::read(&raw).unwrap() == saved.stream,
            "{name}: unwrapped stream equals the saved one"
        );
        let info = std::process::Command::new("qemu-img")
            .args(["info", imported.disk.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&info.stdout).contains("file format: qcow2"));
        assert!(out.join("machine.json").exists());
        if compression == Compression::Xz {
            let screen = resume(&raw);
            assert!(
                screen == saved.screen,
                "resumed screen equals the screendump at save time"
            );
        }
    }

    // The same package over HTTP: opened remotely, its memory image streamed in one request
    // through the unwrapper into QEMU's restore (a FIFO read by `exec:cat`) as it arrives.
    let bytes = std::fs::read(dir.join("xz.nxpk")).unwrap();
    let package_len = bytes.len();
    let (screen, gets, fetched) = rt.block_on(async {
        let srv = RangeServer::start(bytes).await;
        let cache = ChunkCache::open(&dir.join("chunks"), DEFAULT_CHUNK_SIZE, 1 << 30).unwrap();
        let img = cache
            .image(&srv.url("guest.nxpk"), FetchOptions::default())
            .await
            .unwrap();
        let pkg = Package::open(img.clone()).await.unwrap();
        let m = pkg.memory.clone().unwrap();
        let fifo = dir.join("restore.fifo");
        common::run("mkfifo", &[fifo.to_str().unwrap()]);
        let stream = img.remote().stream_range(m.offset, m.size).await.unwrap();
        let f = fifo.clone();
        let writer = tokio::spawn(async move {
            let out = tokio::task::spawn_blocking(move || {
                std::fs::OpenOptions::new().write(true).open(&f)
            })
            .await
            .unwrap()
            .unwrap();
            nxpk::unwrap_memory_stream(stream, out).await
        });
        let screen = tokio::task::spawn_blocking(move || resume(&fifo))
            .await
            .unwrap();
        let (_, n) = writer.await.unwrap().unwrap();
        assert_eq!(n, saved.stream.len() as u64);
        (screen, srv.gets(), srv.bytes())
    });
    eprintln!("remote resume: package {package_len} bytes, {fetched} fetched in {gets} GETs");
    assert!(
        screen == saved.screen,
        "streamed resume shows the screen at save time"
    );

    // A memory image that cannot be unwrapped (unknown compression) is dropped: cold boot.
    let mut broken = Saved {
        stream: saved.stream.clone(),
        screen: saved.screen.clone(),
    };
    broken.stream.truncate(100);
    let nxpk = build_nxpk(dir.path(), "raw", &broken, Compression::Raw);
    let mut bytes = std::fs::read(&nxpk).unwrap();
    let pos = bytes.windows(16).position(|w| w == memory::MAGIC).unwrap();
    bytes[pos + 16 + 12] = 9; // unknown compression id
    std::fs::write(&nxpk, &bytes).unwrap();
    let imported = rt
        .block_on(nxpk::import_local(&nxpk, &dir.join("broken")))
        .unwrap();
    assert!(imported.memory.is_none());
    let why = imported.memory_rejected.unwrap();
    assert!(why.contains("unknown compression id 9"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_nxpk_is_read_on_demand_and_its_memory_streams() {
    let dir = common::scratch("remote");
    // A synthetic stream stands in for QEMU's here (the real one is covered above): half
    // noise, so the package is large next to what opening it needs.
    let mut stream = mixed_data(4 << 20);
    let mut x = 7u32;
    stream.extend((0..4 << 20).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
    }));
    let saved = Saved {
        stream: stream.clone(),
        screen: olive_tests::ppm::Rgba {
            width: 0,
            height: 0,
            pixels: Vec::new(),
        },
    };
    let d = dir.path().to_path_buf();
    let nxpk =
        tokio::task::spawn_blocking(move || build_nxpk(&d, "remote", &saved, Compression::Lzop))
            .await
            .unwrap();
    let bytes = std::fs::read(&nxpk).unwrap();
    let srv = RangeServer::start(bytes.clone()).await;
    let cache = ChunkCache::open(&dir.join("chunks"), 64 << 10, 1 << 30).unwrap();
    let opts = FetchOptions {
        attempts: 2,
        backoff: Duration::from_millis(20),
        ..Default::default()
    };
    let url = url::package_url(&format!("vmnetx+{}", srv.url("pkg.nxpk"))).unwrap();
    let img = cache.image(url.as_str(), opts).await.unwrap();
    let pkg = Package::open(img.clone()).await.unwrap();
    assert_eq!(pkg.manifest.name, "Olive test guest");
    assert_eq!(pkg.settings.vcpus, 1);
    let fetched = srv.bytes();
    eprintln!(
        "opening a {}-byte package fetched {fetched} bytes in {} GETs",
        bytes.len(),
        srv.gets()
    );
    assert!(
        fetched < bytes.len() as u64 / 4,
        "opening fetched {fetched} of {}",
        bytes.len()
    );

    // The local reader agrees on every member.
    let local = Package::open(LocalFile::open(&nxpk).unwrap())
        .await
        .unwrap();
    assert_eq!(local.disk, pkg.disk);
    assert_eq!(local.memory, pkg.memory);

    // The disk member is served to QEMU straight out of the remote package.
    let sock = dir.join("disk.nbd");
    let slice = ImageSlice::new(img.clone(), pkg.disk.offset, pkg.disk.size).unwrap();
    let _export = NbdExport::serve(&sock, slice).unwrap();
    let info = tokio::process::Command::new("qemu-img")
        .args(["info", &NbdExport::qemu_uri(&sock)])
        .output()
        .await
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(
        info.contains("file format: qcow2") && info.contains("virtual size: 64 MiB"),
        "{info}"
    );

    let m = pkg.memory.clone().unwrap();
    let s = img.remote().stream_range(m.offset, m.size).await.unwrap();
    let out = dir.join("memory.raw");
    let (header, n) = nxpk::unwrap_memory_stream(s, std::fs::File::create(&out).unwrap())
        .await
        .unwrap();
    assert_eq!(header.compression, Compression::Lzop);
    assert_eq!(n, stream.len() as u64);
    assert!(std::fs::read(&out).unwrap() == stream);

    srv.shared.drop_mid_body.store(true, Ordering::SeqCst);
    let s = img.remote().stream_range(m.offset, m.size).await.unwrap();
    let err = nxpk::unwrap_memory_stream(s, std::io::sink())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("connection dropped after"), "{msg}");
}
