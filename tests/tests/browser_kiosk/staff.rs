//! The staff steps of `browser_kiosk`: the chord, the PIN dialog, wrong PINs refused and
//! slowed down, the staff menu's reset, title switch and leave.

use fantoccini::Locator;
use serde_json::Value;

use super::*;

/// `POST /api/kiosk/lobby/unlock` from the page: [status, Retry-After].
async fn unlock_fetch(b: &Browser, pin: &str) -> Result<Value> {
    b.js(
        "return fetch('/api/kiosk/lobby/unlock', {method: 'POST', \
           headers: {'Content-Type': 'application/json'}, body: JSON.stringify({pin: arguments[0]})}) \
         .then(r => [r.status, r.headers.get('Retry-After')]);",
        vec![json!(pin)],
    )
    .await
}

async fn type_pin(b: &Browser, pin: &str) -> Result<String> {
    b.js(
        "document.getElementById('olive-kiosk-pin-status').textContent = '';",
        vec![],
    )
    .await?;
    let field = b.client().find(Locator::Css("#olive-kiosk-pin")).await?;
    field.send_keys(&format!("{pin}\u{e007}")).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = b
            .js(
                "return document.getElementById('olive-kiosk-pin-status').textContent;",
                vec![],
            )
            .await?;
        let text = v.as_str().unwrap_or_default().to_owned();
        let menu = b
            .js(
                "return !document.getElementById('olive-kiosk-staff').hidden;",
                vec![],
            )
            .await?;
        if menu == json!(true) {
            return Ok("menu".into());
        }
        if !text.is_empty() && text != "Checking…" {
            return Ok(text);
        }
        if Instant::now() > deadline {
            bail!("no answer to the PIN");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn staff_unlock(gw: &TestGateway, b: &Browser, id: &str) -> Result<()> {
    chord(b, &[Key::Control, Key::Alt, Key::Shift], 'K').await?;
    wait_kiosk(b, "staff", Duration::from_secs(3)).await?;
    let v = b
        .js(
            "const d = document.getElementById('olive-kiosk-pin-dialog'); \
             const f = document.getElementById('olive-kiosk-pin'); \
             return [d.hidden, d.getAttribute('role'), document.activeElement === f, \
               f.labels.length ? f.labels[0].textContent : ''];",
            vec![],
        )
        .await?;
    if v != json!([false, "dialog", true, "Staff PIN"]) {
        bail!("the PIN dialog: [hidden, role, focused, label] = {v}");
    }
    assert_no_violations(b, &axe_source()?, "kiosk PIN dialog").await?;
    let answer = type_pin(b, "0000").await?;
    if answer != "Wrong PIN." {
        bail!("a wrong PIN got {answer:?}");
    }
    // The next attempt is slowed down: refused unseen with 429 while the wait runs (a slow
    // round trip may land after the first second: then that wrong PIN doubles the wait).
    let mut slowed = None;
    for _ in 0..3 {
        let v = unlock_fetch(b, "1111").await?;
        match v[0].as_u64() {
            Some(429) => {
                slowed = v[1].as_str().and_then(|s| s.parse::<u64>().ok());
                break;
            }
            Some(403) => continue,
            other => bail!("a wrong PIN got {other:?}: {v}"),
        }
    }
    let wait = slowed.ok_or_else(|| anyhow!("no 429 with Retry-After after wrong PINs"))?;
    eprintln!("chromium: kiosk: wrong PIN → 403, the next attempt → 429, Retry-After: {wait}");
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
    if type_pin(b, PIN).await? != "menu" {
        bail!("the right PIN did not open the staff menu");
    }
    let v = b
        .js(
            "return [document.getElementById('olive-kiosk-staff').getAttribute('role'), \
               document.activeElement && document.activeElement.id, \
               [...document.querySelectorAll('#olive-kiosk-staff button')].map(b => b.textContent)];",
            vec![],
        )
        .await?;
    eprintln!("chromium: kiosk: staff menu {v}");
    if v[0] != json!("dialog") || v[1] != json!("olive-kiosk-reset") {
        bail!("the staff menu: {v}");
    }
    assert_no_violations(b, &axe_source()?, "kiosk staff menu").await?;
    // Reset now: a new machine of the same title.
    click(b, "#olive-kiosk-reset").await?;
    let id = new_instance(gw, b, id).await?;
    // Another title: the other one of the loop, pristine.
    let before = b.attr(KIOSK, "data-kiosk-item").await?.unwrap_or_default();
    let other = if before == "flat-pkg" {
        "text-pkg"
    } else {
        "flat-pkg"
    };
    reopen_menu(b).await?;
    b.js(
        "document.getElementById('olive-kiosk-titles').value = arguments[0];",
        vec![json!(other)],
    )
    .await?;
    click(b, "#olive-kiosk-pick").await?;
    let id = new_instance(gw, b, &id).await?;
    if b.attr(KIOSK, "data-kiosk-item").await?.as_deref() != Some(other) {
        bail!("Play this title did not switch to {other}");
    }
    eprintln!("chromium: kiosk: staff reset, then switched {before} → {other}");
    reopen_menu(b).await?;
    click(b, "#olive-kiosk-leave").await?;
    wait_kiosk(b, "left", Duration::from_secs(5)).await?;
    let deadline = Instant::now() + Duration::from_secs(15);
    while gw.server().registry().get(&id).is_some() {
        if Instant::now() > deadline {
            bail!("instance {id} outlived Leave kiosk mode");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

async fn click(b: &Browser, css: &str) -> Result<()> {
    b.client()
        .find(Locator::Css(css))
        .await
        .with_context(|| format!("no {css}"))?
        .click()
        .await
        .with_context(|| format!("click {css}"))
}

/// Waits until the kiosk plays a running machine other than `old` (which is destroyed).
async fn new_instance(gw: &TestGateway, b: &Browser, old: &str) -> Result<String> {
    let deadline = Instant::now() + RUN_TIMEOUT;
    loop {
        let id = instance(b).await.unwrap_or_default();
        let state = b.attr(PLAYER, "data-state").await?.unwrap_or_default();
        if !id.is_empty() && id != old && state == "running" && kiosk_state(b).await? == "playing" {
            if gw.server().registry().get(old).is_some() {
                bail!("the old instance {old} is still alive");
            }
            return Ok(id);
        }
        if Instant::now() > deadline {
            bail!("no new running machine after {old} (instance {id:?}, state {state})");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The staff chord and the right PIN again (a right PIN cleared the address's record).
async fn reopen_menu(b: &Browser) -> Result<()> {
    chord(b, &[Key::Control, Key::Alt, Key::Shift], 'K').await?;
    wait_kiosk(b, "staff", Duration::from_secs(3)).await?;
    if type_pin(b, PIN).await? != "menu" {
        bail!("the right PIN did not open the staff menu again");
    }
    Ok(())
}
