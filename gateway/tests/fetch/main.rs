//! Demand fetching: range reads, the shared chunk cache, the memory stream, and the NBD export
//! read by real qemu-img/qemu-io and booted from by real QEMU with the test guest.
//!
//! The remote side is a local HTTP server on 127.0.0.1 that counts requests and bytes.

mod cache;
#[path = "../common/mod.rs"]
mod common;
mod nbd;
#[path = "../range_server/mod.rs"]
mod range_server;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use olive_gateway::fetch::{
    ChunkCache, FetchError, FetchOptions, ImageSlice, NbdExport, RemoteFile,
};
use range_server::RangeServer;
use tokio::io::AsyncReadExt;

const KIB: u64 = 1024;

/// Deterministic, incompressible-looking bytes.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn quick() -> FetchOptions {
    FetchOptions {
        attempts: 3,
        backoff: Duration::from_millis(20),
        request_timeout: Duration::from_secs(20),
        ..FetchOptions::default()
    }
}

/// Bounds a test; generous because QEMU tests may first wait for the shared QEMU lock.
fn bounded<F: std::future::Future>(f: F) -> tokio::time::Timeout<F> {
    tokio::time::timeout(Duration::from_secs(300), f)
}
