// Border Therapy Services chat widget: one <script> tag gives a launcher button and a chat panel
// that talks to the Rasa socket.io channel. See widget/README.md for the embed snippet.
//
// Safety rule for this file: message content only ever reaches the page through textContent,
// createTextNode or the DOM-built markdown subset in markdown.js. No innerHTML, no inline styles
// (only CSSOM), so the widget runs under a strict Content-Security-Policy with Trusted Types.

import { io } from "socket.io-client";
import { palette } from "./color.js";
import { languageOf, translator } from "./i18n.js";
import { renderMarkdown, safeHref } from "./markdown.js";
import { Store, emptyState, randomId } from "./store.js";

/* global __BTS_CSS__, __BTS_VERSION__ */
const CSS_FILE = __BTS_CSS__;
const VERSION = __BTS_VERSION__;

// Same limit as components/text.py MAX_MESSAGE_CHARS: longer text would be cut for NLU anyway.
const MAX_CHARS = 1000;
const COUNTER_FROM = 100; // show "N characters left" below this many
const FOREIGN_WAIT_MS = 1200; // see onBotMessage: how long a non-owner tab waits for the owner
const WAITING_MAX_MS = 60000; // typing indicator gives up after this long without a reply
const SMALL_SCREEN = "(max-width: 480px)";
const SVG_NS = "http://www.w3.org/2000/svg";

const ICONS = {
  chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
  close: "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z",
  send: "M3 20.5v-6.2l9-2.3-9-2.3V3.5L22 12z",
};

function currentScript() {
  return (
    document.currentScript ||
    document.querySelector('script[data-server][src*="bts-chat"]') ||
    document.querySelector("script[data-bts-chat]")
  );
}

function readConfig(script) {
  const data = script.dataset;
  const lang = languageOf(data.lang || document.documentElement.lang || "en");
  const t = translator(lang);
  const title = (data.title || "Border Therapy Services").slice(0, 80);
  let server;
  try {
    server = new URL(data.server || "", window.location.href);
  } catch (_) {
    server = null;
  }
  return {
    server: server ? server.origin : null,
    path: data.socketPath || "/socket.io",
    title,
    lang,
    t,
    color: data.color || "#0b5d7a",
    greeting: (data.greeting || t("greeting", { title })).slice(0, 1000),
    position: data.position === "left" ? "left" : "right",
    suggestions: (data.suggestions || "")
      .split("|")
      .map((s) => s.trim())
      .filter(Boolean)
      .slice(0, 6),
    historyMs: Math.max(1, Number(data.historyHours) || 24) * 3600 * 1000,
    cssUrl: new URL(CSS_FILE, script.src || window.location.href).href,
  };
}

/** Tiny DOM builder: properties and attributes only, children as nodes or plain text. */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === false || value == null) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child == null || child === false) continue;
    el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return el;
}

function icon(name) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", `i-${name}`);
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name]);
  svg.appendChild(path);
  return svg;
}

function tabIdentity() {
  // sessionStorage survives a reload of the same tab, so a reloaded tab still owns its turn.
  try {
    let id = window.sessionStorage.getItem("bts-chat-tab");
    if (!id) {
      id = randomId(6);
      window.sessionStorage.setItem("bts-chat-tab", id);
    }
    return id;
  } catch (_) {
    return randomId(6);
  }
}

class ChatWidget {
  constructor(config) {
    this.cfg = config;
    this.t = config.t;
    this.tabId = tabIdentity();
    this.store = new Store(`bts-chat:v1:${config.server}`, config.historyMs);
    this.state = this.store.load();
    this.socket = null;
    this.ready = false; // connected and session confirmed
    this.everConnected = false;
    this.conn = "idle"; // idle | connecting | online | reconnecting
    this.inFlight = new Map(); // message id -> true, waiting for the server's ack
    this.foreign = []; // bot messages seen by this tab while another tab owns the turn
    this.rendered = new Map(); // message id -> {el, sig}
    this.renderedOrder = [];
    this.unread = 0;
    this.isOpen = false;
    this.savedOverflow = null;
    this.waitingTimer = 0;
    this.build();
    this.store.subscribe((state) => this.onStorage(state));
    this.sync(false);
    // A conversation in progress reconnects at once, so replies and the unread badge work
    // while the panel is closed. A first visit connects only when the patient opens the chat.
    if (this.state.messages.some((m) => m.from === "user")) this.connect();
    window.addEventListener("pagehide", () => this.releaseQueued());
  }

