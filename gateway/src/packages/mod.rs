//! Packages: Olive packages, VMNetX `.nxpk` packages, and packages at http(s) URLs.

pub mod nxpk;
pub mod olive;
pub mod remote;
