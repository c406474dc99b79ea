//! The gateway's TOML configuration: server settings, limits, QEMU and the catalog.
//!
//! Every error names the file, the line and the field, because an operator who mistypes
//! one key in a catalog of a hundred items should not have to bisect the file. Relative
//! paths are resolved against the configuration file's directory so that a deployment can
//! be moved as one folder.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::catalog::{Catalog, Display, Item, ItemMeta, Machine};

/// VMNetX's default control port; kept so that old clients' URLs without a port still work.
pub const DEFAULT_TOKEN_PORT: u16 = 18923;
/// VMNetX's `instance_timeout`.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 300;
/// VMNetX's `gc_interval`.
pub const DEFAULT_GC_INTERVAL_SECS: u64 = 5;

/// A configuration file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Syntax or type error, or a semantic check that failed.
    #[error("{file}:{line}: field `{field}`: {message}")]
    Invalid {
        file: PathBuf,
        line: usize,
        field: String,
        message: String,
    },
}

impl ConfigError {
    /// The field path (e.g. `item[2].machine.memory_mb`), for tests and tools.
    pub fn field(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { field, .. } => Some(field),
            ConfigError::Read { .. } => None,
        }
    }
    /// The 1-based line number.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Invalid { line, .. } => Some(*line),
            ConfigError::Read { .. } => None,
        }
    }
}

/// Which QEMU accelerator to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Accelerator {
    Kvm,
    Tcg,
    /// KVM if `/dev/kvm` works, else TCG with a warning. Best-effort only: on some hosts KVM
    /// initialises fine and then never runs the guest, which no cheap probe detects.
    Auto,
}