  // ---------------------------------------------------------------- view

  build() {
    const { t, cfg } = this;
    this.host = h("div", { id: "bts-chat", "data-version": VERSION });
    this.host.hidden = true; // until the stylesheet has loaded: no flash of unstyled widget
    const root = this.host.attachShadow({ mode: "open" });
    this.root = root;
    const colours = palette(cfg.color);
    for (const [name, value] of Object.entries(colours)) this.host.style.setProperty(name, value);

    const link = h("link", { rel: "stylesheet", href: cfg.cssUrl });
    const reveal = () => {
      this.host.hidden = false;
    };
    link.addEventListener("load", reveal);
    link.addEventListener("error", reveal);

    this.badge = h("span", { class: "badge", "aria-hidden": "true", hidden: true });
    this.launcher = h(
      "button",
      {
        class: "launcher",
        type: "button",
        "aria-expanded": "false",
        "aria-controls": "bts-panel",
        onclick: () => (this.isOpen ? this.close() : this.open()),
      },
      icon("chat"),
      icon("close"),
      this.badge,
    );

    this.titleEl = h("h2", { id: "bts-title", class: "title", text: cfg.title });
    this.restartBtn = h("button", {
      class: "text-btn",
      type: "button",
      text: t("startOver"),
      "aria-label": t("startOverLabel"),
      onclick: () => this.startOver(),
    });
    this.closeBtn = h(
      "button",
      { class: "icon-btn", type: "button", "aria-label": t("close"), onclick: () => this.close() },
      icon("close"),
    );
    this.banner = h("p", { class: "banner", role: "status" });
    this.list = h("ol", { class: "messages" });
    this.log = h(
      "section",
      { class: "log", tabindex: "0", "aria-label": t("conversation") },
      this.list,
    );
    this.typing = h(
      "div",
      { class: "typing", hidden: true },
      h("span", { class: "dot", "aria-hidden": "true" }),
      h("span", { class: "dot", "aria-hidden": "true" }),
      h("span", { class: "dot", "aria-hidden": "true" }),
      h("span", { class: "sr-only", text: t("typing") }),
    );
    this.input = h("textarea", {
      id: "bts-input",
      class: "input",
      rows: "1",
      maxlength: String(MAX_CHARS),
      placeholder: t("placeholder"),
      "aria-describedby": "bts-counter",
      autocomplete: "off",
    });
    this.counter = h("span", { id: "bts-counter", class: "counter" });
    this.sendBtn = h(
      "button",
      { class: "send", type: "submit", "aria-label": t("send") },
      icon("send"),
    );
    this.form = h(
      "form",
      { class: "composer", onsubmit: (e) => this.onSubmit(e) },
      h("label", { class: "sr-only", for: "bts-input", text: t("inputLabel") }),
      this.input,
      this.sendBtn,
    );
    this.live = h("div", { class: "sr-only", "aria-live": "polite", "aria-atomic": "false" });
    this.panel = h(
      "section",
      {
        id: "bts-panel",
        class: "panel",
        role: "dialog",
        "aria-labelledby": "bts-title",
        "aria-modal": "false",
        hidden: true,
      },
      h(
        "div",
        { class: "header" },
        this.titleEl,
        h("div", { class: "actions" }, this.restartBtn, this.closeBtn),
      ),
      this.banner,
      this.log,
      this.typing,
      this.form,
      h("p", { class: "footnote" }, this.counter, h("span", { text: t("disclaimer") })),
      this.live,
    );
    this.wrapper = h(
      "div",
      { class: `bts bts--${cfg.position}`, lang: cfg.lang, dir: "ltr" },
      this.launcher,
      this.panel,
    );
    root.append(link, this.wrapper);

    this.input.addEventListener("keydown", (e) => this.onInputKey(e));
    this.input.addEventListener("input", () => this.onInput());
    this.panel.addEventListener("keydown", (e) => this.onPanelKey(e));
    this.small = window.matchMedia(SMALL_SCREEN);
    const onMedia = () => this.applyScreenMode();
    if (this.small.addEventListener) this.small.addEventListener("change", onMedia);
    else if (this.small.addListener) this.small.addListener(onMedia);
    this.updateLauncher();
    this.updateBanner();
    document.body.appendChild(this.host);
  }

