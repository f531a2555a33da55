// What travels over the socket.io channel, read defensively: a bot message comes from the server,
// but its text, buttons and control payloads may repeat what a patient typed.

import { safeHref } from "./markdown.js";

// Same limit as the assistant's NLU: longer text would be cut anyway.
export const MAX_CHARS = 1000;

// The server issues the session id (a signed token); the widget only stores and returns it.
// Printable ASCII without spaces, bounded: enough for any signed format, safe in JSON.
const SESSION_ID = /^[\x21-\x7e]{1,512}$/;

const LANGUAGES = ["en", "es"];
const EVENTS = ["booking_submitted"];

/**
 * The session id in a `session_confirm` event (Rasa sends the bare string), or null.
 * @param {unknown} data
 * @returns {string | null}
 */
export function confirmedSession(data) {
  const id = typeof data === "string" ? data : data && typeof data === "object" ? data.session_id : null;
  return typeof id === "string" && SESSION_ID.test(id) ? id : null;
}

/**
 * The widget's own instructions in a bot message: the custom payload `{"bts": {...}}`, sent as
 * the message itself or under `custom` (as Rasa's REST channel names it).
 * @param {unknown} data
 * @returns {{language: string | null, event: string | null}}
 */
export function controlOf(data) {
  const none = { language: null, event: null };
  if (!data || typeof data !== "object") return none;
  const custom = data.custom && typeof data.custom === "object" ? data.custom : null;
  const bts = data.bts || (custom && custom.bts);
  if (!bts || typeof bts !== "object") return none;
  return {
    language: LANGUAGES.includes(bts.language) ? bts.language : null,
    event: EVENTS.includes(bts.event) ? bts.event : null,
  };
}

/**
 * The displayable part of a `bot_uttered` event: text, quick replies and an image (shown as a
 * link, never loaded), or null when there is nothing to show.
 * @param {unknown} data
 * @returns {{text: string, quick: Array<{title: string, payload: string}>, image: string | null} | null}
 */
export function botContent(data) {
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
    image = href && href.startsWith("http") ? href : null;
  }
  if (!text && !quick.length && !image) return null;
  return { text, quick, image };
}
