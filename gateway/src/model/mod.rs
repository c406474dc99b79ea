//! The gateway's vocabulary: what an item is, how its machine is described, the states of
//! an instance and the limits a machine is held to.
//!
//! Pure data: nothing here reads a file, opens a socket or imports another module of the
//! crate, so every other layer can use it and it can be tested on its own. Where a value
//! must be read at launch (a memory image streamed from a server) the model holds a trait
//! object ([`memory::ByteStream`]) that a lower layer implements.

pub mod catalog;
pub mod devices;
pub mod item;
pub mod kiosk;
pub mod lifecycle;
pub mod machine;
pub mod memory;
pub mod policy;
pub mod portal;
pub mod remote;

pub use catalog::Catalog;
pub use item::{Access, Item, ItemMeta, Keymap};
pub use kiosk::Kiosk;
pub use lifecycle::{ControlError, ControlEvent, SpiceAddress, SpiceEndpoint, VmState};
pub use machine::{
    BootDevice, BootOrder, Disk, DiskBus, DiskFormat, Display, Hardware, KernelBoot, Machine,
    MachineSource, Media, Mouse, SoundCards, SoundDevice,
};
pub use memory::{ByteStream, Codec, ImageBytes, ImageFormat, MemoryImage};
pub use policy::{Policy, PolicyViolation};
pub use portal::{PortalSettings, SigningKey};
pub use remote::{Kind, RemoteRef, UrlError};
