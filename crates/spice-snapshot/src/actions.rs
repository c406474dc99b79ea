//! Input actions: typing text and clicking, paced so the guest keyboard buffer keeps up.

use std::time::Duration;

use anyhow::{bail, Result};
use spice_client::inputs::text::strokes_for_text;
use spice_client::inputs::Button;
use spice_client::{ChannelKey, ChannelType};
use tokio::time::Instant;

use crate::driver::Driver;

/// Time between key events; QEMU's PS/2 queue is small and a flood would drop keys.
pub const KEY_GAP: Duration = Duration::from_millis(15);

/// The inputs channel, which keys and clicks travel on.
pub fn inputs_key() -> ChannelKey {
    ChannelKey::new(ChannelType::Inputs, 0)
}

/// Presses and releases one key by `KeyboardEvent.code`.
pub async fn tap(driver: &mut Driver, code: &str) -> Result<()> {
    key(driver, code, true).await?;
    key(driver, code, false).await
}

/// Presses (`down`) or releases one key by `KeyboardEvent.code`, then leaves the guest
/// [`KEY_GAP`] to take it.
pub async fn key(driver: &mut Driver, code: &str, down: bool) -> Result<()> {
    let s = driver.session_mut();
    if !s.key(code, down) {
        bail!("cannot send key {code}: unknown key or inputs channel not ready");
    }
    driver.run_for(KEY_GAP).await
}

/// Types `text` on a US layout (Shift for capitals and symbols).
pub async fn type_text(driver: &mut Driver, text: &str) -> Result<()> {
    let strokes = match strokes_for_text(text) {
        Ok(s) => s,
        Err(c) => bail!("cannot type {c:?}: no key for it on a US keyboard"),
    };
    for s in strokes {
        if s.shift {
            key(driver, "ShiftLeft", true).await?;
        }
        tap(driver, s.code).await?;
        if s.shift {
            key(driver, "ShiftLeft", false).await?;
        }
    }
    Ok(())
}

/// Clicks the left button at (x, y) of the primary surface. Needs client mouse mode
/// (a tablet in the VM): in server mode the pointer position is the guest's business.
pub async fn click(driver: &mut Driver, x: u32, y: u32, deadline: Instant) -> Result<()> {
    driver
        .pump_until(
            deadline,
            "client mouse mode (does the VM have a tablet?)",
            |s, _| s.mouse_client_mode(),
        )
        .await?;
    let s = driver.session_mut();
    if !s.mouse_position(x, y) {
        bail!("cannot move the mouse: inputs channel not ready");
    }
    driver.run_for(Duration::from_millis(50)).await?;
    driver.session_mut().mouse_button(Button::Left, true);
    driver.run_for(Duration::from_millis(50)).await?;
    driver.session_mut().mouse_button(Button::Left, false);
    driver.run_for(Duration::from_millis(50)).await
}
