//! A remote file read by HTTP range requests.
//!
//! The file is pinned at open time by its strong ETag and/or Last-Modified, and every range
//! request carries `If-Range`, so a file replaced on the server is noticed (the server
//! answers 200 with the whole new file instead of 206) rather than mixing old and new bytes.
//! Network-class failures are retried a bounded number of times with doubling delays; HTTP
//! client errors are final.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{
    HeaderMap, ACCEPT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE,
};
use reqwest::StatusCode;

/// Limits and retry policy for one remote file.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Attempts per request, the first included (VMNetX: 5).
    pub attempts: u32,
    /// Delay before the first retry; doubles on each further retry.
    pub backoff: Duration,
    /// Bound on one request (connect + whole body).
    pub request_timeout: Duration,
    /// Largest remote file accepted.
    pub max_size: u64,
    /// Largest single range read accepted (bounds memory per request).
    pub max_range: u64,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            attempts: 5,
            backoff: Duration::from_millis(500),
            request_timeout: Duration::from_secs(60),
            max_size: 1 << 40,
            max_range: 64 << 20,
        }
    }
}

/// What pins one version of a remote file.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Validator {
    /// Strong ETag (weak ones cannot validate byte ranges and are dropped).
    pub etag: Option<String>,
    /// `Last-Modified`, used when there is no strong ETag.
    pub last_modified: Option<String>,
}

impl Validator {
    fn from_headers(h: &HeaderMap) -> Validator {
        let text = |name| {
            h.get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        Validator {
            etag: text(ETAG).filter(|e| !e.starts_with("W/")),
            last_modified: text(LAST_MODIFIED),
        }
    }

    /// The `If-Range` value: the ETag when there is one (exact), else the date.
    fn if_range(&self) -> Option<&str> {
        self.etag.as_deref().or(self.last_modified.as_deref())
    }

    /// True when `other` (from a later response) contradicts this validator.
    fn contradicted_by(&self, other: &Validator) -> bool {
        let differs =
            |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(x), Some(y)) if x != y);
        differs(&self.etag, &other.etag) || differs(&self.last_modified, &other.last_modified)
    }
}

/// Why a remote read failed; the message is meant for the visitor's error page.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not an http(s) URL (its text).
    #[error("unsupported URL {0:?}: only http and https are fetched")]
    BadUrl(String),
    /// The server answered with an error status.
    #[error("{url}: server answered {status}")]
    Status {
        /// The URL asked for.
        url: String,
        /// Its answer.
        status: StatusCode,
    },
    /// The connection failed every attempt.
    #[error("{url}: network error after {attempts} attempts: {message}")]
    Network {
        /// The URL asked for.
        url: String,
        /// How many tries were made.
        attempts: u32,
        /// The last error's text.
        message: String,
    },
    /// The file's validator differs from the one pinned at open: mixing versions would corrupt the disk.
    #[error("{url}: the file changed on the server while in use (ETag/Last-Modified differ)")]
    Changed {
        /// The URL asked for.
        url: String,
    },
    /// The server ignores `Range` (answers 200, or a wrong `Content-Range`).
    #[error("{url}: server does not serve byte ranges ({detail})")]
    NoRanges {
        /// The URL asked for.
        url: String,
        /// What the server sent instead.
        detail: String,
    },
    /// The server did not say how long the file is.
    #[error("{url}: size unknown (no Content-Length)")]
    NoLength {
        /// The URL asked for.
        url: String,
    },
    /// The file is larger than the caller accepts.
    #[error("{url}: size {size} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The URL asked for.
        url: String,
        /// Its length.
        size: u64,
        /// The most accepted.
        limit: u64,
    },
    /// A read past the end of the file (a caller's bug or a hostile offset).
    #[error("{url}: range {offset}+{len} outside the file (size {size})")]
    OutOfRange {
        /// The URL asked for.
        url: String,
        /// Where the read starts.
        offset: u64,
        /// Its length.
        len: u64,
        /// The file's length.
        size: u64,
    },
    /// The body ended before the range did.
    #[error("{url}: connection dropped after {got} of {expected} bytes")]
    Truncated {
        /// The URL asked for.
        url: String,
        /// Bytes received.
        got: u64,
        /// Bytes the range holds.
        expected: u64,
    },
}

