//! The gateway's module layering: every `crate::` path in `src/` is read, and the modules
//! must import each other without a cycle, both between the top-level modules (`model`,
//! `config`, `qemu`, ...) and between the sibling modules inside each folder (`net::http`,
//! `net::token_port`, ...). A cycle is reported with the files that close it.
//!
//! Run: `cargo test -p olive-gateway --test layers -- --nocapture` (prints the layers).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir` with its module path (`["net", "http", "error"]`).
fn modules(root: &Path, dir: &Path, out: &mut Vec<(Vec<String>, PathBuf)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            modules(root, &path, out);
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let rel = path.strip_prefix(root).unwrap();
        let mut parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
            .collect();
        // main.rs and bin/ are binaries, not modules of the library.
        if parts[0] == "main" || parts[0] == "bin" {
            continue;
        }
        if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
            parts.pop();
        }
        out.push((parts, path));
    }
}

/// The segments of a path starting at `rest` (`a::b::C` → `[a, b, C]`).
fn segments(rest: &str) -> Vec<String> {
    rest.split("::")
        .map(|seg| {
            seg.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .take_while(|seg| !seg.is_empty())
        .collect()
}

/// The absolute module paths the file of module `module` names through `crate::a::b` or
/// `super::a` (comments skipped).
fn crate_paths(module: &[String], text: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let path = segments(rest);
            if !path.is_empty() {
                found.push(path);
            }
        }
        let mut rest = code;
        while let Some(i) = rest.find("super::") {
            let before = &rest[..i];
            rest = &rest[i..];
            if before.ends_with("::") {
                // Counted with the `super::` this one continues.
                rest = &rest["super::".len()..];
                continue;
            }
            let mut up = 0;
            while let Some(r) = rest.strip_prefix("super::") {
                up += 1;
                rest = r;
            }
            let Some(base) = module.len().checked_sub(up) else {
                continue;
            };
            let mut path = module[..base].to_vec();
            path.extend(segments(rest));
            found.push(path);
        }
    }
    found
}

/// The longest known module that `path` starts with.
fn resolve(path: &[String], known: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| known.contains(p))
}

/// A cycle in `edges`, if there is one, as a list of nodes.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_owned(), 1);
        stack.push(n.to_owned());
        for m in edges.get(n).into_iter().flatten() {
            match state.get(m.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|s| s == m).unwrap();
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, edges, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in edges.keys() {
        if !state.contains_key(n.as_str()) {
            if let Some(c) = visit(n, edges, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

/// Layers of an acyclic graph: each node's layer is one above its highest dependency.
fn layers(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn depth(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        memo: &mut BTreeMap<String, usize>,
    ) -> usize {
        if let Some(d) = memo.get(n) {
            return *d;
        }
        let d = edges
            .get(n)
            .into_iter()
            .flatten()
            .map(|m| depth(m, edges, memo) + 1)
            .max()
            .unwrap_or(0);
        memo.insert(n.to_owned(), d);
        d
    }
    let mut memo = BTreeMap::new();
    let mut out: Vec<Vec<String>> = Vec::new();
    let nodes: BTreeSet<&String> = edges.keys().chain(edges.values().flatten()).collect();
    for n in nodes {
        let d = depth(n, edges, &mut memo);
        if out.len() <= d {
            out.resize(d + 1, Vec::new());
        }
        out[d].push(n.clone());
    }
    out
}

struct Graph {
    /// Per parent module (`""` for the crate root): edges between its children.
    siblings: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>>,
    /// Which file made each edge, for the failure message.
    why: BTreeMap<(Vec<String>, String, String), PathBuf>,
}

fn graph() -> Graph {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    modules(&root, &root, &mut files);
    let known: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut g = Graph {
        siblings: BTreeMap::new(),
        why: BTreeMap::new(),
    };
    for (from, path) in &files {
        let text = std::fs::read_to_string(path).unwrap();
        for target in crate_paths(from, &text) {
            let Some(to) = resolve(&target, &known) else {
                continue;
            };
            // The edge between the two modules' children of their closest common parent.
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            let (Some(a), Some(b)) = (from.get(common), to.get(common)) else {
                continue; // one is inside the other: a module and its own children
            };
            let parent = from[..common].to_vec();
            g.siblings
                .entry(parent.clone())
                .or_default()
                .entry(a.clone())
                .or_default()
                .insert(b.clone());
            g.why
                .entry((parent, a.clone(), b.clone()))
                .or_insert_with(|| path.clone());
        }
    }
    g
}

#[test]
fn modules_import_each_other_without_a_cycle() {
    let g = graph();
    assert!(
        g.siblings.contains_key(&Vec::new()),
        "no top-level edges found"
    );
    for (parent, edges) in &g.siblings {
        let name = if parent.is_empty() {
            "crate".to_owned()
        } else {
            parent.join("::")
        };
        if let Some(cycle) = find_cycle(edges) {
            let files: Vec<String> = cycle
                .windows(2)
                .map(|w| {
                    let f = &g.why[&(parent.clone(), w[0].clone(), w[1].clone())];
                    format!("{} -> {} (in {})", w[0], w[1], f.display())
                })
                .collect();
            panic!(
                "import cycle among the modules of {name}:\n{}",
                files.join("\n")
            );
        }
        println!("{name}:");
        for (i, layer) in layers(edges).iter().enumerate() {
            println!("  layer {i}: {}", layer.join(", "));
        }
    }
}

#[test]
fn the_model_imports_nothing_else_of_the_crate() {
    let g = graph();
    let top = &g.siblings[&Vec::new()];
    assert!(
        top.get("model").is_none_or(BTreeSet::is_empty),
        "model imports {:?}",
        top.get("model")
    );
    // And the lowest layers stay low: no engine, instance or network code below them.
    for low in ["fetch", "codec", "config", "qemu", "metrics"] {
        let deps = top.get(low).cloned().unwrap_or_default();
        for high in ["instances", "engine", "net", "catalog", "packages"] {
            assert!(!deps.contains(high), "{low} imports {high}");
        }
    }
    let inst = top.get("instances").cloned().unwrap_or_default();
    for engine_side in ["qemu", "engine", "packages", "net", "fetch"] {
        assert!(
            !inst.contains(engine_side),
            "instances imports {engine_side}"
        );
    }
}

#[test]
fn the_checker_sees_a_cycle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&edges), None);
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&edges),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    let module = ["net".to_string(), "http".into(), "api".into()];
    let text = "use crate::net::control::Registry; // crate::fake\nx(crate::model::Item)\nuse super::error::ApiError;\nuse super::super::token_port;";
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        crate_paths(&module, text),
        [
            s(&["net", "control", "Registry"]),
            s(&["model", "Item"]),
            s(&["net", "http", "error", "ApiError"]),
            s(&["net", "token_port"]),
        ]
    );
}
