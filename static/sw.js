// @ts-check
// Service worker (scope /): a board opened once opens again without network.
// - install: keep the app shell (every file of static/, listed in SHELL; tests/test_client_house.py
//   checks the list against the folder, so a new module cannot be forgotten);
// - fetch, GET on this origin: network first (a server that answers is always the truth, so new
//   versions and fresh data arrive at once), the kept copy when the network fails. Pages (/b/…, /j/…)
//   fall back to the shell (one index.html routes them all); the API answers the board page reads
//   (board info, my votes, client config, hidden notes, pictures) are kept after each success.
// The board's document itself is kept by offline.js (localStorage), not here.
// Not a module; type-checked apart from the pages, with a worker's globals (client/tsconfig.sw.json).
const worker = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));
const CACHE = "cobord-shell-v1";
const SHELL = [
  "/",
  "/index.html",
  "/app.js",
  "/board/app.js",
  "/board/banners.js",
  "/board/controller.js",
  "/board/drafts.js",
  "/board/gone.js",
  "/board/index.js",
  "/board/resultspane.js",
  "/board/sheets.js",
  "/board/spoken.js",
  "/board/state.js",
  "/board/topbar.js",
  "/boarddoc.js",
  "/canvas.js",
  "/canvasgestures.js",
  "/canvasmap.js",
  "/downloads.js",
  "/extras.js",
  "/faclink.js",
  "/follow.js",
  "/groups.js",
  "/history.css",
  "/history_i18n.js",
  "/home.js",
  "/i18n.js",
  "/i18n/en.js",
  "/i18n/fr.js",
  "/i18n/nl.js",
  "/invite.js",
  "/join.js",
  "/listen.js",
  "/langguess.js",
  "/media.js",
  "/moderation.js",
  "/glossary.js",
  "/noteview.js",
  "/offline.js",
  "/outline.js",
  "/panel.js",
  "/participants.js",
  "/placement.js",
  "/present.js",
  "/privacy.js",
  "/qr.js",
  "/reach.js",
  "/replay.js",
  "/replaydoc.js",
  "/replayfeed.js",
  "/report.js",
  "/results.js",
  "/schema.js",
  "/session.js",
  "/speech.js",
  "/storage.js",
  "/style.css",
  "/suggestions.js",
  "/testhook.js",
  "/tidy.js",
  "/translations.js",
  "/ui.js",
  "/unsent.js",
  "/util.js",
  "/vendor/yjs.bundle.js",
  "/votelist.js",
];
// API reads worth keeping for an offline visit (anything else under /api/ goes to the network only:
// exports, replay, results are read again when the network is back).
const KEPT_API = [
  /^\/api\/client-config$/,
  /^\/api\/boards\/[^/]+$/,
  /^\/api\/boards\/[^/]+\/votes\/mine$/,
  /^\/api\/boards\/[^/]+\/hidden$/,
  /^\/api\/boards\/[^/]+\/media\/[^/]+$/,
];

worker.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: "reload" }))))
      .then(() => worker.skipWaiting()),
  );
});

worker.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("cobord-") && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => worker.clients.claim()),
  );
});

/** @param {URL} url @param {Request} request */
function kept(url, request) {
  if (request.mode === "navigate") return true;
  if (url.pathname.startsWith("/api/")) return KEPT_API.some((re) => re.test(url.pathname));
  return !url.pathname.startsWith("/ws") && !["/healthz", "/readyz", "/metrics"].includes(url.pathname);
}

worker.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== worker.location.origin || !kept(url, request)) return;
  event.respondWith(networkFirst(request, url));
});

/** @param {Request} request @param {URL} url @returns {Promise<Response>} */
async function networkFirst(request, url) {
  const cache = await caches.open(CACHE);
  // The kept copy of an API answer is per URL (tokens come in headers): one device, one person.
  const key = request.mode === "navigate" ? new Request(url.pathname) : request;
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic" && !url.searchParams.has("token")) {
      cache.put(key, response.clone()).catch(() => {});
    }
    return response;
  } catch (error) {
    const copy = (await cache.match(key, { ignoreVary: true })) || (request.mode === "navigate" ? await cache.match("/index.html") : undefined);
    if (copy) return copy;
    throw error;
  }
}
