//! Accessibility checks through WebDriver: axe-core's WCAG 2.1 A/AA rules on a page, and
//! what Tab reaches (in order, each with a visible focus outline).

use crate::browser::Browser;
use anyhow::{bail, Context, Result};
use fantoccini::key::Key;
use serde_json::Value;
use std::path::PathBuf;

/// The WCAG levels checked.
pub const AXE_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// The source of axe-core's `axe.min.js`: `$OLIVE_AXE_JS`, else `<target>/npm/node_modules/
/// axe-core/axe.min.js` (`cargo xtask test` installs it with npm).
pub fn axe_source() -> Result<String> {
    let path = match std::env::var_os("OLIVE_AXE_JS").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => crate::guest::target_dir().join("npm/node_modules/axe-core/axe.min.js"),
    };
    std::fs::read_to_string(&path).with_context(|| {
        format!(
            "read {} (run `cargo xtask test`, or npm install --prefix target/npm axe-core@4)",
            path.display()
        )
    })
}

/// Runs axe-core (`axe_js`, the source of `axe.min.js`) on the current page for the
/// WCAG 2.1 A and AA rules and returns the violations, one line each (rule, impact,
/// the first offending elements).
pub async fn axe_violations(b: &Browser, axe_js: &str) -> Result<Vec<String>> {
    b.js(
        &format!("{axe_js}\n;return typeof axe === 'object';"),
        vec![],
    )
    .await
    .context("inject axe-core")?;
    let v = b
        .js(
            "return axe.run(document, { runOnly: { type: 'tag', values: arguments[0] }, \
               resultTypes: ['violations'] }) \
             .then(r => r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' + \
               v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' + (n.failureSummary || '')).join(' | ')));",
            vec![serde_json::json!(AXE_TAGS)],
        )
        .await
        .context("axe.run")?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

/// Presses Tab up to `n` times from the top of the page (stopping after focus reaches an
/// element named `stop_at`) and describes each focused element (followed into
/// `<olive-player>`'s shadow root: see [`crate::browser::PARTS_JS`]): `(tag#id, accessible name
/// or text, outline style + width)`.
pub async fn tab_through(
    b: &Browser,
    n: usize,
    stop_at: Option<&str>,
) -> Result<Vec<(String, String, String)>> {
    b.js(
        // Tab starts from a focused marker at the top of the page (out of the Tab order),
        // not from a blur(): Firefox leaves the focus on an element in a shadow root (the
        // player's screen, which keeps Tab for the guest) after its blur().
        "let m = document.getElementById('olive-tab-start'); \
         if (!m) { m = document.createElement('span'); m.id = 'olive-tab-start'; \
           m.tabIndex = -1; document.body.prepend(m); } \
         m.focus(); window.scrollTo(0, 0); return oliveFocused() === m;",
        vec![],
    )
    .await?;
    let mut out = Vec::new();
    for _ in 0..n {
        b.press(Key::Tab).await?;
        let v = b
            .js(
                "const e = oliveFocused(); if (!e || e === document.body) return null; \
                 const s = getComputedStyle(e); \
                 const name = e.getAttribute('aria-label') || e.textContent.trim() || e.title || ''; \
                 return [e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''), name, \
                         s.outlineStyle + ' ' + s.outlineWidth];",
                vec![],
            )
            .await?;
        if let Some(a) = v.as_array() {
            let get = |i: usize| a.get(i).and_then(Value::as_str).unwrap_or("").to_string();
            out.push((get(0), get(1), get(2)));
            if stop_at.is_some_and(|s| s == get(1)) {
                break;
            }
        }
    }
    b.js(
        "const m = document.getElementById('olive-tab-start'); m && m.remove(); return true;",
        vec![],
    )
    .await?;
    Ok(out)
}

/// Fails with every violation axe-core finds on the current page (`page` names it).
pub async fn assert_no_violations(b: &Browser, axe_js: &str, page: &str) -> Result<()> {
    let v = axe_violations(b, axe_js).await?;
    if !v.is_empty() {
        bail!(
            "{page}: {} WCAG 2.1 A/AA violations:\n  {}",
            v.len(),
            v.join("\n  ")
        );
    }
    Ok(())
}

/// Presses Tab (at most `want.len() + extra` times, stopping at the last of `want`: a
/// Tab on the guest's screen would go to the guest) and fails unless focus reaches each of
/// `want` (accessible names, in order) and every focused element shows an outline.
pub async fn assert_tab_reaches(
    b: &Browser,
    want: &[&str],
    extra: usize,
    page: &str,
) -> Result<()> {
    let seen = tab_through(b, want.len() + extra, want.last().copied()).await?;
    let names: Vec<&str> = seen.iter().map(|(_, n, _)| n.as_str()).collect();
    let mut at = 0;
    for w in want {
        match names[at..].iter().position(|n| n == w) {
            Some(i) => at += i + 1,
            None => bail!("{page}: Tab never reached {w:?} in order; focus went {seen:?}"),
        }
    }
    for (el, name, outline) in &seen {
        if outline.starts_with("none") || outline.ends_with(" 0px") {
            bail!("{page}: {el} ({name:?}) has no visible focus outline ({outline})");
        }
    }
    Ok(())
}
