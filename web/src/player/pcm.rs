//! Audio sample handling that needs no Web Audio: S16 → f32 conversion, linear
//! resampling, the probe ring for tests, and the jitter-buffer policy.
//!
//! The jitter buffer itself runs inside the AudioWorklet (it must: only the audio thread
//! knows when samples are consumed). [`JitterBuffer`] is the same policy in Rust: it is
//! what the worklet source in `audio.rs` implements line for line, and it is what the
//! tests pin down.

/// Frames queued before playback starts (and restarts after an underrun): ~60 ms.
pub(crate) const START_MS: f64 = 60.0;
/// Beyond this much queued audio the oldest is dropped: ~300 ms, so latency stays bounded
/// when the network delivers a burst.
pub(crate) const MAX_MS: f64 = 300.0;

/// Converts interleaved S16 into per-channel f32 in [-1, 1).
pub(crate) fn deinterleave(samples: &[i16], channels: usize) -> Vec<Vec<f32>> {
    let channels = channels.max(1);
    let frames = samples.len() / channels;
    let mut out = vec![Vec::with_capacity(frames); channels];
    for frame in samples.chunks_exact(channels) {
        for (c, s) in frame.iter().enumerate() {
            out[c].push(f32::from(*s) / 32768.0);
        }
    }
    out
}

/// Streaming linear resampler for one channel. It keeps the fractional position and the
/// last input sample across chunks, so chunk boundaries do not click.
#[derive(Debug, Clone)]
pub(crate) struct Resampler {
    /// Input frames per output frame.
    step: f64,
    /// Position of the next output frame, relative to `last` (index -1) and the chunk.
    pos: f64,
    last: f32,
}

impl Resampler {
    /// From `from` Hz to `to` Hz.
    pub(crate) fn new(from: f64, to: f64) -> Self {
        Resampler {
            step: if to > 0.0 && from > 0.0 {
                from / to
            } else {
                1.0
            },
            pos: 0.0,
            last: 0.0,
        }
    }

    /// Whether it does anything.
    pub(crate) fn is_identity(&self) -> bool {
        (self.step - 1.0).abs() < 1e-9
    }

    /// Resamples a chunk.
    pub(crate) fn process(&mut self, input: &[f32]) -> Vec<f32> {
        if self.is_identity() {
            return input.to_vec();
        }
        let mut out = Vec::with_capacity((input.len() as f64 / self.step) as usize + 2);
        // Sample at index i: i == -1 is `last`, 0.. is input.
        let at = |i: isize, last: f32| -> f32 {
            if i < 0 {
                last
            } else {
                input[i as usize]
            }
        };
        let n = input.len() as f64;
        // pos is measured with 0 == `last`, 1 == input[0].
        while self.pos < n {
            let i = self.pos.floor();
            let frac = (self.pos - i) as f32;
            let a = at(i as isize - 1, self.last);
            let b = at(i as isize, self.last);
            out.push(a + (b - a) * frac);
            self.pos += self.step;
        }
        self.pos -= n;
        if let Some(&l) = input.last() {
            self.last = l;
        }
        out
    }
}

/// The last `cap` samples of channel 0, for `oliveAudioProbe`.
#[derive(Debug, Clone)]
pub(crate) struct ProbeRing {
    buf: Vec<f32>,
    cap: usize,
}

impl ProbeRing {
    /// Keeps at most `cap` samples.
    pub(crate) fn new(cap: usize) -> Self {
        ProbeRing {
            buf: Vec::with_capacity(cap * 2),
            cap,
        }
    }

    /// Appends samples, forgetting the oldest.
    pub(crate) fn push(&mut self, s: &[f32]) {
        self.buf.extend_from_slice(s);
        if self.buf.len() > self.cap * 2 {
            let cut = self.buf.len() - self.cap;
            self.buf.drain(..cut);
        }
    }

    /// The most recent samples, oldest first.
    pub(crate) fn recent(&self) -> &[f32] {
        let n = self.buf.len();
        &self.buf[n.saturating_sub(self.cap)..]
    }
}

/// The worklet's queue policy, frame-counted (see module docs).
#[derive(Debug, Clone)]
pub(crate) struct JitterBuffer {
    queue: std::collections::VecDeque<f32>,
    start_frames: usize,
    max_frames: usize,
    playing: bool,
    /// Frames dropped because the queue overflowed.
    pub(crate) dropped: u64,
    /// Times playback ran dry.
    pub(crate) underruns: u64,
}

