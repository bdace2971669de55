// @ts-check
// The canvas view: one transformed "world" layer (GPU pan/zoom), notes and cluster frames keyed by id.
// Where things go on the board (sizes, frames, free cells) is placement.js's; this draws them.
// Its gestures (pan, pinch, wheel, drag and drop, tap, keys) are canvasgestures.js's.
import { h, clear, fill, store, debounce } from "./util.js";
import { t } from "./i18n.js";
import { noteMeta, voteControls, shownText, noteLabel } from "./noteview.js";
import { shownTitle } from "./translations.js";
import { CanvasMap } from "./canvasmap.js";
import { NOTE_W, NOTE_H, PAD, HEAD, Placement, hit } from "./placement.js";
import { CanvasGestures } from "./canvasgestures.js";

const MIN_SCALE = 0.15;
// On touch screens the board opens, follows and pinches no further out than readable note text:
// the cards' 16 px text is drawn at 16 px at least (UX.md: a phone shows a readable slice, >= 16 px),
// and their 44 px buttons stay 44 px. The overview map (canvasmap.js) shows where the rest is.
// "See all" is the exception: asked for, it shows all (an overview; a pinch from there zooms in,
// never further out).
const MIN_READABLE_SCALE = 1;
const coarsePointer = () => typeof matchMedia === "function" && matchMedia("(pointer: coarse)").matches;
function minScale() {
  return coarsePointer() ? MIN_READABLE_SCALE : MIN_SCALE;
}
/** The lowest scale the canvas opens or follows at on this device (follow.js uses it too). */
export function readableScale() {
  return minScale();
}
// A card's listen button is 44 world px: it is shown only where it is a target one can hit (44 CSS
// px for a finger, 24 for a mouse: WCAG 2.5.8); the note's sheet has it too.
const LISTEN_PX = 44;
const minTargetPx = () => (coarsePointer() ? 44 : 24);
const MAX_SCALE = 2.5;

export class Canvas {
  /**
   * @param {import("./noteview.js").NoteBoard & {isFacilitator(): boolean, canEditBoard(): boolean, resultsAvailable(): boolean, mine(): Set<string>, votes: any}} board
   *   what the canvas reads: the live board's state (board/state.js) or the replay's read-only stand-in
   * @param {import("./noteview.js").VoteActions & {openNoteSheet(id: string): void, openClusterSheet(id: string): void, openNewCluster(at?: any): void, tidy(clusterId: string | null): void}} ui
   *   what its buttons and gestures open or do
   */
  constructor(board, ui) {
    const app = board;
    this.board = board;
    this.ui = ui;
    this.attached = false;
    this.lastInteraction = 0;
    this.noteEls = new Map();
    this.clusterEls = new Map();
    const saved = store.get(`cobord:view:${app.id}`);
    this.view = saved && Number.isFinite(saved.s) ? saved : { x: 20, y: 20, s: 1 };
    this.fitted = !!saved;
    this.size = { w: window.innerWidth || 390, h: (window.innerHeight || 800) - 120 };
    /** where notes and clusters go (placement.js), seen through this canvas's view */
    this.place = new Placement(board, this);
    this.saveView = debounce(() => store.set(`cobord:view:${app.id}`, this.view), 400);

    this.clustersLayer = h("div", { class: "layer layer-clusters" });
    this.notesLayer = h("div", { class: "layer layer-notes" });
    this.world = h("div", { class: "world" }, this.clustersLayer, this.notesLayer);
    this.empty = h("p", { class: "canvas-empty" });
    this.tools = h("div", { class: "canvas-tools" });
    this.viewport = h("div", { class: "viewport", "aria-label": t("view_canvas"), role: "region" }, this.world);
    this.map = new CanvasMap((p) => this.centreOn(p));
    this.el = h("div", { class: "canvas" }, this.viewport, this.map.el, this.empty, this.tools);
    this.gestures = new CanvasGestures(this);
    this.applyView();
  }

  attach() {
    this.attached = true;
    this.measure();
    if (!this._ro && "ResizeObserver" in window) {
      this._ro = new ResizeObserver(() => this.resized());
    }
    if (this._ro) this._ro.observe(this.viewport);
    fitNoteText([...this.noteEls.values()]); // laid out while detached: measure again
  }
  detach() {
    if (!this.attached) return;
    this.attached = false;
    if (this._ro) this._ro.disconnect();
  }
  reset() {
    clear(this.notesLayer);
    clear(this.clustersLayer);
    this.noteEls.clear();
    this.clusterEls.clear();
  }
  measure() {
    const r = this.viewport.getBoundingClientRect();
    if (r.width > 0) this.size = { w: r.width, h: r.height };
  }
  /** The viewport's size changed. The opening fit was computed on the size of that moment, which
   * may not be the page's final layout (the replay's feed column arriving beside it): while nobody
   * has moved the view since (every pan or zoom sets a new `view`), fit again. */
  resized() {
    const before = this.size;
    this.measure();
    const changed = before.w !== this.size.w || before.h !== this.size.h;
    if (changed && this._openingView === this.view) {
      this.fitAll();
      this._openingView = this.view;
    }
  }

