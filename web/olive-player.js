// <olive-player>: Olive's player as a custom element, for a portal's own pages and for the
// app's own item page: there is one player element, not two.
//
//   <script type="module" src="https://olive.example.org/olive-player.js"></script>
//   <olive-player item="doom" autoplay scale="fit"></olive-player>
//
// Written by hand because a custom element must be a JavaScript class extending
// HTMLElement, which wasm-bindgen cannot declare. It keeps the element's life cycle only:
// the player is the app's wasm (mountPlayer in web/src/embed/element.rs).
//
// Two ways in, one class (defineOlivePlayer below says where the wasm comes from):
// - A portal loads this file from the gateway, which puts `const OLIVE_ASSETS = {glue,
//   wasm, css}` (its build's hashed file names) in front of it when it serves
//   /olive-player.js. The module then defines the element at once, and the first element
//   to connect loads the wasm, once per page, from the gateway that served the module.
// - The app's page already runs the wasm (trunk's loader). wasm-bindgen imports this same
//   file into the app's glue as a snippet, without OLIVE_ASSETS, so nothing happens on
//   import; the app calls defineOlivePlayer from inside its initialised module
//   (web/src/embed/element.rs, `define`) and hands over its own mountPlayer. No second
//   copy of the wasm is ever instantiated, and an element mounts synchronously in
//   connectedCallback, inside the click that created it (the AudioContext needs that).
//
// Attributes: item (required), gateway (default: where this module came from), autoplay,
// scale (fit | whole | native), aspect (crt: the classic PC modes at 4:3 as on a CRT, the
// default; square: square pixels), view-only, token (a signed launch link's query,
// "expires=…&key=…&sig=…"), kiosk (the name of a gateway [[kiosk]] profile: the element
// then runs that kiosk — attract loop, idle reset, blocked keys, staff unlock — and needs
// no item).
// Events (bubbling, with `detail`): statechange {state, message}, progress {percent, text},
// error {message}, ended {state}.
// Methods: start(), stop(), reset(), fullscreen(), sendKeys([codes]), typeText(text);
// property `state`.

const here = import.meta.url;
let wasm = null;
// Where elements get the wasm from: {glue} (an initialised module's mountPlayer, used
// synchronously) or {load} (a promise of one), and the stylesheets for the shadow root.
let source = null;

// The portal's way: this module's own gateway's build, loaded on first use.
function loadPlayer() {
  if (!wasm) {
    wasm = import(new URL(OLIVE_ASSETS.glue, here).href).then(async (glue) => {
      await glue.default({ module_or_path: new URL(OLIVE_ASSETS.wasm, here).href });
      return glue;
    });
  }
  return wasm;
}

const HOST_CSS = `
  :host { display: block; contain: content; }
  :host([hidden]) { display: none; }
  .olive-embed { font: 16px/1.4 system-ui, sans-serif; }
`;

class OlivePlayer extends HTMLElement {
  static get observedAttributes() {
    return ["item", "gateway", "scale", "aspect", "view-only", "token", "kiosk"];
  }

  constructor() {
    super();
    this._shadow = this.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = HOST_CSS;
    this._shadow.appendChild(style);
    for (const href of source.css) {
      const link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = href;
      this._shadow.appendChild(link);
    }
    this._handle = null;
    this._queue = [];
  }

  connectedCallback() {
    if (this._handle || this._mounting) return;
    this._mounting = true;
    if (source.glue) {
      this._mount(source.glue);
      return;
    }
    source.load()
      .then((glue) => this._mount(glue))
      .catch((e) => this._fail(`The player could not be loaded: ${e && e.message ? e.message : e}`));
  }

  disconnectedCallback() {
    // Leaving the page (or removing the element) ends the session: the VM is destroyed.
    if (this._handle) {
      this._handle.stop();
      this._handle.free();
      this._handle = null;
      this._container.remove();
    }
    this._mounting = false;
  }

  attributeChangedCallback() {
    // A new item, gateway or token describes a different session: mount afresh.
    if (!this._handle) return;
    this.disconnectedCallback();
    if (this.isConnected) this.connectedCallback();
  }

  _mount(glue) {
    if (!this.isConnected || this._handle) return;
    this._container = document.createElement("div");
    this._container.className = "olive-embed";
    this._container.setAttribute("part", "player");
    this._shadow.appendChild(this._container);
    const gateway = this.getAttribute("gateway") || source.origin;
    try {
      this._handle = glue.mountPlayer(this._container, {
        item: this.getAttribute("item") || "",
        gateway,
        token: this.getAttribute("token") || "",
        scale: this.getAttribute("scale") || "",
        aspect: this.getAttribute("aspect") || "",
        viewOnly: this.hasAttribute("view-only"),
        kiosk: this.getAttribute("kiosk") || "",
      });
    } catch (e) {
      this._container.remove();
      this._fail(String(e));
      return;
    } finally {
      this._mounting = false;
    }
    const queued = this._queue;
    this._queue = [];
    for (const call of queued) call(this._handle);
    if (this.hasAttribute("autoplay")) this._handle.start();
  }

  _fail(message) {
    this._mounting = false;
    const p = document.createElement("p");
    p.setAttribute("role", "alert");
    p.textContent = message;
    this._shadow.appendChild(p);
    this.dispatchEvent(new CustomEvent("error", { detail: { message }, bubbles: true }));
  }

  // Calls made before the wasm is loaded wait for it.
  _call(f) {
    if (this._handle) return f(this._handle);
    this._queue.push(f);
    return undefined;
  }

  start() { this._call((h) => h.start()); }
  stop() { this._call((h) => h.stop()); }
  reset() { this._call((h) => h.reset()); }
  fullscreen() { this._call((h) => h.fullscreen()); }
  sendKeys(keys) { this._call((h) => h.sendKeys(Array.from(keys, String))); }
  typeText(text) { return this._call((h) => h.typeText(String(text))); }
  get state() { return this._handle ? this._handle.state() : "idle"; }
}

// Defines <olive-player> (once per page; false when it already was). `how`: {glue} or
// {load}, `css` (stylesheet URLs for the shadow root) and `origin` (the default gateway).
export function defineOlivePlayer(how) {
  if (customElements.get("olive-player")) return false;
  source = { css: [], origin: location.origin, ...how };
  customElements.define("olive-player", OlivePlayer);
  return true;
}

// Served by the gateway (OLIVE_ASSETS in front): a portal's page, define at once.
if (typeof OLIVE_ASSETS !== "undefined") {
  defineOlivePlayer({
    load: loadPlayer,
    css: OLIVE_ASSETS.css ? [new URL(OLIVE_ASSETS.css, here).href] : [],
    origin: new URL(here).origin,
  });
}
