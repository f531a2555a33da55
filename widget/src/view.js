// DOM building for the widget. Message content only ever reaches the page through textContent,
// createTextNode or the DOM-built markdown subset: no innerHTML, no inline style attributes.

import { renderMarkdown, safeHref } from "./markdown.js";

const SVG_NS = "http://www.w3.org/2000/svg";

const ICONS = {
  chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
  close: "M6.4 5 5 6.4 10.6 12 5 17.6 6.4 19l5.6-5.6 5.6 5.6 1.4-1.4-5.6-5.6L19 6.4 17.6 5 12 10.6z",
  send: "M3 20.5v-6.2l9-2.3-9-2.3V3.5L22 12z",
};

/** Tiny DOM builder: properties and attributes only, children as nodes or plain text. */
export function h(tag, props = {}, ...children) {
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

export function icon(name) {
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

/** A render-relevant fingerprint of a message: it is rebuilt when this changes. */
export function signature(m) {
  return `${m.status || ""}|${m.used ? 1 : 0}|${m.chosen ?? ""}`;
}

/**
 * One message as a list item.
 * @param {object} m the stored message
 * @param {{t: Function, lang: string, onRetry: Function, onChoose: Function}} ctx
 */
export function messageElement(m, ctx) {
  const { t } = ctx;
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
  const fmt = new Intl.DateTimeFormat(ctx.lang, sameDay
    ? { hour: "numeric", minute: "2-digit" }
    : { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
  const meta = h("div", { class: "meta" }, h("time", { datetime: when.toISOString(), text: fmt.format(when) }));
  if (m.status === "queued") meta.appendChild(h("span", { class: "state", text: t("queued") }));
  if (m.status === "unconfirmed") {
    meta.append(
      h("span", { class: "state", text: t("unconfirmed") }),
      h("button", { class: "link-btn", type: "button", text: t("retry"), onclick: () => ctx.onRetry(m.id) }),
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
          onclick: () => ctx.onChoose(m.id, index),
        }),
      );
    });
    li.appendChild(group);
  }
  return li;
}
