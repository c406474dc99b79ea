//! `vmnetx-package.xml`: the package's name and which zip members hold the domain, disk and
//! (optional) memory image.

use roxmltree::Document;

/// The XML namespace of VMNetX package manifests.
pub const NAMESPACE: &str = "http://olivearchive.org/xmlns/vmnetx/package";
/// Largest manifest accepted (the real ones are a few hundred bytes).
pub const MAX_MANIFEST: usize = 64 << 10;

/// The manifest: the package's name and its members.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Manifest {
    /// The name shown for the package.
    pub name: String,
    /// The zip member holding the libvirt domain XML.
    pub domain: String,
    /// The zip member holding the disk image.
    pub disk: String,
    /// The zip member holding the memory image, when there is one.
    pub memory: Option<String>,
}

/// Why `vmnetx-package.xml` is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    /// Not well-formed XML.
    #[error("vmnetx-package.xml: {0}")]
    Xml(roxmltree::Error),
    /// Well-formed but not a manifest: wrong namespace or root, missing or repeated parts.
    #[error("vmnetx-package.xml: {0}")]
    Invalid(String),
}

/// Parses a manifest (`<image name=…>` with `domain`, `disk` and optional `memory` paths).
pub fn parse(xml: &str) -> Result<Manifest, ManifestError> {
    if xml.len() > MAX_MANIFEST {
        return Err(ManifestError::Invalid("larger than 64 KiB".into()));
    }
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    let doc = Document::parse_with_options(xml, opts).map_err(ManifestError::Xml)?;
    let root = doc.root_element();
    if root.tag_name().name() != "image" || root.tag_name().namespace() != Some(NAMESPACE) {
        return Err(ManifestError::Invalid(format!(
            "root must be <image xmlns=\"{NAMESPACE}\">"
        )));
    }
    let invalid = |m: String| ManifestError::Invalid(m);
    let name = root
        .attribute("name")
        .ok_or_else(|| invalid("<image> needs a name".into()))?;
    let (mut domain, mut disk, mut memory) = (None, None, None);
    for el in root.children().filter(|n| n.is_element()) {
        let tag = el.tag_name().name();
        let slot = match tag {
            "domain" => &mut domain,
            "disk" => &mut disk,
            "memory" => &mut memory,
            other => return Err(invalid(format!("unexpected element <{other}>"))),
        };
        let path = el
            .attribute("path")
            .ok_or_else(|| invalid(format!("<{tag}> needs a path")))?;
        if slot.replace(path.to_owned()).is_some() {
            return Err(invalid(format!("<{tag}> appears twice")));
        }
    }
    Ok(Manifest {
        name: name.to_owned(),
        domain: domain.ok_or_else(|| invalid("<domain> is required".into()))?,
        disk: disk.ok_or_else(|| invalid("<disk> is required".into()))?,
        memory,
    })
}
