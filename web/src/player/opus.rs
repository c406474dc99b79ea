//! Opus playback through WebCodecs.
//!
//! Opus cuts the sound stream from ~1.5 Mbit/s (raw PCM) to ~100 kbit/s, which matters on a
//! museum visitor's home link. We ask the server for it only where the browser's own
//! `AudioDecoder` says it can decode 48 kHz stereo Opus; elsewhere the session stays on
//! raw PCM. web-sys's WebCodecs bindings are unstable, so the calls go through `Reflect`.

use js_sys::{Function, Object, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

const RATE: f64 = 48_000.0;
const CHANNELS: f64 = 2.0;

fn config() -> Result<Object, JsValue> {
    let c = Object::new();
    Reflect::set(&c, &"codec".into(), &"opus".into())?;
    Reflect::set(&c, &"sampleRate".into(), &RATE.into())?;
    Reflect::set(&c, &"numberOfChannels".into(), &CHANNELS.into())?;
    Ok(c)
}

fn audio_decoder_class() -> Option<Function> {
    let global = js_sys::global();
    Reflect::get(&global, &"AudioDecoder".into())
        .ok()
        .and_then(|v| v.dyn_into::<Function>().ok())
}

/// Whether this browser decodes the Opus stream SPICE sends.
pub(crate) async fn supported() -> bool {
    let Some(class) = audio_decoder_class() else {
        return false;
    };
    let Ok(check) = Reflect::get(&class, &"isConfigSupported".into()) else {
        return false;
    };
    let Ok(check) = check.dyn_into::<Function>() else {
        return false;
    };
    let Ok(cfg) = config() else { return false };
    let Ok(promise) = check.call1(&class, &cfg) else {
        return false;
    };
    let Ok(promise) = promise.dyn_into::<js_sys::Promise>() else {
        return false;
    };
    match wasm_bindgen_futures::JsFuture::from(promise).await {
        Ok(result) => Reflect::get(&result, &"supported".into())
            .map(|v| v.as_bool() == Some(true))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// A configured WebCodecs decoder; decoded audio goes to `on_output` as planar f32.
pub(crate) struct OpusDecoder {
    decoder: JsValue,
    decode: Function,
    chunk_class: Function,
    _output: Closure<dyn FnMut(JsValue)>,
    _error: Closure<dyn FnMut(JsValue)>,
}

impl OpusDecoder {
    /// Configures a WebCodecs `AudioDecoder` for Opus. Decoding is asynchronous, so both
    /// outcomes come back through callbacks: `on_output` gets the decoded chunks, and
    /// `on_error` a failure after construction, after which the decoder is unusable.
    pub(crate) fn new(
        mut on_output: impl FnMut(Vec<Vec<f32>>) + 'static,
        mut on_error: impl FnMut(String) + 'static,
    ) -> Result<OpusDecoder, JsValue> {
        let class = audio_decoder_class().ok_or("no AudioDecoder")?;
        let output = Closure::<dyn FnMut(JsValue)>::new(move |data: JsValue| {
            if let Ok(chans) = planar(&data) {
                on_output(chans);
            }
            if let Ok(close) = Reflect::get(&data, &"close".into()) {
                if let Ok(close) = close.dyn_into::<Function>() {
                    let _ = close.call0(&data);
                }
            }
        });
        let error = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
            on_error(format!("{e:?}"));
        });
        let init = Object::new();
        Reflect::set(&init, &"output".into(), output.as_ref())?;
        Reflect::set(&init, &"error".into(), error.as_ref())?;
        let decoder = Reflect::construct(&class, &js_sys::Array::of1(&init))?;
        let configure: Function = Reflect::get(&decoder, &"configure".into())?.dyn_into()?;
        let cfg: JsValue = config()?.into();
        configure.call1(&decoder, &cfg)?;
        let decode: Function = Reflect::get(&decoder, &"decode".into())?.dyn_into()?;
        let chunk_class: Function =
            Reflect::get(&js_sys::global(), &"EncodedAudioChunk".into())?.dyn_into()?;
        Ok(OpusDecoder {
            decoder,
            decode,
            chunk_class,
            _output: output,
            _error: error,
        })
    }

    /// Queues one Opus packet; `time_ms` is the server's multimedia time.
    pub(crate) fn decode(&self, packet: &[u8], time_ms: u32) -> Result<(), JsValue> {
        let init = Object::new();
        Reflect::set(&init, &"type".into(), &"key".into())?;
        Reflect::set(
            &init,
            &"timestamp".into(),
            &(f64::from(time_ms) * 1000.0).into(),
        )?;
        Reflect::set(&init, &"data".into(), &Uint8Array::from(packet))?;
        let chunk = Reflect::construct(&self.chunk_class, &js_sys::Array::of1(&init))?;
        self.decode.call1(&self.decoder, &chunk)?;
        Ok(())
    }
}

impl Drop for OpusDecoder {
    fn drop(&mut self) {
        if let Ok(close) = Reflect::get(&self.decoder, &"close".into()) {
            if let Ok(close) = close.dyn_into::<Function>() {
                let _ = close.call0(&self.decoder);
            }
        }
    }
}

/// Copies an `AudioData` out as one f32 vector per channel.
fn planar(data: &JsValue) -> Result<Vec<Vec<f32>>, JsValue> {
    let frames = Reflect::get(data, &"numberOfFrames".into())?
        .as_f64()
        .unwrap_or(0.0) as u32;
    let channels = Reflect::get(data, &"numberOfChannels".into())?
        .as_f64()
        .unwrap_or(0.0) as u32;
    let copy_to: Function = Reflect::get(data, &"copyTo".into())?.dyn_into()?;
    let mut out = Vec::with_capacity(channels as usize);
    for plane in 0..channels.min(8) {
        let buf = js_sys::Float32Array::new_with_length(frames);
        let opts = Object::new();
        Reflect::set(&opts, &"planeIndex".into(), &plane.into())?;
        Reflect::set(&opts, &"format".into(), &"f32-planar".into())?;
        copy_to.call2(data, &buf, &opts)?;
        out.push(buf.to_vec());
    }
    Ok(out)
}
