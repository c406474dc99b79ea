//! One token-port connection: authentication, control messages and instance events, and
//! `attach-viewer`, after which the connection becomes a byte pipe to SPICE.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::limiter::AuthPermit;
use super::splice::{connect_spice, splice, write_with_timeout, SpiceConn};
use super::wire::{self, ClientMsg, ServerMsg};
use super::{stopped, TokenPort};
use crate::net::control::{ControlError, ControlEvent, InstanceHandle, VmState};

pub(super) enum End {
    Closed(&'static str),
    Viewer,
}

pub(super) struct Conn<'a, S> {
    port: &'a TokenPort,
    stream: S,
    client: IpAddr,
    decoder: wire::Decoder,
    instance: Option<Arc<dyn InstanceHandle>>,
    events: Option<broadcast::Receiver<ControlEvent>>,
    stop: watch::Receiver<bool>,
}

enum Step {
    Continue,
    Close(&'static str),
    Attach,
}

impl<'a, S: AsyncRead + AsyncWrite + Unpin + Send> Conn<'a, S> {
    pub(super) fn new(port: &'a TokenPort, stream: S, client: IpAddr) -> Conn<'a, S> {
        Conn {
            port,
            stream,
            client,
            decoder: wire::Decoder::new(),
            instance: None,
            events: None,
            stop: port.shutdown.subscribe(),
        }
    }

    pub(super) async fn run(&mut self) -> io::Result<End> {
        let auth_deadline = Instant::now() + self.port.opts.auth_timeout;
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            // Handle every complete message already buffered.
            loop {
                let msg = match self.decoder.next_message() {
                    None => break,
                    Some(Ok(m)) => m,
                    Some(Err(text)) => {
                        self.send(&wire::error(&text)).await?;
                        continue;
                    }
                };
                match self.on_message(msg).await? {
                    Step::Continue => {}
                    Step::Close(why) => return Ok(End::Closed(why)),
                    Step::Attach => return self.attach().await,
                }
            }
            let authenticated = self.instance.is_some();
            enum Woke {
                Read(io::Result<usize>),
                Event(Option<ControlEvent>),
                Timeout,
                Stop,
            }
            let woke = tokio::select! {
                n = self.stream.read(&mut buf) => Woke::Read(n),
                ev = recv_event(&mut self.events) => Woke::Event(ev),
                _ = tokio::time::sleep_until(auth_deadline), if !authenticated => Woke::Timeout,
                _ = stopped(&mut self.stop) => Woke::Stop,
            };
            match woke {
                Woke::Read(n) => {
                    let n = n?;
                    if n == 0 {
                        return Ok(End::Closed("client closed the connection"));
                    }
                    self.decoder.feed(&buf[..n]);
                }
                Woke::Event(ev) => {
                    if let Some(end) = self.on_event(ev).await? {
                        return Ok(end);
                    }
                }
                Woke::Timeout => return Ok(End::Closed("authentication timeout")),
                Woke::Stop => return Ok(End::Closed("server shutting down")),
            }
        }
    }

    async fn send(&mut self, msg: &ServerMsg) -> io::Result<()> {
        let bytes = wire::encode_server(msg);
        write_with_timeout(&mut self.stream, &bytes, self.port.opts.write_timeout).await
    }

