//! [`ApiError`]: every way an API call fails, and the one place that turns it into a
//! status code and a JSON body (`{"error": "..."}`, with `Retry-After` where it applies).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use olive_api::ErrorBody;

use crate::instances::{CreateError, SaveError};

/// Seconds a client is told to wait when every instance slot is taken. Instances free up
/// on the idle timeout's scale, so retrying sooner than this is just load.
pub const RETRY_AFTER_SECS: u64 = 30;

/// A failed API call. The texts are shown to the caller (a visitor's page or an admin).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (its text says how).
    #[error("{0}")]
    BadRequest(String),
    /// 403: a wrong admin key, or a package host not trusted.
    #[error("{0}")]
    Forbidden(String),
    /// 404: the named thing (item, instance) does not exist.
    #[error("{0}")]
    NotFound(&'static str),
    /// 409: the instance is not in the state the request needs.
    #[error("{0}")]
    Conflict(String),
    /// A package server could not be read.
    #[error("{0}")]
    BadGateway(String),
    /// 503: the gateway cannot take it now (at capacity).
    #[error("{message}")]
    Unavailable {
        /// What the caller is told.
        message: String,
        /// Seconds for a `Retry-After` header, when a retry makes sense.
        retry_after: Option<u64>,
    },
    /// 429: this address asked too often; retry after `retry_after` seconds.
    #[error("{message}")]
    TooManyRequests {
        /// What the caller is told.
        message: String,
        /// Seconds for the `Retry-After` header.
        retry_after: u64,
    },
    /// Our fault: `public` is answered, `detail` logged.
    #[error("{public}")]
    Internal {
        /// The text answered (500).
        public: String,
        /// The text logged, with the cause.
        detail: String,
    },
}

impl ApiError {
    /// A 400 answer saying `message`.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::BadRequest(message.into())
    }

    /// A 403 answer saying `message`.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::Forbidden(message.into())
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal { detail, .. } = &self {
            tracing::error!("{detail}");
        }
        let status = self.status();
        let retry_after = match &self {
            ApiError::Unavailable { retry_after, .. } => *retry_after,
            ApiError::TooManyRequests { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        let body = Json(ErrorBody {
            error: self.to_string(),
        });
        match retry_after {
            Some(secs) => (status, [(header::RETRY_AFTER, secs.to_string())], body).into_response(),
            None => (status, body).into_response(),
        }
    }
}

impl From<CreateError> for ApiError {
    fn from(e: CreateError) -> ApiError {
        match e {
            CreateError::UnknownItem(_) => ApiError::NotFound("No such item"),
            CreateError::AtCapacity(_) | CreateError::SeatsFull(_) | CreateError::QueueFull => {
                ApiError::Unavailable {
                    message: e.to_string(),
                    retry_after: Some(RETRY_AFTER_SECS),
                }
            }
            CreateError::RateLimited(wait) => ApiError::TooManyRequests {
                message: e.to_string(),
                retry_after: wait.as_secs().max(1),
            },
            CreateError::Engine(_) => ApiError::Internal {
                public: "Cannot create instance".into(),
                detail: e.to_string(),
            },
        }
    }
}

impl From<SaveError> for ApiError {
    fn from(e: SaveError) -> ApiError {
        match e {
            SaveError::BadName(_) => ApiError::BadRequest(e.to_string()),
            SaveError::NoInstance => ApiError::NotFound("Not found"),
            SaveError::NotRunning => ApiError::Conflict(e.to_string()),
            SaveError::PackagesDir { .. } | SaveError::Engine(_) => ApiError::Internal {
                public: e.to_string(),
                detail: e.to_string(),
            },
        }
    }
}

/// `body` as JSON of `T`, whatever its `Content-Type` (admin tools and `curl -d` rarely
/// set one); `expected` says what was expected.
pub fn json_body<T: serde::de::DeserializeOwned>(
    body: &[u8],
    expected: &'static str,
) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::BadRequest(expected.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parts(e: ApiError) -> (u16, Option<String>, String) {
        let r = e.into_response();
        let status = r.status().as_u16();
        let retry = r
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        (status, retry, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn statuses_bodies_and_retry_after() {
        let full = ApiError::from(CreateError::AtCapacity(4));
        assert_eq!(
            parts(full).await,
            (
                503,
                Some("30".into()),
                r#"{"error":"all 4 instance slots are in use"}"#.into()
            )
        );
        let limited = ApiError::from(CreateError::RateLimited(std::time::Duration::from_secs(6)));
        assert_eq!(
            parts(limited).await,
            (
                429,
                Some("6".into()),
                r#"{"error":"too many machines requested from this address; try again in 6 s"}"#
                    .into()
            )
        );
        let unknown = ApiError::from(CreateError::UnknownItem("x".into()));
        assert_eq!(
            parts(unknown).await,
            (404, None, r#"{"error":"No such item"}"#.into())
        );
        // Our own failures show a short text; the detail goes to the log only.
        let engine = CreateError::Engine("/var/lib/olive/instances: Permission denied".into());
        let (status, _, body) = parts(engine.into()).await;
        assert_eq!(
            (status, body.as_str()),
            (500, r#"{"error":"Cannot create instance"}"#)
        );
        assert_eq!(parts(ApiError::from(SaveError::NotRunning)).await.0, 409);
        assert_eq!(
            parts(ApiError::forbidden("Missing secret key")).await.0,
            403
        );
        assert_eq!(
            parts(json_body::<olive_api::CreateRequest>(b"{nonsense", "Expected").unwrap_err())
                .await,
            (400, None, r#"{"error":"Expected"}"#.into())
        );
    }
}
