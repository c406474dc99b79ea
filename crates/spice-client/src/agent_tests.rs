use super::*;
use spice_proto::agent::msg;

/// An agent → client message as the agent writes it.
fn from_agent(ty: u32, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&1u32.to_le_bytes());
    v.extend_from_slice(&ty.to_le_bytes());
    v.extend_from_slice(&0u64.to_le_bytes());
    v.extend_from_slice(&(body.len() as u32).to_le_bytes());
    v.extend_from_slice(body);
    v
}

fn words(ws: &[u32]) -> Vec<u8> {
    ws.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn announce(request: bool, bits: &[u32]) -> Vec<u8> {
    let mut body = words(&[u32::from(request)]);
    body.extend(words(&caps_words(bits)));
    from_agent(msg::ANNOUNCE_CAPABILITIES, &body)
}

/// The agent messages (type, body) in the AGENT_DATA sends of `out`, reassembled.
fn sent(out: &[AgentOut]) -> Vec<(u32, Vec<u8>)> {
    let stream: Vec<u8> = out
        .iter()
        .filter_map(|o| match o {
            AgentOut::Send(MainClientMsg::AgentData(d)) => Some(d.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let mut a = Assembler::default();
    a.feed(&stream)
        .into_iter()
        .map(|p| match p {
            Piece::Message(h, b) => (h.ty, b),
            Piece::Refused(r) => panic!("{r}"),
        })
        .collect()
}

fn ready_agent(bits: &[u32]) -> Agent {
    let mut a = Agent::default();
    let mut out = Vec::new();
    a.connect(10, &mut out);
    a.data(&announce(false, bits), &mut out);
    a
}

#[test]
fn connect_grants_tokens_and_asks_for_the_agents_capabilities() {
    let mut a = Agent::default();
    let mut out = Vec::new();
    a.connect(10, &mut out);
    assert_eq!(
        out[0],
        AgentOut::Send(MainClientMsg::AgentStart {
            num_tokens: RECEIVE_TOKENS
        })
    );
    let msgs = sent(&out);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].0, msg::ANNOUNCE_CAPABILITIES);
    assert_eq!(&msgs[0].1[..4], &[1, 0, 0, 0], "request = 1");
    let caps = u32::from_le_bytes(msgs[0].1[4..8].try_into().unwrap());
    assert!(has_cap(&[caps], cap::CLIPBOARD_BY_DEMAND));
    assert!(has_cap(&[caps], cap::MONITORS_CONFIG));
    assert!(!has_cap(&[caps], cap::CLIPBOARD_SELECTION));
}

#[test]
fn without_tokens_nothing_is_sent_until_the_server_grants_some() {
    let mut a = Agent::default();
    let mut out = Vec::new();
    a.connect(0, &mut out);
    assert!(sent(&out).is_empty());
    out.clear();
    a.tokens(1, &mut out);
    assert_eq!(sent(&out)[0].0, msg::ANNOUNCE_CAPABILITIES);
}

#[test]
fn messages_are_reassembled_across_chunks_and_split_anywhere() {
    let mut stream = from_agent(
        msg::CLIPBOARD_GRAB,
        &words(&[clipboard::IMAGE_PNG, clipboard::UTF8_TEXT]),
    );
    let mut text = words(&[clipboard::UTF8_TEXT]);
    text.extend_from_slice("grüße from the guest".as_bytes());
    stream.extend(from_agent(msg::CLIPBOARD, &text));
    for cut in 1..stream.len() {
        let mut a = ready_agent(&[cap::CLIPBOARD_BY_DEMAND]);
        let mut out = Vec::new();
        a.data(&stream[..cut], &mut out);
        a.data(&stream[cut..], &mut out);
        assert_eq!(
            sent(&out),
            vec![(msg::CLIPBOARD_REQUEST, words(&[clipboard::UTF8_TEXT]))],
            "cut at {cut}"
        );
        assert!(
            out.contains(&AgentOut::Event(AgentEvent::GuestClipboard(
                "grüße from the guest".into()
            ))),
            "cut at {cut}: {out:?}"
        );
    }
}

#[test]
fn an_oversized_message_is_skipped_and_the_next_one_still_arrives() {
    let mut a = ready_agent(&[cap::CLIPBOARD_BY_DEMAND]);
    let mut out = Vec::new();
    let mut head = from_agent(msg::CLIPBOARD, &[]);
    head[16..20].copy_from_slice(&((MAX_MESSAGE_BODY + 1) as u32).to_le_bytes());
    a.data(&head, &mut out);
    let junk = vec![0xAB; AGENT_MAX_DATA_SIZE];
    let mut left = MAX_MESSAGE_BODY + 1;
    while left > 0 {
        let n = left.min(junk.len());
        a.data(&junk[..n], &mut out);
        left -= n;
    }
    let mut text = words(&[clipboard::UTF8_TEXT]);
    text.extend_from_slice(b"after");
    a.data(&from_agent(msg::CLIPBOARD, &text), &mut out);
    let refused: Vec<_> = out
        .iter()
        .filter(|o| matches!(o, AgentOut::Refused(_)))
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(out.contains(&AgentOut::Event(AgentEvent::GuestClipboard("after".into()))));
    assert!(a.assembler.buf.capacity() <= AGENT_MAX_DATA_SIZE);
}

#[test]
fn a_malformed_message_is_refused_without_losing_the_stream() {
    let mut a = ready_agent(&[cap::CLIPBOARD_BY_DEMAND]);
    let mut out = Vec::new();
    a.data(&from_agent(msg::REPLY, &[1, 2]), &mut out);
    a.data(
        &from_agent(msg::CLIPBOARD_GRAB, &words(&[clipboard::UTF8_TEXT])),
        &mut out,
    );
    assert!(matches!(out[0], AgentOut::Refused(_)), "{out:?}");
    assert_eq!(sent(&out)[0].0, msg::CLIPBOARD_REQUEST);
}

#[test]
fn the_visitors_text_is_grabbed_then_handed_over_on_request() {
    let mut a = Agent::default();
    let mut out = Vec::new();
    a.connect(10, &mut out);
    // Set before the agent announced: offered as soon as it does.
    a.set_clipboard("pasted by a visitor", &mut out).unwrap();
    out.clear();
    a.data(&announce(true, &[cap::CLIPBOARD_BY_DEMAND]), &mut out);
    let msgs = sent(&out);
    assert_eq!(msgs[0].0, msg::ANNOUNCE_CAPABILITIES);
    assert_eq!(&msgs[0].1[..4], &[0, 0, 0, 0], "an answer has request = 0");
    assert_eq!(
        msgs[1],
        (msg::CLIPBOARD_GRAB, words(&[clipboard::UTF8_TEXT]))
    );
    assert!(out.contains(&AgentOut::Event(AgentEvent::Capabilities {
        clipboard: true,
        resize: false
    })));
    out.clear();
    a.data(
        &from_agent(msg::CLIPBOARD_REQUEST, &words(&[clipboard::UTF8_TEXT])),
        &mut out,
    );
    let mut want = words(&[clipboard::UTF8_TEXT]);
    want.extend_from_slice(b"pasted by a visitor");
    assert_eq!(sent(&out), vec![(msg::CLIPBOARD, want)]);
    // A request for an image gets NONE, so the guest stops waiting.
    out.clear();
    a.data(
        &from_agent(msg::CLIPBOARD_REQUEST, &words(&[clipboard::IMAGE_PNG])),
        &mut out,
    );
    assert_eq!(
        sent(&out),
        vec![(msg::CLIPBOARD, words(&[clipboard::NONE]))]
    );
}

#[test]
fn clipboard_text_over_the_limit_is_refused_to_the_visitor() {
    let mut a = ready_agent(&[cap::CLIPBOARD_BY_DEMAND, cap::MAX_CLIPBOARD]);
    let mut out = Vec::new();
    a.data(
        &from_agent(msg::MAX_CLIPBOARD, &100i32.to_le_bytes()),
        &mut out,
    );
    let big = "x".repeat(101);
    assert_eq!(
        a.set_clipboard(&big, &mut out),
        Err(AgentError::ClipboardTooLarge { len: 101, max: 100 })
    );
    let huge = "y".repeat(MAX_CLIPBOARD_BYTES + 1);
    let mut b = ready_agent(&[cap::CLIPBOARD_BY_DEMAND]);
    assert!(b.set_clipboard(&huge, &mut out).is_err());
}

#[test]
fn long_text_is_cut_into_chunks_each_costing_a_token() {
    let mut a = Agent::default();
    let mut out = Vec::new();
    a.connect(2, &mut out);
    a.data(&announce(false, &[cap::CLIPBOARD_BY_DEMAND]), &mut out);
    a.set_clipboard(&"z".repeat(5000), &mut out).unwrap();
    a.data(
        &from_agent(msg::CLIPBOARD_REQUEST, &words(&[clipboard::UTF8_TEXT])),
        &mut out,
    );
    let data = |out: &[AgentOut]| {
        out.iter()
            .filter(|o| matches!(o, AgentOut::Send(MainClientMsg::AgentData(_))))
            .count()
    };
    // Announce + grab used both tokens; the clipboard's three chunks wait.
    assert_eq!(data(&out), 2);
    out.clear();
    a.tokens(2, &mut out);
    assert_eq!(data(&out), 2);
    out.clear();
    a.tokens(5, &mut out);
    assert_eq!(data(&out), 1);
    for o in &out {
        if let AgentOut::Send(MainClientMsg::AgentData(d)) = o {
            assert!(d.len() <= AGENT_MAX_DATA_SIZE);
        }
    }
}

#[test]
fn consumed_data_returns_tokens_to_the_server() {
    let mut a = ready_agent(&[]);
    let mut out = Vec::new();
    for _ in 0..RECEIVE_TOKENS {
        a.data(&from_agent(msg::CLIPBOARD_RELEASE, &[]), &mut out);
    }
    let returned: u32 = out
        .iter()
        .filter_map(|o| match o {
            AgentOut::Send(MainClientMsg::AgentToken { num_tokens }) => Some(*num_tokens),
            _ => None,
        })
        .sum();
    // The announce in ready_agent was the first message consumed.
    assert_eq!(returned, RECEIVE_TOKENS);
}

#[test]
fn resize_waits_for_the_capability_rounds_and_is_not_repeated() {
    let mut a = Agent::default();
    let mut out = Vec::new();
    a.connect(10, &mut out);
    a.resize(1283, 721, &mut out);
    out.clear();
    a.data(&announce(false, &[cap::MONITORS_CONFIG]), &mut out);
    let msgs = sent(&out);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].0, msg::MONITORS_CONFIG);
    assert_eq!(&msgs[0].1[8..12], &721u32.to_le_bytes());
    assert_eq!(&msgs[0].1[12..16], &1280u32.to_le_bytes());
    out.clear();
    a.resize(1287, 721, &mut out);
    assert!(sent(&out).is_empty(), "same size after rounding");
    a.resize(800, 600, &mut out);
    assert_eq!(sent(&out)[0].0, msg::MONITORS_CONFIG);
}

