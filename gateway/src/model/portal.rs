//! What the gateway tells portals and library systems: the public address, the harvesting
//! repository's identity, and the keys portals sign launch links with.
//!
//! Pure data, built by `config` and read by `portal` and `net`.

/// A key a portal's backend signs launch links with. Keys have names so that a portal can
/// move to a new secret while links signed with the old one are still in circulation.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// Named in each link (`key=NAME`), so the gateway knows which secret to check.
    pub name: String,
    /// The shared secret; never logged (see the `Debug` impl).
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("name", &self.name)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The `[portal]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortalSettings {
    /// The address visitors reach the gateway at (`https://olive.example.org`, no trailing
    /// slash). OAI-PMH's `baseURL` and record identifiers must not change with the `Host` a
    /// harvester happened to use, so the configured address wins; without one the request's
    /// `Host` is used.
    pub public_url: Option<String>,
    /// OAI-PMH `repositoryName`.
    pub repository_name: String,
    /// OAI-PMH `adminEmail`: the protocol requires at least one.
    pub admin_email: String,
    /// Records per OAI-PMH list response before a resumption token.
    pub page_size: usize,
    /// Keys accepted on signed launch links.
    pub keys: Vec<SigningKey>,
    /// Origins allowed to embed the player (`/embed/<item>`, `<olive-player>`) and to send it
    /// commands.
    pub embed_origins: Vec<String>,
}

/// Records per page when the configuration does not say.
pub const DEFAULT_OAI_PAGE_SIZE: usize = 100;

impl Default for PortalSettings {
    fn default() -> PortalSettings {
        PortalSettings {
            public_url: None,
            repository_name: "Olive".to_owned(),
            admin_email: "root@localhost".to_owned(),
            page_size: DEFAULT_OAI_PAGE_SIZE,
            keys: Vec::new(),
            embed_origins: Vec::new(),
        }
    }
}
