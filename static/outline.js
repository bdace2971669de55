// @ts-check
// The outline view: clusters and notes as lists. Everything the canvas does, by keyboard and screen reader:
// post, edit, delete, move to a cluster, vote. New notes are announced by board/board.js (polite live region).
// It reads the board (board/state.js), acts through the controller (board/controller.js) and opens
// the sheets (board/sheets.js).
import { speak, speakerIcon } from "./speech.js";
import { h } from "./util.js";
import { t, getLang, langName } from "./i18n.js";
import { guessLang } from "./langguess.js";
import { noteMeta, voteControls, COLORS, shownText, noteLabel } from "./noteview.js";
import { shownTitle } from "./translations.js";
import { DEFAULT_SETTINGS } from "./schema.js";
import { field } from "./ui.js";
import { store, keys } from "./storage.js";
import { spokenNotes } from "./glossary.js";

/**
 * Render the outline into `wrap` (a persistent div.outline). The "add a note" form is kept as long as
 * its options do not change, so someone typing in it is never interrupted by others' activity; the
 * lists below are rebuilt from cached items.
 */
/**
 * @typedef {{
 *   board: import("./board/state.js").BoardState,
 *   actions: import("./board/controller.js").BoardController,
 *   sheets: import("./board/sheets.js").BoardSheets,
 *   rerender: () => void,
 * }} OutlineParts
 */

/** @param {OutlineParts["board"]} board @param {OutlineParts["actions"]} actions @param {OutlineParts["sheets"]} sheets @param {HTMLElement} wrap */
export function renderOutline(board, actions, sheets, wrap) {
  /** @type {OutlineParts} */
  const parts = { board, actions, sheets, rerender: () => renderOutline(board, actions, sheets, wrap) };
  const s = board.session;
  const notes = s.noteList();
  const clusters = s.clusterList();
  const canEdit = board.canEditBoard();
  const showVotes = ["vote", "results"].includes(s.phase()) || Object.keys(board.votes.mine).length > 0;

  const formSig = [canEdit && board.role !== "viewer", board.draftMode(), clusters.map((c) => `${c.id}:${shownTitle(c)}`).join("|"),
    board.languages().join(","), s.settings().max_note_length, document.documentElement.lang].join("\u0001");
  /** The form's slot remembers the options it was built for (`_sig`). @type {any} */
  let formSlot = wrap.querySelector(":scope > .ol-form-slot");
  if (!formSlot) {
    formSlot = h("div", { class: "ol-form-slot" });
    wrap.prepend(formSlot);
  }
  if (formSlot._sig !== formSig) {
    const old = /** @type {HTMLTextAreaElement | null} */ (formSlot.querySelector("#outline-new-text"));
    const typed = old ? old.value : "";
    const active = document.activeElement;
    const hadFocus = active instanceof HTMLElement && formSlot.contains(active) ? active.dataset.fk : null;
    formSlot._sig = formSig;
    formSlot.replaceChildren(...(canEdit && board.role !== "viewer" ? [addForm(parts, clusters)] : []));
    const text = /** @type {HTMLTextAreaElement | null} */ (formSlot.querySelector("#outline-new-text"));
    if (text && typed) text.value = typed;
    if (hadFocus) {
      const el = /** @type {HTMLElement | null} */ (formSlot.querySelector(`[data-fk="${hadFocus}"]`));
      if (el) el.focus();
    }
  }

  const lists = h("div", { class: "ol-lists" });
  if (board.role === "participant" && s.phase() === "vote") {
    const budget = board.votes.budget ?? s.settings().vote_budget;
    lists.append(h("p", { class: "outline-votes", "aria-live": "off" }, "● ", t("votes_left", { n: budget, left: board.votes.remaining ?? budget, budget })));
  }

  const sections = clusters.map((c) => ({ id: c.id, title: shownTitle(c), notes: notes.filter((n) => n.cluster === c.id) }));
  const known = new Set(clusters.map((c) => c.id));
  sections.push({ id: "", title: t("no_cluster"), notes: notes.filter((n) => !n.cluster || !known.has(n.cluster)) });

  for (const sec of sections) {
    if (!sec.id && !sec.notes.length && clusters.length) continue;
    const hid = `ol-${sec.id || "none"}`;
    lists.append(
      h(
        "section",
        { class: "ol-cluster", "aria-labelledby": hid },
        h(
          "div",
          { class: "ol-head" },
          h("h2", { id: hid }, sec.title, " ", h("span", { class: "count" }, `(${t("notes_count", { n: sec.notes.length })})`)),
          sec.notes.length && "speechSynthesis" in window ? h("button", { type: "button", class: "btn btn-small listen-cluster", "aria-label": `${t("listen_cluster")}: ${sec.title}`, onclick: () => speak(spokenNotes(s.doc, sec.notes, shownText)) }, speakerIcon(), " ", t("listen_cluster")) : null,
          sec.id && canEdit
            ? h("button", { type: "button", class: "btn btn-small", "data-fk": `cr:${sec.id}`, onclick: () => sheets.openClusterSheet(sec.id) }, t("cluster_rename"))
            : null,
        ),
        sec.notes.length
          ? h("ul", { class: "ol-notes" }, sec.notes.map((n) => cachedItem(parts, n, clusters, canEdit, showVotes)))
          : h("p", { class: "muted" }, notes.length ? "—" : t("empty_board")),
      ),
    );
  }
  if (canEdit) {
    lists.append(h("p", null, h("button", { type: "button", class: "btn", "data-fk": "new-cluster", onclick: () => sheets.openNewCluster() }, "▭ ", t("new_cluster"))));
  }
  const oldLists = wrap.querySelector(":scope > .ol-lists");
  if (oldLists) oldLists.replaceWith(lists);
  else wrap.append(lists);
}