    async fn on_message(&mut self, msg: ClientMsg) -> io::Result<Step> {
        if let ClientMsg::Error { message } = &msg {
            debug!(client = %self.client, message, "client sent error");
            return Ok(Step::Close("client sent an error"));
        }
        let instance = match (&self.instance, msg) {
            (None, ClientMsg::Authenticate { token }) => return self.authenticate(&token).await,
            (Some(_), ClientMsg::Authenticate { .. }) => {
                self.send(&wire::error("Already authenticated")).await?;
                return Ok(Step::Continue);
            }
            (None, _) => {
                self.send(&wire::error("Not authenticated")).await?;
                return Ok(Step::Continue);
            }
            (Some(i), msg) => (Arc::clone(i), msg),
        };
        let (instance, msg) = instance;
        match msg {
            ClientMsg::Ping => {
                instance.touch();
                self.send(&ServerMsg::Pong).await?;
            }
            ClientMsg::AttachViewer => return Ok(Step::Attach),
            ClientMsg::StartVm => {
                if let Err(e) = instance.start_vm() {
                    self.send(&wire::error(&e.to_string())).await?;
                }
            }
            ClientMsg::StopVm => {
                if let Err(e) = instance.stop_vm() {
                    self.send(&wire::error(&e.to_string())).await?;
                }
            }
            ClientMsg::DestroyVm => {
                info!(client = %self.client, instance = instance.id(), "destroy-vm");
                instance.destroy();
                // Everyone else hears it from the broadcast; this connection is done.
                self.events = None;
                self.send(&ServerMsg::VmDestroyed).await?;
                return Ok(Step::Close("destroyed the instance"));
            }
            ClientMsg::Authenticate { .. } | ClientMsg::Error { .. } => {}
        }
        Ok(Step::Continue)
    }

    async fn authenticate(&mut self, token: &str) -> io::Result<Step> {
        let limiter = &self.port.limiter;
        match limiter.acquire(self.client) {
            AuthPermit::Refused => {
                warn!(client = %self.client, "authentication rate limit exceeded; closing");
                self.send(&wire::auth_failed()).await?;
                return Ok(Step::Close("authentication rate limit"));
            }
            AuthPermit::After(wait) => {
                if !wait.is_zero() {
                    debug!(client = %self.client, ?wait, "authentication delayed by rate limit");
                    tokio::time::sleep(wait).await;
                }
            }
        }
        let Some(instance) = self.port.registry.authenticate(token) else {
            info!(client = %self.client, "authentication failed");
            self.send(&wire::auth_failed()).await?;
            return Ok(Step::Continue);
        };
        limiter.refund(self.client);
        // Subscribe before reading the state so no transition is missed in between.
        let events = instance.subscribe();
        let state = instance.state();
        if state == VmState::Destroyed {
            self.send(&wire::auth_failed()).await?;
            return Ok(Step::Continue);
        }
        instance.touch();
        let (min, max) = self.port.registry.server_timeouts();
        let ok = ServerMsg::AuthOk {
            state: state.wire().to_owned(),
            name: instance.name(),
            limit_mouse_rate: instance.limit_mouse_rate().map(i64::from),
            server_timeout_min: i64::try_from(min).unwrap_or(i64::MAX),
            server_timeout_max: i64::try_from(max).unwrap_or(i64::MAX),
        };
        debug!(client = %self.client, instance = instance.id(), "authenticated");
        // A client that connects while a memory image loads sees the bar at once, not
        // only from the next progress event (a small image may have no next one).
        let progress = (state == VmState::Starting)
            .then(|| instance.startup_progress())
            .flatten();
        instance.connected();
        self.instance = Some(instance);
        self.events = Some(events);
        self.send(&ok).await?;
        if let Some(fraction) = progress {
            self.send(&ServerMsg::StartupProgress { fraction }).await?;
        }
        Ok(Step::Continue)
    }

