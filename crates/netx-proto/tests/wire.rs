//! Wire-level tests: round trips, golden bytes a Python 2 VMNetX peer produces,
//! leniency towards old peers, exact VMNetX error texts, hostile input.

use netx_proto::framing::{encode, Decoder};
use netx_proto::{ClientMsg, Decode, Encode, ProtocolError, ServerMsg, MAX_MESSAGE_SIZE};
use olive_test_support::XorShift;

fn all_client() -> Vec<ClientMsg> {
    vec![
        ClientMsg::Authenticate {
            token: "ABCDEFGHIJKLMNOP/abcdefghij0123456789".into(),
        },
        ClientMsg::AttachViewer,
        ClientMsg::StartVm,
        ClientMsg::StopVm,
        ClientMsg::DestroyVm,
        ClientMsg::Ping,
        ClientMsg::Error {
            message: "Ünïcode and a long text ".repeat(20),
        },
    ]
}

fn all_server() -> Vec<ServerMsg> {
    vec![
        ServerMsg::AuthOk {
            state: "running".into(),
            name: "SimCity 2000".into(),
            limit_mouse_rate: Some(30),
            server_timeout_min: 300,
            server_timeout_max: 305,
        },
        ServerMsg::AuthOk {
            state: "stopped".into(),
            name: String::new(),
            limit_mouse_rate: None,
            server_timeout_min: 0,
            server_timeout_max: i64::MAX,
        },
        ServerMsg::AuthFailed {
            error: "Authentication failed".into(),
        },
        ServerMsg::AttachingViewer,
        ServerMsg::StartupProgress { fraction: 0.0 },
        ServerMsg::StartupProgress {
            fraction: 0.123456789,
        },
        ServerMsg::StartupProgress { fraction: 1.0 },
        ServerMsg::StartupRejectedMemory,
        ServerMsg::StartupFailed {
            message: "qemu died".into(),
        },
        ServerMsg::VmStarted {
            check_display: true,
        },
        ServerMsg::VmStarted {
            check_display: false,
        },
        ServerMsg::VmStopped,
        ServerMsg::VmDestroyed,
        ServerMsg::Pong,
        ServerMsg::Error {
            message: "Couldn't connect viewer".into(),
        },
    ]
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(payload);
    v
}

/// fixstr for short ASCII.
fn s(x: &str) -> Vec<u8> {
    assert!(x.len() < 32);
    let mut v = vec![0xa0 | x.len() as u8];
    v.extend_from_slice(x.as_bytes());
    v
}

/// bin8, as a peer packing Python 3 bytes / use_bin_type would send.
fn b(x: &str) -> Vec<u8> {
    let mut v = vec![0xc4, x.len() as u8];
    v.extend_from_slice(x.as_bytes());
    v
}

fn map(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut v = vec![0x80 | entries.len() as u8];
    for (k, val) in entries {
        v.extend_from_slice(k);
        v.extend_from_slice(val);
    }
    v
}

#[test]
fn round_trip_every_message_through_the_decoder() {
    let mut d = Decoder::new();
    for m in all_client() {
        d.push(&encode(&m));
        assert_eq!(d.next::<ClientMsg>(), Ok(Some(m.clone())));
        d.resume_framing(); // attach-viewer ends framing
    }
    for m in all_server() {
        d.push(&encode(&m));
        assert_eq!(d.next::<ServerMsg>(), Ok(Some(m.clone())));
        d.resume_framing();
    }
    assert_eq!(d.buffered_len(), 0);
}