  // ---------- coordinates ----------
  applyView() {
    const { x, y, s } = this.view;
    this.world.style.transform = `translate3d(${x}px, ${y}px, 0) scale(${s})`;
    this.el.style.setProperty("--zoom", String(s));
    // Zoomed out, a card's small buttons (listen) are specks nobody can hit: hidden until
    // zoomed in (the note itself still opens on a tap, with its listen button in the sheet).
    this.el.classList.toggle("zoomed-out", LISTEN_PX * s < minTargetPx());
    this.map.schedule(this.view, this.size);
    this.saveView();
  }
  scheduleView() {
    if (this._viewRaf) return;
    this._viewRaf = requestAnimationFrame(() => {
      this._viewRaf = 0;
      this.applyView();
    });
  }
  toWorld(px, py) {
    const r = this.viewport.getBoundingClientRect();
    return { x: (px - r.left - this.view.x) / this.view.s, y: (py - r.top - this.view.y) / this.view.s };
  }
  viewCenter() {
    return { x: (this.size.w / 2 - this.view.x) / this.view.s, y: (this.size.h / 2 - this.view.y) / this.view.s };
  }
  zoomAt(px, py, factor) {
    const r = this.viewport.getBoundingClientRect();
    const s = this.scaleWithin(this.view.s * factor, this.view.s);
    const k = s / this.view.s;
    const cx = px - r.left;
    const cy = py - r.top;
    this.view = { x: cx - (cx - this.view.x) * k, y: cy - (cy - this.view.y) * k, s };
    this.scheduleView();
  }
  /** A scale within bounds: never above MAX_SCALE, never below readable text on touch (unless
   * `from`, the scale a gesture started at, was already lower: "see all"). */
  scaleWithin(scale, from) {
    return clamp(scale, Math.min(minScale(), from), MAX_SCALE);
  }
  zoomBy(factor) {
    const r = this.viewport.getBoundingClientRect();
    this.zoomAt(r.left + r.width / 2, r.top + r.height / 2, factor);
  }
  /** @param {{whole?: boolean}} [opts] whole: the person asked to see all ("see all"): everything
   * fits, whatever the text size; otherwise (opening, following) not below readable text on touch. */
  fitAll({ whole = false } = {}) {
    const b = this.place.contentBounds();
    this.measure();
    if (!b) {
      this.view = { x: 20, y: 20, s: 1 };
    } else {
      const m = 24;
      const s = clamp(Math.min((this.size.w - 2 * m) / b.w, (this.size.h - 2 * m) / b.h), whole ? MIN_SCALE : minScale(), 1);
      // Too wide to fit at a readable size: start at the top left corner (reading order), pan for
      // the rest (the map shows where it is).
      const wide = b.w * s > this.size.w - 2 * m;
      const x = wide ? m - b.x * s : (this.size.w - b.w * s) / 2 - b.x * s;
      this.view = { s, x, y: (wide ? m : Math.max(m, (this.size.h - b.h * s) / 2)) - b.y * s };
    }
    this.applyView();
  }
  /** Bring a world point to the middle of the screen (pan only): a tap on the overview map. */
  centreOn(p) {
    this.lastInteraction = Date.now();
    const s = this.view.s;
    const m = 24;
    const b = this.place.contentBounds();
    // Never pan past the board's edges (a tap near an edge of the map shows that edge, not a void).
    const along = (/** @type {number} */ pos, /** @type {number} */ start, /** @type {number} */ len, /** @type {number} */ screen) =>
      len * s > screen - 2 * m ? clamp(pos, screen - m - (start + len) * s, m - start * s) : pos;
    let x = this.size.w / 2 - p.x * s;
    let y = this.size.h / 2 - p.y * s;
    if (b) {
      x = along(x, b.x, b.w, this.size.w);
      y = along(y, b.y, b.h, this.size.h);
    }
    this.view = { s, x, y };
    this.applyView();
  }
  /** Make a world point visible (pan only), e.g. a note just posted. */
  reveal(pos, noteId) {
    // Pan as little as needed (keeps what was on screen, and the grid columns, where they were).
    const { x, y, s } = this.view;
    const m = 16;
    let nx = x;
    let ny = y;
    const sx = pos.x * s + x;
    const sy = pos.y * s + y;
    if (sx < m) nx += m - sx;
    else if (sx + NOTE_W * s > this.size.w - m) nx -= sx + NOTE_W * s - (this.size.w - m);
    if (sy < m) ny += m - sy;
    else if (sy + NOTE_H * s > this.size.h - 90) ny -= sy + NOTE_H * s - (this.size.h - 90); // clear of the "+"
    if (nx !== x || ny !== y) {
      this.view = { s, x: nx, y: ny };
      this.applyView();
    }
    this.flashId = noteId;
  }
  revealCluster(id) {
    const c = this.board.session.clusterList().find((x) => x.id === id);
    if (c) this.reveal({ x: c.x + PAD, y: c.y + HEAD }, null);
  }