/// The whole configuration, validated.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the file was read from (for messages).
    pub file: PathBuf,
    pub listen: SocketAddr,
    /// The VMNetX-protocol TCP port (the token port), bound on `token_host`.
    pub token_port: u16,
    pub token_host: String,
    pub secret_key: String,
    pub data_dir: PathBuf,
    /// The web app's `dist` folder; `None` or missing → a plain "not built" page.
    pub static_dir: Option<PathBuf>,
    /// Origins allowed to open `/ws`; empty means same-origin only (decided by the bridge).
    pub allowed_origins: Vec<String>,
    /// Accept `/ws` handshakes without `Origin` (native clients such as `spice-snapshot`).
    pub ws_allow_missing_origin: bool,
    pub idle_timeout: Duration,
    /// Hard session limit: an instance is destroyed this long after creation whatever it does.
    pub session_limit: Duration,
    pub gc_interval: Duration,
    pub max_instances: usize,
    pub max_memory_mb: u32,
    pub max_vcpus: u32,
    pub qemu_binary: PathBuf,
    pub qemu_img: PathBuf,
    pub accelerator: Accelerator,
    pub catalog: Catalog,
    /// Hosts `GET /launch?package=URL` may launch from (`host` or `*.domain`); empty turns
    /// the route off.
    pub trusted_package_hosts: Vec<String>,
    /// Size limit of the chunk cache shared by remote packages (`<data_dir>/chunks`).
    pub chunk_cache_bytes: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    token_port: Option<u16>,
    token_host: Option<String>,
    secret_key: String,
    data_dir: PathBuf,
    static_dir: Option<PathBuf>,
    #[serde(default)]
    allowed_origins: Vec<String>,
    #[serde(default)]
    ws_allow_missing_origin: bool,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    qemu: RawQemu,
    #[serde(default)]
    trusted_package_hosts: Vec<String>,
    #[serde(default)]
    item: Vec<RawItem>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    idle_timeout_secs: Option<u64>,
    session_limit_secs: Option<u64>,
    gc_interval_secs: Option<u64>,
    max_instances: Option<usize>,
    max_memory_mb: Option<u32>,
    max_vcpus: Option<u32>,
    chunk_cache_mb: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawQemu {
    binary: Option<PathBuf>,
    img_binary: Option<PathBuf>,
    accelerator: Option<Accelerator>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    id: String,
    /// A package directory (or, later, URL); replaces `[item.machine]`, and its metadata
    /// fills any of the fields below left out.
    package: Option<String>,
    title: Option<String>,
    creator: Option<String>,
    year: Option<u32>,
    description: Option<String>,
    rights: Option<String>,
    thumbnail: Option<String>,
    machine: Option<RawMachine>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMachine {
    disk: PathBuf,
    memory_image: Option<PathBuf>,
    memory_mb: u32,
    #[serde(default = "one")]
    vcpus: u32,
    machine_type: Option<String>,
    #[serde(default)]
    display: Display,
    sound: Option<String>,
    limit_mouse_rate: Option<u32>,
    kernel: Option<PathBuf>,
    initrd: Option<PathBuf>,
    append: Option<String>,
    #[serde(default)]
    network: bool,
    #[serde(default = "yes")]
    tablet: bool,
}

fn one() -> u32 {
    1
}
fn yes() -> bool {
    true
}

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Config::parse(path, &text)
    }

    /// Parses `text` as if read from `path` (relative paths are resolved against its folder).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            let (line, field) = locate_offset(text, offset);
            ConfigError::Invalid {
                file: path.to_path_buf(),
                line,
                field: field_from_message(e.message()).unwrap_or(field),
                message: e.message().trim().to_string(),
            }
        })?;
        let err = |segments: &[Seg<'_>], message: String| {
            let (line, field) = locate_path(text, segments);
            ConfigError::Invalid {
                file: path.to_path_buf(),
                line,
                field,
                message,
            }
        };
        let abs = |p: &Path| -> PathBuf {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };

        let listen_text = raw.listen.as_deref().unwrap_or("127.0.0.1:8080");
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            err(
                &[Seg::Key("listen")],
                format!("{listen_text:?} is not an address:port"),
            )
        })?;
        if raw.secret_key.len() < 16 {
            return Err(err(
                &[Seg::Key("secret_key")],
                "must be at least 16 characters".into(),
            ));
        }
        let l = &raw.limits;
        let idle = l.idle_timeout_secs.unwrap_or(DEFAULT_IDLE_TIMEOUT_SECS);
        let gc = l.gc_interval_secs.unwrap_or(DEFAULT_GC_INTERVAL_SECS);
        let session = l.session_limit_secs.unwrap_or(4 * 3600);
        for (name, v) in [
            ("idle_timeout_secs", idle),
            ("gc_interval_secs", gc),
            ("session_limit_secs", session),
        ] {
            if v == 0 {
                return Err(err(
                    &[Seg::Key("limits"), Seg::Key(name)],
                    "must be at least 1".into(),
                ));
            }
        }
        let max_instances = l.max_instances.unwrap_or(4);
        if max_instances == 0 {
            return Err(err(
                &[Seg::Key("limits"), Seg::Key("max_instances")],
                "must be at least 1".into(),
            ));
        }
        let max_memory_mb = l.max_memory_mb.unwrap_or(4096);
        let max_vcpus = l.max_vcpus.unwrap_or(4);

        let mut items: Vec<Item> = Vec::new();
        for (i, it) in raw.item.into_iter().enumerate() {
            let at = |key: &'static str| [Seg::Key("item"), Seg::Index(i), Seg::Key(key)];
            let atm = |key: &'static str| {
                [
                    Seg::Key("item"),
                    Seg::Index(i),
                    Seg::Key("machine"),
                    Seg::Key(key),
                ]
            };
            if it.id.is_empty()
                || it.id.len() > 64
                || !it
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
            {
                return Err(err(
                    &at("id"),
                    "must be 1–64 characters of A-Z a-z 0-9 - _ .".into(),
                ));
            }
            if items.iter().any(|x| x.id == it.id) {
                return Err(err(&at("id"), format!("duplicate item id {:?}", it.id)));
            }
            let policy = crate::packages::olive::manifest::Policy {
                max_memory_mb,
                max_vcpus,
            };
            let (meta, machine) = match (it.package.as_deref(), it.machine) {
                (Some(_), Some(_)) => {
                    return Err(err(
                        &at("package"),
                        "an item has either `package` or `[item.machine]`, not both".into(),
                    ))
                }
                (None, None) => {
                    return Err(err(
                        &at("machine"),
                        "missing `[item.machine]` (or `package`)".into(),
                    ))
                }
                (Some(pkg), None) if crate::packages::remote::RemoteRef::parse(pkg).is_some() => {
                    // Fetched at launch, not now: a slow or absent server must not stop
                    // the gateway from starting. The title defaults to the item id.
                    let r = crate::packages::remote::RemoteRef::parse(pkg)
                        .into_iter()
                        .flatten()
                        .next()
                        .ok_or_else(|| {
                            err(&at("package"), format!("malformed package URL {pkg:?}"))
                        })?;
                    let meta = ItemMeta {
                        title: it.title.unwrap_or_else(|| it.id.clone()),
                        creator: it.creator,
                        year: it.year,
                        description: it.description,
                        rights: it.rights,
                        thumbnail: it.thumbnail,
                    };
                    (meta, Machine::remote(r))
                }
                (Some(pkg), None) => {
                    let root = crate::packages::olive::source::Source::parse(pkg, &base);
                    let p = crate::packages::olive::Package::open(root, policy)
                        .map_err(|e| err(&at("package"), e.to_string()))?;
                    let machine = p
                        .machine()
                        .map_err(|e| err(&at("package"), e.to_string()))?;
                    let pm = p.meta();
                    let meta = ItemMeta {
                        title: it.title.unwrap_or(pm.title),
                        creator: it.creator.or(pm.creator),
                        year: it.year.or(pm.year),
                        description: it.description.or(pm.description),
                        rights: it.rights.or(pm.rights),
                        thumbnail: it.thumbnail,
                    };
                    (meta, machine)
                }
                (None, Some(m)) => {
                    let Some(title) = it.title else {
                        return Err(err(&at("title"), "missing field `title`".into()));
                    };
                    let meta = ItemMeta {
                        title,
                        creator: it.creator,
                        year: it.year,
                        description: it.description,
                        rights: it.rights,
                        thumbnail: it.thumbnail,
                    };
                    (meta, machine_from_raw(m, policy, &abs, &atm, &err)?)
                }
            };
            items.push(Item {
                id: it.id,
                meta,
                machine,
            });
        }

        Ok(Config {
            file: path.to_path_buf(),
            listen,
            token_port: raw.token_port.unwrap_or(DEFAULT_TOKEN_PORT),
            token_host: raw.token_host.unwrap_or_else(|| listen.ip().to_string()),
            secret_key: raw.secret_key,
            data_dir: abs(&raw.data_dir),
            static_dir: raw.static_dir.as_deref().map(abs),
            allowed_origins: raw.allowed_origins,
            ws_allow_missing_origin: raw.ws_allow_missing_origin,
            idle_timeout: Duration::from_secs(idle),
            session_limit: Duration::from_secs(session),
            gc_interval: Duration::from_secs(gc),
            max_instances,
            max_memory_mb,
            max_vcpus,
            qemu_binary: raw
                .qemu
                .binary
                .unwrap_or_else(|| PathBuf::from("qemu-system-x86_64")),
            qemu_img: raw
                .qemu
                .img_binary
                .unwrap_or_else(|| PathBuf::from("qemu-img")),
            accelerator: raw.qemu.accelerator.unwrap_or(Accelerator::Auto),
            catalog: Catalog::new(items),
            trusted_package_hosts: raw.trusted_package_hosts,
            chunk_cache_bytes: l.chunk_cache_mb.unwrap_or(4096).saturating_mul(1 << 20),
        })
    }
}

