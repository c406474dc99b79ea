//! `olive-gateway admin list|create|destroy`: a client of the running server's HTTP API.
//!
//! A raw HTTP/1.1 request over a Tokio TCP stream is all the admin commands need (one
//! request, `Connection: close`, loopback), so no HTTP client library is pulled in.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response accepted (a list of a few thousand instances fits easily).
const MAX_RESPONSE: u64 = 16 << 20;

/// A parsed HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_str(&self.body).with_context(|| format!("bad JSON: {}", self.body))
    }
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| anyhow!("bad chunked body"))?;
        let size_text = std::str::from_utf8(&body[..line_end])?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size + 2 {
            bail!("truncated chunked body");
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

/// Sends one request to `addr` and reads the whole response (bounded to 30 s).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    secret_key: Option<&str>,
    body: Option<&str>,
) -> Result<Response> {
    tokio::time::timeout(Duration::from_secs(30), async {
        let mut s = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect to {addr}"))?;
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        if let Some(k) = secret_key {
            if k.contains(['\r', '\n']) {
                bail!("secret key contains a line break");
            }
            req.push_str(&format!("X-Secret-Key: {k}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() {
            req.push_str("Content-Type: application/json\r\n");
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        s.write_all(req.as_bytes()).await?;
        let mut raw = Vec::new();
        s.take(MAX_RESPONSE).read_to_end(&mut raw).await?;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| anyhow!("malformed HTTP response"))?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or("");
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line {status_line:?}"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        let mut body = raw[split + 4..].to_vec();
        let chunked = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
        });
        if chunked {
            body = dechunk(&body)?;
        }
        Ok(Response {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    })
    .await
    .map_err(|_| anyhow!("request to {addr} timed out"))?
}

/// What `admin` was asked to do.
#[derive(Debug, Clone)]
pub enum Command {
    List,
    Create {
        item: String,
    },
    Destroy {
        id: String,
    },
    /// Save a running instance as the package `<data_dir>/packages/<name>`.
    Package {
        id: String,
        name: String,
        codec: Option<String>,
    },
}

/// Runs an admin command and returns what to print.
pub async fn run(server: SocketAddr, key: &str, cmd: Command) -> Result<String> {
    match cmd {
        Command::List => {
            let r = request(server, "GET", "/api/instances", Some(key), None).await?;
            if r.status != 200 {
                bail!("server answered {}: {}", r.status, r.body.trim());
            }
            let v = r.json()?;
            let mut out = format!(
                "{:<18} {:<20} {:<10} {:>8} {:>8} {:>8}\n",
                "ID", "ITEM", "STATUS", "PID", "AGE", "IDLE"
            );
            for i in v["instances"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "{:<18} {:<20} {:<10} {:>8} {:>7}s {:>7}s\n",
                    i["id"].as_str().unwrap_or("?"),
                    i["item"].as_str().unwrap_or("?"),
                    i["status"].as_str().unwrap_or("?"),
                    i["pid"]
                        .as_u64()
                        .map(|p| p.to_string())
                        .unwrap_or("-".into()),
                    i["age_secs"].as_u64().unwrap_or(0),
                    i["idle_secs"].as_u64().unwrap_or(0),
                ));
            }
            Ok(out)
        }
        Command::Create { item } => {
            let body = serde_json::json!({ "item": item }).to_string();
            let r = request(server, "POST", "/api/instances", Some(key), Some(&body)).await?;
            if r.status != 200 {
                bail!("server answered {}: {}", r.status, r.body.trim());
            }
            let v = r.json()?;
            Ok(format!(
                "id: {}\ntoken: {}\nspice_password: {}\ncontrol_url: {}\n",
                v["id"].as_str().unwrap_or("?"),
                v["token"].as_str().unwrap_or("?"),
                v["spice_password"].as_str().unwrap_or("?"),
                v["control_url"].as_str().unwrap_or("?"),
            ))
        }
        Command::Destroy { id } => {
            if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                bail!("invalid instance id {id:?}");
            }
            let r = request(
                server,
                "DELETE",
                &format!("/api/instances/{id}"),
                Some(key),
                None,
            )
            .await?;
            match r.status {
                204 => Ok(format!("destroyed {id}\n")),
                _ => bail!("server answered {}: {}", r.status, r.body.trim()),
            }
        }
        Command::Package { id, name, codec } => {
            if !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                bail!("invalid instance id {id:?}");
            }
            let body = serde_json::json!({ "name": name, "codec": codec }).to_string();
            let r = request(
                server,
                "POST",
                &format!("/api/instances/{id}/package"),
                Some(key),
                Some(&body),
            )
            .await?;
            match r.status {
                200 => Ok(r.body.trim().to_string() + "\n"),
                _ => bail!("server answered {}: {}", r.status, r.body.trim()),
            }
        }
    }
}
