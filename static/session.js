// @ts-check
// The live board document: Yjs doc + y-websocket provider, the writes, resync after 4403; what is
// read from the document is BoardDoc's (boarddoc.js), shared with the replay.
// Schema (mirrors crdt/ on the server):
//   notes:    Y.Map<noteId, Y.Map{text, x, y, color, cluster ("" = none), lang, createdAt, author?, deleted?}>
//   clusters: Y.Map<clusterId, Y.Map{title, x, y, color, deleted?}>
//   meta:     Y.Map{title, phase, timer: {endsAt, seconds}|null, settings: {...}}   (server only)
//   results:  Y.Map{data, updatedAt}                                             (server only)
// Deleting is a field: we write `deleted: true` and the server removes the entry in the same step
// (docs/schema.md); until its answer arrives (or while offline) such an entry is not shown.
import { Y, WebsocketProvider, onPermissionDenied } from "/vendor/yjs.bundle.js";
import { DEFAULT_SETTINGS } from "./schema.js";
import { BoardDoc, isLive } from "./boarddoc.js";
import { loadDocState, saveDocState } from "./offline.js";
import { syncClock } from "./util.js";

export { Y };

const RETRY_CODES = new Set([4408, 4429]);
/** "Try again later" (the server or the board is full): we retry ourselves, with a growing delay. */
export const TRY_AGAIN_LATER = 1013;
const FULL_FIRST_RETRY_MS = 1000;
const FULL_MAX_RETRY_MS = 30000;
const SAVE_STATE_MS = 1000;

export { DEFAULT_SETTINGS }; // from ./schema.js (kept here for older imports)

/**
 * A live connection that can be rebuilt from scratch (new doc + provider) when the server refuses one of
 * our edits: the refused change only exists locally and would otherwise linger.
 * Listeners: onChange() after any doc change, onStatus(status), onResync().
 */
export class Session extends BoardDoc {
  /**
   * @param {string} boardId @param {string} token
   * @param {{onChange?: (ev: any) => void, onStatus?: (s: string) => void, onResync?: () => void, onDenied?: (reason: string) => void, keepOffline?: boolean}} [opts]
   *   keepOffline: keep the board's last state on this device and start from it (offline.js)
   */
  constructor(boardId, token, { onChange, onStatus, onResync, onDenied, keepOffline = false } = {}) {
    super();
    this.boardId = boardId;
    this.token = token;
    this.onChange = onChange || (() => {});
    this.onStatus = onStatus || (() => {});
    this.onResync = onResync || (() => {});
    this.onDenied = onDenied || (() => {});
    this.status = "connecting";
    this.synced = false;
    this.localUser = null;
    this._lastResync = 0;
    /** @type {number|undefined} */ this.closeCode = undefined;
    /** While the server says "try again later" (1013): {attempt, retryAt, reason}; else null. */
    /** @type {{attempt: number, retryAt: number, reason: string}|null} */ this.full = null;
    /** Delays (ms) of the retries after 1013, for the tests. @type {number[]} */ this.fullRetries = [];
    this._fullTimer = 0;
    this._saveTimer = 0;
    this.keepOffline = keepOffline;
    // Set by _connect (rebuilt by resync). Typed loosely: the vendored bundle has no types.
    /** @type {any} */ this.doc = null;
    /** @type {any} */ this.provider = null;
    /** @type {any} */ this.awareness = null;
    /** @type {any} */ this._resyncTimer = 0;
    /** @type {number} */ this.resyncs = 0;
    /** Permission-denied messages received (a refused delete is one of them). */
    this.denials = 0;
    /** Our deletes not yet seen through: note id -> {denials at that moment, retried}. */
    /** @type {Map<string, {denials: number, retried: boolean}>} */ this._deleting = new Map();
    /** Called with each newly opened socket before its first message is read (unsent.js reads the
     * server's SyncStep1 on every connect). @type {Set<(ws: WebSocket) => void>} */
    this.socketWatchers = new Set();
    this._connect(keepOffline);
    // When the device says it lost the network, drop the socket at once (phones keep dead sockets for
    // tens of seconds) and reconnect as soon as it is back, instead of waiting for a timeout.
    this._offline = () => this.provider && this.provider.disconnect();
    this._online = () => this.provider && !this.full && this.provider.connect();
    window.addEventListener("offline", this._offline);
    window.addEventListener("online", this._online);
    this._pagehide = () => this._saveTimer && this.saveState();
    window.addEventListener("pagehide", this._pagehide);
  }

