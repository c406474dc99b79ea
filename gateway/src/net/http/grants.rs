//! The one place the HTTP layer checks a portal's launch grant, for the create route and
//! the single-item route alike (the signature rules are in [`crate::portal::grant`]).

use olive_api::LaunchGrant;

use super::AppState;
use crate::portal::grant::{Grant, GrantError};

/// Whether `grant` opens `item` now.
pub(super) fn verify(st: &AppState, item: &str, grant: &LaunchGrant) -> Result<(), GrantError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Grant {
        expires: grant.expires,
        seat: grant.seat.clone(),
        key: grant.key.clone(),
        sig: grant.sig.clone(),
    }
    .verify(item, &st.config.portal.keys, now)
}
