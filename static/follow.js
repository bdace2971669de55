// @ts-check
// "Follow me": the facilitator brings everyone to a note, a cluster or a part of the board.
//
// Channel: `meta.follow` in the board document, written by the facilitator's own client (the rules let
// only the facilitator write `meta`; participants' writes are refused), as one plain JSON value
//   {kind: "note" | "cluster" | "area", id?: string, rect?: {x, y, w, h}, seq: number, at: ms}  or null.
// Why the document and not awareness: it is ordered with the board's edits in the one log (a focus on
// a cluster created a moment before never arrives before that cluster), it survives reconnects and
// reloads (a phone that reloads, or a projector opened later, goes where the room is), it needs no
// 15 s awareness renewal nor disappears when the facilitator's laptop sleeps, and the replay shows it.
// Its cost: one small update per "bring everyone here" (a few per workshop).
//
// Followers: a phone moves when `seq` changes, unless its person stepped out (kept per board on the
// device: storage key cobord:follow:<board>); stepping back in goes to the current focus. The
// projector (present.js) always follows: it shows only what is focused.
import { h, now } from "./util.js";
import { store, keys } from "./storage.js";
import { t } from "./i18n.js";
import { readableScale } from "./canvas.js";
import { NOTE_W, NOTE_H } from "./placement.js";
import { noteLabel, shownText } from "./noteview.js";
import { shownTitle } from "./translations.js";

const MARGIN = 24;
const MAX_SCALE = 1.25;

/** @typedef {{kind: string, id?: string, rect?: {x: number, y: number, w: number, h: number}, seq: number, at?: number}} Focus */

/** The current focus of a session (board or projector), or null. @param {any} session @returns {Focus|null} */
export function currentFocus(session) {
  const raw = session.meta && session.meta.get("follow");
  const f = raw && typeof raw.toJSON === "function" ? raw.toJSON() : raw;
  if (!f || typeof f !== "object" || !["note", "cluster", "area"].includes(f.kind)) return null;
  return { ...f, seq: Number(f.seq) || 0 };
}

/** What a focus shows, in words. @param {any} session @param {Focus} f */
export function focusLabel(session, f) {
  if (f.kind === "note") {
    const n = session.noteList().find((/** @type {any} */ x) => x.id === f.id);
    // In the reader's language; a photo or voice note without text by its kind and author.
    const shown = n ? shownText(n).text : "";
    const text = !n ? "…" : shown ? (shown.length > 40 ? `${shown.slice(0, 39)}…` : shown) : noteLabel(n);
    return t("follow_target_note", { text });
  }
  if (f.kind === "cluster") {
    const c = session.clusterList().find((/** @type {any} */ x) => x.id === f.id);
    return t("follow_target_cluster", { title: c ? shownTitle(c) : "…" });
  }
  return t("follow_target_area");
}

/**
 * Notes a focus covers (for the projector): the note, the cluster's notes, or the notes in the area.
 * @param {Focus} f @param {any[]} notes @returns {any[]}
 */
export function focusedNotes(f, notes) {
  if (f.kind === "note") return notes.filter((n) => n.id === f.id);
  if (f.kind === "cluster") return notes.filter((n) => n.cluster === f.id);
  const r = f.rect;
  if (!r) return [];
  return notes.filter((n) => n.x < r.x + r.w && n.x + NOTE_W > r.x && n.y < r.y + r.h && n.y + NOTE_H > r.y);
}

/** The board's side: the facilitator's commands, the followers' moves, and the bar saying which is which. */
export class Follow {
  /** @param {import("./board/state.js").BoardState} board @param {import("./extras.js").BoardScreen} screen */
  constructor(board, screen) {
    this.board = board;
    this.screen = screen;
    this.following = store.get(keys.follow(board.id), true) !== false;
    /** @type {number|null} */ this.seenSeq = null;
    /** @type {number|null} */ this.pendingSeq = null;
    this.bar = h("div", { class: "follow-bar", id: "follow-bar", role: "status", hidden: true });
    this._barSig = "";
    this._panelSig = "";
  }

  // ---- the facilitator ----
  /** @param {"note"|"cluster"|"area"} kind @param {string|null} id @param {{x: number, y: number, w: number, h: number}|null} [rect] */
  bring(kind, id, rect = null) {
    const s = this.board.session;
    const prev = currentFocus(s);
    /** @type {Focus} */
    const focus = { kind, seq: (prev ? prev.seq : 0) + 1, at: now() };
    if (id) focus.id = id;
    if (rect) focus.rect = { x: Math.round(rect.x), y: Math.round(rect.y), w: Math.round(rect.w), h: Math.round(rect.h) };
    s.doc.transact(() => s.meta.set("follow", focus));
  }
  /** What the facilitator's canvas shows now, in board units. */
  myView() {
    const c = this.screen.canvas;
    const { x, y, s } = c.view;
    return { x: -x / s, y: -y / s, w: c.size.w / s, h: c.size.h / s };
  }
  stop() {
    const s = this.board.session;
    s.doc.transact(() => s.meta.set("follow", null));
  }

  // ---- followers ----
  /** @param {boolean} on */
  setFollowing(on) {
    this.following = on;
    store.set(keys.follow(this.board.id), on);
    const f = currentFocus(this.board.session);
    this.renderBar(true); // first: the canvas is measured once the bar has its new size
    if (on && f) this.go(f);
  }

