// @ts-check
// How a note is shown wherever it appears (canvas, outline, vote list, replay): its author line and
// its vote buttons. The board page, the canvas, the outline and the replay all use this.
import { h } from "./util.js";
import { t, langName, fmtNumber } from "./i18n.js";
import { toast } from "./ui.js";

import { COLORS } from "./schema.js";
import { mediaView } from "./media.js";
import { listenButton } from "./speech.js";
import { shownText, translatedFrom, translationToggle } from "./translations.js";
import { termWords } from "./glossary.js";

export { COLORS };

/** The text a reader sees (their language first). @param {any} note */
export { shownText };

/** A short name for a note, whatever its kind, in the reader's language (its translation first):
 * what its controls and announcements say. "“Plus de bancs”", "photo — “the queue at the food
 * bank”", "voice note by Sam, 12 s". @param {any} note @param {number} [max] */
export function noteLabel(note, max = 60) {
  const shown = shownText(note);
  const cut = (/** @type {string} */ s) => (s.length > max ? `${s.slice(0, max - 3)}…` : s);
  const caption = shown.text ? t("label_quoted", { text: cut(shown.text) }) : "";
  if (note.kind === "photo") return caption ? t("label_photo", { caption }) : t("label_photo_bare");
  if (note.kind === "voice") {
    const secs = typeof note.duration === "number" ? Math.max(1, Math.round(note.duration)) : null;
    let label = note.author ? t("label_voice_by", { name: note.author }) : t("label_voice");
    if (secs !== null) label = t("label_with_seconds", { label, n: secs });
    return caption ? `${label} — ${caption}` : label;
  }
  return caption || t("label_empty_note");
}

/**
 * What a note's views read of the board (board/state.js's BoardState, or the replay's read-only
 * stand-in): its id and token (pictures), whose note it is, my votes and what the results say.
 * @typedef {{
 *   id: string, boardId?: string, token: string, role: string, session: any,
 *   votes: {remaining: number | null},
 *   isMine(noteId: string): boolean, myVotes(noteId: string): number, canVote(): boolean,
 *   totalVotes(noteId: string): number | null,
 *   disagreeOn?(): boolean, disagreeLeft?(): {left: number, budget: number}, myMark?(noteId: string): boolean,
 * }} NoteBoard
 * What the vote buttons do (board/controller.js's BoardController).
 * @typedef {{ vote(noteId: string, delta: number): any, disagree(noteId: string, delta: number): any }} VoteActions
 */

/** Photo or voice, the translation line and the listen button, then the meta line.
 * @param {NoteBoard} board @param {any} note @param {() => void} [rerender] draws the view again (the translation toggle) */
export function noteMeta(board, note, rerender = () => {}) {
  const extras = [mediaView(board, note, noteLabel(note)), translationToggle(note, rerender)].filter(Boolean);
  // The listen button sits on the author line: the card keeps its height for the text.
  const meta = noteMetaLine(board, note, listenButton(shownText(note), noteLabel(note), () => termWords(board.session && board.session.doc, [note])(note)));
  return extras.length ? h("div", { class: "note-extras" }, ...extras, meta) : meta;
}

/** "by Amina", or "by you" on one's own note (short enough to stay whole on a card).
 * @param {NoteBoard} board @param {any} note @param {Node | null} listen */
function noteMetaLine(board, note, listen) {
  const who = board.isMine(note.id) ? t("note_by_you") : note.author ? t("note_by", { name: note.author }) : "";
  return h(
    "p",
    { class: "note-meta" },
    h("span", { class: "who", title: who || undefined }, who),
    note.lang ? h("abbr", { class: "tag", title: langName(note.lang), lang: note.lang }, note.lang.toUpperCase()) : null,
    listen,
  );
}

/** [− take back] n [+ add] with accessible names, plus the total when votes are visible.
 * @param {NoteBoard} board @param {VoteActions} actions @param {any} note @param {{big?: boolean, disagree?: boolean}} [opts] */