#[test]
fn round_trip_is_stable_and_rmpv_agrees() {
    for m in all_server() {
        let p = m.encode_payload();
        let v = rmpv::decode::read_value(&mut &p[..]).expect("rmpv reads our bytes");
        let map = v.as_map().unwrap();
        assert_eq!(map[0].0.as_str(), Some("_"));
        assert_eq!(map[0].1.as_str(), Some(m.msg_type()));
        // Re-encoding the decoded message gives identical bytes.
        assert_eq!(ServerMsg::decode(&p).unwrap().encode_payload(), p);
    }
    for m in all_client() {
        let p = m.encode_payload();
        rmpv::decode::read_value(&mut &p[..]).expect("rmpv reads our bytes");
        assert_eq!(ClientMsg::decode(&p).unwrap().encode_payload(), p);
    }
}

#[test]
fn golden_authenticate() {
    // {"_": "authenticate", "token": <37-byte token>} exactly as msgpack-python packs it
    // with use_bin_type=False: the 37-byte string is str16 (0xda), never str8 (0xd9).
    let token = "ABCDEFGHIJKLMNOP/abcdefghij0123456789";
    assert_eq!(token.len(), 37);
    let mut want = vec![0x82];
    want.extend(s("_"));
    want.extend([0xac]);
    want.extend(b"authenticate");
    want.extend(s("token"));
    want.extend([0xda, 0x00, 37]);
    want.extend(token.as_bytes());
    let got = encode(&ClientMsg::Authenticate {
        token: token.into(),
    });
    assert_eq!(&got[..4], &(want.len() as u32).to_be_bytes());
    assert_eq!(&got[4..], &want[..]);
}

#[test]
fn golden_auth_ok() {
    let mut want = vec![0x86];
    want.extend(s("_"));
    want.extend(s("auth-ok"));
    want.extend(s("state"));
    want.extend(s("stopped"));
    want.extend(s("name"));
    want.extend(s("Windows 95"));
    want.extend(s("limit_mouse_rate"));
    want.push(0xc0); // None → nil
    want.extend(s("server_timeout_min"));
    want.extend([0xcd, 0x01, 0x2c]); // 300 as uint16
    want.extend(s("server_timeout_max"));
    want.extend([0xcd, 0x01, 0x31]); // 305
    let m = ServerMsg::AuthOk {
        state: "stopped".into(),
        name: "Windows 95".into(),
        limit_mouse_rate: None,
        server_timeout_min: 300,
        server_timeout_max: 305,
    };
    assert_eq!(m.encode_payload(), want);
    assert_eq!(encode(&m), frame(&want));
}

#[test]
fn golden_small_messages() {
    let mut ping = vec![0x81];
    ping.extend(s("_"));
    ping.extend(s("ping"));
    assert_eq!(ClientMsg::Ping.encode_payload(), ping);

    let mut progress = vec![0x82];
    progress.extend(s("_"));
    progress.extend(s("startup-progress"));
    progress.extend(s("fraction"));
    progress.push(0xcb); // Python floats are float64
    progress.extend(0.5f64.to_be_bytes());
    assert_eq!(
        ServerMsg::StartupProgress { fraction: 0.5 }.encode_payload(),
        progress
    );

    let mut started = vec![0x82];
    started.extend(s("_"));
    started.extend(s("vm-started"));
    started.extend(s("check_display"));
    started.push(0xc3);
    assert_eq!(
        ServerMsg::VmStarted {
            check_display: true
        }
        .encode_payload(),
        started
    );
}

#[test]
fn strings_as_bin_are_accepted_everywhere() {
    // Keys, type and values all as bin.
    let p = map(&[(b("_"), b("authenticate")), (b("token"), b("ID/CODE"))]);
    assert_eq!(
        ClientMsg::decode(&p),
        Ok(ClientMsg::Authenticate {
            token: "ID/CODE".into()
        })
    );
    let p = map(&[
        (s("_"), b("auth-ok")),
        (b("state"), b("running")),
        (s("name"), b("DOS")),
    ]);
    assert_eq!(
        ServerMsg::decode(&p),
        Ok(ServerMsg::AuthOk {
            state: "running".into(),
            name: "DOS".into(),
            limit_mouse_rate: None,
            server_timeout_min: 0,
            server_timeout_max: 0,
        })
    );
    // str8 (0xd9), which new msgpack writers use, is read too.
    let mut p = vec![0x82];
    p.extend(s("_"));
    p.extend(s("error"));
    p.extend(s("message"));
    p.extend([0xd9, 3]);
    p.extend(b"abc");
    assert_eq!(
        ClientMsg::decode(&p),
        Ok(ClientMsg::Error {
            message: "abc".into()
        })
    );
}

