//! What portals and library systems get from the gateway: signed launch links
//! ([`grant`]), an OAI-PMH repository of the collection ([`oai`]), and item pages that
//! describe themselves to search engines and link previews ([`describe`]).
//!
//! Pure (no sockets, no files): `net::http` serves them.

pub mod describe;
pub mod grant;
pub mod oai;
