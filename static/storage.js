// @ts-check
// Everything this device remembers, in one place: the only module that touches localStorage and
// sessionStorage. Values are JSON; reads and writes never throw (private mode, quota, disabled
// storage): the app then works for this page's life only.
//   tokens      cobord:token:<board> (facilitator or participant), cobord:viewer:<board> (projector)
//   boards      cobord:code:<board> (join code), cobord:recent (recently opened), cobord:justCreated
//   my notes    cobord:mine:<board>, cobord:drafts:<board> (private writing), cobord:pending:<board>
//   offline     cobord:doc:<board> (last state of the board, base64 Yjs update; see offline.js),
//               cobord:acked:<board> (what the server said it holds, per Yjs client; see unsent.js)
//   preferences cobord:lang, cobord:color, cobord:name, cobord:group:<board>, cobord:view:<board>,
//               cobord:follow:<board> (whether this device follows the facilitator)
//   this tab    cobord:hint-off (sessionStorage)
//   tests       cobord:test-hooks (set by the browser tests only: testhook.js)

/** @param {Storage | null} area */
function wrap(area) {
  return {
    /** @param {string} key @param {any} [fallback] @returns {any} */
    get(key, fallback = null) {
      try {
        const v = area ? area.getItem(key) : null;
        return v === null ? fallback : JSON.parse(v);
      } catch {
        return fallback;
      }
    },
    /** @param {string} key @param {any} value @returns {boolean} false when it could not be kept */
    set(key, value) {
      try {
        if (!area) return false;
        area.setItem(key, JSON.stringify(value));
        return true;
      } catch {
        return false; /* storage full or disabled: the app still works for this session */
      }
    },
    /** @param {string} key */
    remove(key) {
      try {
        if (area) area.removeItem(key);
      } catch {
        /* ignore */
      }
    },
  };
}

/** @param {"localStorage" | "sessionStorage"} name @returns {Storage | null} */
function area(name) {
  try {
    return globalThis[name] || null;
  } catch {
    return null; // some browsers throw on access when storage is disabled
  }
}

/** Kept across visits (localStorage). */
export const store = wrap(area("localStorage"));
/** This tab only (sessionStorage). */
export const tabStore = wrap(area("sessionStorage"));

export const keys = {
  /** @param {string} board */ token: (board) => `cobord:token:${board}`,
  /** @param {string} board */ viewer: (board) => `cobord:viewer:${board}`,
  /** @param {string} board */ joinCode: (board) => `cobord:code:${board}`,
  /** @param {string} board */ mine: (board) => `cobord:mine:${board}`,
  /** @param {string} board */ drafts: (board) => `cobord:drafts:${board}`,
  /** @param {string} board */ pending: (board) => `cobord:pending:${board}`,
  /** @param {string} board */ docState: (board) => `cobord:doc:${board}`,
  /** @param {string} board */ group: (board) => `cobord:group:${board}`,
  /** @param {string} board */ view: (board) => `cobord:view:${board}`,
  /** @param {string} board */ follow: (board) => `cobord:follow:${board}`,
  /** @param {string} board */ acked: (board) => `cobord:acked:${board}`,
  recent: "cobord:recent",
  justCreated: "cobord:justCreated",
  name: "cobord:name",
  lang: "cobord:lang",
  noteColor: "cobord:color",
  hintOff: "cobord:hint-off",
  easyRead: "cobord:easy-read", // the participant's own choice, on this device (listen.js)
  testHooks: "cobord:test-hooks", // the browser tests' page objects on window (testhook.js)
};
