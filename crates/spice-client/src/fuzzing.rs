//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and in-crate randomized tests,
//! so the harness logic is compiled and exercised on stable Rust too. They panic only when
//! an invariant breaks, which is what the fuzzer looks for.

use crate::agent::{Agent, AgentOut, MAX_MESSAGE_BODY};
use spice_proto::messages::main::AGENT_MAX_DATA_SIZE;
use spice_proto::messages::MainClientMsg;

/// Input: `[chunk_size, ops, stream...]`. The stream is the agent's side of AGENT_DATA,
/// cut into `chunk_size`-byte pieces (1..=255, as the server may cut it anywhere); `ops`
/// bits interleave the visitor's actions (a paste, a resize, server tokens) between
/// pieces. Checks that memory stays bounded and every message sent fits the wire limits.
pub fn agent_stream(data: &[u8]) {
    let [chunk, ops, stream @ ..] = data else {
        return;
    };
    let chunk = usize::from((*chunk).max(1));
    let mut agent = Agent::default();
    let mut out = Vec::new();
    agent.connect(u32::from(*ops & 3), &mut out);
    for (i, piece) in stream.chunks(chunk).enumerate() {
        match (ops >> (i % 4 * 2)) & 3 {
            0 => {
                let _ = agent.set_clipboard(&"p".repeat(piece.len() * 40), &mut out);
            }
            1 => agent.resize(u32::from(piece[0]) * 8, u32::from(piece[0]) * 6, &mut out),
            2 => agent.tokens(u32::from(piece[0]), &mut out),
            _ => {}
        }
        agent.data(piece, &mut out);
        check(&agent, &out);
        out.clear();
    }
}

fn check(agent: &Agent, out: &[AgentOut]) {
    assert!(
        agent.buffered() <= MAX_MESSAGE_BODY,
        "reassembly buffer grew past the limit"
    );
    for o in out {
        if let AgentOut::Send(MainClientMsg::AgentData(d)) = o {
            assert!(
                d.len() <= AGENT_MAX_DATA_SIZE,
                "AGENT_DATA of {} bytes",
                d.len()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    /// A few thousand pseudo-random inputs with a valid header now and then.
    #[test]
    fn agent_stream_survives_random_input() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..3000 {
            let mut data = Vec::new();
            let len = (x % 600) as usize;
            for j in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Protocol 1 headers at a few places, so bodies get collected too.
                let b = if j % 40 == 2 { 1 } else { (x & 0xff) as u8 };
                data.push(b);
            }
            super::agent_stream(&data);
        }
    }
}
