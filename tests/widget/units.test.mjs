// Unit tests of the widget's pure modules, run with Node's built-in test runner:
//   node --test tests/widget/units.test.mjs     (tests/widget/test_widget_units.py runs it)

import assert from "node:assert/strict";
import { test } from "node:test";

import { contrast, palette, parseHex } from "../../widget/src/color.js";
import { languageOf, translator } from "../../widget/src/i18n.js";
import { parseMarkdown, safeHref } from "../../widget/src/markdown.js";
import { botContent, confirmedSession, controlOf } from "../../widget/src/protocol.js";

test("bold, links and plain text", () => {
  assert.deepEqual(parseMarkdown("Call **now** or see [hours](https://example.org/hours)."), [
    { type: "text", text: "Call " },
    { type: "strong", text: "now" },
    { type: "text", text: " or see " },
    { type: "link", text: "hours", href: "https://example.org/hours" },
    { type: "text", text: "." },
  ]);
});

test("tel and mailto links are allowed", () => {
  assert.deepEqual(parseMarkdown("[call](tel:+15755550142) [mail](mailto:frontdesk@example.com)"), [
    { type: "link", text: "call", href: "tel:+15755550142" },
    { type: "text", text: " " },
    { type: "link", text: "mail", href: "mailto:frontdesk@example.com" },
  ]);
});

test("links with any other scheme stay literal text", () => {
  for (const source of [
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](data:text/html,<b>hi</b>)",
    "[x](vbscript:msgbox)",
    "[x](file:///etc/passwd)",
    "[x](/relative/path)",
    "[x](//evil.example)",
    "[x](java\tscript:alert(1))",
  ]) {
    const tokens = parseMarkdown(source);
    assert.ok(tokens.every((t) => t.type !== "link"), source);
    assert.equal(tokens.map((t) => t.text).join(""), source);
  }
});

test("HTML is never interpreted", () => {
  const source = "<img src=x onerror=alert(1)> <script>alert(1)</script>";
  assert.deepEqual(parseMarkdown(source), [{ type: "text", text: source }]);
});

test("bare URLs stay text: a bot message may repeat what the patient typed", () => {
  for (const source of [
    "https://evil.example/login",
    "Reason: see https://evil.example/login, thanks",
    "www.evil.example and http://evil.example",
  ]) {
    assert.deepEqual(parseMarkdown(source), [{ type: "text", text: source }]);
  }
});

test("a backslash quotes markdown characters", () => {
  assert.deepEqual(parseMarkdown("\\[x\\](https://evil.example) \\*\\*no\\*\\* a\\\\b"), [
    { type: "text", text: "[x](https://evil.example) **no** a\\b" },
  ]);
});

test("newlines are kept as text (rendered as line breaks)", () => {
  assert.deepEqual(parseMarkdown("one\ntwo"), [{ type: "text", text: "one\ntwo" }]);
});

test("unclosed bold and empty input", () => {
  assert.deepEqual(parseMarkdown("**not bold"), [{ type: "text", text: "**not bold" }]);
  assert.deepEqual(parseMarkdown(""), []);
  assert.deepEqual(parseMarkdown(null), []);
});

test("safeHref", () => {
  assert.equal(safeHref("https://example.org"), "https://example.org/");
  assert.equal(safeHref("http://example.org/x?y=1"), "http://example.org/x?y=1");
  assert.equal(safeHref("tel:575-555-0142"), "tel:575-555-0142");
  assert.equal(safeHref("tel:call-me-maybe"), null);
  assert.equal(safeHref("mailto:not-an-address"), null);
  assert.equal(safeHref("javascript:alert(1)"), null);
  assert.equal(safeHref(" https://example.org"), null);
  assert.equal(safeHref(""), null);
  assert.equal(safeHref(undefined), null);
});

test("brand colours keep WCAG AA contrast", () => {
  for (const brand of ["#0b5d7a", "#ffd700", "#777777", "#ffffff", "#000000", "#e63946", "not a colour"]) {
    const colours = palette(brand);
    const onBrand = contrast(parseHex(colours["--bts-brand"]), parseHex(colours["--bts-on-brand"]));
    assert.ok(onBrand >= 4.5, `${brand}: text on brand ${onBrand.toFixed(2)}`);
    const accent = contrast(parseHex(colours["--bts-accent"]), parseHex("#eef1f5"));
    assert.ok(accent >= 4.5, `${brand}: accent on light surfaces ${accent.toFixed(2)}`);
  }
  assert.equal(palette("#0b5d7a")["--bts-brand"], "#0b5d7a");
  assert.equal(palette("#ffd700")["--bts-on-brand"], "#111827");
});

