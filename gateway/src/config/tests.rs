use std::path::Path;
use std::time::Duration;

use super::*;
use crate::model::{Disk, Display, Kind};

pub(crate) const GOOD: &str = r#"
listen = "127.0.0.1:0"
secret_key = "0123456789abcdef0123"
data_dir = "data"

[limits]
idle_timeout_secs = 3

[qemu]
accelerator = "tcg"

[[item]]
id = "a"
title = "A"
[item.machine]
disk = "a.qcow2"
memory_mb = 256

[[item]]
id = "b"
title = "B"
[item.machine]
disk = "/abs/b.qcow2"
memory_mb = 128
vcpus = 2
display = "qxl"
"#;

pub(crate) fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(Path::new("/etc/olive/gateway.toml"), text)
}

fn machine(c: &Config, id: &str) -> Machine {
    match &c.items.iter().find(|i| i.id == id).unwrap().source {
        ItemSource::Machine { machine, .. } => machine.clone(),
        other => panic!("{id} is {other:?}"),
    }
}

use crate::model::Machine;

#[test]
fn good_config() {
    let c = parse(GOOD).unwrap();
    assert_eq!(c.token_port, DEFAULT_TOKEN_PORT);
    assert_eq!(c.idle_timeout, Duration::from_secs(3));
    assert_eq!(c.gc_interval, Duration::from_secs(5));
    assert_eq!(c.accelerator, Accelerator::Tcg);
    assert_eq!(c.data_dir, Path::new("/etc/olive/data"));
    let a = machine(&c, "a");
    assert_eq!(a.disk, Disk::File("/etc/olive/a.qcow2".into()));
    assert!(a.hardware.mouse == crate::model::Mouse::Tablet && !a.hardware.network);
    assert_eq!(machine(&c, "b").hardware.display, Display::Qxl);
    assert!(c.obsolete_keys.is_empty());
}

#[test]
fn type_error_names_line_and_field() {
    let bad = GOOD.replace("memory_mb = 128", "memory_mb = \"lots\"");
    let e = parse(&bad).unwrap_err();
    let s = e.to_string();
    assert!(s.starts_with("/etc/olive/gateway.toml:"), "{s}");
    assert_eq!(e.line(), Some(24), "{s}");
    assert_eq!(e.field(), Some("item[1].machine.memory_mb"), "{s}");
}

#[test]
fn unknown_field_is_named() {
    let bad = GOOD.replace("vcpus = 2", "vcpu = 2");
    let e = parse(&bad).unwrap_err();
    assert_eq!(e.field(), Some("item[1].machine.vcpu"), "{e}");
    assert_eq!(e.line(), Some(25), "{e}");
    assert!(e.to_string().contains("unknown field `vcpu`"), "{e}");
}

#[test]
fn limit_violation_names_line_and_field() {
    let bad = GOOD.replace("vcpus = 2", "vcpus = 64");
    let e = parse(&bad).unwrap_err();
    assert_eq!(e.line(), Some(25), "{e}");
    assert_eq!(e.field(), Some("item[1].machine.vcpus"), "{e}");
    assert!(e.to_string().contains("max_vcpus"), "{e}");
}

#[test]
fn bad_listen_and_syntax() {
    let e = parse(&GOOD.replace("127.0.0.1:0", "nowhere")).unwrap_err();
    assert_eq!((e.line(), e.field()), (Some(2), Some("listen")), "{e}");
    let e = parse(&GOOD.replace("[limits]", "[limits")).unwrap_err();
    assert_eq!(e.line(), Some(6), "{e}");
    let e = parse(&GOOD.replace("accelerator = \"tcg\"", "accelerator = \"hvf\"")).unwrap_err();
    assert_eq!(
        (e.line(), e.field()),
        (Some(10), Some("qemu.accelerator")),
        "{e}"
    );
    let e = parse(&GOOD.replace("idle_timeout_secs = 3", "idle_timeout_secs = 0")).unwrap_err();
    assert_eq!(
        (e.line(), e.field()),
        (Some(7), Some("limits.idle_timeout_secs")),
        "{e}"
    );
    let e = parse(&GOOD.replace("0123456789abcdef0123", "short")).unwrap_err();
    assert_eq!((e.line(), e.field()), (Some(3), Some("secret_key")), "{e}");
}

