//! `<olive-player kiosk="lobby">` on a portal's page: the same kiosk in a shadow root.

use super::*;

pub(crate) async fn the_element_runs_the_kiosk(
    gw: &TestGateway,
    b: &Browser,
    site: &str,
) -> Result<()> {
    b.goto(&format!("{site}/kiosk.html")).await?;
    let state = |what: &'static str| {
        format!(
            "const k = olivePart('#olive-kiosk'); \
             return k ? k.getAttribute('{what}') : null;"
        )
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = b.js(&state("data-kiosk-state"), vec![]).await?;
        if v == json!("attract") {
            break;
        }
        if Instant::now() > deadline {
            bail!("the element's kiosk is {v}, not in its attract loop");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    chord(b, &[], ' ').await?;
    let deadline = Instant::now() + RUN_TIMEOUT;
    let player = part_js(PLAYER);
    let id = loop {
        let v = b
            .js(
                &format!(
                    "const p = {player}; return p ? [p.dataset.state, p.dataset.instance || ''] : null;"
                ),
                vec![],
            )
            .await?;
        if v[0] == json!("running") {
            break v[1].as_str().unwrap_or_default().to_owned();
        }
        if Instant::now() > deadline {
            bail!("the element's player: {v}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    b.wait_canvas_equals(
        &part_js(SCREEN),
        || gw.screendump(&id),
        Duration::from_secs(30),
        &scratch().join(format!("kiosk-element-{id}")),
    )
    .await?;
    let item = b.js(&state("data-kiosk-item"), vec![]).await?;
    eprintln!("chromium: kiosk: <olive-player kiosk=\"lobby\"> started {item} ({id})");
    b.goto("about:blank").await?;
    Ok(())
}
