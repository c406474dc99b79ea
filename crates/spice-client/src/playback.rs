//! The playback channel: the guest's sound.
//!
//! The server announces the data mode (MODE: RAW or, if the client advertised it, OPUS),
//! then the stream format (START), then sends 10 ms packets (DATA) until STOP. The state
//! machine validates the stream and turns packets into [`PlaybackEvent`]s: RAW packets
//! become interleaved `i16` samples, Opus packets are passed through for the platform to
//! decode (WebCodecs). Nothing here keeps time; `time` fields are the server's multimedia
//! time, for the platform's jitter buffer.

#![allow(
    missing_docs,
    reason = "docs still to be written; session.rs, the entry point, is documented"
)]

use spice_proto::messages::playback::{format, mode, PlaybackMsg};
use thiserror::Error;

/// Lowest and highest sample rates accepted in START.
pub const MIN_FREQUENCY: u32 = 8_000;
pub const MAX_FREQUENCY: u32 = 192_000;
/// Most channels accepted in START (SPICE servers send stereo).
pub const MAX_CHANNELS: u32 = 2;

/// What happened on the playback channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaybackEvent {
    Start {
        channels: u32,
        frequency: u32,
        format: u16,
        time: u32,
    },
    /// Interleaved signed 16-bit samples (RAW mode), `channels` per frame.
    Pcm {
        time: u32,
        samples: Vec<i16>,
    },
    /// One Opus packet (only when the client advertised Opus).
    Opus {
        time: u32,
        packet: Vec<u8>,
    },
    Stop,
    /// Per-channel volume, 0..=65535.
    Volume {
        channels: Vec<u16>,
    },
    Mute(bool),
    Latency {
        ms: u32,
    },
}

/// A playback message the client cannot play. The channel stays up; the platform should
/// tell the user that sound is unavailable.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PlaybackError {
    #[error("playback: sample format {0} is not supported (only S16)")]
    UnsupportedFormat(u16),
    #[error("playback: {0} channels are not supported (1 or 2)")]
    UnsupportedChannels(u32),
    #[error("playback: sample rate {0} Hz is outside 8000..=192000")]
    UnsupportedFrequency(u32),
    #[error("playback: data mode {0} is not supported")]
    UnsupportedMode(u16),
    #[error("playback: the server chose Opus, which this client did not advertise")]
    OpusNotAdvertised,
    #[error("playback: audio data arrived before the stream started; dropping it")]
    DataBeforeStart,
    #[error("playback: a raw packet of {len} bytes is not whole {channels}-channel S16 frames")]
    BadRawLength { len: usize, channels: u32 },
}

/// The format of the running stream (from START).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamFormat {
    pub channels: u32,
    pub frequency: u32,
    pub format: u16,
}

#[derive(Debug)]
pub struct PlaybackState {
    opus_allowed: bool,
    mode: u16,
    /// `None` before START, after STOP, and after a START we cannot play.
    stream: Option<StreamFormat>,
    /// A DATA error was reported since the last MODE/START/STOP: further ones are dropped
    /// silently, so a broken stream gives one warning instead of a hundred a second.
    data_error_reported: bool,
    dropped: u64,
}

impl Default for PlaybackState {
    fn default() -> Self {
        Self::new(false)
    }
}

impl PlaybackState {
    /// `opus_allowed`: whether the client advertised the OPUS capability.
    pub fn new(opus_allowed: bool) -> Self {
        PlaybackState {
            opus_allowed,
            mode: mode::RAW,
            stream: None,
            data_error_reported: false,
            dropped: 0,
        }
    }

    /// The data mode of DATA packets (`spice_proto::messages::playback::mode`).
    pub fn mode(&self) -> u16 {
        self.mode
    }

    /// The running stream's format, if a playable stream is running.
    pub fn stream(&self) -> Option<StreamFormat> {
        self.stream
    }

    /// DATA packets dropped because they could not be played.
    pub fn dropped_packets(&self) -> u64 {
        self.dropped
    }

