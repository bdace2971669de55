// @ts-check
// The replay's board at one moment (replay.js): a bare Y.Doc filled from the replay API's bytes and
// read as the live board is (BoardDoc, boarddoc.js), so the live board's Canvas draws it as it is. Also
// the API's wire shapes: `replay/state?form=parts` (length-prefixed updates), base64 updates, and
// times in integer milliseconds (docs/formats.md) that the replay counts in seconds.
import { Y } from "./session.js";
import { BoardDoc } from "./boarddoc.js";

/** The board document at one moment: a bare Y.Doc (no provider, no awareness). */
export class ReplayDoc extends BoardDoc {
  /** @param {Uint8Array[]} updates applied in order (the keyframe, then the merged tail) */
  constructor(updates) {
    super();
    this.doc = new Y.Doc();
    this.notes = this.doc.getMap("notes");
    this.clusters = this.doc.getMap("clusters");
    this.meta = this.doc.getMap("meta");
    this.results = this.doc.getMap("results");
    this.synced = true;
    this.fallback = null;
    Y.transact(this.doc, () => {
      for (const update of updates) if (update.length) Y.applyUpdate(this.doc, update);
    });
  }
}

/** @typedef {ReplayDoc} ReplayState */

/** @param {Uint8Array[]} updates @returns {ReplayState} */
export function replayState(updates) {
  return new ReplayDoc(updates);
}

/**
 * The body of `replay/state?form=parts`: updates, each after its 4-byte big-endian length.
 * @param {Uint8Array} bytes @returns {Uint8Array[]}
 */
export function splitParts(bytes) {
  const parts = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at + 4 <= bytes.length) {
    const size = view.getUint32(at);
    at += 4;
    if (at + size > bytes.length) throw new Error("truncated replay state");
    parts.push(bytes.subarray(at, at + size));
    at += size;
  }
  if (at !== bytes.length) throw new Error("truncated replay state");
  return parts;
}

/** @param {string} b64 */
export function base64ToBytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// The API's times are integer milliseconds (docs/formats.md); this view counts in seconds.
/** @param {any} row */
export function inSeconds(row) {
  return { ...row, ts: Number(row.ts) / 1000 };
}
/** @param {any} timeline */
export function timelineInSeconds(timeline) {
  return {
    ...timeline,
    start: Number(timeline.start) / 1000,
    end: Number(timeline.end) / 1000,
    bookmarks: Array.isArray(timeline.bookmarks) ? timeline.bookmarks.map(inSeconds) : [],
  };
}
