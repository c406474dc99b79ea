//! The collection and the instance API.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use olive_api::{
    Collection, CollectionItem, CreateRequest, InstanceList, InstanceRow, SaveRequest,
    SavedPackage, Status,
};

use super::auth::AdminKey;
use super::error::{json_body, ApiError};
use super::visitor::{ClientAddr, VisitorCookie};
use super::AppState;
use crate::instances::{Created, Seat, Summary, Visitor};
use crate::model::{Access, Codec, ItemMeta, Keymap, VmState};
use crate::portal::grant::GrantError;

/// What visitors see of an item (never a path).
pub(super) fn collection_item(
    id: &str,
    meta: &ItemMeta,
    keymap: Keymap,
    launched: bool,
) -> CollectionItem {
    CollectionItem {
        id: id.to_owned(),
        title: meta.title.clone(),
        creator: meta.creator.clone(),
        year: meta.year,
        description: meta.description.clone(),
        rights: meta.rights.clone(),
        thumbnail: meta.thumbnail.clone(),
        group: meta.group.clone(),
        launched,
        keymap,
    }
}

/// `GET /api/collection`: the catalog, then the items made by `/launch` (so their
/// `/item/<id>` pages can find them).
pub(super) async fn collection(State(st): State<AppState>) -> Json<Collection> {
    let catalog = st
        .registry
        .catalog()
        .items()
        .filter(|i| i.access == Access::Public)
        .map(|i| collection_item(&i.id, &i.meta, i.keymap, false));
    let adhoc = st.registry.adhoc_items();
    let launched = adhoc
        .iter()
        .map(|(id, meta)| collection_item(id, meta, Keymap::default(), true));
    Json(Collection {
        items: catalog.chain(launched).collect(),
    })
}

/// The API's view of a created instance.
pub(super) fn created(c: Created) -> olive_api::Created {
    olive_api::Created {
        id: c.id,
        token: c.token,
        spice_password: c.spice_password,
        control_url: olive_api::CONTROL_URL.to_owned(),
        keymap: c.keymap,
    }
}

/// `POST /api/instances {"item": ID}`: create and start (200), or the visitor's own live
/// instance of it (200, same id), or a place in line when its seats are taken (202
/// `{"queued": …}`; see [`super::queue`]).
pub(super) async fn create(
    State(st): State<AppState>,
    cookie: Option<Extension<VisitorCookie>>,
    addr: Option<Extension<ClientAddr>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateRequest = json_body(&body, "Invalid request: expected {\"item\": ID}")?;
    check_access(&st, &req)?;
    let visitor = Visitor {
        id: cookie.and_then(|Extension(c)| (!c.new).then_some(c.id)),
        address: addr.map_or(std::net::IpAddr::from([127, 0, 0, 1]), |Extension(a)| a.0),
        fresh: req.fresh,
    };
    Ok(match st.registry.seat(&req.item, &visitor).await? {
        Seat::New(c) | Seat::Reused(c) => Json(created(c)).into_response(),
        Seat::Queued(t) => {
            let queued = olive_api::Queued {
                ticket: t.ticket,
                position: u32::try_from(t.position).unwrap_or(u32::MAX),
                eta_secs: t.eta.map(|d| d.as_secs()),
                seats: u32::try_from(t.seats).unwrap_or(u32::MAX),
            };
            (
                StatusCode::ACCEPTED,
                Json(olive_api::QueuedAnswer { queued }),
            )
                .into_response()
        }
    })
}

/// Items that are not public launch only with a valid portal grant; a grant that comes
/// with a public item must be valid too (a portal that signs expects its expiry to hold).
/// Checked before anything starts.
fn check_access(st: &AppState, req: &CreateRequest) -> Result<(), ApiError> {
    let access = match st.registry.catalog().get(&req.item) {
        Some(item) => item.access,
        // Unknown ids (and `/launch` items) are answered by the registry.
        None => return Ok(()),
    };
    let refuse = |e: GrantError| {
        tracing::info!(item = %req.item, reason = %e, "launch refused");
        ApiError::forbidden(e.to_string())
    };
    match (&req.grant, access) {
        (None, Access::Public) => Ok(()),
        (None, Access::SignedOnly) => Err(refuse(GrantError::Required)),
        (Some(g), _) => super::grants::verify(st, &req.item, g).map_err(refuse),
    }
}

fn status(s: VmState) -> Status {
    match s {
        VmState::Stopped => Status::Stopped,
        VmState::Starting => Status::Starting,
        VmState::Running => Status::Running,
        VmState::Stopping => Status::Stopping,
        VmState::Destroyed => Status::Destroyed,
    }
}

fn row(s: Summary) -> InstanceRow {
    InstanceRow {
        id: s.id,
        item: s.item,
        status: status(s.status),
        pid: s.pid,
        age_secs: s.age_secs,
        idle_secs: s.idle_secs,
    }
}

/// `GET /api/instances` (admin).
pub(super) async fn list(_: AdminKey, State(st): State<AppState>) -> Json<InstanceList> {
    Json(InstanceList {
        instances: st.registry.list().into_iter().map(row).collect(),
    })
}

/// `DELETE /api/instances/{id}` (admin).
pub(super) async fn destroy(
    _: AdminKey,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if st.registry.destroy(&id).await {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("Not found"))
    }
}

/// `POST /api/instances/{id}/package` (admin): the curator's signal to save this instance,
/// as it is now, as a package.
pub(super) async fn save_package(
    _: AdminKey,
    State(st): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<SavedPackage>, ApiError> {
    let req: SaveRequest = json_body(&body, "Expected {\"name\": NAME}")?;
    let codec = match req.codec.as_deref() {
        None => Codec::DEFAULT,
        Some(c) => Codec::from_name(c).ok_or_else(|| ApiError::bad_request("Unknown codec"))?,
    };
    let saved = st.registry.save_package(&id, &req.name, codec).await?;
    Ok(Json(SavedPackage {
        package: saved.dir.display().to_string(),
        name: saved.package.name,
        memory_bytes: saved.package.memory_bytes,
    }))
}