#[test]
fn package_items_are_checked_but_not_opened() {
    let both = GOOD.replace("id = \"b\"\n", "id = \"b\"\npackage = \"pkgs/b\"\n");
    let e = parse(&both).unwrap_err();
    assert_eq!(e.field(), Some("item[1].package"), "{e}");
    assert!(e.to_string().contains("not both"), "{e}");
    let text = GOOD.replace("id = \"b\"\n", "id = \"b\"\npackage = \"pkgs/b\"\n");
    let cut = text.find("[item.machine]\ndisk = \"/abs").unwrap();
    let c = parse(&text[..cut]).unwrap();
    match &c.items[1].source {
        ItemSource::Package { dir, overrides, at } => {
            assert_eq!(dir, Path::new("/etc/olive/pkgs/b"));
            assert_eq!(overrides.title.as_deref(), Some("B"));
            assert_eq!((at.line, at.field.as_str()), (21, "item[1].package"));
        }
        other => panic!("{other:?}"),
    }
    let e = parse(&GOOD.replace(
        "disk = \"a.qcow2\"",
        "disk = \"a.qcow2\"\nmemory_image = \"m\"",
    ))
    .unwrap_err();
    assert!(e.to_string().contains("package create"), "{e}");
}

#[test]
fn remote_package_items_are_not_fetched_at_load() {
    let text = GOOD.replace(
        "id = \"b\"\n",
        "id = \"b\"\npackage = \"vmnetx+https://h.example/p\"\n",
    );
    let cut = text.find("[item.machine]\ndisk = \"/abs").unwrap();
    let c = parse(&text[..cut]).unwrap();
    match &c.items[1].source {
        ItemSource::Remote { meta, remote } => {
            assert_eq!(remote.url, "https://h.example/p");
            assert_eq!(remote.kind, Kind::Nxpk);
            assert_eq!(meta.title, "B");
        }
        other => panic!("{other:?}"),
    }
    assert!(c.trusted_package_hosts.is_empty());
    let bad = text[..cut].replace("vmnetx+https://h.example/p", "https://");
    let e = parse(&bad).unwrap_err();
    assert_eq!(e.field(), Some("item[1].package"), "{e}");
}

#[test]
fn example_config_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gateway.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let c = Config::parse(&path, &text).unwrap();
    assert_eq!(c.trusted_package_hosts.len(), 2);
    assert_eq!(c.chunk_cache_bytes, 4096 << 20);
    let remote = c.items.iter().find(|i| i.id == "remote-guest").unwrap();
    assert!(matches!(remote.source, ItemSource::Remote { .. }));
}

#[test]
fn missing_and_duplicate() {
    let e = parse(&GOOD.replace("disk = \"a.qcow2\"\n", "")).unwrap_err();
    assert_eq!(e.field(), Some("item[0].machine.disk"), "{e}");
    assert_eq!(e.line(), Some(15), "{e}");
    let e = parse(&GOOD.replace("id = \"b\"", "id = \"a\"")).unwrap_err();
    assert_eq!((e.line(), e.field()), (Some(20), Some("item[1].id")), "{e}");
    let e = parse(&GOOD.replace("title = \"B\"\n", "")).unwrap_err();
    assert_eq!(
        (e.line(), e.field()),
        (Some(19), Some("item[1].title")),
        "{e}"
    );
}

#[test]
fn keymaps() {
    use crate::model::Keymap;
    let keymap = |c: &Config, id: &str| c.items.iter().find(|i| i.id == id).unwrap().keymap;
    let c = parse(GOOD).unwrap();
    assert_eq!(keymap(&c, "a"), Keymap::Us);
    for k in Keymap::ALL {
        let text = GOOD.replace(
            "title = \"B\"\n",
            &format!("title = \"B\"\nkeymap = \"{}\"\n", k.as_str()),
        );
        assert_eq!(keymap(&parse(&text).unwrap(), "b"), k);
    }
    let e = parse(&GOOD.replace("title = \"B\"\n", "title = \"B\"\nkeymap = \"dvorak\"\n"))
        .unwrap_err();
    assert_eq!(
        (e.line(), e.field()),
        (Some(22), Some("item[1].keymap")),
        "{e}"
    );
    assert!(e.to_string().contains("\"dvorak\""), "{e}");
    assert!(e.to_string().contains("gateway.toml"), "{e}");
    let e = parse(&GOOD.replace("title = \"B\"\n", "title = \"B\"\nkeymap = 7\n")).unwrap_err();
    assert_eq!(e.line(), Some(22), "{e}");
}

#[test]
fn the_obsolete_origin_key_is_accepted() {
    let c = parse(&format!("ws_allow_missing_origin = false\n{GOOD}")).unwrap();
    assert_eq!(c.obsolete_keys, ["ws_allow_missing_origin"]);
}

/// Item "b" as a DOS PC: lines 26.. of the file are `extra`.
fn dos_pc(extra: &str) -> String {
    GOOD.replace("display = \"qxl\"\n", extra)
}

const DOS: &str = r#"display = "cirrus"
vga_memory_mb = 8
sound = ["pcspk", "sb16", "adlib"]
mouse = "ps2"
floppy = "media/dos622.img"
cdrom = "/srv/cd/games.iso"
boot = "ac"
agent = true
"#;

