// @ts-check
// The board's sheets (dialogs): compose or edit a note, a note's actions, a cluster's, a new
// cluster, who is here, the notes waiting for a translation. Each reads the board (state.js) and
// acts through the controller (controller.js).
import { h, groupShape } from "../util.js";
import { t, getLang, langName, langNoun, fmtNumber } from "../i18n.js";
import { guessLang } from "../langguess.js";
import { openSheet, field } from "../ui.js";
import { noteMeta, voteControls, COLORS, shownText } from "../noteview.js";
import { mediaPicker } from "../media.js";
import { translateForm, shownTitle, waitingFor } from "../translations.js";
import { groupName } from "../groups.js";
import { DEFAULT_SETTINGS } from "../schema.js";
import { store, keys } from "../util.js";
import { readPage, listenScreenButton } from "../listen.js";

/**
 * What the sheets need from around them: the facilitation extras' buttons (extras.js), showing a
 * new cluster, and redrawing the main view (a translation toggled in a sheet).
 * @typedef {{
 *   noteActions(note: any, close: () => void): Node[],
 *   clusterActions(cluster: any, close: () => void): Node | null,
 *   revealCluster(id: string): void,
 *   rerender(): void,
 * }} SheetHooks
 */

export class BoardSheets {
  /** @param {import("./state.js").BoardState} board @param {import("./controller.js").BoardController} actions @param {SheetHooks} hooks */
  constructor(board, actions, hooks) {
    this.board = board;
    this.session = board.session;
    this.actions = actions;
    this.hooks = hooks;
  }

