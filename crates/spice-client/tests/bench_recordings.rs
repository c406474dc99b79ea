//! The benchmark recordings stay meaningful: each holds images of its codec, the codec-only
//! path (`replay::decode_images`) decodes exactly the images of those types the full
//! renderer decoded, and the replay draws without a single failure.

#[path = "../benches/recordings.rs"]
mod recordings;

use spice_client::replay;

#[test]
fn codec_path_decodes_what_the_renderer_decoded() {
    for codec in recordings::CODECS {
        let messages = codec.messages();
        let decoded = codec.decode(&messages);
        let (_, stats, failed) = replay::render(&messages).expect("replay");
        assert_eq!(failed, 0, "{}: failed draws", codec.name);
        let rendered: u64 = codec
            .kinds
            .iter()
            .map(|k| stats.images.get(k.name()).copied().unwrap_or(0))
            .sum();
        assert!(
            rendered > 0,
            "{}: no image of its codec: {:?}",
            codec.name,
            stats.images
        );
        assert_eq!(
            decoded.images, rendered,
            "{}: codec path vs renderer ({:?})",
            codec.name, stats.images
        );
        assert!(decoded.pixels > 0);
    }
}