  updateLauncher() {
    const { t, cfg } = this;
    const label =
      this.unread > 0
        ? t("openUnread", { title: cfg.title, count: this.unread })
        : t("open", { title: cfg.title });
    this.launcher.setAttribute("aria-label", this.isOpen ? t("close") : label);
    this.launcher.setAttribute("aria-expanded", String(this.isOpen));
    this.badge.textContent = this.unread > 9 ? "9+" : String(this.unread);
    this.badge.hidden = this.unread === 0;
  }

  updateBanner() {
    const { t } = this;
    let text = "";
    if (this.conn === "reconnecting") text = navigator.onLine === false ? t("offline") : t("reconnecting");
    else if (this.conn === "connecting") text = t("connecting");
    if (this.banner.textContent !== text) this.banner.textContent = text;
    this.banner.hidden = !text;
    this.wrapper.dataset.connection = this.conn;
  }

  messageSignature(m) {
    return `${m.status || ""}|${m.used ? 1 : 0}|${m.chosen ?? ""}`;
  }

  buildMessage(m) {
    const { t } = this;
    const mine = m.from === "user";
    const bubble = h("div", { class: "bubble" });
    if (mine) bubble.textContent = m.text;
    else bubble.appendChild(renderMarkdown(m.text || "", document, { newTabLabel: t("newTab") }));
    if (!mine && m.image) {
      const href = safeHref(m.image);
      if (href) {
        bubble.appendChild(
          h("a", { href, target: "_blank", rel: "noopener noreferrer nofollow", text: t("image") }),
        );
      }
    }
    const when = new Date(m.ts || Date.now());
    const sameDay = when.toDateString() === new Date().toDateString();
    const fmt = new Intl.DateTimeFormat(this.cfg.lang, sameDay
      ? { hour: "numeric", minute: "2-digit" }
      : { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
    const meta = h("div", { class: "meta" }, h("time", { datetime: when.toISOString(), text: fmt.format(when) }));
    if (m.status === "queued") meta.appendChild(h("span", { class: "state", text: t("queued") }));
    if (m.status === "unconfirmed") {
      meta.append(
        h("span", { class: "state", text: t("unconfirmed") }),
        h("button", { class: "link-btn", type: "button", text: t("retry"), onclick: () => this.retry(m.id) }),
      );
    }
    const li = h(
      "li",
      { class: `msg msg--${mine ? "user" : "bot"}`, "data-id": m.id },
      h("span", { class: "sr-only", text: mine ? t("you") : t("bot") }),
      bubble,
      meta,
    );
    if (!mine && m.quick && m.quick.length) {
      const group = h("div", { class: "quick", role: "group", "aria-label": t("suggested") });
      m.quick.forEach((reply, index) => {
        group.appendChild(
          h("button", {
            type: "button",
            class: `quick-btn${m.chosen === index ? " is-chosen" : ""}`,
            text: reply.title,
            disabled: Boolean(m.used),
            "aria-pressed": m.used ? String(m.chosen === index) : false,
            onclick: () => this.choose(m.id, index),
          }),
        );
      });
      li.appendChild(group);
    }
    return li;
  }

  /** Renders `this.state` into the panel; `announce` reads out new bot messages. */
  sync(announce = true) {
    const messages = this.state.messages;
    const ids = messages.map((m) => m.id);
    const isPrefix = this.renderedOrder.every((id, i) => ids[i] === id);
    if (!isPrefix) {
      this.list.replaceChildren();
      this.rendered.clear();
      this.renderedOrder = [];
    }
    let added = false;
    const fresh = [];
    for (const m of messages) {
      const known = this.rendered.get(m.id);
      const sig = this.messageSignature(m);
      if (!known) {
        const el = this.buildMessage(m);
        this.list.appendChild(el);
        this.rendered.set(m.id, { el, sig });
        this.renderedOrder.push(m.id);
        added = true;
        if (m.from === "bot") fresh.push(m);
      } else if (known.sig !== sig) {
        const el = this.buildMessage(m);
        known.el.replaceWith(el);
        this.rendered.set(m.id, { el, sig });
      }
    }
    if (added) this.scrollToEnd();
    if (announce && fresh.length) this.announce(fresh);
    this.updateTyping();
  }

  announce(messages) {
    if (!this.isOpen) {
      this.unread += messages.length;
      this.updateLauncher();
      this.live.replaceChildren(h("p", { text: this.t("newMessage") }));
      return;
    }
    // Append, then clear a little later: screen readers read each addition once.
    for (const m of messages) this.live.appendChild(h("p", { text: `${this.t("bot")} ${m.text}` }));
    window.clearTimeout(this.liveTimer);
    this.liveTimer = window.setTimeout(() => this.live.replaceChildren(), 8000);
  }

  updateTyping() {
    const since = this.state.waitingSince || 0;
    const age = Date.now() - since;
    const waiting = this.inFlight.size > 0 || (since > 0 && age < WAITING_MAX_MS);
    const show = waiting && this.conn !== "reconnecting";
    if (this.typing.hidden === show) {
      this.typing.hidden = !show;
      if (show) this.scrollToEnd();
    }
    window.clearTimeout(this.waitingTimer);
    if (since > 0 && age < WAITING_MAX_MS) {
      this.waitingTimer = window.setTimeout(() => this.updateTyping(), WAITING_MAX_MS - age + 50);
    }
  }

  scrollToEnd() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  applyScreenMode() {
    const full = this.isOpen && this.small.matches;
    this.panel.setAttribute("aria-modal", String(full));
    this.wrapper.classList.toggle("is-full", full);
    const rootStyle = document.documentElement.style;
    if (full && this.savedOverflow === null) {
      this.savedOverflow = rootStyle.overflow;
      rootStyle.overflow = "hidden"; // CSSOM, allowed by a CSP without 'unsafe-inline'
    } else if (!full && this.savedOverflow !== null) {
      rootStyle.overflow = this.savedOverflow;
      this.savedOverflow = null;
    }
  }

  // ---------------------------------------------------------------- open / close

  open() {
    if (this.isOpen) return;
    this.isOpen = true;
    this.state = this.store.load();
    if (this.state.messages.length === 0) this.addGreeting();
    this.sync(false);
    this.panel.hidden = false;
    this.wrapper.classList.add("is-open");
    this.unread = 0;
    this.updateLauncher();
    this.applyScreenMode();
    this.scrollToEnd();
    this.input.focus({ preventScroll: true });
    this.connect();
  }

  close() {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.panel.hidden = true;
    this.wrapper.classList.remove("is-open");
    this.applyScreenMode();
    this.updateLauncher();
    this.launcher.focus({ preventScroll: true });
  }

  addGreeting() {
    const quick = this.cfg.suggestions.map((s) => ({ title: s, payload: s }));
    this.state = this.store.update((state) => {
      if (state.messages.length > 0) return; // another tab was quicker
      state.messages.push({ id: randomId(), from: "bot", text: this.cfg.greeting, ts: Date.now(), quick, local: true });
    });
  }

  startOver() {
    this.foreign = [];
    this.inFlight.clear();
    this.store.clear();
    this.state = emptyState();
    this.state.sessionId = randomId(16);
    this.store.save(this.state);
    this.addGreeting();
    this.sync(false);
    this.input.value = "";
    this.onInput();
    if (this.socket) this.rejoin(); // a new socket joins only the new session's room
    this.input.focus();
  }

  // ---------------------------------------------------------------- input

  onInputKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.form.requestSubmit ? this.form.requestSubmit() : this.onSubmit(event);
    }
  }

