// @ts-check
// How phones reach this board: the public address (COBORD_PUBLIC_URL) for QR codes and links, and a
// hint for the facilitator when the page is on a loopback address nobody else can open.
import { api } from "./util.js";

/** @typedef {{public_url: string|null, bound_host: string, loopback_only: boolean, lan_addresses: string[], port: number, scheme?: string}} ClientConfig */

/** @type {Promise<ClientConfig|null>|null} */
let pending = null;

/** @returns {Promise<ClientConfig|null>} */
export function clientConfig() {
  if (!pending) pending = api("GET", "/api/client-config").catch(() => null);
  return pending;
}

/** The origin links and QR codes point at. @param {ClientConfig|null} cfg */
export function publicOrigin(cfg) {
  return (cfg && cfg.public_url) || location.origin;
}

/** @param {string} host */
export function isLoopbackHost(host) {
  return host === "localhost" || host === "[::1]" || /^127\./.test(host) || host.endsWith(".localhost");
}

/** When phones cannot open the link: the LAN addresses to use and how to start the server. @param {ClientConfig|null} cfg */
export function reachProblem(cfg) {
  if (cfg && cfg.public_url) return null;
  if (!isLoopbackHost(location.hostname)) return null;
  const port = location.port || (cfg ? String(cfg.port) : "8000");
  const lan = (cfg && cfg.lan_addresses) || [];
  const scheme = (cfg && cfg.scheme) || "http";
  return { bound: cfg ? cfg.loopback_only : true, urls: lan.map((a) => `${scheme}://${a}:${port}`), port };
}

/** The address phones will use: the public one, else (on a loopback page) the first LAN address.
 * @param {ClientConfig|null} cfg */
export function phoneOrigin(cfg) {
  const problem = reachProblem(cfg);
  return problem && problem.urls.length ? problem.urls[0] : publicOrigin(cfg);
}

/** Browsers give the microphone (getUserMedia) and service workers (offline opening) only to a
 * secure context: an https page, or one on this very machine. @param {string} origin */
export function isSecureOrigin(origin) {
  try {
    const url = new URL(origin);
    return url.protocol === "https:" || isLoopbackHost(url.hostname);
  } catch {
    return false;
  }
}

/** Can this page record in the page? Else the phone's own recorder (a file input) is offered. */
export function canRecordHere() {
  return window.isSecureContext && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia) && typeof MediaRecorder !== "undefined";
}
