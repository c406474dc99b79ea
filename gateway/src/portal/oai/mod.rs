//! OAI-PMH 2.0, so that library systems can harvest the collection into their catalogues
//! (the protocol of <https://www.openarchives.org/OAI/openarchivesprotocol.html>): all six
//! verbs, resumption tokens, the protocol's error codes, and Dublin Core (`oai_dc`) records
//! of every public item, with a set per collection group.
//!
//! Pure: [`Repository::respond`] turns the request's arguments into the response document;
//! `net::http::oai` only moves bytes. XML is written with quick-xml's writer, which escapes
//! text and attributes, never by pasting strings.

mod request;
mod token;

use std::io::Cursor;

use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub(crate) use request::{format_datestamp, OaiError, Verb};
use request::{ListArgs, ListStart};
use token::Position;

use crate::model::{Access, Catalog, ItemMeta, PortalSettings};

const OAI_NS: &str = "http://www.openarchives.org/OAI/2.0/";
const OAI_SCHEMA: &str =
    "http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd";
const DC_PREFIX: &str = "oai_dc";
const OAI_DC_NS: &str = "http://www.openarchives.org/OAI/2.0/oai_dc/";
const OAI_DC_XSD: &str = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd";
const DC_NS: &str = "http://purl.org/dc/elements/1.1/";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// A harvestable item.
#[derive(Debug, Clone)]
struct Record {
    id: String,
    meta: ItemMeta,
}

/// The collection as a harvester sees it: the public items of the catalog, one datestamp
/// (the items change only when the gateway loads its configuration), and the repository's
/// identity.
#[derive(Debug, Clone)]
pub struct Repository {
    records: Vec<Record>,
    settings: PortalSettings,
    datestamp: OffsetDateTime,
    fingerprint: String,
}

/// Where a response is served: the `baseURL` and the host for identifiers.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The public address of the gateway, without a trailing slash.
    pub site: String,
}

impl Endpoint {
    fn base_url(&self) -> String {
        format!("{}/oai", self.site)
    }

    /// The host of the site, the identifiers' namespace.
    fn host(&self) -> &str {
        let rest = self.site.split_once("://").map_or(&*self.site, |(_, r)| r);
        let host_port = rest.split('/').next().unwrap_or(rest);
        match host_port.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => host_port,
        }
    }
}

