//! The period hardware a machine may be given: display adapter, sound cards, pointing
//! device, disk bus and boot order, under the names the catalog and package manifests use.
//!
//! A DOS or Windows 3.x disk a curator brings expects the PC it ran on (a Sound Blaster and
//! a PC speaker, a PS/2 mouse, Cirrus graphics, a floppy to boot from), so these are the
//! choices QEMU offers for that PC, each checked once here whoever names it (an
//! `[item.machine]`, a manifest, a VMNetX domain).

use std::fmt;

use serde::de::{self, IntoDeserializer};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The emulated display adapter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Display {
    /// Bochs/std VGA with VBE: QEMU's default, any resolution a guest's VESA driver asks.
    #[default]
    Std,
    /// Cirrus Logic GD5446, which Windows 3.x/95 and old X servers drive natively.
    Cirrus,
    /// The paravirtual QXL adapter whose 2D commands SPICE forwards as draw operations.
    Qxl,
}

impl Display {
    /// QEMU's `-vga` name.
    pub fn vga_name(self) -> &'static str {
        match self {
            Display::Std => "std",
            Display::Cirrus => "cirrus",
            Display::Qxl => "qxl",
        }
    }

    /// QEMU's `-device` name (used when the video memory is given).
    pub fn device_name(self) -> &'static str {
        match self {
            Display::Std => "VGA",
            Display::Cirrus => "cirrus-vga",
            Display::Qxl => "qxl-vga",
        }
    }

    /// Whether QEMU accepts `mb` MiB of video memory for this adapter (`vgamem_mb`): the
    /// Cirrus chip came with 4, 8 or 16 MiB and QEMU refuses anything else; VGA and QXL
    /// round up to a power of two and clamp, so only a power of two up to 256 is honest.
    pub fn check_vga_memory(self, mb: u32) -> Result<(), String> {
        match self {
            Display::Cirrus if ![4, 8, 16].contains(&mb) => {
                Err(format!("{mb} MiB: cirrus takes 4, 8 or 16"))
            }
            Display::Std | Display::Qxl if !mb.is_power_of_two() || mb > 256 => Err(format!(
                "{mb} MiB: {} takes a power of two from 1 to 256",
                self.vga_name()
            )),
            _ => Ok(()),
        }
    }
}

/// A sound card, all of them playing through SPICE audio.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
pub enum SoundDevice {
    /// Creative Sound Blaster 16 (ISA, port 0x220, IRQ 5, DMA 1/5).
    #[serde(rename = "sb16")]
    Sb16,
    /// AdLib OPL2 FM synthesis (ISA, ports 0x220 and 0x388): the music of DOS games.
    #[serde(rename = "adlib")]
    Adlib,
    /// The PC speaker's square wave (a machine property, not a device).
    #[serde(rename = "pcspk")]
    Pcspk,
    /// Ensoniq AudioPCI (PCI).
    #[serde(rename = "es1370")]
    Es1370,
    /// Intel AC'97 (PCI).
    #[serde(rename = "AC97", alias = "ac97")]
    Ac97,
    /// Intel HD Audio with a duplex codec (PCI).
    #[serde(rename = "intel-hda")]
    IntelHda,
}

impl SoundDevice {
    /// The catalog's name for it (QEMU's `-device` name, except `pcspk`).
    pub fn qemu_name(self) -> &'static str {
        match self {
            SoundDevice::Sb16 => "sb16",
            SoundDevice::Adlib => "adlib",
            SoundDevice::Pcspk => "pcspk",
            SoundDevice::Es1370 => "es1370",
            SoundDevice::Ac97 => "AC97",
            SoundDevice::IntelHda => "intel-hda",
        }
    }
}

/// The sound cards of a machine: a set (a DOS PC had a Sound Blaster *and* a PC speaker),
/// kept in one fixed order so equal sets give equal QEMU command lines.
///
/// Written as nothing, one name or a list of names; a card listed twice is an error
/// rather than silently one card.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SoundCards(Vec<SoundDevice>);

impl SoundCards {
    /// No sound card.
    pub fn none() -> SoundCards {
        SoundCards(Vec::new())
    }

    /// The set of `cards`; `Err` names a card given twice.
    pub fn new(cards: impl IntoIterator<Item = SoundDevice>) -> Result<SoundCards, SoundDevice> {
        let mut v: Vec<SoundDevice> = Vec::new();
        for c in cards {
            if v.contains(&c) {
                return Err(c);
            }
            v.push(c);
        }
        v.sort();
        Ok(SoundCards(v))
    }

