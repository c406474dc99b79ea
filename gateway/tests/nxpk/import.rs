//! `olive-gateway package import` of a VMNetX package of the test guest.

use super::*;

// ---------------------------------------------------------------- package import

/// A libvirt domain describing the machine `spec` as our launcher builds it (what a VMNetX
/// package of that machine would carry), with `memory_mb` as its RAM.
fn domain_for(
    spec: &olive_gateway::packages::olive::manifest::MachineSpec,
    memory_mb: u32,
) -> String {
    use olive_gateway::model::{Display, Mouse, SoundDevice};
    let video = match spec.display {
        Display::Qxl => "qxl",
        Display::Cirrus => "cirrus",
        Display::Std => "vga",
    };
    let tablet = if spec.mouse == Mouse::Tablet {
        r#"<input type="tablet" bus="usb"/>"#
    } else {
        ""
    };
    let sound: String = spec
        .sound
        .iter()
        .filter_map(|card| match card {
            SoundDevice::Ac97 => Some(r#"<sound model="ac97"/>"#),
            SoundDevice::Pcspk => Some(r#"<sound model="pcspk"/>"#),
            SoundDevice::Es1370 => Some(r#"<sound model="es1370"/>"#),
            SoundDevice::IntelHda => Some(r#"<sound model="ich6"/>"#),
            _ => None,
        })
        .collect();
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
    use olive_gateway::qemu::InstancePaths;

    let _lock = olive_tests::qemu_lock();
    let s = common::scratch("import");
    let guest = olive_tests::ensure_guest().unwrap();
    let cfg = common::load(
        s.path(),
        "gw.toml",
        &(common::gateway_toml("", "") + &common::guest_item()),
    );
    let launcher = common::tcg_launcher(&cfg);
    let policy = Policy {
        max_memory_mb: 1024,
        max_vcpus: 2,
    };
    let result = tokio::time::timeout(Duration::from_secs(600), async {
        // The guest at its ready marker, as a gateway package (its stream is what a
        // VMNetX curator's libvirt save would hold).
        let item = cfg.catalog.get("guest").unwrap();
        let made = s.join("made");
        let opts = create::CreateOptions {
            codec: Codec::Lz4,
            wait: create::WaitFor::Serial("OLIVE-GUEST-READY".into()),
            timeout: Duration::from_secs(180),
        };
        let m = create::create(&launcher, &item, &made, &s.join("work"), opts)
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
            let dir = s.join(name);
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
            let out = s.join(format!("{name}.nxpk"));
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
        let good = s.join("imported");
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
        let paths = InstancePaths::new(s.join("resume"));
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
        let wrong = s.join("imported-wrong");
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
    // Nothing QEMU started under the scratch dir outlives the test: dropping `s` kills it.
    result.expect("timed out");
}