    /// Forwards one instance event; `Some` ends the connection.
    async fn on_event(&mut self, ev: Option<ControlEvent>) -> io::Result<Option<End>> {
        let Some(ev) = ev else {
            // The instance went away (sender dropped) or we lagged: say what is true now.
            let state = self.instance.as_ref().map(|i| i.state());
            return match state {
                Some(VmState::Destroyed) | None => {
                    self.events = None;
                    self.send(&ServerMsg::VmDestroyed).await?;
                    Ok(Some(End::Closed("instance destroyed")))
                }
                Some(VmState::Running) => {
                    self.send(&ServerMsg::VmStarted {
                        check_display: false,
                    })
                    .await?;
                    Ok(None)
                }
                Some(VmState::Stopped) => {
                    self.send(&ServerMsg::VmStopped).await?;
                    Ok(None)
                }
                Some(_) => Ok(None),
            };
        };
        let msg = match ev {
            ControlEvent::StartupProgress { fraction } => ServerMsg::StartupProgress { fraction },
            ControlEvent::StartupRejectedMemory => ServerMsg::StartupRejectedMemory,
            ControlEvent::StartupFailed { message } => ServerMsg::StartupFailed { message },
            ControlEvent::VmStarted { check_display } => ServerMsg::VmStarted { check_display },
            ControlEvent::VmStopped => ServerMsg::VmStopped,
            ControlEvent::VmDestroyed => {
                self.events = None;
                self.send(&ServerMsg::VmDestroyed).await?;
                return Ok(Some(End::Closed("instance destroyed")));
            }
        };
        self.send(&msg).await?;
        Ok(None)
    }

    /// `attach-viewer`: connect to SPICE, answer `attaching-viewer`, splice.
    async fn attach(&mut self) -> io::Result<End> {
        let Some(instance) = self.instance.clone() else {
            return Ok(End::Closed("not authenticated"));
        };
        let Some(spice) = connect_spice(&*instance, self.port.opts.viewer_connect_timeout).await
        else {
            // As VMNetX: the protocol is re-enabled, so the client may retry.
            self.decoder.resume_framing();
            self.send(&wire::error(&ControlError::ViewerUnavailable.to_string()))
                .await?;
            return Box::pin(self.run()).await;
        };
        match spice {
            SpiceConn::Tcp(s) => self.bridge(instance, s).await,
            SpiceConn::Unix(s) => self.bridge(instance, s).await,
        }
    }

    /// Answers `attaching-viewer` and splices the connection to SPICE until either side
    /// closes or the VM goes away.
    async fn bridge<T>(
        &mut self,
        instance: Arc<dyn InstanceHandle>,
        mut spice: T,
    ) -> io::Result<End>
    where
        T: AsyncRead + AsyncWrite + Unpin,
    {
        self.send(&ServerMsg::AttachingViewer).await?;
        instance.touch();
        let early = self.decoder.take_remaining();
        if !early.is_empty() {
            write_with_timeout(&mut spice, &early, self.port.opts.write_timeout).await?;
        }
        // Keep the subscription only to learn about destruction.
        let mut events = Option::take(&mut self.events).unwrap_or_else(|| instance.subscribe());
        let destroyed = async {
            loop {
                match events.recv().await {
                    Ok(ControlEvent::VmDestroyed) | Err(broadcast::error::RecvError::Closed) => {
                        return
                    }
                    Ok(ControlEvent::VmStopped) if instance.state() != VmState::Running => return,
                    _ => {}
                }
            }
        };
        let mut stop = self.stop.clone();
        tokio::select! {
            r = splice(&mut self.stream, &mut spice, &*instance) => {
                if let Err(e) = r {
                    debug!(instance = instance.id(), error = %e, "viewer splice ended");
                }
            }
            _ = destroyed => debug!(instance = instance.id(), "viewer closed: VM gone"),
            _ = stopped(&mut stop) => {}
        }
        Ok(End::Viewer)
    }
}

/// Every connection that authenticated is counted off when it ends, however it ends
/// (closed, spliced viewer finished, task dropped at shutdown).
impl<S> Drop for Conn<'_, S> {
    fn drop(&mut self) {
        if let Some(i) = &self.instance {
            i.disconnected();
        }
    }
}

async fn recv_event(
    events: &mut Option<broadcast::Receiver<ControlEvent>>,
) -> Option<ControlEvent> {
    let Some(rx) = events.as_mut() else {
        return std::future::pending().await;
    };
    match rx.recv().await {
        Ok(ev) => Some(ev),
        Err(broadcast::error::RecvError::Lagged(n)) => {
            warn!(
                missed = n,
                "control connection lagged behind instance events"
            );
            None
        }
        Err(broadcast::error::RecvError::Closed) => {
            *events = None;
            None
        }
    }
}
