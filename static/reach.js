// @ts-check
// How phones reach this board: the public address (COBORD_PUBLIC_URL) for QR codes and links, and a
// hint for the facilitator when the page is on a loopback address nobody else can open.
import { api } from "./util.js";

/** @typedef {{public_url: string|null, bound_host: string, loopback_only: boolean, lan_addresses: string[], port: number}} ClientConfig */

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
  return { bound: cfg ? cfg.loopback_only : true, urls: lan.map((a) => `http://${a}:${port}`), port };
}