    /// No sound card at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `card` is among them.
    pub fn contains(&self, card: SoundDevice) -> bool {
        self.0.contains(&card)
    }

    /// The cards in their fixed order.
    pub fn iter(&self) -> impl Iterator<Item = SoundDevice> + '_ {
        self.0.iter().copied()
    }
}

impl Serialize for SoundCards {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for SoundCards {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SoundCards, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = SoundCards;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sound card name or a list of them")
            }
            fn visit_unit<E: de::Error>(self) -> Result<SoundCards, E> {
                Ok(SoundCards::none())
            }
            fn visit_none<E: de::Error>(self) -> Result<SoundCards, E> {
                Ok(SoundCards::none())
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<SoundCards, D::Error> {
                d.deserialize_any(V)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<SoundCards, E> {
                let card = SoundDevice::deserialize(s.into_deserializer())?;
                Ok(SoundCards(vec![card]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<SoundCards, A::Error> {
                let mut cards = Vec::new();
                // Six cards exist; a longer list is a duplicate anyway.
                while let Some(c) = seq.next_element::<SoundDevice>()? {
                    if cards.contains(&c) {
                        return Err(de::Error::custom(format_args!(
                            "sound card `{}` is listed twice",
                            c.qemu_name()
                        )));
                    }
                    cards.push(c);
                }
                cards.sort();
                Ok(SoundCards(cards))
            }
        }
        d.deserialize_any(V)
    }
}

/// The pointing device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mouse {
    /// Only the PS/2 mouse every PC has: relative motion, so SPICE runs in server mouse
    /// mode and the browser locks the pointer (what DOS games and old X servers expect).
    Ps2,
    /// A USB tablet as well: absolute positions, SPICE client mouse mode.
    #[default]
    Tablet,
}

/// How the hard disk is attached. A 1990s PC had IDE, which every old operating system
/// can boot from; a Linux guest made for virtual machines (the project's period guests
/// among them) may expect virtio, whose driver its initramfs carries instead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiskBus {
    /// The first IDE channel's master (`/dev/hda`, `C:`).
    #[default]
    Ide,
    /// A virtio block device (`/dev/vda`).
    Virtio,
}

impl DiskBus {
    /// QEMU's `-drive if=` value.
    pub fn qemu_name(self) -> &'static str {
        match self {
            DiskBus::Ide => "ide",
            DiskBus::Virtio => "virtio",
        }
    }

    /// True for the default, which manifests leave out.
    pub fn is_ide(&self) -> bool {
        *self == DiskBus::Ide
    }
}

