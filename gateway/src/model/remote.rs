//! Package URLs: what kind of package a URL names, VMNetX's `vmnetx+http(s)://` links, and
//! the trusted-host list of `GET /launch?package=URL` (VMNetX's example frontend had
//! `TRUSTED_VM_HOSTS`).

use reqwest::Url;

/// What kind of package a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An Olive package directory (`olive-package.json` under the URL).
    Olive,
    /// A VMNetX `.nxpk` file.
    Nxpk,
}

/// Why a text is not a usable package URL.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    /// The scheme is none of http(s) and vmnetx+http(s).
    #[error("not a package URL: {0:?} (expected http(s):// or vmnetx+http(s)://)")]
    Scheme(String),
    /// The URL does not parse, has no host, or carries a user name or password.
    #[error("malformed package URL {0:?}")]
    Malformed(String),
    /// The host is not on `trusted_package_hosts`, so `/launch` refuses it.
    #[error("package host {0:?} is not on the trusted list")]
    Untrusted(String),
}

/// A package URL from the configuration or `/launch`, not yet fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteRef {
    /// The plain http(s) URL.
    pub url: String,
    /// Whether the URL names an Olive package or a `.nxpk` file.
    pub kind: Kind,
}

const SCHEMES: [&str; 4] = ["http://", "https://", "vmnetx+http://", "vmnetx+https://"];

impl RemoteRef {
    /// Whether `text` is meant as a URL (an http(s) or vmnetx+http(s) scheme) rather than a
    /// local path; [`RemoteRef::parse`] then says whether it is a good one.
    pub fn is_url(text: &str) -> bool {
        let lower = text.trim().to_ascii_lowercase();
        SCHEMES.iter().any(|p| lower.starts_with(p))
    }

    /// `text` as a remote package: `vmnetx+http(s)://…` and http(s) URLs whose path ends in
    /// `.nxpk` are VMNetX packages, other http(s) URLs Olive package directories.
    pub fn parse(text: &str) -> Result<RemoteRef, UrlError> {
        let url = package_url(text)?;
        let vmnetx = text.trim().to_ascii_lowercase().starts_with("vmnetx+");
        let kind = if vmnetx || url.path().ends_with(".nxpk") {
            Kind::Nxpk
        } else {
            Kind::Olive
        };
        Ok(RemoteRef {
            url: url.to_string(),
            kind,
        })
    }
}

/// The http(s) URL to fetch for a package reference.
pub fn package_url(reference: &str) -> Result<Url, UrlError> {
    let reference = reference.trim();
    let plain = match reference.get(..7).map(str::to_ascii_lowercase).as_deref() {
        Some("vmnetx+") => &reference[7..],
        _ => reference,
    };
    let url = Url::parse(plain).map_err(|_| UrlError::Malformed(reference.to_owned()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::Scheme(reference.to_owned()));
    }
    if url.host_str().is_none_or(str::is_empty)
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(UrlError::Malformed(reference.to_owned()));
    }
    Ok(url)
}

/// True when `url`'s host is trusted: an entry matches the host exactly (case-insensitive),
/// or `*.example.org` matches any subdomain of example.org.
pub fn is_trusted(url: &Url, trusted: &[String]) -> bool {
    let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
        return false;
    };
    trusted.iter().any(|t| {
        let t = t.trim().to_ascii_lowercase();
        match t.strip_prefix("*.") {
            Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
            None => host == t,
        }
    })
}

/// For `GET /launch?package=URL`: the URL to launch, or why not (400 for a bad URL, 403 for
/// an untrusted host — see [`UrlError::Untrusted`]).
pub fn launch_url(reference: &str, trusted: &[String]) -> Result<Url, UrlError> {
    let url = package_url(reference)?;
    if !is_trusted(&url, trusted) {
        return Err(UrlError::Untrusted(url.host_str().unwrap_or("").to_owned()));
    }
    Ok(url)
}

/// Plain http is accepted only towards the gateway's own machine (tests, a local mirror):
/// anything else must be https, as VMNetX required, so a package cannot be swapped in
/// transit.
pub fn transport_allowed(url: &Url) -> bool {
    url.scheme() == "https" || matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_classified() {
        let k = |t: &str| RemoteRef::parse(t).map(|r| r.kind);
        assert!(!RemoteRef::is_url("pkgs/a") && !RemoteRef::is_url("/abs/pkg"));
        assert!(RemoteRef::is_url("HTTPS://h/p/"));
        assert_eq!(k("https://h/p/"), Ok(Kind::Olive));
        assert_eq!(k("http://h/x.nxpk"), Ok(Kind::Nxpk));
        assert_eq!(k("vmnetx+https://h/pkg"), Ok(Kind::Nxpk));
        let r = RemoteRef::parse("vmnetx+http://h/a.nxpk").unwrap();
        assert_eq!(r.url, "http://h/a.nxpk");
        assert!(matches!(
            RemoteRef::parse("https://"),
            Err(UrlError::Malformed(_))
        ));
        assert!(matches!(
            RemoteRef::parse("pkgs/a"),
            Err(UrlError::Malformed(_))
        ));
    }

    #[test]
    fn only_https_leaves_this_machine() {
        let ok = |u: &str| transport_allowed(&Url::parse(u).unwrap());
        assert!(ok("https://example.org/p"));
        assert!(ok("http://127.0.0.1:8/p") && ok("http://localhost/p"));
        assert!(!ok("http://example.org/p"));
    }
}
