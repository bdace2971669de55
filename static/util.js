// @ts-check
// Small shared helpers: DOM building, ids, HTTP API (storage: storage.js).

/** Create an element: h("button", {class: "x", onclick: f}, "text", child) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k in el && typeof v !== "string") el[k] = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Replace an element's children (null / false children are skipped, unlike Element.append). */
export function fill(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// Local storage lives in storage.js (re-exported here for the modules that import it from util).
export { store, keys } from "./storage.js";

/** A fresh random id. crypto.randomUUID only exists on secure origins (https, localhost). */
export function newId() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

/**
 * Server clock minus local clock (ms); keeps timers honest. Derived by `syncClock()` from a fresh
 * `GET /api/time` on every (re)connect, never from a `Date` header: that one has 1 s resolution and,
 * after an outage, may belong to an answer the service worker kept from minutes ago.
 */
export let clockOffset = 0;
/** When the offset was last measured (local ms), 0 = never. */
export let clockSyncedAt = 0;
let clockSyncing = null;

/**
 * Measure the offset again: a few round trips, the shortest one wins (its midpoint is the best guess
 * of when the server read its clock). Keeps the previous offset when the server cannot be reached.
 * @returns {Promise<boolean>} whether a fresh measure was taken
 */
export function syncClock() {
  if (clockSyncing) return clockSyncing;
  clockSyncing = (async () => {
    let best = null;
    for (let i = 0; i < 3; i++) {
      const sent = Date.now();
      let res;
      try {
        res = await fetch("/api/time", { cache: "no-store", headers: { Accept: "application/json" } });
      } catch {
        break;
      }
      const received = Date.now();
      const body = res.ok ? await res.json().catch(() => null) : null;
      if (!body || typeof body.now !== "number") break;
      const rtt = received - sent;
      if (!best || rtt < best.rtt) best = { rtt, offset: body.now - (sent + received) / 2 };
      if (rtt < 50) break; // good enough: the error is at most half the round trip
    }
    if (!best) return false;
    clockOffset = best.offset;
    clockSyncedAt = Date.now();
    return true;
  })().finally(() => {
    clockSyncing = null;
  });
  return clockSyncing;
}

/**
 * @param {string} method @param {string} path @param {{token?: string, body?: any}} [opts]
 * @returns {Promise<any>}
 */
export async function api(method, path, { token, body } = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "network", e instanceof Error ? e.message : String(e));
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) throw new ApiError(res.status, data && data.error, data && data.message);
  return data;
}

export function now() {
  return Date.now() + clockOffset;
}

/** Visual + non-colour signal for a group: a shape chosen by its index in the board's list. */
const SHAPES = ["●", "▲", "■", "◆", "★", "⬟", "✚", "⬢"];
export function groupShape(groups, name) {
  const i = groups ? groups.indexOf(name) : -1;
  return i < 0 ? "○" : SHAPES[i % SHAPES.length];
}

export function debounce(fn, ms) {
  let t = 0;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}
