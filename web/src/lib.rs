//! Olive's browser app.

/// Starts the app on the current page.
pub fn start() {}
