//! Seats, the queue and the disconnect grace against the real test guest: `seats = 1`;
//! visitor A gets the seat (twice the same instance), B queues first with an ETA field,
//! C joins and leaves without moving B, A's connection closes and after the grace B's
//! stream gets `seat`; B then authenticates with that token. Prints the hand-over time
//! (A's disconnect → B's `seat` event → B's first guest pixel).
//!
//! `cargo test -p olive-tests --test seats`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use netx_proto::{ClientMsg, ServerMsg};
use olive_tests::gateway::{GwItem, TestGateway};
use olive_tests::{qemu_lock, Scratch};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// A visitor cookie value of the gateway's shape (22 URL-safe characters).
fn cookie(name: &str) -> String {
    format!("{name:_<22}")
}

struct Answer {
    status: u16,
    head: String,
    body: String,
}

/// One HTTP/1.1 request on its own connection (`Connection: close`).
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Answer> {
    let mut s = TcpStream::connect(addr).await?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut raw))
        .await
        .context("HTTP answer within 20 s")??;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").context("no header end")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("status")?;
    Ok(Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    })
}

async fn create(addr: SocketAddr, visitor: &str) -> Result<(u16, Value)> {
    let c = format!("olive_visitor={visitor}");
    let a = http(
        addr,
        "POST",
        "/api/instances",
        &[("Cookie", &c), ("Content-Type", "application/json")],
        r#"{"item":"console"}"#,
    )
    .await?;
    let v = serde_json::from_str(&a.body).with_context(|| format!("body {:?}", a.body))?;
    Ok((a.status, v))
}

/// A `GET /api/queue/{ticket}` event stream (HTTP/1.1 chunked), read event by event.
struct Events {
    r: BufReader<TcpStream>,
    buf: String,
}

impl Events {
    async fn open(addr: SocketAddr, ticket: &str) -> Result<Events> {
        let mut s = TcpStream::connect(addr).await?;
        let req = format!("GET /api/queue/{ticket} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        s.write_all(req.as_bytes()).await?;
        let mut r = BufReader::new(s);
        let mut line = String::new();
        r.read_line(&mut line).await?;
        if !line.contains(" 200 ") {
            bail!("queue stream: {line:?}");
        }
        loop {
            line.clear();
            r.read_line(&mut line).await?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        Ok(Events {
            r,
            buf: String::new(),
        })
    }

    /// The next `(event, data)`, skipping keep-alive comments.
    async fn next(&mut self) -> Result<(String, Value)> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut event = String::new();
                let mut data = String::new();
                for l in block.lines() {
                    if let Some(e) = l.strip_prefix("event:") {
                        event = e.trim().to_owned();
                    } else if let Some(d) = l.strip_prefix("data:") {
                        data.push_str(d.trim());
                    }
                }
                if event.is_empty() {
                    continue;
                }
                return Ok((event, serde_json::from_str(&data)?));
            }
            // One chunk: its hex size, the bytes, CRLF.
            let mut size = String::new();
            if self.r.read_line(&mut size).await? == 0 {
                bail!("queue stream closed");
            }
            let n = usize::from_str_radix(size.trim(), 16).context("chunk size")?;
            if n == 0 {
                bail!("queue stream ended");
            }
            let mut chunk = vec![0u8; n + 2];
            self.r.read_exact(&mut chunk).await?;
            self.buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    }

    async fn next_within(&mut self, secs: u64) -> Result<(String, Value)> {
        tokio::time::timeout(Duration::from_secs(secs), self.next())
            .await
            .with_context(|| format!("a queue event within {secs} s"))?
    }
}

