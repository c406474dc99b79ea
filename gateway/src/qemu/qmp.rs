//! A minimal asynchronous QMP client (JSON lines over QEMU's UNIX socket).
//!
//! The gateway only needs a handful of queries for readiness, so this is a small client of
//! its own rather than a dependency; asynchronous events are skipped while waiting for a
//! reply.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

/// Longest QMP line accepted; replies to our queries are a few hundred bytes.
const MAX_LINE: usize = 1 << 20;

/// Why a QMP exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum QmpError {
    /// The socket failed.
    #[error("QMP I/O: {0}")]
    Io(#[from] std::io::Error),
    /// QEMU closed the monitor (it exited or crashed).
    #[error("QMP closed the connection")]
    Closed,
    /// No answer in time.
    #[error("QMP timed out")]
    Timeout,
    /// A line that is not QMP: not JSON, too long, or an unexpected shape.
    #[error("QMP protocol: {0}")]
    Protocol(String),
    /// QEMU answered a command with an error.
    #[error("QMP command {command} failed: {message}")]
    Command {
        /// The command sent.
        command: String,
        /// QEMU's `desc`.
        message: String,
    },
}

/// A QMP session whose capabilities are negotiated.
pub struct Qmp {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    timeout: Duration,
}

impl Qmp {
    /// Connects, reads the greeting and leaves capabilities negotiation mode.
    pub async fn connect(path: &Path, timeout: Duration) -> Result<Qmp, QmpError> {
        let stream = tokio::time::timeout(timeout, UnixStream::connect(path))
            .await
            .map_err(|_| QmpError::Timeout)??;
        let (r, w) = stream.into_split();
        let mut qmp = Qmp {
            reader: BufReader::new(r),
            writer: w,
            timeout,
        };
        let greeting = qmp.read().await?;
        if greeting.get("QMP").is_none() {
            return Err(QmpError::Protocol(format!(
                "unexpected greeting {greeting}"
            )));
        }
        qmp.execute("qmp_capabilities", None).await?;
        Ok(qmp)
    }

    async fn read(&mut self) -> Result<Value, QmpError> {
        let mut line = String::new();
        let n = tokio::time::timeout(self.timeout, async {
            let mut limited = (&mut self.reader).take(MAX_LINE as u64);
            limited.read_line(&mut line).await
        })
        .await
        .map_err(|_| QmpError::Timeout)??;
        if n == 0 {
            return Err(QmpError::Closed);
        }
        serde_json::from_str(&line).map_err(|e| QmpError::Protocol(format!("{e}: {line:?}")))
    }

    /// Runs `command` and returns its `return` value.
    pub async fn execute(&mut self, command: &str, args: Option<Value>) -> Result<Value, QmpError> {
        let mut msg = json!({ "execute": command });
        if let Some(a) = args {
            msg["arguments"] = a;
        }
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(b'\n');
        self.writer.write_all(&bytes).await?;
        loop {
            let v = self.read().await?;
            if v.get("event").is_some() {
                continue;
            }
            if let Some(r) = v.get("return") {
                return Ok(r.clone());
            }
            if let Some(e) = v.get("error") {
                return Err(QmpError::Command {
                    command: command.to_string(),
                    message: e
                        .get("desc")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error")
                        .to_string(),
                });
            }
            return Err(QmpError::Protocol(format!("unexpected message {v}")));
        }
    }
}
