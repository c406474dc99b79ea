//! The gateway's HTTP API (`gateway/README.md`): the collection and instance creation.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// One title of the collection (the JSON is `olive_api`'s, shared with the gateway).
pub(crate) use olive_api::CollectionItem as Item;
/// A created instance (`POST /api/instances`).
pub(crate) use olive_api::Created as Instance;
/// A portal's signed launch link, forwarded to the create call.
pub use olive_api::LaunchGrant;

/// Where the gateway is: the page's own origin (the app), or the address a portal's
/// `<olive-player gateway=…>` names, since the element runs on the portal's pages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Gateway {
    /// `scheme://host[:port]` without a trailing slash; empty for the page's own origin.
    origin: String,
}

impl Gateway {
    /// The page's own origin (relative URLs).
    pub fn here() -> Gateway {
        Gateway::default()
    }

    /// The gateway at `url` (an `http(s)://` address; a path after the host is ignored).
    /// `None` for anything else, so a typo in a portal's attribute is reported, not fetched.
    pub fn at(url: &str) -> Option<Gateway> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() || host.contains(['@', ' ']) {
            return None;
        }
        let scheme = &url[..url.len() - rest.len()];
        Some(Gateway {
            origin: format!("{scheme}{host}"),
        })
    }

    /// The URL of an API path (`/api/…`).
    pub fn http(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// The WebSocket URL of a control URL path: on the gateway's origin when one is named,
    /// else matching the page (see [`ws_url`]).
    pub fn ws(&self, control_url: &str) -> String {
        if self.origin.is_empty() {
            let loc = web_sys::window().map(|w| w.location());
            let (protocol, host) = loc
                .map(|l| {
                    (
                        l.protocol().unwrap_or_default(),
                        l.host().unwrap_or_default(),
                    )
                })
                .unwrap_or_default();
            return ws_url(&protocol, &host, control_url);
        }
        let (protocol, host) = match self.origin.split_once("//") {
            Some((p, h)) => (p, h),
            None => ("http:", self.origin.as_str()),
        };
        ws_url(protocol, host, control_url)
    }
}

/// A grant in a launch link's query (`?expires=…&key=…&sig=…[&seat=…]`, with or without the
/// `?`), as a portal's backend wrote it; `None` when any required part is missing.
pub fn grant_from_query(query: &str) -> Option<LaunchGrant> {
    let params = web_sys::UrlSearchParams::new_with_str(query).ok()?;
    Some(LaunchGrant {
        expires: params.get("expires")?.trim().parse().ok()?,
        key: params.get("key")?,
        sig: params.get("sig")?,
        seat: params.get("seat"),
    })
}

/// A grant as a launch link's query (`expires=…&key=…&sig=…[&seat=…]`, no `?`): what
/// [`grant_from_query`] reads back, and what `<olive-player token>` takes.
pub fn grant_query(g: &LaunchGrant) -> String {
    let mut q = format!(
        "expires={}&key={}&sig={}",
        g.expires,
        crate::router::encode(&g.key),
        crate::router::encode(&g.sig)
    );
    if let Some(seat) = &g.seat {
        q.push_str("&seat=");
        q.push_str(&crate::router::encode(seat));
    }
    q
}

/// Why an API call failed, already sorted into what the visitor is told.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ApiError {
    /// 503: every slot is taken; `Retry-After` seconds if given.
    Full(Option<u64>),
    /// The request never got an HTTP answer.
    Unreachable(String),
    /// Any other status, with the server's message.
    Status(u16, String),
    /// The answer was not what the API promises.
    Malformed(String),
}

