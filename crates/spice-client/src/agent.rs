//! The guest agent (spice-vdagent) as the client sees it: clipboard both ways and the
//! display size, over the main channel's AGENT_DATA byte stream.
//!
//! Both directions are flow-controlled by tokens, one per AGENT_DATA message: the server
//! grants the client `agent_tokens` (INIT, AGENT_CONNECTED_TOKENS, AGENT_TOKEN) and the
//! client grants the server [`RECEIVE_TOKENS`] in AGENT_START, returning them as it consumes
//! data. Unlike spice-gtk and spice-html5 (which grant ~0, "unlimited"), a finite grant means
//! a guest that floods its clipboard cannot make the server push more than a few kilobytes
//! ahead of us. Every message the agent sends is bounded by [`MAX_MESSAGE_BODY`]: a larger
//! one is skipped by its length (the stream stays in step) and reported, and the session
//! goes on.

use std::collections::VecDeque;

use spice_proto::agent::{
    self, cap, caps_words, clipboard, decode_agent, has_cap, AgentHeader, AgentMsg, ClientAgentMsg,
    MonConfig, HEADER_SIZE,
};
use spice_proto::messages::main::AGENT_MAX_DATA_SIZE;
use spice_proto::messages::MainClientMsg;

/// Largest clipboard text either way, in bytes: generous for text, small enough that a
/// hostile guest cannot make the page hold much.
pub const MAX_CLIPBOARD_BYTES: usize = 1 << 20;
/// Largest agent message body accepted (a clipboard of [`MAX_CLIPBOARD_BYTES`] plus its
/// type word and some slack).
pub const MAX_MESSAGE_BODY: usize = MAX_CLIPBOARD_BYTES + 64;
/// AGENT_DATA messages the server may send before we return tokens.
pub const RECEIVE_TOKENS: u32 = 16;
/// Bytes waiting for send tokens at most (a few clipboards' worth).
const MAX_QUEUED_BYTES: usize = 4 * MAX_CLIPBOARD_BYTES;
/// Capabilities Olive announces: resize, replies, clipboard by demand, the size limit.
const CLIENT_CAPS: &[u32] = &[
    cap::MONITORS_CONFIG,
    cap::REPLY,
    cap::CLIPBOARD_BY_DEMAND,
    cap::MAX_CLIPBOARD,
];

/// What the agent told the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentEvent {
    /// The agent announced what it can do.
    Capabilities {
        /// Copy and paste of text both ways.
        clipboard: bool,
        /// The guest follows the client's display size.
        resize: bool,
    },
    /// Text copied in the guest, offered to the visitor.
    GuestClipboard(String),
}

/// Why the agent could not take something from the visitor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// Text longer than the clipboard limit.
    #[error("the text is {len} bytes long; the clipboard takes at most {max}")]
    ClipboardTooLarge {
        /// Bytes of UTF-8 text offered.
        len: usize,
        /// The limit that applied (ours or the guest's).
        max: usize,
    },
}

/// What the agent asks the session to do.
#[derive(Debug, PartialEq)]
pub(crate) enum AgentOut {
    /// Send this on the main channel.
    Send(MainClientMsg),
    /// Tell the platform.
    Event(AgentEvent),
    /// Something from the agent was refused; the words go to the log.
    Refused(String),
}

/// The agent's side of the session (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Agent {
    connected: bool,
    /// AGENT_DATA messages we may still send.
    send_tokens: u32,
    /// AGENT_DATA bodies waiting for tokens, oldest first.
    outbox: VecDeque<Vec<u8>>,
    queued_bytes: usize,
    /// AGENT_DATA messages consumed since we last returned tokens.
    consumed: u32,
    assembler: Assembler,
    /// The agent's capability words, once it announced them.
    agent_caps: Option<Vec<u32>>,
    /// The largest clipboard the guest said it takes.
    guest_max_clipboard: Option<usize>,
    /// The visitor's text, offered to the guest (kept across agent reconnects).
    visitor_text: Option<String>,
    /// The display size the client wants, and the one last sent.
    wanted_size: Option<(u32, u32)>,
    sent_size: Option<(u32, u32)>,
}