impl FetchError {
    /// Network-class failures are worth another attempt; answers from the server are not
    /// (except 5xx and 429, which are transient by definition).
    fn retryable(&self) -> bool {
        match self {
            FetchError::Network { .. } | FetchError::Truncated { .. } => true,
            FetchError::Status { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            _ => false,
        }
    }
}

/// Counters an operator (or a test) reads to see how much was fetched.
#[derive(Debug, Default)]
pub struct FetchStats {
    /// HTTP requests sent, retries included.
    pub requests: AtomicU64,
    /// Body bytes received.
    pub bytes: AtomicU64,
    /// Requests that were a retry of a failed one.
    pub retries: AtomicU64,
}

/// One pinned remote file.
#[derive(Debug)]
pub struct RemoteFile {
    client: reqwest::Client,
    url: String,
    size: u64,
    validator: Validator,
    opts: FetchOptions,
    stats: Arc<FetchStats>,
}

/// Accepts only absolute http(s) URLs, so a package reference cannot make the gateway read
/// `file:` or other schemes.
pub fn check_url(url: &str) -> Result<reqwest::Url, FetchError> {
    let parsed = reqwest::Url::parse(url).map_err(|_| FetchError::BadUrl(url.to_owned()))?;
    match parsed.scheme() {
        "http" | "https" if parsed.host().is_some() => Ok(parsed),
        _ => Err(FetchError::BadUrl(url.to_owned())),
    }
}

/// Size and headers of `url`: HEAD, or — for servers that refuse HEAD — a one-byte range GET
/// whose `Content-Range` gives the total.
async fn probe(client: &reqwest::Client, url: &str) -> Result<(u64, HeaderMap), FetchError> {
    let resp = client
        .head(url)
        .header(ACCEPT_ENCODING, "identity")
        .send()
        .await
        .map_err(|e| network(url, 1, e))?;
    let status = resp.status();
    if status.is_success() {
        let size = resp
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| FetchError::NoLength {
                url: url.to_owned(),
            })?;
        return Ok((size, resp.headers().clone()));
    }
    if status != StatusCode::METHOD_NOT_ALLOWED && status != StatusCode::NOT_IMPLEMENTED {
        return Err(FetchError::Status {
            url: url.to_owned(),
            status,
        });
    }
    let resp = client
        .get(url)
        .header(RANGE, "bytes=0-0")
        .header(ACCEPT_ENCODING, "identity")
        .send()
        .await
        .map_err(|e| network(url, 1, e))?;
    if resp.status() != StatusCode::PARTIAL_CONTENT {
        return Err(FetchError::NoRanges {
            url: url.to_owned(),
            detail: format!("HEAD refused and a range GET answered {}", resp.status()),
        });
    }
    let size = resp
        .headers()
        .get(CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes 0-0/"))
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| FetchError::NoLength {
            url: url.to_owned(),
        })?;
    Ok((size, resp.headers().clone()))
}

/// reqwest's top-level message ("error sending request") hides the cause; keep the chain.
fn network(url: &str, attempts: u32, e: impl std::error::Error) -> FetchError {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    FetchError::Network {
        url: url.to_owned(),
        attempts,
        message,
    }
}

impl RemoteFile {
    /// HEADs `url` to learn its size and validator.
    pub async fn open(url: &str, opts: FetchOptions) -> Result<RemoteFile, FetchError> {
        check_url(url)?;
        let client = reqwest::Client::builder()
            .timeout(opts.request_timeout)
            .connect_timeout(opts.request_timeout.min(Duration::from_secs(15)))
            .user_agent(concat!("olive-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| network(url, 0, e))?;
        let stats = Arc::new(FetchStats::default());
        let (size, head) = retry(&opts, &stats, || probe(&client, url)).await?;
        if size > opts.max_size {
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
                size,
                limit: opts.max_size,
            });
        }
        Ok(RemoteFile {
            client,
            url: url.to_owned(),
            size,
            validator: Validator::from_headers(&head),
            opts,
            stats,
        })
    }

    /// The file's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The file's length when it was opened.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The validator pinned at open; every later range must match it.
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// The counters of this file's reads.
    pub fn stats(&self) -> &Arc<FetchStats> {
        &self.stats
    }

    /// The timeouts and retry policy its reads use.
    pub fn options(&self) -> &FetchOptions {
        &self.opts
    }

