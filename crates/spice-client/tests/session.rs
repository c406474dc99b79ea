//! The session state machine against a scripted server: the link and ticket, the main
//! channel's start-up, channel opening, acks and pings, and — above all — that a channel
//! that fails is reported, never swallowed. (The real server is exercised by the QEMU
//! integration tests; this pins down the sequencing rules one message at a time.)

use std::time::Duration;

use olive_test_support::Wire;
use rand_core::OsRng;
use rsa::pkcs8::EncodePublicKey;
use rsa::{Oaep, RsaPrivateKey};
use sha1::Sha1;
use spice_client::{ChannelError, ChannelKey, ChannelType, Event, Output, Session, SessionConfig};
use spice_proto::framing::{encode_message, Deframer};
use spice_proto::link::{LinkError, LinkHeader, LinkMess, LinkReply, LINK_HEADER_SIZE};
use spice_proto::messages::{BaseClientMsg, DisplayClientMsg, InputsClientMsg, MainClientMsg};

const PASSWORD: &str = "s3cret";

struct Server {
    key: RsaPrivateKey,
}

impl Server {
    fn new() -> Self {
        Server {
            key: RsaPrivateKey::new(&mut OsRng, 1024).expect("key"),
        }
    }

    fn reply(&self, error: LinkError) -> Vec<u8> {
        LinkReply {
            error,
            pub_key_der: self
                .key
                .to_public_key()
                .to_public_key_der()
                .unwrap()
                .as_bytes()
                .to_vec(),
            common_caps: vec![(1 << 0) | (1 << 1) | (1 << 3)],
            channel_caps: vec![],
        }
        .encode()
    }

    /// Checks the 4-byte auth mechanism + 128-byte ticket and returns the password.
    fn password(&self, bytes: &[u8]) -> String {
        assert_eq!(bytes.len(), 4 + 128);
        assert_eq!(&bytes[..4], &1u32.to_le_bytes(), "SPICE auth mechanism");
        let plain = self
            .key
            .decrypt(Oaep::new::<Sha1>(), &bytes[4..])
            .expect("decrypt");
        assert_eq!(plain.last(), Some(&0), "password is NUL-terminated");
        String::from_utf8(plain[..plain.len() - 1].to_vec()).unwrap()
    }
}

fn drain(s: &mut Session) -> Vec<Output> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

fn sent(outputs: &[Output], key: ChannelKey) -> Vec<Vec<u8>> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send(k, b) if *k == key => Some(b.clone()),
            _ => None,
        })
        .collect()
}

fn events(outputs: &[Output]) -> Vec<Event> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// Client messages (type, body) in the framed bytes sent on a linked channel.
fn messages(chunks: &[Vec<u8>]) -> Vec<(u16, Vec<u8>)> {
    let mut d = Deframer::new();
    for c in chunks {
        d.push(c);
    }
    std::iter::from_fn(|| d.next_message().unwrap().map(|m| (m.ty, m.body))).collect()
}

fn frame<M: spice_proto::messages::ClientMessage>(m: &M) -> (u16, Vec<u8>) {
    m.encode()
}

/// Links `key` and returns what the client sent after the link completed.
fn link(
    s: &mut Session,
    server: &Server,
    key: ChannelKey,
    expect_conn_id: u32,
    after: &[u8],
) -> Vec<Output> {
    s.connected(key);
    let out = drain(s);
    let link_bytes = &sent(&out, key)[0];
    let header = LinkHeader::decode(link_bytes).unwrap();
    let mess =
        LinkMess::decode(&link_bytes[LINK_HEADER_SIZE..LINK_HEADER_SIZE + header.size as usize])
            .unwrap();
    assert_eq!(mess.connection_id, expect_conn_id, "{key}");
    assert_eq!(mess.channel_type, key.channel_type);
    assert_eq!(
        mess.common_caps[0] & 0b1001,
        0b1001,
        "AUTH_SELECTION and MINI_HEADER"
    );
    s.receive(key, &server.reply(LinkError::Ok));
    let out = drain(s);
    assert_eq!(server.password(&sent(&out, key)[0]), PASSWORD);
    s.receive(key, &Wire::new().u32(0).bytes(after).done());
    drain(s)
}

fn main_init(session_id: u32, supported_modes: u32, current_mode: u32) -> Vec<u8> {
    let body = Wire::new()
        .u32s(&[session_id, 1, supported_modes, current_mode, 0, 10, 1000, 0])
        .done();
    encode_message(103, &body)
}

