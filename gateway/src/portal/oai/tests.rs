use super::*;
use crate::model::{Disk, Hardware, Item, Machine, MachineSource};

fn item(id: &str, title: &str, group: Option<&str>, access: Access) -> Item {
    Item {
        id: id.into(),
        meta: ItemMeta {
            title: title.into(),
            creator: Some("id Software & <Freedoom>".into()),
            year: Some(1993),
            description: Some("A \"classic\" & more".into()),
            rights: Some("BSD".into()),
            thumbnail: None,
            group: group.map(str::to_owned),
        },
        machine: MachineSource::Local(Machine::new(
            Hardware::new(64, 1),
            Disk::File("/nonexistent".into()),
        )),
        access,
        keymap: crate::model::Keymap::default(),
        screen: None,
    }
}

fn repo(page_size: usize) -> Repository {
    let catalog = Catalog::new(vec![
        item("doom", "Doom", Some("Games"), Access::Public),
        item("xdesk", "X desktop", None, Access::Public),
        item("secret", "Portal only", Some("Games"), Access::SignedOnly),
        item("scene-a", "Scene A", Some("Test patterns"), Access::Public),
        item("scene-b", "Scene B", Some("Test patterns"), Access::Public),
    ]);
    let settings = PortalSettings {
        page_size,
        ..PortalSettings::default()
    };
    let at = request::parse_date("2026-01-02T03:04:05Z").unwrap().at;
    Repository::new(&catalog, settings, at)
}

fn ask(r: &Repository, query: &str) -> String {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let at = Endpoint {
        site: "https://olive.example.org".into(),
    };
    let now = request::parse_date("2026-12-02T00:00:00Z").unwrap().at;
    r.respond(&at, &pairs, now).unwrap()
}

fn error_code(xml: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .find(|n| n.has_tag_name("error"))
        .and_then(|n| n.attribute("code").map(str::to_owned))
}

fn texts(xml: &str, tag: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.tag_name().name() == tag)
        .map(|n| n.text().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn identify_names_the_repository() {
    let xml = ask(&repo(10), "verb=Identify");
    assert_eq!(error_code(&xml), None, "{xml}");
    assert_eq!(texts(&xml, "baseURL"), ["https://olive.example.org/oai"]);
    assert_eq!(texts(&xml, "protocolVersion"), ["2.0"]);
    assert_eq!(texts(&xml, "earliestDatestamp"), ["2026-01-02T03:04:05Z"]);
    assert_eq!(texts(&xml, "repositoryIdentifier"), ["olive.example.org"]);
}

#[test]
fn records_are_dublin_core_of_public_items_only() {
    let xml = ask(&repo(10), "verb=ListRecords&metadataPrefix=oai_dc");
    assert_eq!(error_code(&xml), None, "{xml}");
    assert_eq!(
        texts(&xml, "identifier")
            .into_iter()
            .filter(|i| i.starts_with("oai:"))
            .collect::<Vec<_>>(),
        [
            "oai:olive.example.org:doom",
            "oai:olive.example.org:xdesk",
            "oai:olive.example.org:scene-a",
            "oai:olive.example.org:scene-b"
        ]
    );
    assert_eq!(texts(&xml, "creator")[0], "id Software & <Freedoom>");
    assert_eq!(texts(&xml, "description")[0], "A \"classic\" & more");
    assert_eq!(texts(&xml, "type")[0], "Software");
    assert_eq!(texts(&xml, "date")[0], "1993");
    assert!(texts(&xml, "identifier").contains(&"https://olive.example.org/item/doom".to_owned()));
    assert!(
        !xml.contains("secret"),
        "a portal-only item is harvested: {xml}"
    );
    assert!(texts(&xml, "resumptionToken").is_empty());
}

#[test]
fn paging_walks_every_record_once() {
    let r = repo(3);
    let first = ask(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc");
    let ids = texts(&first, "identifier");
    assert_eq!(ids.len(), 3, "{first}");
    let token = texts(&first, "resumptionToken").remove(0);
    assert!(!token.is_empty());
    let next = ask(&r, &format!("verb=ListIdentifiers&resumptionToken={token}"));
    assert_eq!(
        texts(&next, "identifier"),
        ["oai:olive.example.org:scene-b"],
        "{next}"
    );
    assert_eq!(
        texts(&next, "resumptionToken"),
        [""],
        "the last page ends with an empty token"
    );
    let doc = roxmltree::Document::parse(&next).unwrap();
    let rt = doc
        .descendants()
        .find(|n| n.has_tag_name("resumptionToken"))
        .unwrap();
    assert_eq!(rt.attribute("completeListSize"), Some("4"));
    assert_eq!(rt.attribute("cursor"), Some("3"));
}

#[test]
fn sets_are_the_groups() {
    let r = repo(10);
    let sets = ask(&r, "verb=ListSets");
    assert_eq!(texts(&sets, "setSpec"), ["games", "test-patterns"]);
    let games = ask(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=games");
    assert_eq!(texts(&games, "identifier"), ["oai:olive.example.org:doom"]);
    let none = ask(&r, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=nope");
    assert_eq!(error_code(&none).as_deref(), Some("noRecordsMatch"));
}

#[test]
fn errors_use_the_protocol_codes() {
    let r = repo(10);
    for (q, code) in [
        ("verb=Nope", "badVerb"),
        ("", "badVerb"),
        ("verb=ListRecords", "badArgument"),
        (
            "verb=ListRecords&metadataPrefix=marc21",
            "cannotDisseminateFormat",
        ),
        (
            "verb=GetRecord&identifier=oai:olive.example.org:nope&metadataPrefix=oai_dc",
            "idDoesNotExist",
        ),
        (
            "verb=GetRecord&identifier=oai:olive.example.org:secret&metadataPrefix=oai_dc",
            "idDoesNotExist",
        ),
        (
            "verb=GetRecord&identifier=oai:olive.example.org:doom&metadataPrefix=x",
            "cannotDisseminateFormat",
        ),
        (
            "verb=ListRecords&resumptionToken=garbage",
            "badResumptionToken",
        ),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&from=2027-01-01",
            "noRecordsMatch",
        ),
        (
            "verb=ListRecords&metadataPrefix=oai_dc&until=2025-12-31",
            "noRecordsMatch",
        ),
        (
            "verb=ListMetadataFormats&identifier=oai:olive.example.org:nope",
            "idDoesNotExist",
        ),
    ] {
        let xml = ask(&r, q);
        assert_eq!(error_code(&xml).as_deref(), Some(code), "{q}: {xml}");
    }
    // badVerb/badArgument echo no arguments in <request>.
    let xml = ask(&r, "verb=Nope&x=1");
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let req = doc
        .descendants()
        .find(|n| n.has_tag_name("request"))
        .unwrap();
    assert_eq!(req.attributes().count(), 0);
    // A day granularity `until` includes that day.
    let xml = ask(
        &r,
        "verb=ListIdentifiers&metadataPrefix=oai_dc&until=2026-01-02",
    );
    assert_eq!(error_code(&xml), None, "{xml}");
}

#[test]
fn get_record_gives_one_record() {
    let xml = ask(
        &repo(10),
        "verb=GetRecord&identifier=oai:olive.example.org:xdesk&metadataPrefix=oai_dc",
    );
    assert_eq!(error_code(&xml), None, "{xml}");
    assert_eq!(texts(&xml, "title"), ["X desktop"]);
}