fn js_err(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

async fn fetch(method: &str, url: &str, body: Option<&str>) -> Result<Response, ApiError> {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(b) = body {
        init.set_body(&JsValue::from_str(b));
    }
    let req =
        Request::new_with_str_and_init(url, &init).map_err(|e| ApiError::Unreachable(js_err(e)))?;
    if body.is_some() {
        let _ = req.headers().set("Content-Type", "application/json");
    }
    let window = web_sys::window().ok_or_else(|| ApiError::Unreachable("no window".into()))?;
    let resp = JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(|e| ApiError::Unreachable(js_err(e)))?;
    Ok(resp.unchecked_into())
}

async fn text(resp: &Response) -> Result<String, ApiError> {
    let p = resp.text().map_err(|e| ApiError::Malformed(js_err(e)))?;
    let v = JsFuture::from(p)
        .await
        .map_err(|e| ApiError::Malformed(js_err(e)))?;
    Ok(v.as_string().unwrap_or_default())
}

async fn error_of(resp: &Response) -> ApiError {
    let status = resp.status();
    if status == 503 {
        let retry = resp
            .headers()
            .get("Retry-After")
            .ok()
            .flatten()
            .and_then(|s| s.trim().parse().ok());
        return ApiError::Full(retry);
    }
    let body = text(resp).await.unwrap_or_default();
    let msg = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or(body);
    ApiError::Status(status, msg)
}

/// `GET /api/collection`. Items are read one by one: a malformed one is left out (and
/// logged to the console) rather than hiding the whole collection.
pub(crate) async fn collection() -> Result<Vec<Item>, ApiError> {
    let resp = fetch("GET", &Gateway::here().http("/api/collection"), None).await?;
    if !resp.ok() {
        return Err(error_of(&resp).await);
    }
    let body = text(&resp).await?;
    let parsed =
        olive_api::parse_collection(&body).map_err(|e| ApiError::Malformed(e.to_string()))?;
    for bad in &parsed.skipped {
        let id = bad.id.as_deref().unwrap_or("?");
        web_sys::console::warn_1(&JsValue::from_str(&format!(
            "collection item {} ({id}) skipped: {}",
            bad.index, bad.reason
        )));
    }
    Ok(parsed.items)
}

/// `GET /api/items/{id}` (with the grant an item that is not public needs): the title and
/// credits for a player outside the collection page.
pub(crate) async fn item(
    gw: &Gateway,
    id: &str,
    grant: Option<&LaunchGrant>,
) -> Result<Item, ApiError> {
    let mut url = gw.http(&format!("/api/items/{}", crate::router::encode(id)));
    if let Some(g) = grant {
        url.push('?');
        url.push_str(&grant_query(g));
    }
    let resp = fetch("GET", &url, None).await?;
    if !resp.ok() {
        return Err(error_of(&resp).await);
    }
    let body = text(&resp).await?;
    serde_json::from_str(&body).map_err(|e| ApiError::Malformed(e.to_string()))
}

/// What `POST /api/instances` gave.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CreateAnswer {
    /// An instance (new, or the visitor's own again): connect.
    Instance(Instance),
    /// 202: every seat is taken; wait on the queue stream ([`crate::player::queue`]).
    Queued(olive_api::Queued),
}

/// `POST /api/instances {"item": id[, "grant": …][, "fresh": true]}`: the VM starts booting at once, or
/// the visitor gets a place in line.
pub(crate) async fn create_instance(
    gw: &Gateway,
    item: &str,
    grant: Option<&LaunchGrant>,
    fresh: bool,
) -> Result<CreateAnswer, ApiError> {
    let req = olive_api::CreateRequest {
        item: item.to_owned(),
        grant: grant.cloned(),
        fresh,
    };
    let body = serde_json::to_string(&req).map_err(|e| ApiError::Malformed(e.to_string()))?;
    let resp = fetch("POST", &gw.http("/api/instances"), Some(&body)).await?;
    if !resp.ok() {
        return Err(error_of(&resp).await);
    }
    let queued = resp.status() == 202;
    let body = text(&resp).await?;
    let bad = |e: serde_json::Error| ApiError::Malformed(e.to_string());
    if queued {
        let a: olive_api::QueuedAnswer = serde_json::from_str(&body).map_err(bad)?;
        return Ok(CreateAnswer::Queued(a.queued));
    }
    serde_json::from_str(&body)
        .map(CreateAnswer::Instance)
        .map_err(bad)
}

