//! Playback channel: the guest's sound, as raw PCM or Opus packets.
//!
//! The server sends MODE (which encoding follows) before START (the stream's format), then
//! DATA packets until STOP. QEMU plays 48 kHz stereo S16LE; a RAW packet is 10 ms
//! (480 frames, 1920 bytes), an OPUS packet is one raw Opus packet for 10 ms. The server
//! only picks Opus if the client advertised the OPUS capability.

use crate::channel::ChannelType;
use crate::error::{ProtoError, Result};
use crate::messages::base::{is_base, BaseMsg};
use crate::messages::decode_base_for;
use crate::reader::Reader;

/// Server → client message numbers.
pub mod msg {
    pub const DATA: u16 = 101;
    pub const MODE: u16 = 102;
    pub const START: u16 = 103;
    pub const STOP: u16 = 104;
    pub const VOLUME: u16 = 105;
    pub const MUTE: u16 = 106;
    /// Only sent when both sides have the LATENCY capability.
    pub const LATENCY: u16 = 107;
}

/// Data modes (MODE's `mode`).
pub mod mode {
    /// Interleaved PCM in the START format.
    pub const RAW: u16 = 1;
    /// Dead codec; servers no longer send it.
    pub const CELT_0_5_1: u16 = 2;
    pub const OPUS: u16 = 3;
}

/// Sample formats (START's `format`).
pub mod format {
    /// Signed 16-bit little-endian, the only format SPICE defines.
    pub const S16: u16 = 1;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaybackMsg<'a> {
    Base(BaseMsg<'a>),
    /// One packet of audio in the current mode; `time` is the server's multimedia time.
    Data {
        time: u32,
        data: &'a [u8],
    },
    /// The mode of the following DATA packets; `data` is codec-specific (empty for RAW
    /// and Opus).
    Mode {
        time: u32,
        mode: u16,
        data: &'a [u8],
    },
    Start {
        channels: u32,
        format: u16,
        frequency: u32,
        time: u32,
    },
    Stop,
    /// Per-channel volume, 0..=65535.
    Volume(Vec<u16>),
    Mute(bool),
    Latency {
        ms: u32,
    },
}

pub fn decode_playback(ty: u16, body: &[u8]) -> Result<PlaybackMsg<'_>> {
    if is_base(ty) {
        return Ok(PlaybackMsg::Base(decode_base_for(
            ChannelType::Playback,
            ty,
            body,
        )?));
    }
    let mut r = Reader::new(body);
    Ok(match ty {
        msg::DATA => PlaybackMsg::Data {
            time: r.u32()?,
            data: r.rest(),
        },
        msg::MODE => PlaybackMsg::Mode {
            time: r.u32()?,
            mode: r.u16()?,
            data: r.rest(),
        },
        msg::START => PlaybackMsg::Start {
            channels: r.u32()?,
            format: r.u16()?,
            frequency: r.u32()?,
            time: r.u32()?,
        },
        msg::STOP => PlaybackMsg::Stop,
        msg::VOLUME => {
            let n = r.u8()?;
            PlaybackMsg::Volume(r.vec("playback volume channels", u64::from(n), 2, |r| r.u16())?)
        }
        msg::MUTE => PlaybackMsg::Mute(r.u8()? != 0),
        msg::LATENCY => PlaybackMsg::Latency { ms: r.u32()? },
        _ => {
            return Err(ProtoError::UnknownMessage {
                channel: ChannelType::Playback,
                ty,
            })
        }
    })
}

