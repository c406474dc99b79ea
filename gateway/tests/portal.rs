//! What portals and library systems use, against a running gateway: a real OAI-PMH
//! harvester (Sickle, from PyPI) harvests the collection; signed launch links open items
//! that are not public and every bad link is refused before a QEMU starts; item pages carry
//! their own description for crawlers and link previews.
//!
//! Only the one valid signed launch boots the test guest (under the QEMU lock); the rest
//! needs a gateway but no VM.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use olive_gateway::admin::request;
use olive_gateway::model::SigningKey;
use olive_gateway::net::control::VmState;
use olive_gateway::portal::grant::Grant;
use olive_gateway::{Config, Server};

const KEY: &str = "test-secret-key-0123456789";
const PORTAL_SECRET: &str = "portal-secret-0123456789abcdef-0123456789";

/// A collection of five items (one not public) whose machines are never started here,
/// plus the test guest as a portal-only item.
fn config(s: &olive_test_support::Scratch, extra: &str) -> Config {
    let item = |id: &str, title: &str, more: &str| {
        format!(
            "[[item]]\nid = \"{id}\"\ntitle = \"{title}\"\n{more}\n[item.machine]\ndisk = \"blank.qcow2\"\nmemory_mb = 64\n\n"
        )
    };
    let mut text = format!(
        r#"
listen = "127.0.0.1:0"
token_port = 0
secret_key = "{KEY}"
data_dir = "data"
static_dir = "dist"
{extra}

[qemu]
accelerator = "tcg"

[portal]
repository_name = "Olive test collection"
admin_email = "curator@example.org"
oai_page_size = 2
[[portal.key]]
name = "museum-2026"
secret = "{PORTAL_SECRET}"

"#
    );
    text += &item(
        "doom",
        "Doom",
        "creator = \"id Software\"\nyear = 1993\ndescription = \"Rip & tear <3\"\nrights = \"GPL-2.0 engine, BSD Freedoom\"\ngroup = \"Games\"",
    );
    text += &item(
        "xbill",
        "XBill",
        "creator = \"Brian Wellington\"\nyear = 1994\ngroup = \"Games\"",
    );
    text += &item("hidden", "Portal only", "public = false\ngroup = \"Games\"");
    text += &item("scene-a", "Scene A", "group = \"Test patterns\"");
    text += &item("scene-b", "Scene B", "group = \"Test patterns\"");
    text += &common::guest_item().replace("id = \"guest\"", "id = \"guest\"\npublic = false");
    let path = s.path().join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::create_dir_all(s.path().join("dist")).unwrap();
    std::fs::write(
        s.path().join("dist/index.html"),
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\" /><title>Olive</title></head><body><main id=\"olive-app\"></main></body></html>",
    )
    .unwrap();
    Config::load(&path).unwrap()
}

async fn bounded<F: std::future::Future<Output = ()>>(secs: u64, f: F) {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("test timed out");
}

const HARVEST: &str = r#"
import json, sys
from sickle import Sickle
base = sys.argv[1]
s = Sickle(base, max_retries=0)
out = {}
ident = s.Identify()
out["identify"] = {"name": ident.repositoryName, "version": ident.protocolVersion,
                   "base": ident.baseURL, "email": ident.adminEmail}
out["records"] = [{"id": r.header.identifier, "sets": r.header.setSpecs, "md": r.metadata}
                  for r in s.ListRecords(metadataPrefix="oai_dc")]
out["sets"] = [[x.setSpec, x.setName] for x in s.ListSets()]
out["games"] = [h.identifier for h in s.ListIdentifiers(metadataPrefix="oai_dc", set="games")]
out["formats"] = [f.metadataPrefix for f in s.ListMetadataFormats()]
first = out["records"][0]["id"]
out["get"] = s.GetRecord(identifier=first, metadataPrefix="oai_dc").metadata
def code(f):
    try:
        f()
        return "none"
    except Exception as e:
        return type(e).__name__
