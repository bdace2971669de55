// @ts-check
// When the board is not, or no longer, to be shown: a page with one message instead of it
// (unknown board, no access, access gone), and what this device forgets when the server closed
// our socket for good (4401/4404): its copy of the document, the token, what waited to be sent,
// what the service worker kept. Nothing of the board stays on screen, no "+" (an erased person's
// phone must not keep everyone's notes).
import { h, clear, store, keys } from "../util.js";
import { t } from "../i18n.js";
import { langSwitcher } from "../ui.js";
import { closedText } from "../privacy.js";

/** A page with one message instead of the board (unknown board, no access, access gone).
 * @param {HTMLElement} root @param {string} text */
export function message(root, text) {
  clear(root);
  root.append(
    h("div", { class: "page" }, h("header", { class: "page-head" }, h("a", { class: "brand", href: "/" }, t("app_name")), langSwitcher()),
      h("main", { class: "join" }, h("div", { class: "card" }, h("p", { role: "alert" }, text), h("a", { class: "btn", href: "/" }, t("back_home"))))),
  );
}

/** Whether a close code means this device lost the board for good (a facilitator's 4401 is a
 * token to renew, not a board gone). @param {number} code @param {string} role */
export function accessGone(code, role) {
  return code === 4404 || (code === 4401 && role !== "facilitator");
}

/** Forget the board on this device and say why, in place of the board.
 * @param {HTMLElement} root @param {string} boardId @param {number} code */
export function forgetBoard(root, boardId, code) {
  for (const key of [keys.docState, keys.token, keys.pending, keys.acked, keys.mine]) store.remove(key(boardId));
  forgetKeptAnswers(boardId);
  message(root, closedText(code));
}

/** Drop what the service worker kept of this board (its info with the participants, pictures):
 * an erased person's phone must not open it again offline. @param {string} boardId */
async function forgetKeptAnswers(boardId) {
  if (typeof caches === "undefined") return;
  const prefix = `${location.origin}/api/boards/${encodeURIComponent(boardId)}`;
  try {
    for (const name of await caches.keys()) {
      if (!name.startsWith("cobord-")) continue;
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        if (request.url === prefix || request.url.startsWith(prefix + "/") || request.url.startsWith(prefix + "?")) await cache.delete(request);
      }
    }
  } catch {
    /* storage unavailable: nothing kept to forget */
  }
}
