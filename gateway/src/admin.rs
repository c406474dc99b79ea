//! `olive-gateway admin list|create|destroy|package`: a client of the running server's HTTP
//! API, through `reqwest` (already the gateway's HTTP client for remote packages).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use olive_api::{Created, InstanceList};

/// Largest response accepted (a list of a few thousand instances fits easily).
const MAX_RESPONSE: usize = 16 << 20;
/// Bound on one request, connection and whole body.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The response headers, in order, as sent.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Response {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        self.parse()
    }

    /// The body as `T`.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.body).with_context(|| format!("bad JSON: {}", self.body))
    }
}

/// Sends one request to `addr` and reads the whole response (bounded in time and size).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    secret_key: Option<&str>,
    body: Option<&str>,
) -> Result<Response> {
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .context("HTTP client")?;
    let method = reqwest::Method::from_bytes(method.as_bytes()).context("HTTP method")?;
    let mut req = client.request(method, format!("http://{addr}{path}"));
    if let Some(k) = secret_key {
        req = req.header("X-Secret-Key", k);
    }
    if let Some(b) = body.filter(|b| !b.is_empty()) {
        req = req
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(b.to_owned());
    }
    let mut resp = req
        .send()
        .await
        .with_context(|| format!("request to {addr}"))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.context("reading the response")? {
        if bytes.len() + chunk.len() > MAX_RESPONSE {
            bail!("response from {addr} larger than {MAX_RESPONSE} bytes");
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// What `admin` was asked to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// `GET /api/instances`.
    List,
    /// `POST /api/instances`: start an instance of `item`.
    Create {
        /// The item's config key.
        item: String,
    },
    /// `DELETE /api/instances/{id}`.
    Destroy {
        /// The instance to destroy.
        id: String,
    },
    /// Save a running instance as the package `<data_dir>/packages/<name>`.
    Package {
        /// The instance to save.
        id: String,
        /// The package's directory name.
        name: String,
        /// The memory image codec; the gateway's default when `None`.
        codec: Option<String>,
    },
}

fn answered(r: &Response, want: u16) -> Result<()> {
    if r.status != want {
        bail!("server answered {}: {}", r.status, r.body.trim());
    }
    Ok(())
}

fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        bail!("invalid instance id {id:?}");
    }
    Ok(())
}

/// Runs an admin command and returns what to print.
pub async fn run(server: SocketAddr, key: &str, cmd: Command) -> Result<String> {
    match cmd {
        Command::List => {
            let r = request(server, "GET", "/api/instances", Some(key), None).await?;
            answered(&r, 200)?;
            let list: InstanceList = r.parse()?;
            let mut out = format!(
                "{:<18} {:<20} {:<10} {:>8} {:>8} {:>8}\n",
                "ID", "ITEM", "STATUS", "PID", "AGE", "IDLE"
            );
            for i in list.instances {
                let status = serde_json::to_value(i.status)?;
                out.push_str(&format!(
                    "{:<18} {:<20} {:<10} {:>8} {:>7}s {:>7}s\n",
                    i.id,
                    i.item,
                    status.as_str().unwrap_or("?"),
                    i.pid.map_or_else(|| "-".into(), |p| p.to_string()),
                    i.age_secs,
                    i.idle_secs,
                ));
            }
            Ok(out)
        }
        Command::Create { item } => {
            let body = serde_json::to_string(&olive_api::CreateRequest {
                item,
                grant: None,
                fresh: false,
            })?;
            let r = request(server, "POST", "/api/instances", Some(key), Some(&body)).await?;
            answered(&r, 200)?;
            let c: Created = r.parse()?;
            Ok(format!(
                "id: {}\ntoken: {}\nspice_password: {}\ncontrol_url: {}\n",
                c.id, c.token, c.spice_password, c.control_url
            ))
        }
        Command::Destroy { id } => {
            check_id(&id)?;
            let path = format!("/api/instances/{id}");
            let r = request(server, "DELETE", &path, Some(key), None).await?;
            answered(&r, 204)?;
            Ok(format!("destroyed {id}\n"))
        }
        Command::Package { id, name, codec } => {
            check_id(&id)?;
            let body = serde_json::to_string(&olive_api::SaveRequest { name, codec })?;
            let path = format!("/api/instances/{id}/package");
            let r = request(server, "POST", &path, Some(key), Some(&body)).await?;
            answered(&r, 200)?;
            Ok(r.body.trim().to_string() + "\n")
        }
    }
}