impl Agent {
    /// The agent is there (INIT with `agent_connected`, AGENT_CONNECTED[_TOKENS]) and the
    /// server granted `tokens`.
    pub(crate) fn connect(&mut self, tokens: u32, out: &mut Vec<AgentOut>) {
        self.reset();
        self.connected = true;
        self.send_tokens = tokens;
        out.push(AgentOut::Send(MainClientMsg::AgentStart {
            num_tokens: RECEIVE_TOKENS,
        }));
        self.queue(
            &ClientAgentMsg::AnnounceCapabilities {
                request: true,
                caps: &caps_words(CLIENT_CAPS),
            },
            out,
        );
        self.flush(out);
    }

    /// The agent went away: what was in flight is lost, what the visitor asked for stays.
    pub(crate) fn disconnect(&mut self) {
        self.reset();
    }

    fn reset(&mut self) {
        *self = Agent {
            visitor_text: self.visitor_text.take(),
            wanted_size: self.wanted_size,
            ..Agent::default()
        };
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected
    }

    /// Bytes held for a message still arriving (bounded by [`MAX_MESSAGE_BODY`]).
    pub(crate) fn buffered(&self) -> usize {
        self.assembler.buf.len()
    }

    /// AGENT_TOKEN: the server takes `n` more messages.
    pub(crate) fn tokens(&mut self, n: u32, out: &mut Vec<AgentOut>) {
        self.send_tokens = self.send_tokens.saturating_add(n);
        self.flush(out);
    }

    /// AGENT_DATA: a piece of the agent's byte stream.
    pub(crate) fn data(&mut self, chunk: &[u8], out: &mut Vec<AgentOut>) {
        if !self.connected {
            return;
        }
        self.consumed += 1;
        if self.consumed >= RECEIVE_TOKENS / 2 {
            out.push(AgentOut::Send(MainClientMsg::AgentToken {
                num_tokens: self.consumed,
            }));
            self.consumed = 0;
        }
        for piece in self.assembler.feed(chunk) {
            match piece {
                Piece::Message(header, body) => self.on_message(header, &body, out),
                Piece::Refused(reason) => out.push(AgentOut::Refused(reason)),
            }
        }
        self.flush(out);
    }

    /// The visitor's text becomes the guest's clipboard (now, or once the agent is there).
    pub(crate) fn set_clipboard(
        &mut self,
        text: &str,
        out: &mut Vec<AgentOut>,
    ) -> Result<(), AgentError> {
        let max = self.clipboard_limit();
        if text.len() > max {
            return Err(AgentError::ClipboardTooLarge {
                len: text.len(),
                max,
            });
        }
        self.visitor_text = Some(text.to_owned());
        self.offer_clipboard(out);
        self.flush(out);
        Ok(())
    }

    /// The client's display is `width` x `height` pixels: ask the guest to follow. Widths
    /// are rounded down to a multiple of 8 (X's qxl driver needs it); a size already sent
    /// is not sent again.
    pub(crate) fn resize(&mut self, width: u32, height: u32, out: &mut Vec<AgentOut>) {
        let size = ((width / 8 * 8).max(320), height.max(200));
        self.wanted_size = Some(size);
        self.send_size(out);
        self.flush(out);
    }

    /// Whether the agent announced capability `bit`.
    fn agent_has(&self, bit: u32) -> bool {
        self.agent_caps.as_deref().is_some_and(|c| has_cap(c, bit))
    }

    fn clipboard_limit(&self) -> usize {
        self.guest_max_clipboard
            .map_or(MAX_CLIPBOARD_BYTES, |g| g.min(MAX_CLIPBOARD_BYTES))
    }

    fn offer_clipboard(&mut self, out: &mut Vec<AgentOut>) {
        if self.visitor_text.is_some() && self.agent_has(cap::CLIPBOARD_BY_DEMAND) {
            self.queue(
                &ClientAgentMsg::ClipboardGrab {
                    types: &[clipboard::UTF8_TEXT],
                },
                out,
            );
        }
    }