#[test]
fn lenient_numbers_and_pre_0_5_1_servers() {
    // fraction as int 0 and 1; float32.
    for (val, want) in [(vec![0x00], 0.0), (vec![0x01], 1.0)] {
        let p = map(&[(s("_"), s("startup-progress")), (s("fraction"), val)]);
        assert_eq!(
            ServerMsg::decode(&p),
            Ok(ServerMsg::StartupProgress { fraction: want })
        );
    }
    let mut f32v = vec![0xca];
    f32v.extend(0.25f32.to_be_bytes());
    let p = map(&[(s("_"), s("startup-progress")), (s("fraction"), f32v)]);
    assert_eq!(
        ServerMsg::decode(&p),
        Ok(ServerMsg::StartupProgress { fraction: 0.25 })
    );
    // limit_mouse_rate: nil, 0 and false are "no limit"; int is kept.
    for (val, want) in [
        (vec![0xc0], None),
        (vec![0x00], None),
        (vec![0xc2], None),
        (vec![0xcc, 200], Some(200)),
    ] {
        let p = map(&[
            (s("_"), s("auth-ok")),
            (s("state"), s("running")),
            (s("name"), s("x")),
            (s("limit_mouse_rate"), val),
        ]);
        let Ok(ServerMsg::AuthOk {
            limit_mouse_rate,
            server_timeout_min,
            server_timeout_max,
            ..
        }) = ServerMsg::decode(&p)
        else {
            panic!()
        };
        assert_eq!(limit_mouse_rate, want);
        // Missing timeouts (server older than 0.5.1) read as 0.
        assert_eq!((server_timeout_min, server_timeout_max), (0, 0));
    }
    // auth-failed with error=None (send_auth_failed's default).
    let p = map(&[(s("_"), s("auth-failed")), (s("error"), vec![0xc0])]);
    assert_eq!(
        ServerMsg::decode(&p),
        Ok(ServerMsg::AuthFailed {
            error: String::new()
        })
    );
    // check_display as int; extra unknown keys ignored; duplicate keys: last wins.
    let p = map(&[
        (s("_"), s("vm-started")),
        (s("check_display"), vec![0x00]),
        (s("io_failed"), vec![0xc3]),
        (s("check_display"), vec![0x01]),
    ]);
    assert_eq!(
        ServerMsg::decode(&p),
        Ok(ServerMsg::VmStarted {
            check_display: true
        })
    );
}

#[test]
fn missing_fields_use_vmnetx_texts() {
    // Server side (ServerEndpoint._dispatch) names the type.
    let e = ClientMsg::decode(&map(&[(s("_"), s("authenticate"))])).unwrap_err();
    assert_eq!(
        e,
        ProtocolError::MissingField {
            msg_type: "authenticate",
            field: "token"
        }
    );
    assert_eq!(
        e.wire_text(),
        "Missing field in authenticate message: 'token'"
    );
    assert_eq!(
        e.to_string(),
        "Missing field in authenticate message: 'token'"
    );
    // The shared `error` handler and the client endpoint do not.
    let e = ClientMsg::decode(&map(&[(s("_"), s("error"))])).unwrap_err();
    assert_eq!(e.wire_text(), "Missing field in message: 'message'");
    let e = ServerMsg::decode(&map(&[(s("_"), s("auth-ok")), (s("state"), s("x"))])).unwrap_err();
    assert_eq!(
        e,
        ProtocolError::MissingField {
            msg_type: "auth-ok",
            field: "name"
        }
    );
    assert_eq!(e.wire_text(), "Missing field in message: 'name'");
    assert_eq!(e.to_string(), "Missing field in auth-ok message: 'name'");
    for (ty, field) in [
        ("auth-failed", "error"),
        ("startup-progress", "fraction"),
        ("startup-failed", "message"),
        ("vm-started", "check_display"),
        ("error", "message"),
    ] {
        let e = ServerMsg::decode(&map(&[(s("_"), s(ty))])).unwrap_err();
        assert_eq!(
            e.wire_text(),
            format!("Missing field in message: '{field}'")
        );
    }
}

