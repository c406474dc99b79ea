//! Sound: the playback channel's PCM through an AudioWorklet, or, where the browser has
//! none (or it fails to load), through scheduled `AudioBufferSourceNode`s.
//!
//! The path is chosen by feature detection ([`super::features::Features`]), never by user
//! agent, and published as `data-audio-path` (`audio-worklet`, `buffer-source`). The
//! buffer path keeps the same latency policy as the worklet: playback starts
//! [`START_MS`] ahead of the context's clock, and a chunk that would be scheduled more than
//! [`MAX_MS`] ahead is dropped (a suspended context, whose clock stands still, therefore
//! holds at most that much).
//!
//! The AudioContext must be created (or resumed) inside a user gesture, so the player
//! creates [`Audio`] in the Run click handler. The worklet is tiny JS embedded below and
//! loaded from a Blob URL (no extra file to deploy); it keeps the jitter buffer, whose
//! policy is [`super::pcm::JitterBuffer`]. Samples are converted to f32 and resampled to
//! the context's rate here, then posted to the worklet (buffers transferred, not copied).
//! Volume is one GainNode: the visitor's slider × the guest's volume, 0 when either mutes.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsValue;
use web_sys::{AudioContext, AudioWorkletNode, AudioWorkletNodeOptions, GainNode};

/// Where decoded samples go.
enum Sink {
    /// The worklet module is loading; samples until then are dropped.
    Loading,
    Worklet(AudioWorkletNode),
    /// `AudioBufferSourceNode`s started back to back; `next` is the context time at which
    /// the next chunk starts.
    Buffers {
        next: f64,
    },
}

impl Sink {
    fn path(&self) -> &'static str {
        match self {
            Sink::Loading | Sink::Worklet(_) => "audio-worklet",
            Sink::Buffers { .. } => "buffer-source",
        }
    }
}

use super::pcm::{deinterleave, ProbeRing, Resampler, MAX_MS, START_MS};
use crate::ui::dom;

/// Samples of channel 0 kept for `oliveAudioProbe` (0.2 s at 48 kHz).
pub const PROBE_SAMPLES: usize = 9600;

/// The worklet: a FIFO of per-channel Float32Array chunks with the jitter policy.
const WORKLET_JS: &str = r#"
class OliveSink extends AudioWorkletProcessor {
  constructor(o) {
    super();
    const p = o.processorOptions;
    this.start = p.start; this.max = p.max;
    this.q = []; this.len = 0; this.off = 0; this.playing = false;
    this.port.onmessage = (e) => this.push(e.data);
  }
  push(chs) {
    if (!chs.length || !chs[0].length) return;
    this.q.push(chs); this.len += chs[0].length;
    while (this.len > this.max && this.q.length) {
      const head = this.q[0][0].length;
      const drop = Math.min(this.len - this.max, head - this.off);
      this.off += drop; this.len -= drop;
      if (this.off >= head) { this.q.shift(); this.off = 0; }
    }
  }
  process(inputs, outputs) {
    const out = outputs[0];
    const n = out[0].length;
    if (!this.playing && this.len >= this.start) this.playing = true;
    let i = 0;
    if (this.playing) {
      while (i < n && this.q.length) {
        const h = this.q[0];
        const k = Math.min(h[0].length - this.off, n - i);
        for (let c = 0; c < out.length; c++) {
          const src = h[Math.min(c, h.length - 1)];
          out[c].set(src.subarray(this.off, this.off + k), i);
        }
        i += k; this.off += k; this.len -= k;
        if (this.off >= h[0].length) { this.q.shift(); this.off = 0; }
      }
      if (this.len === 0) this.playing = false;
    }
    for (let c = 0; c < out.length; c++) out[c].fill(0, i);
    return true;
  }
}
registerProcessor('olive-sink', OliveSink);
"#;

/// What tests read: the probe ring and the total frames received.
#[derive(Default)]
pub struct AudioStats {
    /// `None` until [`Audio::new`] runs: the probe is installed on the player element
    /// before any audio output exists (and stays even if creating one fails), and reads as
    /// empty until then.
    pub(crate) probe: Option<ProbeRing>,
    /// Frames received since the player started (all streams, counted before
    /// resampling): published as `data-audio-frames`, which tests wait on to know that
    /// sound reached the browser whatever the output path or the context's state.
    pub frames: u64,
}

/// The sound output of one player.
pub struct Audio {
    ctx: AudioContext,
    gain: GainNode,
    sink: Rc<RefCell<Sink>>,
    channels: usize,
    in_rate: f64,
    resamplers: Vec<Resampler>,
    stats: Rc<RefCell<AudioStats>>,
    user_volume: f32,
    user_muted: bool,
    guest_volume: f32,
    guest_muted: bool,
}

