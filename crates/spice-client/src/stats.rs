//! Counters a user or a test can read to see what a session actually carried.

use std::collections::BTreeMap;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Messages received, keyed by "channel/MESSAGE_NAME".
    pub messages: BTreeMap<String, u64>,
    /// Images decoded, keyed by SPICE image type name ("LZ_RGB", "BITMAP", ...).
    pub images: BTreeMap<&'static str, u64>,
    pub bytes_received: u64,
    pub bytes_sent: u64,
}

impl Stats {
    pub fn count_message(&mut self, channel: &str, name: &str) {
        *self
            .messages
            .entry(format!("{channel}/{name}"))
            .or_default() += 1;
    }

    pub fn count_image(&mut self, kind: &'static str) {
        *self.images.entry(kind).or_default() += 1;
    }
}
