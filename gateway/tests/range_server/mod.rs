//! A small HTTP file server on 127.0.0.1 for the demand-fetch tests: serves one in-memory
//! file with HEAD, `Range`, `ETag`, `Last-Modified` and `If-Range`, counts requests and body
//! bytes, and can fail on purpose (503s, or dropping the connection mid-body) — faults a
//! real server produces only by chance.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;

#[derive(Default)]
pub(crate) struct Counters {
    /// GETs (ranged or not).
    pub gets: AtomicU64,
    pub heads: AtomicU64,
    /// Body bytes sent by GETs (as produced; a dropped body counts what was sent).
    pub bytes: AtomicU64,
}

pub(crate) struct Shared {
    pub data: Mutex<(Bytes, String)>,
    pub counters: Counters,
    /// Next this many GETs answer 503.
    pub fail_next: AtomicU32,
    /// GETs send half their body and then drop the connection.
    pub drop_mid_body: AtomicBool,
    /// Delay before answering a GET (lets concurrent readers overlap).
    pub delay_ms: AtomicU64,
    /// HEAD answers 405, as some object stores do.
    pub refuse_head: AtomicBool,
    /// When set, a directory of files served by name (the last path segment) instead of
    /// the one file; unknown names answer 404.
    pub files: Mutex<Option<std::collections::HashMap<String, Bytes>>>,
    /// With `files`: only GETs of this name drop mid-body (`drop_mid_body` then ignored).
    pub drop_name: Mutex<Option<String>>,
    /// With `files`: GETs and body bytes per name.
    pub per_name: Mutex<std::collections::HashMap<String, (u64, u64)>>,
}

pub(crate) struct RangeServer {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RangeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RangeServer {
    pub(crate) async fn start(data: Vec<u8>) -> RangeServer {
        let shared = Arc::new(Shared {
            data: Mutex::new((Bytes::from(data), "\"v1\"".into())),
            counters: Counters::default(),
            fail_next: AtomicU32::new(0),
            drop_mid_body: AtomicBool::new(false),
            delay_ms: AtomicU64::new(0),
            refuse_head: AtomicBool::new(false),
            files: Mutex::new(None),
            drop_name: Mutex::new(None),
            per_name: Mutex::new(Default::default()),
        });
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RangeServer { addr, shared, task }
    }

    /// Serves every file of `dir` by name (a package directory).
    pub(crate) async fn start_dir(dir: &std::path::Path) -> RangeServer {
        let srv = RangeServer::start(Vec::new()).await;
        let mut files = std::collections::HashMap::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            files.insert(name, Bytes::from(std::fs::read(e.path()).unwrap()));
        }
        *srv.shared.files.lock().unwrap() = Some(files);
        srv
    }

    /// (GETs, body bytes) of one file of a directory server.
    pub(crate) fn of(&self, name: &str) -> (u64, u64) {
        self.shared
            .per_name
            .lock()
            .unwrap()
            .get(name)
            .copied()
            .unwrap_or_default()
    }

    pub(crate) fn url(&self, name: &str) -> String {
        format!("http://{}/{name}", self.addr)
    }

    /// Replaces the file (new ETag).
    pub(crate) fn replace(&self, data: Vec<u8>, etag: &str) {
        *self.shared.data.lock().unwrap() = (Bytes::from(data), format!("\"{etag}\""));
    }

    /// Serves `data` as `name` (a server started with [`RangeServer::start_dir`]).
    pub(crate) fn insert(&self, name: &str, data: Vec<u8>) {
        self.shared
            .files
            .lock()
            .unwrap()
            .as_mut()
            .expect("a directory server")
            .insert(name.to_owned(), Bytes::from(data));
    }

    pub(crate) fn gets(&self) -> u64 {
        self.shared.counters.gets.load(Ordering::SeqCst)
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.shared.counters.bytes.load(Ordering::SeqCst)
    }
}

fn parse_range(h: &HeaderMap, size: u64) -> Option<(u64, u64)> {
    let v = h.get(header::RANGE)?.to_str().ok()?;
    let (a, b) = v.strip_prefix("bytes=")?.split_once('-')?;
    let start: u64 = a.parse().ok()?;
    let end: u64 = if b.is_empty() {
        size - 1
    } else {
        b.parse::<u64>().ok()?.min(size - 1)
    };
    (start <= end).then_some((start, end))
}

async fn serve(
    State(s): State<Arc<Shared>>,
    method: Method,
    uri: axum::http::Uri,
    h: HeaderMap,
) -> Response {
    let name = uri.path().rsplit('/').next().unwrap_or("").to_owned();
    let (data, etag) = match s.files.lock().unwrap().as_ref() {
        None => s.data.lock().unwrap().clone(),
        Some(files) => match files.get(&name) {
            Some(d) => (d.clone(), "\"v1\"".to_owned()),
            None => {
                return Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .body(Body::empty())
                    .unwrap()
            }
        },
    };
    let drop_mid_body = match s.drop_name.lock().unwrap().as_deref() {
        Some(n) => n == name,
        None => s.drop_mid_body.load(Ordering::SeqCst),
    };
    let size = data.len() as u64;
    let base = || {
        Response::builder()
            .header(header::ETAG, etag.clone())
            .header(header::LAST_MODIFIED, "Wed, 21 Oct 2015 07:28:00 GMT")
            .header(header::ACCEPT_RANGES, "bytes")
    };
    if method == Method::HEAD {
        s.counters.heads.fetch_add(1, Ordering::SeqCst);
        if s.refuse_head.load(Ordering::SeqCst) {
            return Response::builder()
                .status(StatusCode::METHOD_NOT_ALLOWED)
                .body(Body::empty())
                .unwrap();
        }
        return base()
            .header(header::CONTENT_LENGTH, size)
            .body(Body::empty())
            .unwrap();
    }
    s.counters.gets.fetch_add(1, Ordering::SeqCst);
    let delay = s.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if s.fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .body(Body::empty())
            .unwrap();
    }
    let if_range_ok = h
        .get(header::IF_RANGE)
        .is_none_or(|v| v.to_str().ok() == Some(etag.as_str()));
    let (status, start, end) = match parse_range(&h, size) {
        Some((a, b)) if if_range_ok => (StatusCode::PARTIAL_CONTENT, a, b),
        _ => (StatusCode::OK, 0, size - 1),
    };
    let body = data.slice(start as usize..=end as usize);
    let mut resp = base()
        .status(status)
        .header(header::CONTENT_LENGTH, body.len());
    if status == StatusCode::PARTIAL_CONTENT {
        resp = resp.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{size}"));
    }
    if method == Method::GET {
        let mut per = s.per_name.lock().unwrap();
        let e = per.entry(name).or_default();
        e.0 += 1;
        e.1 += if drop_mid_body {
            body.len() as u64 / 2
        } else {
            body.len() as u64
        };
    }
    if drop_mid_body {
        let half = body.slice(..body.len() / 2);
        s.counters
            .bytes
            .fetch_add(half.len() as u64, Ordering::SeqCst);
        // Headers and half the body go out first; then the connection is cut.
        use futures_util::StreamExt;
        let first = futures_util::stream::once(async move { Ok::<_, std::io::Error>(half) });
        let cut = futures_util::stream::once(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err::<Bytes, _>(std::io::Error::other("test server drops the connection"))
        });
        return resp.body(Body::from_stream(first.chain(cut))).unwrap();
    }
    s.counters
        .bytes
        .fetch_add(body.len() as u64, Ordering::SeqCst);
    resp.body(Body::from(body)).unwrap()
}