    fn send_size(&mut self, out: &mut Vec<AgentOut>) {
        let Some((width, height)) = self.wanted_size else {
            return;
        };
        if self.sent_size == self.wanted_size || !self.agent_has(cap::MONITORS_CONFIG) {
            return;
        }
        self.sent_size = self.wanted_size;
        let monitor = MonConfig {
            width,
            height,
            depth: 32,
            x: 0,
            y: 0,
        };
        self.queue(
            &ClientAgentMsg::MonitorsConfig {
                monitors: &[monitor],
            },
            out,
        );
    }

    fn on_message(&mut self, header: AgentHeader, body: &[u8], out: &mut Vec<AgentOut>) {
        let msg = match decode_agent(header.ty, body) {
            Ok(m) => m,
            Err(e) => {
                out.push(AgentOut::Refused(format!(
                    "agent message type {}: {e}",
                    header.ty
                )));
                return;
            }
        };
        match msg {
            AgentMsg::AnnounceCapabilities { request, caps } => {
                self.agent_caps = Some(caps);
                if request {
                    self.queue(
                        &ClientAgentMsg::AnnounceCapabilities {
                            request: false,
                            caps: &caps_words(CLIENT_CAPS),
                        },
                        out,
                    );
                }
                if self.agent_has(cap::MAX_CLIPBOARD) {
                    self.queue(
                        &ClientAgentMsg::MaxClipboard(MAX_CLIPBOARD_BYTES as i32),
                        out,
                    );
                }
                out.push(AgentOut::Event(AgentEvent::Capabilities {
                    clipboard: self.agent_has(cap::CLIPBOARD_BY_DEMAND),
                    resize: self.agent_has(cap::MONITORS_CONFIG),
                }));
                self.offer_clipboard(out);
                self.sent_size = None;
                self.send_size(out);
            }
            AgentMsg::ClipboardGrab { types } => {
                if types.contains(&clipboard::UTF8_TEXT) {
                    self.queue(
                        &ClientAgentMsg::ClipboardRequest {
                            ty: clipboard::UTF8_TEXT,
                        },
                        out,
                    );
                }
            }
            AgentMsg::Clipboard { ty, data } if ty == clipboard::UTF8_TEXT => {
                let text = String::from_utf8_lossy(data);
                let text = text.trim_end_matches('\0').to_owned();
                out.push(AgentOut::Event(AgentEvent::GuestClipboard(text)));
            }
            AgentMsg::ClipboardRequest { ty } => self.answer_request(ty, out),
            AgentMsg::Reply { ty, error } if error != 0 => out.push(AgentOut::Refused(format!(
                "the guest agent could not apply message type {ty} (error {error})"
            ))),
            AgentMsg::MaxClipboard(max) => {
                self.guest_max_clipboard = usize::try_from(max).ok();
            }
            AgentMsg::Clipboard { .. }
            | AgentMsg::Reply { .. }
            | AgentMsg::ClipboardRelease
            | AgentMsg::Other(_) => {}
        }
    }

    /// The guest pastes: send the visitor's text, or NONE so it stops waiting.
    fn answer_request(&mut self, ty: u32, out: &mut Vec<AgentOut>) {
        let limit = self.clipboard_limit();
        let text = self
            .visitor_text
            .take()
            .filter(|t| ty == clipboard::UTF8_TEXT && t.len() <= limit);
        let (ty, data) = match &text {
            Some(t) => (clipboard::UTF8_TEXT, t.as_bytes()),
            None => (clipboard::NONE, &[][..]),
        };
        self.queue(&ClientAgentMsg::Clipboard { ty, data }, out);
        self.visitor_text = text;
    }