/// A token-port control connection, authenticated with `token`.
async fn control(addr: SocketAddr, token: &str) -> Result<TcpStream> {
    let mut s = TcpStream::connect(addr).await?;
    let auth = ClientMsg::Authenticate {
        token: token.to_owned(),
    };
    s.write_all(&netx_proto::encode(&auth)).await?;
    let mut dec = netx_proto::Decoder::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(m) = dec.next::<ServerMsg>()? {
            match m {
                ServerMsg::AuthOk { .. } => return Ok(s),
                ServerMsg::AuthFailed { .. } => bail!("auth-failed"),
                _ => continue,
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await??;
        if n == 0 {
            bail!("token port closed before auth-ok");
        }
        dec.push(&buf[..n]);
    }
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn scenario(gw: &TestGateway) -> Result<()> {
    let http_addr = gw.server().http_addr();
    let token_addr = gw.server().token_addr();
    let (a, b, c) = (cookie("visitorA"), cookie("visitorB"), cookie("visitorC"));

    let (status, first) = create(http_addr, &a).await?;
    assert_eq!(status, 200, "{first}");
    let (status, again) = create(http_addr, &a).await?;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["id"], first["id"],
        "A asking twice gets the same instance"
    );
    assert_eq!(again["token"], first["token"]);
    let a_id = first["id"].as_str().context("id")?.to_owned();
    let a_conn = control(token_addr, first["token"].as_str().context("token")?).await?;

    let (status, bq) = create(http_addr, &b).await?;
    assert_eq!(status, 202, "B queues: {bq}");
    let q = &bq["queued"];
    assert_eq!(q["position"], 1, "{bq}");
    assert_eq!(q["seats"], 1, "{bq}");
    assert!(
        q.as_object().is_some_and(|o| o.contains_key("eta_secs")),
        "an ETA field (null: no history yet): {bq}"
    );
    let b_ticket = q["ticket"].as_str().context("ticket")?.to_owned();
    let mut b_events = Events::open(http_addr, &b_ticket).await?;
    let (ev, data) = b_events.next_within(10).await?;
    assert_eq!((ev.as_str(), &data["position"]), ("position", &1.into()));

    // C joins behind B, watches, and leaves.
    let (status, cq) = create(http_addr, &c).await?;
    assert_eq!(status, 202, "{cq}");
    assert_eq!(cq["queued"]["position"], 2, "{cq}");
    let c_ticket = cq["queued"]["ticket"]
        .as_str()
        .context("ticket")?
        .to_owned();
    let mut c_events = Events::open(http_addr, &c_ticket).await?;
    assert_eq!(c_events.next_within(10).await?.1["position"], 2);
    drop(c_events);
    // B's reload (a re-POST with its cookie) finds the same place.
    let (status, again) = create(http_addr, &b).await?;
    assert_eq!(
        (status, &again["queued"]["ticket"]),
        (202, &b_ticket.as_str().into())
    );
    assert_eq!(again["queued"]["position"], 1, "B is still first: {again}");
    // A client without the cookie is told to come back (and gets the cookie).
    let anon = http(
        http_addr,
        "POST",
        "/api/instances",
        &[("Content-Type", "application/json")],
        r#"{"item":"console"}"#,
    )
    .await?;
    assert_eq!(anon.status, 503, "{}", anon.body);
    let head = anon.head.to_ascii_lowercase();
    assert!(
        head.contains("set-cookie: olive_visitor=") && head.contains("httponly"),
        "{}",
        anon.head
    );
    assert!(
        anon.body.contains("machines of this title are in use"),
        "{}",
        anon.body
    );
    let key = ("X-Secret-Key", "olive-browser-test-secret-key");
    let list = http(http_addr, "GET", "/api/queue", &[key], "").await?;
    let list: Value = serde_json::from_str(&list.body)?;
    let row = &list["items"][0];
    assert_eq!(
        (&row["item"], &row["seats"], &row["in_use"]),
        (&"console".into(), &1.into(), &1.into())
    );
    assert_eq!(row["waiting"][0]["ticket"], b_ticket.as_str(), "{list}");
    assert_eq!(row["waiting"][0]["address"], "127.0.0.1", "{list}");

    // A leaves: its only connection closes.
    let left = Instant::now();
    drop(a_conn);
    let (ev, seat) = loop {
        let (ev, data) = b_events.next_within(30).await?;
        if ev != "position" {
            break (ev, data);
        }
    };
    let to_seat = left.elapsed();
    assert_eq!(ev, "seat", "{seat}");
    assert_ne!(seat["id"], a_id.as_str(), "a new instance for B");
    assert!(
        gw.server().registry().get(&a_id).is_none(),
        "A's instance is gone"
    );
    let b_id = seat["id"].as_str().context("id")?.to_owned();
    let _b_conn = control(token_addr, seat["token"].as_str().context("token")?).await?;
    let owned = gw.server().registry().get(&b_id).context("B's instance")?;
    assert_eq!(owned.owner(), Some(b.as_str()));
    eprintln!(
        "hand-over: A's disconnect → B's seat event {:.2} s (grace 2 s, collector every 1 s)",
        to_seat.as_secs_f64()
    );
    // The first guest pixel: the VM runs and its screen is no longer blank.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(img) = gw.screendump(&b_id) {
            if img
                .pixels
                .chunks_exact(4)
                .any(|p| p[..3].iter().any(|c| *c > 32))
            {
                break;
            }
        }
        if Instant::now() > deadline {
            bail!("B's screen stayed blank for 60 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "hand-over: A's disconnect → B's first non-black screendump {:.2} s",
        left.elapsed().as_secs_f64()
    );

    let m = http(http_addr, "GET", "/metrics", &[], "").await?.body;
    assert_eq!(metric(&m, "olive_instances_reused_total"), Some(1.0), "{m}");
    assert_eq!(metric(&m, "olive_queue_served_total"), Some(1.0), "{m}");
    assert_eq!(metric(&m, "olive_queue_joined_total"), Some(2.0), "{m}");
    assert_eq!(
        metric(&m, "olive_queue_handover_seconds_count"),
        Some(1.0),
        "{m}"
    );
    eprintln!(
        "hand-over: B's seat event → B's first connection {:.2} s (olive_queue_handover_seconds_sum)",
        metric(&m, "olive_queue_handover_seconds_sum").unwrap_or(f64::NAN)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_visitor_gets_the_seat_after_the_grace() {
    let _lock = qemu_lock();
    let t0 = Instant::now();
    let empty = Scratch::new_in(&scratch(), "seats-nodist");
    let limits = "disconnect_grace_secs = 2\nhandover_secs = 20\ngc_interval_secs = 1";
    let gw = TestGateway::start_limits(
        &scratch(),
        empty.path(),
        &[GwItem::console("console").with_seats(1)],
        limits,
        "",
    )
    .await
    .expect("gateway");
    let result = tokio::time::timeout(Duration::from_secs(180), scenario(&gw)).await;
    gw.shutdown().await;
    eprintln!("seats scenario took {:.1} s", t0.elapsed().as_secs_f64());
    match result {
        Ok(r) => r.expect("scenario"),
        Err(_) => panic!("scenario did not finish within 180 s"),
    }
}