pub(crate) fn message_name(ty: u16) -> Option<&'static str> {
    Some(match ty {
        msg::DATA => "DATA",
        msg::MODE => "MODE",
        msg::START => "START",
        msg::STOP => "STOP",
        msg::VOLUME => "VOLUME",
        msg::MUTE => "MUTE",
        msg::LATENCY => "LATENCY",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::test_util::{assert_prefixes_fail, assert_prefixes_fail_until};

    fn dbg(m: Result<PlaybackMsg<'_>>) -> Result<String> {
        m.map(|m| format!("{m:?}"))
    }

    #[test]
    fn data_and_mode() {
        let body = [0x10, 0x27, 0, 0, 1, 2, 3, 4];
        assert_eq!(
            decode_playback(msg::DATA, &body).unwrap(),
            PlaybackMsg::Data {
                time: 10_000,
                data: &[1, 2, 3, 4]
            }
        );
        assert_eq!(
            decode_playback(msg::DATA, &body[..4]).unwrap(),
            PlaybackMsg::Data {
                time: 10_000,
                data: &[]
            }
        );
        assert_prefixes_fail_until(&body, 4, |p| dbg(decode_playback(msg::DATA, p)));

        let body = [5, 0, 0, 0, 3, 0, 9];
        assert_eq!(
            decode_playback(msg::MODE, &body).unwrap(),
            PlaybackMsg::Mode {
                time: 5,
                mode: mode::OPUS,
                data: &[9]
            }
        );
        assert_prefixes_fail_until(&body, 6, |p| dbg(decode_playback(msg::MODE, p)));
    }

    #[test]
    fn start_stop() {
        // channels 2, S16, 48000 Hz, time 0x01020304
        let body = [2, 0, 0, 0, 1, 0, 0x80, 0xbb, 0, 0, 4, 3, 2, 1];
        assert_eq!(
            decode_playback(msg::START, &body).unwrap(),
            PlaybackMsg::Start {
                channels: 2,
                format: format::S16,
                frequency: 48_000,
                time: 0x0102_0304
            }
        );
        assert_prefixes_fail(&body, |p| dbg(decode_playback(msg::START, p)));
        assert_eq!(decode_playback(msg::STOP, &[]).unwrap(), PlaybackMsg::Stop);
    }

    #[test]
    fn volume_mute_latency() {
        let body = [2, 0xff, 0xff, 0x00, 0x80];
        assert_eq!(
            decode_playback(msg::VOLUME, &body).unwrap(),
            PlaybackMsg::Volume(vec![0xffff, 0x8000])
        );
        assert_prefixes_fail(&body, |p| dbg(decode_playback(msg::VOLUME, p)));
        assert_eq!(
            decode_playback(msg::VOLUME, &[0]).unwrap(),
            PlaybackMsg::Volume(vec![])
        );

        assert_eq!(
            decode_playback(msg::MUTE, &[1]).unwrap(),
            PlaybackMsg::Mute(true)
        );
        assert_eq!(
            decode_playback(msg::MUTE, &[0]).unwrap(),
            PlaybackMsg::Mute(false)
        );
        assert_prefixes_fail(&[1], |p| dbg(decode_playback(msg::MUTE, p)));

        let body = [0xc8, 0, 0, 0];
        assert_eq!(
            decode_playback(msg::LATENCY, &body).unwrap(),
            PlaybackMsg::Latency { ms: 200 }
        );
        assert_prefixes_fail(&body, |p| dbg(decode_playback(msg::LATENCY, p)));
    }

    #[test]
    fn hostile_volume_count() {
        // 255 channels claimed, 3 present.
        let mut body = vec![255u8];
        body.extend_from_slice(&[0; 6]);
        assert!(matches!(
            decode_playback(msg::VOLUME, &body),
            Err(ProtoError::CountTooLarge { count: 255, .. })
        ));
        // Odd trailing byte: count 1 needs 2 bytes.
        assert!(decode_playback(msg::VOLUME, &[1, 0]).is_err());
        // Extra bytes after the array are ignored.
        assert_eq!(
            decode_playback(msg::VOLUME, &[1, 1, 0, 7, 7]).unwrap(),
            PlaybackMsg::Volume(vec![1])
        );
    }

    #[test]
    fn base_and_unknown() {
        let ping = [1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            decode_playback(4, &ping),
            Ok(PlaybackMsg::Base(BaseMsg::Ping { id: 1, .. }))
        ));
        assert!(decode_playback(108, &[]).unwrap_err().is_unknown_message());
        assert!(decode_playback(50, &[]).unwrap_err().is_unknown_message());
        for ty in 101..=107 {
            assert!(message_name(ty).is_some());
        }
        assert_eq!(message_name(108), None);
    }
}