#[test]
fn a_reconnected_agent_gets_the_wanted_size_and_text_again() {
    let mut a = ready_agent(&[cap::MONITORS_CONFIG, cap::CLIPBOARD_BY_DEMAND]);
    let mut out = Vec::new();
    a.resize(1024, 768, &mut out);
    a.set_clipboard("kept", &mut out).unwrap();
    a.disconnect();
    assert!(!a.is_connected());
    out.clear();
    a.connect(10, &mut out);
    a.data(
        &announce(false, &[cap::MONITORS_CONFIG, cap::CLIPBOARD_BY_DEMAND]),
        &mut out,
    );
    let types: Vec<u32> = sent(&out).into_iter().map(|(t, _)| t).collect();
    assert!(types.contains(&msg::MONITORS_CONFIG), "{types:?}");
    assert!(types.contains(&msg::CLIPBOARD_GRAB), "{types:?}");
}

#[test]
fn a_foreign_protocol_number_is_skipped_by_its_size() {
    let mut a = ready_agent(&[cap::CLIPBOARD_BY_DEMAND]);
    let mut out = Vec::new();
    let mut bad = from_agent(msg::CLIPBOARD, &[9; 10]);
    bad[0] = 7;
    bad.extend(from_agent(
        msg::CLIPBOARD_GRAB,
        &words(&[clipboard::UTF8_TEXT]),
    ));
    a.data(&bad, &mut out);
    assert!(matches!(out[0], AgentOut::Refused(_)), "{out:?}");
    assert_eq!(sent(&out)[0].0, msg::CLIPBOARD_REQUEST);
}
