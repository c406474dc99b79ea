//! A minimal synchronous QMP client over QEMU's UNIX socket.

use crate::ppm::Rgba;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// Default time to wait for a QMP reply.
pub const QMP_TIMEOUT: Duration = Duration::from_secs(30);

/// A QMP session (capabilities already negotiated).
pub struct Qmp {
    writer: UnixStream,
    reader: BufReader<UnixStream>,
    /// Asynchronous events received while waiting for replies, oldest first.
    pub events: Vec<Value>,
    /// The greeting's `QMP.version` object.
    pub version: Value,
    timeout: Duration,
}

impl std::fmt::Debug for Qmp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qmp")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Qmp {
    /// Connects to `path`, retrying until `timeout` (QEMU creates the socket shortly after
    /// start), reads the greeting and sends `qmp_capabilities`.
    pub fn connect(path: impl AsRef<Path>, timeout: Duration) -> Result<Qmp> {
        let path = path.as_ref();
        let deadline = Instant::now() + timeout;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => {
                    return Err(e).with_context(|| format!("connect QMP {}", path.display()))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        stream.set_read_timeout(Some(QMP_TIMEOUT))?;
        stream.set_write_timeout(Some(QMP_TIMEOUT))?;
        let reader = BufReader::new(stream.try_clone()?);
        let mut qmp = Qmp {
            writer: stream,
            reader,
            events: Vec::new(),
            version: Value::Null,
            timeout: QMP_TIMEOUT,
        };
        let greeting = qmp.read_message()?;
        qmp.version = greeting
            .pointer("/QMP/version")
            .cloned()
            .ok_or_else(|| anyhow!("unexpected QMP greeting: {greeting}"))?;
        qmp.execute("qmp_capabilities", None)?;
        Ok(qmp)
    }

    /// Sets the reply timeout (default [`QMP_TIMEOUT`]).
    pub fn set_timeout(&mut self, timeout: Duration) -> Result<()> {
        self.timeout = timeout;
        self.writer.set_read_timeout(Some(timeout))?;
        Ok(())
    }

    fn read_message(&mut self) -> Result<Value> {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).context("read from QMP")?;
        if n == 0 {
            bail!("QMP connection closed");
        }
        serde_json::from_str(&line).with_context(|| format!("bad QMP message: {line:?}"))
    }

    /// Runs `cmd` with optional `args` and returns its `return` value; a QMP `error` becomes
    /// an `Err`. Events arriving meanwhile are appended to [`Qmp::events`].
    pub fn execute(&mut self, cmd: &str, args: Option<Value>) -> Result<Value> {
        let mut msg = json!({ "execute": cmd });
        if let Some(a) = args {
            msg["arguments"] = a;
        }
        let mut text = serde_json::to_string(&msg)?;
        text.push('\n');
        self.writer
            .write_all(text.as_bytes())
            .with_context(|| format!("send QMP {cmd}"))?;
        let deadline = Instant::now() + self.timeout;
        loop {
            if Instant::now() > deadline {
                bail!("QMP {cmd}: no reply within {:?}", self.timeout);
            }
            let m = self.read_message().with_context(|| format!("QMP {cmd}"))?;
            if m.get("event").is_some() {
                self.events.push(m);
                continue;
            }
            if let Some(r) = m.get("return") {
                return Ok(r.clone());
            }
            if let Some(e) = m.get("error") {
                bail!("QMP {cmd} failed: {e}");
            }
            bail!("QMP {cmd}: unexpected message {m}");
        }
    }

    /// `screendump` into `path` (PPM) and loads it.
    pub fn screendump(&mut self, path: impl AsRef<Path>) -> Result<Rgba> {
        let path = path.as_ref();
        let _ = std::fs::remove_file(path);
        self.execute(
            "screendump",
            Some(json!({ "filename": path.to_str().context("non-UTF-8 path")? })),
        )?;
        Ok(Rgba::load_ppm(path)?)
    }

    /// `query-status`: returns the `status` string (e.g. "running").
    pub fn query_status(&mut self) -> Result<String> {
        let r = self.execute("query-status", None)?;
        r.get("status")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| anyhow!("unexpected query-status reply {r}"))
    }

    /// Sends QMP `input-send-event` with the given `events` array (see QEMU's InputEvent).
    pub fn input_send_event(&mut self, events: Value) -> Result<()> {
        self.execute("input-send-event", Some(json!({ "events": events })))?;
        Ok(())
    }

    /// `quit`: QEMU exits (the reply may or may not arrive before the socket closes).
    pub fn quit(&mut self) -> Result<()> {
        match self.execute("quit", None) {
            Ok(_) => Ok(()),
            Err(e) if format!("{e:#}").contains("closed") => Ok(()),
            Err(e) => Err(e),
        }
    }
}
