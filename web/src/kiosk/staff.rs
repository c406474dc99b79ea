//! Staff access: the staff chord opens a PIN dialog (a form with a labelled field, its
//! answer announced), the gateway checks the PIN (`POST /api/kiosk/{name}/unlock`, slowed
//! down after wrong ones), and the right PIN opens a small menu: reset now, pick another
//! title, leave kiosk mode. The views are here; [`super::State`] wires them.

use olive_api::KioskItem;
use wasm_bindgen::JsCast;
use web_sys::{HtmlButtonElement, HtmlElement, HtmlInputElement, HtmlSelectElement};

use crate::api::Unlock;
use crate::ui::dom::{attr, button, el, text_el};

/// What the dialog says after the gateway's answer.
pub(crate) fn answer_text(answer: &Unlock) -> String {
    match answer {
        Unlock::Open => "Unlocked.".to_owned(),
        Unlock::Wrong => "Wrong PIN.".to_owned(),
        Unlock::Wait(s) => format!("Too many wrong PINs. Try again in {s} s."),
    }
}

/// A modal dialog box labelled by its heading.
fn dialog(id: &str, heading: &str) -> HtmlElement {
    let d = el("div", "kiosk-dialog");
    d.set_id(id);
    attr(&d, "role", "dialog");
    attr(&d, "aria-modal", "true");
    let h = text_el("h2", "", heading);
    h.set_id(&format!("{id}-heading"));
    attr(&d, "aria-labelledby", &h.id());
    let _ = d.append_child(&h);
    d.set_hidden(true);
    d
}

/// The PIN dialog and the staff menu.
pub(crate) struct StaffViews {
    /// The PIN dialog.
    pub(crate) pin_dialog: HtmlElement,
    /// Its form (submit = Unlock).
    pub(crate) form: HtmlElement,
    /// The PIN field.
    pub(crate) pin: HtmlInputElement,
    /// The gateway's answer, announced.
    pub(crate) status: HtmlElement,
    /// Closes the dialog.
    pub(crate) cancel: HtmlButtonElement,
    /// The staff menu.
    pub(crate) menu: HtmlElement,
    /// Reset the current title now.
    pub(crate) reset: HtmlButtonElement,
    /// The kiosk's titles.
    pub(crate) titles: HtmlSelectElement,
    /// Play the title chosen in `titles`.
    pub(crate) play: HtmlButtonElement,
    /// Leave kiosk mode.
    pub(crate) leave: HtmlButtonElement,
    /// Back to the visitor's view.
    pub(crate) close: HtmlButtonElement,
}

impl StaffViews {
    /// Both boxes, hidden, for a kiosk of `items`.
    pub(crate) fn new(items: &[KioskItem]) -> StaffViews {
        let pin_dialog = dialog("olive-kiosk-pin-dialog", "Staff");
        let form = el("form", "");
        form.set_id("olive-kiosk-pin-form");
        let label = text_el("label", "", "Staff PIN");
        attr(&label, "for", "olive-kiosk-pin");
        let pin: HtmlInputElement = el("input", "").unchecked_into();
        pin.set_id("olive-kiosk-pin");
        pin.set_type("password");
        attr(&pin, "inputmode", "numeric");
        attr(&pin, "autocomplete", "off");
        attr(&pin, "maxlength", "12");
        attr(&pin, "pattern", "[0-9]*");
        let status = text_el("p", "status", "");
        status.set_id("olive-kiosk-pin-status");
        attr(&status, "role", "status");
        attr(&status, "aria-live", "assertive");
        let submit = button("Unlock", "", None);
        submit.set_id("olive-kiosk-unlock");
        submit.set_type("submit");
        let cancel = button("Cancel", "", None);
        cancel.set_id("olive-kiosk-pin-cancel");
        cancel.set_type("button");
        for c in [
            label.unchecked_ref::<HtmlElement>(),
            pin.unchecked_ref(),
            submit.unchecked_ref(),
            cancel.unchecked_ref(),
            status.unchecked_ref(),
        ] {
            let _ = form.append_child(c);
        }
        let _ = pin_dialog.append_child(&form);

        let menu = dialog("olive-kiosk-staff", "Staff menu");
        let reset = button("Reset now", "", None);
        reset.set_id("olive-kiosk-reset");
        let pick = el("label", "");
        let _ = pick.append_child(&text_el("span", "", "Title"));
        let titles: HtmlSelectElement = el("select", "").unchecked_into();
        titles.set_id("olive-kiosk-titles");
        for it in items {
            let o = text_el("option", "", &it.title);
            attr(&o, "value", &it.id);
            let _ = titles.append_child(&o);
        }
        let _ = pick.append_child(&titles);
        let play = button("Play this title", "", None);
        play.set_id("olive-kiosk-pick");
        let leave = button("Leave kiosk mode", "", None);
        leave.set_id("olive-kiosk-leave");
        let close = button("Back to the visitor view", "", None);
        close.set_id("olive-kiosk-close");
        for c in [
            reset.unchecked_ref::<HtmlElement>(),
            pick.unchecked_ref(),
            play.unchecked_ref(),
            leave.unchecked_ref(),
            close.unchecked_ref(),
        ] {
            let _ = menu.append_child(c);
        }
        StaffViews {
            pin_dialog,
            form,
            pin,
            status,
            cancel,
            menu,
            reset,
            titles,
            play,
            leave,
            close,
        }
    }
}
