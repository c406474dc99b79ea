//! The web app's files. SPA fallback: the app routes with pushState (`/item/<id>`), so any
//! path without a file serves `index.html` and the app decides what to show; unknown
//! `/api/…` paths stay 404s instead of turning into the page.

use std::path::PathBuf;

use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::any;
use axum::Router;

use super::error::ApiError;

/// The page served when the web app has not been built.
pub(super) fn not_built_page(status: StatusCode) -> Response {
    let page = Html(
        "<!doctype html><title>Olive</title><h1>Olive</h1>\
         <p>The web app is not built. Build it and point <code>static_dir</code> in the \
         gateway configuration at its <code>dist</code> folder.</p>\n",
    );
    (status, page).into_response()
}

async fn not_built(uri: Uri) -> Response {
    if uri.path() == "/" || uri.path() == "/index.html" {
        not_built_page(StatusCode::OK)
    } else {
        not_built_page(StatusCode::NOT_FOUND)
    }
}

/// Adds the web app's files (or a "not built" page) to `api`.
pub fn with_static<S: Clone + Send + Sync + 'static>(
    api: Router<S>,
    static_dir: Option<PathBuf>,
) -> Router<S> {
    let api = api.route(
        "/api/{*rest}",
        any(|| async { ApiError::NotFound("No such API") }),
    );
    match static_dir.filter(|d| d.is_dir()) {
        Some(dir) => api.fallback_service(
            tower_http::services::ServeDir::new(&dir)
                .append_index_html_on_directories(true)
                .fallback(tower_http::services::ServeFile::new(dir.join("index.html"))),
        ),
        None => api.fallback(not_built),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Plain HTTP/1.0 GET against a served router: (status line, body).
    async fn get(app: Router, path: &str) -> (String, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        (head.lines().next().unwrap().to_owned(), body.to_owned())
    }

    #[tokio::test]
    async fn spa_fallback_serves_index_for_app_routes() {
        let dir = std::env::temp_dir().join(format!("olive-spa-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<main id=olive-app></main>").unwrap();
        std::fs::write(dir.join("app.js"), "js").unwrap();
        let app = || with_static(Router::new(), Some(dir.clone()));
        let index = "<main id=olive-app></main>".to_owned();
        for path in ["/", "/item/console", "/item/a%20b", "/anything/else"] {
            let (status, body) = get(app(), path).await;
            assert!(status.contains("200"), "{path}: {status}");
            assert_eq!(body, index, "{path}");
        }
        assert_eq!(get(app(), "/app.js").await.1, "js");
        let (status, body) = get(app(), "/api/nope").await;
        assert!(status.contains("404"), "{status}");
        assert_eq!(body, r#"{"error":"No such API"}"#);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
