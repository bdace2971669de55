// @ts-check
// The facilitator's private link: /b/{id}#k=<facilitator token>. The token travels in the #fragment,
// which browsers never send to a server (no token in server logs); opening the link stores it in
// localStorage and removes the fragment from the address bar. Shown once on creating a board and
// always available in the panel.
import { h, store, keys } from "./util.js";
import { t } from "./i18n.js";
import { toast, openSheet } from "./ui.js";
import { publicOrigin } from "./reach.js";

/** Take a token (and join code) from the address's fragment; true when one was found. @param {string} boardId */
export function adoptFragmentToken(boardId) {
  if (location.hash.length < 2) return false;
  const frag = new URLSearchParams(location.hash.slice(1));
  const token = frag.get("k");
  if (token) store.set(keys.token(boardId), token);
  if (frag.get("c")) store.set(keys.joinCode(boardId), frag.get("c"));
  history.replaceState(null, "", location.pathname + location.search);
  return !!token;
}

/** @param {string} boardId @param {string} token @param {any} cfg */
export function facilitatorLink(boardId, token, cfg) {
  return `${publicOrigin(cfg)}/b/${encodeURIComponent(boardId)}#${new URLSearchParams({ k: token })}`;
}

/** Warning, link, copy and e-mail buttons. @param {string} link @param {string} title @param {string} id */
export function facilitatorLinkBlock(link, title, id = "faclink") {
  const mail = `mailto:?subject=${encodeURIComponent(t("faclink_mail_subject", { title }))}&body=${encodeURIComponent(`${t("faclink_mail_body")}\n\n${link}\n`)}`;
  return h(
    "div",
    { class: "faclink" },
    h("p", { class: "faclink-warn", role: "note" }, "⚠ ", t("faclink_warning")),
    h("input", { class: "faclink-url", id: `${id}-url`, type: "text", readonly: true, value: link, "aria-label": t("faclink_heading"), onfocus: (/** @type {any} */ e) => e.target.select() }),
    h(
      "div",
      { class: "actions" },
      h("button", {
        type: "button",
        class: "btn btn-small",
        id: `${id}-copy`,
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(link);
            toast(t("panel_copied"));
          } catch {
            const input = document.getElementById(`${id}-url`);
            if (input instanceof HTMLInputElement) input.select();
            toast(t("faclink_copy_by_hand"));
          }
        },
      }, t("faclink_copy")),
      h("a", { class: "btn btn-small", id: `${id}-mail`, href: mail }, t("faclink_mail")),
    ),
  );
}

/** The sheet shown once, right after creating a board. @param {string} link @param {string} title */
export function showFacilitatorLinkOnce(link, title) {
  openSheet(t("faclink_heading"), (/** @type {() => void} */ close) =>
    h(
      "div",
      { class: "faclink-sheet" },
      h("p", null, t("faclink_intro")),
      facilitatorLinkBlock(link, title),
      h("div", { class: "actions" }, h("button", { type: "button", class: "btn btn-accent", id: "faclink-kept", onclick: close }, t("faclink_kept"))),
    ),
  );
}
