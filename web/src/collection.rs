//! The collection page and the item page: what the museum shows before anything runs.

use wasm_bindgen::JsCast;
use web_sys::{HtmlButtonElement, HtmlElement};

use crate::api::Item;
use crate::router::Route;
use crate::ui::dom::{attr, button, el, text_el};

/// A rendered card (or item page) and its Run button.
pub(crate) struct ItemView {
    /// What the caller inserts into the page (the `<li>` card or the item `<article>`).
    pub(crate) root: HtmlElement,
    /// Returned so the app wires the click: the player must be created inside that
    /// user gesture, or the browser keeps its AudioContext suspended.
    pub(crate) run: HtmlButtonElement,
    /// The title link (collection cards only), routed without reloading.
    pub(crate) link: Option<HtmlElement>,
}

/// The "creator, year" line.
pub(crate) fn byline(item: &Item) -> String {
    let creator = item.creator.as_deref().filter(|c| !c.is_empty());
    match (creator, item.year) {
        (Some(c), Some(y)) => format!("{c}, {y}"),
        (Some(c), None) => c.to_owned(),
        (None, Some(y)) => y.to_string(),
        (None, None) => String::new(),
    }
}

fn run_button(item: &Item) -> HtmlButtonElement {
    let b = button("Run", "run", Some(&format!("Run {}", item.title)));
    attr(&b, "data-item", &item.id);
    b
}

/// `heading` is the title's element; `linked`: the title links to the item page.
fn details(item: &Item, into: &HtmlElement, heading: &str, linked: bool) -> Option<HtmlElement> {
    if let Some(src) = item.thumbnail.as_deref().filter(|s| !s.is_empty()) {
        let img = el("img", "thumb");
        attr(&img, "src", src);
        attr(&img, "alt", &format!("Screenshot of {}", item.title));
        attr(&img, "loading", "lazy");
        let _ = into.append_child(&img);
    }
    let h = el(heading, "title");
    let link = if linked {
        let a = text_el("a", "", &item.title);
        attr(&a, "href", &Route::Item(item.id.clone()).path());
        let _ = h.append_child(&a);
        Some(a)
    } else {
        h.set_text_content(Some(&item.title));
        None
    };
    let _ = into.append_child(&h);
    let by = byline(item);
    if !by.is_empty() {
        let _ = into.append_child(&text_el("p", "byline", &by));
    }
    if let Some(d) = item.description.as_deref().filter(|d| !d.is_empty()) {
        let _ = into.append_child(&text_el("p", "description", d));
    }
    if let Some(rights) = item.rights.as_deref().filter(|r| !r.is_empty()) {
        let r = text_el("p", "rights", rights);
        attr(&r, "aria-label", "Rights statement");
        let _ = into.append_child(&r);
    }
    link
}

/// One card of the collection list; its title is a `heading` (`h2` on a page without
/// groups, `h3` under a group's `h2`).
pub(crate) fn card(item: &Item, heading: &str) -> ItemView {
    let li: HtmlElement = el("li", "card");
    let article = el("article", "");
    attr(&article, "data-id", &item.id);
    let link = details(item, &article, heading, true);
    let run = run_button(item);
    let _ = article.append_child(&run);
    let _ = li.append_child(&article);
    ItemView {
        root: li,
        run,
        link,
    }
}

/// The item page's header (the player goes below it).
pub(crate) fn item_page(item: &Item) -> ItemView {
    let article = el("article", "item");
    attr(&article, "data-id", &item.id);
    let info = el("div", "item-info");
    details(item, &info, "h1", false);
    let run = run_button(item);
    let _ = info.append_child(&run);
    let _ = article.append_child(&info);
    ItemView {
        root: article,
        run,
        link: None,
    }
}

/// The list element for cards, named for screen readers (`Collection` or the group).
pub(crate) fn list(label: &str) -> HtmlElement {
    let ul = el("ul", "collection");
    attr(&ul, "aria-label", label);
    ul.unchecked_into()
}

/// The items by `group`, groups in the order the catalog first names them (the curator's
/// order: the gateway keeps the configuration's order), the items without a group first.
/// A collection without any group is one unnamed group.
pub(crate) fn grouped(items: &[Item]) -> Vec<(Option<&str>, Vec<&Item>)> {
    let mut out: Vec<(Option<&str>, Vec<&Item>)> = Vec::new();
    for item in items {
        let g = item.group.as_deref().filter(|g| !g.is_empty());
        match out.iter_mut().find(|(name, _)| *name == g) {
            Some((_, members)) => members.push(item),
            None => out.push((g, vec![item])),
        }
    }
    out.sort_by_key(|(name, _)| name.is_some());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(creator: Option<&str>, year: Option<u32>) -> Item {
        Item {
            id: "x".into(),
            title: "X".into(),
            creator: creator.map(str::to_owned),
            year,
            ..Item::default()
        }
    }

    fn in_group(id: &str, group: Option<&str>) -> Item {
        Item {
            id: id.into(),
            group: group.map(str::to_owned),
            ..Item::default()
        }
    }

    #[test]
    fn groups_keep_the_catalog_order_with_ungrouped_items_first() {
        let items = [
            in_group("doom", Some("Games")),
            in_group("flat", Some("Test patterns")),
            in_group("xdesk", Some("Games")),
            in_group("loose", None),
            in_group("empty", Some("")),
        ];
        let g = grouped(&items);
        fn ids<'a>(m: &[&'a Item]) -> Vec<&'a str> {
            m.iter().map(|i| i.id.as_str()).collect()
        }
        assert_eq!(g.len(), 3);
        assert_eq!((g[0].0, ids(&g[0].1)), (None, vec!["loose", "empty"]));
        assert_eq!(
            (g[1].0, ids(&g[1].1)),
            (Some("Games"), vec!["doom", "xdesk"])
        );
        assert_eq!(
            (g[2].0, ids(&g[2].1)),
            (Some("Test patterns"), vec!["flat"])
        );
        assert_eq!(grouped(&[in_group("a", None)]).len(), 1);
    }

    #[test]
    fn bylines() {
        assert_eq!(byline(&item(Some("Maxis"), Some(1989))), "Maxis, 1989");
        assert_eq!(byline(&item(Some("Maxis"), None)), "Maxis");
        assert_eq!(byline(&item(None, Some(1990))), "1990");
        assert_eq!(byline(&item(Some(""), None)), "");
        assert_eq!(byline(&item(None, None)), "");
    }
}
