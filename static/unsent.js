// @ts-check
// "Not sent yet": a note written on this device carries a visible mark until the server has it.
//
// How we know: the server's own words about its state, never a guess from our side of the socket.
// - On connecting, the server sends SyncStep1 = its state vector (per Yjs client id, the clock up to
//   which it holds that client's changes): a note whose creating item (client, clock) is below it
//   is on the server.
// - While connected, the server does not echo our own updates. So we ask: a SyncStep1 probe whose
//   state vector is ours except that, for the client ids of unconfirmed notes, it says "I have your
//   items only up to clock c" (the oldest unconfirmed one). The server answers SyncStep2 from its
//   COMMITTED document (rooms.py: the real doc holds committed state only), i.e. our own items from c
//   on that it has made durable; the end clock of that answer per client is what the server holds.
//   Until the commit lands the answer lacks them: we ask again (0.3 s, then 1 s, 2 s … 8 s).
// - Any other update the server sends (merged frames, compensations) also proves what it holds.
// - Updates are read by decoding their structs (heldBy), per client from wherever they start.
// The probe's answer is a normal SyncStep2: the provider applies it (nothing new for it).
import { Y } from "./session.js";
import { isLive } from "./boarddoc.js";
import { h } from "./util.js";
import { store, keys } from "./storage.js";
import { t } from "./i18n.js";

const FIRST_PROBE_MS = 300;
const MAX_PROBE_MS = 8000;

// lib0 encoding, as y-protocols writes it.
/** @param {number[]} out @param {number} n */
function writeVarUint(out, n) {
  while (n > 0x7f) {
    out.push(0x80 | (n & 0x7f));
    n = Math.floor(n / 128);
  }
  out.push(n);
}
/** @param {Uint8Array} buf @param {{pos: number}} at */
function readVarUint(buf, at) {
  let n = 0;
  let mult = 1;
  for (;;) {
    if (at.pos >= buf.length) throw new Error("truncated");
    const b = buf[at.pos++];
    n += (b & 0x7f) * mult;
    if (b < 0x80) return n;
    mult *= 128;
  }
}

/**
 * Per Yjs client, the end clock of the structs in an update the server sent. The server's doc holds
 * those, and (Yjs integrates a client's changes in clock order, and the server only sends what it
 * committed) everything of that client below them. Decoded to structure: `encodeStateVectorFromUpdate`
 * is not this, it skips every client whose changes in the update do not start at clock 0 (a probe's
 * answer about our second note starts at that note's clock), so it proved nothing after a first note.
 * @param {Uint8Array} update @returns {Map<number, number>}
 */
export function heldBy(update) {
  /** @type {Map<number, number>} */
  const out = new Map();
  for (const struct of Y.decodeUpdate(update).structs) {
    if (struct instanceof Y.Skip) continue; // a hole: says nothing about what the server holds
    const end = struct.id.clock + struct.length;
    if ((out.get(struct.id.client) || 0) < end) out.set(struct.id.client, end);
  }
  return out;
}

/**
 * Messages the server sends us that tell what it holds, or null: `whole` is true for its SyncStep1
 * (its complete state vector, sent on every connect), false for an update (a lower bound).
 * @param {Uint8Array} buf @returns {{vector: Map<number, number>, whole: boolean} | null}
 */
export function serverKnowledge(buf) {
  try {
    const at = { pos: 0 };
    if (readVarUint(buf, at) !== 0) return null; // not a sync message
    const sub = readVarUint(buf, at);
    const len = readVarUint(buf, at);
    const data = buf.subarray(at.pos, at.pos + len);
    if (sub === 0) return { vector: /** @type {Map<number, number>} */ (Y.decodeStateVector(data)), whole: true };
    if (sub === 1 || sub === 2) return { vector: heldBy(data), whole: false };
  } catch {
    /* not ours to judge */
  }
  return null;
}

