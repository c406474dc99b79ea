//! The formats on their own: the domain whitelist, package URLs, lzop, the libvirt save header.

use super::*;

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
    assert_eq!(s.sound, ["ac97"]);
    assert!(s.usb_tablet);
    assert_eq!(s.clock_offset.as_deref(), Some("localtime"));
    let gib = common::VMNETX_DOMAIN.replace(
        r#"<memory unit="KiB">524288</memory>"#,
        r#"<memory unit="GiB">2</memory>"#,
    );
    assert_eq!(domain::parse(&gib).unwrap().memory_mb, 2048);
}

/// The domain's devices become our hardware: a 1990s VMNetX machine (Cirrus with 8 MiB, a
/// PC speaker and an ES1370, no tablet) keeps all of them.
#[test]
fn domain_devices_map_to_period_hardware() {
    use olive_gateway::model::{Display, Mouse, SoundCards, SoundDevice};
    let s = domain::parse(common::VMNETX_DOMAIN).unwrap();
    let hw = s.hardware(512);
    assert_eq!(hw.display, Display::Qxl);
    assert_eq!(hw.vga_memory_mb, None, "a QXL's vram is not its VGA memory");
    assert_eq!(hw.sound, SoundCards::new([SoundDevice::Ac97]).unwrap());
    assert_eq!(hw.mouse, Mouse::Tablet);
    assert!(hw.network);
    let old = common::VMNETX_DOMAIN
        .replace(r#"<input type="tablet" bus="usb"/>"#, "")
        .replace(
            r#"<sound model="ac97"/>"#,
            r#"<sound model="pcspk"/><sound model="es1370"/><sound model="pcspk"/>"#,
        )
        .replace(
            r#"<model type="qxl" vram="65536" heads="1"/>"#,
            r#"<model type="cirrus" vram="8192" heads="1"/>"#,
        );
    let hw = domain::parse(&old).unwrap().hardware(512);
    assert_eq!(hw.display, Display::Cirrus);
    assert_eq!(hw.vga_memory_mb, Some(8));
    use SoundDevice::*;
    assert_eq!(hw.sound, SoundCards::new([Pcspk, Es1370]).unwrap());
    assert_eq!(hw.mouse, Mouse::Ps2);
    // A size QEMU would refuse for the adapter falls back to its default.
    let odd = old.replace(r#"vram="8192""#, r#"vram="9216""#);
    assert_eq!(
        domain::parse(&odd).unwrap().hardware(512).vga_memory_mb,
        None
    );
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
pub(crate) fn lzop_encode(data: &[u8], block: usize) -> Vec<u8> {
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

pub(crate) fn mixed_data(len: usize) -> Vec<u8> {
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