  /** After every render of the board: move when the focus changed (and we follow), refresh the bar. */
  afterRender() {
    const app = this.board;
    const screen = this.screen;
    const s = app.session;
    if (!s.synced) return;
    const f = currentFocus(s);
    const panelSig = f ? `${f.seq}` : "";
    if (screen.panel && panelSig !== this._panelSig) {
      this._panelSig = panelSig;
      screen.panel.render(true); // its "stop" button follows the focus
    }
    if (f && !app.isFacilitator() && f.seq !== this.seenSeq) {
      this.seenSeq = f.seq;
      if (this.following) this.pendingSeq = f.seq;
    }
    this.renderBar(); // first: the bar takes room, the canvas is measured after it
    if (f && this.pendingSeq === f.seq && screen.view === "canvas" && screen.canvas.attached) {
      this.pendingSeq = null;
      this.go(f);
    }
  }

  /** Centre the canvas on the focus, zoomed to fit it (never below readable text on a phone). @param {Focus} f */
  go(f) {
    const screen = this.screen;
    if (screen.view !== "canvas" || !screen.canvas.attached) {
      this.pendingSeq = f.seq; // done when the canvas shows again
      return;
    }
    const rect = this.rectOf(f);
    if (!rect) return;
    const c = screen.canvas;
    c.measure();
    const fit = Math.min((c.size.w - 2 * MARGIN) / rect.w, (c.size.h - 2 * MARGIN) / rect.h, MAX_SCALE);
    const scale = Math.max(readableScale(), fit); // never below readable text on a phone
    c.view = { s: scale, x: c.size.w / 2 - (rect.x + rect.w / 2) * scale, y: c.size.h / 2 - (rect.y + rect.h / 2) * scale };
    c.applyView();
    c.lastInteraction = Date.now(); // no "fit all" refit right after
    if (f.kind === "note" && f.id) {
      const el = c.noteEls.get(f.id);
      if (el) {
        el.classList.add("flash");
        setTimeout(() => el.classList.remove("flash"), 1600);
      }
    }
  }

  /** @param {Focus} f */
  rectOf(f) {
    const s = this.board.session;
    if (f.kind === "note") {
      const n = s.noteList().find((/** @type {any} */ x) => x.id === f.id);
      return n ? { x: n.x, y: n.y, w: NOTE_W, h: NOTE_H } : null;
    }
    if (f.kind === "cluster") {
      const frame = this.screen.canvas.place.frames(s.noteList(), s.clusterList()).get(f.id);
      return frame ? { x: frame.x, y: frame.y, w: frame.w, h: frame.h } : null;
    }
    return f.rect && f.rect.w > 0 && f.rect.h > 0 ? f.rect : null;
  }

  renderBar(force = false) {
    const app = this.board;
    const screen = this.screen;
    const f = currentFocus(app.session);
    if (!this.bar.isConnected && screen.banners) screen.banners.after(this.bar);
    const sig = f ? [f.seq, f.kind, f.id, focusLabel(app.session, f), this.following, app.isFacilitator(), document.documentElement.lang].join("|") : "";
    if (!force && sig === this._barSig) return;
    this._barSig = sig;
    this.bar.hidden = !f || app.role === "viewer";
    if (!f) return this.bar.replaceChildren();
    const label = focusLabel(app.session, f);
    const btn = (/** @type {string} */ id, /** @type {string} */ text, /** @type {() => void} */ onclick) => h("button", { type: "button", class: "btn btn-small", id, onclick }, text);
    if (app.isFacilitator()) {
      this.bar.replaceChildren(h("span", { class: "follow-text" }, "▶ ", t("follow_leading", { target: label })), btn("follow-stop", t("follow_stop"), () => this.stop()));
    } else if (this.following) {
      this.bar.replaceChildren(h("span", { class: "follow-text" }, "◉ ", t("follow_following", { target: label })), btn("follow-out", t("follow_step_out"), () => this.setFollowing(false)));
    } else {
      this.bar.replaceChildren(
        h("span", { class: "follow-text" }, t("follow_showing", { target: label })),
        btn("follow-go", t("follow_go"), () => this.go(f)),
        btn("follow-in", t("follow_again"), () => this.setFollowing(true)),
      );
    }
  }

  /** Buttons for the note sheet (facilitator). @param {any} note @param {() => void} close */
  noteAction(note, close) {
    if (!this.board.isFacilitator()) return null;
    return h("button", { type: "button", class: "btn", id: "follow-note", onclick: () => { this.bring("note", note.id); close(); } }, "▶ ", t("follow_bring_note"));
  }
  /** @param {any} cluster @param {() => void} close */
  clusterAction(cluster, close) {
    if (!this.board.isFacilitator()) return null;
    return h("div", { class: "actions" }, h("button", { type: "button", class: "btn", id: "follow-cluster", onclick: () => { this.bring("cluster", cluster.id); close(); } }, "▶ ", t("follow_bring_cluster")));
  }
  /** The panel's section (facilitator). */
  panelSection() {
    const f = currentFocus(this.board.session);
    return h(
      "section",
      { class: "panel-sec", "aria-labelledby": "p-follow" },
      h("h3", { id: "p-follow" }, t("follow_heading")),
      h("p", { class: "muted" }, t("follow_help")),
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", class: "btn btn-small", id: "follow-view", "data-fk": "follow-view", onclick: () => this.bring("area", null, this.myView()) }, "▶ ", t("follow_bring_view")),
        f ? h("button", { type: "button", class: "btn btn-small", id: "follow-stop-panel", "data-fk": "follow-stop", onclick: () => this.stop() }, t("follow_stop")) : null,
      ),
    );
  }
}
