// @ts-check
// What "listen to this screen" says (listen.js reads it aloud): the step and what to do, what the
// banners say right now, the votes left, and on the results view the results as plain sentences
// in the reader's language (the same sentences easy-read shows above the bars).
import { t } from "../i18n.js";
import { noteLabel, shownText } from "../noteview.js";
import { groupName } from "../groups.js";
import { stepWords, resultSentences } from "../listen.js";

/** @param {import("./state.js").BoardState} board @param {string} view @param {string[]} banners
 * @returns {{text: string, lang?: string}[]} */
export function screenWords(board, view, banners) {
  const s = board.session;
  const phase = s.phase();
  /** @type {{text: string, lang?: string}[]} */
  const out = stepWords(phase);
  // The banners (offline, locked, the drag hint, private writing) say what holds right now.
  for (const text of banners) out.push({ text });
  if (view === "votes" || (board.role === "participant" && phase === "vote")) {
    const budget = board.votes.budget ?? s.settings().vote_budget;
    out.push({ text: t("votes_left", { n: budget, left: board.votes.remaining ?? budget, budget }) });
  }
  if (view === "results") {
    const r = s.resultsData() || board.httpResults;
    for (const text of resultWords(s, r && r.data)) out.push({ text });
  }
  return out;
}

/** The results as plain sentences in the reader's language. @param {any} session @param {any} data
 * @returns {string[]} */
export function resultWords(session, data) {
  const notes = new Map(session.noteList().map((/** @type {any} */ n) => [n.id, n]));
  const name = (/** @type {any} */ item) => {
    const note = notes.get(item.note_id);
    return note ? shownText(note).text || noteLabel(note) : item.text || "";
  };
  return resultSentences(data, name, (/** @type {string} */ g) => groupName(session.settings(), g));
}
