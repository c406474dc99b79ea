//! "Type text" end to end (issue 14): real Chromium, the real gateway (in-process) and the
//! test guest under QEMU/TCG, through the web app's player.
//!
//! - US item: text typed into the Type-text box with real WebDriver keys (capitals, digits,
//!   every ASCII punctuation mark, quotes and backslash) and sent: the guest's shell reads
//!   it as one raw line (`IFS= read -r`) and writes it to the serial port, where it must
//!   equal the text exactly. The guest's own key report, decoded with a US table written
//!   here, must be exactly that text too: the keystrokes that went into the textarea did
//!   not reach the guest.
//! - Cancel: a long line is sent, Cancel clicked part-way; the box says how many
//!   characters went out, and the shell's line holds exactly that many. The open box has
//!   no WCAG 2.1 A/AA violation (axe-core); Escape closes it and focuses the screen.
//! - German item (`keymap = "de"`): the guest's console has no German keymap, so its key
//!   report (`EV KEY code=N value=V`, Linux key codes) is decoded with a German T1 table
//!   written here from the guest's side — not derived from the web app's table — and must
//!   reproduce the text.
//!
//! Chromium only (`$OLIVE_BROWSERS` without chromium prints `SKIP`): the tables are the
//! page's, the same on every engine. Gateway, browser and QEMU are always torn down.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use olive_tests::a11y::{assert_no_violations, axe_source};
use olive_tests::browser::{step, Browser, BrowserOptions, Engine, PLAYER};
use olive_tests::evdev::*;
use olive_tests::gateway::{require_dist, GwItem, TestGateway};
use olive_tests::qemu_lock;
use serde_json::json;

const RUN_TIMEOUT: Duration = Duration::from_secs(90);
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);
/// Enough for a few hundred characters at the box's pace on a loaded machine.
const TYPE_TIMEOUT: Duration = Duration::from_secs(60);

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// A layout as the guest sees it: Linux key code → (plain, Shift, AltGr) legends, `None`
/// where the level types nothing; `dead` marks the key (code, shifted) pairs that only
/// type their legend once followed by Space.
struct GuestLayout {
    keys: &'static [(u16, char, char, Option<char>)],
    dead: &'static [(u16, bool)],
}

/// The letter keys, by Linux code, on a US keyboard (row by row).
const LETTER_ROWS: [(&str, u16); 3] = [
    ("qwertyuiop", KEY_Q),
    ("asdfghjkl", KEY_A),
    ("zxcvbnm", KEY_Z),
];

/// US (ANSI): legends as printed on the keys.
const US: GuestLayout = GuestLayout {
    keys: &[
        (KEY_GRAVE, '`', '~', None),
        (KEY_1, '1', '!', None),
        (KEY_1 + 1, '2', '@', None),
        (KEY_1 + 2, '3', '#', None),
        (KEY_1 + 3, '4', '$', None),
        (KEY_1 + 4, '5', '%', None),
        (KEY_1 + 5, '6', '^', None),
        (KEY_1 + 6, '7', '&', None),
        (KEY_1 + 7, '8', '*', None),
        (KEY_1 + 8, '9', '(', None),
        (KEY_0, '0', ')', None),
        (KEY_MINUS, '-', '_', None),
        (KEY_EQUAL, '=', '+', None),
        (KEY_LEFTBRACE, '[', '{', None),
        (KEY_RIGHTBRACE, ']', '}', None),
        (KEY_BACKSLASH, '\\', '|', None),
        (KEY_SEMICOLON, ';', ':', None),
        (KEY_APOSTROPHE, '\'', '"', None),
        (KEY_COMMA, ',', '<', None),
        (KEY_DOT, '.', '>', None),
        (KEY_SLASH, '/', '?', None),
        (KEY_SPACE, ' ', ' ', None),
        (KEY_ENTER, '\n', '\n', None),
    ],
    dead: &[],
};

