// The conversation as the browser keeps it: one JSON document per Rasa server. By default in
// sessionStorage (one tab, gone when the tab closes); with `data-storage="local"` in
// localStorage, shared by every tab of the site. Either way it is forgotten after a short idle
// time. Falls back to memory when storage is unavailable (private mode, blocked cookies).

const VERSION = 2;
const MAX_MESSAGES = 200;
// Keys of earlier widget versions, which kept the conversation in localStorage for a day.
const LEGACY_PREFIX = "bts-chat:v1:";

export function emptyState() {
  return {
    v: VERSION,
    chat: null, // random id of this chat in this browser: a routing hint, never a credential
    sessionId: null, // as confirmed by the server
    lang: null, // the conversation's language once the assistant has named one
    messages: [],
    updated: 0,
    purged: 0, // when stored messages were last dropped (a submitted booking)
    owner: null,
    waitingSince: 0,
  };
}

function storageArea(name) {
  try {
    const area = window[name];
    const probe = "bts-chat:probe";
    area.setItem(probe, "1");
    area.removeItem(probe);
    return area;
  } catch (_) {
    return null;
  }
}

function dropLegacy() {
  try {
    const local = window.localStorage;
    for (let i = local.length - 1; i >= 0; i -= 1) {
      const key = local.key(i);
      if (key && key.startsWith(LEGACY_PREFIX)) local.removeItem(key);
    }
  } catch (_) {
    /* storage blocked: nothing was kept there either */
  }
}

export class Store {
  /**
   * @param {string} key storage key (one per Rasa server)
   * @param {number} idleMs a conversation idle longer than this is forgotten
   * @param {"session" | "local"} kind which Web Storage area keeps it
   */
  constructor(key, idleMs, kind = "session") {
    this.key = key;
    this.idleMs = idleMs;
    this.memory = null;
    this.listeners = [];
    dropLegacy();
    this.storage = storageArea(kind === "local" ? "localStorage" : "sessionStorage");
    if (kind !== "local") {
      // A clinic that turned localStorage off again: no copy may stay behind there.
      try {
        window.localStorage.removeItem(key);
      } catch (_) {
        /* nothing to remove */
      }
    }
    if (this.storage) {
      window.addEventListener("storage", (event) => {
        if (event.storageArea !== this.storage) return;
        if (event.key === this.key || event.key === null) {
          const state = this.load();
          this.listeners.forEach((listener) => listener(state));
        }
      });
    }
  }

  /** @param {{updated: number}} state */
  isIdle(state) {
    return Boolean(state.updated) && Date.now() - state.updated > this.idleMs;
  }

  /** @returns {ReturnType<typeof emptyState>} */
  load() {
    let raw = null;
    if (this.storage) {
      try {
        raw = this.storage.getItem(this.key);
      } catch (_) {
        raw = null;
      }
    } else {
      raw = this.memory;
    }
    let state = null;
    try {
      state = raw ? JSON.parse(raw) : null;
    } catch (_) {
      state = null;
    }
    if (!state || state.v !== VERSION || !Array.isArray(state.messages)) return emptyState();
    if (this.isIdle(state)) {
      this.clear();
      return emptyState();
    }
    return state;
  }

  /** @param {ReturnType<typeof emptyState>} state */
  save(state) {
    state.updated = Date.now();
    if (state.messages.length > MAX_MESSAGES) state.messages = state.messages.slice(-MAX_MESSAGES);
    const raw = JSON.stringify(state);
    if (this.storage) {
      try {
        this.storage.setItem(this.key, raw);
        return;
      } catch (_) {
        // Quota exceeded or storage revoked: keep going in memory.
      }
    }
    this.memory = raw;
  }

  /**
   * Reads the latest state, lets `change` modify it, and saves it: every write starts from what
   * other tabs may have written since this tab last looked.
   * @param {(state: ReturnType<typeof emptyState>) => void} change
   */
  update(change) {
    const state = this.load();
    change(state);
    this.save(state);
    return state;
  }

  clear() {
    this.memory = null;
    if (this.storage) {
      try {
        this.storage.removeItem(this.key);
      } catch (_) {
        /* nothing to clear */
      }
    }
  }

  /** @param {(state: ReturnType<typeof emptyState>) => void} listener called on other tabs' writes */
  subscribe(listener) {
    this.listeners.push(listener);
  }
}

/** A random hex id (crypto.randomUUID needs a secure context; getRandomValues does not). */
export function randomId(bytes = 8) {
  const values = new Uint8Array(bytes);
  window.crypto.getRandomValues(values);
  return Array.from(values, (b) => b.toString(16).padStart(2, "0")).join("");
}
