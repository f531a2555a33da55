// Unit tests of the widget's pure modules, run with Node's built-in test runner:
//   node --test tests/widget/units.test.mjs     (tests/widget/test_widget_units.py runs it)

import assert from "node:assert/strict";
import { test } from "node:test";

import { contrast, palette, parseHex } from "../../widget/src/color.js";
import { languageOf, translator } from "../../widget/src/i18n.js";
import { parseMarkdown, safeHref } from "../../widget/src/markdown.js";

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

test("bare http(s) URLs become links without trailing punctuation", () => {
  assert.deepEqual(parseMarkdown("See https://example.org/a, then (https://example.org/b)."), [
    { type: "text", text: "See " },
    { type: "link", text: "https://example.org/a", href: "https://example.org/a" },
    { type: "text", text: ", then (" },
    { type: "link", text: "https://example.org/b", href: "https://example.org/b" },
    { type: "text", text: ")." },
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