type ErrFn<'a> = dyn Fn(&[Seg<'_>], String) -> ConfigError + 'a;

/// A hand-written `[item.machine]`, checked against the limits.
fn machine_from_raw(
    m: RawMachine,
    policy: crate::packages::olive::manifest::Policy,
    abs: &dyn Fn(&Path) -> PathBuf,
    atm: &dyn Fn(&'static str) -> [Seg<'static>; 4],
    err: &ErrFn<'_>,
) -> Result<Machine, ConfigError> {
    let max_memory_mb = policy.max_memory_mb;
    let max_vcpus = policy.max_vcpus;
    if m.memory_image.is_some() {
        return Err(err(
            &atm("memory_image"),
            "memory images come from packages: make one with `olive-gateway package create` and use `package = DIR`".into(),
        ));
    }
    if m.memory_mb < 16 || m.memory_mb > max_memory_mb {
        return Err(err(
            &atm("memory_mb"),
            format!(
                "{} MiB is outside 16..={max_memory_mb} (limits.max_memory_mb)",
                m.memory_mb
            ),
        ));
    }
    if m.vcpus == 0 || m.vcpus > max_vcpus {
        return Err(err(
            &atm("vcpus"),
            format!("{} is outside 1..={max_vcpus} (limits.max_vcpus)", m.vcpus),
        ));
    }
    if let Some(mt) = &m.machine_type {
        if !mt
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(err(&atm("machine_type"), format!("invalid name {mt:?}")));
        }
    }
    if let Some(s) = &m.sound {
        if !crate::catalog::SOUND_DEVICES.contains(&s.as_str()) {
            return Err(err(
                &atm("sound"),
                format!(
                    "unsupported sound device {s:?} (one of {:?})",
                    crate::catalog::SOUND_DEVICES
                ),
            ));
        }
    }
    if m.initrd.is_some() && m.kernel.is_none() || m.append.is_some() && m.kernel.is_none() {
        return Err(err(&atm("kernel"), "initrd/append need a kernel".into()));
    }
    if m.append.as_deref().is_some_and(|a| a.contains('\n')) {
        return Err(err(&atm("append"), "must be one line".into()));
    }
    Ok(Machine {
        disk: abs(&m.disk),
        standalone_disk: false,
        memory_image: None,
        memory_mb: m.memory_mb,
        vcpus: m.vcpus,
        machine_type: m.machine_type,
        display: m.display,
        sound: m.sound,
        limit_mouse_rate: m.limit_mouse_rate,
        kernel: m.kernel.as_deref().map(abs),
        initrd: m.initrd.as_deref().map(abs),
        append: m.append,
        network: m.network,
        tablet: m.tablet,
        remote: None,
    })
}