export function voteControls(board, actions, note, { big = false, disagree = big } = {}) {
  const app = board;
  const mine = app.myVotes(note.id);
  const can = app.canVote();
  const total = app.totalVotes(note.id);
  if (app.role !== "participant") {
    // Hidden voting: the board (maybe on a shared screen) says so instead of a misleading "● 0";
    // the facilitator reads the live counts in the panel.
    if (app.session.settings().votes_visibility === "hidden") {
      return ["vote", "results"].includes(app.session.phase()) ? h("p", { class: "votes votes-hidden" }, t("votes_hidden")) : null;
    }
    if (total === null) return null;
    const label = t("total_dots", { n: total });
    return h("p", { class: "votes" }, h("span", { class: "total-dots", title: label }, h("span", { "aria-hidden": "true" }, `● ${fmtNumber(total)}`), h("span", { class: "sr-only" }, label)));
  }
  const short = noteLabel(note);
  return h(
    "div",
    { class: `votes${big ? " votes-big" : ""}` },
    h("button", {
      type: "button",
      class: "vote-btn vote-remove",
      "data-fk": `vr:${note.id}`,
      disabled: !can || mine === 0,
      "aria-label": t("vote_remove_on", { text: short }),
      title: t("vote_remove"),
      onclick: (e) => { e.stopPropagation(); actions.vote(note.id, -1); },
    }, "−"),
    // "Your dots: 2" is read as text (an aria-label on a plain span is not announced).
    h("span", { class: "my-dots" }, h("span", { "aria-hidden": "true" }, "●".repeat(Math.min(mine, 5)) || "○", mine > 5 ? fmtNumber(mine) : ""), h("span", { class: "sr-only" }, t("your_dots", { n: mine }))),
    h("button", {
      type: "button",
      class: "vote-btn vote-add",
      "data-fk": `va:${note.id}`,
      disabled: !can,
      "aria-describedby": app.votes.remaining === 0 ? "votes-none-left" : undefined,
      "aria-label": t("vote_add_on", { text: short }),
      title: t("vote_add"),
      onclick: (e) => {
        e.stopPropagation();
        // No dots left: say so (the button stays usable, not greyed out).
        if (app.votes.remaining === 0) toast(t("votes_none_left"), "warn");
        else actions.vote(note.id, 1);
      },
    }, "+●"),
    total !== null ? h("span", { class: "total-dots", title: t("total_dots", { n: total }) }, h("span", { "aria-hidden": "true" }, t("total_dots_short", { n: total })), h("span", { class: "sr-only" }, t("total_dots", { n: total }))) : null,
    // On the big controls (the phone's vote list, a note's sheet) and the outline (keyboard and
    // screen reader): a card on the canvas has no room.
    disagree ? disagreeButton(board, actions, note, short, can) : null,
  );
}

/** "I disagree" beside the dots, only while the board uses marks (the setting is read at every
 * render, so turning it on or off shows or hides it live). Pressed = my mark is on this idea.
 * @param {NoteBoard} app @param {VoteActions} actions @param {any} note @param {string} short @param {boolean} can */
function disagreeButton(app, actions, note, short, can) {
  if (!app.disagreeOn || !app.disagreeOn() || !app.disagreeLeft || !app.myMark) return null;
  const marked = app.myMark(note.id);
  const { left, budget } = app.disagreeLeft();
  const dotted = app.myVotes(note.id) > 0; // one cannot choose an idea and disagree with it
  return h(
    "button",
    {
      type: "button",
      class: `vote-btn disagree-btn${marked ? " is-on" : ""}`,
      "data-fk": `vd:${note.id}`,
      disabled: !can || dotted,
      "aria-pressed": marked ? "true" : "false",
      "aria-label": marked ? t("disagree_take_back", { text: short }) : t("disagree_on", { text: short }),
      title: dotted ? t("disagree_stance_conflict") : t("disagree_left", { n: left, budget }),
      onclick: (/** @type {Event} */ e) => {
        e.stopPropagation();
        if (marked) actions.disagree(note.id, -1);
        else if (left === 0) toast(t("disagree_none_left"), "warn");
        else actions.disagree(note.id, 1);
      },
    },
    h("span", { "aria-hidden": "true" }, "✕ "),
    t("disagree_btn"),
    h("span", { class: "disagree-left", "aria-hidden": "true" }, t("disagree_left_short", { left, budget })),
  );
}


/** How an idea is named in the results (screen, panel, projector): its picture or player, its text
 * in the reader's language (a machine translation marked), or its kind when it has no text.
 * `media`: {id, token} (an app, or the projector's board id and token).
 * @param {any} media @param {(id: string) => any} noteOf */
export function ideaTitle(media, noteOf) {
  return (/** @type {any} */ item) => {
    const note = noteOf(item.note_id);
    if (!note) return item.text || t("label_empty_note");
    const shown = shownText(note);
    const label = noteLabel(note);
    return h(
      "span",
      { class: `idea idea-${note.kind || "text"}` },
      shown.text ? h("span", { class: "idea-text", lang: shown.lang || undefined }, shown.text) : h("span", { class: "idea-text" }, label),
      shown.translated ? h("span", { class: "tr-tag" }, translatedFrom(note, shown.machine)) : null,
      mediaView(media, note, label),
    );
  };
}