  // ---------- geometry ----------
  /** The part of the world on screen (placement.js puts new notes there first). */
  visibleWorld() {
    const { x, y, s } = this.view;
    return { x: -x / s, y: -y / s, w: this.size.w / s, h: this.size.h / s };
  }
  // What the browser tests ask of the canvas's geometry (testhook.js's `__cobord.canvas`).
  frames(notes, clusters) {
    return this.place.frames(notes, clusters);
  }
  clusterAtViewCenter() {
    return this.place.clusterAt(this.viewCenter());
  }


  // ---------- rendering ----------
  /** A card drawn again at the next render, even if what it shows has not changed (a dragged
   * note put back where it was, or moved). @param {any} el */
  redrawNext(el) {
    el._sig = null;
  }
  render() {
    const app = this.board;
    const s = app.session;
    const notes = s.noteList();
    const clusters = s.clusterList();
    const frames = this.place.frames(notes, clusters);
    const canEdit = app.canEditBoard();
    const phase = s.phase();
    const showVotes = phase === "vote" || phase === "results" || (app.session.resultsData() !== null && app.resultsAvailable());
    const lang = document.documentElement.lang;

    // clusters
    const seenC = new Set();
    for (const c of clusters) {
      seenC.add(c.id);
      const f = frames.get(c.id);
      const sig = [c.title, JSON.stringify(c.titles), f.x, f.y, f.w, f.h, f.count, canEdit, lang].join("|");
      let el = this.clusterEls.get(c.id);
      if (!el) {
        el = h("section", { class: "cluster", dataset: { id: c.id } });
        this.clusterEls.set(c.id, el);
        this.clustersLayer.append(el);
      }
      if (el._sig !== sig) {
        el._sig = sig;
        el.style.transform = `translate(${f.x}px, ${f.y}px)`;
        el.style.width = `${f.w}px`;
        el.style.height = `${f.h}px`;
        const title = shownTitle(c);
        fill(el, 
          h(
            "header",
            { class: "cluster-head" },
            h("button", { type: "button", class: "cluster-title", disabled: !canEdit, dataset: { clusterId: c.id }, "aria-label": `${title} — ${t("cluster_rename")}` }, title),
            h("span", { class: "cluster-count" }, t("notes_count", { n: f.count })),
          ),
        );
      }
    }
    for (const [id, el] of this.clusterEls) if (!seenC.has(id)) { el.remove(); this.clusterEls.delete(id); }

    // notes
    const seen = new Set();
    const refilled = [];
    const mine = app.mine();
    for (const n of notes) {
      seen.add(n.id);
      const my = app.myVotes(n.id);
      const total = app.totalVotes(n.id);
      const sig = [n.text, shownText(n).text, n.kind, n.media, n.duration, JSON.stringify(n.wanted), JSON.stringify(n.translations), n.x, n.y, n.color, n.author, n.lang, mine.has(n.id), showVotes, my, total, app.canVote(), app.votes.remaining === 0, s.settings().votes_visibility, phase, lang].join("|");
      let el = this.noteEls.get(n.id);
      if (!el) {
        el = h("article", { class: "note", dataset: { id: n.id } });
        this.noteEls.set(n.id, el);
        this.notesLayer.append(el);
      }
      if (el._sig !== sig) {
        el._sig = sig;
        el.className = `note note-${n.color}${mine.has(n.id) ? " is-mine" : ""}`;
        el.style.transform = `translate(${n.x}px, ${n.y}px)`;
        fill(el, 
          // A photo or voice note without text is named after its kind and author (never an unnamed button).
          h("button", { type: "button", class: "note-open", dataset: { noteId: n.id, fk: `no:${n.id}` }, lang: shownText(n).lang || undefined, "aria-label": shownText(n).text ? undefined : noteLabel(n) }, h("span", null, shownText(n).text)),
          noteMeta(app, n, () => this.render()),
          showVotes ? voteControls(app, this.ui, n) : null,
        );
        refilled.push(el);
      }
      if (this.flashId === n.id) {
        this.flashId = null;
        el.classList.add("flash");
        setTimeout(() => el.classList.remove("flash"), 1600);
      }
    }
    for (const [id, el] of this.noteEls) if (!seen.has(id)) { el.remove(); this.noteEls.delete(id); }
    this.orderForKeyboard(notes, clusters);
    fitNoteText(refilled);
    this.map.setLayout({ notes: notes.map((n) => ({ x: n.x, y: n.y, w: NOTE_W, h: NOTE_H, color: n.color })), frames: [...frames.values()] });
    this.map.schedule(this.view, this.size);

    this.empty.textContent = notes.length ? "" : t("empty_board");
    this.empty.hidden = notes.length > 0;
    this.renderTools(canEdit);
    if (!this.fitted && s.synced) {
      this.fitted = true;
      if (notes.length) this.fitAll();
      this._openingView = this.view;
    } else if (notes.length && !this.anyNoteVisible(notes)) {
      // Everything moved away (someone re-arranged the board): bring it back rather than show
      // emptiness — but not under the fingers of someone who is panning right now.
      const idle = Date.now() - this.lastInteraction;
      if (idle > 4000) this.fitAll();
      else {
        clearTimeout(this._refit);
        this._refit = setTimeout(() => this.attached && this.render(), 4100 - idle);
      }
    }
  }

