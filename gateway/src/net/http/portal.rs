//! The portal routes: `/oai` (OAI-PMH), `/item/<id>` served with the item's description in
//! its HTML, and `GET /api/items/<id>` for one item (with a grant for items that are not
//! public). The documents themselves are made in [`crate::portal`].

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use olive_api::{CollectionItem, LaunchGrant};
use serde::Deserialize;

use super::api::collection_item;
use super::error::ApiError;
use super::AppState;
use crate::model::Access;
use crate::portal::describe;
use crate::portal::grant::GrantError;
use crate::portal::oai::{Endpoint, Repository};

/// Longest OAI-PMH request accepted (query or form body); real ones are under 1 KiB.
const MAX_OAI_REQUEST: usize = 8 * 1024;

/// The address visitors and harvesters use: the configured `public_url`, else the request's
/// `Host` (when it is a plain host name), else the listening address.
pub(super) fn site(st: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &st.config.portal.public_url {
        return url.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        });
    match host {
        Some(h) => format!("http://{h}"),
        None => format!("http://{}", st.config.listen),
    }
}

/// `GET /oai?verb=…` or `POST /oai` with a form body.
pub(super) async fn oai(
    State(st): State<AppState>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let raw: &[u8] = if method == Method::POST {
        &body
    } else {
        query.as_deref().unwrap_or("").as_bytes()
    };
    if raw.len() > MAX_OAI_REQUEST {
        return (StatusCode::PAYLOAD_TOO_LARGE, "OAI-PMH request too long\n").into_response();
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw).into_owned().collect();
    let at = Endpoint {
        site: site(&st, &headers),
    };
    match st.oai.respond(&at, &pairs, time::OffsetDateTime::now_utc()) {
        Ok(xml) => ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], xml).into_response(),
        Err(e) => ApiError::Internal {
            public: "The OAI-PMH response could not be written".into(),
            detail: e.to_string(),
        }
        .into_response(),
    }
}

/// The query of an item link: a portal's grant, when there is one.
#[derive(Debug, Default, Deserialize)]
pub(super) struct GrantQuery {
    expires: Option<u64>,
    key: Option<String>,
    sig: Option<String>,
    seat: Option<String>,
}

impl GrantQuery {
    fn grant(self) -> Option<LaunchGrant> {
        Some(LaunchGrant {
            expires: self.expires?,
            key: self.key?,
            sig: self.sig?,
            seat: self.seat,
        })
    }
}

/// `GET /api/items/{id}`: one catalog item; one that is not public needs its grant.
pub(super) async fn item(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<GrantQuery>,
) -> Result<Json<CollectionItem>, ApiError> {
    let item = st
        .registry
        .catalog()
        .get(&id)
        .ok_or(ApiError::NotFound("No such item"))?;
    if item.access == Access::SignedOnly {
        let grant = q
            .grant()
            .ok_or_else(|| ApiError::forbidden(GrantError::Required.to_string()))?;
        super::grants::verify(&st, &id, &grant).map_err(|e| ApiError::forbidden(e.to_string()))?;
    }
    Ok(Json(collection_item(
        &item.id,
        &item.meta,
        item.keymap,
        false,
    )))
}

/// `GET /item/{id}`: the app's page with the item's title, description, Open Graph tags
/// and JSON-LD in its head. Items that are not public get the plain page (their
/// description is for the portal's visitors, not for crawlers).
pub(super) async fn item_page(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(dir) = st.config.static_dir.clone().filter(|d| d.is_dir()) else {
        return super::static_files::not_built_page(StatusCode::OK);
    };
    let page = match tokio::fs::read_to_string(dir.join("index.html")).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("{}: {e}", dir.join("index.html").display());
            return super::static_files::not_built_page(StatusCode::OK);
        }
    };
    let described = st
        .registry
        .catalog()
        .get(&id)
        .filter(|i| i.access == Access::Public)
        .map(|i| {
            describe::inject(
                &page,
                &describe::item_head(&site(&st, &headers), &i.id, &i.meta),
            )
        });
    Html(described.unwrap_or(page)).into_response()
}

/// The repository harvesters see, made once when the gateway starts (the catalog does not
/// change while it runs).
pub fn repository(config: &crate::Config) -> Arc<Repository> {
    let loaded = std::fs::metadata(&config.file)
        .and_then(|m| m.modified())
        .map(time::OffsetDateTime::from)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    Arc::new(Repository::new(
        &config.catalog,
        config.portal.clone(),
        loaded,
    ))
}