  onInput() {
    const input = this.input;
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 140)}px`;
    const left = MAX_CHARS - input.value.length;
    this.counter.textContent = left <= COUNTER_FROM ? `${this.t("charsLeft", { count: left })}. ` : "";
  }

  onSubmit(event) {
    event.preventDefault();
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = "";
    this.onInput();
    this.send(text);
  }

  onPanelKey(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      this.close();
      return;
    }
    if (event.key !== "Tab" || this.panel.getAttribute("aria-modal") !== "true") return;
    // Full screen is modal: keep Tab inside the panel.
    const focusables = Array.from(
      this.panel.querySelectorAll("button:not([disabled]), textarea, a[href], [tabindex='0']"),
    ).filter((el) => el.getClientRects().length > 0);
    if (!focusables.length) return;
    const first = focusables[0];
    const last = focusables[focusables.length - 1];
    const active = this.root.activeElement;
    if (event.shiftKey && active === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && active === last) {
      event.preventDefault();
      first.focus();
    }
  }

  choose(messageId, index) {
    const m = this.state.messages.find((x) => x.id === messageId);
    if (!m || m.used || !m.quick || !m.quick[index]) return;
    const reply = m.quick[index];
    this.send(reply.payload, reply.title, { messageId, index });
    this.input.focus();
  }

  send(payload, shown, chosen) {
    const text = String(payload).slice(0, MAX_CHARS);
    const message = {
      id: randomId(),
      from: "user",
      text: String(shown ?? text).slice(0, MAX_CHARS),
      ts: Date.now(),
      status: this.ready ? "sent" : "queued",
      tab: this.tabId,
    };
    if (text !== message.text) message.payload = text;
    this.state = this.store.update((state) => {
      for (const m of state.messages) {
        if (m.from === "bot" && m.quick && m.quick.length && !m.used) {
          m.used = true;
          if (chosen && m.id === chosen.messageId) m.chosen = chosen.index;
        }
      }
      state.messages.push(message);
      state.owner = this.tabId;
      state.waitingSince = Date.now();
    });
    this.sync(false);
    if (this.ready) this.transmit(message);
    else this.connect();
  }

  retry(messageId) {
    this.state = this.store.update((state) => {
      const m = state.messages.find((x) => x.id === messageId);
      if (m) {
        m.status = this.ready ? "sent" : "queued";
        m.tab = this.tabId;
      }
      state.owner = this.tabId;
      state.waitingSince = Date.now();
    });
    this.sync(false);
    const m = this.state.messages.find((x) => x.id === messageId);
    if (m && this.ready) this.transmit(m);
    else this.connect();
  }

  transmit(message) {
    this.inFlight.set(message.id, true);
    this.updateTyping();
    // Rasa's handler returns after the whole turn, so the ack means "all replies sent".
    this.socket.emit(
      "user_uttered",
      { message: message.payload ?? message.text, session_id: this.joined || this.state.sessionId },
      () => this.onAck(message.id),
    );
  }

  onAck(messageId) {
    if (!this.inFlight.delete(messageId)) return;
    if (this.inFlight.size === 0) {
      this.state = this.store.update((state) => {
        if (state.owner === this.tabId) state.waitingSince = 0;
      });
    }
    this.flushForeign(true);
    this.sync();
  }

  releaseQueued() {
    // Leaving the page: hand queued messages to whichever tab connects next.
    const mine = this.state.messages.some((m) => m.status === "queued" && m.tab === this.tabId);
    if (!mine) return;
    this.store.update((state) => {
      for (const m of state.messages) if (m.status === "queued" && m.tab === this.tabId) m.tab = null;
    });
  }

  // ---------------------------------------------------------------- connection

  setConn(conn) {
    this.conn = conn;
    this.updateBanner();
    this.updateTyping();
  }

  /** The session id, made here if there is none yet (32 hex digits, like Rasa's own). */
  ensureSession() {
    if (!this.state.sessionId) {
      this.state = this.store.update((state) => {
        if (!state.sessionId) state.sessionId = randomId(16);
      });
    }
    return this.state.sessionId;
  }

  /** Reconnects with the stored session id (after "start over", here or in another tab). */
  rejoin() {
    this.ready = false;
    this.joined = null;
    this.socket.io.opts.query = { bts_session: this.ensureSession() };
    this.socket.disconnect();
    this.socket.connect();
    this.setConn("connecting");
  }

  connect() {
    if (this.socket || !this.cfg.server) return;
    this.setConn("connecting");
    const socket = io(this.cfg.server, {
      path: this.cfg.path,
      // Lets a load balancer send every connection of one conversation to the same Rasa
      // replica (deploy/nginx.conf.template hashes on it); ignored by Rasa itself.
      query: { bts_session: this.ensureSession() },
      // WebSocket first (no CORS preflight, one round trip less); long-polling if it is blocked.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      timeout: 10000,
      withCredentials: false,
    });
    this.socket = socket;
    // If WebSocket does not get through (a proxy or firewall), the next attempts start with
    // long-polling and upgrade when they can. Polling needs Rasa's `--cors` for this page.
    socket.io.on("reconnect_attempt", (attempt) => {
      if (!this.everConnected || attempt > 1) socket.io.opts.transports = ["polling", "websocket"];
    });
    socket.on("connect", () => {
      this.everConnected = true;
      this.state = this.store.load();
      this.requested = this.ensureSession();
      socket.emit("session_request", { session_id: this.requested });
    });
    socket.on("session_confirm", (data) => this.onSessionConfirm(data));
    socket.on("bot_uttered", (data) => this.onBotMessage(data));
    socket.on("disconnect", (reason) => {
      this.ready = false;
      this.markUnconfirmed();
      this.setConn(reason === "io client disconnect" ? "connecting" : "reconnecting");
    });
    socket.on("connect_error", () => {
      this.ready = false;
      this.setConn(this.everConnected ? "reconnecting" : "connecting");
      if (!this.everConnected) {
        window.clearTimeout(this.slowTimer);
        this.slowTimer = window.setTimeout(() => !this.ready && this.setConn("reconnecting"), 4000);
      }
    });
  }

  onSessionConfirm(data) {
    const id = typeof data === "string" ? data : data && data.session_id;
    if (!id) return;
    this.state = this.store.load();
    if (this.state.sessionId && this.state.sessionId !== this.requested) {
      this.rejoin(); // another tab moved to a new session meanwhile
      return;
    }
    if (this.state.sessionId !== id) {
      // The server did not accept the id we proposed and made its own: use that one.
      this.state = this.store.update((state) => {
        state.sessionId = id;
      });
    }
    this.joined = id;
    this.ready = true;
    window.clearTimeout(this.slowTimer);
    this.setConn("online");
    this.flushQueue();
  }

  flushQueue() {
    const toSend = [];
    this.state = this.store.update((state) => {
      for (const m of state.messages) {
        if (m.status === "queued" && (m.tab === this.tabId || !m.tab)) {
          m.status = "sent";
          m.tab = this.tabId;
          toSend.push(m);
        }
      }
      if (toSend.length) {
        state.owner = this.tabId;
        state.waitingSince = Date.now();
      }
    });
    this.sync(false);
    toSend.forEach((m) => this.transmit(m));
  }

  markUnconfirmed() {
    if (!this.inFlight.size) return;
    const ids = new Set(this.inFlight.keys());
    this.inFlight.clear();
    this.state = this.store.update((state) => {
      for (const m of state.messages) if (ids.has(m.id)) m.status = "unconfirmed";
      if (state.owner === this.tabId) state.waitingSince = 0;
    });
    this.sync(false);
  }

  normalize(data) {
    if (!data || typeof data !== "object") return null;
    const text = typeof data.text === "string" ? data.text.slice(0, 5000) : "";
    const source = Array.isArray(data.quick_replies) ? data.quick_replies : Array.isArray(data.buttons) ? data.buttons : [];
    const quick = source
      .filter((b) => b && typeof b.title === "string" && b.title.trim())
      .slice(0, 10)
      .map((b) => ({
        title: b.title.slice(0, 80),
        payload: typeof b.payload === "string" && b.payload ? b.payload.slice(0, MAX_CHARS) : b.title,
      }));
    let image = null;
    const attachment = data.attachment;
    if (attachment && attachment.type === "image" && attachment.payload) {
      const href = safeHref(attachment.payload.src);
      image = href && href.startsWith("http") ? href : null; // shown as a link, never loaded
    }
    if (!text && !quick.length && !image) return null;
    return { id: randomId(), from: "bot", text, quick, image, ts: Date.now() };
  }

  /**
   * Rasa sends a session's replies to every tab in that session's room. The tab that sent the
   * message (the turn's owner) stores them at once; other tabs hold theirs back briefly and
   * drop each one the owner's write (a `storage` event) brings, so nothing is stored twice.
   * If the owner is gone (it was reloaded or closed), the held-back replies are stored then.
   */
  onBotMessage(data) {
    const message = this.normalize(data);
    if (!message) return;
    const state = this.store.load();
    if (state.owner === this.tabId || !state.owner) {
      this.appendBot(message);
      return;
    }
    this.foreign.push(message);
    const delay = FOREIGN_WAIT_MS + Math.random() * FOREIGN_WAIT_MS;
    window.setTimeout(() => this.flushForeign(false), delay);
  }

  appendBot(message) {
    this.state = this.store.update((state) => {
      state.messages.push(message);
    });
    this.sync();
  }

  flushForeign(force) {
    if (!this.foreign.length) return;
    const now = Date.now();
    const due = this.foreign.filter((m) => force || now - m.ts >= FOREIGN_WAIT_MS);
    if (!due.length) return;
    this.foreign = this.foreign.filter((m) => !due.includes(m));
    this.state = this.store.update((state) => {
      const recent = state.messages.filter((m) => m.from === "bot" && m.ts >= now - 30000).map((m) => m.text);
      for (const m of due) {
        const at = recent.indexOf(m.text);
        if (at >= 0) recent.splice(at, 1); // the owner stored it already
        else state.messages.push(m);
      }
    });
    this.sync();
  }

  onStorage(state) {
    const previousSession = this.state.sessionId;
    const known = new Set(this.state.messages.map((m) => m.id));
    this.state = state;
    // Drop held-back replies that the owning tab has now stored.
    for (const m of state.messages) {
      if (m.from !== "bot" || known.has(m.id)) continue;
      const at = this.foreign.findIndex((f) => f.text === m.text);
      if (at >= 0) this.foreign.splice(at, 1);
    }
    this.sync();
    if (this.socket && state.sessionId && state.sessionId !== previousSession && state.sessionId !== this.joined) {
      this.rejoin();
    }
    if (!this.socket && state.messages.some((m) => m.from === "user")) this.connect();
  }
}

function start() {
  if (window.BTSChat) return; // the script tag was included twice
  const script = currentScript();
  if (!script) return;
  const config = readConfig(script);
  if (!config.server) {
    // eslint-disable-next-line no-console
    console.error("bts-chat: the script tag needs data-server, the Rasa server's URL");
    return;
  }
  const init = () => {
    const widget = new ChatWidget(config);
    window.BTSChat = Object.freeze({
      version: VERSION,
      open: () => widget.open(),
      close: () => widget.close(),
      startOver: () => widget.startOver(),
    });
  };
  window.BTSChat = { version: VERSION, pending: true };
  if (document.body) init();
  else document.addEventListener("DOMContentLoaded", init, { once: true });
}

start();