export class Unsent {
  /** @param {import("./board/state.js").BoardState} board @param {import("./extras.js").BoardScreen} screen */
  constructor(board, screen) {
    this.board = board;
    this.screen = screen;
    /** What the server holds, per Yjs client id (clock); kept on the device, so a reload while
     * offline still knows which notes went out. @type {Map<number, number>} */
    this.server = new Map(Object.entries(store.get(keys.acked(board.id), {}) || {}).map(([k, v]) => [Number(k), Number(v)]));
    /** @type {Set<string>} */ this.unsent = new Set();
    /** @type {any} */ this._ws = null;
    this._probeTimer = 0;
    this._probeDelay = FIRST_PROBE_MS;
    this._onMessage = (/** @type {MessageEvent} */ e) => {
      if (!(e.data instanceof ArrayBuffer)) return;
      const said = serverKnowledge(new Uint8Array(e.data));
      if (!said) return;
      let changed = false;
      if (said.whole) {
        // On every connect the server states all it holds: that replaces what we believed (a board
        // restored from a backup, a server that lost its last seconds), it is not merged into it.
        for (const client of [...this.server.keys()]) {
          if (!said.vector.has(client)) {
            this.server.delete(client);
            changed = true;
          }
        }
      }
      said.vector.forEach((clock, client) => {
        const known = this.server.get(client) || 0;
        if (said.whole ? known !== clock : known < clock) {
          this.server.set(client, clock);
          changed = true;
        }
      });
      if (!changed) return;
      store.set(keys.acked(this.board.id), Object.fromEntries(this.server));
      this.refresh();
    };
    // Each new socket from its first message on: the server's SyncStep1 on a reconnect re-derives
    // what it holds (after a render would be too late: it has already arrived).
    board.session.socketWatchers.add(() => this.watchSocket());
  }

  /** The creating item of a note: {client, clock}, or null. @param {string} id */
  itemOf(id) {
    const m = this.board.session.notes.get(id);
    const item = m && m._item;
    return item && item.id ? { client: item.id.client, clock: item.id.clock } : null;
  }

  /** Follow the provider's current socket (a new one after each reconnect). */
  watchSocket() {
    const p = this.board.session.provider;
    const ws = p && p.ws;
    if (ws === this._ws) return;
    if (this._ws) this._ws.removeEventListener("message", this._onMessage);
    this._ws = ws; // (what the server said it holds stays true: it commits before it answers)
    if (ws) ws.addEventListener("message", this._onMessage);
  }

  /** Which of my notes the server does not hold yet. */
  compute() {
    const app = this.board;
    const out = new Set();
    app.session.notes.forEach((/** @type {any} */ m, /** @type {string} */ id) => {
      if (!app.isMine(id) || !isLive(m)) return;
      const item = this.itemOf(id);
      if (item && (this.server.get(item.client) || 0) <= item.clock) out.add(id);
    });
    return out;
  }

  refresh() {
    const before = this.unsent;
    this.unsent = this.compute();
    this.mark();
    if (this.unsent.size && [...this.unsent].some((id) => !before.has(id))) this._probeDelay = FIRST_PROBE_MS;
    this.scheduleProbe();
  }

  /** After every render of the board. */
  afterRender() {
    this.watchSocket();
    this.refresh();
  }

  scheduleProbe() {
    if (!this.unsent.size || this._probeTimer) return;
    this._probeTimer = setTimeout(() => {
      this._probeTimer = 0;
      if (this.probe()) this._probeDelay = Math.min(MAX_PROBE_MS, this._probeDelay * 2);
      this.scheduleProbe();
    }, this._probeDelay);
  }

  /** Ask the server what it holds of our unconfirmed notes' clients. Returns true if sent. */
  probe() {
    const p = this.board.session.provider;
    if (!p || !p.wsconnected || !p.synced || !p.ws || p.ws.readyState !== 1) return false;
    /** @type {Map<number, number>} */
    const sv = Y.decodeStateVector(Y.encodeStateVector(this.board.session.doc));
    for (const id of this.unsent) {
      const item = this.itemOf(id);
      if (item) sv.set(item.client, Math.min(sv.get(item.client) ?? Infinity, item.clock));
    }
    const vector = Y.encodeStateVector(sv);
    /** @type {number[]} */
    const out = [];
    writeVarUint(out, 0); // sync
    writeVarUint(out, 0); // step 1
    writeVarUint(out, vector.length);
    const frame = new Uint8Array(out.length + vector.length);
    frame.set(out, 0);
    frame.set(vector, out.length);
    p.ws.send(frame);
    return true;
  }

  /** The mark on the canvas's note cards. */
  mark() {
    const canvas = this.screen.canvas;
    if (!canvas) return;
    for (const [id, el] of canvas.noteEls) {
      const unsent = this.unsent.has(id);
      let badge = el.querySelector(":scope > .unsent-mark");
      if (unsent && !badge) {
        badge = h("p", { class: "unsent-mark" }, "◷ ", t("not_sent_yet"));
        el.append(badge);
      } else if (!unsent && badge) badge.remove();
      else if (unsent && badge && !badge.textContent.includes(t("not_sent_yet"))) badge.replaceChildren("◷ ", t("not_sent_yet"));
      el.classList.toggle("is-unsent", unsent);
    }
  }
}
