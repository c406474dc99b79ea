//! Capability bit numbers and a bit-array helper.
//!
//! Capabilities travel in the link messages as arrays of u32 words where bit `n` lives in
//! word `n / 32`. Both sides advertise; a feature is in use only if both set its bit.

/// Capabilities shared by every channel.
pub mod common {
    pub const PROTOCOL_AUTH_SELECTION: u32 = 0;
    pub const AUTH_SPICE: u32 = 1;
    pub const AUTH_SASL: u32 = 2;
    pub const MINI_HEADER: u32 = 3;
}

pub mod main {
    pub const SEMI_SEAMLESS_MIGRATE: u32 = 0;
    pub const NAME_AND_UUID: u32 = 1;
    pub const AGENT_CONNECTED_TOKENS: u32 = 2;
    pub const SEAMLESS_MIGRATE: u32 = 3;
}

pub mod display {
    pub const SIZED_STREAM: u32 = 0;
    pub const MONITORS_CONFIG: u32 = 1;
    /// Forwarded to the guest qxl driver, which then emits DRAW_COMPOSITE: only advertise
    /// if the renderer implements it.
    pub const COMPOSITE: u32 = 2;
    /// Forwarded to the guest qxl driver, which then creates A8 surfaces.
    pub const A8_SURFACE: u32 = 3;
    pub const STREAM_REPORT: u32 = 4;
    pub const LZ4_COMPRESSION: u32 = 5;
    /// Server-side capability: the server honours PREFERRED_COMPRESSION.
    pub const PREF_COMPRESSION: u32 = 6;
    /// Local-only (unix fd passing); never advertise from a remote client.
    pub const GL_SCANOUT: u32 = 7;
    pub const MULTI_CODEC: u32 = 8;
    pub const CODEC_MJPEG: u32 = 9;
    pub const CODEC_VP8: u32 = 10;
    pub const CODEC_H264: u32 = 11;
    /// Server-side capability: the server honours PREFERRED_VIDEO_CODEC_TYPE.
    pub const PREF_VIDEO_CODEC_TYPE: u32 = 12;
    pub const CODEC_VP9: u32 = 13;
    pub const CODEC_H265: u32 = 14;
}

pub mod inputs {
    /// Server-side capability: the server accepts KEY_SCANCODE.
    pub const KEY_SCANCODE: u32 = 0;
}

/// The cursor channel defines no capabilities; the module exists so that every channel
/// has a place to look.
pub mod cursor {}

pub mod playback {
    /// Dead codec; never advertise.
    pub const CELT_0_5_1: u32 = 0;
    pub const VOLUME: u32 = 1;
    pub const LATENCY: u32 = 2;
    pub const OPUS: u32 = 3;
}

pub mod record {
    /// Dead codec; never advertise.
    pub const CELT_0_5_1: u32 = 0;
    pub const VOLUME: u32 = 1;
    pub const OPUS: u32 = 2;
}

/// A capability bit set in wire layout (`Vec<u32>` words).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caps(Vec<u32>);

impl Caps {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Builds a set from bit numbers, e.g. `Caps::from_bits(&[common::MINI_HEADER])`.
    pub fn from_bits(bits: &[u32]) -> Self {
        let mut c = Self::new();
        for &b in bits {
            c.set(b);
        }
        c
    }

    pub fn from_words(words: Vec<u32>) -> Self {
        Self(words)
    }

    /// Sets bit `bit`, growing the word array as needed. Bits are compile-time constants
    /// chosen by the client, so the growth is bounded by the caller.
    pub fn set(&mut self, bit: u32) {
        let word = (bit / 32) as usize;
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        if let Some(w) = self.0.get_mut(word) {
            *w |= 1 << (bit % 32);
        }
    }

    pub fn with(mut self, bit: u32) -> Self {
        self.set(bit);
        self
    }

    /// Tests bit `bit`; bits beyond the advertised words are unset.
    pub fn has(&self, bit: u32) -> bool {
        has_cap(&self.0, bit)
    }

    pub fn words(&self) -> &[u32] {
        &self.0
    }

    pub fn into_words(self) -> Vec<u32> {
        self.0
    }
}

impl From<Vec<u32>> for Caps {
    fn from(words: Vec<u32>) -> Self {
        Self(words)
    }
}

/// Tests bit `bit` in a raw wire word array.
pub fn has_cap(words: &[u32], bit: u32) -> bool {
    words
        .get((bit / 32) as usize)
        .is_some_and(|w| w & (1 << (bit % 32)) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_test_bits() {
        let c = Caps::from_bits(&[common::PROTOCOL_AUTH_SELECTION, common::MINI_HEADER, 40]);
        assert_eq!(c.words(), &[0b1001, 1 << 8]);
        assert!(c.has(3));
        assert!(c.has(40));
        assert!(!c.has(1));
        assert!(!c.has(1000));
        assert!(Caps::new()
            .with(display::MULTI_CODEC)
            .has(display::MULTI_CODEC));
    }
}