// Rebuilding 500 list items (each with a cluster <select>) costs ~300 ms on a slow phone: items are
// kept per note and rebuilt only when something they show changed.
const itemCache = new WeakMap();

/** @param {OutlineParts} parts @param {any} n @param {any[]} clusters @param {boolean} canEdit @param {boolean} showVotes */
function cachedItem(parts, n, clusters, canEdit, showVotes) {
  const board = parts.board;
  let cache = itemCache.get(board);
  if (!cache) itemCache.set(board, (cache = new Map()));
  const clusterSig = clusters.map((c) => `${c.id}:${shownTitle(c)}`).join("|");
  // What the reader sees of the note too: a translation arriving, or "show original", rebuilds it.
  const shown = shownText(n);
  const sig = [n.text, shown.text, shown.lang, JSON.stringify(n.translations), JSON.stringify(n.wanted), n.duration, n.kind, n.media, n.color, n.cluster, n.author, n.lang, canEdit, showVotes, board.myVotes(n.id), board.totalVotes(n.id),
    board.canVote(), board.votes.remaining === 0, board.isMine(n.id), clusterSig, document.documentElement.lang,
    // branch results: the "I disagree" control follows the setting, my mark and my marks left
    board.disagreeOn(), board.myMark(n.id), board.disagreeLeft().left].join("\u0001");
  const hit = cache.get(n.id);
  if (hit && hit.sig === sig) return hit.el;
  const el = noteItem(parts, n, clusters, canEdit, showVotes);
  cache.set(n.id, { sig, el });
  return el;
}