  /** @param {any} [existing] a note (or a draft) to edit; none: a new note @param {string | null} [presetCluster] */
  openComposer(existing = null, presetCluster = null) {
    const b = this.board;
    const s = this.session;
    const settings = s.settings();
    const max = settings.max_note_length || DEFAULT_SETTINGS.max_note_length;
    const langs = b.languages();
    let color = existing ? existing.color : store.get(keys.noteColor, "yellow");
    let lang = existing ? existing.lang || getLang() : langs.includes(getLang()) ? getLang() : langs[0];
    // A new note goes to no cluster unless its author picks one (not the cluster that happens to be on screen).
    const lookingAt = presetCluster ?? (existing ? existing.cluster : "");
    openSheet(existing ? t("composer_edit_heading") : t("composer_heading"), (close) => {
      // No maxLength: a pasted text is never cut mid-sentence without a word; the counter shows the
      // limit while typing and says how much is too much.
      const text = /** @type {HTMLTextAreaElement} */ (h("textarea", { id: "composer-text", rows: window.innerHeight < 700 ? 3 : 4, placeholder: t("composer_ph"), required: true, "aria-describedby": "composer-count" }));
      text.value = existing ? existing.text : "";
      const count = h("p", { class: "help composer-count", id: "composer-count", "aria-live": "polite" });
      const upd = () => {
        const left = max - text.value.length;
        const msg = left >= 0 ? t("composer_chars", { n: left, max }) : t("composer_over", { n: -left, max });
        if (count.textContent !== msg) count.textContent = msg;
        count.classList.toggle("is-over", left < 0);
        if (left < 0) text.setAttribute("aria-invalid", "true");
        else text.removeAttribute("aria-invalid");
      };
      text.addEventListener("input", upd);
      upd();
      text.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) form.requestSubmit();
      });
      const swatches = h(
        "div",
        { class: "swatches", role: "radiogroup", "aria-label": t("composer_color") },
        COLORS.map((c) =>
          h(
            "label",
            { class: `swatch note-${c}` },
            h("input", { type: "radio", name: "color", value: c, checked: c === color, onchange: () => (color = c) }),
            h("span", null, t(`color_${c}`)),
          ),
        ),
      );
      // The note's language follows its text (langguess.js) until the person picks one themselves.
      let langPicked = !!existing;
      const langSel = /** @type {HTMLSelectElement} */ (h("select", { name: "lang", onchange: (/** @type {any} */ e) => { lang = e.target.value; langPicked = true; guessed.textContent = ""; } }, langs.map((l) => h("option", { value: l, selected: l === lang }, langName(l)))));
      const guessed = h("p", { class: "help composer-lang-guess", id: "composer-lang-guess", "aria-live": "polite" });
      text.addEventListener("input", () => {
        if (langPicked) return;
        const g = guessLang(text.value, langs);
        if (!g || g === lang) return;
        lang = g;
        langSel.value = g;
        guessed.textContent = t("composer_lang_guessed", { lang: langNoun(g) });
      });
      const clusters = s.clusterList();
      const clusterSel = /** @type {HTMLSelectElement | null} */ (clusters.length
        ? h("select", { name: "cluster" }, h("option", { value: "" }, t("no_cluster")), clusters.map((/** @type {any} */ c) => h("option", { value: c.id, selected: c.id === lookingAt }, shownTitle(c))))
        : null);
      const draft = !existing && b.draftMode();
      // Photo and voice notes go straight to the board (their bytes are already on the server).
      const picker = !existing && !draft ? mediaPicker(b) : null;
      const form = /** @type {HTMLFormElement} */ (h(
        "form",
        {
          class: "composer",
          noValidate: true,
          onsubmit: (/** @type {Event} */ e) => {
            e.preventDefault();
            const value = text.value.trim();
            const attached = picker ? picker.value() : null;
            if (!value && !attached) return text.focus();
            if (value.length > max) return text.focus(); // the counter says by how much
            store.set(keys.noteColor, color);
            const cl = clusterSel ? clusterSel.value : "";
            if (existing) {
              if (existing.draft) {
                this.actions.changeDraft(existing.id, { text: value, color, lang, cluster: cl });
              } else {
                this.actions.editNote(existing.id, { text: value, color, lang });
                if (clusterSel && cl !== existing.cluster) this.actions.moveToCluster(existing.id, cl);
              }
            } else {
              this.actions.postNote({ text: value, color, lang, cluster: cl, ...(attached || {}) });
            }
            close();
          },
        },
        listenScreenButton(() => readPage(form)),
        field(t("composer_text_label"), text),
        count,
        picker ? picker.el : null,
        h("fieldset", { class: "field" }, h("legend", null, t("composer_color")), swatches),
        h("div", { class: "field-row" }, h("div", null, field(t("composer_lang"), langSel), guessed), clusterSel ? field(t("composer_cluster"), clusterSel) : null),
        draft ? h("p", { class: "device-only" }, t("only_on_device")) : null,
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "btn", onclick: close }, t("cancel")),
          h("button", { type: "submit", class: "btn btn-primary btn-big" }, existing ? t("save") : draft ? t("composer_keep") : t("composer_send")),
        ),
      ));
      return form;
    });
  }

  /** Tap on a note: its actions (vote, edit, delete, move). Works the same on phone and desktop. @param {string} noteId */
  openNoteSheet(noteId) {
    const b = this.board;
    const s = this.session;
    const note = s.noteList().find((/** @type {any} */ n) => n.id === noteId);
    if (!note) return;
    openSheet(t("note_actions"), (close) => {
      const body = h("div", { class: "note-sheet" });
      body.append(
        h("div", { class: `note-preview note-${note.color}` }, shownText(note).text ? h("p", { lang: shownText(note).lang || undefined }, shownText(note).text) : null, noteMeta(b, note, this.hooks.rerender)),
      );
      if (b.canVote() || b.myVotes(note.id)) body.append(voteControls(b, this.actions, note, { big: true }));
      body.append(...this.hooks.noteActions(note, close)); // follow me, hide (extras.js)
      const tr = b.canEditBoard() ? translateForm(b, note, close) : null;
      if (tr) body.append(tr);
      if (b.canEditBoard()) {
        const clusters = s.clusterList();
        if (clusters.length) {
          const sel = /** @type {HTMLSelectElement} */ (h("select", { name: "move" }, h("option", { value: "" }, t("no_cluster")), clusters.map((/** @type {any} */ c) => h("option", { value: c.id, selected: c.id === note.cluster }, shownTitle(c)))));
          body.append(
            h(
              "div",
              { class: "field-row" },
              field(t("note_move_to"), sel),
              h("button", { type: "button", class: "btn", onclick: () => { this.actions.moveToCluster(note.id, sel.value); close(); } }, t("note_move_btn")),
            ),
          );
        }
      }
      if (b.canEditNote(note.id)) {
        body.append(
          h(
            "div",
            { class: "actions" },
            h("button", { type: "button", class: "btn btn-danger", onclick: () => { if (confirm(t("confirm_delete"))) { this.actions.deleteNote(note.id); close(); } } }, t("delete")),
            h("button", { type: "button", class: "btn btn-primary", onclick: () => { close(); this.openComposer(note); } }, t("edit")),
          ),
        );
      }
      return body;
    }, { initialFocus: b.canVote() ? ".vote-add" : "button" }); // never an empty box (it opens the keyboard)
  }

  /** @param {string} clusterId */
  openClusterSheet(clusterId) {
    const b = this.board;
    const s = this.session;
    const c = s.clusterList().find((/** @type {any} */ x) => x.id === clusterId);
    if (!c || !b.canEditBoard()) return;
    openSheet(t("cluster_rename"), (close) => {
      const input = /** @type {HTMLInputElement} */ (h("input", { type: "text", maxLength: 80, value: c.title }));
      // The title in each board language: readers see theirs (empty: they see the main title).
      const perLang = b.languages().map((l) => /** @type {[string, HTMLInputElement]} */ ([l, h("input", { type: "text", maxLength: 200, lang: l, value: (c.titles && c.titles[l]) || "", "data-lang": l })]));
      const others = s.clusterList().filter((/** @type {any} */ x) => x.id !== clusterId);
      const mergeSel = /** @type {HTMLSelectElement | null} */ (others.length ? h("select", null, others.map((/** @type {any} */ o) => h("option", { value: o.id }, shownTitle(o)))) : null);
      return h(
        "div",
        null,
        h(
          "form",
          {
            onsubmit: (/** @type {Event} */ e) => {
              e.preventDefault();
              this.actions.renameCluster(clusterId, input.value.trim(), Object.fromEntries(perLang.map(([l, el]) => [l, el.value.trim()])));
              close();
            },
          },
          field(t("cluster_title_label"), input),
          h("fieldset", { class: "field cluster-titles" }, h("legend", null, t("cluster_titles_legend")),
            perLang.map(([l, el]) => field(t("cluster_title_in", { lang: langName(String(l)) }), el))),
          h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, t("save"))),
        ),
        mergeSel
          ? h(
              "div",
              { class: "field-row" },
              field(t("cluster_merge_into"), mergeSel),
              h("button", { type: "button", class: "btn", onclick: () => { this.actions.mergeCluster(clusterId, mergeSel.value); close(); } }, t("cluster_merge_btn")),
            )
          : null,
        this.hooks.clusterActions(c, close), // follow me (extras.js)
        b.isFacilitator()
          ? h(
              "div",
              { class: "actions" },
              h("button", { type: "button", class: "btn", id: "tidy-cluster", onclick: () => { this.actions.tidy(clusterId); close(); } }, "▦ ", t("tidy_cluster")),
              h("button", { type: "button", class: "btn btn-danger", onclick: () => { this.actions.deleteCluster(clusterId); close(); } }, t("cluster_delete")),
            )
          : null,
      );
    });
  }

  /** @param {{x: number, y: number} | null} [at] */
  openNewCluster(at = null) {
    openSheet(t("new_cluster"), (close) => {
      const input = /** @type {HTMLInputElement} */ (h("input", { type: "text", maxLength: 80, id: "new-cluster-title" }));
      return h(
        "form",
        { onsubmit: (/** @type {Event} */ e) => { e.preventDefault(); const id = this.actions.createCluster(input.value.trim(), at); if (id) this.hooks.revealCluster(id); close(); } },
        field(t("cluster_title_label"), input),
        h("div", { class: "actions" }, h("button", { type: "button", class: "btn", onclick: close }, t("cancel")), h("button", { type: "submit", class: "btn btn-primary" }, t("save"))),
      );
    });
  }

  openPresence() {
    const list = this.session.presence();
    const groups = this.board.groups();
    /** @type {Map<string, any[]>} */
    const byGroup = new Map();
    for (const p of list) {
      const key = p.role === "facilitator" ? `§${t("facilitator_role")}` : p.group || "";
      if (!byGroup.has(key)) byGroup.set(key, []);
      byGroup.get(key)?.push(p);
    }
    openSheet(t("presence_heading"), () =>
      h(
        "div",
        { class: "presence" },
        [...byGroup.entries()].map(([g, people]) =>
          h(
            "section",
            null,
            h("h3", null, g.startsWith("§") ? g.slice(1) : h("span", null, h("span", { class: "shape", "aria-hidden": "true" }, groupShape(groups, g)), " ", groupName(this.session.settings(), g)), ` (${fmtNumber(people.length)})`),
            h("ul", null, people.map((p) => h("li", null, p.name || "—", p.self ? ` (${t("presence_you")})` : "", p.lang ? h("span", { class: "tag", lang: p.lang }, p.lang.toUpperCase()) : null))),
          ),
        ),
      ),
    );
  }

  /** The notes waiting for a translation into `lang`, each with its box (closed until asked). @param {string} lang */
  openWaiting(lang) {
    const b = this.board;
    openSheet(t("translations_waiting_heading", { lang: langName(lang) }), (close) => {
      const list = waitingFor(this.session.noteList(), lang);
      return h("ul", { class: "waiting-list" }, list.map((/** @type {any} */ n) =>
        h("li", { class: `note-preview note-${n.color}` },
          n.text ? h("p", { lang: n.lang || undefined }, n.text) : null,
          noteMeta(b, n, this.hooks.rerender),
          translateForm(b, n, () => { if (!waitingFor(this.session.noteList(), lang).length) close(); }, lang))));
    }, { initialFocus: "button" });
  }
}
