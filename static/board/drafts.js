// @ts-check
// The drafts kept on this device (private writing): the list above the board, each with "edit"
// and "delete"; the facilitator learns how many wait (a count in our presence, never their text).
import { h, clear, fill, store, keys } from "../util.js";
import { t } from "../i18n.js";

/** @param {HTMLElement} el @param {import("./state.js").BoardState} board
 * @param {{ edit: (draft: any) => void, remove: (id: string) => void }} on */
export function renderDrafts(el, board, on) {
  const session = board.session;
  const drafts = store.get(keys.drafts(board.id), []);
  const user = session.localUser;
  if (board.role === "participant" && user && (user.drafts || 0) !== drafts.length) session.setUser({ ...user, drafts: drafts.length });
  if (!drafts.length) {
    el.hidden = true;
    clear(el);
    return;
  }
  el.hidden = false;
  fill(el,
    h("h2", { id: "drafts-h" }, t("drafts_heading", { n: drafts.length }), h("span", { class: "device-only" }, t("only_on_device"))),
    h(
      "ul",
      { class: "draft-list" },
      drafts.map((/** @type {any} */ d) =>
        h(
          "li",
          { class: `draft note-${d.color}` },
          h("p", { lang: d.lang }, d.text),
          h(
            "div",
            { class: "draft-actions" },
            h("button", { type: "button", class: "btn btn-small", onclick: () => on.edit({ ...d, draft: true }) }, t("edit")),
            h("button", { type: "button", class: "btn btn-small btn-danger", onclick: () => on.remove(d.id) }, t("delete")),
          ),
        ),
      ),
    ),
  );
}