  /** @param {boolean} [fromDevice] start from the state kept on this device (first connect only) */
  _connect(fromDevice = false) {
    const doc = new Y.Doc();
    this.doc = doc;
    if (fromDevice) {
      const saved = loadDocState(this.boardId);
      if (saved) {
        try {
          Y.applyUpdate(doc, saved, "device");
        } catch {
          /* a damaged copy: start empty, the server has everything it acknowledged */
        }
      }
    }
    this.notes = doc.getMap("notes");
    this.clusters = doc.getMap("clusters");
    this.meta = doc.getMap("meta");
    this.results = doc.getMap("results");
    const url = location.origin.replace(/^http/, "ws") + "/ws";
    const provider = new WebsocketProvider(url, this.boardId, doc, {
      connect: navigator.onLine !== false,
      params: { token: this.token },
      maxBackoffTime: 4000,
      disableBc: true,
      // 4408 (too slow) and 4429 (rate limited) mean "come back": only the other 44xx are final.
      // 1013 (full): the provider would retry every 100 ms (the socket opened, so its backoff resets);
      // we retry ourselves with a growing delay instead (see "closed" below).
      shouldReconnect: (event) => event.code !== TRY_AGAIN_LATER && (RETRY_CODES.has(event.code) || !(event.code >= 4400 && event.code < 4500)),
    });
    this.provider = provider;
    this.awareness = provider.awareness;
    if (this.localUser) this.awareness.setLocalStateField("user", this.localUser);
    // The server undoes a refused change itself (its compensation reaches this doc like any update),
    // so a refusal needs no resync: only tell the person why.
    onPermissionDenied(provider, (reason) => {
      if (provider !== this.provider) return;
      this.denials++;
      this.onDenied(reason);
    });
    provider.on("status", ({ status }) => {
      if (provider !== this.provider) return;
      this.status = status;
      // Every (re)connect re-derives the server clock: the server may have restarted, the device may
      // have slept or been offline; a timer must read the same on every screen (util.js syncClock).
      if (status === "connected") for (const watch of this.socketWatchers) watch(provider.ws);
      if (status === "connected") syncClock().then((fresh) => fresh && provider === this.provider && this.onChange({ clock: true }));
      this.onStatus(status);
    });
    provider.on("sync", (/** @type {boolean} */ synced) => {
      if (provider !== this.provider) return;
      this.synced = synced;
      if (synced && this.full) {
        this.full = null; // in again: the next 1013 starts from the first delay
        this.fullRetries = [];
      }
      this.onStatus(this.status);
      if (synced) this.onChange({ synced: true });
    });
    provider.on("closed", (/** @type {{code: number, reason: string}} */ { code, reason }) => {
      if (provider !== this.provider) return;
      if (code === TRY_AGAIN_LATER) {
        this._retryWhenFull(reason);
        return;
      }
      if (code === 4403) {
        // Too many refused changes in a row: start again from the server's state.
        this.resync();
        return;
      }
      this.closeCode = code;
      this.status = "closed";
      this.onStatus("closed");
    });
    doc.on("update", (/** @type {Uint8Array} */ _u, /** @type {any} */ origin) => {
      if (doc !== this.doc) return;
      if (origin === provider && this._deleting.size) queueMicrotask(() => this._deleteAgainIfLost());
      if (this.keepOffline) this._saveSoon();
      this.onChange({ remote: origin === provider });
    });
    this.awareness.on("change", () => {
      if (provider !== this.provider) return;
      this.onChange({ awareness: true });
    });
  }

  /**
   * The server is full (1013): say so (status "full") and try again after 1 s, 2 s, 4 s … 30 s,
   * each ±20 % so a room of phones does not come back at the same instant.
   * @param {string} reason
   */
  _retryWhenFull(reason) {
    const attempt = this.full ? this.full.attempt + 1 : 0;
    const base = Math.min(FULL_MAX_RETRY_MS, FULL_FIRST_RETRY_MS * 2 ** attempt);
    const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
    this.full = { attempt, retryAt: Date.now() + delay, reason: reason || "" };
    this.fullRetries.push(delay);
    this.status = "full";
    this.onStatus("full");
    clearTimeout(this._fullTimer);
    const provider = this.provider;
    this._fullTimer = setTimeout(() => {
      if (provider === this.provider && provider && navigator.onLine !== false) provider.connect();
    }, delay);
  }

  /** Keep the doc on the device a moment after it changed (and when the page goes away). */
  _saveSoon() {
    if (this._saveTimer) return;
    this._saveTimer = setTimeout(() => this.saveState(), SAVE_STATE_MS);
  }

  saveState() {
    clearTimeout(this._saveTimer);
    this._saveTimer = 0;
    if (this.keepOffline && this.doc) saveDocState(this.boardId, Y.encodeStateAsUpdate(this.doc));
  }

