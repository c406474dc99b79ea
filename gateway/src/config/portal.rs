//! The `[portal]` section: the public address, the OAI-PMH repository's identity, the keys
//! portals sign launch links with, and the origins that may embed the player.

use toml::Spanned;

use super::raw::RawPortal;
use super::{Checker, ConfigError};
use crate::model::portal::DEFAULT_OAI_PAGE_SIZE;
use crate::model::{PortalSettings, SigningKey};

/// Shorter secrets are refused: HMAC-SHA256's strength is the secret's.
pub(super) const MIN_SECRET_BYTES: usize = 32;
/// More records per page than a harvester needs and than one response should hold.
const MAX_PAGE_SIZE: usize = 1000;

pub(super) fn check_portal(
    ck: &Checker<'_>,
    raw: Option<Spanned<RawPortal>>,
) -> Result<PortalSettings, ConfigError> {
    let Some(raw) = raw else {
        return Ok(PortalSettings::default());
    };
    let raw = raw.into_inner();
    let defaults = PortalSettings::default();
    let public_url = match raw.public_url {
        None => None,
        Some(u) => Some(
            check_origin_like(u.get_ref(), true)
                .ok_or_else(|| {
                    ck.error(
                        u.span(),
                        "portal.public_url",
                        "must be an http:// or https:// address such as https://olive.example.org",
                    )
                })?
                .to_owned(),
        ),
    };
    let page_size = match raw.oai_page_size {
        None => DEFAULT_OAI_PAGE_SIZE,
        Some(n) if (1..=MAX_PAGE_SIZE).contains(n.get_ref()) => *n.get_ref(),
        Some(n) => {
            return Err(ck.error(
                n.span(),
                "portal.oai_page_size",
                format!("must be 1 to {MAX_PAGE_SIZE}"),
            ))
        }
    };
    let mut embed_origins = Vec::new();
    for (i, o) in raw.embed_origins.into_iter().enumerate() {
        match check_origin_like(o.get_ref(), false) {
            Some(origin) => embed_origins.push(origin.to_owned()),
            None => {
                return Err(ck.error(
                    o.span(),
                    format!("portal.embed_origins[{i}]"),
                    "must be an origin: scheme://host[:port], without a path",
                ))
            }
        }
    }
    let mut keys: Vec<SigningKey> = Vec::new();
    for (i, k) in raw.key.into_iter().enumerate() {
        let field = |f: &str| format!("portal.key[{i}].{f}");
        let span = k.span();
        let k = k.into_inner();
        if k.name.is_empty()
            || !k
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(ck.error(span, field("name"), "must be letters, digits, - _ ."));
        }
        if keys.iter().any(|x| x.name == k.name) {
            return Err(ck.error(span, field("name"), format!("duplicate key {:?}", k.name)));
        }
        if k.secret.len() < MIN_SECRET_BYTES {
            return Err(ck.error(
                span,
                field("secret"),
                format!(
                    "must be at least {MIN_SECRET_BYTES} characters (e.g. `openssl rand -hex 32`)"
                ),
            ));
        }
        keys.push(SigningKey {
            name: k.name,
            secret: k.secret.into_bytes(),
        });
    }
    Ok(PortalSettings {
        public_url,
        repository_name: raw.repository_name.unwrap_or(defaults.repository_name),
        admin_email: raw.admin_email.unwrap_or(defaults.admin_email),
        page_size,
        keys,
        embed_origins,
    })
}

/// `s` without a trailing slash when it is `http(s)://host[:port]` (and, with `path_ok`, a
/// path after it).
fn check_origin_like(s: &str, path_ok: bool) -> Option<&str> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))?;
    let trimmed = s.trim_end_matches('/');
    let host = rest.split('/').next().unwrap_or("");
    let has_path = rest.trim_end_matches('/').contains('/');
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    (host_ok && (path_ok || !has_path) && !s.contains(['?', '#'])).then_some(trimmed)
}

#[cfg(test)]
mod tests {
    use super::check_origin_like;

    #[test]
    fn origins_have_no_path_and_lose_a_trailing_slash() {
        assert_eq!(
            check_origin_like("https://a.example:8443/", false),
            Some("https://a.example:8443")
        );
        assert_eq!(
            check_origin_like("https://a.example/olive", true),
            Some("https://a.example/olive")
        );
        assert_eq!(check_origin_like("https://a.example/olive", false), None);
        assert_eq!(check_origin_like("ftp://a.example", true), None);
        assert_eq!(check_origin_like("https://", true), None);
        assert_eq!(check_origin_like("https://a b", true), None);
        assert_eq!(check_origin_like("https://a.example/?x", true), None);
    }
}