impl<'de> Deserialize<'de> for Mouse {
    /// `"ps2"` or `"tablet"`; also the boolean of the older `tablet = true|false`.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Mouse, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Mouse;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`ps2` or `tablet`")
            }
            fn visit_bool<E: de::Error>(self, tablet: bool) -> Result<Mouse, E> {
                Ok(if tablet { Mouse::Tablet } else { Mouse::Ps2 })
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Mouse, E> {
                match s {
                    "ps2" => Ok(Mouse::Ps2),
                    "tablet" => Ok(Mouse::Tablet),
                    other => Err(E::unknown_variant(other, &["ps2", "tablet"])),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A device the BIOS may boot from (QEMU's `-boot` letters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootDevice {
    /// `a`: the floppy drive.
    Floppy,
    /// `c`: the hard disk.
    Disk,
    /// `d`: the CD-ROM drive.
    Cdrom,
}

impl BootDevice {
    fn letter(self) -> char {
        match self {
            BootDevice::Floppy => 'a',
            BootDevice::Disk => 'c',
            BootDevice::Cdrom => 'd',
        }
    }
}

/// The BIOS boot order: one to three of `a` (floppy), `c` (disk), `d` (CD-ROM), each once,
/// e.g. `"a"` or `"ac"` (floppy, then disk, as a DOS PC's setup said).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootOrder(Vec<BootDevice>);

/// A boot order that is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?}: a boot order is 1 to 3 of a (floppy), c (disk), d (CD-ROM), each once")]
pub struct BadBootOrder(pub String);

impl BootOrder {
    /// Reads QEMU's drive letters (`a` floppy, `c` disk, `d` CD-ROM), each at most once.
    pub fn parse(s: &str) -> Result<BootOrder, BadBootOrder> {
        let bad = || BadBootOrder(s.chars().take(16).collect());
        let mut v = Vec::new();
        for c in s.chars() {
            let d = match c {
                'a' => BootDevice::Floppy,
                'c' => BootDevice::Disk,
                'd' => BootDevice::Cdrom,
                _ => return Err(bad()),
            };
            if v.contains(&d) {
                return Err(bad());
            }
            v.push(d);
        }
        if v.is_empty() {
            return Err(bad());
        }
        Ok(BootOrder(v))
    }

    /// The devices, first tried first.
    pub fn devices(&self) -> &[BootDevice] {
        &self.0
    }

    /// QEMU's `order=` letters.
    pub fn letters(&self) -> String {
        self.0.iter().map(|d| d.letter()).collect()
    }
}

impl Serialize for BootOrder {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.letters())
    }
}

impl<'de> Deserialize<'de> for BootOrder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<BootOrder, D::Error> {
        let s = String::deserialize(d)?;
        BootOrder::parse(&s).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        #[serde(default)]
        sound: SoundCards,
        #[serde(default, alias = "tablet")]
        mouse: Mouse,
        boot: Option<BootOrder>,
    }

    fn t(json: &str) -> Result<T, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn sound_is_none_one_or_a_set() {
        assert!(t(r#"{"sound": null}"#).unwrap().sound.is_empty());
        assert!(t("{}").unwrap().sound.is_empty());
        let one = t(r#"{"sound": "AC97"}"#).unwrap().sound;
        assert_eq!(one.iter().collect::<Vec<_>>(), [SoundDevice::Ac97]);
        let many = t(r#"{"sound": ["pcspk", "adlib", "sb16"]}"#).unwrap().sound;
        use SoundDevice::*;
        assert_eq!(many.iter().collect::<Vec<_>>(), [Sb16, Adlib, Pcspk]);
        assert_eq!(many, SoundCards::new([Pcspk, Sb16, Adlib]).unwrap());
        assert_eq!(SoundCards::new([Sb16, Sb16]), Err(Sb16));
        let e = t(r#"{"sound": ["sb16", "sb16"]}"#).err().unwrap();
        assert!(e.contains("listed twice"), "{e}");
        let e = t(r#"{"sound": "gus"}"#).err().unwrap();
        assert!(e.contains("unknown variant `gus`"), "{e}");
        assert!(t(r#"{"sound": 3}"#).is_err());
        let json = serde_json::to_string(&many).unwrap();
        assert_eq!(json, r#"["sb16","adlib","pcspk"]"#);
    }

    #[test]
    fn mouse_reads_the_old_tablet_flag() {
        assert_eq!(t("{}").unwrap().mouse, Mouse::Tablet);
        assert_eq!(t(r#"{"mouse": "ps2"}"#).unwrap().mouse, Mouse::Ps2);
        assert_eq!(t(r#"{"tablet": false}"#).unwrap().mouse, Mouse::Ps2);
        assert_eq!(t(r#"{"tablet": true}"#).unwrap().mouse, Mouse::Tablet);
        let e = t(r#"{"mouse": "serial"}"#).err().unwrap();
        assert!(e.contains("unknown variant `serial`"), "{e}");
        assert!(t(r#"{"mouse": "ps2", "tablet": true}"#).is_err());
    }

    #[test]
    fn boot_orders() {
        assert_eq!(BootOrder::parse("ac").unwrap().letters(), "ac");
        assert_eq!(
            BootOrder::parse("d").unwrap().devices(),
            [BootDevice::Cdrom]
        );
        for bad in ["", "cc", "n", "acdc", "C"] {
            assert!(BootOrder::parse(bad).is_err(), "{bad:?}");
        }
        let ca = t(r#"{"boot": "ca"}"#).unwrap().boot.unwrap();
        assert_eq!(ca.devices(), [BootDevice::Disk, BootDevice::Floppy]);
        let e = t(r#"{"boot": "x"}"#).err().unwrap();
        assert!(e.contains("boot order"), "{e}");
    }

    #[test]
    fn video_memory_sizes_qemu_takes() {
        assert!(Display::Cirrus.check_vga_memory(8).is_ok());
        assert!(Display::Cirrus.check_vga_memory(32).is_err());
        assert!(Display::Std.check_vga_memory(64).is_ok());
        assert!(Display::Qxl.check_vga_memory(3).is_err());
        assert!(Display::Qxl.check_vga_memory(512).is_err());
    }
}
