// @ts-check
// How a note is shown wherever it appears (canvas, outline, vote list, replay): its author line and
// its vote buttons. No imports of board.js: the board, the canvas and the outline all use this.
import { h } from "./util.js";
import { t, langName, fmtNumber } from "./i18n.js";
import { toast } from "./ui.js";

import { COLORS } from "./schema.js";
import { mediaView } from "./media.js";
import { listenButton } from "./speech.js";
import { shownText, translationToggle } from "./translations.js";

export { COLORS };

/** The text a reader sees (their language first). @param {any} note */
export { shownText };

/** Photo or voice, the translation line and the listen button, then the meta line.
 * @param {any} app @param {any} note */
export function noteMeta(app, note) {
  const extras = [mediaView(app, note), translationToggle(note, () => app.renderMain && app.renderMain())].filter(Boolean);
  // The listen button sits on the author line: the card keeps its height for the text.
  const meta = noteMetaLine(app, note, listenButton(shownText(note)));
  return extras.length ? h("div", { class: "note-extras" }, ...extras, meta) : meta;
}

/** "by Amina", or "by you" on one's own note (short enough to stay whole on a card).
 * @param {any} app @param {any} note @param {Node | null} listen */
function noteMetaLine(app, note, listen) {
  const who = app.isMine(note.id) ? t("note_by_you") : note.author ? t("note_by", { name: note.author }) : "";
  return h(
    "p",
    { class: "note-meta" },
    h("span", { class: "who", title: who || undefined }, who),
    note.lang ? h("abbr", { class: "tag", title: langName(note.lang), lang: note.lang }, note.lang.toUpperCase()) : null,
    listen,
  );
}

/** [− take back] n [+ add] with accessible names, plus the total when votes are visible.
 * @param {any} app @param {any} note @param {{big?: boolean}} [opts] */
export function voteControls(app, note, { big = false } = {}) {
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
  const short = note.text.length > 60 ? `${note.text.slice(0, 57)}…` : note.text;
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
      onclick: (e) => { e.stopPropagation(); app.vote(note.id, -1); },
    }, "−"),
    h("span", { class: "my-dots", "aria-label": t("your_dots", { n: mine }) }, "●".repeat(Math.min(mine, 5)) || "○", mine > 5 ? fmtNumber(mine) : ""),
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
        else app.vote(note.id, 1);
      },
    }, "+●"),
    total !== null ? h("span", { class: "total-dots", title: t("total_dots", { n: total }) }, h("span", { "aria-hidden": "true" }, t("total_dots_short", { n: total })), h("span", { class: "sr-only" }, t("total_dots", { n: total }))) : null,
  );
}