impl Audio {
    /// Creates the context. Call from a user gesture. `worklet`: whether the browser has
    /// AudioWorklet (else the buffer path is used from the start).
    pub fn new(stats: Rc<RefCell<AudioStats>>, worklet: bool) -> Result<Audio, JsValue> {
        let ctx = AudioContext::new()?;
        let _ = ctx.resume();
        let gain = ctx.create_gain()?;
        gain.connect_with_audio_node(&ctx.destination())?;
        let sink = Rc::new(RefCell::new(Sink::Buffers { next: 0.0 }));
        if worklet {
            *sink.borrow_mut() = Sink::Loading;
            if let Err(e) = load_worklet(&ctx, &gain, sink.clone()) {
                dom::log(&format!("audio worklet unavailable, using buffers: {e:?}"));
                *sink.borrow_mut() = Sink::Buffers { next: 0.0 };
            }
        }
        stats
            .borrow_mut()
            .probe
            .get_or_insert_with(|| ProbeRing::new(PROBE_SAMPLES));
        Ok(Audio {
            ctx,
            gain,
            sink,
            channels: 2,
            in_rate: 48000.0,
            resamplers: Vec::new(),
            stats,
            user_volume: 1.0,
            user_muted: false,
            guest_volume: 1.0,
            guest_muted: false,
        })
    }

    /// The output path in use (`data-audio-path`).
    pub fn path(&self) -> &'static str {
        self.sink.borrow().path()
    }

    /// The context's state (`running`, `suspended`, `closed`): `data-audio-context`.
    pub fn context_state(&self) -> &'static str {
        match self.ctx.state() {
            web_sys::AudioContextState::Running => "running",
            web_sys::AudioContextState::Suspended => "suspended",
            web_sys::AudioContextState::Closed => "closed",
            _ => "unknown",
        }
    }

    /// Resumes the context (another user gesture, e.g. a click on the screen).
    pub fn resume(&self) {
        let _ = self.ctx.resume();
    }

    /// The guest started a stream.
    pub fn start(&mut self, channels: usize, rate: f64) {
        self.channels = channels.max(1);
        self.in_rate = rate;
        let out = f64::from(self.ctx.sample_rate());
        self.resamplers = (0..self.channels)
            .map(|_| Resampler::new(rate, out))
            .collect();
    }

    /// Interleaved S16 samples of the current stream.
    pub fn pcm(&mut self, samples: &[i16]) {
        let chans = deinterleave(samples, self.channels);
        self.planar(chans);
    }

    /// Planar f32 samples (from the Opus decoder, or [`Audio::pcm`]).
    pub fn planar(&mut self, chans: Vec<Vec<f32>>) {
        if chans.is_empty() {
            return;
        }
        {
            let mut st = self.stats.borrow_mut();
            st.frames += chans[0].len() as u64;
            if let Some(p) = st.probe.as_mut() {
                p.push(&chans[0]);
            }
        }
        if self.resamplers.len() != chans.len() {
            let out = f64::from(self.ctx.sample_rate());
            self.resamplers = (0..chans.len())
                .map(|_| Resampler::new(self.in_rate, out))
                .collect();
        }
        let resampled: Vec<Vec<f32>> = chans
            .iter()
            .zip(self.resamplers.iter_mut())
            .map(|(c, r)| r.process(c))
            .collect();
        let mut sink = self.sink.borrow_mut();
        match &mut *sink {
            Sink::Loading => {}
            Sink::Worklet(node) => post_to_worklet(node, &resampled),
            Sink::Buffers { next } => {
                if let Err(e) = schedule_buffer(&self.ctx, &self.gain, &resampled, next) {
                    dom::log(&format!("audio buffer failed: {e:?}"));
                }
            }
        }
    }

    /// The visitor's slider (0..=1).
    pub fn set_user_volume(&mut self, v: f32) {
        self.user_volume = v.clamp(0.0, 1.0);
        self.apply_gain();
    }

    /// The visitor's mute button.
    pub fn set_user_muted(&mut self, m: bool) {
        self.user_muted = m;
        self.apply_gain();
    }

    /// The guest's mixer volume (per channel, 0..=65535): we apply the mean.
    pub fn set_guest_volume(&mut self, channels: &[u16]) {
        if !channels.is_empty() {
            let sum: f32 = channels.iter().map(|&v| f32::from(v)).sum();
            self.guest_volume = sum / channels.len() as f32 / 65535.0;
            self.apply_gain();
        }
    }

    /// The guest's mute.
    pub fn set_guest_muted(&mut self, m: bool) {
        self.guest_muted = m;
        self.apply_gain();
    }

    fn apply_gain(&self) {
        let g = if self.user_muted || self.guest_muted {
            0.0
        } else {
            self.user_volume * self.guest_volume
        };
        self.gain.gain().set_value(g);
    }

    /// Closes the context (session over).
    pub fn close(&self) {
        let _ = self.ctx.close();
    }
}

