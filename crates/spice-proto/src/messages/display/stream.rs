//! Video stream messages: server-chosen regions encoded with a video codec.

use crate::error::Result;
use crate::messages::display::geometry::{Clip, Rect};
use crate::reader::Reader;
use crate::writer::PutLe;

/// STREAM_CREATE flags.
pub mod stream_flags {
    pub const TOP_DOWN: u8 = 1;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamCreate {
    pub surface_id: u32,
    /// Stream slot, < 64.
    pub id: u32,
    pub flags: u8,
    /// One of `video_codec`.
    pub codec: u8,
    pub stamp: u64,
    pub stream_width: u32,
    pub stream_height: u32,
    pub src_width: u32,
    pub src_height: u32,
    pub dest: Rect,
    pub clip: Clip,
}

impl StreamCreate {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            surface_id: r.u32()?,
            id: r.u32()?,
            flags: r.u8()?,
            codec: r.u8()?,
            stamp: r.u64()?,
            stream_width: r.u32()?,
            stream_height: r.u32()?,
            src_width: r.u32()?,
            src_height: r.u32()?,
            dest: Rect::read(r)?,
            clip: Clip::read(r)?,
        })
    }
}

/// One encoded frame, to be shown when the client mm-clock reaches `mm_time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamData<'a> {
    pub id: u32,
    pub mm_time: u32,
    pub data: &'a [u8],
}

impl<'a> StreamData<'a> {
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self> {
        let id = r.u32()?;
        let mm_time = r.u32()?;
        let size = r.u32()?;
        Ok(Self {
            id,
            mm_time,
            data: r.bytes_u64(size.into())?,
        })
    }
}

/// A frame whose size/destination changed (needs the SIZED_STREAM cap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDataSized<'a> {
    pub id: u32,
    pub mm_time: u32,
    pub width: u32,
    pub height: u32,
    pub dest: Rect,
    pub data: &'a [u8],
}

impl<'a> StreamDataSized<'a> {
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self> {
        let id = r.u32()?;
        let mm_time = r.u32()?;
        let width = r.u32()?;
        let height = r.u32()?;
        let dest = Rect::read(r)?;
        let size = r.u32()?;
        Ok(Self {
            id,
            mm_time,
            width,
            height,
            dest,
            data: r.bytes_u64(size.into())?,
        })
    }
}

/// The server asks for STREAM_REPORTs on this stream (needs the STREAM_REPORT cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamActivateReport {
    pub stream_id: u32,
    pub unique_id: u32,
    pub max_window_size: u32,
    pub timeout_ms: u32,
}

impl StreamActivateReport {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            stream_id: r.u32()?,
            unique_id: r.u32()?,
            max_window_size: r.u32()?,
            timeout_ms: r.u32()?,
        })
    }
}

/// Client playback statistics. `num_frames = 0, num_drops = u32::MAX` tells the server
/// the client cannot decode the stream, so it falls back to regular draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamReport {
    pub stream_id: u32,
    pub unique_id: u32,
    pub start_frame_mm_time: u32,
    pub end_frame_mm_time: u32,
    pub num_frames: u32,
    pub num_drops: u32,
    pub last_frame_delay: i32,
    /// `u32::MAX` when there is no audio.
    pub audio_delay: u32,
}

impl StreamReport {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(Self {
            stream_id: r.u32()?,
            unique_id: r.u32()?,
            start_frame_mm_time: r.u32()?,
            end_frame_mm_time: r.u32()?,
            num_frames: r.u32()?,
            num_drops: r.u32()?,
            last_frame_delay: r.i32()?,
            audio_delay: r.u32()?,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.put_u32(self.stream_id);
        out.put_u32(self.unique_id);
        out.put_u32(self.start_frame_mm_time);
        out.put_u32(self.end_frame_mm_time);
        out.put_u32(self.num_frames);
        out.put_u32(self.num_drops);
        out.put_i32(self.last_frame_delay);
        out.put_u32(self.audio_delay);
    }
}