test("interface strings", () => {
  assert.equal(languageOf("es-MX"), "es");
  assert.equal(languageOf("fr"), "en");
  const en = translator("en");
  assert.equal(en("open", { title: "BTS" }), "Open chat with BTS");
  assert.equal(translator("es")("close"), "Cerrar el chat");
  assert.equal(translator("xx")("send"), "Send");
});

test("control payloads: only known languages and events, as the message or under custom", () => {
  assert.deepEqual(controlOf({ bts: { language: "es" } }), { language: "es", event: null });
  assert.deepEqual(controlOf({ custom: { bts: { event: "booking_submitted" } } }), {
    language: null,
    event: "booking_submitted",
  });
  for (const data of [
    null,
    "bts",
    { text: '{"bts": {"language": "es"}}' },
    { bts: { language: "fr", event: "delete_everything" } },
    { bts: "es" },
  ]) {
    assert.deepEqual(controlOf(data), { language: null, event: null }, JSON.stringify(data));
  }
});

test("bot content: text, buttons and images, nothing from a control-only message", () => {
  assert.equal(botContent({ bts: { language: "es" } }), null);
  const content = botContent({
    text: "Pick one",
    quick_replies: [{ title: "Yes", payload: "/affirm" }, { title: "" }, null, { title: "No" }],
    attachment: { type: "image", payload: { src: "javascript:alert(1)" } },
  });
  assert.deepEqual(content, {
    text: "Pick one",
    quick: [
      { title: "Yes", payload: "/affirm" },
      { title: "No", payload: "No" },
    ],
    image: null,
  });
});

test("session ids: whatever the server confirms, within bounds", () => {
  assert.equal(confirmedSession("0123abcd"), "0123abcd");
  assert.equal(confirmedSession({ session_id: "v1.abc.sig_-" }), "v1.abc.sig_-");
  for (const bad of [null, "", "has space", "x".repeat(513), 42, { session_id: 7 }]) {
    assert.equal(confirmedSession(bad), null, String(bad));
  }
});

// ------------------------------------------------------------------ store.js with fake Web Storage

class FakeStorage {
  constructor() {
    this.items = new Map();
  }
  get length() {
    return this.items.size;
  }
  key(i) {
    return [...this.items.keys()][i] ?? null;
  }
  getItem(k) {
    return this.items.has(k) ? this.items.get(k) : null;
  }
  setItem(k, v) {
    this.items.set(k, String(v));
  }
  removeItem(k) {
    this.items.delete(k);
  }
}

function fakeWindow() {
  globalThis.window = {
    localStorage: new FakeStorage(),
    sessionStorage: new FakeStorage(),
    addEventListener() {},
    crypto: globalThis.crypto,
  };
  return globalThis.window;
}

const { Store } = await import("../../widget/src/store.js");

test("the store uses sessionStorage unless localStorage is asked for, and drops old copies", () => {
  const win = fakeWindow();
  win.localStorage.setItem("bts-chat:v1:https://bot", '{"v":1,"messages":[{"text":"575-555-0142"}]}');
  win.localStorage.setItem("bts-chat:v2:https://bot", "{}");
  const store = new Store("bts-chat:v2:https://bot", 30 * 60000);
  store.update((state) => state.messages.push({ text: "hello" }));
  assert.equal(win.localStorage.length, 0);
  assert.match(win.sessionStorage.getItem("bts-chat:v2:https://bot"), /hello/);

  const shared = new Store("bts-chat:v2:https://bot", 30 * 60000, "local");
  shared.update((state) => state.messages.push({ text: "hi" }));
  assert.match(win.localStorage.getItem("bts-chat:v2:https://bot"), /hi/);
});

test("the store forgets a conversation idle longer than its expiry", () => {
  const win = fakeWindow();
  const store = new Store("k", 30 * 60000);
  store.update((state) => state.messages.push({ text: "575-555-0142" }));
  assert.equal(store.load().messages.length, 1);
  const raw = JSON.parse(win.sessionStorage.getItem("k"));
  raw.updated = Date.now() - 31 * 60000;
  win.sessionStorage.setItem("k", JSON.stringify(raw));
  assert.deepEqual(store.load().messages, []);
  assert.equal(win.sessionStorage.getItem("k"), null);
});
