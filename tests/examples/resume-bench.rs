//! Resume bench (a program that prints figures, not a test):
//!
//! ```text
//! cargo run --release -p olive-tests --example resume-bench -- [RUNS]    # default 3
//! ```
//!
//! 1. Packages the test guest's `flat` qxl scene at `OLIVE-GUEST-READY` with an uncompressed
//!    memory image (the raw QEMU migration stream).
//! 2. Per codec (none, lz4, zstd, xz): size and ratio, compression time, and the
//!    decompression rate of the stream in the gateway alone (MB/s of migration stream out).
//! 3. Per codec: a full resume through `Launcher::resume` (QEMU spawned, image fed over the
//!    `unix:` socket, VM running, black-screen check), RUNS times; the median time and the
//!    memory-image load rate (MB/s of migration stream per second of resume).
//! 4. Click to the saved moment in the in-process gateway, cold boot vs resume (default
//!    codec): from `create` (what the Run button calls) to the guest's `OLIVE-GUEST-READY`
//!    line for a cold boot, to `vm-started` for a resume (whose screen is then checked to
//!    equal the saved one).

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use olive_gateway::model::Codec;
use olive_gateway::model::MemoryImage;
use olive_gateway::net::control::ControlEvent;
use olive_gateway::packages::olive::manifest::{Manifest, MANIFEST_FILE};
use olive_gateway::packages::olive::{sha256_of, source::Source};
use olive_gateway::qemu::{InstancePaths, Launcher};
use olive_tests::gateway::{package_item, GwItem, TestGateway};
use olive_tests::ppm::{compare, Rgba};

const MB: f64 = 1e6;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Writes a copy of package `from` into `to` whose memory image uses `codec`.
fn recompress(from: &Path, to: &Path, raw: &[u8], codec: Codec) -> Result<(f64, u64)> {
    std::fs::create_dir_all(to)?;
    let text = std::fs::read(from.join(MANIFEST_FILE))?;
    let mut m = Manifest::parse(&text)?;
    for e in std::fs::read_dir(from)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("memory.") && name != MANIFEST_FILE {
            std::fs::copy(e.path(), to.join(&name))?;
        }
    }
    let name = format!("memory.{}", codec.extension());
    let t0 = Instant::now();
    let mut enc = codec.encoder(Vec::new())?;
    enc.write_all(raw)?;
    let packed = enc.finish()?;
    let secs = t0.elapsed().as_secs_f64();
    std::fs::write(to.join(&name), &packed)?;
    let (sha256, size) = sha256_of(&packed[..])?;
    let mem = m.memory.as_mut().context("memory")?;
    mem.codec = codec;
    mem.file.path = name;
    mem.file.size = size;
    mem.file.sha256 = sha256;
    std::fs::write(to.join(MANIFEST_FILE), m.to_json())?;
    Ok((secs, size))
}

fn decode_rate(pkg: &Path, codec: Codec, uncompressed: u64) -> Result<f64> {
    let m = Manifest::parse(&std::fs::read(pkg.join(MANIFEST_FILE))?)?;
    let mem = m.memory.context("memory")?;
    let data = std::fs::read(pkg.join(&mem.file.path))?;
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t0 = Instant::now();
        let mut d = codec.decoder(Box::new(&data[..]))?;
        let n = std::io::copy(&mut d, &mut std::io::sink())?;
        anyhow::ensure!(n == uncompressed, "decoded {n} bytes");
        best = best.min(t0.elapsed().as_secs_f64());
    }
    Ok(uncompressed as f64 / MB / best)
}

async fn resume_once(launcher: &Launcher, pkg: &Path, work: &Path) -> Result<f64> {
    let package = olive_gateway::packages::olive::Package::open(
        Source::Local(pkg.to_path_buf()),
        olive_gateway::model::Policy {
            max_memory_mb: 4096,
            max_vcpus: 4,
        },
    )?;
    let machine = package.machine()?;
    let image: MemoryImage = machine.memory_image.clone().context("memory image")?;
    let _ = std::fs::remove_dir_all(work);
    let paths = InstancePaths::new(work.to_path_buf());
    paths.create_dir()?;
    let t0 = Instant::now();
    let mut launched = launcher
        .resume(&machine, &image, &paths, "bench-password", "bench", &|_| {})
        .await?;
    let secs = t0.elapsed().as_secs_f64();
    olive_gateway::qemu::process::kill_child(&mut launched.child).await;
    let _ = std::fs::remove_dir_all(work);
    Ok(secs)
}

fn screendump(gw: &TestGateway, id: &str) -> Option<Rgba> {
    let dir = gw.server().registry().get(id)?.dir().to_path_buf();
    let mut qmp =
        olive_tests::qmp::Qmp::connect(dir.join("qmp.sock"), Duration::from_secs(5)).ok()?;
    qmp.screendump(dir.join("bench-screen.ppm")).ok()
}

