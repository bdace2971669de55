// @ts-check
// How people get into the board, as the facilitator's panel shows it: the join code (as the
// document says now), a big QR of the join link, the link to copy, the projector's link, and what
// phones will reach at that address (a loopback address they cannot reach; plain http: no
// microphone, no offline opening).
import { h, store, keys } from "./util.js";
import { t } from "./i18n.js";
import { toast } from "./ui.js";
import { qrSvg } from "./qr.js";
import { isSecureOrigin, phoneOrigin, publicOrigin, reachProblem } from "./reach.js";

/** The board's code as the document says now (a rotation reaches every open screen), else what
 * was known at load. @param {import("./board/state.js").BoardState} board */
export function joinCode(board) {
  const live = board.session.metaValue("join_code", "");
  if (live && live !== store.get(keys.joinCode(board.id))) store.set(keys.joinCode(board.id), live);
  return live || board.info.join_code || store.get(keys.joinCode(board.id)) || "";
}

/**
 * The projector link carries the read-only viewer token (and the join code) in its #fragment, which
 * never reaches a server: it works on the projector's own computer too.
 * @param {import("./board/state.js").BoardState} board
 */
export function presentUrl(board) {
  const base = `/b/${encodeURIComponent(board.id)}/present`;
  const viewer = store.get(keys.viewer(board.id));
  if (!viewer) return base;
  const frag = new URLSearchParams({ v: viewer });
  if (joinCode(board)) frag.set("c", joinCode(board));
  return `${base}#${frag}`;
}

/** The panel's "Join" section. @param {import("./board/state.js").BoardState} board @param {any} cfg the client config (reach.js), null until it arrives */
export function joinSection(board, cfg) {
  const code = joinCode(board);
  const link = code ? `${publicOrigin(cfg)}/j/${encodeURIComponent(code)}` : "";
  const join = h("section", { class: "panel-sec", "aria-labelledby": "p-join" }, h("h3", { id: "p-join" }, t("panel_join")));
  if (code) {
    join.append(
      h("div", { class: "qr", role: "img", "aria-label": t("qr_label", { link }) }, qrSvg(link)),
      h("p", { class: "join-code" }, h("span", { class: "muted" }, t("panel_join_code"), " "), h("strong", { class: "code" }, code)),
      h("p", { class: "join-link" }, link),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "btn btn-small", onclick: async () => { try { await navigator.clipboard.writeText(link); toast(t("panel_copied")); } catch { toast(link); } } }, t("panel_copy_link")),
        h("a", { class: "btn btn-small", href: presentUrl(board), target: "_blank", rel: "noopener" }, t("panel_present")),
      ),
    );
  }
  const problem = reachProblem(cfg);
  if (problem) join.append(reachHint(problem));
  join.append(phoneFeatures(phoneOrigin(cfg)));
  return join;
}

/** What phones will and will not have at the address they use: the microphone and offline opening
 * need a secure context (https). @param {string} origin */
function phoneFeatures(origin) {
  if (isSecureOrigin(origin)) {
    return h("p", { class: "reach-features", id: "reach-features", role: "note" }, "✓ ", t("reach_all_features", { origin }));
  }
  return h(
    "div",
    { class: "reach-features reach-hint", id: "reach-features", role: "note" },
    h("p", { class: "reach-title" }, "⚠ ", t("reach_plain_http", { origin })),
    h("p", null, t("reach_have")),
    h("p", null, t("reach_not_have")),
    h("p", { class: "muted" }, t("reach_https_how")),
  );
}

/** Phones cannot reach a loopback address: say which address to use instead, and how. */
function reachHint(problem) {
  return h(
    "div",
    { class: "reach-hint", id: "reach-hint", role: "note" },
    h("p", { class: "reach-title" }, "⚠ ", t("reach_heading")),
    h("p", null, t("reach_loopback", { host: location.host })),
    problem.urls.length ? h("p", null, t("reach_use_lan"), " ", problem.urls.map((u, i) => [i ? ", " : "", h("code", null, u)])) : null,
    problem.bound ? h("p", null, t("reach_restart")) : null,
    h("p", { class: "muted" }, t("reach_public")),
  );
}
