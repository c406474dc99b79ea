//! The real client address of connections bridged from WebSockets.
//!
//! Those arrive at the token port from 127.0.0.1; the bridge records the WebSocket
//! client's address here, keyed by the local port of its loopback connection, before it
//! connects, and the token port uses that address for rate limiting and logs.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

/// Maps the local port of a bridge's loopback connection to the address of the WebSocket
/// client it carries. Shared by the WS bridge (which inserts before connecting) and the token
/// port (which looks up loopback peers).
#[derive(Debug, Default)]
pub struct ForwardedPeers {
    map: Mutex<HashMap<u16, IpAddr>>,
}

impl ForwardedPeers {
    /// Records that connections from 127.0.0.1:`local_port` carry `client`; the entry is removed
    /// when the guard drops.
    pub fn register(self: &Arc<Self>, local_port: u16, client: IpAddr) -> ForwardedGuard {
        self.lock().insert(local_port, client);
        ForwardedGuard {
            peers: Arc::clone(self),
            port: local_port,
        }
    }

    /// The address a connection from `peer` should be treated as.
    pub fn resolve(&self, peer: SocketAddr) -> IpAddr {
        if peer.ip().is_loopback() {
            if let Some(ip) = self.lock().get(&peer.port()) {
                return *ip;
            }
        }
        peer.ip()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u16, IpAddr>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Removes a [`ForwardedPeers`] entry on drop.
#[derive(Debug)]
pub struct ForwardedGuard {
    peers: Arc<ForwardedPeers>,
    port: u16,
}

impl Drop for ForwardedGuard {
    fn drop(&mut self) {
        self.peers.lock().remove(&self.port);
    }
}
