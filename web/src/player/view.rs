//! The player's DOM: screen canvas (`#olive-screen`), cursor overlay, status line,
//! progress bar and the toolbar. Built once per Run; the player element (`#olive-player`)
//! carries the automation attributes (`data-state`, `data-instance`, `data-mouse-mode`,
//! `data-first-pixel-ms`, `data-audio-frames`, `data-scale`, `data-aspect`).

use wasm_bindgen::JsCast;
use web_sys::{
    HtmlButtonElement, HtmlCanvasElement, HtmlElement, HtmlInputElement, HtmlSelectElement,
};

use super::keys::KeyCombo;
use crate::ui::dom::{attr, button, el, text_el};

/// Handles to the player's elements.
#[derive(Clone)]
pub(crate) struct View {
    /// `#olive-player`: carries the automation attributes and is what full screen shows
    /// (the toolbar stays usable there).
    pub(crate) root: HtmlElement,
    /// The area the screen is fitted into: its size, not the window's, decides the scale.
    pub(crate) stage: HtmlElement,
    /// `#olive-screen`: the guest's surface at 1:1, scaled by CSS only; focusable, since
    /// keyboard events go to it.
    pub(crate) canvas: HtmlCanvasElement,
    /// Above the screen: draws the cursors a CSS cursor cannot show (see
    /// [`super::cursor`]).
    pub(crate) overlay: HtmlCanvasElement,
    /// The status line, a polite live region: screen readers announce state changes.
    pub(crate) status: HtmlElement,
    /// An alert for non-fatal failures (sound or the pointer shape lost, full screen
    /// refused), kept apart from the status so it does not hide that the machine still runs.
    pub(crate) notice: HtmlElement,
    /// The start-up progress bar (`role=progressbar`), shown only while the server
    /// reports progress (resuming from a memory image).
    pub(crate) progress: HtmlElement,
    /// The bar's filled part, whose width is the fraction.
    pub(crate) progress_bar: HtmlElement,
    /// The percentage and the estimated time left, in words.
    pub(crate) eta: HtmlElement,
    /// Fit, whole-pixel or original size (see [`super::geometry::ScaleMode`]).
    pub(crate) scale: HtmlSelectElement,
    /// The "4:3" toggle: pressed, the classic PC modes fill a 4:3 box as on a CRT (see
    /// [`super::geometry::Aspect`]).
    pub(crate) aspect: HtmlButtonElement,
    /// Key combinations the browser or the host system would take for itself
    /// (Ctrl+Alt+Del, Alt+Tab…), sent to the guest on choice.
    pub(crate) keys: HtmlSelectElement,
    /// Full screen toggle; `aria-pressed` follows the actual state, which Esc can change
    /// behind our back.
    pub(crate) fullscreen: HtmlButtonElement,
    /// The visitor's volume slider, applied on top of the guest's own mixer volume.
    pub(crate) volume: HtmlInputElement,
    /// The visitor's mute, independent of the guest's.
    pub(crate) mute: HtmlButtonElement,
    /// "Run again", shown once the session is final; the app wires it, since a new Run
    /// replaces this player.
    pub(crate) retry: HtmlButtonElement,
    /// The on-screen keyboard, for touch devices and keys a physical keyboard lacks.
    pub(crate) osk: super::osk::Osk,
    /// The Type-text box, for text a guest without an agent cannot take as a paste.
    pub(crate) typebox: super::typebox::TypeBox,
    pub(crate) clipbox: super::clipboard::ClipBox,
}

/// The player's accessible name.
fn root_label(title: &str) -> String {
    format!("Player: {title}")
}

/// The screen's accessible name.
fn screen_label(title: &str) -> String {
    format!("Screen of {title}. Click to use keyboard and mouse.")
}

impl View {
    /// Names `title` in the labels [`View::new`] wrote.
    pub(crate) fn set_title(&self, title: &str) {
        attr(&self.root, "aria-label", &root_label(title));
        attr(&self.canvas, "aria-label", &screen_label(title));
    }