/// German T1 (QWERTZ), legends as printed on a German keyboard: Y and Z swapped, `^`
/// left of 1 and `´ `` right of ß are dead.
const DE: GuestLayout = GuestLayout {
    keys: &[
        (KEY_GRAVE, '^', '°', None),
        (KEY_1, '1', '!', None),
        (KEY_1 + 1, '2', '"', Some('²')),
        (KEY_1 + 2, '3', '§', Some('³')),
        (KEY_1 + 3, '4', '$', None),
        (KEY_1 + 4, '5', '%', None),
        (KEY_1 + 5, '6', '&', None),
        (KEY_1 + 6, '7', '/', Some('{')),
        (KEY_1 + 7, '8', '(', Some('[')),
        (KEY_1 + 8, '9', ')', Some(']')),
        (KEY_0, '0', '=', Some('}')),
        (KEY_MINUS, 'ß', '?', Some('\\')),
        (KEY_EQUAL, '´', '`', None),
        (KEY_Q, 'q', 'Q', Some('@')),
        (KEY_Q + 2, 'e', 'E', Some('€')),
        (KEY_Y, 'z', 'Z', None),
        (KEY_LEFTBRACE, 'ü', 'Ü', None),
        (KEY_RIGHTBRACE, '+', '*', Some('~')),
        (KEY_SEMICOLON, 'ö', 'Ö', None),
        (KEY_APOSTROPHE, 'ä', 'Ä', None),
        (KEY_BACKSLASH, '#', '\'', None),
        (KEY_102ND, '<', '>', Some('|')),
        (KEY_Z, 'y', 'Y', None),
        (KEY_Z + 6, 'm', 'M', Some('µ')),
        (KEY_COMMA, ',', ';', None),
        (KEY_DOT, '.', ':', None),
        (KEY_SLASH, '-', '_', None),
        (KEY_SPACE, ' ', ' ', None),
        (KEY_ENTER, '\n', '\n', None),
    ],
    dead: &[(KEY_GRAVE, false), (KEY_EQUAL, false), (KEY_EQUAL, true)],
};

impl GuestLayout {
    /// The legends of `code`: the table's row, else a letter key (plain, capital).
    fn legends(&self, code: u16) -> Option<(char, char, Option<char>)> {
        if let Some(&(_, a, b, c)) = self.keys.iter().find(|k| k.0 == code) {
            return Some((a, b, c));
        }
        LETTER_ROWS.iter().find_map(|(row, first)| {
            let i = code.checked_sub(*first)? as usize;
            let c = row.chars().nth(i)?;
            Some((c, c.to_ascii_uppercase(), None))
        })
    }

