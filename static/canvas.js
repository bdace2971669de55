// @ts-check
// The canvas view: one transformed "world" layer (GPU pan/zoom), notes and cluster frames keyed by id.
// Gestures: one finger / mouse drag on the background pans; two fingers pinch-zoom; wheel zooms;
// a note is dragged with the mouse directly, with a finger after a long press (so a finger on a note
// can still pan a crowded board). Dropping a note inside a cluster frame files it there.
import { h, clear, fill, store, debounce } from "./util.js";
import { t } from "./i18n.js";
import { announce } from "./ui.js";
import { noteMeta, voteControls, shownText, noteLabel } from "./noteview.js";
import { shownTitle } from "./translations.js";
import { CanvasMap } from "./canvasmap.js";

export const NOTE_W = 200;
export const NOTE_H = 150;
export const GRID_X = 220;
export const GRID_Y = 170;
export const PAD = 20;
export const HEAD = 56;
export const CLUSTER_COLS = 2; // a cluster's notes fill a grid this many columns wide
const CL_MIN_W = 2 * GRID_X + PAD;
const CL_MIN_H = HEAD + GRID_Y + PAD;
const MIN_SCALE = 0.15;
export const GRID_COLS = 5; // loose notes fill rows of this many cells
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
const LONG_PRESS_MS = 350;

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
    this.reserved = [];
    const saved = store.get(`cobord:view:${app.id}`);
    this.view = saved && Number.isFinite(saved.s) ? saved : { x: 20, y: 20, s: 1 };
    this.fitted = !!saved;
    this.size = { w: window.innerWidth || 390, h: (window.innerHeight || 800) - 120 };
    this.saveView = debounce(() => store.set(`cobord:view:${app.id}`, this.view), 400);

    this.clustersLayer = h("div", { class: "layer layer-clusters" });
    this.notesLayer = h("div", { class: "layer layer-notes" });
    this.world = h("div", { class: "world" }, this.clustersLayer, this.notesLayer);
    this.empty = h("p", { class: "canvas-empty" });
    this.tools = h("div", { class: "canvas-tools" });
    this.viewport = h("div", { class: "viewport", "aria-label": t("view_canvas"), role: "region" }, this.world);
    this.map = new CanvasMap((p) => this.centreOn(p));
    this.el = h("div", { class: "canvas" }, this.viewport, this.map.el, this.empty, this.tools);
    this.bindGestures();
    this.applyView();
  }

  attach() {
    this.attached = true;
    this.measure();
    if (!this._ro && "ResizeObserver" in window) {
      this._ro = new ResizeObserver(() => this.measure());
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
    const s = clamp(this.view.s * factor, Math.min(minScale(), this.view.s), MAX_SCALE);
    const k = s / this.view.s;
    const cx = px - r.left;
    const cy = py - r.top;
    this.view = { x: cx - (cx - this.view.x) * k, y: cy - (cy - this.view.y) * k, s };
    this.scheduleView();
  }
  zoomBy(factor) {
    const r = this.viewport.getBoundingClientRect();
    this.zoomAt(r.left + r.width / 2, r.top + r.height / 2, factor);
  }
  /** @param {{whole?: boolean}} [opts] whole: the person asked to see all ("see all"): everything
   * fits, whatever the text size; otherwise (opening, following) not below readable text on touch. */
  fitAll({ whole = false } = {}) {
    const b = this.contentBounds();
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
    const b = this.contentBounds();
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
  frames(notes, clusters) {
    const byCluster = new Map();
    for (const n of notes) {
      if (!n.cluster) continue;
      if (!byCluster.has(n.cluster)) byCluster.set(n.cluster, []);
      byCluster.get(n.cluster).push(n);
    }
    const frames = new Map();
    for (const c of clusters) {
      let x0 = c.x;
      let y0 = c.y;
      let x1 = c.x + CL_MIN_W;
      let y1 = c.y + CL_MIN_H;
      for (const n of byCluster.get(c.id) || []) {
        x0 = Math.min(x0, n.x - PAD);
        y0 = Math.min(y0, n.y - HEAD);
        x1 = Math.max(x1, n.x + NOTE_W + PAD);
        y1 = Math.max(y1, n.y + NOTE_H + PAD);
      }
      frames.set(c.id, { x: x0, y: y0, w: x1 - x0, h: y1 - y0, count: (byCluster.get(c.id) || []).length });
    }
    return frames;
  }
  occupied(skipId) {
    const s = this.board.session;
    const notes = s.noteList();
    const rects = notes.filter((n) => n.id !== skipId).map((n) => ({ x: n.x, y: n.y, w: NOTE_W, h: NOTE_H }));
    return { notes: rects.concat(this.reserved), frames: [...this.frames(notes.filter((n) => n.id !== skipId), s.clusterList()).values()] };
  }
  reserve(pos) {
    this.reserved.push({ x: pos.x, y: pos.y, w: NOTE_W, h: NOTE_H });
  }
  clearReserved() {
    this.reserved = [];
  }
  freeSpotNear(center, skipId, { visibleFirst = true } = {}) {
    const occ = this.occupied(skipId);
    const cx = Math.round((center.x - NOTE_W / 2) / GRID_X);
    const cy = Math.round((center.y - NOTE_H / 2) / GRID_Y);
    if (visibleFirst) {
      // Prefer a free cell that is entirely on screen (a phone shows one column): the new note is
      // seen where it lands, without panning.
      const { x, y, s } = this.view;
      const view = { x: -x / s, y: -y / s, w: this.size.w / s, h: this.size.h / s };
      const inView = (r) => r.x >= view.x && r.y >= view.y && r.x + r.w <= view.x + view.w && r.y + r.h <= view.y + view.h;
      for (let r = 0; r < 12; r++) {
        const cells = [];
        for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (Math.max(Math.abs(dx), Math.abs(dy)) === r) cells.push([dx, dy]);
        cells.sort((a, b) => Math.hypot(a[0] * GRID_X, a[1] * GRID_Y) - Math.hypot(b[0] * GRID_X, b[1] * GRID_Y));
        for (const [dx, dy] of cells) {
          const rect = { x: (cx + dx) * GRID_X, y: (cy + dy) * GRID_Y, w: NOTE_W, h: NOTE_H };
          if (inView(rect) && !occ.notes.some((o) => hit(o, rect)) && !occ.frames.some((f) => hit(f, rect, 8))) return { x: rect.x, y: rect.y };
        }
      }
      // Then a free cell in a column that is on screen (above or below): the view only scrolls
      // vertically to show it, the way a phone user expects.
      let best = null;
      let bestD = Infinity;
      for (let col = Math.ceil(view.x / GRID_X); (col * GRID_X + NOTE_W) <= view.x + view.w; col++) {
        for (let dy = 0; dy < 80; dy++) {
          for (const row of dy ? [cy - dy, cy + dy] : [cy]) {
            const rect = { x: col * GRID_X, y: row * GRID_Y, w: NOTE_W, h: NOTE_H };
            if (occ.notes.some((o) => hit(o, rect)) || occ.frames.some((f) => hit(f, rect, 8))) continue;
            const d = Math.hypot(rect.x + NOTE_W / 2 - center.x, rect.y + NOTE_H / 2 - center.y);
            if (d < bestD) (bestD = d), (best = { x: rect.x, y: rect.y });
          }
          if (best) break;
        }
      }
      if (best) return best;
    }
    for (let r = 0; r < 60; r++) {
      // Ring r around the centre cell, nearest first; rows before columns reads naturally.
      const cells = [];
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (Math.max(Math.abs(dx), Math.abs(dy)) === r) cells.push([dx, dy]);
      cells.sort((a, b) => Math.hypot(a[0] * GRID_X, a[1] * GRID_Y) - Math.hypot(b[0] * GRID_X, b[1] * GRID_Y));
      for (const [dx, dy] of cells) {
        const rect = { x: (cx + dx) * GRID_X, y: (cy + dy) * GRID_Y, w: NOTE_W, h: NOTE_H };
        if (!occ.notes.some((o) => hit(o, rect)) && !occ.frames.some((f) => hit(f, rect, 8))) return { x: rect.x, y: rect.y };
      }
    }
    return { x: center.x, y: center.y };
  }
  /**
   * The first free cell, in reading order, of the loose-notes grid (GRID_COLS wide, from the top-left
   * of the board's loose notes): notes posted from phones fill rows instead of piling up in the
   * column one phone happens to show.
   */
  freeGridCell(skipId) {
    const occ = this.occupied(skipId);
    const loose = this.board.session.noteList().filter((n) => !n.cluster && n.id !== skipId);
    const x0 = loose.length ? Math.min(0, Math.floor(Math.min(...loose.map((n) => n.x)) / GRID_X)) : 0;
    const y0 = loose.length ? Math.min(0, Math.floor(Math.min(...loose.map((n) => n.y)) / GRID_Y)) : 0;
    for (let row = y0; row < y0 + 400; row++) {
      for (let col = x0; col < x0 + GRID_COLS; col++) {
        const rect = { x: col * GRID_X, y: row * GRID_Y, w: NOTE_W, h: NOTE_H };
        if (!occ.notes.some((o) => hit(o, rect)) && !occ.frames.some((f) => hit(f, rect, 8))) return { x: rect.x, y: rect.y };
      }
    }
    return this.freeSpotNear(this.viewCenter(), skipId, { visibleFirst: false });
  }
  /** Does this loose note overlap a note that was there first (earlier createdAt, then smaller id)? */
  overlapsEarlier(note) {
    const rect = { x: note.x, y: note.y, w: NOTE_W, h: NOTE_H };
    return this.board.session.noteList().some((o) => o.id !== note.id && (o.createdAt < note.createdAt || (o.createdAt === note.createdAt && o.id < note.id)) && hit({ x: o.x, y: o.y, w: NOTE_W, h: NOTE_H }, rect));
  }
  freeSpotOutside(skipId) {
    return this.freeSpotNear(this.viewCenter(), skipId);
  }
  /**
   * A free slot of a cluster's 2-column grid: the first one, or the one nearest `near`.
   * @param {string} clusterId @param {string | null} [skipId] @param {{x: number, y: number} | null} [near]
   */
  freeSpotInCluster(clusterId, skipId, near = null) {
    const c = this.board.session.clusterList().find((x) => x.id === clusterId);
    if (!c) return this.freeSpotNear(this.viewCenter(), skipId);
    const occ = this.occupied(skipId);
    let best = null;
    let bestD = Infinity;
    let freeRows = 0;
    for (let row = 0; row < 200 && freeRows < 2; row++) {
      let rowFree = true;
      for (let col = 0; col < 2; col++) {
        const rect = { x: c.x + PAD + col * GRID_X, y: c.y + HEAD + row * GRID_Y, w: NOTE_W, h: NOTE_H };
        if (occ.notes.some((o) => hit(o, rect))) {
          rowFree = false;
          continue;
        }
        if (!near) return { x: rect.x, y: rect.y };
        const d = Math.hypot(rect.x + NOTE_W / 2 - near.x, rect.y + NOTE_H / 2 - near.y);
        if (d < bestD) (bestD = d), (best = { x: rect.x, y: rect.y });
      }
      if (rowFree) freeRows++;
    }
    return best || { x: c.x + PAD, y: c.y + HEAD };
  }
  freeClusterSpot() {
    const occ = this.occupied(null);
    const center = this.viewCenter();
    const stepX = CL_MIN_W + 40;
    const stepY = CL_MIN_H + 40;
    for (let r = 0; r < 30; r++) {
      for (let dy = -r; dy <= r; dy++) {
        for (let dx = -r; dx <= r; dx++) {
          if (Math.max(Math.abs(dx), Math.abs(dy)) !== r) continue;
          const rect = { x: Math.round(center.x - CL_MIN_W / 2 + dx * stepX), y: Math.round(center.y - CL_MIN_H / 2 + dy * stepY), w: CL_MIN_W, h: CL_MIN_H };
          if (!occ.notes.some((o) => hit(o, rect, 10)) && !occ.frames.some((f) => hit(f, rect, 20))) return { x: rect.x, y: rect.y };
        }
      }
    }
    return { x: center.x, y: center.y };
  }
  clusterAt(p) {
    const s = this.board.session;
    const frames = this.frames(s.noteList(), s.clusterList());
    let found = "";
    for (const [id, f] of frames) if (p.x >= f.x && p.x <= f.x + f.w && p.y >= f.y && p.y <= f.y + f.h) found = id;
    return found;
  }
  clusterAtViewCenter() {
    return this.clusterAt(this.viewCenter());
  }
  contentBounds() {
    const s = this.board.session;
    const notes = s.noteList();
    const frames = [...this.frames(notes, s.clusterList()).values()];
    const rects = notes.map((n) => ({ x: n.x, y: n.y, w: NOTE_W, h: NOTE_H })).concat(frames);
    if (!rects.length) return null;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const r of rects) {
      x0 = Math.min(x0, r.x); y0 = Math.min(y0, r.y);
      x1 = Math.max(x1, r.x + r.w); y1 = Math.max(y1, r.y + r.h);
    }
    return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
  }

  // ---------- rendering ----------
  render() {
    const app = this.board;
    const s = app.session;
    const notes = s.noteList();
    const clusters = s.clusterList();
    const frames = this.frames(notes, clusters);
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
    const { x, y, s } = this.view;
    const view = { x: -x / s, y: -y / s, w: this.size.w / s, h: this.size.h / s };
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

  // ---------- gestures ----------
  bindGestures() {
    const vp = this.viewport;
    const pointers = new Map(); // id -> {x, y}
    let mode = null; // "pan" | "pinch" | "press" | "drag" | "cluster"
    /** @type {any} a pointer's or a pinch's start: two shapes, read field by field below */
    let start = null;
    let pressTimer = 0;
    let drag = null;

    const noteElFrom = (target) => target.closest && target.closest(".note");
    const clusterHeadFrom = (target) => target.closest && target.closest(".cluster-head");

    const beginDrag = (kind, el, id, p) => {
      const s = this.board.session;
      if (kind === "note") {
        const n = s.liveNote(id);
        if (!n) return false;
        drag = { kind, el, id, ox: n.get("x"), oy: n.get("y"), px: p.x, py: p.y, moved: false };
      } else {
        const c = s.clusterList().find((x) => x.id === id);
        if (!c) return false;
        const members = s.noteList().filter((n) => n.cluster === id);
        drag = { kind, el, id, ox: c.x, oy: c.y, px: p.x, py: p.y, members, moved: false };
      }
      el.classList.add("dragging");
      mode = "drag";
      return true;
    };

    vp.addEventListener("pointerdown", (e) => {
      this.lastInteraction = Date.now();
      if (e.button !== 0 && e.pointerType === "mouse") return;
      pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (pointers.size === 2) {
        clearTimeout(pressTimer);
        if (drag) this.cancelDrag(drag), (drag = null);
        const [a, b] = [...pointers.values()];
        start = { dist: Math.hypot(a.x - b.x, a.y - b.y), mid: { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 }, view: { ...this.view } };
        mode = "pinch";
        return;
      }
      if (pointers.size > 2) return;
      start = { x: e.clientX, y: e.clientY, view: { ...this.view }, target: e.target, pointerType: e.pointerType };
      const noteEl = noteElFrom(e.target);
      const head = clusterHeadFrom(e.target);
      const canEdit = this.board.canEditBoard();
      if (e.target.closest && e.target.closest(".votes, .tr-line, .listen-btn, .note-voice, .gloss-mark")) {
        mode = "tap";
        return;
      }
      if (canEdit && (noteEl || head)) {
        const kind = noteEl ? "note" : "cluster";
        const el = noteEl || head.parentElement;
        const id = el.dataset.id;
        start.drag = { kind, el, id };
        if (e.pointerType === "mouse" || e.pointerType === "pen") {
          mode = "press-mouse";
        } else {
          mode = "press";
          pressTimer = setTimeout(() => {
            if (mode === "press" && beginDrag(kind, el, id, this.toWorld(start.x, start.y))) {
              if (navigator.vibrate) navigator.vibrate(15);
            }
          }, LONG_PRESS_MS);
        }
      } else {
        mode = noteEl || head ? "press" : "pan";
      }
      try {
        vp.setPointerCapture(e.pointerId);
      } catch {
        /* synthetic events */
      }
    });

    vp.addEventListener("pointermove", (e) => {
      if (!pointers.has(e.pointerId)) return;
      pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (mode === "pinch" && pointers.size >= 2) {
        const [a, b] = [...pointers.values()];
        const dist = Math.hypot(a.x - b.x, a.y - b.y);
        const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
        const r = vp.getBoundingClientRect();
        const s = clamp(start.view.s * (dist / (start.dist || 1)), Math.min(minScale(), start.view.s), MAX_SCALE);
        const k = s / start.view.s;
        const sx = start.mid.x - r.left;
        const sy = start.mid.y - r.top;
        this.view = { s, x: mid.x - r.left - (sx - start.view.x) * k, y: mid.y - r.top - (sy - start.view.y) * k };
        this.scheduleView();
        return;
      }
      if (!start) return;
      const dx = e.clientX - start.x;
      const dy = e.clientY - start.y;
      const far = Math.hypot(dx, dy) > (e.pointerType === "mouse" ? 4 : 10);
      if (mode === "press-mouse" && far) {
        beginDrag(start.drag.kind, start.drag.el, start.drag.id, this.toWorld(start.x, start.y));
      } else if (mode === "press" && far) {
        clearTimeout(pressTimer);
        mode = "pan";
      } else if (mode === "tap" && far) {
        mode = "pan";
      }
      if (mode === "pan") {
        this.view = { ...this.view, x: start.view.x + dx, y: start.view.y + dy };
        this.scheduleView();
      } else if (mode === "drag" && drag) {
        const p = this.toWorld(e.clientX, e.clientY);
        drag.moved = true;
        drag.nx = Math.round(drag.ox + p.x - drag.px);
        drag.ny = Math.round(drag.oy + p.y - drag.py);
        if (drag.kind === "note") {
          drag.el.style.transform = `translate(${drag.nx}px, ${drag.ny}px)`;
          const target = this.clusterAt({ x: drag.nx + NOTE_W / 2, y: drag.ny + NOTE_H / 2 });
          for (const [id, el] of this.clusterEls) el.classList.toggle("drop-target", id === target);
        } else {
          const ddx = drag.nx - drag.ox;
          const ddy = drag.ny - drag.oy;
          drag.el.style.translate = `${ddx}px ${ddy}px`;
          for (const n of drag.members) {
            const el = this.noteEls.get(n.id);
            if (el) el.style.translate = `${ddx}px ${ddy}px`;
          }
        }
        this.autoPan(e);
      }
    });

    const end = (e) => {
      if (!pointers.has(e.pointerId)) return;
      pointers.delete(e.pointerId);
      clearTimeout(pressTimer);
      if (mode === "pinch") {
        if (pointers.size === 1) {
          const [p] = [...pointers.values()];
          start = { x: p.x, y: p.y, view: { ...this.view } };
          mode = "pan";
        } else if (pointers.size === 0) mode = null;
        return;
      }
      if (pointers.size > 0) return;
      if (mode === "drag" && drag) {
        if (drag.moved && e.type !== "pointercancel") this.drop(drag);
        else this.cancelDrag(drag);
        drag = null;
      } else if ((mode === "press" || mode === "press-mouse" || (mode === "pan" && start && Math.hypot(e.clientX - start.x, e.clientY - start.y) < 4)) && e.type === "pointerup") {
        // Act on the click that follows, not now: a sheet opened on pointerup would catch that click
        // on its backdrop and close at once (the "ghost click").
        this._tap = { target: start.target, at: Date.now() };
      }
      mode = null;
      start = null;
    };
    vp.addEventListener("pointerup", end);
    vp.addEventListener("pointercancel", end);

    vp.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        this.lastInteraction = Date.now();
        if (e.ctrlKey || !e.deltaX) {
          const factor = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
          this.zoomAt(e.clientX, e.clientY, factor);
        } else {
          this.view = { ...this.view, x: this.view.x - e.deltaX, y: this.view.y - e.deltaY };
          this.scheduleView();
        }
      },
      { passive: false },
    );

    // Keyboard activation of the note / cluster buttons (clicks from the pointer are handled by tap()).
    vp.addEventListener("click", (e) => {
      const pending = this._tap;
      this._tap = null;
      if (pending && Date.now() - pending.at < 1000) this.tap(pending.target);
      else if (e.detail === 0) this.tap(e.target); // keyboard activation of a note / cluster button
    });
    vp.addEventListener("keydown", (e) => {
      if (e.target !== vp) return;
      const step = 60;
      const keysMap = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (keysMap[e.key]) {
        this.view = { ...this.view, x: this.view.x + keysMap[e.key][0], y: this.view.y + keysMap[e.key][1] };
        this.scheduleView();
        e.preventDefault();
      } else if (e.key === "+" || e.key === "=") this.zoomBy(1.25);
      else if (e.key === "-") this.zoomBy(0.8);
    });
    vp.tabIndex = 0;

    // Tab reaches every note, wherever it is: a note focused from the keyboard is brought on
    // screen by panning. (The browser would scroll the clipped viewport instead, out of step with
    // the view: that scroll is taken back.)
    vp.addEventListener("focusin", (e) => {
      const el = /** @type {HTMLElement} */ (e.target);
      const note = el.closest && el.closest(".note");
      if (!note || !el.matches(":focus-visible")) return;
      const n = this.board.session.noteList().find((x) => x.id === /** @type {HTMLElement} */ (note).dataset.id);
      if (n) this.reveal({ x: n.x, y: n.y }, null);
    });
    vp.addEventListener("scroll", () => {
      if (vp.scrollLeft || vp.scrollTop) vp.scrollLeft = vp.scrollTop = 0;
    });
  }

  tap(target) {
    if (!target || !target.closest) return;
    if (target.closest(".votes, .tr-line, .listen-btn, .note-voice, .gloss-mark")) return; // these handle their own click (a marked word: its bubble, glossary.js)
    const open = target.closest(".note");
    if (open) return this.ui.openNoteSheet(open.dataset.id);
    const title = target.closest(".cluster-title");
    if (title && !title.disabled) return this.ui.openClusterSheet(title.dataset.clusterId);
  }

  autoPan(e) {
    const r = this.viewport.getBoundingClientRect();
    const edge = 40;
    let dx = 0, dy = 0;
    if (e.clientX < r.left + edge) dx = 12;
    else if (e.clientX > r.right - edge) dx = -12;
    if (e.clientY < r.top + edge) dy = 12;
    else if (e.clientY > r.bottom - edge) dy = -12;
    if (dx || dy) {
      this.view = { ...this.view, x: this.view.x + dx, y: this.view.y + dy };
      this.scheduleView();
    }
  }

  cancelDrag(drag) {
    drag.el.classList.remove("dragging");
    drag.el.style.translate = "";
    if (drag.kind === "note") drag.el._sig = null;
    if (drag.members) for (const n of drag.members) { const el = this.noteEls.get(n.id); if (el) el.style.translate = ""; }
    for (const el of this.clusterEls.values()) el.classList.remove("drop-target");
    this.render();
  }

  drop(drag) {
    const app = this.board;
    const s = app.session;
    for (const el of this.clusterEls.values()) el.classList.remove("drop-target");
    drag.el.classList.remove("dragging");
    if (!app.canEditBoard()) return this.cancelDrag(drag);
    if (drag.kind === "note") {
      const center = { x: drag.nx + NOTE_W / 2, y: drag.ny + NOTE_H / 2 };
      const cluster = this.clusterAt(center);
      const before = s.notes.get(drag.id);
      const was = before ? before.get("cluster") || "" : "";
      // Snap to the nearest free slot: a note dropped on another never hides it (no silent stacks).
      // Into a cluster: the next free slot in reading order (tidy); within the same cluster: the free
      // slot nearest the drop point (re-ordering).
      const pos = cluster
        ? this.freeSpotInCluster(cluster, drag.id, cluster === was ? center : null)
        : this.freeSpotNear(center, drag.id, { visibleFirst: false });
      drag.el._sig = null;
      s.updateNote(drag.id, { x: pos.x, y: pos.y, cluster });
      if (cluster !== was) {
        const c = s.clusterList().find((x) => x.id === cluster);
        announce(t("note_moved_announce", { cluster: c ? shownTitle(c) : t("no_cluster") }));
      }
    } else {
      const ddx = drag.nx - drag.ox;
      const ddy = drag.ny - drag.oy;
      drag.el.style.translate = "";
      for (const n of drag.members) { const el = this.noteEls.get(n.id); if (el) el.style.translate = ""; }
      s.batch(() => {
        s.updateCluster(drag.id, { x: drag.nx, y: drag.ny });
        for (const n of drag.members) s.updateNote(n.id, { x: n.x + ddx, y: n.y + ddy });
      });
    }
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
function hit(a, b, margin = 0) {
  return a.x < b.x + b.w + margin && b.x < a.x + a.w + margin && a.y < b.y + b.h + margin && b.y < a.y + a.h + margin;
}
