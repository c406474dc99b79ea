//! One WebSocket carrying binary frames, with its handlers owned by the socket.
//!
//! The control connection and every SPICE channel use one of these. Handlers are plain
//! Rust closures; dropping the [`Socket`] detaches them before closing, so a late `close`
//! event of a socket we already gave up on never reaches the state machines (netx-proto's
//! client requires exactly that after `Action::Close`).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

/// An open (or opening) WebSocket.
pub(crate) struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

impl Socket {
    /// Opens `url`. `on_close` gets a reason in words; it runs once, for an error or a close.
    pub(crate) fn open(
        url: &str,
        mut on_open: impl FnMut() + 'static,
        mut on_data: impl FnMut(Vec<u8>) + 'static,
        on_close: impl FnMut(String) + 'static,
    ) -> Result<Socket, String> {
        let ws = WebSocket::new(url).map_err(|e| format!("cannot open {url}: {e:?}"))?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let on_close = std::rc::Rc::new(std::cell::RefCell::new(Some(on_close)));
        let fire = {
            let on_close = on_close.clone();
            move |reason: String| {
                // Take the closure out first: it may drop this very socket.
                let f = on_close.borrow_mut().take();
                if let Some(mut f) = f {
                    f(reason);
                }
            }
        };
        let fire2 = fire.clone();
        let open = Closure::<dyn FnMut(Event)>::new(move |_: Event| on_open());
        let message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let data = e.data();
            if let Some(buf) = data.dyn_ref::<js_sys::ArrayBuffer>() {
                on_data(js_sys::Uint8Array::new(buf).to_vec());
            } else if let Some(s) = data.as_string() {
                // The bridge only sends binary; text would be a misconfigured proxy.
                on_data(s.into_bytes());
            }
        });
        let fire_close = fire;
        let close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            let reason = if e.reason().is_empty() {
                format!("connection closed (code {})", e.code())
            } else {
                format!("connection closed: {}", e.reason())
            };
            fire_close(reason);
        });
        let fire_error = fire2;
        let error = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            fire_error("the connection failed".to_owned());
        });
        ws.set_onopen(Some(open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(error.as_ref().unchecked_ref()));
        Ok(Socket {
            ws,
            _on_open: open,
            _on_message: message,
            _on_close: close,
            _on_error: error,
        })
    }

    /// Sends binary bytes; false if the socket is not open (the close event will follow).
    pub(crate) fn send(&self, bytes: &[u8]) -> bool {
        self.ws.send_with_u8_array(bytes).is_ok()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        let _ = self.ws.close();
    }
}