/// `GET /api/kiosk/{name}`: the kiosk's titles, timings and chords.
pub(crate) async fn kiosk_profile(
    gw: &Gateway,
    name: &str,
) -> Result<olive_api::KioskProfile, ApiError> {
    let url = gw.http(&format!("/api/kiosk/{}", crate::router::encode(name)));
    let resp = fetch("GET", &url, None).await?;
    if !resp.ok() {
        return Err(error_of(&resp).await);
    }
    let body = text(&resp).await?;
    serde_json::from_str(&body).map_err(|e| ApiError::Malformed(e.to_string()))
}

/// What the gateway said to a staff PIN.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Unlock {
    /// The right PIN.
    Open,
    /// A wrong one (403).
    Wrong,
    /// Too soon after a wrong one (429): try again after this many seconds.
    Wait(u64),
}

/// `POST /api/kiosk/{name}/unlock {"pin"}`.
pub(crate) async fn kiosk_unlock(gw: &Gateway, name: &str, pin: &str) -> Result<Unlock, ApiError> {
    let req = olive_api::UnlockRequest {
        pin: pin.chars().take(32).collect(),
    };
    let body = serde_json::to_string(&req).map_err(|e| ApiError::Malformed(e.to_string()))?;
    let url = gw.http(&format!(
        "/api/kiosk/{}/unlock",
        crate::router::encode(name)
    ));
    let resp = fetch("POST", &url, Some(&body)).await?;
    match resp.status() {
        200..=299 => Ok(Unlock::Open),
        403 => Ok(Unlock::Wrong),
        429 => Ok(Unlock::Wait(
            resp.headers()
                .get("Retry-After")
                .ok()
                .flatten()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(1),
        )),
        _ => Err(error_of(&resp).await),
    }
}

/// The WebSocket URL for a control URL path: `ws://` or `wss://` matching the page, so
/// the gateway's Origin check passes and TLS pages never open plain sockets.
pub(crate) fn ws_url(protocol: &str, host: &str, control_url: &str) -> String {
    if control_url.starts_with("ws://") || control_url.starts_with("wss://") {
        return control_url.to_owned();
    }
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    let path = if control_url.starts_with('/') {
        control_url.to_owned()
    } else {
        format!("/{control_url}")
    };
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_urls() {
        assert_eq!(
            ws_url("http:", "127.0.0.1:8080", "/ws"),
            "ws://127.0.0.1:8080/ws"
        );
        assert_eq!(
            ws_url("https:", "olive.museum", "/ws"),
            "wss://olive.museum/ws"
        );
        assert_eq!(ws_url("https:", "h", "ws"), "wss://h/ws");
        assert_eq!(ws_url("http:", "h", "wss://x/ws"), "wss://x/ws");
    }

    #[test]
    fn gateways() {
        let g = Gateway::at("https://olive.example.org/some/page").unwrap();
        assert_eq!(
            g.http("/api/collection"),
            "https://olive.example.org/api/collection"
        );
        assert_eq!(g.ws("/ws"), "wss://olive.example.org/ws");
        let g = Gateway::at("http://127.0.0.1:8080").unwrap();
        assert_eq!(g.ws("/ws"), "ws://127.0.0.1:8080/ws");
        assert_eq!(Gateway::here().http("/api/x"), "/api/x");
        for bad in [
            "",
            "olive.example.org",
            "ftp://x",
            "http://",
            "http://u@h",
            "javascript:x",
        ] {
            assert_eq!(Gateway::at(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_bare_item_and_a_malformed_one() {
        // An item configured without creator, description or rights, and one whose year
        // is not a number: the first is shown, the second skipped.
        let c = olive_api::parse_collection(
            r#"{"items":[{"id":"a","title":"A","creator":null,"description":null,"rights":null,"thumbnail":null},
                         {"id":"b","title":"B","year":"c. 1990"}]}"#,
        )
        .unwrap();
        assert_eq!(c.items.len(), 1);
        assert_eq!(crate::collection::byline(&c.items[0]), "");
        assert_eq!(c.skipped[0].id.as_deref(), Some("b"));
        let i: Instance =
            serde_json::from_str(r#"{"id":"x","token":"x/y","spice_password":"p"}"#).unwrap();
        assert_eq!(i.control_url, "/ws");
    }
}
