//! The HTTP side: web app files, the collection, the instance API, health and metrics.
//!
//! | route | who | what |
//! |---|---|---|
//! | `GET /api/collection` | anyone | catalog metadata (no paths) |
//! | `POST /api/instances` `{"item": ID}` | anyone | create + start; `{id, token, spice_password, control_url}`; the same instance again for a visitor (cookie) who has one of that item; 202 `{"queued": {ticket, position, eta_secs, seats}}` when its `seats` (or `max_instances`) are taken; 503 + `Retry-After` when full for a client without the visitor cookie; 429 + `Retry-After` past `creates_per_minute` |
//! | `GET /api/queue/{ticket}` | the ticket's holder | Server-Sent Events: `position {position, eta_secs}`, then `seat {id, token, spice_password, control_url}` ([`queue`]); 404 unknown ticket |
//! | `GET /api/queue` | `X-Secret-Key` | per item: seats, in use, who waits (position, age, address) |
//! | `GET /api/instances` | `X-Secret-Key` | list |
//! | `DELETE /api/instances/{id}` | `X-Secret-Key` | destroy; 204 or 404 |
//! | `POST /api/instances/{id}/package` `{"name", "codec"?}` | `X-Secret-Key` | save the running VM as `<data_dir>/packages/<name>`; 200, 400, 404, 409, 500 |
//! | `GET /launch?package=URL` | anyone | launch a package from a trusted host (`trusted_package_hosts`; 404 when none): 302 to `/item/<id>`, or with `Accept: application/json` an instance `{item, id, token, spice_password, control_url}`; 400 bad/missing URL, 403 untrusted host or plain http to a non-loopback host, 502 package unreadable, 503 after 256 distinct links |
//! | `GET /api/items/{id}` `[?expires&key&sig&seat]` | anyone (a valid grant for items that are not public) | one item's metadata; 403, 404 |
//! | `GET /oai?verb=…`, `POST /oai` | anyone | OAI-PMH 2.0 (`oai_dc`) of the public items |
//! | `GET /item/{id}` | anyone | the app's page with the item's title, Open Graph tags and JSON-LD |
//! | `GET /api/items/{id}/screen` | anyone | the item's saved screen (PNG) for a kiosk's attract loop; 404 without one |
//! | `GET /api/kiosk/{name}` | anyone | a kiosk's public profile (titles, timings, blocked chords, staff chord; never the PIN) |
//! | `POST /api/kiosk/{name}/unlock` `{"pin"}` | anyone | 204 right PIN, 403 wrong, 429 + `Retry-After` while the address waits after a wrong one (1 s, doubling, [`pin_guard`]) |
//! | `GET /kiosk/{name}` | anyone | the app's page running that kiosk (404 with the page for an unknown name) |
//! | `GET /embed/{id}` | anyone | the app's page showing only the player, for a portal's iframe (commands and events by `postMessage`, [`embed`]) |
//! | `GET /olive-player.js` | anyone | the `<olive-player>` custom element, one ES module loading the app's wasm |
//! | `GET /healthz` | anyone | `ok` |
//! | `GET /metrics` | anyone | Prometheus text |
//! | `GET /ws` | anyone but a wrong `Origin` | the WebSocket bridge (mounted by [`crate::Server`]) |
//! | `/api/…` (unknown) | anyone | 404 JSON |
//! | anything else | anyone | the web app's `dist` folder; paths without a file (the app's own routes, such as `/item/<id>`) get its `index.html`; or a "not built" page |
//!
//! With `[portal] embed_origins` set, every response carries `frame-ancestors 'self'` plus
//! those origins, and their pages get CORS answers (GET and POST, `Content-Type`).
//!
//! Every `/api/` answer to a request without the `olive_visitor` cookie sets it
//! ([`visitor`]).
//!
//! Handlers return `Result<_, ApiError>` ([`error`]); the admin key is the [`auth::AdminKey`]
//! extractor; the JSON shapes are `olive_api`'s, shared with the web app.

mod api;
pub mod auth;
mod embed;
pub mod error;
mod grants;
mod kiosk;
mod launch;
pub mod pin_guard;
mod portal;
mod queue;
mod static_files;
pub mod visitor;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

pub use error::{ApiError, RETRY_AFTER_SECS};
pub use static_files::with_static;

use crate::config::Config;
use crate::fetch::LazyChunkCache;
use crate::instances::Registry;
use crate::portal::oai::Repository;

pub use portal::repository;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    /// The instances, for the API routes.
    pub registry: Registry,
    /// The configuration (admin key, allowed origins, trusted package hosts).
    pub config: Arc<Config>,
    /// The chunk cache remote packages are read through (for `/launch`'s metadata).
    pub chunks: Arc<LazyChunkCache>,
    /// The OAI-PMH repository of the catalog's public items.
    pub oai: Arc<Repository>,
    /// Wrong kiosk PINs per client address (`POST /api/kiosk/{name}/unlock`).
    pub pins: Arc<std::sync::Mutex<pin_guard::PinGuard>>,
}

async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    let mut text = st.registry.metrics().render(&st.registry.by_state());
    text.push_str(&crate::metrics::Metrics::render_waiting(
        &st.registry.waiting_counts(),
    ));
    let kind = "text/plain; version=0.0.4; charset=utf-8";
    ([(header::CONTENT_TYPE, kind)], text)
}

/// The API routes plus static files (without `/ws`, which [`crate::Server`] merges in).
pub fn router(state: AppState, static_dir: Option<PathBuf>) -> Router {
    let api = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/api/collection", get(api::collection))
        .route("/launch", get(launch::launch))
        .route("/api/instances", get(api::list).post(api::create))
        .route("/api/instances/{id}", delete(api::destroy))
        .route("/api/instances/{id}/package", post(api::save_package))
        .route("/api/queue", get(queue::list))
        .route("/api/queue/{ticket}", get(queue::events))
        .route("/api/items/{id}", get(portal::item))
        .route("/api/items/{id}/screen", get(kiosk::screen))
        .route("/api/kiosk/{name}", get(kiosk::profile))
        .route("/api/kiosk/{name}/unlock", post(kiosk::unlock))
        .route("/kiosk/{name}", get(kiosk::page))
        .route("/oai", get(portal::oai).post(portal::oai))
        .route("/item/{id}", get(portal::item_page))
        .route("/embed/{id}", get(embed::embed_page))
        .route("/olive-player.js", get(embed::player_module))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            visitor::layer,
        ))
        .with_state(state.clone());
    let mut app = with_static(api, static_dir);
    let origins = &state.config.portal.embed_origins;
    if let Some(csp) = embed::frame_ancestors(origins) {
        app = app.layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ));
    }
    if let Some(cors) = embed::cors(origins) {
        app = app.layer(cors);
    }
    app
}