#[test]
fn period_hardware_is_read() {
    use crate::model::{BootOrder, Media, Mouse, SoundCards, SoundDevice};
    let b = machine(&parse(&dos_pc(DOS)).unwrap(), "b");
    let hw = &b.hardware;
    assert_eq!(hw.display, Display::Cirrus);
    assert_eq!(hw.vga_memory_mb, Some(8));
    use SoundDevice::*;
    assert_eq!(hw.sound, SoundCards::new([Sb16, Adlib, Pcspk]).unwrap());
    assert_eq!(hw.mouse, Mouse::Ps2);
    assert_eq!(hw.boot_order, Some(BootOrder::parse("ac").unwrap()));
    assert!(hw.agent);
    assert_eq!(hw.disk_bus, crate::model::DiskBus::Ide);
    let linux = machine(&parse(&dos_pc("disk_bus = \"virtio\"\n")).unwrap(), "b");
    assert_eq!(linux.hardware.disk_bus, crate::model::DiskBus::Virtio);
    assert_eq!(
        b.media,
        Media {
            floppy: Some("/etc/olive/media/dos622.img".into()),
            cdrom: Some("/srv/cd/games.iso".into()),
        }
    );
    // Defaults, unchanged for items that say nothing: std VGA, a tablet, no sound.
    let a = machine(&parse(GOOD).unwrap(), "a");
    assert_eq!(a.hardware, crate::model::Hardware::new(256, 1));
    assert_eq!(a.media, Media::default());
    // One card may be given without a list, and the older `tablet` flag still works.
    let one = dos_pc("sound = \"AC97\"\ntablet = false\n");
    let hw = machine(&parse(&one).unwrap(), "b").hardware;
    assert_eq!(hw.sound, SoundCards::new([Ac97]).unwrap());
    assert_eq!(hw.mouse, Mouse::Ps2);
}

#[test]
fn bad_period_hardware_names_line_and_field() {
    let cases = [
        (
            "display = \"ega\"\n",
            26,
            "display",
            "unknown variant `ega`",
        ),
        (
            "sound = [\"sb16\", \"gus\"]\n",
            26,
            "sound[1]",
            "unknown variant `gus`",
        ),
        (
            "sound = [\"sb16\", \"sb16\"]\n",
            26,
            "sound",
            "listed twice",
        ),
        (
            "display = \"cirrus\"\nvga_memory_mb = 32\n",
            27,
            "vga_memory_mb",
            "cirrus takes 4, 8 or 16",
        ),
        ("vga_memory_mb = 48\n", 26, "vga_memory_mb", "power of two"),
        (
            "mouse = \"serial\"\n",
            26,
            "mouse",
            "unknown variant `serial`",
        ),
        ("boot = \"z\"\n", 26, "boot", "boot order"),
        ("boot = \"d\"\n", 26, "boot", "`cdrom` is not set"),
        (
            "floppy = \"a.img\"\nboot = \"ad\"\n",
            27,
            "boot",
            "`cdrom` is not set",
        ),
        ("agent = \"yes\"\n", 26, "agent", "bool"),
    ];
    for (extra, line, field, says) in cases {
        let e = parse(&dos_pc(extra)).unwrap_err();
        let field = format!("item[1].machine.{field}");
        assert_eq!(
            (e.line(), e.field()),
            (Some(line), Some(field.as_str())),
            "{extra:?}: {e}"
        );
        assert!(e.to_string().contains(says), "{extra:?}: {e}");
    }
    // Both spellings of the mouse at once: serde places it on the table.
    let e = parse(&dos_pc("mouse = \"ps2\"\ntablet = true\n")).unwrap_err();
    assert_eq!(
        (e.line(), e.field()),
        (Some(22), Some("item[1].machine")),
        "{e}"
    );
    assert!(e.to_string().contains("duplicate field `mouse`"), "{e}");
}

#[test]
fn seats_and_queue_limits() {
    let c = parse(GOOD).unwrap();
    assert_eq!(c.seating, Seating::default());
    assert_eq!(c.items[0].seats, None);
    let text = GOOD
        .replace(
            "idle_timeout_secs = 3",
            "idle_timeout_secs = 3\ndisconnect_grace_secs = 4\nhandover_secs = 6\ncreates_per_minute = 2\ntrusted_proxies = [\"127.0.0.1\", \"::1\"]",
        )
        .replace("title = \"A\"", "title = \"A\"\nseats = 1");
    let c = parse(&text).unwrap();
    assert_eq!(c.seating.disconnect_grace, Duration::from_secs(4));
    assert_eq!(c.seating.handover, Duration::from_secs(6));
    assert_eq!(c.seating.creates_per_minute, 2);
    assert_eq!(c.seating.trusted_proxies.len(), 2);
    assert_eq!(c.items[0].seats, Some(1));
    let e = parse(&text.replace("seats = 1", "seats = 0")).unwrap_err();
    assert_eq!(e.field(), Some("item[0].seats"), "{e}");
    let e = parse(&text.replace("\"::1\"", "\"localhost\"")).unwrap_err();
    assert_eq!(e.field(), Some("limits.trusted_proxies[1]"), "{e}");
    assert_eq!(e.line(), Some(11), "{e}");
}