    /// Cuts a message into AGENT_DATA bodies of at most 2048 bytes and queues them.
    fn queue(&mut self, msg: &ClientAgentMsg<'_>, out: &mut Vec<AgentOut>) {
        if !self.connected {
            return;
        }
        let bytes = msg.encode();
        if self.queued_bytes + bytes.len() > MAX_QUEUED_BYTES {
            out.push(AgentOut::Refused(format!(
                "agent message type {} dropped: {} bytes already wait for the server",
                msg.ty(),
                self.queued_bytes
            )));
            return;
        }
        self.queued_bytes += bytes.len();
        self.outbox
            .extend(bytes.chunks(AGENT_MAX_DATA_SIZE).map(<[u8]>::to_vec));
    }

    fn flush(&mut self, out: &mut Vec<AgentOut>) {
        while self.send_tokens > 0 {
            let Some(chunk) = self.outbox.pop_front() else {
                break;
            };
            self.send_tokens -= 1;
            self.queued_bytes = self.queued_bytes.saturating_sub(chunk.len());
            out.push(AgentOut::Send(MainClientMsg::AgentData(chunk)));
        }
    }
}

/// A whole message out of the stream, or the reason one was skipped.
#[derive(Debug, PartialEq)]
enum Piece {
    Message(AgentHeader, Vec<u8>),
    Refused(String),
}

/// Where the reassembler is in the stream.
#[derive(Debug, Default)]
enum Stage {
    /// Reading a header (the bytes so far).
    #[default]
    Header,
    /// Collecting a body of `header.size` bytes.
    Body(AgentHeader),
    /// Discarding this many bytes of a refused message.
    Skip(usize),
}

/// Cuts the AGENT_DATA byte stream back into messages. Memory is bounded by
/// [`MAX_MESSAGE_BODY`] whatever the guest sends.
#[derive(Debug, Default)]
struct Assembler {
    stage: Stage,
    buf: Vec<u8>,
}

impl Assembler {
    fn feed(&mut self, mut data: &[u8]) -> Vec<Piece> {
        let mut pieces = Vec::new();
        while !data.is_empty() {
            match self.stage {
                Stage::Header => {
                    let take = (HEADER_SIZE - self.buf.len()).min(data.len());
                    self.buf.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if let Ok(head) = <&[u8; HEADER_SIZE]>::try_from(self.buf.as_slice()) {
                        let header = AgentHeader::decode(head);
                        self.buf.clear();
                        self.start(header, &mut pieces);
                    }
                }
                Stage::Body(header) => {
                    let size = header.size as usize;
                    let take = (size - self.buf.len()).min(data.len());
                    self.buf.extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.buf.len() == size {
                        pieces.push(Piece::Message(header, std::mem::take(&mut self.buf)));
                        self.stage = Stage::Header;
                    }
                }
                Stage::Skip(left) => {
                    let take = left.min(data.len());
                    data = &data[take..];
                    self.stage = if take == left {
                        Stage::Header
                    } else {
                        Stage::Skip(left - take)
                    };
                }
            }
        }
        pieces
    }

    /// A header arrived: collect its body, or skip it with a reason.
    fn start(&mut self, header: AgentHeader, pieces: &mut Vec<Piece>) {
        let size = header.size as usize;
        let refusal = if header.protocol != agent::PROTOCOL {
            Some(format!(
                "agent message with protocol {} (expected {}) skipped",
                header.protocol,
                agent::PROTOCOL
            ))
        } else if size > MAX_MESSAGE_BODY {
            Some(format!(
                "agent message type {} of {size} bytes exceeds the {MAX_MESSAGE_BODY}-byte limit: skipped",
                header.ty
            ))
        } else {
            None
        };
        self.stage = match refusal {
            Some(reason) => {
                pieces.push(Piece::Refused(reason));
                Stage::Skip(size)
            }
            None if size == 0 => {
                pieces.push(Piece::Message(header, Vec::new()));
                Stage::Header
            }
            None => {
                // Grown as bytes arrive, not reserved from the header's claim.
                self.buf = Vec::with_capacity(size.min(AGENT_MAX_DATA_SIZE));
                Stage::Body(header)
            }
        };
        if matches!(self.stage, Stage::Skip(0)) {
            self.stage = Stage::Header;
        }
    }
}

#[cfg(test)]
#[path = "agent_tests.rs"]
mod tests;
