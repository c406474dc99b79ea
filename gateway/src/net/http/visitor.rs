//! Who a request comes from: the `olive_visitor` cookie and the client address.
//!
//! The cookie (128 random bits, `HttpOnly; SameSite=Lax; Path=/`) is set on the first
//! `/api/` answer that lacks a valid one; the request itself is then marked as *new*, since
//! a client that has never shown the cookie may not keep it (scripts, `curl`), and such a
//! client is not put in a queue it could never find its place in again. The address is the
//! peer's, or, from a peer in `trusted_proxies`, the right-most `X-Forwarded-For` hop that
//! is not itself a trusted proxy: the hops left of it were written by the client and prove
//! nothing.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use crate::instances::ids;

/// The cookie's name.
pub const COOKIE: &str = "olive_visitor";

/// The visitor of a request, put in its extensions by [`layer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitorCookie {
    /// The id (the cookie's value).
    pub id: String,
    /// Made for this request: the client did not send one.
    pub new: bool,
}

/// The value of a valid `olive_visitor` cookie among the request's `Cookie` headers.
pub fn cookie_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == COOKIE && ids::is_random128(v.trim()))
        .map(|(_, v)| v.trim().to_owned())
}

/// The client address: `peer`, or from a trusted proxy the right-most untrusted
/// `X-Forwarded-For` hop (at most 32 hops are read; a malformed hop ends the walk there,
/// falling back to the last proxy seen).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev().take(32) {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => client = ip,
            Ok(ip) => return ip,
            Err(_) => break,
        }
    }
    client
}

/// The peer address of a request (loopback when the server runs without connect info,
/// as in router tests).
pub fn peer_of(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip())
}

/// The client address of a request, put in its extensions by [`layer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Middleware: records [`VisitorCookie`] and [`ClientAddr`] for the handlers and sets
/// the cookie on `/api/` answers to requests without one.
pub async fn layer(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let trusted: &Arc<crate::config::Config> = &st.config;
    let addr = client_address(
        peer_of(&req),
        req.headers(),
        &trusted.seating.trusted_proxies,
    );
    let (id, new) = match cookie_of(req.headers()) {
        Some(id) => (id, false),
        None => (ids::new_random128(), true),
    };
    let api = req.uri().path().starts_with("/api/");
    req.extensions_mut().insert(ClientAddr(addr));
    req.extensions_mut().insert(VisitorCookie {
        id: id.clone(),
        new,
    });
    let mut resp = next.run(req).await;
    if new && api {
        let secure = trusted
            .portal
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
        let cookie = format!(
            "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000{}",
            if secure { "; Secure" } else { "" }
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_cookie_among_others_and_a_forged_one() {
        let good = "AAAAAAAAAAAAAAAAAAAAAA";
        let h = headers(&[("cookie", &format!("a=1; olive_visitor={good}; b=2"))]);
        assert_eq!(cookie_of(&h).as_deref(), Some(good));
        let h = headers(&[
            ("cookie", "a=1"),
            ("cookie", &format!("olive_visitor={good}")),
        ]);
        assert_eq!(cookie_of(&h).as_deref(), Some(good));
        for bad in [
            "olive_visitor=short",
            "olive_visitor=../../etc/passwd",
            "olive_visitor=",
        ] {
            assert_eq!(cookie_of(&headers(&[("cookie", bad)])), None, "{bad}");
        }
        assert_eq!(cookie_of(&HeaderMap::new()), None);
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let inner: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = [proxy, inner];
        let peer: IpAddr = "198.51.100.7".parse().unwrap();
        let xff = headers(&[("x-forwarded-for", "203.0.113.9, 192.0.2.5")]);
        // An untrusted peer's header is ignored.
        assert_eq!(client_address(peer, &xff, &trusted), peer);
        // From the proxy: the right-most hop (the client's own claims to its left are not).
        assert_eq!(
            client_address(proxy, &xff, &trusted),
            "192.0.2.5".parse::<IpAddr>().unwrap()
        );
        // Two proxies in a row: skip the trusted inner one.
        let two = headers(&[("x-forwarded-for", "192.0.2.5, 10.0.0.2")]);
        assert_eq!(
            client_address(proxy, &two, &trusted),
            "192.0.2.5".parse::<IpAddr>().unwrap()
        );
        // Garbage or nothing: the proxy itself (never a client-chosen value).
        let junk = headers(&[("x-forwarded-for", "not-an-ip")]);
        assert_eq!(client_address(proxy, &junk, &trusted), proxy);
        assert_eq!(client_address(proxy, &HeaderMap::new(), &trusted), proxy);
    }
}
