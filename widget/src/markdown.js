// A deliberately small markdown subset for bot messages, rendered with DOM APIs only.
//
//   **bold**                  -> <strong>bold</strong>
//   [label](https://...)      -> link; only http:, https:, tel: and mailto: targets
//   \* \[ \] \( \) \\          -> the character itself (lets the server quote a patient's text)
//   a newline                 -> a line break (the bubble uses `white-space: pre-wrap`)
//
// A bare URL stays text: bot messages repeat what the patient typed (the booking summary), and
// a link the patient wrote must never look like one the clinic sent. Anything else, including
// a link with another scheme such as `javascript:` or `data:`, stays literal text. Nothing is
// ever parsed as HTML: the result is built from text nodes and createElement, so
// `<img onerror=...>` in a message is shown as those characters.

const SAFE_SCHEMES = ["http:", "https:", "tel:", "mailto:"];

// \-escape | **bold** | [label](target)
const TOKEN = /\\([\\*[\]()])|\*\*([^*\n]+?)\*\*|\[([^\]\n]{1,200})\]\(([^()\s]{1,2000})\)/g;

// Control characters and whitespace have no place in a link target.
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARS = /[\u0000-\u0020\u007f-\u009f]/;

/**
 * Returns a normalised href if `target` is an absolute http(s), tel or mailto URL, else null.
 * @param {string} target
 * @returns {string | null}
 */
export function safeHref(target) {
  if (typeof target !== "string" || target.length === 0 || UNSAFE_CHARS.test(target)) return null;
  let url;
  try {
    url = new URL(target);
  } catch (_) {
    return null; // relative or malformed: not a link
  }
  if (!SAFE_SCHEMES.includes(url.protocol)) return null;
  if (url.protocol === "tel:" && !/^tel:\+?[0-9().\- ]{3,30}$/.test(decodeURIComponent(url.href))) return null;
  if (url.protocol === "mailto:" && !/^mailto:[^@\s]+@[^@\s]+$/.test(url.href)) return null;
  if ((url.protocol === "http:" || url.protocol === "https:") && !url.hostname) return null;
  return url.href;
}

/**
 * Parses `text` into inline tokens: {type: "text", text}, {type: "strong", text} and
 * {type: "link", text, href}. Pure function (no DOM), so it is unit-tested under Node.
 * @param {string} text
 * @returns {Array<{type: string, text: string, href?: string}>}
 */
export function parseMarkdown(text) {
  const tokens = [];
  const source = String(text == null ? "" : text);
  const pushText = (value) => {
    if (!value) return;
    const last = tokens[tokens.length - 1];
    if (last && last.type === "text") last.text += value;
    else tokens.push({ type: "text", text: value });
  };
  let index = 0;
  TOKEN.lastIndex = 0;
  let match;
  while ((match = TOKEN.exec(source)) !== null) {
    const whole = match[0];
    pushText(source.slice(index, match.index));
    index = match.index + whole.length;
    if (match[1] !== undefined) {
      pushText(match[1]);
    } else if (match[2] !== undefined) {
      tokens.push({ type: "strong", text: match[2] });
    } else {
      const href = safeHref(match[4]);
      // An unsafe link stays literal, brackets and all, so the patient sees what was sent.
      if (href) tokens.push({ type: "link", text: match[3], href });
      else pushText(whole);
    }
  }
  pushText(source.slice(index));
  return tokens;
}

/**
 * Renders `text` into a DocumentFragment using only createElement / createTextNode.
 * @param {string} text
 * @param {Document} doc
 * @param {{newTabLabel?: string}} [options]
 * @returns {DocumentFragment}
 */
export function renderMarkdown(text, doc, options = {}) {
  const fragment = doc.createDocumentFragment();
  for (const token of parseMarkdown(text)) {
    if (token.type === "text") {
      fragment.appendChild(doc.createTextNode(token.text));
    } else if (token.type === "strong") {
      const strong = doc.createElement("strong");
      strong.textContent = token.text;
      fragment.appendChild(strong);
    } else if (token.type === "link") {
      const link = doc.createElement("a");
      link.href = token.href;
      link.textContent = token.text;
      if (token.href.startsWith("http")) {
        link.target = "_blank";
        link.rel = "noopener noreferrer nofollow";
        if (options.newTabLabel) {
          const hint = doc.createElement("span");
          hint.className = "sr-only";
          hint.textContent = ` (${options.newTabLabel})`;
          link.appendChild(hint);
        }
      }
      fragment.appendChild(link);
    }
  }
  return fragment;
}