#[test]
fn invalid_and_unknown() {
    let inv = |p: &[u8]| ClientMsg::decode(p).unwrap_err().wire_text();
    assert_eq!(inv(&[]), "Invalid message");
    assert_eq!(inv(&[0xc1]), "Invalid message");
    assert_eq!(inv(&[0x93, 1, 2, 3]), "Invalid message"); // not a map
    assert_eq!(inv(&[0x80]), "Invalid message"); // no "_"
    assert_eq!(inv(&map(&[(s("x"), s("ping"))])), "Invalid message");
    assert_eq!(inv(&[0x81, 0xa1, b'_']), "Invalid message"); // truncated
    let mut trailing = map(&[(s("_"), s("ping"))]);
    trailing.push(0xc0);
    assert_eq!(inv(&trailing), "Invalid message");
    // Unknown types, including the other direction's and non-string "_".
    assert_eq!(inv(&map(&[(s("_"), s("pong"))])), "Unknown message type");
    assert_eq!(
        inv(&map(&[(s("_"), s("startup-cancel"))])),
        "Unknown message type"
    );
    assert_eq!(inv(&map(&[(s("_"), vec![0x05])])), "Unknown message type");
    assert_eq!(
        ServerMsg::decode(&map(&[(s("_"), s("ping"))]))
            .unwrap_err()
            .wire_text(),
        "Unknown message type"
    );
    // Wrong-typed fields.
    let e = ClientMsg::decode(&map(&[
        (s("_"), s("authenticate")),
        (s("token"), vec![0x90]),
    ]))
    .unwrap_err();
    assert_eq!(
        e,
        ProtocolError::InvalidField {
            msg_type: "authenticate",
            field: "token"
        }
    );
    assert_eq!(e.wire_text(), "Invalid message");
    // Invalid UTF-8 is decoded lossily, not rejected.
    let p = map(&[(s("_"), s("error")), (s("message"), vec![0xa2, 0xff, b'a'])]);
    assert_eq!(
        ClientMsg::decode(&p),
        Ok(ClientMsg::Error {
            message: "\u{fffd}a".into()
        })
    );
}

#[test]
fn deep_nesting_and_lying_lengths_are_rejected_cheaply() {
    // 100k nested arrays inside an ignored field: rejected at depth 32, no recursion
    // blow-up.
    let mut p = vec![0x82];
    p.extend(s("_"));
    p.extend(s("ping"));
    p.extend(s("x"));
    p.extend(std::iter::repeat_n(0x91u8, 100_000));
    p.push(0xc0);
    let mut d = Decoder::new();
    d.push(&frame(&p));
    assert_eq!(
        d.next::<ClientMsg>().unwrap_err().wire_text(),
        "Invalid message"
    );
    // Shallow nesting in an ignored field is fine.
    let mut p = vec![0x82];
    p.extend(s("_"));
    p.extend(s("ping"));
    p.extend(s("x"));
    p.extend([0x91, 0x91, 0x81, 0xa1, b'k', 0x90]);
    assert_eq!(ClientMsg::decode(&p), Ok(ClientMsg::Ping));
    // Declared lengths far beyond the payload.
    for lie in [
        vec![0xdf, 0xff, 0xff, 0xff, 0xff],
        vec![0x81, 0xa1, b'_', 0xdb, 0xff, 0xff, 0xff, 0xff],
        vec![0x81, 0xa1, b'_', 0xc6, 0x7f, 0xff, 0xff, 0xff],
        vec![0x81, 0xa1, b'_', 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0],
    ] {
        assert_eq!(
            ClientMsg::decode(&lie).unwrap_err().wire_text(),
            "Invalid message"
        );
    }
    // A 1 MiB array of nils in an ignored field is valid and costs no allocation.
    let mut p = vec![0x82];
    p.extend(s("_"));
    p.extend(s("ping"));
    p.extend(s("x"));
    let n = MAX_MESSAGE_SIZE - p.len() - 5;
    p.push(0xdd);
    p.extend((n as u32).to_be_bytes());
    p.extend(std::iter::repeat_n(0xc0u8, n));
    assert_eq!(p.len(), MAX_MESSAGE_SIZE);
    assert_eq!(ClientMsg::decode(&p), Ok(ClientMsg::Ping));
}