    /// What the key presses and releases of `log` (serial lines) type: Shift (either)
    /// and AltGr (right Alt) held count, autorepeats (value 2) do not, a dead key waits
    /// for the next key (Space makes it type itself). Unknown keys come out as `<N>`.
    fn decode(&self, log: &str) -> String {
        let (mut shift, mut altgr) = (false, false);
        let mut dead: Option<char> = None;
        let mut out = String::new();
        for l in log.lines() {
            let Some(rest) = l.trim_end().strip_prefix("EV KEY code=") else {
                continue;
            };
            let Some((code, value)) = rest.split_once(" value=") else {
                continue;
            };
            let (Ok(code), Ok(value)) = (code.parse::<u16>(), value.parse::<u8>()) else {
                continue;
            };
            match code {
                KEY_LEFTSHIFT | KEY_RIGHTSHIFT => shift = value != 0,
                KEY_RIGHTALT => altgr = value != 0,
                _ if value == 1 => {
                    let Some((plain, shifted, alt)) = self.legends(code) else {
                        out.push_str(&format!("<{code}>"));
                        continue;
                    };
                    let legend = if altgr {
                        alt
                    } else if shift {
                        Some(shifted)
                    } else {
                        Some(plain)
                    };
                    let Some(c) = legend else {
                        out.push_str(&format!("<{code}{}>", if altgr { "+AltGr" } else { "" }));
                        continue;
                    };
                    if let Some(d) = dead.take() {
                        out.push(d);
                        if code != KEY_SPACE {
                            out.push(c);
                        }
                    } else if !altgr && self.dead.contains(&(code, shift)) {
                        dead = Some(c);
                    } else {
                        out.push(c);
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// Waits until the guest's key report after byte `mark` of its serial log decodes, with
/// `layout`, to `want` (the report follows the keys by a poll round).
async fn wait_decoded(
    gw: &TestGateway,
    id: &str,
    mark: usize,
    layout: &GuestLayout,
    want: &str,
) -> Result<()> {
    let deadline = Instant::now() + TYPE_TIMEOUT;
    loop {
        let got = layout.decode(&gw.serial_log(id)[mark..]);
        if got == want {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the guest's key report decodes to\n  {got:?}\nwant\n  {want:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The player's box, as a visitor uses it.
struct TypeBox<'a> {
    b: &'a Browser,
}

impl TypeBox<'_> {
    async fn click(&self, css: &str) -> Result<()> {
        self.b
            .part(css, Duration::from_secs(5))
            .await?
            .click()
            .await
            .with_context(|| format!("click {css}"))
    }

    /// The toolbar's "Type text" opens the box and puts the focus in its text field.
    async fn open(&self) -> Result<()> {
        self.click("button[aria-controls=olive-type]").await?;
        let v = self
            .b
            .js(
                "const p = olivePart('#olive-type'); \
                 const t = olivePart('#olive-type-text'); \
                 const b = olivePart('button[aria-controls=olive-type]'); \
                 return [!p.hidden, oliveFocused() === t, b.getAttribute('aria-expanded'), \
                   t.labels.length > 0 ? t.labels[0].textContent : ''];",
                vec![],
            )
            .await?;
        if v != json!([true, true, "true", "Text to type into the machine"]) {
            bail!("after a click on Type text: [shown, focused, aria-expanded, label] = {v}");
        }
        Ok(())
    }

    /// Escape in the box closes it and gives the focus back to the screen.
    async fn close_with_escape(&self) -> Result<()> {
        self.b
            .part("#olive-type-text", Duration::from_secs(5))
            .await?
            .send_keys(&'\u{e00c}'.to_string())
            .await?;
        let v = self
            .b
            .js(
                "return [olivePart('#olive-type').hidden, \
                   oliveFocused() === olivePart('#olive-screen')];",
                vec![],
            )
            .await?;
        if v != json!([true, true]) {
            bail!("after Escape: [hidden, screen focused] = {v}");
        }
        Ok(())
    }

    /// Puts `text` in the field without key events (a paste).
    async fn paste(&self, text: &str) -> Result<()> {
        self.b
            .js(
                "const t = olivePart('#olive-type-text'); t.value = arguments[0]; \
                 t.dispatchEvent(new Event('input', {bubbles: true}));",
                vec![json!(text)],
            )
            .await?;
        Ok(())
    }

    async fn send(&self) -> Result<()> {
        self.click("#olive-type-send").await
    }

    /// `data-typing` and `data-typing-progress` (`done/total`).
    async fn state(&self) -> Result<(String, usize, usize)> {
        let state = self
            .b
            .attr(PLAYER, "data-typing")
            .await?
            .unwrap_or_default();
        let progress = self
            .b
            .attr(PLAYER, "data-typing-progress")
            .await?
            .unwrap_or_default();
        let (done, total) = progress
            .split_once('/')
            .and_then(|(d, t)| Some((d.parse().ok()?, t.parse().ok()?)))
            .unwrap_or((0, 0));
        Ok((state, done, total))
    }

    /// Waits until `done` accepts the state.
    async fn wait(
        &self,
        what: &str,
        done: impl Fn(&str, usize, usize) -> bool,
    ) -> Result<(String, usize, usize)> {
        let deadline = Instant::now() + TYPE_TIMEOUT;
        loop {
            let s = self.state().await?;
            if done(&s.0, s.1, s.2) {
                return Ok(s);
            }
            if Instant::now() > deadline {
                bail!("{what}: not within {TYPE_TIMEOUT:?} (data-typing {s:?})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn status(&self) -> Result<String> {
        let v = self
            .b
            .js(
                "return olivePart('#olive-type-status').textContent;",
                vec![],
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }
}

/// Collection → Run `item` → running; the guest's ready line and its keyboard.
async fn launch(gw: &TestGateway, b: &Browser, item: &str) -> Result<String> {
    b.goto(&format!("{}/", gw.url())).await?;
    b.click_run(item, Duration::from_secs(20)).await?;
    b.wait_state(&["running"], RUN_TIMEOUT).await?;
    let id = b
        .attr(PLAYER, "data-instance")
        .await?
        .filter(|i| !i.is_empty())
        .ok_or_else(|| anyhow!("no data-instance on the running player"))?;
    gw.wait_serial(&id, "OLIVE-GUEST-READY", BOOT_TIMEOUT)
        .await?;
    gw.wait_serial_where(&id, BOOT_TIMEOUT, |l| {
        l.starts_with("INPUT add") && l.contains("type=key")
    })
    .await
    .context("the guest's keyboard")?;
    Ok(id)
}

/// Text with capitals, digits and every ASCII punctuation mark, as typed by a visitor.
const US_TEXT: &str =
    "Hello, World! 0123456789 #$%&*()-_=+[]{};:'\",.<>/?~`\\|^@ The quick brown fox.";

async fn us_text_arrives_exactly(gw: &TestGateway, b: &Browser, id: &str) -> Result<()> {
    let tb = TypeBox { b };
    tb.open().await?;
    let mark = gw.serial_log(id).len();
    // Two sends, so the shell runs `read` before the line it reads comes (its line editor
    // would keep keys typed ahead). Real key events into the field: none may reach the guest.
    let command = "IFS= read -r l; printf '%s\\n' \"$l\" > /dev/ttyS0\n";
    let line = format!("{US_TEXT}\n");
    for text in [command, line.as_str()] {
        b.part("#olive-type-text", Duration::from_secs(5))
            .await?
            .send_keys(text)
            .await
            .context("typing into the box")?;
        tb.send().await?;
        let n = text.chars().count();
        let (_, done, total) = tb
            .wait("typing finishes", |s, _, t| s != "typing" && t == n)
            .await?;
        if (done, total) != (n, n) {
            bail!("the box typed {done} of {total} characters, want {n} of {n}");
        }
        let status = tb.status().await?;
        if status != format!("Typed {n} / {n}.") {
            bail!("the box says {status:?}");
        }
    }
    let got = gw
        .wait_serial_where(id, TYPE_TIMEOUT, |l| l.contains("The quick brown fox."))
        .await
        .context("the shell's line on the serial port")?;
    if got != US_TEXT {
        bail!("the guest read {got:?}\n          want {US_TEXT:?}");
    }
    wait_decoded(gw, id, mark, &US, &format!("{command}{line}")).await?;
    tb.close_with_escape().await
}

async fn cancel_stops_part_way(gw: &TestGateway, b: &Browser, id: &str) -> Result<()> {
    let tb = TypeBox { b };
    tb.open().await?;
    assert_no_violations(b, &axe_source()?, "player with the Type-text box open").await?;
    let xs = 400;
    tb.paste(&format!("echo {}", "x".repeat(xs))).await?;
    tb.send().await?;
    tb.wait("typing gets under way", |s, done, _| {
        s == "typing" && done >= 30
    })
    .await?;
    tb.click("#olive-type-cancel").await?;
    let (_, done, total) = tb
        .wait("Cancel stops typing", |s, _, _| s == "cancelled")
        .await?;
    if total != xs + 5 || done >= total {
        bail!("after Cancel the box says {done} of {total}");
    }
    let status = tb.status().await?;
    if !status.starts_with(&format!("Cancelled after {done} of {total}")) {
        bail!("after Cancel the box says {status:?}");
    }
    let marker = format!("cancel-marker-{}", std::process::id());
    tb.paste(&format!(" {marker} > /dev/ttyS0\n")).await?;
    tb.send().await?;
    tb.wait("the marker is typed", |s, _, _| s == "done")
        .await?;
    let line = gw
        .wait_serial_where(id, TYPE_TIMEOUT, |l| l.ends_with(&marker))
        .await?;
    let want = format!("{} {marker}", "x".repeat(done - 5));
    if line != want {
        bail!(
            "the box said {done} characters went out; the shell echoed {} x's ({line:?})",
            line.matches('x').count()
        );
    }
    eprintln!("chromium: cancelled after {done} of {total} characters");
    tb.close_with_escape().await
}

/// German text: umlauts, ß, Y/Z, AltGr keys and dead keys.
const DE_TEXT: &str = "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich. \
     @ {[]} \\ | ~ ^ ` ´ ' # < > ; : _ - ? = / & % $ § \" ! ( ) * + € µ ² ³ ° ÄÖÜ 0123456789";

async fn german_text_as_german_keys(gw: &TestGateway, b: &Browser, id: &str) -> Result<()> {
    let keymap = b.attr(PLAYER, "data-keymap").await?;
    if keymap.as_deref() != Some("de") {
        bail!("the player of the German item has data-keymap {keymap:?}");
    }
    let tb = TypeBox { b };
    tb.open().await?;
    let mark = gw.serial_log(id).len();
    tb.paste(DE_TEXT).await?;
    tb.send().await?;
    let n = DE_TEXT.chars().count();
    let (_, done, total) = tb.wait("typing finishes", |s, _, _| s == "done").await?;
    if (done, total) != (n, n) {
        bail!("the box typed {done} of {total}; want all {n}");
    }
    wait_decoded(gw, id, mark, &DE, DE_TEXT).await?;
    // A character German keys cannot type is reported, not sent.
    let mark = gw.serial_log(id).len();
    tb.paste("né").await?;
    tb.send().await?;
    tb.wait("the second text is typed", |s, d, t| {
        s == "done" && (d, t) == (1, 1)
    })
    .await?;
    let status = tb.status().await?;
    if !status.contains("1 character not typed") || !status.contains('é') {
        bail!("for \"né\" the box says {status:?}");
    }
    wait_decoded(gw, id, mark, &DE, "n").await
}

/// The catalog says which item is German.
async fn the_collection_names_the_keymap(gw: &TestGateway, b: &Browser) -> Result<()> {
    b.goto(&format!("{}/", gw.url())).await?;
    let v = b
        .js(
            "return fetch('/api/collection').then(r => r.json()).then(c => \
               c.items.map(i => [i.id, i.keymap || null]));",
            vec![],
        )
        .await?;
    if v != json!([["console", null], ["console-de", "de"]]) {
        bail!("/api/collection ids and keymaps: {v}");
    }
    Ok(())
}

async fn scenario(gw: &TestGateway, b: &Browser) -> Result<()> {
    step(
        "chromium",
        "the collection names the keymap",
        the_collection_names_the_keymap(gw, b),
    )
    .await?;
    let id = step("chromium", "Run the US item", launch(gw, b, "console")).await?;
    step(
        "chromium",
        "the box types capitals, digits and punctuation exactly",
        us_text_arrives_exactly(gw, b, &id),
    )
    .await?;
    step(
        "chromium",
        "Cancel stops typing part-way",
        cancel_stops_part_way(gw, b, &id),
    )
    .await?;
    gw.server().registry().destroy(&id).await;
    let id = step(
        "chromium",
        "Run the German item",
        launch(gw, b, "console-de"),
    )
    .await?;
    step(
        "chromium",
        "German text becomes German keys",
        german_text_as_german_keys(gw, b, &id),
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium() {
    let selected = Engine::selected().expect("OLIVE_BROWSERS");
    if !selected.contains(&Engine::Chromium) {
        eprintln!("SKIP chromium: not in OLIVE_BROWSERS");
        return;
    }
    let _lock = qemu_lock();
    let t0 = Instant::now();
    let dist = require_dist().expect("web app");
    let items = [
        GwItem::console("console"),
        GwItem::console("console").with_keymap("console-de", "de"),
    ];
    let gw = TestGateway::start(&scratch(), &dist, &items)
        .await
        .expect("gateway");
    let browser = Browser::launch(&BrowserOptions {
        engine: Engine::Chromium,
        scratch: scratch(),
        ..Default::default()
    })
    .await;
    let mut result = match &browser {
        Ok(b) => scenario(&gw, b).await,
        Err(e) => Err(anyhow!("chromium session: {e:#}")),
    };
    if let Ok(b) = browser {
        if result.is_err() {
            let png = scratch().join("browser-typing-chromium.png");
            let _ = b.screenshot(&png).await;
            let text = b.player_text().await.unwrap_or_default();
            result = result
                .with_context(|| format!("player text {text:?}, screenshot {}", png.display()));
        }
        if let Err(e) = b.close().await {
            eprintln!("closing chromium: {e:#}");
        }
    }
    gw.shutdown().await;
    eprintln!(
        "chromium: typing suite took {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{e:#}");
    }
}
