// @ts-check
// Opening a board without network: the service worker (sw.js) keeps the app shell and the API answers
// the board page reads; this module keeps the board's last document state on the device
// (storage key cobord:doc:<board>, a Yjs update in base64) so a board opened once opens again offline,
// with the edits made offline still in it until the server has them (they go out with the next sync).
import { store, keys } from "./storage.js";

const MAX_STATE_CHARS = 1_500_000; // ~1.1 MB of state; a larger board is not kept (quota ~5 MB)

/** @param {Uint8Array} bytes */
function toBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** @param {string} text */
function fromBase64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The state kept for this board, or null. @param {string} boardId @returns {Uint8Array|null} */
export function loadDocState(boardId) {
  const saved = store.get(keys.docState(boardId));
  if (typeof saved !== "string" || !saved) return null;
  try {
    return fromBase64(saved);
  } catch {
    return null;
  }
}

/** @param {string} boardId @param {Uint8Array} update */
export function saveDocState(boardId, update) {
  const text = toBase64(update);
  if (text.length > MAX_STATE_CHARS || !store.set(keys.docState(boardId), text)) store.remove(keys.docState(boardId));
}

/** @param {string} boardId */
export function forgetDocState(boardId) {
  store.remove(keys.docState(boardId));
}

/** Register the service worker (same origin, scope /). Needs a secure context: https or localhost. */
export function registerServiceWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
    /* no offline opening on this device; everything else works */
  });
}