/// A group's set name as an OAI `setSpec` (letters, digits and `-_.!~*'()` are allowed;
/// we keep lower-case letters, digits and dashes).
fn set_spec(group: &str) -> String {
    let mut out = String::new();
    for c in group.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

impl Repository {
    /// The public items of `catalog`, last loaded at `datestamp`.
    pub fn new(
        catalog: &Catalog,
        settings: PortalSettings,
        datestamp: OffsetDateTime,
    ) -> Repository {
        let records: Vec<Record> = catalog
            .items()
            .filter(|i| i.access == Access::Public)
            .map(|i| Record {
                id: i.id.clone(),
                meta: i.meta.clone(),
            })
            .collect();
        let mut h = Sha256::new();
        h.update(format_datestamp(datestamp));
        for r in &records {
            h.update(r.id.as_bytes());
            h.update([0]);
        }
        let fingerprint = data_encoding::HEXLOWER.encode(&h.finalize()[..8]);
        Repository {
            records,
            settings,
            datestamp,
            fingerprint,
        }
    }

    /// The response document for the arguments `pairs` (query string or form body).
    pub fn respond(
        &self,
        at: &Endpoint,
        pairs: &[(String, String)],
        now: OffsetDateTime,
    ) -> std::io::Result<String> {
        let mut w = Writer::new_with_indent(Cursor::new(Vec::new()), b' ', 1);
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let parsed = request::parse(pairs);
        w.create_element("OAI-PMH")
            .with_attribute(("xmlns", OAI_NS))
            .with_attribute(("xmlns:xsi", XSI_NS))
            .with_attribute(("xsi:schemaLocation", OAI_SCHEMA))
            .write_inner_content(|w| -> std::io::Result<()> {
                text(w, "responseDate", &format_datestamp(now))?;
                let base = at.base_url();
                let echo = parsed.as_ref().err().is_none_or(OaiError::echoes_request);
                let mut req = w.create_element("request");
                if echo {
                    for (k, v) in pairs {
                        req = req.with_attribute((k.as_str(), v.as_str()));
                    }
                }
                req.write_text_content(BytesText::new(&base))?;
                let result = parsed.and_then(|verb| self.verb(w, at, &verb));
                if let Err(e) = result {
                    w.create_element("error")
                        .with_attribute(("code", e.code()))
                        .write_text_content(BytesText::new(&e.to_string()))?;
                }
                Ok(())
            })?;
        let bytes = w.into_inner().into_inner();
        Ok(String::from_utf8(bytes).unwrap_or_default())
    }

    /// Writes one verb's element, or says which error the protocol wants instead (checked
    /// before anything is written, so an error leaves no half element behind).
    fn verb(
        &self,
        w: &mut Writer<Cursor<Vec<u8>>>,
        at: &Endpoint,
        verb: &Verb,
    ) -> Result<(), OaiError> {
        let io =
            |_: std::io::Error| OaiError::BadArgument("the response could not be written".into());
        match verb {
            Verb::Identify => self.identify(w, at).map_err(io),
            Verb::ListMetadataFormats { identifier } => {
                if let Some(id) = identifier {
                    self.record(at, id)?;
                }
                formats(w).map_err(io)
            }
            Verb::ListSets { token } => {
                if token.is_some() {
                    return Err(OaiError::BadResumptionToken);
                }
                let sets = self.sets();
                if sets.is_empty() {
                    return Err(OaiError::NoSetHierarchy);
                }
                w.create_element("ListSets")
                    .write_inner_content(|w| -> std::io::Result<()> {
                        for (spec, name) in &sets {
                            w.create_element("set").write_inner_content(|w| {
                                text(w, "setSpec", spec)?;
                                text(w, "setName", name)
                            })?;
                        }
                        Ok(())
                    })
                    .map_err(io)?;
                Ok(())
            }
            Verb::GetRecord { identifier, prefix } => {
                let record = self.record(at, identifier)?;
                if prefix != DC_PREFIX {
                    return Err(OaiError::CannotDisseminateFormat);
                }
                w.create_element("GetRecord")
                    .write_inner_content(|w| self.write_record(w, at, record, true))
                    .map_err(io)?;
                Ok(())
            }
            Verb::ListIdentifiers(start) => self.list(w, at, start, false),
            Verb::ListRecords(start) => self.list(w, at, start, true),
        }
    }

    fn identify(&self, w: &mut Writer<Cursor<Vec<u8>>>, at: &Endpoint) -> std::io::Result<()> {
        w.create_element("Identify").write_inner_content(|w| {
            text(w, "repositoryName", &self.settings.repository_name)?;
            text(w, "baseURL", &at.base_url())?;
            text(w, "protocolVersion", "2.0")?;
            text(w, "adminEmail", &self.settings.admin_email)?;
            text(w, "earliestDatestamp", &format_datestamp(self.datestamp))?;
            text(w, "deletedRecord", "no")?;
            text(w, "granularity", "YYYY-MM-DDThh:mm:ssZ")?;
            if is_domain(at.host()) {
                w.create_element("description").write_inner_content(|w| {
                    w.create_element("oai-identifier")
                        .with_attribute(("xmlns", "http://www.openarchives.org/OAI/2.0/oai-identifier"))
                        .with_attribute(("xmlns:xsi", XSI_NS))
                        .with_attribute((
                            "xsi:schemaLocation",
                            "http://www.openarchives.org/OAI/2.0/oai-identifier http://www.openarchives.org/OAI/2.0/oai-identifier.xsd",
                        ))
                        .write_inner_content(|w| {
                            text(w, "scheme", "oai")?;
                            text(w, "repositoryIdentifier", at.host())?;
                            text(w, "delimiter", ":")?;
                            let sample = self.records.first().map_or("item", |r| r.id.as_str());
                            text(w, "sampleIdentifier", &identifier(at, sample))
                        })?;
                    Ok(())
                })?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// `(setSpec, setName)` of every group, in catalog order.
    fn sets(&self) -> Vec<(String, String)> {
        let mut sets: Vec<(String, String)> = Vec::new();
        for r in &self.records {
            if let Some(g) = &r.meta.group {
                let spec = set_spec(g);
                if !spec.is_empty() && !sets.iter().any(|(s, _)| *s == spec) {
                    sets.push((spec, g.clone()));
                }
            }
        }
        sets
    }

    fn record(&self, at: &Endpoint, oai_id: &str) -> Result<&Record, OaiError> {
        let local = oai_id
            .strip_prefix("oai:")
            .and_then(|r| r.strip_prefix(at.host()))
            .and_then(|r| r.strip_prefix(':'));
        local
            .and_then(|id| self.records.iter().find(|r| r.id == id))
            .ok_or_else(|| OaiError::IdDoesNotExist(oai_id.to_owned()))
    }

    fn matches(&self, r: &Record, args: &ListArgs) -> bool {
        let from_ok = args.from.is_none_or(|f| self.datestamp >= f.at);
        let until_ok = args.until.is_none_or(|u| {
            if u.day_only {
                self.datestamp < u.at + time::Duration::days(1)
            } else {
                self.datestamp <= u.at
            }
        });
        let set_ok = args
            .set
            .as_ref()
            .is_none_or(|s| r.meta.group.as_deref().map(set_spec).as_deref() == Some(s.as_str()));
        from_ok && until_ok && set_ok
    }

    fn list(
        &self,
        w: &mut Writer<Cursor<Vec<u8>>>,
        at: &Endpoint,
        start: &ListStart,
        full: bool,
    ) -> Result<(), OaiError> {
        let pos = match start {
            ListStart::New { prefix, args } => Position {
                prefix: prefix.clone(),
                args: args.clone(),
                offset: 0,
            },
            ListStart::Resume(t) => token::decode(t, &self.fingerprint)?,
        };
        if pos.prefix != DC_PREFIX {
            return Err(OaiError::CannotDisseminateFormat);
        }
        if let Some(set) = &pos.args.set {
            if !self.sets().iter().any(|(s, _)| s == set) {
                return Err(if self.sets().is_empty() {
                    OaiError::NoSetHierarchy
                } else {
                    OaiError::NoRecordsMatch
                });
            }
        }
        let all: Vec<&Record> = self
            .records
            .iter()
            .filter(|r| self.matches(r, &pos.args))
            .collect();
        if all.is_empty() {
            return Err(OaiError::NoRecordsMatch);
        }
        if pos.offset >= all.len() {
            return Err(OaiError::BadResumptionToken);
        }
        let end = (pos.offset + self.settings.page_size).min(all.len());
        let resumed = matches!(start, ListStart::Resume(_));
        let io =
            |_: std::io::Error| OaiError::BadArgument("the response could not be written".into());
        w.create_element(if full {
            "ListRecords"
        } else {
            "ListIdentifiers"
        })
        .write_inner_content(|w| -> std::io::Result<()> {
            for r in &all[pos.offset..end] {
                if full {
                    self.write_record(w, at, r, true)?;
                } else {
                    self.header(w, at, r)?;
                }
            }
            if end < all.len() || resumed {
                let next = (end < all.len()).then(|| {
                    token::encode(
                        &Position {
                            offset: end,
                            ..pos.clone()
                        },
                        &self.fingerprint,
                    )
                });
                w.create_element("resumptionToken")
                    .with_attribute(("completeListSize", all.len().to_string().as_str()))
                    .with_attribute(("cursor", pos.offset.to_string().as_str()))
                    .write_text_content(BytesText::new(next.as_deref().unwrap_or("")))?;
            }
            Ok(())
        })
        .map_err(io)?;
        Ok(())
    }

    fn header(
        &self,
        w: &mut Writer<Cursor<Vec<u8>>>,
        at: &Endpoint,
        r: &Record,
    ) -> std::io::Result<()> {
        w.create_element("header").write_inner_content(|w| {
            text(w, "identifier", &identifier(at, &r.id))?;
            text(w, "datestamp", &format_datestamp(self.datestamp))?;
            if let Some(g) = &r.meta.group {
                text(w, "setSpec", &set_spec(g))?;
            }
            Ok(())
        })?;
        Ok(())
    }

    fn write_record(
        &self,
        w: &mut Writer<Cursor<Vec<u8>>>,
        at: &Endpoint,
        r: &Record,
        with_metadata: bool,
    ) -> std::io::Result<()> {
        w.create_element("record").write_inner_content(|w| {
            self.header(w, at, r)?;
            if with_metadata {
                w.create_element("metadata")
                    .write_inner_content(|w| dublin_core(w, at, r))?;
            }
            Ok(())
        })?;
        Ok(())
    }
}

fn identifier(at: &Endpoint, id: &str) -> String {
    format!("oai:{}:{id}", at.host())
}

/// The `repositoryIdentifier` grammar: a domain name whose labels start with a letter.
fn is_domain(host: &str) -> bool {
    let labels: Vec<&str> = host.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            l.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn text(w: &mut Writer<Cursor<Vec<u8>>>, name: &str, value: &str) -> std::io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

fn formats(w: &mut Writer<Cursor<Vec<u8>>>) -> std::io::Result<()> {
    w.create_element("ListMetadataFormats")
        .write_inner_content(|w| {
            w.create_element("metadataFormat")
                .write_inner_content(|w| {
                    text(w, "metadataPrefix", DC_PREFIX)?;
                    text(w, "schema", OAI_DC_XSD)?;
                    text(w, "metadataNamespace", OAI_DC_NS)
                })?;
            Ok(())
        })?;
    Ok(())
}

/// The simple Dublin Core of one item.
fn dublin_core(w: &mut Writer<Cursor<Vec<u8>>>, at: &Endpoint, r: &Record) -> std::io::Result<()> {
    let m = &r.meta;
    w.create_element("oai_dc:dc")
        .with_attribute(("xmlns:oai_dc", OAI_DC_NS))
        .with_attribute(("xmlns:dc", DC_NS))
        .with_attribute(("xmlns:xsi", XSI_NS))
        .with_attribute((
            "xsi:schemaLocation",
            format!("{OAI_DC_NS} {OAI_DC_XSD}").as_str(),
        ))
        .write_inner_content(|w| {
            text(w, "dc:title", &m.title)?;
            if let Some(c) = &m.creator {
                text(w, "dc:creator", c)?;
            }
            if let Some(y) = m.year {
                text(w, "dc:date", &y.to_string())?;
            }
            if let Some(d) = &m.description {
                text(w, "dc:description", d)?;
            }
            if let Some(rights) = &m.rights {
                text(w, "dc:rights", rights)?;
            }
            text(w, "dc:type", "Software")?;
            text(
                w,
                "dc:format",
                "x86 PC virtual machine, played in a web browser",
            )?;
            text(w, "dc:identifier", &format!("{}/item/{}", at.site, r.id))?;
            if let Some(g) = &m.group {
                text(w, "dc:subject", g)?;
            }
            Ok(())
        })?;
    Ok(())
}

#[cfg(test)]
mod tests;
