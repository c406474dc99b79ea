//! The messages of the VMNetX thin-client protocol (`vmnetx/protocol.py`, 0.5.1).
//!
//! A message is a msgpack map whose key `"_"` holds the type name; the other keys are
//! its fields. Decoding follows what the Python endpoints accepted rather than what
//! they sent, so that any VMNetX-era peer interoperates:
//! - strings may be msgpack str *or* bin (Python 2 `str` is bytes) and are decoded
//!   lossily: Python never validated UTF-8, and a U+FFFD cannot forge a token, whose
//!   alphabet is base32/base64url;
//! - `nil` for a string field reads as `""` (the server's `send_auth_failed(error=None)`
//!   default sends exactly that);
//! - numbers are read leniently where Python would have coped (an int `fraction`, an
//!   integral float timeout);
//! - unknown extra keys are ignored, duplicate keys resolve to the last one (Python
//!   dict semantics).

use crate::error::ProtocolError;
use crate::msgpack::{MapView, Val, Writer};

/// Client → server messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMsg {
    /// `authenticate{token}`; the token is the URL path `"<ID>/<AUTHCODE>"`.
    Authenticate {
        /// `"<ID>/<AUTHCODE>"`.
        token: String,
    },
    /// `attach-viewer`: turn this connection into a raw SPICE pipe.
    AttachViewer,
    /// `start-vm`.
    StartVm,
    /// `stop-vm`.
    StopVm,
    /// `destroy-vm`: tear down the whole instance.
    DestroyVm,
    /// `ping`: keeps the instance alive (server refreshes `last_seen`).
    Ping,
    /// `error{message}`: the server logs it and closes the connection.
    Error {
        /// Human-readable text.
        message: String,
    },
}

/// Server → client messages.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMsg {
    /// `auth-ok`.
    AuthOk {
        /// `stopped|starting|running|stopping|unknown`; kept as a string because VMNetX
        /// never promised the set is closed.
        state: String,
        /// Package friendly name.
        name: String,
        /// Mouse-event rate limit in Hz; `None` for nil, missing, 0 or `false` (the
        /// client did `msg.get('limit_mouse_rate') or 0`).
        limit_mouse_rate: Option<i64>,
        /// Seconds of silence after which the server may GC the instance (0.5.1; 0 when
        /// absent, as VMNetX clients treated older servers).
        server_timeout_min: i64,
        /// Seconds after which the instance certainly is gone; drives the client's
        /// give-up timer (0 when absent).
        server_timeout_max: i64,
    },
    /// `auth-failed{error}`.
    AuthFailed {
        /// Always "Authentication failed" from VMNetX servers (may arrive as nil → "").
        error: String,
    },
    /// `attaching-viewer`: the last framed message; raw SPICE bytes follow.
    AttachingViewer,
    /// `startup-progress{fraction}`: memory-image load progress, 0..=1. Not clamped or
    /// checked for NaN here: it is the peer's number, consumers (e.g. [`crate::eta`])
    /// must cope.
    StartupProgress {
        /// Fraction of the memory image loaded.
        fraction: f64,
    },
    /// `startup-rejected-memory`: restore failed, a cold boot follows.
    StartupRejectedMemory,
    /// `startup-failed{message}`, followed by `vm-stopped`.
    StartupFailed {
        /// Human-readable reason.
        message: String,
    },
    /// `vm-started{check_display}`.
    VmStarted {
        /// True when resumed from a memory image (the UI should check for a black
        /// screen).
        check_display: bool,
    },
    /// `vm-stopped`.
    VmStopped,
    /// `vm-destroyed`: the instance is gone.
    VmDestroyed,
    /// `pong`.
    Pong,
    /// `error{message}`.
    Error {
        /// Human-readable text.
        message: String,
    },
}

/// A message that can be decoded from a frame payload. Lets one
/// [`crate::framing::Decoder`] serve both directions.
pub trait Decode: Sized {
    /// Decodes one msgpack payload (without the length prefix).
    fn decode(payload: &[u8]) -> Result<Self, ProtocolError>;

    /// True if this is the last framed message on its connection: after
    /// `attach-viewer` (client → server) and `attaching-viewer` (server → client) the
    /// bytes that follow are raw SPICE. The decoder stops interpreting input after it,
    /// so that SPICE bytes are never mistaken for a length prefix.
    fn ends_framing(&self) -> bool {
        false
    }
}

/// A message that can be encoded to a frame payload.
pub trait Encode {
    /// The msgpack payload (without the length prefix).
    fn encode_payload(&self) -> Vec<u8>;
}

/// Client → server wire type names.
const CLIENT_TYPES: [&str; 7] = [
    "authenticate",
    "attach-viewer",
    "start-vm",
    "stop-vm",
    "destroy-vm",
    "ping",
    "error",
];

pub(crate) fn is_client_to_server_type(t: &str) -> bool {
    CLIENT_TYPES.contains(&t)
}