pub(crate) const KIOSK: &str = r#"
[[kiosk]]
name = "lobby"
items = ["a", "b"]
idle_secs = 60
blocked_keys = ["Ctrl+Alt+Delete", "alt+f4"]
pin = "4711"
"#;

/// The 1-based line of the first `needle` in `text`.
pub(crate) fn line_of(text: &str, needle: &str) -> usize {
    text[..text.find(needle).unwrap()].lines().count() + 1
}

#[test]
fn kiosks_are_read_with_their_defaults() {
    let c = parse(&format!("{GOOD}{KIOSK}")).unwrap();
    let k = &c.kiosks[0].kiosk;
    assert_eq!(k.name, "lobby");
    assert_eq!(k.items, ["a", "b"]);
    assert_eq!(k.attract, Duration::from_secs(8));
    assert_eq!(k.idle, Duration::from_secs(60));
    assert_eq!(k.warning, Duration::from_secs(10));
    let blocked: Vec<String> = k.blocked_keys.iter().map(|c| c.to_string()).collect();
    assert_eq!(blocked, ["Ctrl+Alt+Delete", "Alt+F4"]);
    assert_eq!(k.staff_chord.to_string(), "Ctrl+Alt+Shift+K");
    assert_eq!(k.pin, "4711");
    let defaults = parse(&format!("{GOOD}{}", KIOSK.replace("blocked_keys", "#")))
        .unwrap()
        .kiosks
        .remove(0)
        .kiosk;
    assert!(defaults.blocked_keys.len() > 10);
    assert!(defaults
        .blocked_keys
        .iter()
        .any(|c| c.to_string() == "Ctrl+W"));
    assert!(parse(GOOD).unwrap().kiosks.is_empty());
}

#[test]
fn bad_kiosks_name_line_and_field() {
    let cases: [(&str, &str, &str, &str); 8] = [
        (
            "\"a\", \"b\"",
            "\"a\", \"zz\"",
            "kiosk[0].items[1]",
            "no [[item]]",
        ),
        ("\"a\", \"b\"", "", "kiosk[0].items", "1 to 32"),
        ("\"lobby\"", "\"the lobby\"", "kiosk[0].name", "A-Z"),
        ("\"4711\"", "\"12a4\"", "kiosk[0].pin", "digits"),
        ("\"4711\"", "\"12\"", "kiosk[0].pin", "4 to 12"),
        (
            "\"alt+f4\"",
            "\"Hyper+X\"",
            "kiosk[0].blocked_keys[1]",
            "modifier",
        ),
        (
            "idle_secs = 60",
            "idle_secs = 0",
            "kiosk[0].idle_secs",
            "1 to",
        ),
        (
            "pin = ",
            "staff_chord = \"Ctrl+Alt+Delete\"\npin = ",
            "kiosk[0].staff_chord",
            "blocked_keys",
        ),
    ];
    for (from, to, field, words) in cases {
        let text = format!("{GOOD}{}", KIOSK.replace(from, to));
        let e = parse(&text).unwrap_err();
        assert_eq!(e.field(), Some(field), "{to}: {e}");
        assert!(e.to_string().contains(words), "{to}: {e}");
        let want = match field {
            "kiosk[0].name" => line_of(&text, "name = \"the"),
            "kiosk[0].pin" => line_of(&text, "pin ="),
            "kiosk[0].idle_secs" => line_of(&text, "idle_secs"),
            "kiosk[0].staff_chord" => line_of(&text, "staff_chord"),
            "kiosk[0].blocked_keys[1]" => line_of(&text, "blocked_keys"),
            _ => line_of(&text, "items = ["),
        };
        assert_eq!(e.line(), Some(want), "{to}: {e}");
    }
    let twice = format!("{GOOD}{KIOSK}{KIOSK}");
    let e = parse(&twice).unwrap_err();
    assert_eq!(e.field(), Some("kiosk[1].name"), "{e}");
    let no_pin = format!("{GOOD}{}", KIOSK.replace("pin = \"4711\"", ""));
    let e = parse(&no_pin).unwrap_err();
    assert!(e.to_string().contains("pin"), "{e}");
}