/// A step in a field path: a key or an index into an array of tables.
#[derive(Clone, Copy, Debug)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn render(segments: &[Seg<'_>]) -> String {
    let mut out = String::new();
    for s in segments {
        match s {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A line's table header (`[a.b]` or `[[a]]`), if it is one.
fn header(line: &str) -> Option<(bool, String)> {
    let t = line.trim();
    if let Some(rest) = t.strip_prefix("[[") {
        let end = rest.find("]]")?;
        return Some((true, rest[..end].trim().to_string()));
    }
    let rest = t.strip_prefix('[')?;
    let end = rest.find(']')?;
    Some((false, rest[..end].trim().to_string()))
}

/// A line's key (`key = ...`), if it assigns one.
fn line_key(line: &str) -> Option<String> {
    let t = line.trim();
    if t.starts_with('#') || t.starts_with('[') {
        return None;
    }
    let eq = t.find('=')?;
    let k = t[..eq].trim().trim_matches('"');
    (!k.is_empty()).then(|| k.to_string())
}

/// Walks the document line by line, tracking the current table (with the index of each
/// `[[array]]` entry), and calls `f(line_no, table_path, key)` for every assignment and
/// `f(line_no, table_path, None)` for every header.
fn walk(text: &str, mut f: impl FnMut(usize, &str, Option<&str>) -> bool) {
    let mut counts: std::collections::HashMap<String, usize> = Default::default();
    let mut table = String::new();
    for (n, line) in text.lines().enumerate() {
        if let Some((array, name)) = header(line) {
            table = if array {
                let c = counts.entry(name.clone()).or_insert(0);
                let t = format!("{name}[{c}]");
                *c += 1;
                t
            } else {
                // `[item.machine]` belongs to the latest `[[item]]`.
                match name.split_once('.') {
                    Some((first, rest)) if counts.contains_key(first) => {
                        format!("{first}[{}].{rest}", counts[first] - 1)
                    }
                    _ => name,
                }
            };
            if f(n + 1, &table, None) {
                return;
            }
        } else if let Some(k) = line_key(line) {
            if f(n + 1, &table, Some(&k)) {
                return;
            }
        }
    }
}

/// The line of the field at `segments` (or of its table, or 1), and the field's name.
fn locate_path(text: &str, segments: &[Seg<'_>]) -> (usize, String) {
    let full = render(segments);
    let (table, key) = match segments.split_last() {
        Some((Seg::Key(k), rest)) => (render(rest), Some(*k)),
        _ => (full.clone(), None),
    };
    let mut found = None;
    let mut table_line = None;
    walk(text, |n, t, k| {
        if t == table {
            if k.is_none() && table_line.is_none() {
                table_line = Some(n);
            }
            if k.is_some() && k == key {
                found = Some(n);
                return true;
            }
        }
        false
    });
    (found.or(table_line).unwrap_or(1), full)
}

/// The line of byte `offset` and the field assigned there (or the table it is in).
fn locate_offset(text: &str, offset: usize) -> (usize, String) {
    let offset = offset.min(text.len());
    let line_no = text
        .get(..offset)
        .map(|s| s.matches('\n').count() + 1)
        .unwrap_or(1);
    let mut field = String::new();
    walk(text, |n, t, k| {
        if n > line_no {
            return true;
        }
        field = match k {
            Some(k) if t.is_empty() => k.to_string(),
            Some(k) => format!("{t}.{k}"),
            None => t.to_string(),
        };
        false
    });
    (line_no, field)
}

/// `missing field `x``/`unknown field `x`` name the culprit better than the span does
/// (a missing field is reported at the start of its table).
fn field_from_message(msg: &str) -> Option<String> {
    for prefix in ["missing field `", "unknown field `", "duplicate key `"] {
        if let Some(i) = msg.find(prefix) {
            let rest = &msg[i + prefix.len()..];
            let end = rest.find('`')?;
            return Some(rest[..end].to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
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

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/etc/olive/gateway.toml"), text)
    }

    #[test]
    fn good_config() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.token_port, DEFAULT_TOKEN_PORT);
        assert_eq!(c.idle_timeout, Duration::from_secs(3));
        assert_eq!(c.gc_interval, Duration::from_secs(5));
        assert_eq!(c.accelerator, Accelerator::Tcg);
        assert_eq!(c.data_dir, Path::new("/etc/olive/data"));
        let a = c.catalog.get("a").unwrap();
        assert_eq!(a.machine.disk, Path::new("/etc/olive/a.qcow2"));
        assert!(a.machine.tablet && !a.machine.network);
        assert_eq!(c.catalog.get("b").unwrap().machine.display, Display::Qxl);
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
        assert_eq!(e.field(), Some("vcpu"), "{e}");
        assert_eq!(e.line(), Some(25), "{e}");
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
    }

    #[test]
    fn package_items() {
        let both = GOOD.replace("id = \"b\"\n", "id = \"b\"\npackage = \"pkgs/b\"\n");
        let e = parse(&both).unwrap_err();
        assert_eq!(e.field(), Some("item[1].package"), "{e}");
        assert!(e.to_string().contains("not both"), "{e}");
        let text = GOOD.replace(
            "id = \"b\"\n",
            "id = \"b\"\npackage = \"/nonexistent/pkg\"\n",
        );
        let cut = text.find("[item.machine]\ndisk = \"/abs").unwrap();
        let e = parse(&text[..cut]).unwrap_err();
        assert_eq!(
            (e.line(), e.field()),
            (Some(21), Some("item[1].package")),
            "{e}"
        );
        assert!(e.to_string().contains("olive-package.json"), "{e}");
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
        let b = c.catalog.get("b").unwrap();
        let r = b.machine.remote.as_ref().expect("a remote item");
        assert_eq!(r.url, "https://h.example/p");
        assert_eq!(r.kind, crate::packages::remote::Kind::Nxpk);
        assert!(c.trusted_package_hosts.is_empty());
        let bad = text[..cut].replace("vmnetx+https://h.example/p", "https://");
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.field(), Some("item[1].package"), "{e}");
    }

    #[test]
    fn example_config_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/gateway.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        // The local package item needs a package on disk; the rest must parse as written.
        let start = text.find("[[item]]\nid = \"test-guest-ready\"").unwrap();
        let end = start + text[start..].find("\n# A package served").unwrap();
        let trimmed = format!("{}{}", &text[..start], &text[end..]);
        let c = Config::parse(&path, &trimmed).unwrap();
        assert_eq!(c.trusted_package_hosts.len(), 2);
        assert_eq!(c.chunk_cache_bytes, 4096 << 20);
        assert!(c
            .catalog
            .get("remote-guest")
            .unwrap()
            .machine
            .remote
            .is_some());
    }

    #[test]
    fn missing_and_duplicate() {
        let e = parse(&GOOD.replace("disk = \"a.qcow2\"\n", "")).unwrap_err();
        assert_eq!(e.field(), Some("disk"), "{e}");
        let e = parse(&GOOD.replace("id = \"b\"", "id = \"a\"")).unwrap_err();
        assert_eq!((e.line(), e.field()), (Some(20), Some("item[1].id")), "{e}");
    }
}