impl ClientMsg {
    /// The wire type name (value of `"_"`).
    pub fn msg_type(&self) -> &'static str {
        match self {
            ClientMsg::Authenticate { .. } => "authenticate",
            ClientMsg::AttachViewer => "attach-viewer",
            ClientMsg::StartVm => "start-vm",
            ClientMsg::StopVm => "stop-vm",
            ClientMsg::DestroyVm => "destroy-vm",
            ClientMsg::Ping => "ping",
            ClientMsg::Error { .. } => "error",
        }
    }
}

impl ServerMsg {
    /// The wire type name (value of `"_"`).
    pub fn msg_type(&self) -> &'static str {
        match self {
            ServerMsg::AuthOk { .. } => "auth-ok",
            ServerMsg::AuthFailed { .. } => "auth-failed",
            ServerMsg::AttachingViewer => "attaching-viewer",
            ServerMsg::StartupProgress { .. } => "startup-progress",
            ServerMsg::StartupRejectedMemory => "startup-rejected-memory",
            ServerMsg::StartupFailed { .. } => "startup-failed",
            ServerMsg::VmStarted { .. } => "vm-started",
            ServerMsg::VmStopped => "vm-stopped",
            ServerMsg::VmDestroyed => "vm-destroyed",
            ServerMsg::Pong => "pong",
            ServerMsg::Error { .. } => "error",
        }
    }
}

/// Field access for one message, carrying its type for error texts.
struct Fields<'a> {
    map: MapView<'a>,
    ty: &'static str,
}

impl<'a> Fields<'a> {
    /// Splits off the type. Missing `"_"` is "Invalid message" (Python's `msg.pop('_')`
    /// raised `KeyError`); a non-string `"_"` can match no type, so it is "Unknown
    /// message type", as in Python.
    fn parse(payload: &'a [u8], known: &[&'static str]) -> Result<Self, ProtocolError> {
        let map = MapView::parse(payload).map_err(|e| ProtocolError::invalid(e.reason()))?;
        let t = map
            .get("_")
            .ok_or(ProtocolError::invalid("missing \"_\" type key"))?;
        let unknown = || ProtocolError::UnknownMessageType {
            msg_type: match t.as_bytes() {
                Some(b) => String::from_utf8_lossy(b).chars().take(64).collect(),
                None => format!("{t:?}"),
            },
        };
        let bytes = t.as_bytes().ok_or_else(unknown)?;
        let ty = known
            .iter()
            .copied()
            .find(|k| k.as_bytes() == bytes)
            .ok_or_else(unknown)?;
        Ok(Fields { map, ty })
    }

    fn missing(&self, field: &'static str) -> ProtocolError {
        ProtocolError::MissingField {
            msg_type: self.ty,
            field,
        }
    }

    fn invalid(&self, field: &'static str) -> ProtocolError {
        ProtocolError::InvalidField {
            msg_type: self.ty,
            field,
        }
    }

    fn required(&self, field: &'static str) -> Result<Val<'a>, ProtocolError> {
        self.map.get(field).ok_or_else(|| self.missing(field))
    }

    fn string(&self, field: &'static str) -> Result<String, ProtocolError> {
        match self.required(field)? {
            Val::Nil => Ok(String::new()),
            v => v
                .as_bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .ok_or_else(|| self.invalid(field)),
        }
    }

    fn float(&self, field: &'static str) -> Result<f64, ProtocolError> {
        match self.required(field)? {
            Val::Float(f) => Ok(f),
            Val::Int(i) => Ok(i as f64),
            _ => Err(self.invalid(field)),
        }
    }

    /// Python truthiness for the kinds a peer could plausibly send.
    fn boolean(&self, field: &'static str) -> Result<bool, ProtocolError> {
        match self.required(field)? {
            Val::Bool(b) => Ok(b),
            Val::Int(i) => Ok(i != 0),
            Val::Nil => Ok(false),
            _ => Err(self.invalid(field)),
        }
    }

    /// Optional int: `None` when missing or nil. Integral-valued floats are accepted,
    /// out-of-range values saturate (a timeout of 2^70 s is "forever" either way).
    fn opt_int(&self, field: &'static str) -> Result<Option<i64>, ProtocolError> {
        match self.map.get(field) {
            None | Some(Val::Nil) => Ok(None),
            Some(Val::Int(i)) => Ok(Some(i.clamp(i64::MIN as i128, i64::MAX as i128) as i64)),
            Some(Val::Float(f)) if f.is_finite() && f.fract() == 0.0 => Ok(Some(f as i64)),
            Some(Val::Bool(b)) => Ok(Some(b as i64)),
            Some(_) => Err(self.invalid(field)),
        }
    }
}

