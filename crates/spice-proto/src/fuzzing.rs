//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the in-crate randomized
//! tests, so the fuzz harness logic is compiled and exercised on stable Rust too.
//!
//! The functions panic only when an invariant of this crate is broken (a decoder panics
//! or a decode/encode round trip disagrees), which is what the fuzzer looks for.

use crate::channel::ChannelType;
use crate::framing::{split_list, Deframer, MSG_LIST};
use crate::link::{decode_link_result, LinkError, LinkHeader, LinkMess, LinkReply};
use crate::messages::{
    decode_server, message_name, BaseClientMsg, ClientMessage, DisplayClientMsg, InputsClientMsg,
    MainClientMsg, ServerMsg,
};

/// Input layout: `[channel_type, chunk_size, ty_lo, ty_hi, body...]`.
///
/// Decodes `body` as server message `ty` on the channel, follows LIST sub-messages,
/// decodes it as a client message of that channel (checking the re-encoding round trip),
/// and feeds the whole input through a [`Deframer`] in `chunk_size`-byte pieces.
pub fn decode_messages(data: &[u8]) {
    let [channel, chunk, lo, hi, body @ ..] = data else {
        return;
    };
    let channel = ChannelType::from_u8(*channel);
    let ty = u16::from_le_bytes([*lo, *hi]);
    decode_one(channel, ty, body);
    if ty == MSG_LIST {
        if let Ok(subs) = split_list(body) {
            for s in subs {
                decode_one(channel, s.ty, s.body);
            }
        }
    }
    client_round_trip(channel, ty, body);

    let mut d = Deframer::with_max_body(1 << 16);
    let step = usize::from(*chunk).max(1);
    for piece in data.chunks(step) {
        d.push(piece);
        while let Ok(Some(m)) = d.next_message() {
            decode_one(channel, m.ty, &m.body);
        }
    }
}

fn decode_one(channel: ChannelType, ty: u16, body: &[u8]) {
    let _ = message_name(channel, ty);
    if let Ok(msg) = decode_server(channel, ty, body) {
        // Walk everything the decoder produced.
        let _ = format!("{msg:?}");
        if let ServerMsg::Display(d) = &msg {
            for img in d.images() {
                let _ = img.descriptor.kind.name();
            }
            if let Some(base) = d.display_base() {
                let _ = (base.bbox.width(), base.bbox.height());
            }
        }
    }
}

fn client_round_trip(channel: ChannelType, ty: u16, body: &[u8]) {
    fn check<M: ClientMessage + PartialEq + core::fmt::Debug>(
        decoded: crate::Result<M>,
        decode: impl Fn(u16, &[u8]) -> crate::Result<M>,
    ) {
        if let Ok(m) = decoded {
            let (ty, bytes) = m.encode();
            let again = decode(ty, &bytes).expect("re-encoded client message must decode");
            assert_eq!(again, m, "client message round trip");
        }
    }
    if crate::messages::base::is_base(ty) {
        check(BaseClientMsg::decode(ty, body), BaseClientMsg::decode);
        return;
    }
    match channel {
        ChannelType::Main => check(MainClientMsg::decode(ty, body), MainClientMsg::decode),
        ChannelType::Display => check(DisplayClientMsg::decode(ty, body), DisplayClientMsg::decode),
        ChannelType::Inputs => check(InputsClientMsg::decode(ty, body), InputsClientMsg::decode),
        _ => {}
    }
}

/// Input: arbitrary bytes as they would arrive during the link stage.
///
/// Exercises the link header, link reply, link message and link result decoders and checks
/// that successfully decoded replies and messages survive an encode/decode round trip.
pub fn link_reply(data: &[u8]) {
    let _ = decode_link_result(data);
    let body = data.get(crate::link::LINK_HEADER_SIZE..).unwrap_or(&[]);
    if let Ok(h) = LinkHeader::decode(data) {
        assert_eq!(LinkHeader::decode(&h.encode()), Ok(h));
    }
    for candidate in [data, body] {
        if let Ok(reply) = LinkReply::decode(candidate) {
            let _ = reply.error.to_string();
            if reply.error == LinkError::Ok {
                let bytes = reply.encode();
                let again = LinkReply::decode(bytes.get(16..).unwrap_or(&[]))
                    .expect("re-encoded link reply must decode");
                assert_eq!(again, reply, "link reply round trip");
            }
        }
        if let Ok(mess) = LinkMess::decode(candidate) {
            let bytes = mess.encode();
            let again = LinkMess::decode(bytes.get(16..).unwrap_or(&[]))
                .expect("re-encoded link message must decode");
            assert_eq!(again, mess, "link message round trip");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use olive_test_support::XorShift;

    #[test]
    fn random_inputs_never_panic() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let types: [u16; 12] = [1, 3, 4, 5, 7, 8, 101, 103, 104, 304, 310, 311];
        for i in 0..20_000u32 {
            let len = (rng.next() % 96) as usize;
            let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if data.len() >= 4 {
                data[0] = (i % 6) as u8;
                let ty = types[(rng.next() % types.len() as u64) as usize];
                data[2..4].copy_from_slice(&ty.to_le_bytes());
            }
            decode_messages(&data);
            link_reply(&data);
        }
    }

    #[test]
    fn link_reply_fuzz_accepts_valid_reply() {
        let reply = LinkReply {
            error: LinkError::Ok,
            pub_key_der: vec![1; 162],
            common_caps: vec![9],
            channel_caps: vec![],
        };
        link_reply(&reply.encode());
    }
}