#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "the executable spec of the worklet's JS queue (see the module docs): only the tests run it"
    )
)]
impl JitterBuffer {
    /// For one channel at `rate` Hz.
    pub(crate) fn new(rate: f64) -> Self {
        JitterBuffer {
            queue: Default::default(),
            start_frames: (rate * START_MS / 1000.0) as usize,
            max_frames: (rate * MAX_MS / 1000.0) as usize,
            playing: false,
            dropped: 0,
            underruns: 0,
        }
    }

    /// Queues samples, dropping the oldest beyond the cap.
    pub(crate) fn push(&mut self, s: &[f32]) {
        self.queue.extend(s.iter().copied());
        if self.queue.len() > self.max_frames {
            let extra = self.queue.len() - self.max_frames;
            self.queue.drain(..extra);
            self.dropped += extra as u64;
        }
    }

    /// Fills one render quantum; silence while priming or after running dry.
    pub(crate) fn pull(&mut self, out: &mut [f32]) {
        if !self.playing && self.queue.len() >= self.start_frames {
            self.playing = true;
        }
        if !self.playing {
            out.fill(0.0);
            return;
        }
        for o in out.iter_mut() {
            *o = self.queue.pop_front().unwrap_or(0.0);
        }
        if self.queue.is_empty() {
            self.playing = false;
            self.underruns += 1;
        }
    }

    /// Frames queued.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deinterleaves_and_scales() {
        let c = deinterleave(&[0, 16384, -32768, 32767, 5], 2);
        assert_eq!(c[0], vec![0.0, -1.0]);
        assert_eq!(c[1], vec![0.5, 32767.0 / 32768.0]);
    }

    #[test]
    fn identity_resampler_passes_through() {
        let mut r = Resampler::new(48000.0, 48000.0);
        assert!(r.is_identity());
        assert_eq!(r.process(&[0.1, 0.2]), vec![0.1, 0.2]);
    }

    #[test]
    fn resampler_lengths_and_continuity() {
        let mut r = Resampler::new(48000.0, 44100.0);
        let input: Vec<f32> = (0..4800).map(|i| i as f32).collect();
        let mut out = Vec::new();
        for chunk in input.chunks(480) {
            out.extend(r.process(chunk));
        }
        // 0.1 s in → ~4410 out, monotonic ramp with steps of 48000/44100.
        assert!((out.len() as i64 - 4410).abs() <= 1, "{}", out.len());
        for w in out.windows(2).skip(1) {
            let d = w[1] - w[0];
            assert!((d - 48000.0 / 44100.0).abs() < 1e-3, "{d}");
        }
        // Upsampling doubles.
        let mut up = Resampler::new(24000.0, 48000.0);
        let o = up.process(&[0.0, 1.0, 2.0, 3.0]);
        assert_eq!(o.len(), 8);
        assert_eq!(&o[2..], &[0.0, 0.5, 1.0, 1.5, 2.0, 2.5]);
    }

    #[test]
    fn probe_keeps_recent() {
        let mut p = ProbeRing::new(4);
        p.push(&[1.0, 2.0, 3.0]);
        assert_eq!(p.recent(), &[1.0, 2.0, 3.0]);
        for i in 0..20 {
            p.push(&[i as f32]);
        }
        assert_eq!(p.recent(), &[16.0, 17.0, 18.0, 19.0]);
    }

    #[test]
    fn jitter_primes_then_plays_and_caps() {
        let mut j = JitterBuffer::new(48000.0); // start 2880, max 14400
        let mut q = [1.0f32; 128];
        j.push(&vec![0.5; 2000]);
        j.pull(&mut q);
        assert!(q.iter().all(|&s| s == 0.0), "still priming");
        j.push(&vec![0.5; 1000]);
        j.pull(&mut q);
        assert!(q.iter().all(|&s| s == 0.5));
        assert_eq!(j.len(), 3000 - 128);
        j.push(&vec![0.25; 20000]);
        assert_eq!(j.len(), 14400);
        assert!(j.dropped > 0);
        // Drain to underrun, then it primes again.
        while !j.is_empty() {
            j.pull(&mut q);
        }
        assert_eq!(j.underruns, 1);
        j.push(&[0.9; 100]);
        j.pull(&mut q);
        assert!(q.iter().all(|&s| s == 0.0));
    }
}
