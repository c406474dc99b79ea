//! Routes of the single-page app. Item pages have stable URLs (`/item/<id>`) so a portal
//! can link straight to one title; the gateway serves `index.html` for every such path
//! (SPA fallback) and we decide here what to show. Pure, so it is tested natively.

/// What the address bar asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// The whole collection.
    Collection,
    /// One item's page (with its Run button).
    Item(String),
    /// The player alone, in a portal's iframe (`/embed/<id>`), driven by `postMessage`.
    Embed(String),
    /// A kiosk (`/kiosk/<name>`): the gateway's `[[kiosk]]` profile, full screen.
    Kiosk(String),
}

impl Route {
    /// Parses a `location.pathname`. Anything unknown falls back to the collection,
    /// because a visitor with a mistyped link is better served by the catalog than a blank page.
    pub(crate) fn parse(path: &str) -> Route {
        let path = path.trim_end_matches('/');
        let one = |prefix: &str| {
            path.strip_prefix(prefix)
                .filter(|id| !id.is_empty() && !id.contains('/'))
                .map(decode)
        };
        if let Some(id) = one("/item/") {
            return Route::Item(id);
        }
        if let Some(name) = one("/kiosk/") {
            return Route::Kiosk(name);
        }
        match one("/embed/") {
            Some(id) => Route::Embed(id),
            None => Route::Collection,
        }
    }

    /// The path to push into history for this route.
    pub(crate) fn path(&self) -> String {
        match self {
            Route::Collection => "/".to_owned(),
            Route::Item(id) => format!("/item/{}", encode(id)),
            Route::Embed(id) => format!("/embed/{}", encode(id)),
            Route::Kiosk(name) => format!("/kiosk/{}", encode(name)),
        }
    }
}

/// Percent-encodes everything but unreserved characters (ids are usually plain).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; malformed escapes are kept literally.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths() {
        assert_eq!(Route::parse("/"), Route::Collection);
        assert_eq!(Route::parse(""), Route::Collection);
        assert_eq!(Route::parse("/item/console"), Route::Item("console".into()));
        assert_eq!(
            Route::parse("/item/console/"),
            Route::Item("console".into())
        );
        assert_eq!(Route::parse("/item/"), Route::Collection);
        assert_eq!(Route::parse("/item/a/b"), Route::Collection);
        assert_eq!(Route::parse("/nonsense"), Route::Collection);
        assert_eq!(Route::parse("/item/a%20b"), Route::Item("a b".into()));
        assert_eq!(Route::parse("/item/a%zz"), Route::Item("a%zz".into()));
        assert_eq!(Route::parse("/item/x%4"), Route::Item("x%4".into()));
        assert_eq!(Route::parse("/item/%é"), Route::Item("%é".into()));
        assert_eq!(Route::parse("/embed/doom"), Route::Embed("doom".into()));
        assert_eq!(Route::parse("/embed/"), Route::Collection);
        assert_eq!(Route::Embed("a b".into()).path(), "/embed/a%20b");
        assert_eq!(Route::parse("/kiosk/lobby"), Route::Kiosk("lobby".into()));
        assert_eq!(Route::parse("/kiosk/"), Route::Collection);
        assert_eq!(Route::Kiosk("lobby".into()).path(), "/kiosk/lobby");
    }

    #[test]
    fn round_trips() {
        for id in ["console", "a b", "ünï", "x/y"] {
            let r = Route::Item(id.into());
            if !id.contains('/') {
                assert_eq!(Route::parse(&r.path()), r);
            }
        }
        assert_eq!(Route::Item("x/y".into()).path(), "/item/x%2Fy");
        assert_eq!(Route::parse("/item/x%2Fy"), Route::Item("x/y".into()));
        assert_eq!(Route::Collection.path(), "/");
    }
}