    fn check_range(&self, offset: u64, len: u64) -> Result<(), FetchError> {
        let end = offset.checked_add(len);
        if len == 0 || end.is_none_or(|e| e > self.size) {
            return Err(FetchError::OutOfRange {
                url: self.url.clone(),
                offset,
                len,
                size: self.size,
            });
        }
        Ok(())
    }

    /// Starts a GET of `offset..offset+len` and checks the answer is that range of the pinned
    /// version. Shared by whole-range reads and streams.
    pub(crate) async fn range_response(
        &self,
        offset: u64,
        len: u64,
    ) -> Result<reqwest::Response, FetchError> {
        self.check_range(offset, len)?;
        let last = offset + len - 1;
        let mut req = self
            .client
            .get(&self.url)
            .header(RANGE, format!("bytes={offset}-{last}"))
            .header(ACCEPT_ENCODING, "identity");
        if let Some(v) = self.validator.if_range() {
            req = req.header(IF_RANGE, v);
        }
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let resp = req.send().await.map_err(|e| network(&self.url, 1, e))?;
        let status = resp.status();
        if status == StatusCode::OK {
            // If-Range failed (new version), or the server ignores Range altogether.
            return Err(if self.validator.if_range().is_some() {
                FetchError::Changed {
                    url: self.url.clone(),
                }
            } else {
                FetchError::NoRanges {
                    url: self.url.clone(),
                    detail: "answered 200 to a Range request".into(),
                }
            });
        }
        if status != StatusCode::PARTIAL_CONTENT {
            return Err(FetchError::Status {
                url: self.url.clone(),
                status,
            });
        }
        if self
            .validator
            .contradicted_by(&Validator::from_headers(resp.headers()))
        {
            return Err(FetchError::Changed {
                url: self.url.clone(),
            });
        }
        let want = format!("bytes {offset}-{last}/");
        let got = resp
            .headers()
            .get(CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !got.starts_with(&want) {
            return Err(FetchError::NoRanges {
                url: self.url.clone(),
                detail: format!("asked {want}…, got Content-Range {got:?}"),
            });
        }
        Ok(resp)
    }

    /// Reads exactly `len` bytes at `offset`, retrying network failures.
    pub async fn read_range(&self, offset: u64, len: u64) -> Result<Bytes, FetchError> {
        if len > self.opts.max_range {
            return Err(FetchError::TooLarge {
                url: self.url.clone(),
                size: len,
                limit: self.opts.max_range,
            });
        }
        retry(&self.opts, &self.stats, || {
            self.read_range_once(offset, len)
        })
        .await
    }

    async fn read_range_once(&self, offset: u64, len: u64) -> Result<Bytes, FetchError> {
        let resp = self.range_response(offset, len).await?;
        // `len` is bounded by max_range, so the buffer is too.
        let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        let mut body = resp.bytes_stream();
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(|_| FetchError::Truncated {
                url: self.url.clone(),
                got: buf.len() as u64,
                expected: len,
            })?;
            if (buf.len() + piece.len()) as u64 > len {
                return Err(FetchError::NoRanges {
                    url: self.url.clone(),
                    detail: "body longer than the requested range".into(),
                });
            }
            buf.extend_from_slice(&piece);
        }
        self.stats
            .bytes
            .fetch_add(buf.len() as u64, Ordering::Relaxed);
        if buf.len() as u64 != len {
            return Err(FetchError::Truncated {
                url: self.url.clone(),
                got: buf.len() as u64,
                expected: len,
            });
        }
        Ok(Bytes::from(buf))
    }
}

/// Runs `op` until it succeeds, fails for good, or the attempts run out; the final network
/// error says how many attempts were made.
pub(crate) async fn retry<T, F, Fut>(
    opts: &FetchOptions,
    stats: &FetchStats,
    mut op: F,
) -> Result<T, FetchError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, FetchError>>,
{
    let attempts = opts.attempts.max(1);
    let mut delay = opts.backoff;
    let mut n = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if e.retryable() && n < attempts => {
                tracing::warn!(attempt = n, "fetch failed, retrying: {e}");
                stats.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
                n += 1;
            }
            Err(FetchError::Network { url, message, .. }) => {
                return Err(FetchError::Network {
                    url,
                    attempts: n,
                    message,
                })
            }
            Err(e) => return Err(e),
        }
    }
}
