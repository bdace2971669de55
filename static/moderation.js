// @ts-check
// Moderation (server/http/moderation.py): the facilitator hides a note with a reason and restores it.
// A hidden note is out of the shared document: other participants' devices never receive it again.
// The facilitator sees every hidden note in the panel (with "restore"); its author sees their own in
// a tray under the top bar, with the reason.
import { h, api } from "./util.js";
import { store, keys } from "./storage.js";
import { t, fmtTime } from "./i18n.js";
import { toast, openSheet, field, errorText, announce } from "./ui.js";
import { noteLabel } from "./noteview.js";

const REFRESH_MS = 5000;
const MAX_REASON = 200;

export class Moderation {
  /** @param {import("./board/state.js").BoardState} board @param {import("./extras.js").BoardScreen} screen */
  constructor(board, screen) {
    this.board = board;
    this.screen = screen;
    /** @type {any[]|null} */ this.hidden = null;
    this._at = 0;
    this._loading = false;
    /** @type {Set<string>} */ this._myPresent = new Set();
    this.tray = h("section", { class: "hidden-tray", id: "hidden-tray", "aria-labelledby": "hidden-tray-h", hidden: true });
    this._traySig = "";
  }

  base() {
    return `/api/boards/${encodeURIComponent(this.board.id)}`;
  }

  async load() {
    if (this._loading || this.board.role === "viewer") return;
    this._loading = true;
    try {
      const before = this.hidden === null ? null : new Set(this.hidden.map((/** @type {any} */ n) => n.note_id));
      this.hidden = await api("GET", `${this.base()}/hidden`, { token: this.board.token });
      this._at = Date.now();
      // Its author is told, in their language, which of their notes the facilitator hid.
      if (before && this.board.role === "participant") {
        for (const n of this.hidden || []) {
          if (!before.has(n.note_id) && this.board.isMine(n.note_id)) announce(t("mod_your_note_hidden", { text: noteLabel(n) }));
        }
      }
      // A hidden note of mine must not be posted again from the pending list (it would be refused).
      const ids = new Set((this.hidden || []).map((n) => n.note_id));
      const pending = store.get(keys.pending(this.board.id), []);
      if (pending.some((/** @type {any} */ p) => ids.has(p.id))) store.set(keys.pending(this.board.id), pending.filter((/** @type {any} */ p) => !ids.has(p.id)));
      this.renderTray();
      if (this.screen.panel) this.screen.panel.render(true);
    } catch {
      /* offline: keep the last list */
    } finally {
      this._loading = false;
    }
  }

  /** After every render: notice my notes leaving (hidden) or coming back (restored), keep the lists fresh. */
  afterRender() {
    const app = this.board;
    const screen = this.screen;
    const s = app.session;
    if (!s.synced || app.role === "viewer") return;
    const present = new Set();
    for (const id of s.liveNoteIds()) if (app.isMine(id)) present.add(id);
    const changed = present.size !== this._myPresent.size || [...this._myPresent].some((id) => !present.has(id));
    this._myPresent = present;
    const panelOpen = app.isFacilitator() && screen.panel && screen.panel.open;
    if (this.hidden === null || changed || (panelOpen && Date.now() - this._at > REFRESH_MS)) this.load();
    this.renderTray();
  }

  /** @param {any} note @param {string} reason */
  async hide(note, reason) {
    try {
      await api("POST", `${this.base()}/notes/${encodeURIComponent(note.id)}/hide`, { token: this.board.token, body: { reason } });
      toast(t("mod_hidden_done"));
      this.load();
      return true;
    } catch (e) {
      toast(errorText(e), "error");
      return false;
    }
  }

  /** @param {string} noteId */
  async restore(noteId) {
    try {
      await api("POST", `${this.base()}/notes/${encodeURIComponent(noteId)}/restore`, { token: this.board.token });
      toast(t("mod_restored"));
      this.load();
    } catch (e) {
      toast(errorText(e), "error");
    }
  }

  /** "Hide this note" in the note sheet (facilitator). @param {any} note @param {() => void} close */
  noteAction(note, close) {
    if (!this.board.isFacilitator()) return null;
    return h("button", { type: "button", class: "btn", id: "mod-hide", onclick: () => { close(); this.openHide(note); } }, "⊘ ", t("mod_hide"));
  }

  /** @param {any} note */
  openHide(note) {
    openSheet(t("mod_hide_heading"), (close) => {
      const reason = h("input", { type: "text", id: "mod-reason", maxLength: MAX_REASON, autocomplete: "off" });
      return h(
        "form",
        {
          class: "mod-form",
          onsubmit: async (/** @type {Event} */ e) => {
            e.preventDefault();
            if (await this.hide(note, /** @type {HTMLInputElement} */ (reason).value.trim())) close();
          },
        },
        h("blockquote", { class: `note-preview note-${note.color}`, lang: note.lang || undefined }, note.text),
        h("p", { class: "help" }, t("mod_hide_help")),
        field(t("mod_reason"), reason),
        h("div", { class: "actions" }, h("button", { type: "button", class: "btn", onclick: close }, t("cancel")), h("button", { type: "submit", class: "btn btn-danger", id: "mod-hide-confirm" }, t("mod_hide_btn"))),
      );
    });
  }

  /** The panel's list of hidden notes (facilitator). */
  panelSection() {
    const list = this.hidden || [];
    return h(
      "section",
      { class: "panel-sec", "aria-labelledby": "p-hidden", id: "panel-hidden" },
      h("h3", { id: "p-hidden" }, t("mod_panel_heading", { n: list.length })),
      list.length
        ? h("ul", { class: "hidden-list" }, list.map((n) => h(
            "li",
            { class: `hidden-item note-${n.color || "yellow"}`, dataset: { noteId: n.note_id } },
            h("p", { class: "hidden-text", lang: n.lang || undefined }, n.text),
            h("p", { class: "muted" }, n.reason ? t("mod_reason_is", { reason: n.reason }) : t("mod_no_reason"), " · ", fmtTime(n.hidden_at)),
            h("button", { type: "button", class: "btn btn-small", "data-fk": `restore:${n.note_id}`, onclick: () => this.restore(n.note_id) }, t("mod_restore")),
          )))
        : h("p", { class: "muted" }, t("mod_none")),
    );
  }

  /** The author's tray: my notes the facilitator hid, and why. */
  renderTray() {
    const app = this.board;
    const screen = this.screen;
    if (!this.tray.isConnected && screen.draftsEl) screen.draftsEl.after(this.tray);
    const mine = app.isFacilitator() ? [] : (this.hidden || []).filter((n) => n.mine);
    const sig = JSON.stringify([mine.map((n) => [n.note_id, n.text, n.reason]), document.documentElement.lang]);
    if (sig === this._traySig) return;
    this._traySig = sig;
    this.tray.hidden = !mine.length;
    this.tray.replaceChildren(
      ...(mine.length
        ? [
            h("h2", { id: "hidden-tray-h" }, t("mod_yours_heading", { n: mine.length })),
            h("p", { class: "muted" }, t("mod_yours_help")),
            h("ul", { class: "hidden-list" }, mine.map((n) => h(
              "li",
              { class: `hidden-item note-${n.color || "yellow"}` },
              h("p", { class: "hidden-text", lang: n.lang || undefined }, n.text),
              h("p", { class: "muted" }, n.reason ? t("mod_reason_is", { reason: n.reason }) : t("mod_no_reason")),
            ))),
          ]
        : []),
    );
  }
}