    /// Applies a playback message. `Ok(None)`: nothing to report (base messages, empty
    /// packets, and unplayable packets after the first warning about them).
    pub fn handle(
        &mut self,
        msg: &PlaybackMsg<'_>,
    ) -> Result<Option<PlaybackEvent>, PlaybackError> {
        Ok(match msg {
            PlaybackMsg::Base(_) => None,
            PlaybackMsg::Mode { mode: m, .. } => {
                self.mode = *m;
                // An unplayable mode is reported here, not again for every packet.
                self.data_error_reported = true;
                self.check_mode()?;
                self.data_error_reported = false;
                None
            }
            PlaybackMsg::Start {
                channels,
                format: f,
                frequency,
                time,
            } => {
                // A START we cannot play is reported here, not again for every packet.
                self.data_error_reported = true;
                self.stream = None;
                if *f != format::S16 {
                    return Err(PlaybackError::UnsupportedFormat(*f));
                }
                if !(1..=MAX_CHANNELS).contains(channels) {
                    return Err(PlaybackError::UnsupportedChannels(*channels));
                }
                if !(MIN_FREQUENCY..=MAX_FREQUENCY).contains(frequency) {
                    return Err(PlaybackError::UnsupportedFrequency(*frequency));
                }
                self.stream = Some(StreamFormat {
                    channels: *channels,
                    frequency: *frequency,
                    format: *f,
                });
                self.data_error_reported = self.check_mode().is_err();
                Some(PlaybackEvent::Start {
                    channels: *channels,
                    frequency: *frequency,
                    format: *f,
                    time: *time,
                })
            }
            PlaybackMsg::Data { time, data } => match self.data(*time, data) {
                Ok(e) => e,
                Err(e) => {
                    self.dropped += 1;
                    if self.data_error_reported {
                        return Ok(None);
                    }
                    self.data_error_reported = true;
                    return Err(e);
                }
            },
            PlaybackMsg::Stop => {
                self.data_error_reported = false;
                self.stream = None;
                Some(PlaybackEvent::Stop)
            }
            PlaybackMsg::Volume(v) => Some(PlaybackEvent::Volume {
                channels: v.clone(),
            }),
            PlaybackMsg::Mute(m) => Some(PlaybackEvent::Mute(*m)),
            PlaybackMsg::Latency { ms } => Some(PlaybackEvent::Latency { ms: *ms }),
        })
    }

    fn check_mode(&self) -> Result<(), PlaybackError> {
        match self.mode {
            mode::RAW => Ok(()),
            mode::OPUS if self.opus_allowed => Ok(()),
            mode::OPUS => Err(PlaybackError::OpusNotAdvertised),
            other => Err(PlaybackError::UnsupportedMode(other)),
        }
    }