    /// Builds the player for `title`.
    pub(crate) fn new(title: &str) -> View {
        let root = el("section", "player");
        root.set_id("olive-player");
        attr(&root, "aria-label", &root_label(title));
        attr(&root, "data-state", "loading");

        let toolbar = el("div", "player-toolbar");
        attr(&toolbar, "role", "toolbar");
        attr(&toolbar, "aria-label", "Player controls");

        let scale: HtmlSelectElement = el("select", "").unchecked_into();
        attr(&scale, "aria-label", "Screen size");
        for (v, l) in [
            ("fit", "Fit to window"),
            ("integer", "Whole-pixel scaling"),
            ("original", "Original size"),
        ] {
            let o = text_el("option", "", l);
            attr(&o, "value", v);
            let _ = scale.append_child(&o);
        }
        let aspect = button("4:3", "", Some("4:3 display aspect"));
        attr(
            &aspect,
            "title",
            "Show text and game screens at 4:3, as a CRT showed them",
        );
        let keys: HtmlSelectElement = el("select", "").unchecked_into();
        attr(&keys, "aria-label", "Send a key combination");
        let o = text_el("option", "", "Send keys…");
        attr(&o, "value", "");
        let _ = keys.append_child(&o);
        for c in KeyCombo::all() {
            let o = text_el("option", "", &c.label());
            attr(&o, "value", &c.id());
            let _ = keys.append_child(&o);
        }
        let fullscreen = button("Full screen", "", Some("Full screen"));
        attr(&fullscreen, "aria-pressed", "false");
        let volume: HtmlInputElement = el("input", "").unchecked_into();
        volume.set_type("range");
        volume.set_min("0");
        volume.set_max("100");
        volume.set_value("80");
        attr(&volume, "aria-label", "Volume");
        let mute = button("Mute", "", Some("Mute sound"));
        attr(&mute, "aria-pressed", "false");
        let labelled = |label: &str, control: &HtmlElement| {
            let l = el("label", "");
            let _ = l.append_child(&text_el("span", "visually-hidden", label));
            let _ = l.append_child(control);
            l
        };
        let _ = toolbar.append_child(&labelled("Size", scale.unchecked_ref()));
        let _ = toolbar.append_child(&aspect);
        let _ = toolbar.append_child(&labelled("Keys", keys.unchecked_ref()));
        let typebox = super::typebox::TypeBox::new();
        let _ = toolbar.append_child(&typebox.toggle);
        let clipbox = super::clipboard::ClipBox::new();
        let _ = toolbar.append_child(&clipbox.toggle);
        let _ = toolbar.append_child(&fullscreen);
        let vl = el("label", "volume");
        let _ = vl.append_child(&text_el("span", "", "Volume"));
        let _ = vl.append_child(&volume);
        let _ = toolbar.append_child(&vl);
        let _ = toolbar.append_child(&mute);
        let osk = super::osk::Osk::new();
        let _ = toolbar.append_child(&osk.toggle);

        let status = text_el("p", "player-status", "");
        attr(&status, "role", "status");
        attr(&status, "aria-live", "polite");
        let notice = text_el("p", "player-notice", "");
        attr(&notice, "role", "alert");
        notice.set_hidden(true);

        let progress = el("div", "player-progress");
        let progress_bar = el("div", "bar");
        attr(&progress, "role", "progressbar");
        attr(&progress, "aria-label", "Start-up progress");
        attr(&progress, "aria-valuemin", "0");
        attr(&progress, "aria-valuemax", "100");
        let _ = progress.append_child(&progress_bar);
        let eta = text_el("span", "eta", "");
        let _ = progress.append_child(&eta);
        progress.set_hidden(true);

        let retry = button("Run again", "run", None);
        retry.set_hidden(true);

        let stage = el("div", "player-stage");
        let canvas: HtmlCanvasElement = el("canvas", "screen").unchecked_into();
        canvas.set_id("olive-screen");
        canvas.set_tab_index(0);
        canvas.set_width(640);
        canvas.set_height(480);
        attr(&canvas, "aria-label", &screen_label(title));
        let overlay: HtmlCanvasElement = el("canvas", "cursor-overlay").unchecked_into();
        attr(&overlay, "aria-hidden", "true");
        let wrap = el("div", "screen-wrap");
        let _ = wrap.append_child(&canvas);
        let _ = wrap.append_child(&overlay);
        let _ = stage.append_child(&wrap);

        let _ = root.append_child(&toolbar);
        // After the player's own status, which stays the first live region.
        let _ = root.append_child(&status);
        let _ = root.append_child(&typebox.panel);
        let _ = root.append_child(&clipbox.panel);
        let _ = root.append_child(&progress);
        let _ = root.append_child(&notice);
        let _ = root.append_child(&retry);
        let _ = root.append_child(&stage);
        let _ = root.append_child(&osk.panel);
        View {
            root,
            stage,
            canvas,
            overlay,
            status,
            notice,
            progress,
            progress_bar,
            eta,
            scale,
            aspect,
            keys,
            fullscreen,
            volume,
            mute,
            retry,
            osk,
            typebox,
            clipbox,
        }
    }

    /// Shows the start-up progress (`fraction` 0..=1) and the ETA text.
    pub(crate) fn set_progress(&self, fraction: Option<f64>, eta: &str) {
        match fraction {
            Some(f) => {
                let pct = (f.clamp(0.0, 1.0) * 100.0).round();
                self.progress.set_hidden(false);
                let _ = self
                    .progress_bar
                    .style()
                    .set_property("width", &format!("{pct}%"));
                attr(&self.progress, "aria-valuenow", &pct.to_string());
                let text = format!("{pct}% — time remaining: {eta}");
                self.eta.set_text_content(Some(&text));
                super::events::progress(&self.root, pct, &text);
            }
            None => self.progress.set_hidden(true),
        }
    }

    /// A non-fatal notice (a minor channel failed); empty hides it.
    pub(crate) fn set_notice(&self, text: &str) {
        self.notice.set_text_content(Some(text));
        self.notice.set_hidden(text.is_empty());
    }
}
