//! Embedding the player in a portal's own pages, and who may.
//!
//! - `GET /olive-player.js`: the `<olive-player>` custom element as one ES module. Its body
//!   is the app's `dist/olive-player.js` (written by hand in `web/olive-player.js`); the
//!   gateway puts the names of the build's hashed files (the wasm-bindgen glue, the wasm,
//!   the stylesheet) in front of it, read from `dist/index.html`, so a portal loads the
//!   same wasm as the app and never a stale one.
//! - `GET /embed/<item>`: the app's page for an iframe, which shows only the player and
//!   talks to its parent with `postMessage`.
//! - The allowlist `[portal] embed_origins` decides the rest: CORS for the API and the
//!   app's files ([`cors`]), `frame-ancestors` for framing ([`frame_ancestors`]), and the
//!   WebSocket bridge's Origin check (`net::ws_bridge`). With no origins configured the
//!   gateway answers same-origin requests only and sets no framing rule (today's
//!   `?embed=1` links keep working).

use std::path::Path as FsPath;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::static_files::not_built_page;
use super::AppState;
use crate::model::Access;
use crate::portal::describe;

/// The build's files the custom element loads, as paths on the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Assets {
    glue: String,
    wasm: String,
    css: Option<String>,
}

impl Assets {
    /// Finds the files in trunk's `index.html`: the quoted absolute paths ending in
    /// `_bg.wasm`, in `.js` (the glue beside it) and in `.css`.
    pub(super) fn from_index(page: &str) -> Option<Assets> {
        let paths = quoted_paths(page);
        let wasm = paths.iter().find(|p| p.ends_with("_bg.wasm"))?.clone();
        let stem = wasm.trim_end_matches("_bg.wasm");
        let glue = paths
            .iter()
            .find(|p| p.strip_suffix(".js") == Some(stem))?
            .clone();
        let css = paths.iter().find(|p| p.ends_with(".css")).cloned();
        Some(Assets { glue, wasm, css })
    }

    /// The module's first line: `const OLIVE_ASSETS = {...};`.
    fn prelude(&self) -> String {
        let v = serde_json::json!({ "glue": self.glue, "wasm": self.wasm, "css": self.css });
        format!("const OLIVE_ASSETS = {v};\n")
    }
}

/// Every `"/…"` or `'/…'` value in `page` (no spaces or quotes inside).
fn quoted_paths(page: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = page.as_bytes();
    for (i, &q) in b.iter().enumerate() {
        if (q == b'"' || q == b'\'') && b.get(i + 1) == Some(&b'/') {
            let rest = &page[i + 1..];
            if let Some(end) = rest.find(|c: char| c == q as char || c.is_whitespace()) {
                if rest.as_bytes()[end] == q {
                    out.push(rest[..end].to_owned());
                }
            }
        }
    }
    out
}

pub(super) async fn read_dist(dir: &FsPath, name: &str) -> Option<String> {
    match tokio::fs::read_to_string(dir.join(name)).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("{}: {e}", dir.join(name).display());
            None
        }
    }
}

/// `GET /olive-player.js`.
pub(super) async fn player_module(State(st): State<AppState>) -> Response {
    let Some(dir) = st.config.static_dir.clone().filter(|d| d.is_dir()) else {
        return not_built_page(StatusCode::NOT_FOUND);
    };
    let (Some(page), Some(body)) = (
        read_dist(&dir, "index.html").await,
        read_dist(&dir, "olive-player.js").await,
    ) else {
        return not_built_page(StatusCode::NOT_FOUND);
    };
    let Some(assets) = Assets::from_index(&page) else {
        tracing::warn!("dist/index.html names no wasm and glue; is it trunk's output?");
        return not_built_page(StatusCode::NOT_FOUND);
    };
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // The name stays while the build changes under it: always ask.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        format!("{}{body}", assets.prelude()),
    )
        .into_response()
}

/// `GET /embed/{id}`: the app's page, marked for the player alone. Items that are not
/// public are served too: their grant comes in the query and the create call checks it.
pub(super) async fn embed_page(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(dir) = st.config.static_dir.clone().filter(|d| d.is_dir()) else {
        return not_built_page(StatusCode::OK);
    };
    let Some(page) = read_dist(&dir, "index.html").await else {
        return not_built_page(StatusCode::OK);
    };
    let Some(item) = st.registry.catalog().get(&id) else {
        return (StatusCode::NOT_FOUND, Html(page)).into_response();
    };
    let title = if item.access == Access::Public {
        item.meta.clone()
    } else {
        crate::model::ItemMeta {
            title: "Olive".into(),
            ..item.meta.clone()
        }
    };
    let head = describe::embed_head(&title, &st.config.portal.embed_origins);
    Html(describe::inject(&page, &head)).into_response()
}

/// The CORS rule for `origins`: reads and instance creation from the listed origins' pages
/// (the custom element's fetches and module imports); `None` when nothing is listed, so
/// browsers keep other origins out as before.
pub(super) fn cors(origins: &[String]) -> Option<CorsLayer> {
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if list.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::CONTENT_TYPE])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// `Content-Security-Policy: frame-ancestors 'self' <origins>`; `None` when nothing is
/// listed (any page may frame the app, as before the allowlist existed).
pub(super) fn frame_ancestors(origins: &[String]) -> Option<HeaderValue> {
    if origins.is_empty() {
        return None;
    }
    HeaderValue::from_str(&format!("frame-ancestors 'self' {}", origins.join(" "))).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRUNK_INDEX: &str = r#"<!DOCTYPE html><html><head>
<link rel="modulepreload" href="/olive-web-1a2b.js" crossorigin="anonymous" integrity="sha384-x">
<link rel="preload" href="/olive-web-1a2b_bg.wasm" crossorigin="anonymous" as="fetch" type="application/wasm">
<link rel="stylesheet" href="/style-9f9f.css" integrity="sha384-y"/>
<script type="module">
import init, * as bindings from '/olive-web-1a2b.js';
const wasm = await init({ module_or_path: '/olive-web-1a2b_bg.wasm' });
</script></head><body></body></html>"#;

    #[test]
    fn finds_trunks_files() {
        let a = Assets::from_index(TRUNK_INDEX).unwrap();
        assert_eq!(a.glue, "/olive-web-1a2b.js");
        assert_eq!(a.wasm, "/olive-web-1a2b_bg.wasm");
        assert_eq!(a.css.as_deref(), Some("/style-9f9f.css"));
        assert!(a.prelude().starts_with("const OLIVE_ASSETS = {"));
        assert!(Assets::from_index("<html>no build</html>").is_none());
        assert!(Assets::from_index("'/x_bg.wasm' \"/y.js\"").is_none());
    }

    #[test]
    fn the_allowlist_sets_framing_and_cors() {
        assert!(frame_ancestors(&[]).is_none());
        assert!(cors(&[]).is_none());
        let o = vec![
            "https://portal.example".to_owned(),
            "http://127.0.0.1:9".into(),
        ];
        assert_eq!(
            frame_ancestors(&o).unwrap(),
            "frame-ancestors 'self' https://portal.example http://127.0.0.1:9"
        );
        assert!(cors(&o).is_some());
    }
}
