// Border Therapy Services chat widget: one <script> tag gives a launcher button and a chat panel
// that talks to the Rasa socket.io channel. See widget/README.md for the embed snippet.
//
// Safety rule for this file: message content only ever reaches the page through textContent,
// createTextNode or the DOM-built markdown subset in markdown.js. No innerHTML, no inline styles
// (only CSSOM), so the widget runs under a strict Content-Security-Policy with Trusted Types.

import { io } from "socket.io-client";
import { palette } from "./color.js";
import { languageOf, translator } from "./i18n.js";
import { parseMarkdown } from "./markdown.js";
import { MAX_CHARS, botContent, confirmedSession, controlOf } from "./protocol.js";
import { Store, randomId } from "./store.js";
import { h, icon, messageElement, signature } from "./view.js";

/* global __BTS_CSS__, __BTS_VERSION__ */
const CSS_FILE = __BTS_CSS__;
const VERSION = __BTS_VERSION__;

const COUNTER_FROM = 100; // show "N characters left" below this many
const FOREIGN_WAIT_MS = 1200; // see onBotMessage: how long a non-owner tab waits for the owner
const WAITING_MAX_MS = 60000; // typing indicator gives up after this long without a reply
const SMALL_SCREEN = "(max-width: 480px)";
const IDLE_CHECK_MS = 30000;
const IDLE_DEFAULT_MINUTES = 30;

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
    // sessionStorage unless the clinic opts in to a conversation shared by the site's tabs.
    storage: data.storage === "local" ? "local" : "session",
    idleMs: Math.min(Math.max(Number(data.idleMinutes) || IDLE_DEFAULT_MINUTES, 1), 24 * 60) * 60 * 1000,
    cssUrl: new URL(CSS_FILE, script.src || window.location.href).href,
  };
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
    this.tabId = tabIdentity();
    this.store = new Store(`bts-chat:v2:${config.server}`, config.idleMs, config.storage);
    this.state = this.store.load();
    this.lang = languageOf(this.state.lang || config.lang);
    this.t = translator(this.lang);
    this.socket = null;
    this.ready = false; // connected and session confirmed
    this.everConnected = false;
    this.conn = "idle"; // idle | connecting | online | reconnecting
    this.inFlight = new Map(); // message id -> true, waiting for the server's ack
    this.foreign = []; // bot messages seen by this tab while another tab owns the turn
    this.kept = []; // messages still on screen but no longer stored (after a booking was sent)
    this.rendered = new Map(); // message id -> {el, sig}
    this.renderedOrder = [];
    this.labels = []; // [element, attribute or "text", string key], relabelled on a language switch
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
    window.setInterval(() => this.checkIdle(), IDLE_CHECK_MS);
    document.addEventListener("visibilitychange", () => this.checkIdle());
  }

  // ---------------------------------------------------------------- view

  /** Sets a translated string now and again whenever the language changes. */
  label(el, attribute, key) {
    this.labels.push([el, attribute, key]);
    if (attribute === "text") el.textContent = this.t(key);
    else el.setAttribute(attribute, this.t(key));
    return el;
  }

  build() {
    const { cfg } = this;
    this.host = h("div", { id: "bts-chat", "data-version": VERSION, lang: this.lang });
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
    this.endBtn = h("button", {
      class: "text-btn end-btn",
      type: "button",
      "aria-controls": "bts-confirm",
      "aria-expanded": "false",
      onclick: () => this.askEnd(),
    });
    this.label(this.endBtn, "text", "endChat");
    this.label(this.endBtn, "aria-label", "endChatLabel");
    this.closeBtn = h(
      "button",
      { class: "icon-btn", type: "button", onclick: () => this.close() },
      icon("close"),
    );
    this.label(this.closeBtn, "aria-label", "close");
    this.confirmYes = h("button", { class: "confirm-btn confirm-yes", type: "button", onclick: () => this.endChat() });
    this.confirmNo = h("button", { class: "confirm-btn", type: "button", onclick: () => this.cancelEnd() });
    this.confirm = h(
      "div",
      { id: "bts-confirm", class: "confirm", role: "group", "aria-labelledby": "bts-confirm-text", hidden: true },
      this.label(h("p", { id: "bts-confirm-text", class: "confirm-text" }), "text", "endConfirm"),
      h("div", { class: "confirm-actions" }, this.label(this.confirmYes, "text", "endYes"),
        this.label(this.confirmNo, "text", "endNo")),
    );
    this.banner = h("p", { class: "banner", role: "status" });
    this.list = h("ol", { class: "messages" });
    this.log = this.label(h("section", { class: "log", tabindex: "0" }, this.list), "aria-label", "conversation");
    this.typing = h(
      "div",
      { class: "typing", hidden: true },
      h("span", { class: "dot", "aria-hidden": "true" }),
      h("span", { class: "dot", "aria-hidden": "true" }),
      h("span", { class: "dot", "aria-hidden": "true" }),
      this.label(h("span", { class: "sr-only" }), "text", "typing"),
    );
    this.input = h("textarea", {
      id: "bts-input",
      class: "input",
      rows: "1",
      maxlength: String(MAX_CHARS),
      "aria-describedby": "bts-counter",
      autocomplete: "off",
    });
    this.label(this.input, "placeholder", "placeholder");
    this.counter = h("span", { id: "bts-counter", class: "counter" });
    this.sendBtn = this.label(h("button", { class: "send", type: "submit" }, icon("send")), "aria-label", "send");
    this.form = h(
      "form",
      { class: "composer", onsubmit: (e) => this.onSubmit(e) },
      this.label(h("label", { class: "sr-only", for: "bts-input" }), "text", "inputLabel"),
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
        this.endBtn,
        this.closeBtn,
      ),
      this.confirm,
      this.banner,
      this.log,
      this.typing,
      this.form,
      h("p", { class: "footnote" }, this.counter, this.label(h("span"), "text", "disclaimer")),
      this.live,
    );
    this.wrapper = h(
      "div",
      { class: `bts bts--${cfg.position}`, lang: this.lang, dir: "ltr" },
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

  /** Follows the conversation's language: every label, the `lang` attribute, the messages. */
  setLanguage(lang) {
    const next = languageOf(lang);
    if (this.state.lang !== next) {
      this.state = this.store.update((state) => {
        state.lang = next;
      });
    }
    if (next === this.lang) return;
    this.lang = next;
    this.t = translator(next);
    this.host.setAttribute("lang", next);
    this.wrapper.setAttribute("lang", next);
    for (const [el, attribute, key] of this.labels) {
      if (attribute === "text") el.textContent = this.t(key);
      else el.setAttribute(attribute, this.t(key));
    }
    this.updateLauncher();
    this.updateBanner();
    this.onInput();
    this.list.replaceChildren(); // the messages' own labels and time formats
    this.rendered.clear();
    this.renderedOrder = [];
    this.sync(false);
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

  /** What the panel shows: messages no longer stored, then the stored ones. */
  view() {
    return this.kept.length ? this.kept.concat(this.state.messages) : this.state.messages;
  }

  /** Renders the conversation into the panel; `announce` reads out new bot messages. */
  sync(announce = true) {
    const messages = this.view();
    const ids = messages.map((m) => m.id);
    const isPrefix = this.renderedOrder.every((id, i) => ids[i] === id);
    if (!isPrefix) {
      this.list.replaceChildren();
      this.rendered.clear();
      this.renderedOrder = [];
    }
    let added = false;
    const fresh = [];
    const ctx = {
      t: this.t,
      lang: this.lang,
      onRetry: (id) => this.retry(id),
      onChoose: (id, index) => this.choose(id, index),
    };
    for (const m of messages) {
      const known = this.rendered.get(m.id);
      const sig = signature(m);
      if (!known) {
        const el = messageElement(m, ctx);
        this.list.appendChild(el);
        this.rendered.set(m.id, { el, sig });
        this.renderedOrder.push(m.id);
        added = true;
        if (m.from === "bot") fresh.push(m);
      } else if (known.sig !== sig) {
        const el = messageElement(m, ctx);
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
    for (const m of messages) {
      const words = parseMarkdown(m.text).map((token) => token.text).join("");
      this.live.appendChild(h("p", { text: `${this.t("bot")} ${words}` }));
    }
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
    this.checkIdle();
    this.state = this.store.load();
    if (this.state.messages.length === 0 && this.kept.length === 0) this.addGreeting();
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
    this.hideConfirm();
    this.panel.hidden = true;
    this.wrapper.classList.remove("is-open");
    this.applyScreenMode();
    this.updateLauncher();
    this.launcher.focus({ preventScroll: true });
  }

  addGreeting() {
    const quick = this.cfg.suggestions.map((s) => ({ title: s, payload: s }));
    const text = this.cfg.greeting || this.t("greeting", { title: this.cfg.title });
    this.state = this.store.update((state) => {
      if (state.messages.length > 0) return; // another tab was quicker
      state.messages.push({ id: randomId(), from: "bot", text, ts: Date.now(), quick, local: true });
    });
  }

  askEnd() {
    this.confirm.hidden = false;
    this.endBtn.setAttribute("aria-expanded", "true");
    this.confirmNo.focus();
  }

  hideConfirm() {
    this.confirm.hidden = true;
    this.endBtn.setAttribute("aria-expanded", "false");
  }

  cancelEnd() {
    this.hideConfirm();
    this.endBtn.focus();
  }

  endChat() {
    this.hideConfirm();
    this.reset();
    this.input.focus();
  }

  /**
   * Forgets the conversation in this browser and starts a new one: the next session request
   * carries no id, so the server issues a new one.
   */
  reset() {
    this.foreign = [];
    this.kept = [];
    this.inFlight.clear();
    this.store.clear();
    const lang = this.lang;
    this.state = this.store.update((state) => {
      state.chat = randomId(8);
      state.lang = lang;
    });
    if (this.isOpen) this.addGreeting();
    this.sync(false);
    this.input.value = "";
    this.onInput();
    if (this.socket) this.rejoin(); // a new socket joins only the new session's room
  }

  /** After the idle time, a conversation that the patient took part in is forgotten. */
  checkIdle() {
    const stored = this.store.load(); // forgets the stored copy once it is idle
    const updated = stored.updated || this.state.updated;
    if (this.store.isIdle({ updated }) && this.view().some((m) => m.from === "user")) this.reset();
  }

  /**
   * A booking was submitted: the stored messages (the summary has the patient's name, phone
   * and e-mail) are dropped. The panel keeps showing them until the page is left or reloaded.
   */
  forgetStored() {
    // Held-back replies of another tab's turn are shown, never stored.
    const held = this.foreign;
    this.foreign = [];
    const owner = this.store.load().owner;
    if (owner === this.tabId || !owner) {
      const shown = this.view();
      this.state = this.store.update((state) => {
        state.messages = [];
        state.purged = Date.now();
      });
      this.kept = shown;
    }
    this.kept = this.kept.concat(held);
    this.sync(false);
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
      if (!this.confirm.hidden) this.cancelEnd();
      else this.close();
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
    const m = this.view().find((x) => x.id === messageId);
    if (!m || m.used || !m.quick || !m.quick[index]) return;
    const reply = m.quick[index];
    this.send(reply.payload, reply.title, { messageId, index });
    this.input.focus();
  }

  send(payload, shown, chosen) {
    this.checkIdle();
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
    const spend = (messages) => {
      for (const m of messages) {
        if (m.from === "bot" && m.quick && m.quick.length && !m.used) {
          m.used = true;
          if (chosen && m.id === chosen.messageId) m.chosen = chosen.index;
        }
      }
    };
    spend(this.kept);
    this.state = this.store.update((state) => {
      spend(state.messages);
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
    // Rasa's handler returns after the whole turn, so the ack means "all replies sent". Rasa
    // passes `metadata` on as the message's metadata (and into `session_started_metadata`).
    this.socket.emit(
      "user_uttered",
      { message: message.payload ?? message.text, session_id: this.joined, metadata: { lang: this.lang } },
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

  /** This chat's random routing id, made here if there is none yet. */
  ensureChat() {
    if (!this.state.chat) {
      this.state = this.store.update((state) => {
        if (!state.chat) state.chat = randomId(8);
      });
    }
    return this.state.chat;
  }

  /** Reconnects with the stored session (after "end chat", here or in another tab). */
  rejoin() {
    this.ready = false;
    this.joined = null;
    this.socket.io.opts.query = { bts_route: this.ensureChat() };
    this.socket.disconnect();
    this.socket.connect();
    this.setConn("connecting");
  }

  connect() {
    if (this.socket || !this.cfg.server) return;
    this.setConn("connecting");
    const socket = io(this.cfg.server, {
      path: this.cfg.path,
      // Lets a load balancer send every connection of one chat to the same Rasa replica. A
      // random id of this chat, not the session id: URLs end up in access logs.
      query: { bts_route: this.ensureChat() },
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
      this.requested = this.state.sessionId || null;
      // No id yet: the server issues one. `lang` lets the assistant start in the page's language.
      socket.emit("session_request", { session_id: this.requested, lang: this.lang });
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
    const id = confirmedSession(data);
    if (!id) return;
    this.state = this.store.load();
    if ((this.state.sessionId || null) !== this.requested) {
      this.rejoin(); // another tab changed the session meanwhile: join that one
      return;
    }
    if (this.state.sessionId !== id) {
      // The server's id wins: it issued a new one, or replaced one it no longer accepts.
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

  /**
   * Rasa sends a session's replies to every tab in that session's room. The tab that sent the
   * message (the turn's owner) stores them at once; other tabs hold theirs back briefly and
   * drop each one the owner's write (a `storage` event) brings, so nothing is stored twice.
   * If the owner is gone (it was reloaded or closed), the held-back replies are stored then.
   */
  onBotMessage(data) {
    const control = controlOf(data);
    if (control.language) this.setLanguage(control.language);
    const content = botContent(data);
    if (content) {
      const message = { id: randomId(), from: "bot", ...content, ts: Date.now() };
      const state = this.store.load();
      if (state.owner === this.tabId || !state.owner) {
        this.appendBot(message);
      } else {
        this.foreign.push(message);
        const delay = FOREIGN_WAIT_MS + Math.random() * FOREIGN_WAIT_MS;
        window.setTimeout(() => this.flushForeign(false), delay);
      }
    }
    if (control.event === "booking_submitted") this.forgetStored();
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
    const previous = this.state;
    const known = new Set(previous.messages.map((m) => m.id));
    if (state.chat !== previous.chat) this.kept = []; // the chat was ended in another tab
    else if (state.purged !== previous.purged) this.kept = this.kept.concat(previous.messages);
    this.state = state;
    // Drop held-back replies that the owning tab has now stored.
    for (const m of state.messages) {
      if (m.from !== "bot" || known.has(m.id)) continue;
      const at = this.foreign.findIndex((f) => f.text === m.text);
      if (at >= 0) this.foreign.splice(at, 1);
    }
    if (state.lang) this.setLanguage(state.lang);
    this.sync();
    if (this.socket && state.sessionId && state.sessionId !== previous.sessionId && state.sessionId !== this.joined) {
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
      // Ends the chat and clears it from this browser, without asking.
      endChat: () => widget.reset(),
      startOver: () => widget.reset(),
    });
  };
  window.BTSChat = { version: VERSION, pending: true };
  if (document.body) init();
  else document.addEventListener("DOMContentLoaded", init, { once: true });
}

start();