  /** Tab order = reading order: cluster by cluster (as the outline lists them), then the loose notes,
   * each top to bottom, left to right; not the order they were posted in. */
  orderForKeyboard(notes, clusters) {
    const rank = new Map(clusters.map((c, i) => [c.id, i]));
    const key = (n) => (rank.has(n.cluster) ? rank.get(n.cluster) : clusters.length);
    const sorted = [...notes].sort((a, b) => key(a) - key(b) || a.y - b.y || a.x - b.x || (a.id < b.id ? -1 : 1));
    const want = sorted.map((n) => this.noteEls.get(n.id)).filter(Boolean);
    const have = [...this.notesLayer.children].filter((el) => el.classList.contains("note"));
    if (want.length === have.length && want.every((el, i) => el === have[i])) return;
    const active = document.activeElement;
    for (const el of want) this.notesLayer.append(el);
    if (active instanceof HTMLElement && active.isConnected && document.activeElement !== active) active.focus({ preventScroll: true });
  }

  anyNoteVisible(notes) {
    const view = this.visibleWorld();
    return notes.some((n) => hit(view, { x: n.x, y: n.y, w: NOTE_W, h: NOTE_H }));
  }

  renderTools(canEdit) {
    const sig = `${canEdit}|${document.documentElement.lang}|${this.board.session.phase()}`;
    if (this.tools._sig === sig) return;
    this.tools._sig = sig;
    fill(this.tools, 
      h("button", { type: "button", class: "tool", onclick: () => this.zoomBy(1 / 1.25), "aria-label": t("zoom_out"), title: t("zoom_out") }, "−"),
      h("button", { type: "button", class: "tool", onclick: () => this.zoomBy(1.25), "aria-label": t("zoom_in"), title: t("zoom_in") }, "+"),
      h("button", { type: "button", class: "tool tool-text", onclick: () => this.fitAll({ whole: true }) }, "⤢ ", t("fit_all")),
      canEdit && (this.board.isFacilitator() || this.board.session.phase() === "cluster")
        ? h("button", { type: "button", class: "tool tool-text", onclick: () => this.ui.openNewCluster() }, "▭ ", t("new_cluster"))
        : null,
      canEdit && this.board.isFacilitator()
        ? h("button", { type: "button", class: "tool tool-text", id: "tidy-board", onclick: () => this.ui.tidy(null) }, "▦ ", t("tidy_board"))
        : null,
    );
  }
}

/**
 * Each card shows as many whole lines of its text as fit above its author line and buttons (a short
 * note is never cut at a fixed 4 lines); longer text ends in "…" and a tap opens it in full.
 * All reads first, then all writes: one layout for a whole render.
 */
function fitNoteText(els) {
  const boxes = els.map((el) => el.querySelector(".note-open"));
  const sizes = boxes.map((b) => (b ? { h: b.clientHeight, line: parseFloat(getComputedStyle(b).lineHeight) || 20 } : null));
  boxes.forEach((b, i) => {
    const size = sizes[i];
    if (!b || !size || !size.h) return;
    b.style.setProperty("--lines", String(Math.max(1, Math.floor((size.h + 1) / size.line))));
  });
}

function clamp(v, a, b) {
  return Math.max(a, Math.min(b, v));
}
