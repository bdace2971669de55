// @ts-check
// What "listen to this screen" says (listen.js reads it aloud): the step and what to do, what the
// banners say right now, the votes left, and on the results view the results as plain sentences
// in the reader's language (the same sentences easy-read shows above the bars).
import { t } from "../i18n.js";
import { noteLabel, shownText } from "../noteview.js";
import { groupName } from "../groups.js";
import { stepWords, resultSentences } from "../listen.js";
import { termWords } from "../glossary.js";

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
    // Each idea, then the explanations of the glossary words it uses (glossary.js).
    const notes = new Map(s.noteList().map((/** @type {any} */ n) => [n.id, n]));
    const terms = termWords(s.doc, [...notes.values()]);
    out.push(...resultWords(s, r && r.data, (/** @type {any} */ item) => (notes.has(item.note_id) ? terms(notes.get(item.note_id)) : [])));
  }
  return out;
}

/** The results as plain sentences in the reader's language (`after`: see listen.js).
 * @param {any} session @param {any} data
 * @param {(item: any) => {text: string, lang: string}[]} [after]
 * @returns {{text: string, lang?: string}[]} */
export function resultWords(session, data, after) {
  const notes = new Map(session.noteList().map((/** @type {any} */ n) => [n.id, n]));
  const name = (/** @type {any} */ item) => {
    const note = notes.get(item.note_id);
    return note ? shownText(note).text || noteLabel(note) : item.text || "";
  };
  return resultSentences(data, name, (/** @type {string} */ g) => groupName(session.settings(), g), after);
}
