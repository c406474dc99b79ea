//! VMNetX `.nxpk` import: whitelist, lzop/xz memory images, and a real package built from the
//! running test guest (Python's zipfile as VMNetX used, a qemu-img disk, a memory image from a
//! real QEMU migration stream wrapped in a libvirt save header) that is imported and resumed
//! in QEMU to the same screen; also read remotely through the chunk cache.
// Real QEMU and real servers: the waits poll real processes on the wall clock.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;
mod range_server;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use olive_gateway::codec::libvirt::{self as memory, Compression, MemoryError};
use olive_gateway::codec::lzop;
use olive_gateway::fetch::{ChunkCache, FetchOptions, ImageSlice, NbdExport, DEFAULT_CHUNK_SIZE};
use olive_gateway::model::remote as url;
use olive_gateway::packages::nxpk::domain::{self, DomainError};
use olive_gateway::packages::nxpk::{self, LocalFile, Package};
use olive_tests::qemu::{Qemu, QemuConfig};
use range_server::RangeServer;
use serde_json::json;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "olive-nxpk-{tag}-{}-{}",
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

#[test]
fn whitelisted_domain_maps_to_machine_settings() {
    let s = domain::parse(common::VMNETX_DOMAIN).unwrap();
    assert_eq!(s.memory_mb, 512);
    assert_eq!(s.vcpus, 1);
    assert_eq!(s.arch, "x86_64");
    assert_eq!(s.machine, "pc");
    assert_eq!(s.disk.format, "qcow2");
    assert_eq!(s.disk.bus, "ide");
    assert_eq!(s.video.as_deref(), Some("qxl"));
    assert_eq!(s.video_vram_kib, Some(65536));
    assert_eq!(
        s.nic.as_ref().and_then(|n| n.model.as_deref()),
        Some("e1000")
    );
    assert_eq!(s.sound.as_deref(), Some("ac97"));
    assert!(s.usb_tablet);
    assert_eq!(s.clock_offset.as_deref(), Some("localtime"));
    let gib = common::VMNETX_DOMAIN.replace(
        r#"<memory unit="KiB">524288</memory>"#,
        r#"<memory unit="GiB">2</memory>"#,
    );
    assert_eq!(domain::parse(&gib).unwrap().memory_mb, 2048);
}

fn rejected(from: &str, to: &str) -> String {
    let xml = common::VMNETX_DOMAIN.replacen(from, to, 1);
    assert_ne!(
        xml,
        common::VMNETX_DOMAIN,
        "test edit {from:?} did not apply"
    );
    domain::parse(&xml).unwrap_err().to_string()
}

