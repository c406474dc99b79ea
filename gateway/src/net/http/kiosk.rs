//! Kiosk routes: `GET /kiosk/{name}` (the app's page, which runs the kiosk),
//! `GET /api/kiosk/{name}` (the public profile: never the PIN), `GET /api/items/{id}/screen`
//! (an item's saved screen as PNG, for the attract loop) and
//! `POST /api/kiosk/{name}/unlock {"pin"}` (the staff PIN, compared in constant time,
//! with a per-address doubling wait after each wrong one: [`super::pin_guard`]).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Json};
use olive_api::{KioskItem, KioskProfile, UnlockRequest};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use super::error::{json_body, ApiError};
use super::pin_guard::Verdict;
use super::static_files::not_built_page;
use super::visitor::ClientAddr;
use super::AppState;
use crate::model::Kiosk;

/// Longest unlock body read: `{"pin": "…"}` with twelve digits is 20 bytes.
const MAX_UNLOCK_BODY: usize = 256;

fn kiosk<'a>(st: &'a AppState, name: &str) -> Result<&'a Kiosk, ApiError> {
    st.config
        .kiosks
        .iter()
        .map(|k| &k.kiosk)
        .find(|k| k.name == name)
        .ok_or(ApiError::NotFound("No such kiosk"))
}

fn secs(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

/// `GET /api/kiosk/{name}`.
pub(super) async fn profile(
    State(st): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<KioskProfile>, ApiError> {
    let k = kiosk(&st, &name)?;
    let catalog = st.registry.catalog();
    let items = k
        .items
        .iter()
        .filter_map(|id| catalog.get(id))
        .map(|i| KioskItem {
            id: i.id.clone(),
            title: i.meta.title.clone(),
            screen: i.screen.is_some(),
        })
        .collect();
    Ok(Json(KioskProfile {
        name: k.name.clone(),
        items,
        attract_secs: secs(k.attract),
        idle_secs: secs(k.idle),
        warning_secs: secs(k.warning),
        blocked_keys: k.blocked_keys.iter().map(|c| c.to_string()).collect(),
        staff_chord: k.staff_chord.to_string(),
    }))
}

/// `GET /kiosk/{name}`: the app's page (the app reads the profile and runs the kiosk);
/// 404 with the same page for an unknown name, so the app can say so.
pub(super) async fn page(State(st): State<AppState>, Path(name): Path<String>) -> Response {
    let status = match kiosk(&st, &name) {
        Ok(_) => StatusCode::OK,
        Err(_) => StatusCode::NOT_FOUND,
    };
    let Some(dir) = st.config.static_dir.clone().filter(|d| d.is_dir()) else {
        return not_built_page(status);
    };
    let Some(page) = super::embed::read_dist(&dir, "index.html").await else {
        return not_built_page(status);
    };
    (status, Html(page)).into_response()
}

/// `GET /api/items/{id}/screen`: the screen its package was saved with, as PNG; 404 for
/// an unknown item, one that is not public, or one without a saved screen.
pub(super) async fn screen(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let item = st
        .registry
        .catalog()
        .get(&id)
        .filter(|i| i.access == crate::model::Access::Public)
        .ok_or(ApiError::NotFound("No such item"))?;
    let path = item
        .screen
        .clone()
        .ok_or(ApiError::NotFound("This item has no saved screen"))?;
    let png =
        tokio::task::spawn_blocking(move || crate::packages::olive::screen::png_of_ppm(&path))
            .await
            .map_err(|e| ApiError::Internal {
                public: "The screen could not be read".into(),
                detail: e.to_string(),
            })?
            .map_err(|e| ApiError::Internal {
                public: "The screen could not be read".into(),
                detail: e.to_string(),
            })?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            // The package does not change while the gateway runs.
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        png,
    )
        .into_response())
}

/// `POST /api/kiosk/{name}/unlock {"pin": "…"}`: 204 for the right PIN; 403 for a wrong
/// one; 429 with `Retry-After` while this address waits after a wrong one (the PIN is
/// then not even compared, so waiting is the only way on).
pub(super) async fn unlock(
    State(st): State<AppState>,
    Path(name): Path<String>,
    addr: Option<Extension<ClientAddr>>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let k = kiosk(&st, &name)?;
    let addr = addr.map_or(std::net::IpAddr::from([127, 0, 0, 1]), |Extension(a)| a.0);
    if body.len() > MAX_UNLOCK_BODY {
        return Err(ApiError::bad_request("Request too long"));
    }
    let req: UnlockRequest = json_body(&body, "Expected {\"pin\": DIGITS}")?;
    let mut guard = st.pins.lock().unwrap_or_else(|p| p.into_inner());
    let now = Instant::now();
    if let Verdict::Wait(w) = guard.check(addr, now) {
        return Err(too_soon(w));
    }
    // Compared in constant time (the length is not secret: the config says 4–12 digits).
    if bool::from(req.pin.as_bytes().ct_eq(k.pin.as_bytes())) {
        guard.succeeded(addr);
        tracing::info!(kiosk = %k.name, %addr, "staff unlock");
        Ok(StatusCode::NO_CONTENT)
    } else {
        let wait = guard.failed(addr, now);
        tracing::warn!(kiosk = %k.name, %addr, wait_secs = wait.as_secs(), "wrong kiosk PIN");
        Err(ApiError::forbidden("Wrong PIN"))
    }
}

fn too_soon(wait: std::time::Duration) -> ApiError {
    // Rounded up: a client that waits what it is told is never refused again.
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError::TooManyRequests {
        message: format!("Too many wrong PINs; try again in {secs} s"),
        retry_after: secs.max(1),
    }
}
