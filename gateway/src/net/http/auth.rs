//! The admin key: routes that take an [`AdminKey`] answer only callers that send the
//! configured `X-Secret-Key` (compared in constant time; VMNetX's messages).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::AppState;

/// Proof that the request carried the right `X-Secret-Key`.
#[derive(Debug, Clone, Copy)]
pub struct AdminKey;

impl FromRequestParts<AppState> for AdminKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let Some(given) = parts.headers.get("x-secret-key") else {
            return Err(ApiError::forbidden("Missing secret key"));
        };
        let want = st.config.secret_key.as_bytes();
        if bool::from(given.as_bytes().ct_eq(want)) {
            Ok(AdminKey)
        } else {
            Err(ApiError::forbidden("Incorrect secret key"))
        }
    }
}