fn channels_list(list: &[(u8, u8)]) -> Vec<u8> {
    let mut b = Wire::new();
    b.u32(list.len() as u32);
    for &(t, id) in list {
        b.u8(t).u8(id);
    }
    encode_message(104, &b.done())
}

#[test]
fn session_start_up_follows_the_protocol() {
    let server = Server::new();
    let mut s = Session::new(SessionConfig {
        password: PASSWORD.into(),
        ..SessionConfig::default()
    });
    let out = drain(&mut s);
    assert!(matches!(out[..], [Output::Connect(ChannelKey::MAIN)]));

    // Link result and MAIN_INIT arrive in one read.
    let out = link(
        &mut s,
        &server,
        ChannelKey::MAIN,
        0,
        &main_init(0x1234, 3, 1),
    );
    assert!(events(&out).contains(&Event::ChannelReady(ChannelKey::MAIN)));
    let main_msgs = messages(&sent(&out, ChannelKey::MAIN));
    assert_eq!(
        main_msgs,
        vec![
            frame(&MainClientMsg::MouseModeRequest { mode: 2 }),
            frame(&MainClientMsg::AttachChannels),
        ],
        "ask for client mouse mode, then attach"
    );
    assert_eq!(s.session_id(), Some(0x1234));

    // Only the channels the session renders are opened.
    s.receive(
        ChannelKey::MAIN,
        &channels_list(&[(2, 0), (3, 0), (4, 0), (5, 0), (9, 0)]),
    );
    let connects: Vec<ChannelKey> = drain(&mut s)
        .into_iter()
        .filter_map(|o| match o {
            Output::Connect(k) => Some(k),
            _ => None,
        })
        .collect();
    let display = ChannelKey::new(ChannelType::Display, 0);
    let inputs = ChannelKey::new(ChannelType::Inputs, 0);
    let cursor = ChannelKey::new(ChannelType::Cursor, 0);
    assert_eq!(connects, vec![display, inputs, cursor]);

    // The display channel sends DISPLAY_INIT at once, then its compression preference.
    let out = link(&mut s, &server, display, 0x1234, &[]);
    let msgs = messages(&sent(&out, display));
    assert_eq!(
        msgs[0],
        frame(&DisplayClientMsg::Init {
            pixmap_cache_id: 1,
            pixmap_cache_size: 20 * 1024 * 1024,
            glz_dictionary_id: 0,
            glz_dictionary_window_size: 4 * 1024 * 1024,
        })
    );
    // AUTO_GLZ: the server picks per image.
    assert_eq!(msgs[1], frame(&DisplayClientMsg::PreferredCompression(2)));

    // SET_ACK is answered with ACK_SYNC; then one ACK per `window` messages.
    let set_ack = Wire::new().u32(7).u32(2).done();
    s.receive(display, &encode_message(3, &set_ack));
    assert_eq!(
        messages(&sent(&drain(&mut s), display)),
        vec![frame(&BaseClientMsg::AckSync { generation: 7 })]
    );
    let mark = encode_message(102, &[]);
    s.receive(display, &mark);
    assert!(sent(&drain(&mut s), display).is_empty());
    s.receive(display, &mark);
    assert_eq!(
        messages(&sent(&drain(&mut s), display)),
        vec![frame(&BaseClientMsg::Ack)]
    );

    // PING is answered with PONG carrying id and timestamp.
    let ping = Wire::new().u32(42).u64(99).bytes(&[0; 100]).done();
    s.receive(ChannelKey::MAIN, &encode_message(4, &ping));
    assert_eq!(
        messages(&sent(&drain(&mut s), ChannelKey::MAIN)),
        vec![frame(&BaseClientMsg::Pong {
            id: 42,
            timestamp: 99
        })]
    );

    // Keys go out on the inputs channel once it is linked, with set-1 codes.
    assert!(!s.key_down("KeyA"), "not linked yet");
    link(&mut s, &server, inputs, 0x1234, &[]);
    assert!(s.key_down("ArrowUp"));
    assert!(s.key_up("ArrowUp"));
    assert!(!s.key_down("NoSuchKey"));
    assert_eq!(
        messages(&sent(&drain(&mut s), inputs)),
        vec![
            frame(&InputsClientMsg::KeyDown { code: 0x48E0 }),
            frame(&InputsClientMsg::KeyUp { code: 0xC8E0 }),
        ]
    );

    // A channel whose transport dies is reported, not forgotten.
    s.transport_closed(cursor, "connection reset");
    let evs = events(&drain(&mut s));
    assert!(
        evs.iter().any(|e| matches!(e, Event::ChannelFailed { channel, error: ChannelError::TransportClosed(_) } if *channel == cursor)),
        "{evs:?}"
    );
}

