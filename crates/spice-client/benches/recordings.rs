//! The recorded display streams shared by the native benchmark (`benches/replay.rs`) and
//! the wasm one (`tests/wasm_codec_bench.rs`), so both measure the very same frames.
//!
//! One recording per codec (`cargo run -p olive-tests --example record_frames`): the test
//! guest's text, gradient and flat scenes drawn while a client was connected with that
//! codec in force. They are embedded, so the wasm build needs no file access.

use spice_client::replay::{self, Decoded};
use spice_proto::framing::RawMessage;
use spice_proto::messages::display::image::ImageType;

/// A codec benchmark: its recording and the image types it decodes. GLZ-family images
/// share a dictionary, so zlib-GLZ also decodes the plain GLZ images it refers to.
pub struct Codec {
    pub name: &'static str,
    pub kinds: &'static [ImageType],
    packed: &'static [u8],
}

macro_rules! recording {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/frames/",
            $name,
            ".spice.z"
        ))
    };
}

pub const CODECS: &[Codec] = &[
    Codec {
        name: "glz",
        kinds: &[ImageType::GlzRgb],
        packed: recording!("glz"),
    },
    Codec {
        name: "zlib-glz",
        kinds: &[ImageType::ZlibGlzRgb, ImageType::GlzRgb],
        packed: recording!("zlib-glz"),
    },
    Codec {
        name: "quic",
        kinds: &[ImageType::Quic],
        packed: recording!("quic"),
    },
    Codec {
        name: "lz4",
        kinds: &[ImageType::Lz4],
        packed: recording!("lz4"),
    },
    Codec {
        name: "jpeg",
        kinds: &[ImageType::Jpeg, ImageType::JpegAlpha],
        packed: recording!("jpeg"),
    },
    Codec {
        name: "lz",
        kinds: &[ImageType::LzRgb],
        packed: recording!("lz"),
    },
    Codec {
        name: "off",
        kinds: &[ImageType::Bitmap],
        packed: recording!("off"),
    },
];

impl Codec {
    /// The recording's display messages.
    pub fn messages(&self) -> Vec<RawMessage> {
        let raw = miniz_oxide::inflate::decompress_to_vec_zlib(self.packed)
            .unwrap_or_else(|e| panic!("{}: inflate: {e:?}", self.name));
        replay::display_messages(&raw).unwrap_or_else(|e| panic!("{}: parse: {e}", self.name))
    }

    /// What `codec/<name>` times: this codec's images decoded with spice-codecs alone.
    pub fn decode(&self, messages: &[RawMessage]) -> Decoded {
        replay::decode_images(messages, self.kinds)
            .unwrap_or_else(|e| panic!("{}: decode: {e}", self.name))
    }
}

/// What `render/<name>` times: the whole stream replayed into a surface, as a live
/// session draws it.
pub fn render(name: &str, messages: &[RawMessage]) {
    let (state, _, failed) =
        replay::render(messages).unwrap_or_else(|e| panic!("{name}: replay: {e}"));
    assert_eq!(failed, 0, "{name}: draws failed during replay");
    std::hint::black_box(state);
}

/// The unit of render throughput: pixels of every image the stream draws, whatever its
/// codec, cache hits included.
pub fn render_pixels(messages: &[RawMessage]) -> u64 {
    replay::image_pixels(messages).unwrap_or_else(|e| panic!("counting pixels: {e}"))
}