#[test]
fn whitelist_rejections_name_the_offending_element() {
    let e = rejected(
        "<memballoon",
        r#"<hostdev mode="subsystem" type="pci"/><memballoon"#,
    );
    assert!(
        e.contains("<devices/hostdev>") && e.contains("whitelist"),
        "{e}"
    );
    let e = rejected(r#"<interface type="user">"#, r#"<interface type="bridge">"#);
    assert!(
        e.contains("devices/interface") && e.contains("\"bridge\"") && e.contains("user"),
        "{e}"
    );
    let e = rejected(
        "<boot dev=\"hd\"/>",
        "<boot dev=\"hd\"/><kernel>/boot/vmlinuz</kernel>",
    );
    assert!(e.contains("<os/kernel>"), "{e}");
    let e = rejected(
        r#"<graphics type="spice" autoport="yes"/>"#,
        r#"<graphics type="spice" autoport="yes" listen="0.0.0.0"/>"#,
    );
    assert!(
        e.contains("\"listen\"") && e.contains("devices/graphics"),
        "{e}"
    );
    let e = rejected(r#"device="disk">"#, r#"device="cdrom">"#);
    assert!(e.contains("device=\"cdrom\""), "{e}");
    let e = rejected(r#"<domain type="kvm">"#, r#"<domain type="qemu">"#);
    assert!(e.contains("type=\"qemu\""), "{e}");
    let e = rejected(
        "</devices>",
        "</devices><qemu:commandline xmlns:qemu=\"http://libvirt.org/schemas/domain/qemu/1.0\"><qemu:arg value=\"-hda\"/></qemu:commandline>",
    );
    assert!(e.contains("<commandline>"), "{e}");
    let e = rejected(
        "<controller type=\"usb\"",
        "<disk type=\"file\" device=\"disk\"/><controller type=\"usb\"",
    );
    assert!(e.contains("exactly one <disk>"), "{e}");
    let e = rejected(
        r#"<memory unit="KiB">524288</memory>"#,
        r#"<memory unit="TiB">1</memory>"#,
    );
    assert!(e.contains("memory unit"), "{e}");
    let e = rejected("02:12:34", "03:12:34");
    assert!(e.contains("unicast"), "{e}");
    assert!(matches!(domain::parse("<domain"), Err(DomainError::Xml(_))));
}

#[test]
fn package_urls_and_trusted_hosts() {
    let u = url::package_url("vmnetx+https://images.example.org/a.nxpk").unwrap();
    assert_eq!(u.as_str(), "https://images.example.org/a.nxpk");
    assert_eq!(
        url::package_url("VMNETX+http://h/x.nxpk").unwrap().scheme(),
        "http"
    );
    assert_eq!(
        url::package_url("http://h/x.nxpk").unwrap().as_str(),
        "http://h/x.nxpk"
    );
    assert!(url::package_url("vmnetx://h/ID/AUTH").is_err());
    assert!(url::package_url("file:///etc/passwd").is_err());
    assert!(url::package_url("vmnetx+file:///etc/passwd").is_err());
    let trusted = vec![
        "images.example.org".to_string(),
        "*.olivearchive.org".to_string(),
    ];
    assert!(url::launch_url("vmnetx+https://images.example.org/a.nxpk", &trusted).is_ok());
    assert!(url::launch_url("https://x.olivearchive.org/a.nxpk", &trusted).is_ok());
    assert_eq!(
        url::launch_url("https://evil.example.net/a.nxpk", &trusted),
        Err(url::UrlError::Untrusted("evil.example.net".into()))
    );
    assert!(url::launch_url("https://olivearchive.org.evil.net/a", &trusted).is_err());
    assert!(url::launch_url("https://images.example.org@evil.net/a", &trusted).is_err());
}

/// Writes an lzop file of `data` with our container writer and lzokay's LZO1X encoder
/// (Adler-32 of compressed and uncompressed data, like `lzop` by default).
fn lzop_encode(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = vec![0x89, b'L', b'Z', b'O', 0, 0x0d, 0x0a, 0x1a, 0x0a];
    let mut h = Vec::new();
    h.extend_from_slice(&0x1030u16.to_be_bytes()); // version
    h.extend_from_slice(&0x2080u16.to_be_bytes()); // lib version
    h.extend_from_slice(&0x0940u16.to_be_bytes()); // needed
    h.push(1); // LZO1X-1
    h.push(5); // level
    h.extend_from_slice(&0x0000_0003u32.to_be_bytes()); // ADLER32_D | ADLER32_C
    h.extend_from_slice(&0o100644u32.to_be_bytes());
    h.extend_from_slice(&[0; 8]); // mtime
    h.push(0); // no name
    let sum = lzop::adler32(&h);
    out.extend_from_slice(&h);
    out.extend_from_slice(&sum.to_be_bytes());
    for chunk in data.chunks(block) {
        let packed = lzokay_native::compress(chunk).unwrap();
        out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
        let stored = packed.len() >= chunk.len();
        let body = if stored { chunk } else { &packed[..] };
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        out.extend_from_slice(&lzop::adler32(chunk).to_be_bytes());
        if !stored {
            out.extend_from_slice(&lzop::adler32(body).to_be_bytes());
        }
        out.extend_from_slice(body);
    }
    out.extend_from_slice(&0u32.to_be_bytes());
    out
}

fn mixed_data(len: usize) -> Vec<u8> {
    // Runs, repeats and noise: exercises literals, short and long matches.
    let mut x = 0x1234_5678u32;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        match x % 4 {
            0 => v.extend(std::iter::repeat_n(
                (x >> 8) as u8,
                (x >> 16) as usize % 300,
            )),
            1 if v.len() > 70_000 => {
                let from = v.len() - 1 - (x >> 8) as usize % 60_000;
                let n = (x >> 4) as usize % 200;
                for i in 0..n {
                    let b = v[from + i % (v.len() - from)];
                    v.push(b);
                }
            }
            _ => v.extend_from_slice(&x.to_le_bytes()),
        }
    }
    v.truncate(len);
    v
}

#[test]
fn lzop_files_decompress_and_checksums_are_verified() {
    let data = mixed_data(3 << 20);
    let file = lzop_encode(&data, 256 << 10);
    let mut out = Vec::new();
    assert_eq!(
        lzop::decompress(&mut &file[..], &mut out).unwrap(),
        data.len() as u64
    );
    assert!(out == data);

    // A flipped byte in a block's compressed data is caught by its checksum.
    let mut bad = file.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x40;
    let e = lzop::decompress(&mut &bad[..], &mut Vec::new()).unwrap_err();
    assert!(
        e.to_string().contains("mismatch") || e.to_string().contains("corrupt"),
        "{e}"
    );
    // Header corruption.
    let mut bad = file.clone();
    bad[12] ^= 1;
    assert!(lzop::decompress(&mut &bad[..], &mut Vec::new()).is_err());
    // Truncation.
    assert!(lzop::decompress(&mut &file[..file.len() - 100], &mut Vec::new()).is_err());

    // The real lzop tool's output, when the tool is installed.
    if let Ok(mut child) = std::process::Command::new("lzop")
        .args(["-c", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
    {
        let mut stdin = child.stdin.take().unwrap();
        let input = data.clone();
        let w = std::thread::spawn(move || stdin.write_all(&input));
        let mut real = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut real).unwrap();
        w.join().unwrap().unwrap();
        assert!(child.wait().unwrap().success());
        let mut out = Vec::new();
        lzop::decompress(&mut &real[..], &mut out).unwrap();
        assert!(out == data, "real lzop output decodes");
        eprintln!("checked against the real lzop tool");
    }
}

#[test]
fn lzo1x_garbage_is_an_error_not_a_panic() {
    let mut x = 99u32;
    for round in 0..2000 {
        let len = 1 + round % 64;
        let junk: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let _ = lzop::lzo1x_decompress(&junk, 256);
    }
    let good = lzokay_native::compress(b"hello hello hello hello hello").unwrap();
    assert_eq!(
        lzop::lzo1x_decompress(&good, 29).unwrap(),
        b"hello hello hello hello hello"
    );
    assert!(
        lzop::lzo1x_decompress(&good, 28).is_err(),
        "declared size is enforced"
    );
}

#[test]
fn save_header_is_checked() {
    let mut img = memory::wrap_header("<domain/>", Compression::Raw, true);
    assert_eq!(img.len() % 4096, 0);
    img.extend_from_slice(b"QEVM stream");
    let mut out = Vec::new();
    let (h, n) = memory::unwrap(&img[..], &mut out).unwrap();
    assert_eq!(
        (h.xml.as_str(), h.compression, h.was_running),
        ("<domain/>", Compression::Raw, true)
    );
    assert_eq!((out.as_slice(), n), (&b"QEVM stream"[..], 11));

    let mut bad = img.clone();
    bad[0] = b'X';
    assert!(matches!(
        memory::unwrap(&bad[..], &mut Vec::new()),
        Err(MemoryError::Magic)
    ));
    let mut bad = img.clone();
    bad[16] = 3;
    assert!(matches!(
        memory::unwrap(&bad[..], &mut Vec::new()),
        Err(MemoryError::Version(3))
    ));
    let mut bad = img.clone();
    bad[16 + 4 * 5] = 1;
    assert!(matches!(
        memory::unwrap(&bad[..], &mut Vec::new()),
        Err(MemoryError::Reserved(5))
    ));
    let mut bad = img.clone();
    bad[16 + 4 * 3] = 1; // gzip
    let e = memory::unwrap(&bad[..], &mut Vec::new()).unwrap_err();
    assert!(
        e.to_string().contains("Gzip compression is not supported"),
        "{e}"
    );
    let mut bad = img.clone();
    bad[16 + 4..16 + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        memory::unwrap(&bad[..], &mut Vec::new()),
        Err(MemoryError::XmlLength(_))
    ));
    assert!(matches!(
        memory::unwrap(&img[..50], &mut Vec::new()),
        Err(MemoryError::Truncated)
    ));
}

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
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let st = q.qmp().execute("query-migrate", None).unwrap();
        match st["status"].as_str() {
            Some("completed") => break,
            Some("failed") | Some("cancelled") => panic!("migration failed: {st}"),
            _ if Instant::now() > deadline => panic!("migration did not complete: {st}"),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    let stream = reader.join().unwrap().unwrap();
    let _ = q.shutdown(Duration::from_secs(10));
    Saved { stream, screen }
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
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let st = q.qmp().execute("query-migrate", None).unwrap();
        match st["status"].as_str() {
            Some("completed") => break,
            Some("failed") => panic!("incoming migration failed: {st}\n{}", q.qemu_log()),
            _ if Instant::now() > deadline => panic!("incoming migration stuck: {st}"),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
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
    let dir = Scratch::new("real");
    let saved = save_running_guest(&dir.0);
    eprintln!("migration stream: {} bytes", saved.stream.len());
    let rt = tokio::runtime::Runtime::new().unwrap();

    for (name, compression) in [("xz", Compression::Xz), ("lzop", Compression::Lzop)] {
        let nxpk = build_nxpk(&dir.0, name, &saved, compression);
        let out = dir.0.join(format!("{name}-import"));
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
    let bytes = std::fs::read(dir.0.join("xz.nxpk")).unwrap();
    let package_len = bytes.len();
    let (screen, gets, fetched) = rt.block_on(async {
        let srv = RangeServer::start(bytes).await;
        let cache = ChunkCache::open(&dir.0.join("chunks"), DEFAULT_CHUNK_SIZE, 1 << 30).unwrap();
        let img = cache
            .image(&srv.url("guest.nxpk"), FetchOptions::default())
            .await
            .unwrap();
        let pkg = Package::open(img.clone()).await.unwrap();
        let m = pkg.memory.clone().unwrap();
        let fifo = dir.0.join("restore.fifo");
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
    let nxpk = build_nxpk(&dir.0, "raw", &broken, Compression::Raw);
    let mut bytes = std::fs::read(&nxpk).unwrap();
    let pos = bytes.windows(16).position(|w| w == memory::MAGIC).unwrap();
    bytes[pos + 16 + 12] = 9; // unknown compression id
    std::fs::write(&nxpk, &bytes).unwrap();
    let imported = rt
        .block_on(nxpk::import_local(&nxpk, &dir.0.join("broken")))
        .unwrap();
    assert!(imported.memory.is_none());
    let why = imported.memory_rejected.unwrap();
    assert!(why.contains("unknown compression id 9"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_nxpk_is_read_on_demand_and_its_memory_streams() {
    let dir = Scratch::new("remote");
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
    let d = dir.0.clone();
    let nxpk =
        tokio::task::spawn_blocking(move || build_nxpk(&d, "remote", &saved, Compression::Lzop))
            .await
            .unwrap();
    let bytes = std::fs::read(&nxpk).unwrap();
    let srv = RangeServer::start(bytes.clone()).await;
    let cache = ChunkCache::open(&dir.0.join("chunks"), 64 << 10, 1 << 30).unwrap();
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
    let sock = dir.0.join("disk.nbd");
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
    let out = dir.0.join("memory.raw");
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

// ---------------------------------------------------------------- package import

/// A libvirt domain describing the machine `spec` as our launcher builds it (what a VMNetX
/// package of that machine would carry), with `memory_mb` as its RAM.
fn domain_for(
    spec: &olive_gateway::packages::olive::manifest::MachineSpec,
    memory_mb: u32,
) -> String {
    use olive_gateway::model::{Display, SoundDevice};
    let video = match spec.display {
        Display::Qxl => "qxl",
        Display::Std => "vga",
    };
    let tablet = if spec.tablet {
        r#"<input type="tablet" bus="usb"/>"#
    } else {
        ""
    };
    let sound = match spec.sound {
        Some(SoundDevice::Ac97) => r#"<sound model="ac97"/>"#,
        _ => "",
    };
    format!(
        r#"<domain type="kvm">
  <name>machine</name>
  <uuid>5b0e9f2c-55b4-4d3c-9b43-9d0f8c2a6e11</uuid>
  <memory unit="KiB">{kib}</memory>
  <currentMemory unit="KiB">{kib}</currentMemory>
  <vcpu placement="static">{vcpus}</vcpu>
  <os><type arch="x86_64" machine="pc">hvm</type><boot dev="hd"/></os>
  <features><acpi/><apic/><pae/></features>
  <clock offset="utc"/>
  <devices>
    <emulator>/usr/bin/qemu-kvm</emulator>
    <disk type="file" device="disk">
      <driver name="qemu" type="qcow2"/>
      <source file="/disk.img"/>
      <target dev="hda" bus="ide"/>
    </disk>
    <input type="mouse" bus="ps2"/>
    {tablet}
    <graphics type="spice" autoport="yes"/>
    {sound}
    <video><model type="{video}"/></video>
  </devices>
</domain>"#,
        kib = u64::from(memory_mb) * 1024,
        vcpus = spec.vcpus,
    )
}

/// `olive-gateway package import`: a VMNetX package of the test guest (made, as its
/// curator would have, from the running machine: a gateway package's memory stream wrapped
/// in libvirt's save format with xz) becomes an Olive package whose memory image passed a
/// trial restore, and that resumes to the very screen it was saved at. The same package
/// claiming a different RAM size cannot be restored: the import drops the image, and the
/// package cold-boots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn package_import_keeps_a_loadable_memory_image_and_drops_a_rejected_one() {
    use olive_gateway::model::{Codec, Policy};
    use olive_gateway::packages::olive::source::Source;
    use olive_gateway::packages::olive::{create, import, Package};
    use olive_gateway::qemu::process::kill_child;
    use olive_gateway::qemu::{InstancePaths, Launcher};

    let _lock = olive_tests::qemu_lock();
    let s = Scratch::new("import");
    let guest = olive_tests::ensure_guest().unwrap();
    common::blank_disk(&s.0);
    std::fs::write(
        s.0.join("gw.toml"),
        r#"
listen = "127.0.0.1:0"
token_port = 0
secret_key = "import-test-secret-key-0123456789"
data_dir = "data"
[qemu]
accelerator = "tcg"
"#
        .to_string()
            + &common::guest_item(),
    )
    .unwrap();
    let cfg = olive_gateway::Config::load(&s.0.join("gw.toml")).unwrap();
    let launcher = Launcher {
        qemu: cfg.qemu_binary.clone(),
        qemu_img: cfg.qemu_img.clone(),
        accel: olive_gateway::qemu::accel::Resolved::Tcg,
    };
    let policy = Policy {
        max_memory_mb: 1024,
        max_vcpus: 2,
    };
    let result = tokio::time::timeout(Duration::from_secs(600), async {
        // The guest at its ready marker, as a gateway package (its stream is what a
        // VMNetX curator's libvirt save would hold).
        let item = cfg.catalog.get("guest").unwrap();
        let made = s.0.join("made");
        let opts = create::CreateOptions {
            codec: Codec::Lz4,
            wait: create::WaitFor::Serial("OLIVE-GUEST-READY".into()),
            timeout: Duration::from_secs(180),
        };
        let m = create::create(&launcher, &item, &made, &s.0.join("work"), opts)
            .await
            .expect("package create");
        let mem = m.memory.clone().unwrap();
        let mut stream = Vec::new();
        mem.codec
            .decoder(Box::new(
                std::fs::File::open(made.join(&mem.file.path)).unwrap(),
            ))
            .unwrap()
            .read_to_end(&mut stream)
            .unwrap();
        let saved_screen = olive_tests::ppm::Rgba::load_ppm(made.join("screen.ppm")).unwrap();

        // Two .nxpk files: the true machine, and one claiming 384 MB of RAM.
        let nxpk_for = |name: &str, memory_mb: u32| {
            let dir = s.0.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            let domain = domain_for(&m.machine, memory_mb);
            let domain_path = dir.join("domain.xml");
            std::fs::write(&domain_path, &domain).unwrap();
            let manifest = dir.join("vmnetx-package.xml");
            std::fs::write(
                &manifest,
                r#"<?xml version='1.0' encoding='UTF-8'?>
<image xmlns="http://olivearchive.org/xmlns/vmnetx/package" name="Imported test guest">
  <domain path="domain.xml"/>
  <disk path="disk.img"/>
  <memory path="memory.img"/>
</image>"#,
            )
            .unwrap();
            let mut image = memory::wrap_header(&domain, Compression::Xz, true);
            image.extend_from_slice(&common::xz(&stream));
            let memory_img = dir.join("memory.img");
            std::fs::write(&memory_img, image).unwrap();
            let out = s.0.join(format!("{name}.nxpk"));
            common::python_zip(
                &out,
                &[
                    ("vmnetx-package.xml", &manifest),
                    ("domain.xml", &domain_path),
                    ("memory.img", &memory_img),
                    ("disk.img", &made.join("disk.qcow2")),
                ],
            );
            out
        };
        let opts = import::ImportOptions {
            codec: Codec::Lz4,
            check_restore: true,
            kernel: Some(guest.kernel.clone()),
            initrd: Some(guest.initrd.clone()),
            append: Some(olive_tests::qemu::KERNEL_CMDLINE.into()),
            policy,
        };

        // The true machine: the image is kept, and the package validates and resumes.
        let good = s.0.join("imported");
        let imported = import::import(&launcher, &nxpk_for("good", 256), &good, &opts)
            .await
            .expect("import");
        assert_eq!(imported.memory_dropped, None);
        let kept = imported.manifest.memory.clone().expect("memory image kept");
        assert_eq!(kept.uncompressed_size, stream.len() as u64);
        assert_eq!(imported.manifest.machine.display, m.machine.display);
        assert_eq!(
            imported.manifest.machine.machine_type,
            m.machine.machine_type
        );
        olive_gateway::packages::olive::validate::validate(
            Source::Local(good.clone()),
            policy,
            Path::new("qemu-img"),
        )
        .expect("the imported package validates");
        let pkg = Package::open(Source::Local(good.clone()), policy).unwrap();
        let machine = pkg.machine().unwrap();
        let paths = InstancePaths::new(s.0.join("resume"));
        paths.create_dir().unwrap();
        launcher
            .ensure_overlay(&machine.disk, &paths.overlay)
            .await
            .unwrap();
        let mut launched = launcher
            .resume(
                &machine,
                machine.memory_image.as_ref().unwrap(),
                &paths,
                "import-test-pw",
                "olive-import-test",
                &|_| {},
            )
            .await
            .expect("the imported package resumes");
        let dump = paths.dir.join("dump.ppm");
        let mut qmp = olive_tests::Qmp::connect(&paths.qmp_socket, Duration::from_secs(5)).unwrap();
        let screen = qmp.screendump(&dump).unwrap();
        kill_child(&mut launched.child).await;
        let diff = olive_tests::ppm::compare(&screen, &saved_screen);
        assert!(
            diff.is_identical(),
            "resumed screen differs from the saved one: {diff}"
        );

        // The wrong RAM size: QEMU rejects the stream in the trial restore.
        let wrong = s.0.join("imported-wrong");
        let imported = import::import(&launcher, &nxpk_for("wrong", 384), &wrong, &opts)
            .await
            .expect("import");
        let why = imported.memory_dropped.expect("the image is dropped");
        eprintln!("dropped as expected: {why}");
        assert!(imported.manifest.memory.is_none());
        assert_eq!(imported.manifest.machine.memory_mb, 384);
        assert!(
            !std::fs::read_dir(&wrong)
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("memory.")),
            "the rejected image stays behind"
        );
        olive_gateway::packages::olive::validate::validate(
            Source::Local(wrong),
            policy,
            Path::new("qemu-img"),
        )
        .expect("the cold-boot package validates");
    })
    .await;
    // Nothing QEMU started under the scratch dir outlives the test.
    let needle = s.0.display().to_string();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            if String::from_utf8_lossy(&cmd).contains(&needle) {
                if let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() {
                    olive_gateway::qemu::process::kill_pid(pid);
                }
            }
        }
    }
    result.expect("timed out");
}