#[test]
fn refused_links_and_protocol_violations_are_reported() {
    let server = Server::new();
    let mut s = Session::new(SessionConfig {
        password: "wrong".into(),
        ..SessionConfig::default()
    });
    drain(&mut s);
    s.connected(ChannelKey::MAIN);
    drain(&mut s);
    s.receive(ChannelKey::MAIN, &server.reply(LinkError::Ok));
    drain(&mut s);
    s.receive(ChannelKey::MAIN, &7u32.to_le_bytes());
    let out = drain(&mut s);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Close(ChannelKey::MAIN))));
    let failure = events(&out).into_iter().find_map(|e| match e {
        Event::ChannelFailed { error, .. } => Some(error),
        _ => None,
    });
    assert_eq!(
        failure,
        Some(ChannelError::LinkRefused(LinkError::PermissionDenied))
    );
    assert!(failure.unwrap().to_string().contains("wrong password"));

    // Garbage instead of a link reply is a protocol error, also reported.
    let mut s = Session::new(SessionConfig::default());
    drain(&mut s);
    s.connected(ChannelKey::MAIN);
    drain(&mut s);
    s.receive(ChannelKey::MAIN, b"HTTP/1.1 400 Bad Request\r\n\r\n");
    let evs = events(&drain(&mut s));
    assert!(
        evs.iter().any(|e| matches!(
            e,
            Event::ChannelFailed {
                error: ChannelError::Protocol(_),
                ..
            }
        )),
        "{evs:?}"
    );
}

/// The playback channel is opened only when asked for, and advertises Opus only when the
/// platform can decode it (the server would otherwise send packets nobody can play).
#[test]
fn playback_channel_caps_follow_the_config() {
    for opus in [false, true] {
        let server = Server::new();
        let mut s = Session::new(SessionConfig {
            password: PASSWORD.into(),
            channels: vec![ChannelType::Display, ChannelType::Playback],
            playback_opus: opus,
            ..SessionConfig::default()
        });
        drain(&mut s);
        link(&mut s, &server, ChannelKey::MAIN, 0, &main_init(9, 1, 1));
        s.receive(ChannelKey::MAIN, &channels_list(&[(5, 0), (6, 0)]));
        let playback = ChannelKey::new(ChannelType::Playback, 0);
        let connects: Vec<ChannelKey> = drain(&mut s)
            .into_iter()
            .filter_map(|o| match o {
                Output::Connect(k) => Some(k),
                _ => None,
            })
            .collect();
        assert_eq!(connects, vec![playback], "record (6) is not opened");
        s.connected(playback);
        let out = drain(&mut s);
        let bytes = &sent(&out, playback)[0];
        let header = LinkHeader::decode(bytes).unwrap();
        let mess =
            LinkMess::decode(&bytes[LINK_HEADER_SIZE..LINK_HEADER_SIZE + header.size as usize])
                .unwrap();
        let want = if opus { 0b1110 } else { 0b0110 };
        assert_eq!(
            mess.channel_caps,
            vec![want],
            "VOLUME, LATENCY, OPUS={opus}"
        );
    }
}

/// Display caps: stream support for MJPEG only (with MULTI_CODEC the server streams no
/// codec whose bit is missing), plus what the renderer handles, COMPOSITE and A8_SURFACE
/// included.
#[test]
fn display_caps_offer_mjpeg_streams_only() {
    let server = Server::new();
    let mut s = Session::new(SessionConfig {
        password: PASSWORD.into(),
        ..SessionConfig::default()
    });
    drain(&mut s);
    link(&mut s, &server, ChannelKey::MAIN, 0, &main_init(9, 1, 1));
    s.receive(ChannelKey::MAIN, &channels_list(&[(2, 0)]));
    drain(&mut s);
    let display = ChannelKey::new(ChannelType::Display, 0);
    s.connected(display);
    let out = drain(&mut s);
    let bytes = &sent(&out, display)[0];
    let header = LinkHeader::decode(bytes).unwrap();
    let mess = LinkMess::decode(&bytes[LINK_HEADER_SIZE..LINK_HEADER_SIZE + header.size as usize])
        .unwrap();
    // SIZED_STREAM 0, MONITORS_CONFIG 1, COMPOSITE 2, A8_SURFACE 3, STREAM_REPORT 4, LZ4 5,
    // MULTI_CODEC 8, CODEC_MJPEG 9.
    assert_eq!(mess.channel_caps, vec![0b11_0011_1111]);
}

