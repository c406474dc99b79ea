//! The attract loop: while nobody plays, the kiosk shows each title's saved screen (the
//! moment its package was made, `GET /api/items/{id}/screen`) with its title, one after
//! another, and invites a passer-by to press a key or touch the screen.

use olive_api::KioskItem;
use web_sys::HtmlElement;

use crate::api::Gateway;
use crate::router::encode;
use crate::ui::dom::{attr, el, text_el};

/// The loop's view.
pub(crate) struct Attract {
    /// The loop's figure (hidden while a title plays).
    pub(crate) root: HtmlElement,
    img: HtmlElement,
    caption: HtmlElement,
}

impl Attract {
    /// A hidden loop view.
    pub(crate) fn new() -> Attract {
        let root = el("figure", "kiosk-attract");
        root.set_id("olive-kiosk-attract");
        let img = el("img", "kiosk-screen");
        img.set_id("olive-kiosk-screen");
        let caption = text_el("figcaption", "kiosk-title", "");
        let hint = text_el(
            "p",
            "kiosk-hint",
            "Press any key or touch the screen to play",
        );
        let _ = root.append_child(&img);
        let _ = root.append_child(&caption);
        let _ = root.append_child(&hint);
        root.set_hidden(true);
        Attract { root, img, caption }
    }

    /// Shows `item`'s screen and title.
    pub(crate) fn show(&self, gw: &Gateway, item: &KioskItem) {
        if item.screen {
            let src = gw.http(&format!("/api/items/{}/screen", encode(&item.id)));
            attr(&self.img, "src", &src);
            attr(&self.img, "alt", &format!("{}, as it starts", item.title));
            self.img.set_hidden(false);
        } else {
            self.img.set_hidden(true);
        }
        self.caption.set_text_content(Some(&item.title));
        attr(&self.root, "data-item", &item.id);
        self.root.set_hidden(false);
    }

    /// Hides the loop (a title starts).
    pub(crate) fn hide(&self) {
        self.root.set_hidden(true);
    }
}