#[test]
fn garbage_stream_never_panics_and_recovers_at_frame_boundaries() {
    let mut d = Decoder::new();
    // Three garbage frames, then a valid one.
    d.push(&frame(b"\xff\xfe\xfd"));
    d.push(&frame(b""));
    d.push(&frame(b"hello world"));
    d.push(&encode(&ServerMsg::Pong));
    for _ in 0..3 {
        assert_eq!(
            d.next::<ServerMsg>().unwrap_err().wire_text(),
            "Invalid message"
        );
    }
    assert_eq!(d.next::<ServerMsg>(), Ok(Some(ServerMsg::Pong)));
    assert_eq!(d.next::<ServerMsg>(), Ok(None));
}

/// Feeds `data` to a decoder in random chunks, draining after each push; checks the
/// memory bound and that decoded messages re-encode to something decodable.
fn drive<M: Decode + Encode + std::fmt::Debug + PartialEq>(data: &[u8], rng: &mut XorShift) {
    let mut d = Decoder::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = (1 + rng.below(64)).min(rest.len());
        d.push(&rest[..n]);
        rest = &rest[n..];
        loop {
            match d.next::<M>() {
                Ok(Some(m)) => {
                    let again = M::decode(&m.encode_payload());
                    assert!(again.is_ok(), "re-encode of {m:?} failed: {again:?}");
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = e.wire_text();
                }
            }
        }
        assert!(d.buffered_len() <= 4 + MAX_MESSAGE_SIZE);
    }
    let _ = d.take_remaining();
}

#[test]
fn pseudo_random_inputs() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut valid = Vec::new();
    for m in all_client() {
        valid.push(encode(&m));
    }
    for m in all_server() {
        valid.push(encode(&m));
    }
    for i in 0..4000 {
        let mut data: Vec<u8> = match i % 4 {
            // Pure noise.
            0 => {
                let n = rng.below(300);
                rng.bytes(n)
            }
            // Noise behind a plausible small length prefix.
            1 => {
                let n = rng.below(200);
                let mut v = (n as u32).to_be_bytes().to_vec();
                v.extend(rng.bytes(n));
                v
            }
            // Valid frames with random bytes flipped.
            _ => {
                let mut v = Vec::new();
                for _ in 0..1 + rng.below(4) {
                    v.extend(&valid[rng.below(valid.len())]);
                }
                for _ in 0..rng.below(4) {
                    let at = rng.below(v.len());
                    v[at] ^= 1 << rng.below(8);
                }
                v
            }
        };
        if i % 97 == 0 {
            // Now and then an oversized header.
            data.splice(0..0, ((MAX_MESSAGE_SIZE as u32) + 1).to_be_bytes());
        }
        drive::<ClientMsg>(&data, &mut rng);
        drive::<ServerMsg>(&data, &mut rng);
    }
}
