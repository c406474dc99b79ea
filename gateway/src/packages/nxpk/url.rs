//! Package URLs: VMNetX's `vmnetx+http(s)://` links map to plain http(s), and only hosts on a
//! configured trusted list may be launched from a link (`GET /launch?package=URL`), as VMNetX's
//! example frontend did with `TRUSTED_VM_HOSTS`.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    #[error("not a package URL: {0:?} (expected http(s):// or vmnetx+http(s)://)")]
    Scheme(String),
    #[error("malformed package URL {0:?}")]
    Malformed(String),
    #[error("package host {0:?} is not on the trusted list")]
    Untrusted(String),
}

/// The http(s) URL to fetch for a package reference.
pub fn package_url(reference: &str) -> Result<reqwest::Url, UrlError> {
    let reference = reference.trim();
    let plain = match reference.get(..7).map(str::to_ascii_lowercase).as_deref() {
        Some("vmnetx+") => &reference[7..],
        _ => reference,
    };
    let url = reqwest::Url::parse(plain).map_err(|_| UrlError::Malformed(reference.to_owned()))?;
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
pub fn is_trusted(url: &reqwest::Url, trusted: &[String]) -> bool {
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
pub fn launch_url(reference: &str, trusted: &[String]) -> Result<reqwest::Url, UrlError> {
    let url = package_url(reference)?;
    if !is_trusted(&url, trusted) {
        return Err(UrlError::Untrusted(url.host_str().unwrap_or("").to_owned()));
    }
    Ok(url)
}
