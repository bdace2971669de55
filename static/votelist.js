// @ts-check
// The vote list: on a phone the vote phase opens as a list of ideas with big "+ / −" buttons and the
// dots left always in sight ("2 of 3 dots left"; "no dots left: remove one to move it").
import { h, fill } from "./util.js";
import { t } from "./i18n.js";
import { voteControls, noteMeta, shownText } from "./noteview.js";
import { shownTitle } from "./translations.js";

/** @param {import("./board/state.js").BoardState} app the board @param {import("./noteview.js").VoteActions} actions @param {HTMLElement} wrap */
export function renderVoteList(app, actions, wrap) {
  const s = app.session;
  const notes = s.noteList();
  const clusters = s.clusterList();
  const budget = app.votes.budget ?? s.settings().vote_budget;
  const remaining = app.votes.remaining ?? budget;
  const sections = clusters.map((/** @type {any} */ c) => ({ title: shownTitle(c), notes: notes.filter((/** @type {any} */ n) => n.cluster === c.id) }));
  const known = new Set(clusters.map((/** @type {any} */ c) => c.id));
  sections.push({ title: clusters.length ? t("no_cluster") : "", notes: notes.filter((/** @type {any} */ n) => !n.cluster || !known.has(n.cluster)) });
  const focusKey = wrap.contains(document.activeElement) && document.activeElement instanceof HTMLElement ? document.activeElement.dataset.fk : null;
  fill(
    wrap,
    h("h2", { class: "votelist-h" }, t("votelist_heading")),
    h("p", { class: "help" }, t("votelist_help")),
    h(
      "p",
      { class: `votelist-left${remaining === 0 ? " is-empty" : ""}`, id: "votes-status", role: "status" },
      t("votes_left", { n: budget, left: remaining, budget }),
      remaining === 0 ? h("span", { class: "votelist-none", id: "votes-none-left" }, " — ", t("votes_none_left")) : null,
    ),
    app.disagreeOn() ? disagreeStatus(app) : null,
    sections
      .filter((sec) => sec.notes.length)
      .map((sec) =>
        h(
          "section",
          { class: "votelist-sec" },
          sec.title ? h("h3", null, sec.title) : null,
          h(
            "ul",
            { class: "votelist" },
            sec.notes.map((/** @type {any} */ n) => {
              // Every kind of note whole: the picture or the player, the text in the reader's
              // language (marked when translated), who wrote it, then the buttons named after it.
              const shown = shownText(n);
              return h(
                "li",
                { class: `vote-item note-${n.color}`, "data-id": n.id },
                shown.text ? h("p", { class: "vote-text", lang: shown.lang || undefined }, shown.text) : null,
                noteMeta(app, n, () => renderVoteList(app, actions, wrap)),
                voteControls(app, actions, n, { big: true }),
              );
            }),
          ),
        ),
      ),
  );
  if (focusKey) {
    const el = wrap.querySelector(`[data-fk="${CSS.escape(focusKey)}"]`);
    if (el instanceof HTMLElement) el.focus({ preventScroll: true });
  }
}

/** The "I disagree" marks left, in sight like the dots (only while the board uses marks). @param {import("./board/state.js").BoardState} app */
function disagreeStatus(app) {
  const { left, budget } = app.disagreeLeft();
  return h(
    "p",
    { class: `votelist-left votelist-disagree${left === 0 ? " is-empty" : ""}`, id: "disagree-status", role: "status" },
    t("disagree_left", { n: left, budget }),
    h("span", { class: "help" }, " — ", t("disagree_help")),
  );
}
