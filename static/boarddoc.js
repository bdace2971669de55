// @ts-check
// Reading the board document (the schema: docs/schema.md, crdt/schema.py): notes and clusters as
// plain objects (entries marked deleted are not shown), the settings, phase, timer and results in
// `meta` and `results`, with what the HTTP API said at load until the document has its own. The
// live Session (session.js) and the replay's ReplayDoc (replaydoc.js) both read through it.
import { Y } from "/vendor/yjs.bundle.js";
import { DEFAULT_SETTINGS } from "./schema.js";

export class BoardDoc {
  constructor() {
    // The document's root maps (set by whoever holds the doc: Session._connect, ReplayDoc).
    /** @type {any} */ this.notes = null;
    /** @type {any} */ this.clusters = null;
    /** @type {any} */ this.meta = null;
    /** @type {any} */ this.results = null;
    /** @type {any} */ this.fallback = null;
  }

  metaValue(key, fallback) {
    const v = this.meta.get(key);
    return v === undefined ? fallback : v;
  }
  /** What the HTTP API said at load: used until the document has synced its own `meta`.
   * @param {{phase?: string, settings?: any, title?: string}} [fb] */
  setFallback({ phase, settings, title } = {}) {
    this.fallback = { phase, settings, title };
  }
  settings() {
    const fb = (this.fallback && this.fallback.settings) || {};
    return { ...DEFAULT_SETTINGS, ...fb, ...(toPlain(this.meta.get("settings")) || {}) };
  }
  phase() {
    return this.metaValue("phase", (this.fallback && this.fallback.phase) || "ideate");
  }
  timer() {
    return toPlain(this.meta.get("timer")) || null;
  }
  resultsData() {
    const data = this.results.get("data");
    return data ? { data: toPlain(data), updatedAt: this.results.get("updatedAt") || null } : null;
  }
  /** A note's map, unless it is absent or marked deleted. @param {string} id */
  liveNote(id) {
    const m = this.notes.get(id);
    return isLive(m) ? m : null;
  }
  /** Every live note's id. @returns {string[]} */
  liveNoteIds() {
    const out = [];
    this.notes.forEach((m, id) => { if (isLive(m)) out.push(id); });
    return out;
  }
  noteList() {
    const out = [];
    this.notes.forEach((m, id) => {
      if (!isLive(m)) return;
      out.push(readNote(id, m));
    });
    out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    return out;
  }
  clusterList() {
    const out = [];
    this.clusters.forEach((m, id) => {
      if (!isLive(m)) return;
      out.push({ id, title: str(m.get("title")), titles: toPlain(m.get("titles")) || null, x: num(m.get("x")), y: num(m.get("y")), color: str(m.get("color")) });
    });
    out.sort((a, b) => a.x - b.x || a.y - b.y || (a.id < b.id ? -1 : 1));
    return out;
  }
}

/** An entry of `notes` or `clusters` that is shown: a map not marked deleted (boards made before
 * soft delete have no such field: every entry is live). @param {any} m */
export function isLive(m) {
  return m instanceof Y.Map && m.get("deleted") !== true;
}

function readNote(id, m) {
  return {
    id,
    text: str(m.get("text")),
    x: num(m.get("x")),
    y: num(m.get("y")),
    color: str(m.get("color")) || "yellow",
    cluster: str(m.get("cluster")),
    lang: str(m.get("lang")),
    createdAt: num(m.get("createdAt")),
    author: m.get("author") === undefined ? null : str(m.get("author")),
    kind: str(m.get("kind")) || "text",
    media: str(m.get("media")),
    translations: toPlain(m.get("translations")) || null,
    duration: typeof m.get("duration") === "number" ? m.get("duration") : null,
    wanted: toPlain(m.get("wanted")) || null,
  };
}

function str(v) {
  return typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
}
function num(v) {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}
/** meta values may be plain JSON (set by the server as JSON objects) or nested Y.Maps. */
export function toPlain(v) {
  if (v instanceof Y.Map || v instanceof Y.Array) return v.toJSON();
  return v;
}
