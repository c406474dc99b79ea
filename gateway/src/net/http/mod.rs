//! The HTTP side: web app files, the collection, the instance API, health and metrics.
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /api/collection` | anyone | catalog metadata (no paths) |
//! | `POST /api/instances` `{"item": ID}` | anyone | create + start; `{id, token, spice_password, control_url}`; 503 + `Retry-After` when full |
//! | `GET /api/instances` | `X-Secret-Key` | list |
//! | `DELETE /api/instances/{id}` | `X-Secret-Key` | destroy; 204 or 404 |
//! | `POST /api/instances/{id}/package` `{"name", "codec"?}` | `X-Secret-Key` | save the running VM as `<data_dir>/packages/<name>`; 200, 400, 404, 409, 500 |
//! | `GET /launch?package=URL` | anyone | launch a package from a trusted host (`trusted_package_hosts`; 404 when none): 302 to `/item/<id>`, or with `Accept: application/json` an instance `{item, id, token, spice_password, control_url}`; 400 bad/missing URL, 403 untrusted host or plain http to a non-loopback host, 502 package unreadable, 503 after 256 distinct links |
//! | `GET /healthz` | anyone | `ok` |
//! | `GET /metrics` | anyone | Prometheus text |
//! | `GET /ws` | browsers | the WebSocket bridge (mounted by [`crate::Server`]) |
//! | `/api/…` (unknown) | anyone | 404 JSON |
//! | anything else | anyone | the web app's `dist` folder; paths without a file (the app's own routes, such as `/item/<id>`) get its `index.html`; or a "not built" page |

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::instances::{CreateError, Registry, SaveError};

/// Seconds a client is told to wait when every instance slot is taken. Instances free up
/// on the idle timeout's scale, so retrying sooner than this is just load.
pub const RETRY_AFTER_SECS: u64 = 30;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub registry: Registry,
}

#[derive(Deserialize)]
struct CreateRequest {
    item: String,
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Checks `X-Secret-Key` in constant time; VMNetX's messages.
#[allow(clippy::result_large_err)]
fn check_key(state: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let Some(given) = headers.get("x-secret-key") else {
        return Err(error(StatusCode::FORBIDDEN, "Missing secret key"));
    };
    let want = state.registry.config().secret_key.as_bytes();
    if bool::from(given.as_bytes().ct_eq(want)) {
        Ok(())
    } else {
        Err(error(StatusCode::FORBIDDEN, "Incorrect secret key"))
    }
}

async fn collection(State(st): State<AppState>) -> Response {
    let mut items =
        serde_json::to_value(st.registry.config().catalog.public()).unwrap_or_else(|_| json!([]));
    // Items made by `/launch` follow, so their `/item/<id>` pages can find them.
    if let Some(list) = items.as_array_mut() {
        for (id, meta) in st.registry.adhoc_items() {
            let public = crate::catalog::PublicItem {
                id: &id,
                meta: &meta,
            };
            if let Ok(mut v) = serde_json::to_value(public) {
                v["launched"] = json!(true);
                list.push(v);
            }
        }
    }
    Json(json!({ "items": items })).into_response()
}

#[derive(Deserialize)]
struct LaunchQuery {
    package: Option<String>,
}

/// Plain http is accepted only towards the gateway's own machine (tests, a local mirror):
/// anything else must be https, as VMNetX required, so a package cannot be swapped in
/// transit.
fn http_allowed(url: &reqwest::Url) -> bool {
    url.scheme() == "https" || matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// `GET /launch?package=URL`, the shape of VMNetX's example web frontend: a package link
/// from a trusted host becomes a (non-listed-in-config) item the web app can open.
async fn launch(
    State(st): State<AppState>,
    Query(q): Query<LaunchQuery>,
    headers: HeaderMap,
) -> Response {
    use crate::packages::nxpk::url::{launch_url, UrlError};
    let trusted = &st.registry.config().trusted_package_hosts;
    if trusted.is_empty() {
        return error(
            StatusCode::NOT_FOUND,
            "Launching package URLs is not enabled",
        );
    }
    let Some(reference) = q.package.filter(|p| !p.trim().is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "Missing package parameter");
    };
    let url = match launch_url(&reference, trusted) {
        Ok(u) => u,
        Err(e @ UrlError::Untrusted(_)) => return error(StatusCode::FORBIDDEN, &e.to_string()),
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    if !http_allowed(&url) {
        return error(
            StatusCode::FORBIDDEN,
            "Packages are fetched over https only (plain http only from this machine)",
        );
    }
    let Some(Ok(r)) = crate::packages::remote::RemoteRef::parse(&reference) else {
        return error(StatusCode::BAD_REQUEST, "Malformed package URL");
    };
    let meta = async {
        let cache = st.registry.chunk_cache().await?;
        let opts = crate::fetch::FetchOptions::default();
        crate::packages::remote::meta(&r, &cache, &opts, st.registry.policy()).await
    }
    .await;
    let meta = match meta {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_GATEWAY, &e.to_string()),
    };
    let Some(item) = st.registry.add_adhoc(r, meta) else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many launched packages; ask the operator to restart the gateway",
        );
    };
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if !wants_json {
        return (
            StatusCode::FOUND,
            [(header::LOCATION, format!("/item/{item}"))],
        )
            .into_response();
    }
    match st.registry.create(&item) {
        Ok(c) => {
            let mut v = serde_json::to_value(c).unwrap_or_else(|_| json!({}));
            v["item"] = json!(item);
            (StatusCode::CREATED, Json(v)).into_response()
        }
        Err(CreateError::AtCapacity(_)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, RETRY_AFTER_SECS.to_string())],
            Json(json!({ "error": "All instance slots are in use" })),
        )
            .into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn create(State(st): State<AppState>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<CreateRequest>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Invalid request: expected {\"item\": ID}",
        );
    };
    match st.registry.create(&req.item) {
        Ok(created) => Json(created).into_response(),
        Err(CreateError::UnknownItem(_)) => error(StatusCode::NOT_FOUND, "No such item"),
        Err(e @ CreateError::AtCapacity(_)) => {
            let mut r = error(StatusCode::SERVICE_UNAVAILABLE, &e.to_string());
            r.headers_mut()
                .insert(header::RETRY_AFTER, RETRY_AFTER_SECS.into());
            r
        }
        Err(e @ CreateError::Io(_)) => {
            tracing::error!("{e}");
            error(StatusCode::INTERNAL_SERVER_ERROR, "Cannot create instance")
        }
    }
}

async fn list(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = check_key(&st, &headers) {
        return r;
    }
    Json(json!({ "instances": st.registry.list() })).into_response()
}

async fn destroy(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = check_key(&st, &headers) {
        return r;
    }
    if st.registry.destroy(&id).await {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, "Not found")
    }
}

#[derive(Deserialize)]
struct SaveRequest {
    name: String,
    codec: Option<String>,
}

/// The curator's signal: save this instance, as it is now, as a package.
async fn save_package(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = check_key(&st, &headers) {
        return r;
    }
    let Ok(req) = serde_json::from_slice::<SaveRequest>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Expected {\"name\": NAME}");
    };
    let codec = match req.codec.as_deref() {
        None => crate::packages::olive::codec::Codec::DEFAULT,
        Some(c) => match crate::packages::olive::codec::Codec::from_name(c) {
            Some(c) => c,
            None => return error(StatusCode::BAD_REQUEST, "Unknown codec"),
        },
    };
    match st.registry.save_package(&id, &req.name, codec).await {
        Ok((dir, m)) => Json(json!({
            "package": dir.display().to_string(),
            "name": m.name,
            "memory_bytes": m.memory.as_ref().map(|x| x.file.size),
        }))
        .into_response(),
        Err(e @ SaveError::BadName(_)) => error(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(SaveError::NoInstance) => error(StatusCode::NOT_FOUND, "Not found"),
        Err(e @ SaveError::NotRunning) => error(StatusCode::CONFLICT, &e.to_string()),
        Err(e @ SaveError::Failed(_)) => {
            tracing::warn!(id, "{e}");
            error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
        }
    }
}

async fn metrics(State(st): State<AppState>) -> Response {
    let text = st.registry.metrics().render(&st.registry.by_state());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn not_built(uri: Uri) -> Response {
    let page = Html(
        "<!doctype html><title>Olive</title><h1>Olive</h1>\
         <p>The web app is not built. Build it and point <code>static_dir</code> in the \
         gateway configuration at its <code>dist</code> folder.</p>\n",
    );
    if uri.path() == "/" || uri.path() == "/index.html" {
        page.into_response()
    } else {
        (StatusCode::NOT_FOUND, page).into_response()
    }
}

/// The API routes plus static files (without `/ws`, which [`crate::Server`] merges in).
pub fn router(state: AppState, static_dir: Option<PathBuf>) -> Router {
    let api = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/api/collection", get(collection))
        .route("/launch", get(launch))
        .route("/api/instances", get(list).post(create))
        .route("/api/instances/{id}", delete(destroy))
        .route("/api/instances/{id}/package", post(save_package))
        .with_state(state);
    with_static(api, static_dir)
}

/// Adds the web app's files to `api`. SPA fallback: the app routes with pushState
/// (`/item/<id>`), so any path without a file serves `index.html` and the app decides what
/// to show; unknown `/api/…` paths stay 404s instead of turning into the page.
fn with_static(api: Router, static_dir: Option<PathBuf>) -> Router {
    let api = api.route(
        "/api/{*rest}",
        any(|| async { error(StatusCode::NOT_FOUND, "No such API") }),
    );
    match static_dir.filter(|d| d.is_dir()) {
        Some(dir) => api.fallback_service(
            tower_http::services::ServeDir::new(&dir)
                .append_index_html_on_directories(true)
                .fallback(tower_http::services::ServeFile::new(dir.join("index.html"))),
        ),
        None => api.fallback(not_built),
    }
}

/// For `Arc`-wrapped use by callers that only have the trait object.
pub fn registry_trait(registry: &Registry) -> Arc<dyn crate::net::control::Registry> {
    Arc::new(registry.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Plain HTTP/1.0 GET against a served router: (status line, body).
    async fn get(app: Router, path: &str) -> (String, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        (head.lines().next().unwrap().to_owned(), body.to_owned())
    }

    #[tokio::test]
    async fn spa_fallback_serves_index_for_app_routes() {
        let dir = std::env::temp_dir().join(format!("olive-spa-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<main id=olive-app></main>").unwrap();
        std::fs::write(dir.join("app.js"), "js").unwrap();
        let app = || with_static(Router::new(), Some(dir.clone()));
        let index = "<main id=olive-app></main>".to_owned();
        for path in ["/", "/item/console", "/item/a%20b", "/anything/else"] {
            let (status, body) = get(app(), path).await;
            assert!(status.contains("200"), "{path}: {status}");
            assert_eq!(body, index, "{path}");
        }
        assert_eq!(get(app(), "/app.js").await.1, "js");
        assert!(get(app(), "/api/nope").await.0.contains("404"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
