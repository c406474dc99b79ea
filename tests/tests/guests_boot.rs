//! Boots the period-software guests of `guests/` (real Debian 12 i386 packages) under QEMU
//! TCG with the harness's plain command line plus each guest's hardware, once per guest and
//! setting, and checks what a user would: Doom reaches its title screen and reacts to Enter;
//! the X desktop runs twm, xterm, xclock and xcalc on the qxl driver with the SPICE agent;
//! both answer on the serial command channel and report the input they receive.
//!
//! A cold first run builds the guests (minutes: `guests/build.sh` downloads and installs a
//! few hundred MB of packages into `~/.cache/olive/guests`); later runs reuse them.

use olive_tests::checks::assert_matches_screendump;
use olive_tests::guests::{ensure_period_guest, qemu_config, sh, LaunchOptions, PeriodGuest};
use olive_tests::{qemu_lock, Qemu, Rgba};
use serde_json::json;
use spice_client::agent::AgentEvent;
use spice_client::SessionConfig;
use spice_snapshot::{Driver, Target};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Boot to the ready line under TCG: about 1.5-2 min on two busy cores (udev, X, the game's
/// start-up); generous because the other tests' builds share the cores.
const READY_TIMEOUT: Duration = Duration::from_secs(420);
const CMD_TIMEOUT: Duration = Duration::from_secs(60);

fn distinct_colours(img: &Rgba) -> usize {
    let mut seen = HashSet::new();
    for y in (0..img.height).step_by(4) {
        for x in (0..img.width).step_by(4) {
            seen.insert(img.rgb(x, y));
            if seen.len() > 1000 {
                return seen.len();
            }
        }
    }
    seen.len()
}

fn send_key(q: &mut Qemu, qcode: &str) {
    q.qmp()
        .execute(
            "send-key",
            Some(json!({ "keys": [{ "type": "qcode", "data": qcode }] })),
        )
        .unwrap_or_else(|e| panic!("send-key {qcode}: {e:#}"));
}

#[test]
fn doom_reaches_its_title_screen_and_answers_enter() {
    let images = ensure_period_guest(PeriodGuest::Doom).expect("build the doom guest");
    let _lock = qemu_lock();
    let mut q =
        Qemu::launch(&qemu_config(&images, &LaunchOptions::default())).expect("launch QEMU");
    let ready = q.wait_ready(READY_TIMEOUT).expect("doom ready line");
    eprintln!(
        "doom ready after {:.1} s: {}",
        ready.elapsed.as_secs_f64(),
        ready.line
    );
    assert_eq!(ready.fb, Some((640, 400, 24)), "{}", ready.line);
    assert!(ready.dsp, "no ALSA playback device (SB16): {}", ready.line);

    // The title screen: Freedoom's picture, many colours, full screen at 640x400.
    let title = q
        .screendump_until(|img| distinct_colours(img) > 32, Duration::from_secs(120))
        .expect("a non-black title screen");
    assert_eq!((title.width, title.height), (640, 400));

    // The hardware the guest sees: SB16 and AdLib (ISA, by their module parameters), a PS/2
    // keyboard and mouse and no tablet.
    let cards = sh(&mut q, "cat /proc/asound/cards", CMD_TIMEOUT).unwrap();
    assert!(
        cards.text().contains("Sound Blaster 16"),
        "{}",
        cards.text()
    );
    let opl = sh(
        &mut q,
        "grep -c 'OPL_Init' /var/log/doom.log; grep OPL /var/log/doom.log | head -n1",
        CMD_TIMEOUT,
    )
    .unwrap();
    eprintln!("doom music: {}", opl.text().replace('\n', " | "));
    let mark = olive_tests::SerialMark(0);
    q.wait_serial_where(
        mark,
        |l| l.starts_with("INPUT add") && l.contains("type=rel"),
        Duration::from_secs(30),
        "the PS/2 mouse in the input report",
    )
    .expect("PS/2 mouse");
    let devices = sh(&mut q, "grep '^N:' /proc/bus/input/devices", CMD_TIMEOUT).unwrap();
    assert!(
        !devices.text().contains("Tablet"),
        "doom must run without a tablet: {}",
        devices.text()
    );

    // Enter on a still page of the title/demo loop (the title, the credits) opens the menu:
    // the screen changes, and the guest's input report saw the key.
    let deadline = Instant::now() + Duration::from_secs(120);
    let still = loop {
        let a = q.screendump().unwrap();
        std::thread::sleep(Duration::from_millis(700));
        let b = q.screendump().unwrap();
        if a == b && distinct_colours(&b) > 32 {
            break b;
        }
        assert!(Instant::now() < deadline, "doom never showed a still page");
    };
    let mark = q.serial_mark();
    send_key(&mut q, "ret");
    let after = q
        .screendump_until(|img| *img != still, Duration::from_secs(20))
        .expect("Enter changes doom's screen");
    assert_eq!((after.width, after.height), (640, 400));
    q.wait_for_serial_since(mark, "EV KEY code=28 value=1", Duration::from_secs(10))
        .expect("the guest's input report saw Enter (KEY_ENTER = 28)");
    let _ = q.shutdown(Duration::from_secs(10));
}

fn xdesk_checks(qxl_cache: bool) {
    let images = ensure_period_guest(PeriodGuest::Xdesk).expect("build the xdesk guest");
    let _lock = qemu_lock();
    let mut q =
        Qemu::launch(&qemu_config(&images, &LaunchOptions { qxl_cache })).expect("launch QEMU");
    let ready = q.wait_ready(READY_TIMEOUT).expect("xdesk ready line");
    eprintln!(
        "xdesk (qxl_cache={qxl_cache}) ready after {:.1} s: {}",
        ready.elapsed.as_secs_f64(),
        ready.line
    );
    assert_eq!(ready.fb, Some((1024, 768, 24)), "{}", ready.line);
    let cache_word = format!("qxl_cache={}", u8::from(qxl_cache));
    assert!(ready.line.contains(&cache_word), "{}", ready.line);
    assert!(
        ready.line.contains("agent=1"),
        "no virtio port for the agent: {}",
        ready.line
    );

    let screen = q
        .screendump_until(|img| distinct_colours(img) > 8, Duration::from_secs(60))
        .expect("a desktop with windows on the screendump");
    assert_eq!((screen.width, screen.height), (1024, 768));

    let info = sh(&mut q, "xdpyinfo", CMD_TIMEOUT).unwrap();
    assert_eq!(info.rc, 0, "{}", info.text());
    assert!(info.text().contains("1024x768 pixels"), "{}", info.text());
    let tree = sh(&mut q, "DISPLAY=:0 xwininfo -root -tree", CMD_TIMEOUT).unwrap();
    for client in ["\"xterm\"", "\"xclock\"", "\"xcalc\""] {
        assert!(
            tree.text().contains(client),
            "no {client} window: {}",
            tree.text()
        );
    }
    let driver = sh(&mut q, "grep -c 'qxl(0)' /var/log/Xorg.0.log", CMD_TIMEOUT).unwrap();
    assert!(
        driver.rc == 0,
        "X is not on the qxl driver: {}",
        driver.text()
    );
    for daemon in ["twm", "spice-vdagentd", "spice-vdagent"] {
        let p = sh(&mut q, &format!("pidof {daemon}"), CMD_TIMEOUT).unwrap();
        assert_eq!(p.rc, 0, "{daemon} is not running");
    }
    // X's environment carries the driver's cache switches exactly when asked for.
    let env = sh(
        &mut q,
        "tr '\\0' '\\n' </proc/$(pidof Xorg)/environ | grep QXL_ENABLE || true",
        CMD_TIMEOUT,
    )
    .unwrap();
    for var in [
        "QXL_ENABLE_SURFACES=1",
        "QXL_ENABLE_IMAGE_CACHE=1",
        "QXL_ENABLE_FALLBACK_CACHE=1",
    ] {
        assert_eq!(
            env.lines.iter().any(|l| l == var),
            qxl_cache,
            "{var}: {:?}",
            env.lines
        );
    }

    // The clipboard tool the agent tests use works in the session.
    let clip = sh(
        &mut q,
        "printf olive-clip-42 | xclip -selection clipboard -i >/dev/null 2>&1; xclip -selection clipboard -o",
        CMD_TIMEOUT,
    )
    .unwrap();
    assert_eq!(clip.lines, vec!["olive-clip-42".to_string()], "{clip:?}");

    // The input report: the USB tablet arrives as an absolute device, and a key typed into
    // the focused xterm is reported.
    q.wait_serial_where(
        olive_tests::SerialMark(0),
        |l| l.starts_with("INPUT add") && l.contains("type=abs"),
        Duration::from_secs(60),
        "the USB tablet in the input report",
    )
    .expect("tablet");
    let mark = q.serial_mark();
    send_key(&mut q, "a");
    q.wait_for_serial_since(mark, "EV KEY code=30 value=1", Duration::from_secs(10))
        .expect("the guest's input report saw KEY_A (30)");

    runtime()
        .block_on(agent_checks(&mut q, qxl_cache))
        .unwrap_or_else(|e| panic!("xdesk (qxl_cache={qxl_cache}) through SPICE: {e:#}"));
    let _ = q.shutdown(Duration::from_secs(10));
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn soon(d: Duration) -> tokio::time::Instant {
    tokio::time::Instant::now() + d
}

/// Reads the guest's CLIPBOARD selection. `xclip -o` waits for the owner — after a paste
/// that is spice-vdagent, which asks this very client — so it runs in the background in
/// the guest while the driver keeps the session going, and the result is read from a file.
async fn guest_clipboard(d: &mut Driver, q: &mut Qemu) -> anyhow::Result<String> {
    sh(
        q,
        "rm -f /tmp/clip.out; (timeout 20 xclip -selection clipboard -o >/tmp/clip.tmp 2>&1; mv /tmp/clip.tmp /tmp/clip.out) &",
        CMD_TIMEOUT,
    )?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        d.run_for(Duration::from_millis(500)).await?;
        // xclip prints no final newline: frame the text so it cannot run into a marker.
        let out = sh(
            q,
            "[ -f /tmp/clip.out ] && echo \"CLIP[$(cat /tmp/clip.out)]\"",
            CMD_TIMEOUT,
        )?;
        let framed = out
            .lines
            .iter()
            .find_map(|l| l.strip_prefix("CLIP[").and_then(|l| l.strip_suffix(']')));
        if let Some(text) = framed {
            return Ok(text.to_string());
        }
        anyhow::ensure!(Instant::now() < deadline, "xclip -o did not finish");
    }
}

/// The desktop through Olive's own SPICE client: the surface equals the screendump; the
/// agent pastes into the guest's clipboard and brings the guest's back. Prints the draw
/// ops and codecs the real qxl X driver produced and fails on any draw the client refused.
///
/// Not here yet: resize. spice-server hands the client's monitors config to the qxl
/// device (not to the agent); the guest kernel makes it a preferred mode beside 1024x768
/// and nothing in a twm session switches to it (`xrandr --auto` keeps 1024x768).
async fn agent_checks(q: &mut Qemu, qxl_cache: bool) -> anyhow::Result<()> {
    let step = Duration::from_secs(60);
    let mut d = Driver::new(
        Target::Unix(q.spice_socket().to_path_buf()),
        SessionConfig::default(),
    );
    d.wait_for_display(soon(step)).await?;
    d.pump_until(soon(step), "the agent's capabilities", |_, o| {
        o.agent.iter().any(|e| {
            matches!(
                e,
                AgentEvent::Capabilities {
                    clipboard: true,
                    resize: true
                }
            )
        })
    })
    .await?;
    assert_matches_screendump(&mut d, q, "xdesk desktop", step).await?;

    // The visitor pastes: the guest's clipboard holds the text.
    let pasted = "pasted on the page: grüße 42";
    d.session_mut().set_clipboard(pasted)?;
    d.run_for(Duration::from_millis(500)).await?;
    let got = match guest_clipboard(&mut d, q).await {
        Ok(g) => g,
        Err(e) => {
            let logs = sh(
                q,
                "tail -n 20 /var/log/spice-vdagent.log /var/log/spice-vdagentd.log; ls -la /tmp/clip*",
                CMD_TIMEOUT,
            )?;
            eprintln!(
                "agent events {:?}\nwarnings {:?}\nguest logs:\n{}",
                d.observed.agent,
                d.observed.warnings,
                logs.text()
            );
            return Err(e);
        }
    };
    anyhow::ensure!(
        got == pasted,
        "the guest's clipboard holds {got:?}, not {pasted:?}"
    );

    // The guest copies: the text reaches the client.
    let copied = "copied in the guest 1994";
    sh(
        q,
        &format!("printf '{copied}' | xclip -selection clipboard -i >/dev/null 2>&1"),
        CMD_TIMEOUT,
    )?;
    d.pump_until(soon(step), "the guest's clipboard on the client", |_, o| {
        o.agent
            .iter()
            .any(|e| *e == AgentEvent::GuestClipboard(copied.into()))
    })
    .await?;

    let stats = d.session().stats();
    let draws: Vec<String> = stats
        .messages
        .iter()
        .filter(|(k, _)| k.starts_with("display/"))
        .map(|(k, n)| format!("{}={n}", k.trim_start_matches("display/")))
        .collect();
    eprintln!(
        "xdesk (qxl_cache={qxl_cache}) display messages: {}; {}",
        draws.join(" "),
        stats.codecs_line()
    );
    let display_warnings: Vec<_> = d
        .observed
        .warnings
        .iter()
        .filter(|(k, _)| k.channel_type == spice_client::ChannelType::Display)
        .collect();
    anyhow::ensure!(
        display_warnings.is_empty(),
        "draws the client refused or failed: {display_warnings:?}"
    );
    Ok(())
}

#[test]
fn xdesk_runs_twm_xterm_and_the_agent_on_qxl() {
    xdesk_checks(false);
}

#[test]
fn xdesk_with_the_qxl_caches_on() {
    xdesk_checks(true);
}
