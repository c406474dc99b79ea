//! The cursor channel: the guest pointer's shape, position and visibility.
//!
//! Shapes are decoded to RGBA with a hotspot, so the browser can use them as a CSS cursor
//! or draw them on an overlay. The cache mirrors the server's (it decides what is cached
//! and when entries go away).

#![allow(
    missing_docs,
    reason = "docs still to be written; session.rs, the entry point, is documented"
)]

use std::collections::HashMap;
use std::sync::Arc;

use spice_codecs::{decode_cursor, CursorImage};
use spice_proto::messages::cursor::{cursor_flags, Cursor, CursorMsg};

use crate::error::ChannelError;

/// The server's cursor cache holds 256 entries; more live ids would be a protocol error.
const MAX_CACHED: usize = 256;

/// A cursor shape ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorShape {
    pub image: Arc<CursorImage>,
    pub hot_x: u16,
    pub hot_y: u16,
}

/// What changed on the cursor channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorEvent {
    /// A new shape (None: the guest set an empty cursor).
    Shape {
        shape: Option<CursorShape>,
        visible: bool,
        x: i16,
        y: i16,
    },
    Move {
        x: i16,
        y: i16,
    },
    Hide,
    /// Trails are a Windows accessibility effect; reported, not drawn.
    Trail {
        length: u16,
        frequency: u16,
    },
    Reset,
}

#[derive(Debug, Default)]
pub struct CursorState {
    cache: HashMap<u64, CursorShape>,
    pub current: Option<CursorShape>,
    pub visible: bool,
}

impl CursorState {
    /// Applies a cursor-channel message; returns the event to report, if any.
    pub fn handle(&mut self, msg: &CursorMsg<'_>) -> Result<Option<CursorEvent>, ChannelError> {
        Ok(match msg {
            CursorMsg::Base(_) => None,
            CursorMsg::Init {
                position,
                visible,
                cursor,
                ..
            } => {
                self.cache.clear();
                self.set(cursor, *visible, position.x, position.y)?
            }
            CursorMsg::Set {
                position,
                visible,
                cursor,
            } => self.set(cursor, *visible, position.x, position.y)?,
            CursorMsg::Move { position } => Some(CursorEvent::Move {
                x: position.x,
                y: position.y,
            }),
            CursorMsg::Hide => {
                self.visible = false;
                Some(CursorEvent::Hide)
            }
            CursorMsg::Trail { length, frequency } => Some(CursorEvent::Trail {
                length: *length,
                frequency: *frequency,
            }),
            CursorMsg::InvalOne { id } => {
                self.cache.remove(id);
                None
            }
            CursorMsg::InvalAll => {
                self.cache.clear();
                None
            }
            CursorMsg::Reset => {
                self.cache.clear();
                self.current = None;
                self.visible = false;
                Some(CursorEvent::Reset)
            }
        })
    }

    fn set(
        &mut self,
        cursor: &Cursor<'_>,
        visible: bool,
        x: i16,
        y: i16,
    ) -> Result<Option<CursorEvent>, ChannelError> {
        let shape = self.shape(cursor)?;
        self.current = shape.clone();
        self.visible = visible;
        Ok(Some(CursorEvent::Shape {
            shape,
            visible,
            x,
            y,
        }))
    }

    fn shape(&mut self, cursor: &Cursor<'_>) -> Result<Option<CursorShape>, ChannelError> {
        let Some(header) = cursor.header else {
            return Ok(None);
        };
        if cursor.flags & cursor_flags::FROM_CACHE != 0 {
            return self
                .cache
                .get(&header.unique)
                .cloned()
                .map(Some)
                .ok_or_else(|| {
                    ChannelError::Unexpected(format!(
                        "cursor {:#x} is not in the cache",
                        header.unique
                    ))
                });
        }
        let image = decode_cursor(header.kind, header.width, header.height, cursor.data)
            .map_err(|e| ChannelError::Unexpected(format!("cursor shape: {e}")))?;
        let shape = CursorShape {
            image: Arc::new(image),
            hot_x: header.hot_x,
            hot_y: header.hot_y,
        };
        if cursor.flags & cursor_flags::CACHE_ME != 0 {
            if self.cache.len() >= MAX_CACHED && !self.cache.contains_key(&header.unique) {
                return Err(ChannelError::Unexpected(format!(
                    "server asked to cache more than {MAX_CACHED} cursors"
                )));
            }
            self.cache.insert(header.unique, shape.clone());
        }
        Ok(Some(shape))
    }
}
