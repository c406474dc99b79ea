//! `GET /launch?package=URL`, the shape of VMNetX's example web frontend: a package link
//! from a trusted host becomes an item (not in the configuration) that the web app can
//! open at `/item/<id>`, or, for `Accept: application/json`, a started instance.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::api::created;
use super::error::ApiError;
use super::AppState;
use crate::model::remote::{launch_url, transport_allowed};
use crate::model::{RemoteRef, UrlError};
use crate::packages::remote;

#[derive(Deserialize)]
pub(super) struct LaunchQuery {
    package: Option<String>,
}

/// The package link as a remote reference, or why it may not be launched.
fn checked_link(reference: &str, trusted: &[String]) -> Result<RemoteRef, ApiError> {
    let url = launch_url(reference, trusted).map_err(|e| match e {
        UrlError::Untrusted(_) => ApiError::forbidden(e.to_string()),
        _ => ApiError::bad_request(e.to_string()),
    })?;
    if !transport_allowed(&url) {
        return Err(ApiError::forbidden(
            "Packages are fetched over https only (plain http only from this machine)",
        ));
    }
    RemoteRef::parse(reference).map_err(|_| ApiError::bad_request("Malformed package URL"))
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

pub(super) async fn launch(
    State(st): State<AppState>,
    Query(q): Query<LaunchQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let trusted = &st.config.trusted_package_hosts;
    if trusted.is_empty() {
        return Err(ApiError::NotFound("Launching package URLs is not enabled"));
    }
    let reference = q
        .package
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("Missing package parameter"))?;
    let r = checked_link(&reference, trusted)?;
    let unreadable = |e: &dyn std::fmt::Display| ApiError::BadGateway(e.to_string());
    let cache = st.chunks.get().await.map_err(|e| unreadable(&e))?;
    let opts = crate::fetch::FetchOptions::default();
    let meta = remote::meta(&r, &cache, &opts, st.config.policy)
        .await
        .map_err(|e| unreadable(&e))?;
    let item = st
        .registry
        .add_adhoc(r, meta)
        .ok_or_else(|| ApiError::Unavailable {
            message: "Too many launched packages; ask the operator to restart the gateway".into(),
            retry_after: None,
        })?;
    if !wants_json(&headers) {
        let to = [(header::LOCATION, format!("/item/{item}"))];
        return Ok((StatusCode::FOUND, to).into_response());
    }
    let instance = created(st.registry.create(&item)?);
    let body = olive_api::Launched { item, instance };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