const JPEG: &[u8] = include_bytes!("../../spice-codecs/tests/fixtures/gray_33x17.jpg");

fn u32s(values: &[u32]) -> Vec<u8> {
    Wire::new().u32s(values).done()
}

/// STREAM_CREATE on surface 0 at (0, 0) 33×17, TOP_DOWN, no clip.
fn stream_create(id: u32, codec: u8) -> Vec<u8> {
    let body = Wire::new()
        .u32s(&[0, id])
        .u8(1)
        .u8(codec)
        .u64(0)
        .u32s(&[33, 17, 33, 17])
        .rect(0, 0, 17, 33)
        .u8(0)
        .done();
    encode_message(122, &body)
}

fn invalidations(outputs: &[Output]) -> Vec<spice_client::display::Rect> {
    events(outputs)
        .into_iter()
        .filter_map(|e| match e {
            Event::Display(spice_client::display::DisplayEvent::Invalidate { rect, .. }) => {
                Some(rect)
            }
            _ => None,
        })
        .collect()
}

/// Frames wait until the multimedia clock (the server's time, run on the platform's clock
/// given to `tick`) reaches their stamp; `next_deadline` says when that is. A stream in a
/// codec the client lacks gets the "cannot decode" report as soon as reports are asked for.
#[test]
fn stream_frames_follow_the_platform_clock() {
    let server = Server::new();
    let mut s = Session::new(SessionConfig {
        password: PASSWORD.into(),
        ..SessionConfig::default()
    });
    drain(&mut s);
    s.tick(Duration::from_millis(5000));
    // MAIN_INIT says the server's mm clock reads 1000 now.
    link(&mut s, &server, ChannelKey::MAIN, 0, &main_init(9, 1, 1));
    s.receive(ChannelKey::MAIN, &channels_list(&[(2, 0)]));
    drain(&mut s);
    let display = ChannelKey::new(ChannelType::Display, 0);
    link(&mut s, &server, display, 9, &[]);

    let mut msgs = encode_message(314, &u32s(&[0, 64, 32, 32, 1]));
    msgs.extend(stream_create(1, 1));
    let mut data = u32s(&[1, 1100, JPEG.len() as u32]);
    data.extend_from_slice(JPEG);
    msgs.extend(encode_message(123, &data));
    s.receive(display, &msgs);
    assert!(invalidations(&drain(&mut s)).is_empty());
    assert_eq!(s.multimedia_now(), Some(1000));
    assert_eq!(s.next_deadline(), Some(Duration::from_millis(5100)));
    s.tick(Duration::from_millis(5099));
    assert!(invalidations(&drain(&mut s)).is_empty());
    s.tick(Duration::from_millis(5100));
    assert_eq!(
        invalidations(&drain(&mut s)),
        vec![spice_client::display::Rect::new(0, 0, 33, 17)]
    );
    assert_eq!(s.next_deadline(), None);
    assert_eq!(s.stats().stream_frames.get("MJPEG"), Some(&1));

    let mut msgs = stream_create(2, 2);
    msgs.extend(encode_message(319, &u32s(&[2, 5, 20, 1000])));
    s.receive(display, &msgs);
    let out = drain(&mut s);
    assert_eq!(
        messages(&sent(&out, display)),
        vec![frame(&DisplayClientMsg::StreamReport(
            spice_proto::messages::display::StreamReport {
                stream_id: 2,
                unique_id: 5,
                start_frame_mm_time: 0,
                end_frame_mm_time: 0,
                num_frames: 0,
                num_drops: u32::MAX,
                last_frame_delay: 0,
                audio_delay: u32::MAX,
            }
        ))]
    );
    assert_eq!(s.stats().codecs_line(), "codecs images=- streams=MJPEG,VP8");
}
