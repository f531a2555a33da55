// The conversation as the browser keeps it: one JSON document in localStorage, shared by every
// tab of the site, so a reload or a second tab shows the same history and joins the same Rasa
// session. Falls back to memory when storage is unavailable (private mode, blocked cookies).

const VERSION = 1;
const MAX_MESSAGES = 200;

export function emptyState() {
  return { v: VERSION, sessionId: null, messages: [], updated: 0, owner: null, waitingSince: 0 };
}

export class Store {
  /**
   * @param {string} key localStorage key (one per Rasa server)
   * @param {number} ttlMs a conversation idle longer than this is forgotten
   */
  constructor(key, ttlMs) {
    this.key = key;
    this.ttlMs = ttlMs;
    this.memory = null;
    this.listeners = [];
    try {
      const probe = `${key}:probe`;
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      this.storage = window.localStorage;
    } catch (_) {
      this.storage = null;
    }
    if (this.storage) {
      window.addEventListener("storage", (event) => {
        if (event.key === this.key || event.key === null) {
          const state = this.load();
          this.listeners.forEach((listener) => listener(state));
        }
      });
    }
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
    if (state.updated && Date.now() - state.updated > this.ttlMs) {
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
