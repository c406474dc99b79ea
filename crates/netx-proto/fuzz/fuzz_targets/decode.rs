#![no_main]

use libfuzzer_sys::fuzz_target;
use netx_proto::{Decode, Decoder, Encode, MAX_MESSAGE_SIZE};

/// Feeds `data` in chunks whose sizes come from `sizes`, draining after each push.
fn drive<M: Decode + Encode>(sizes: &[u8], data: &[u8]) {
    let mut d = Decoder::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes.get(i).map_or(rest.len(), |&s| usize::from(s).max(1));
        let n = n.min(rest.len());
        i += 1;
        d.push(&rest[..n]);
        rest = &rest[n..];
        loop {
            match d.next::<M>() {
                Ok(Some(m)) => assert!(M::decode(&m.encode_payload()).is_ok()),
                Ok(None) => break,
                Err(e) => drop(e.wire_text()),
            }
        }
        assert!(d.buffered_len() <= 4 + MAX_MESSAGE_SIZE);
    }
    drop(d.take_remaining());
}

fuzz_target!(|input: &[u8]| {
    // First byte: how many chunk-size bytes follow; then the stream.
    let Some((&k, rest)) = input.split_first() else {
        return;
    };
    let k = usize::from(k % 16).min(rest.len());
    let (sizes, data) = rest.split_at(k);
    drive::<netx_proto::ClientMsg>(sizes, data);
    drive::<netx_proto::ServerMsg>(sizes, data);
    // Whole payloads, without framing.
    let _ = netx_proto::ClientMsg::decode(data);
    let _ = netx_proto::ServerMsg::decode(data);
});