/** @param {OutlineParts} parts @param {any} n @param {any[]} clusters @param {boolean} canEdit @param {boolean} showVotes */
function noteItem({ board, actions: act, sheets, rerender }, n, clusters, canEdit, showVotes) {
  const li = h("li", { class: `ol-note note-${n.color}`, dataset: { noteId: n.id } }); // (glossary.js marks its terms)
  const shown = shownText(n);
  const label = noteLabel(n);
  // (append() writes a null as the text "null": a voice note or a bare photo has no text line)
  if (shown.text) li.append(h("p", { class: "ol-text", lang: shown.lang || undefined }, shown.text));
  li.append(noteMeta(board, n, rerender));
  if (showVotes) li.append(voteControls(board, act, n, { disagree: true }));
  const actions = h("div", { class: "ol-actions" });
  if (canEdit && clusters.length) {
    const id = `mv-${n.id}`;
    const sel = h(
      "select",
      { id, "data-fk": `ms:${n.id}` },
      h("option", { value: "" }, t("no_cluster")),
      clusters.map((c) => h("option", { value: c.id, selected: c.id === n.cluster }, shownTitle(c))),
    );
    actions.append(
      h("label", { for: id, class: "sr-only" }, `${t("note_move_to")}: ${label}`),
      sel,
      h("button", { type: "button", class: "btn btn-small", "data-fk": `mb:${n.id}`, onclick: () => act.moveToCluster(n.id, sel.value) }, t("note_move_btn"), h("span", { class: "sr-only" }, `: ${label}`)),
    );
  }
  if (board.canEditNote(n.id)) {
    actions.append(
      h("button", { type: "button", class: "btn btn-small", "data-fk": `ed:${n.id}`, onclick: () => sheets.openComposer(n) }, t("edit"), h("span", { class: "sr-only" }, `: ${label}`)),
      h("button", { type: "button", class: "btn btn-small btn-danger", "data-fk": `dl:${n.id}`, onclick: () => { if (confirm(t("confirm_delete"))) act.deleteNote(n.id); } }, t("delete"), h("span", { class: "sr-only" }, `: ${label}`)),
    );
  }
  if (actions.childNodes.length) li.append(actions);
  return li;
}

/** @param {OutlineParts} parts @param {any[]} clusters */
function addForm({ board, actions }, clusters) {
  const s = board.session;
  const max = s.settings().max_note_length || DEFAULT_SETTINGS.max_note_length;
  const langs = board.languages();
  const text = h("textarea", { id: "outline-new-text", rows: 2, maxLength: max, placeholder: t("composer_ph"), "data-fk": "new-text" });
  const langSel = h("select", { id: "outline-new-lang" }, langs.map((l) => h("option", { value: l, selected: l === getLang() }, langName(l))));
  const clusterSel = clusters.length
    ? h("select", { id: "outline-new-cluster" }, h("option", { value: "" }, t("no_cluster")), clusters.map((c) => h("option", { value: c.id }, shownTitle(c))))
    : null;
  const draft = board.draftMode();
  // The same counter as the composer's, and the language follows the text until one is picked.
  let langPicked = false;
  langSel.addEventListener("change", () => (langPicked = true));
  text.addEventListener("input", () => {
    const help = form.querySelector(`#${text.id}-help`);
    if (help) help.textContent = t("composer_chars", { n: Math.max(0, max - text.value.length), max });
    const g = langPicked ? null : guessLang(text.value, langs);
    if (g) langSel.value = g;
  });
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) form.requestSubmit();
  });
  const form = h(
    "form",
    {
      class: "ol-add card",
      "aria-labelledby": "ol-add-h",
      onsubmit: (e) => {
        e.preventDefault();
        const v = text.value.trim();
        if (!v) return text.focus();
        const color = store.get(keys.noteColor, COLORS[0]);
        actions.postNote({ text: v, color, lang: langSel.value, cluster: clusterSel ? clusterSel.value : "" });
        text.value = "";
        langPicked = false;
        langSel.value = langs.includes(getLang()) ? getLang() : langs[0];
        text.dispatchEvent(new Event("input"));
        text.focus();
      },
    },
    h("h2", { id: "ol-add-h" }, t("add_note")),
    field(t("composer_text_label"), text, t("composer_chars", { n: max, max })),
    h("div", { class: "field-row" }, field(t("composer_lang"), langSel), clusterSel ? field(t("composer_cluster"), clusterSel) : null),
    draft ? h("p", { class: "device-only" }, t("only_on_device")) : null,
    h("button", { type: "submit", class: "btn btn-primary", "data-fk": "new-submit" }, draft ? t("composer_keep") : t("composer_send")),
  );
  return form;
}