  /** Drop the local doc and reconnect fresh (at most every 2 s, so a refusal loop cannot spin). */
  resync() {
    const wait = Math.max(0, this._lastResync + 2000 - Date.now());
    clearTimeout(this._resyncTimer);
    this._resyncTimer = setTimeout(() => {
      this._lastResync = Date.now();
      this.resyncs = (this.resyncs || 0) + 1;
      const old = this.provider;
      const oldDoc = this.doc;
      this.provider = null;
      old.destroy();
      oldDoc.destroy();
      this.synced = false;
      this._connect();
      this.onResync();
      this.onChange({ resync: true });
    }, wait);
  }

  setUser(user) {
    this.localUser = user;
    this.awareness.setLocalStateField("user", user);
  }

  destroy() {
    clearTimeout(this._resyncTimer);
    clearTimeout(this._fullTimer);
    if (this._saveTimer) this.saveState();
    window.removeEventListener("offline", this._offline);
    window.removeEventListener("online", this._online);
    window.removeEventListener("pagehide", this._pagehide);
    if (this.provider) this.provider.destroy();
    this.doc.destroy();
  }

  // ---- reading (the accessors are BoardDoc's: boarddoc.js) ----
  presence() {
    const out = [];
    this.awareness.getStates().forEach((state, clientId) => {
      if (state && state.user) out.push({ clientId, self: clientId === this.doc.clientID, ...state.user });
    });
    return out;
  }

  // ---- writing (all in transactions so each action is one update) ----
  addNote(id, fields) {
    this.doc.transact(() => {
      const m = new Y.Map();
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) m.set(k, v);
      this.notes.set(id, m);
    });
  }
  updateNote(id, fields) {
    const m = this.liveNote(id);
    if (!m) return;
    this.doc.transact(() => {
      for (const [k, v] of Object.entries(fields)) if (m.get(k) !== v) m.set(k, v);
    });
  }
  /** Deleting is a field (the server then removes the entry): a change someone made to the note
   * meanwhile is never lost if the server refuses this one. */
  deleteNote(id) {
    const m = this.liveNote(id);
    if (!m) return;
    this._deleting.set(id, { denials: this.denials, retried: false });
    this.doc.transact(() => m.set("deleted", true));
  }
  /**
   * A note we deleted is back with no refusal: our `deleted: true` lost the key to someone else's
   * concurrent (forbidden, undone) one, by Yjs's rule for one key (docs/schema.md). Write it once
   * more: ours now comes after theirs. A refusal (the board got locked) is left alone.
   */
  _deleteAgainIfLost() {
    for (const [id, entry] of [...this._deleting]) {
      const m = this.notes.get(id);
      if (!(m instanceof Y.Map)) this._deleting.delete(id); // removed by the server: done
      else if (m.get("deleted") === true) continue; // not answered yet
      else if (entry.retried || this.denials !== entry.denials) this._deleting.delete(id);
      else {
        entry.retried = true;
        this.doc.transact(() => m.set("deleted", true));
      }
    }
  }
  /** As deleteNote (only the facilitator may). */
  deleteCluster(id) {
    const m = this.clusters.get(id);
    if (isLive(m)) this.doc.transact(() => m.set("deleted", true));
  }
  addCluster(id, fields) {
    this.doc.transact(() => {
      const m = new Y.Map();
      for (const [k, v] of Object.entries(fields)) m.set(k, v);
      this.clusters.set(id, m);
    });
  }
  updateCluster(id, fields) {
    const m = this.clusters.get(id);
    if (!isLive(m)) return;
    this.doc.transact(() => {
      for (const [k, v] of Object.entries(fields)) if (m.get(k) !== v) m.set(k, v);
    });
  }
  /** A cluster's title per language (`titles`, a nested map: one writer per language wins, not
   * one per map); an empty text removes that language. @param {string} id @param {Record<string, string>} titles */
  setClusterTitles(id, titles) {
    const m = this.clusters.get(id);
    if (!(m instanceof Y.Map)) return;
    this.doc.transact(() => {
      let map = m.get("titles");
      const wanted = Object.entries(titles).filter(([, v]) => v);
      if (!(map instanceof Y.Map)) {
        if (!wanted.length) return;
        map = new Y.Map();
        m.set("titles", map);
      }
      for (const [lang, text] of Object.entries(titles)) {
        if (text && map.get(lang) !== text) map.set(lang, text);
        else if (!text && map.has(lang)) map.delete(lang);
      }
    });
  }
  /** Several note moves + cluster changes as one update. */
  batch(fn) {
    this.doc.transact(fn);
  }
}
