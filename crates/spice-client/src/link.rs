//! One channel connection's link phase and framing.
//!
//! Every SPICE channel is its own byte stream: link message out, link reply in (with a
//! fresh RSA key), encrypted ticket out, a bare u32 result in, then mini-header framed
//! messages. This module turns that stream into "bytes to send" and "messages received",
//! and reports a refused link as an error the session must surface.

use rand_core::CryptoRngCore;
use spice_proto::caps::Caps;
use spice_proto::framing::{Deframer, RawMessage};
use spice_proto::link::{
    decode_link_result, AuthMechanism, LinkError, LinkHeader, LinkMess, LinkReply,
    LINK_HEADER_SIZE, LINK_RESULT_SIZE,
};
use spice_proto::ticket::encrypt_ticket;
use spice_proto::{caps, ChannelType};

use crate::error::ChannelError;

#[derive(Debug)]
enum Phase {
    /// Waiting for the link header and reply.
    Reply,
    /// Ticket sent; waiting for the u32 result.
    Result,
    /// Linked: SPICE messages flow.
    Linked,
    /// Failed or closed; further bytes are ignored.
    Dead,
}

/// What feeding bytes into a link produced.
#[derive(Debug, Default)]
pub(crate) struct LinkStep {
    /// Bytes to write to the transport, in order.
    pub send: Vec<Vec<u8>>,
    /// Set once when the link completes successfully.
    pub linked: bool,
    /// Complete messages received after the link completed.
    pub messages: Vec<RawMessage>,
}

#[derive(Debug)]
pub(crate) struct Link {
    phase: Phase,
    buf: Vec<u8>,
    deframer: Deframer,
    password: String,
    /// The server's capabilities from the link reply, for features we must check.
    pub server_common_caps: Caps,
    pub server_channel_caps: Caps,
}

impl Link {
    /// Starts a link; the returned bytes are the link message to send first.
    pub(crate) fn start(
        channel_type: ChannelType,
        channel_id: u8,
        connection_id: u32,
        password: &str,
        channel_caps: Caps,
    ) -> (Link, Vec<u8>) {
        let common = Caps::from_bits(&[
            caps::common::PROTOCOL_AUTH_SELECTION,
            caps::common::AUTH_SPICE,
            caps::common::MINI_HEADER,
        ]);
        let mess = LinkMess {
            connection_id,
            channel_type,
            channel_id,
            common_caps: common.words().to_vec(),
            channel_caps: channel_caps.words().to_vec(),
        };
        let link = Link {
            phase: Phase::Reply,
            buf: Vec::new(),
            deframer: Deframer::new(),
            password: password.to_owned(),
            server_common_caps: Caps::new(),
            server_channel_caps: Caps::new(),
        };
        (link, mess.encode())
    }

    pub(crate) fn is_linked(&self) -> bool {
        matches!(self.phase, Phase::Linked)
    }

    /// Consumes received bytes. An error leaves the link dead.
    pub(crate) fn receive(
        &mut self,
        data: &[u8],
        rng: &mut dyn CryptoRngCore,
    ) -> Result<LinkStep, ChannelError> {
        let result = self.receive_inner(data, rng);
        if result.is_err() {
            self.phase = Phase::Dead;
        }
        result
    }

    fn receive_inner(
        &mut self,
        data: &[u8],
        rng: &mut dyn CryptoRngCore,
    ) -> Result<LinkStep, ChannelError> {
        let mut rng = rng;
        let mut step = LinkStep::default();
        match self.phase {
            Phase::Dead => return Ok(step),
            Phase::Linked => {
                self.deframer.push(data);
                self.drain(&mut step)?;
                return Ok(step);
            }
            Phase::Reply | Phase::Result => self.buf.extend_from_slice(data),
        }
        if matches!(self.phase, Phase::Reply) {
            if self.buf.len() < LINK_HEADER_SIZE {
                return Ok(step);
            }
            let header = LinkHeader::decode(&self.buf)?;
            let total = LINK_HEADER_SIZE + header.size as usize;
            if self.buf.len() < total {
                return Ok(step);
            }
            let reply = LinkReply::decode(&self.buf[LINK_HEADER_SIZE..total])?;
            if reply.error != LinkError::Ok {
                return Err(ChannelError::LinkRefused(reply.error));
            }
            self.server_common_caps = Caps::from_words(reply.common_caps.clone());
            self.server_channel_caps = Caps::from_words(reply.channel_caps.clone());
            let ticket = encrypt_ticket(&reply.pub_key_der, &self.password, &mut rng)?;
            let mut out = AuthMechanism::Spice.encode().to_vec();
            out.extend_from_slice(&ticket);
            step.send.push(out);
            self.buf.drain(..total);
            self.phase = Phase::Result;
        }
        if matches!(self.phase, Phase::Result) {
            if self.buf.len() < LINK_RESULT_SIZE {
                return Ok(step);
            }
            let result = decode_link_result(&self.buf)?;
            if result != LinkError::Ok {
                return Err(ChannelError::LinkRefused(result));
            }
            self.phase = Phase::Linked;
            step.linked = true;
            let rest = self.buf.split_off(LINK_RESULT_SIZE);
            self.buf = Vec::new();
            self.deframer.push(&rest);
            self.drain(&mut step)?;
        }
        Ok(step)
    }

    fn drain(&mut self, step: &mut LinkStep) -> Result<(), ChannelError> {
        while let Some(msg) = self.deframer.next_message()? {
            step.messages.push(msg);
        }
        Ok(())
    }

    pub(crate) fn close(&mut self) {
        self.phase = Phase::Dead;
    }
}