/// `create` (the Run button) → `vm-started`, and → the saved moment: for a cold boot the
/// guest's `OLIVE-GUEST-READY` line (when the package was saved), for a resume
/// `vm-started` itself, after checking the screen is the saved one.
async fn click_to_moment(gw: &TestGateway, item: &str, want: Option<&Rgba>) -> Result<(f64, f64)> {
    let t0 = Instant::now();
    let created = gw.server().registry().create(item)?;
    let handle = gw
        .server()
        .registry()
        .handle(&created.id)
        .context("handle")?;
    let mut rx = handle.subscribe();
    let started = loop {
        let e = tokio::time::timeout(Duration::from_secs(120), rx.recv()).await??;
        if matches!(e, ControlEvent::VmStarted { .. }) {
            break t0.elapsed().as_secs_f64();
        }
        anyhow::ensure!(!matches!(e, ControlEvent::StartupFailed { .. }), "{e:?}");
        anyhow::ensure!(!matches!(e, ControlEvent::StartupRejectedMemory), "{e:?}");
    };
    let moment = match want {
        Some(want) => {
            let now = screendump(gw, &created.id).context("screendump")?;
            anyhow::ensure!(compare(want, &now).is_identical(), "resumed screen differs");
            started
        }
        None => {
            gw.wait_serial(&created.id, "OLIVE-GUEST-READY", Duration::from_secs(120))
                .await?;
            t0.elapsed().as_secs_f64()
        }
    };
    gw.server().registry().destroy(&created.id).await;
    Ok((started, moment))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(3);
    let _lock = olive_tests::qemu_lock();
    // Under target/ rather than /tmp: the packages are hundreds of MB. Removed on return.
    let dir = olive_tests::Scratch::new_in(&olive_tests::guest::target_dir(), "resume-bench");
    let scratch = dir.path();
    let item = GwItem::qxl("flat", "flat");
    let raw_pkg = scratch.join("pkg-none");
    let m = package_item(scratch, &item, &raw_pkg, Codec::None).await?;
    let mem = m.memory.clone().context("memory image")?;
    let mut raw = Vec::new();
    std::fs::File::open(raw_pkg.join(&mem.file.path))?.read_to_end(&mut raw)?;
    println!(
        "migration stream of the test guest ({} MiB RAM, qxl, at OLIVE-GUEST-READY): {} bytes ({:.1} MB)",
        m.machine.memory_mb,
        raw.len(),
        raw.len() as f64 / MB
    );

    let launcher = Launcher {
        qemu: "qemu-system-x86_64".into(),
        qemu_img: "qemu-img".into(),
        accel: olive_gateway::qemu::accel::Resolved::Tcg,
    };
    // Package variants first, then the resumes interleaved (run 1 of every codec, run 2
    // of every codec, ...) so load from other processes on the machine hits them alike.
    let mut rows = Vec::new();
    for codec in Codec::ALL {
        let dir = scratch.join(format!("pkg-{}", codec.name()));
        let (csecs, size) = if codec == Codec::None {
            (0.0, raw.len() as u64)
        } else {
            recompress(&raw_pkg, &dir, &raw, codec)?
        };
        let pkg = if codec == Codec::None {
            raw_pkg.clone()
        } else {
            dir
        };
        let rate = decode_rate(&pkg, codec, raw.len() as u64)?;
        rows.push((codec, pkg, size, csecs, rate, Vec::new()));
    }
    for r in 0..runs {
        for row in rows.iter_mut() {
            let t = resume_once(&launcher, &row.1, &scratch.join(format!("work-{r}"))).await?;
            row.5.push(t);
        }
    }
    println!(
        "\n{:<6} {:>12} {:>7} {:>11} {:>15} {:>12} {:>14}",
        "codec", "bytes", "ratio", "compress s", "decode MB/s", "resume s", "load MB/s"
    );
    for (codec, _, size, csecs, rate, mut times) in rows {
        let t = median(&mut times);
        println!(
            "{:<6} {:>12} {:>7.2} {:>11.2} {:>15.0} {:>12.3} {:>14.0}",
            codec.name(),
            size,
            raw.len() as f64 / size as f64,
            csecs,
            rate,
            t,
            raw.len() as f64 / MB / t
        );
    }
    println!(
        "(resume s: median of {runs}, QEMU spawn to running; load MB/s = stream bytes / resume s)"
    );

    let want = Rgba::load_ppm(raw_pkg.join("screen.ppm"))?;
    let default_pkg = scratch.join(format!("pkg-{}", Codec::DEFAULT.name()));
    let items = [
        item.clone(),
        item.clone().packaged("flat-pkg", &default_pkg),
    ];
    let dist = scratch.join("no-dist");
    let gw = TestGateway::start(scratch, &dist, &items).await?;
    let result = async {
        let (mut cold, mut cold_started, mut warm) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let (s, c) = click_to_moment(&gw, "flat", None).await?;
            cold_started.push(s);
            cold.push(c);
            warm.push(click_to_moment(&gw, "flat-pkg", Some(&want)).await?.1);
        }
        println!(
            "\nclick → guest at the saved moment (median of {runs}): cold boot {:.2} s (vm-started at {:.2} s, then booting to OLIVE-GUEST-READY), resume ({}) {:.2} s (vm-started, screen identical to the saved one)",
            median(&mut cold),
            median(&mut cold_started),
            Codec::DEFAULT.name(),
            median(&mut warm),
        );
        Ok::<_, anyhow::Error>(())
    }
    .await;
    gw.shutdown().await;
    result
}