impl Decode for ClientMsg {
    fn decode(payload: &[u8]) -> Result<Self, ProtocolError> {
        let f = Fields::parse(payload, &CLIENT_TYPES)?;
        Ok(match f.ty {
            "authenticate" => ClientMsg::Authenticate {
                token: f.string("token")?,
            },
            "attach-viewer" => ClientMsg::AttachViewer,
            "start-vm" => ClientMsg::StartVm,
            "stop-vm" => ClientMsg::StopVm,
            "destroy-vm" => ClientMsg::DestroyVm,
            "ping" => ClientMsg::Ping,
            _ => ClientMsg::Error {
                message: f.string("message")?,
            },
        })
    }

    fn ends_framing(&self) -> bool {
        matches!(self, ClientMsg::AttachViewer)
    }
}

const SERVER_TYPES: [&str; 11] = [
    "auth-ok",
    "auth-failed",
    "attaching-viewer",
    "startup-progress",
    "startup-rejected-memory",
    "startup-failed",
    "vm-started",
    "vm-stopped",
    "vm-destroyed",
    "pong",
    "error",
];

impl Decode for ServerMsg {
    fn decode(payload: &[u8]) -> Result<Self, ProtocolError> {
        let f = Fields::parse(payload, &SERVER_TYPES)?;
        Ok(match f.ty {
            "auth-ok" => ServerMsg::AuthOk {
                state: f.string("state")?,
                name: f.string("name")?,
                limit_mouse_rate: f.opt_int("limit_mouse_rate")?.filter(|&r| r != 0),
                server_timeout_min: f.opt_int("server_timeout_min")?.unwrap_or(0),
                server_timeout_max: f.opt_int("server_timeout_max")?.unwrap_or(0),
            },
            "auth-failed" => ServerMsg::AuthFailed {
                error: f.string("error")?,
            },
            "attaching-viewer" => ServerMsg::AttachingViewer,
            "startup-progress" => ServerMsg::StartupProgress {
                fraction: f.float("fraction")?,
            },
            "startup-rejected-memory" => ServerMsg::StartupRejectedMemory,
            "startup-failed" => ServerMsg::StartupFailed {
                message: f.string("message")?,
            },
            "vm-started" => ServerMsg::VmStarted {
                check_display: f.boolean("check_display")?,
            },
            "vm-stopped" => ServerMsg::VmStopped,
            "vm-destroyed" => ServerMsg::VmDestroyed,
            "pong" => ServerMsg::Pong,
            _ => ServerMsg::Error {
                message: f.string("message")?,
            },
        })
    }

    fn ends_framing(&self) -> bool {
        matches!(self, ServerMsg::AttachingViewer)
    }
}

/// Starts a message map: `"_"` first, then the fields in the order VMNetX passes them
/// to `_transmit` (Python 2 dict order was arbitrary anyway; any order decodes).
fn begin(w: &mut Writer, ty: &str, nfields: usize) {
    w.map_header(nfields + 1);
    w.str("_");
    w.str(ty);
}

impl Encode for ClientMsg {
    fn encode_payload(&self) -> Vec<u8> {
        let mut w = Writer::default();
        match self {
            ClientMsg::Authenticate { token } => {
                begin(&mut w, self.msg_type(), 1);
                w.str("token");
                w.str(token);
            }
            ClientMsg::Error { message } => {
                begin(&mut w, self.msg_type(), 1);
                w.str("message");
                w.str(message);
            }
            _ => begin(&mut w, self.msg_type(), 0),
        }
        w.out
    }
}

impl Encode for ServerMsg {
    fn encode_payload(&self) -> Vec<u8> {
        let mut w = Writer::default();
        match self {
            ServerMsg::AuthOk {
                state,
                name,
                limit_mouse_rate,
                server_timeout_min,
                server_timeout_max,
            } => {
                begin(&mut w, self.msg_type(), 5);
                w.str("state");
                w.str(state);
                w.str("name");
                w.str(name);
                w.str("limit_mouse_rate");
                match limit_mouse_rate {
                    Some(r) => w.int(*r),
                    None => w.nil(),
                }
                w.str("server_timeout_min");
                w.int(*server_timeout_min);
                w.str("server_timeout_max");
                w.int(*server_timeout_max);
            }
            ServerMsg::AuthFailed { error } => {
                begin(&mut w, self.msg_type(), 1);
                w.str("error");
                w.str(error);
            }
            ServerMsg::StartupProgress { fraction } => {
                begin(&mut w, self.msg_type(), 1);
                w.str("fraction");
                w.f64(*fraction);
            }
            ServerMsg::StartupFailed { message } | ServerMsg::Error { message } => {
                begin(&mut w, self.msg_type(), 1);
                w.str("message");
                w.str(message);
            }
            ServerMsg::VmStarted { check_display } => {
                begin(&mut w, self.msg_type(), 1);
                w.str("check_display");
                w.bool(*check_display);
            }
            ServerMsg::AttachingViewer
            | ServerMsg::StartupRejectedMemory
            | ServerMsg::VmStopped
            | ServerMsg::VmDestroyed
            | ServerMsg::Pong => begin(&mut w, self.msg_type(), 0),
        }
        w.out
    }
}
