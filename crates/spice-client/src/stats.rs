//! Counters a user or a test can read to see what a session actually carried.

use std::collections::BTreeMap;

/// What a session (or a replay) received, counted as it went.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    /// Messages received, keyed by "channel/MESSAGE_NAME".
    pub messages: BTreeMap<String, u64>,
    /// Images decoded, keyed by SPICE image type name ("LZ_RGB", "BITMAP", ...).
    pub images: BTreeMap<&'static str, u64>,
    /// Streams the server created, keyed by codec name ("MJPEG", "VP8", ...), including
    /// ones this client cannot decode.
    pub streams: BTreeMap<&'static str, u64>,
    /// Stream frames decoded and drawn, keyed by codec name.
    pub stream_frames: BTreeMap<&'static str, u64>,
    /// Frames that arrived after their presentation time (drawn at once).
    pub stream_frames_late: u64,
    /// Frames never drawn: queue overflow, a codec we lack, or undecodable data.
    pub stream_frames_dropped: u64,
    /// Bytes the transports delivered, all channels together.
    pub bytes_received: u64,
    /// Bytes handed to the transports to send.
    pub bytes_sent: u64,
}

impl Stats {
    /// One more message `name` on `channel`.
    pub fn count_message(&mut self, channel: &str, name: &str) {
        *self
            .messages
            .entry(format!("{channel}/{name}"))
            .or_default() += 1;
    }

    /// One more image of wire type `kind`.
    pub fn count_image(&mut self, kind: &'static str) {
        *self.images.entry(kind).or_default() += 1;
    }

    /// The image types and stream codecs seen, in one stable line for logs and tests:
    /// `codecs images=BITMAP,LZ_RGB streams=MJPEG` (`-` for none).
    pub fn codecs_line(&self) -> String {
        format!(
            "codecs images={} streams={}",
            names(self.images.keys()),
            names(self.streams.keys())
        )
    }
}

fn names<'a>(keys: impl Iterator<Item = &'a &'static str>) -> String {
    let list: Vec<&str> = keys.copied().collect();
    if list.is_empty() {
        "-".to_owned()
    } else {
        list.join(",")
    }
}