/// Sends one chunk per channel to the worklet (buffers transferred, not copied).
fn post_to_worklet(node: &AudioWorkletNode, chans: &[Vec<f32>]) {
    let arr = js_sys::Array::new();
    let transfer = js_sys::Array::new();
    for s in chans {
        let f = js_sys::Float32Array::new_with_length(s.len() as u32);
        f.copy_from(s);
        transfer.push(&f.buffer());
        arr.push(&f);
    }
    if let Ok(port) = node.port() {
        let _ = port.post_message_with_transferable(&arr, &transfer);
    }
}

/// Plays one chunk with an `AudioBufferSourceNode` started right after the previous one
/// (see the module docs for the latency bounds).
fn schedule_buffer(
    ctx: &AudioContext,
    gain: &GainNode,
    chans: &[Vec<f32>],
    next: &mut f64,
) -> Result<(), JsValue> {
    let frames = chans.first().map_or(0, Vec::len);
    if frames == 0 {
        return Ok(());
    }
    let rate = ctx.sample_rate();
    let now = ctx.current_time();
    if *next < now {
        *next = now + START_MS / 1000.0;
    }
    if *next - now > MAX_MS / 1000.0 {
        return Ok(());
    }
    let buf = ctx.create_buffer(2, frames as u32, rate)?;
    for c in 0..2 {
        buf.copy_to_channel(&chans[c.min(chans.len() - 1)], c as i32)?;
    }
    let src = ctx.create_buffer_source()?;
    src.set_buffer(Some(&buf));
    src.connect_with_audio_node(gain)?;
    src.start_with_when(*next)?;
    *next += frames as f64 / f64::from(rate);
    Ok(())
}

fn load_worklet(
    ctx: &AudioContext,
    gain: &GainNode,
    slot: Rc<RefCell<Sink>>,
) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(WORKLET_JS));
    let bag = web_sys::BlobPropertyBag::new();
    bag.set_type("application/javascript");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &bag)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let promise = ctx.audio_worklet()?.add_module(&url)?;
    let slot2 = slot.clone();
    let ctx2 = ctx.clone();
    let gain2 = gain.clone();
    let ok = Closure::once(move |_: JsValue| {
        let _ = web_sys::Url::revoke_object_url(&url);
        let opts = AudioWorkletNodeOptions::new();
        opts.set_number_of_inputs(0);
        opts.set_output_channel_count(&js_sys::Array::of1(&JsValue::from(2)));
        let rate = f64::from(ctx2.sample_rate());
        let po = js_sys::Object::new();
        let _ = js_sys::Reflect::set(
            &po,
            &"start".into(),
            &JsValue::from((rate * START_MS / 1000.0).round()),
        );
        let _ = js_sys::Reflect::set(
            &po,
            &"max".into(),
            &JsValue::from((rate * MAX_MS / 1000.0).round()),
        );
        opts.set_processor_options(Some(&po));
        let node = AudioWorkletNode::new_with_options(&ctx2, "olive-sink", &opts)
            .and_then(|n| n.connect_with_audio_node(&gain2).map(|_| n));
        *slot.borrow_mut() = match node {
            Ok(node) => Sink::Worklet(node),
            Err(e) => {
                dom::log(&format!("audio worklet node failed, using buffers: {e:?}"));
                Sink::Buffers { next: 0.0 }
            }
        };
    });
    let fallback = slot2;
    let err = Closure::once(move |e: JsValue| {
        dom::log(&format!(
            "audio worklet failed to load, using buffers: {e:?}"
        ));
        *fallback.borrow_mut() = Sink::Buffers { next: 0.0 };
    });
    let _ = promise.then2(&ok, &err);
    ok.forget();
    err.forget();
    Ok(())
}

/// Installs `oliveAudioProbe` on `el`: returns the last [`PROBE_SAMPLES`] samples of
/// channel 0 as received (before resampling and the worklet), as a Float32Array.
/// The returned closure must be kept alive as long as the element may call it.
pub fn install_probe(
    el: &web_sys::Element,
    stats: Rc<RefCell<AudioStats>>,
) -> Closure<dyn Fn() -> js_sys::Float32Array> {
    let f = Closure::<dyn Fn() -> js_sys::Float32Array>::new(move || {
        let st = stats.borrow();
        let s = st.probe.as_ref().map(|p| p.recent()).unwrap_or(&[]);
        let a = js_sys::Float32Array::new_with_length(s.len() as u32);
        a.copy_from(s);
        a
    });
    let _ = js_sys::Reflect::set(el, &"oliveAudioProbe".into(), f.as_ref());
    f
}
