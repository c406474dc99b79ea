//! VMNetX `.nxpk` import: whitelist, lzop/xz memory images, and a real package built from the
//! running test guest (Python's zipfile as VMNetX used, a qemu-img disk, a memory image from a
//! real QEMU migration stream wrapped in a libvirt save header) that is imported and resumed
//! in QEMU to the same screen; also read remotely through the chunk cache.
// Real QEMU and real servers: the waits poll real processes on the wall clock.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

#[path = "../common/mod.rs"]
mod common;
mod formats;
mod import;
#[path = "../range_server/mod.rs"]
mod range_server;
mod real;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use olive_gateway::codec::libvirt::{self as memory, Compression, MemoryError};
use olive_gateway::codec::lzop;
use olive_gateway::fetch::{ChunkCache, FetchOptions, ImageSlice, NbdExport, DEFAULT_CHUNK_SIZE};
use olive_gateway::model::remote as url;
use olive_gateway::packages::nxpk::domain::{self, DomainError};
use olive_gateway::packages::nxpk::{self, LocalFile, Package};
use olive_tests::qemu::{Qemu, QemuConfig};
use range_server::RangeServer;
use serde_json::json;
