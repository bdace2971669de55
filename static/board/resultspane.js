// @ts-check
// The results view of the board page: the bars per idea and group (results.js), the plain
// sentences first in easy-read, and the facilitator's downloads. The results come from the
// document when they are visible to all, else from the server (GET /results, the facilitator's).
import { h } from "../util.js";
import { t, isEasyRead } from "../i18n.js";
import { ideaTitle } from "../noteview.js";
import { shownTitle } from "../translations.js";
import { downloadButtons } from "../downloads.js";
import { resultsView } from "../results.js";
import { resultWords } from "./spoken.js";

/** @param {import("./state.js").BoardState} board @param {import("./controller.js").BoardController} actions
 * @returns {HTMLElement} */
export function resultsPane(board, actions) {
  const session = board.session;
  const fromDoc = session.resultsData();
  const r = fromDoc || board.httpResults;
  if (!r) {
    actions.fetchResults();
    return h("section", { class: "results" }, h("h2", null, t("results_heading")), h("p", null, t("results_hidden")));
  }
  if (!fromDoc && board.isFacilitator()) actions.fetchResults(true);
  const titles = new Map(session.clusterList().map((/** @type {any} */ c) => [c.id, shownTitle(c)]));
  const notes = new Map(session.noteList().map((/** @type {any} */ n) => [n.id, n]));
  const view = resultsView(r.data, { groups: board.groups(), updatedAt: r.updatedAt, clusterTitle: (/** @type {string} */ id) => titles.get(id), settings: session.settings(), noteTitle: ideaTitle(board, (/** @type {string} */ id) => notes.get(id)) });
  if (isEasyRead()) {
    // Counts, not percentages, in short sentences, before the bars.
    const sentences = resultWords(session, r.data);
    if (sentences.length) view.querySelector("h2")?.after(h("section", { class: "plain-results", "aria-labelledby": "plain-res-h" }, h("h3", { id: "plain-res-h" }, t("easy_results_heading")), h("ul", null, sentences.map((x) => h("li", null, x.text)))));
  }
  if (board.isFacilitator()) view.append(h("h3", null, t("downloads_heading")), downloadButtons(board.id, board.token, "results-downloads"));
  return view;
}