    fn data(&self, time: u32, data: &[u8]) -> Result<Option<PlaybackEvent>, PlaybackError> {
        let Some(stream) = self.stream else {
            return Err(PlaybackError::DataBeforeStart);
        };
        match self.mode {
            mode::RAW => {
                // channels is 1 or 2 (checked at START), so this cannot overflow.
                let frame = 2 * stream.channels as usize;
                if !data.chunks_exact(frame).remainder().is_empty() {
                    return Err(PlaybackError::BadRawLength {
                        len: data.len(),
                        channels: stream.channels,
                    });
                }
                if data.is_empty() {
                    return Ok(None);
                }
                let samples = data
                    .chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]))
                    .collect();
                Ok(Some(PlaybackEvent::Pcm { time, samples }))
            }
            _ => {
                self.check_mode()?;
                if data.is_empty() {
                    return Ok(None);
                }
                Ok(Some(PlaybackEvent::Opus {
                    time,
                    packet: data.to_vec(),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spice_proto::messages::playback::{decode_playback, msg};

    fn start(channels: u32, fmt: u16, frequency: u32) -> PlaybackMsg<'static> {
        PlaybackMsg::Start {
            channels,
            format: fmt,
            frequency,
            time: 7,
        }
    }

    fn mode_msg(m: u16) -> PlaybackMsg<'static> {
        PlaybackMsg::Mode {
            time: 0,
            mode: m,
            data: &[],
        }
    }

    #[test]
    fn raw_stream_yields_little_endian_samples() {
        let mut s = PlaybackState::new(false);
        assert_eq!(s.handle(&mode_msg(mode::RAW)), Ok(None));
        assert_eq!(
            s.handle(&start(2, format::S16, 48_000)),
            Ok(Some(PlaybackEvent::Start {
                channels: 2,
                frequency: 48_000,
                format: format::S16,
                time: 7
            }))
        );
        // Decode from wire bytes to cover the whole path: time 100, two stereo frames.
        let body = [
            100, 0, 0, 0, // time
            0x01, 0x02, 0xff, 0xff, // L = 0x0201, R = -1
            0x00, 0x80, 0xff, 0x7f, // L = i16::MIN, R = i16::MAX
        ];
        let m = decode_playback(msg::DATA, &body).unwrap();
        assert_eq!(
            s.handle(&m),
            Ok(Some(PlaybackEvent::Pcm {
                time: 100,
                samples: vec![0x0201, -1, i16::MIN, i16::MAX]
            }))
        );
        assert_eq!(
            s.stream(),
            Some(StreamFormat {
                channels: 2,
                frequency: 48_000,
                format: format::S16
            })
        );
        assert_eq!(s.handle(&PlaybackMsg::Stop), Ok(Some(PlaybackEvent::Stop)));
        assert_eq!(s.stream(), None);
        assert_eq!(
            s.handle(&PlaybackMsg::Data {
                time: 1,
                data: &[0; 4]
            }),
            Err(PlaybackError::DataBeforeStart)
        );
    }

    #[test]
    fn mono_and_empty_packets() {
        let mut s = PlaybackState::default();
        s.handle(&start(1, format::S16, 8_000)).unwrap();
        assert_eq!(
            s.handle(&PlaybackMsg::Data {
                time: 3,
                data: &[0x34, 0x12, 0xcc, 0xed]
            }),
            Ok(Some(PlaybackEvent::Pcm {
                time: 3,
                samples: vec![0x1234, -0x1234]
            }))
        );
        assert_eq!(
            s.handle(&PlaybackMsg::Data { time: 4, data: &[] }),
            Ok(None)
        );
    }

    #[test]
    fn bad_raw_lengths_are_reported_once() {
        let mut s = PlaybackState::default();
        s.handle(&start(2, format::S16, 44_100)).unwrap();
        let bad = PlaybackMsg::Data {
            time: 1,
            data: &[0; 6],
        };
        assert_eq!(
            s.handle(&bad),
            Err(PlaybackError::BadRawLength {
                len: 6,
                channels: 2
            })
        );
        assert_eq!(s.handle(&bad), Ok(None));
        assert_eq!(s.dropped_packets(), 2);
        // Good packets still play; a new stream re-arms the warning.
        assert!(matches!(
            s.handle(&PlaybackMsg::Data {
                time: 2,
                data: &[0; 8]
            }),
            Ok(Some(PlaybackEvent::Pcm { .. }))
        ));
        s.handle(&start(2, format::S16, 44_100)).unwrap();
        assert!(s.handle(&bad).is_err());
        // An odd byte count with mono.
        s.handle(&start(1, format::S16, 44_100)).unwrap();
        assert!(matches!(
            s.handle(&PlaybackMsg::Data {
                time: 2,
                data: &[0; 3]
            }),
            Err(PlaybackError::BadRawLength { len: 3, .. })
        ));
    }

    #[test]
    fn unplayable_starts_are_errors() {
        let mut s = PlaybackState::default();
        assert_eq!(
            s.handle(&start(2, 2, 48_000)),
            Err(PlaybackError::UnsupportedFormat(2))
        );
        assert_eq!(
            s.handle(&start(0, format::S16, 48_000)),
            Err(PlaybackError::UnsupportedChannels(0))
        );
        assert_eq!(
            s.handle(&start(6, format::S16, 48_000)),
            Err(PlaybackError::UnsupportedChannels(6))
        );
        assert_eq!(
            s.handle(&start(u32::MAX, format::S16, 48_000)),
            Err(PlaybackError::UnsupportedChannels(u32::MAX))
        );
        assert_eq!(
            s.handle(&start(2, format::S16, 7_999)),
            Err(PlaybackError::UnsupportedFrequency(7_999))
        );
        assert_eq!(
            s.handle(&start(2, format::S16, 192_001)),
            Err(PlaybackError::UnsupportedFrequency(192_001))
        );
        assert!(s.handle(&start(2, format::S16, 192_000)).is_ok());
        // A rejected START stops the previous stream; its packets drop without more
        // warnings.
        assert!(s.handle(&start(2, format::S16, 0)).is_err());
        assert_eq!(s.stream(), None);
        let data = PlaybackMsg::Data {
            time: 1,
            data: &[0; 4],
        };
        assert_eq!(s.handle(&data), Ok(None));
        assert_eq!(s.dropped_packets(), 1);
        // After STOP, data without START is reported.
        s.handle(&PlaybackMsg::Stop).unwrap();
        assert_eq!(s.handle(&data), Err(PlaybackError::DataBeforeStart));
    }

    #[test]
    fn opus_mode_passes_packets_through() {
        let mut s = PlaybackState::new(true);
        assert_eq!(s.handle(&mode_msg(mode::OPUS)), Ok(None));
        assert_eq!(s.mode(), mode::OPUS);
        s.handle(&start(2, format::S16, 48_000)).unwrap();
        // Opus packets have any length: no frame check.
        assert_eq!(
            s.handle(&PlaybackMsg::Data {
                time: 9,
                data: &[0xfc, 1, 2]
            }),
            Ok(Some(PlaybackEvent::Opus {
                time: 9,
                packet: vec![0xfc, 1, 2]
            }))
        );
        // Back to RAW.
        s.handle(&mode_msg(mode::RAW)).unwrap();
        assert!(matches!(
            s.handle(&PlaybackMsg::Data {
                time: 10,
                data: &[0; 4]
            }),
            Ok(Some(PlaybackEvent::Pcm { .. }))
        ));
    }

    #[test]
    fn unsupported_modes() {
        let mut s = PlaybackState::new(false);
        assert_eq!(
            s.handle(&mode_msg(mode::OPUS)),
            Err(PlaybackError::OpusNotAdvertised)
        );
        // The stream starts, but its packets are dropped (the MODE already warned).
        assert!(s.handle(&start(2, format::S16, 48_000)).unwrap().is_some());
        let data = PlaybackMsg::Data {
            time: 1,
            data: &[1, 2, 3, 4],
        };
        assert_eq!(s.handle(&data), Ok(None));
        assert_eq!(
            s.handle(&mode_msg(mode::CELT_0_5_1)),
            Err(PlaybackError::UnsupportedMode(mode::CELT_0_5_1))
        );
        assert_eq!(s.handle(&data), Ok(None));
        assert_eq!(s.dropped_packets(), 2);
        // After STOP, packets without a START are reported; a playable MODE and a START
        // resume playback.
        s.handle(&PlaybackMsg::Stop).unwrap();
        assert_eq!(s.handle(&data), Err(PlaybackError::DataBeforeStart));
        s.handle(&mode_msg(mode::RAW)).unwrap();
        s.handle(&start(2, format::S16, 48_000)).unwrap();
        assert!(matches!(
            s.handle(&data),
            Ok(Some(PlaybackEvent::Pcm { .. }))
        ));
    }

    #[test]
    fn volume_mute_latency() {
        let mut s = PlaybackState::default();
        assert_eq!(
            s.handle(&PlaybackMsg::Volume(vec![100, 65535])),
            Ok(Some(PlaybackEvent::Volume {
                channels: vec![100, 65535]
            }))
        );
        assert_eq!(
            s.handle(&PlaybackMsg::Mute(true)),
            Ok(Some(PlaybackEvent::Mute(true)))
        );
        assert_eq!(
            s.handle(&PlaybackMsg::Latency { ms: 250 }),
            Ok(Some(PlaybackEvent::Latency { ms: 250 }))
        );
    }
}