out["errors"] = {
    "cannotDisseminateFormat": code(lambda: list(s.ListRecords(metadataPrefix="marc21"))),
    "idDoesNotExist": code(lambda: s.GetRecord(identifier="oai:nowhere:nope", metadataPrefix="oai_dc")),
    "badResumptionToken": code(lambda: list(s.ListRecords(resumptionToken="junk"))),
    "noRecordsMatch": code(lambda: list(s.ListRecords(metadataPrefix="oai_dc", set="nope"))),
}
print(json.dumps(out))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_harvester_gets_every_public_item_as_dublin_core() {
    let python = olive_tests::harvester::ensure_sickle().expect("Sickle for the OAI-PMH test");
    let s = common::scratch("oai");
    let server = Server::start(config(&s, "")).await.unwrap();
    let base = format!("http://{}/oai", server.http_addr());
    let script = s.path().join("harvest.py");
    std::fs::write(&script, HARVEST).unwrap();
    bounded(120, async {
        let out = tokio::process::Command::new(&python)
            .arg(&script)
            .arg(&base)
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "harvest failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        println!("harvested: {v:#}");
        assert_eq!(v["identify"]["name"], "Olive test collection");
        assert_eq!(v["identify"]["version"], "2.0");
        assert_eq!(v["identify"]["base"], base);
        assert_eq!(v["identify"]["email"], "curator@example.org");
        let host = server.http_addr().ip().to_string();
        let ids: Vec<&str> = v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        // Five public items over three pages of two: Sickle followed the resumption tokens.
        let want: Vec<String> = ["doom", "xbill", "scene-a", "scene-b"]
            .iter()
            .map(|id| format!("oai:{host}:{id}"))
            .collect();
        assert_eq!(
            ids, want,
            "every public item once, in catalog order; none of the portal-only ones"
        );
        let doom = &v["records"][0]["md"];
        assert_eq!(doom["title"][0], "Doom");
        assert_eq!(doom["creator"][0], "id Software");
        assert_eq!(doom["date"][0], "1993");
        assert_eq!(doom["description"][0], "Rip & tear <3");
        assert_eq!(doom["rights"][0], "GPL-2.0 engine, BSD Freedoom");
        assert_eq!(doom["type"][0], "Software");
        assert!(doom["format"][0].as_str().is_some_and(|f| !f.is_empty()));
        let page = format!("http://{}/item/doom", server.http_addr());
        assert!(
            doom["identifier"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| *i == page.as_str()),
            "{doom}"
        );
        assert_eq!(v["records"][0]["sets"][0], "games");
        assert_eq!(
            v["sets"],
            serde_json::json!([["games", "Games"], ["test-patterns", "Test patterns"]])
        );
        assert_eq!(
            v["games"],
            serde_json::json!([format!("oai:{host}:doom"), format!("oai:{host}:xbill")])
        );
        assert_eq!(v["formats"], serde_json::json!(["oai_dc"]));
        assert_eq!(v["get"]["title"][0], "Doom");
        for (code, exception) in [
            ("cannotDisseminateFormat", "CannotDisseminateFormat"),
            ("idDoesNotExist", "IdDoesNotExist"),
            ("badResumptionToken", "BadResumptionToken"),
            ("noRecordsMatch", "NoRecordsMatch"),
        ] {
            assert_eq!(v["errors"][code], exception, "{code}");
        }
        // Verbs and arguments the harvester library will not send.
        for (query, code) in [
            ("verb=Nope", "badVerb"),
            ("verb=ListRecords", "badArgument"),
            ("verb=Identify&extra=1", "badArgument"),
            (
                "verb=ListRecords&metadataPrefix=oai_dc&from=2020-01-01&until=2020-01-01T00:00:00Z",
                "badArgument",
            ),
        ] {
            let r = request(
                server.http_addr(),
                "GET",
                &format!("/oai?{query}"),
                None,
                None,
            )
            .await
            .unwrap();
            assert_eq!(r.status, 200, "{query}");
            assert!(
                r.body.contains(&format!("<error code=\"{code}\">")),
                "{query}: {}",
                r.body
            );
        }
    })
    .await;
    server.shutdown().await;
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn portal_key() -> SigningKey {
    SigningKey {
        name: "museum-2026".into(),
        secret: PORTAL_SECRET.as_bytes().to_vec(),
    }
}

fn create_body(item: &str, g: Option<&Grant>) -> String {
    match g {
        None => format!(r#"{{"item": "{item}"}}"#),
        Some(g) => serde_json::json!({
            "item": item,
            "grant": {"expires": g.expires, "key": g.key, "sig": g.sig, "seat": g.seat},
        })
        .to_string(),
    }
}

fn qemu_count(s: &olive_test_support::Scratch) -> usize {
    olive_test_support::process::pids_naming(&s.path().display().to_string()).len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_links_open_portal_only_items_and_bad_ones_start_nothing() {
    let s = common::scratch("signed");
    let server = Server::start(config(&s, "")).await.unwrap();
    let addr = server.http_addr();
    let key = portal_key();
    let now = unix_now();
    bounded(150, async {
        let wrong_secret = SigningKey {
            secret: b"another-secret-0123456789abcdef-0123456789".to_vec(),
            ..portal_key()
        };
        let mut tampered = Grant::sign("guest", now + 600, None, &key);
        tampered.expires += 1;
        let unknown = SigningKey {
            name: "old-key".into(),
            ..portal_key()
        };
        let refused = [
            ("no signature", None),
            (
                "wrong secret",
                Some(Grant::sign("guest", now + 600, None, &wrong_secret)),
            ),
            ("expired", Some(Grant::sign("guest", now - 1, None, &key))),
            (
                "signed for another item",
                Some(Grant::sign("doom", now + 600, None, &key)),
            ),
            ("expiry changed after signing", Some(tampered)),
            (
                "unknown key",
                Some(Grant::sign("guest", now + 600, None, &unknown)),
            ),
        ];
        for (what, grant) in &refused {
            let r = request(
                addr,
                "POST",
                "/api/instances",
                None,
                Some(&create_body("guest", grant.as_ref())),
            )
            .await
            .unwrap();
            assert_eq!(r.status, 403, "{what}: {}", r.body);
            let msg = r.json().unwrap()["error"].as_str().unwrap().to_owned();
            println!("{what}: 403 {msg:?}");
            assert!(!msg.is_empty());
            assert!(
                server.registry().list().is_empty(),
                "{what}: an instance was made"
            );
            assert_eq!(qemu_count(&s), 0, "{what}: a QEMU was started");
        }
        // The portal-only items are neither listed nor described without a grant.
        let c = request(addr, "GET", "/api/collection", None, None)
            .await
            .unwrap();
        assert!(
            !c.body.contains("\"guest\"") && !c.body.contains("\"hidden\""),
            "{}",
            c.body
        );
        let r = request(addr, "GET", "/api/items/guest", None, None)
            .await
            .unwrap();
        assert_eq!(r.status, 403);
        let g = Grant::sign("guest", now + 600, None, &key);
        let q = format!(
            "/api/items/guest?expires={}&key={}&sig={}",
            g.expires, g.key, g.sig
        );
        let r = request(addr, "GET", &q, None, None).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json().unwrap()["title"], "Test guest");

        // A valid link launches.
        let _lock = olive_tests::qemu_lock();
        let r = request(
            addr,
            "POST",
            "/api/instances",
            None,
            Some(&create_body("guest", Some(&g))),
        )
        .await
        .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        let id = r.json().unwrap()["id"].as_str().unwrap().to_owned();
        let deadline = Instant::now() + Duration::from_secs(90);
        while server.registry().handle(&id).map(|h| h.state()) != Some(VmState::Running) {
            assert!(Instant::now() < deadline, "the signed launch never ran");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_pages_describe_themselves_to_crawlers() {
    let s = common::scratch("describe");
    let server = Server::start(config(&s, "")).await.unwrap();
    let addr = server.http_addr();
    bounded(30, async {
        let r = request(addr, "GET", "/item/doom", None, None)
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        let page = &r.body;
        assert!(page.contains("<title>Doom — Olive</title>"), "{page}");
        assert!(
            page.contains("<meta property=\"og:title\" content=\"Doom\" />"),
            "{page}"
        );
        assert!(page.contains("content=\"Rip &amp; tear &lt;3\""), "{page}");
        assert!(
            page.contains("<main id=\"olive-app\"></main>"),
            "the app is still there"
        );
        let start = page.find("application/ld+json\">").unwrap() + "application/ld+json\">".len();
        let end = start + page[start..].find("</script>").unwrap();
        let ld: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
        assert_eq!(ld["@type"], "SoftwareApplication");
        assert_eq!(ld["name"], "Doom");
        assert_eq!(ld["creator"], "id Software");
        assert_eq!(ld["datePublished"], "1993");
        assert_eq!(ld["url"], format!("http://{addr}/item/doom"));
        // A portal-only item's page says nothing about it.
        let r = request(addr, "GET", "/item/hidden", None, None)
            .await
            .unwrap();
        assert!(r.body.contains("<title>Olive</title>") && !r.body.contains("Portal only"));
        // An unknown item gets the app, which says it is not there.
        let r = request(addr, "GET", "/item/nope", None, None)
            .await
            .unwrap();
        assert!(r.body.contains("<title>Olive</title>"));
    })
    .await;
    server.shutdown().await;
}
