//! Item pages that describe themselves: the HTML the gateway serves for `/item/<id>` carries
//! the item's title, a description, Open Graph tags and schema.org `SoftwareApplication`
//! JSON-LD, because search engines and link previews (chat apps, social sites) read the
//! served HTML and run no WebAssembly.

use serde_json::json;

use crate::model::ItemMeta;

/// `<head>` elements for the item `id` at `site` (the public address, no trailing slash).
pub fn item_head(site: &str, id: &str, meta: &ItemMeta) -> String {
    let url = format!("{site}/item/{}", percent(id));
    let title = format!("{} — Olive", meta.title);
    let description = meta.description.clone().unwrap_or_else(|| {
        let by = meta
            .creator
            .as_deref()
            .map(|c| format!(" by {c}"))
            .unwrap_or_default();
        let year = meta.year.map(|y| format!(" ({y})")).unwrap_or_default();
        format!(
            "{}{by}{year}, preserved software you can run in your browser.",
            meta.title
        )
    });
    let mut ld = json!({
        "@context": "https://schema.org",
        "@type": "SoftwareApplication",
        "name": meta.title,
        "url": url,
        "description": description,
        "isAccessibleForFree": true,
    });
    let obj = ld.as_object_mut().expect("a JSON object literal");
    if let Some(c) = &meta.creator {
        obj.insert("creator".into(), json!(c));
    }
    if let Some(y) = meta.year {
        obj.insert("datePublished".into(), json!(y.to_string()));
    }
    if let Some(r) = &meta.rights {
        obj.insert("copyrightNotice".into(), json!(r));
    }
    if let Some(t) = &meta.thumbnail {
        obj.insert("image".into(), json!(absolute(site, t)));
    }
    if let Some(g) = &meta.group {
        obj.insert("genre".into(), json!(g));
    }
    let mut head = String::new();
    head.push_str(&format!("<title>{}</title>\n", html(&title)));
    head.push_str(&format!(
        "<meta name=\"description\" content=\"{}\" />\n",
        html(&description)
    ));
    head.push_str(&format!(
        "<link rel=\"canonical\" href=\"{}\" />\n",
        html(&url)
    ));
    for (property, value) in [
        ("og:type", "website".to_owned()),
        ("og:site_name", "Olive".to_owned()),
        ("og:title", meta.title.clone()),
        ("og:description", description.clone()),
        ("og:url", url.clone()),
    ] {
        head.push_str(&format!(
            "<meta property=\"{property}\" content=\"{}\" />\n",
            html(&value)
        ));
    }
    if let Some(t) = &meta.thumbnail {
        head.push_str(&format!(
            "<meta property=\"og:image\" content=\"{}\" />\n",
            html(&absolute(site, t))
        ));
    }
    head.push_str(&format!(
        "<script type=\"application/ld+json\">{}</script>\n",
        script_json(&ld)
    ));
    head
}

/// `<head>` elements of `/embed/<id>`, the player alone in a portal's iframe: the title,
/// no indexing (the item page is the one to find), and the origins whose pages may send the
/// player commands (the app reads them; the gateway's `frame-ancestors` and CORS enforce
/// the same list).
pub fn embed_head(meta: &ItemMeta, embed_origins: &[String]) -> String {
    format!(
        "<title>{} — Olive</title>\n<meta name=\"robots\" content=\"noindex\">\n\
         <meta name=\"olive-embed-origins\" content=\"{}\">",
        html(&meta.title),
        html(&embed_origins.join(" "))
    )
}

/// `page` (the app's `index.html`) with its `<title>` replaced by `head`, or `head` put
/// before `</head>` when the page has no title.
pub fn inject(page: &str, head: &str) -> String {
    if let (Some(start), Some(end)) = (page.find("<title>"), page.find("</title>")) {
        if start < end {
            let end = end + "</title>".len();
            return format!("{}{}{}", &page[..start], head, &page[end..]);
        }
    }
    match page.find("</head>") {
        Some(i) => format!("{}{}{}", &page[..i], head, &page[i..]),
        None => format!("{head}{page}"),
    }
}

fn absolute(site: &str, url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        url.to_owned()
    } else {
        format!("{site}/{}", url.trim_start_matches('/'))
    }
}

/// Text for an HTML attribute or element.
fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that cannot end its `<script>` element: `<`, `>` and `&` occur only inside JSON
/// strings, where their `\u` escapes mean the same.
fn script_json(v: &serde_json::Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// Item ids are `A-Z a-z 0-9 - _ .`, which need no escaping in a path; anything else is
/// escaped anyway, in case that rule ever loosens.
fn percent(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doom() -> ItemMeta {
        ItemMeta {
            title: "Doom </script><b>".into(),
            creator: Some("id Software".into()),
            year: Some(1993),
            description: Some("Rip & \"tear\"".into()),
            rights: None,
            thumbnail: Some("/thumbs/doom.png".into()),
            group: None,
        }
    }

    #[test]
    fn the_head_describes_the_item_and_escapes_it() {
        let head = item_head("https://o.example", "doom", &doom());
        assert!(
            head.contains("<title>Doom &lt;/script&gt;&lt;b&gt; — Olive</title>"),
            "{head}"
        );
        assert!(head.contains("property=\"og:description\" content=\"Rip &amp; &quot;tear&quot;\""));
        assert!(head.contains("content=\"https://o.example/thumbs/doom.png\""));
        assert!(!head.contains("</script><b>"), "{head}");
        let start = head.find("application/ld+json\">").unwrap() + "application/ld+json\">".len();
        let end = head[start..].find("</script>").unwrap() + start;
        let ld: serde_json::Value = serde_json::from_str(&head[start..end]).unwrap();
        assert_eq!(ld["@type"], "SoftwareApplication");
        assert_eq!(ld["name"], "Doom </script><b>");
        assert_eq!(ld["datePublished"], "1993");
        assert_eq!(ld["url"], "https://o.example/item/doom");
    }

    #[test]
    fn injection_replaces_the_title() {
        let page =
            "<html><head><meta charset=utf-8><title>Olive</title></head><body></body></html>";
        let out = inject(page, "<title>X</title><meta name=a>");
        assert_eq!(out, "<html><head><meta charset=utf-8><title>X</title><meta name=a></head><body></body></html>");
        assert_eq!(inject("<head></head>", "<t>"), "<head><t></head>");
    }
}
