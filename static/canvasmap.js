// @ts-check
// The canvas's overview map: when part of the board is off screen (a phone shows a readable slice
// of a wide board), a small map in the corner shows the whole board, the slice on screen, and says
// how many ideas are on screen ("2 of 6 ideas on screen"). A tap on the map brings that place to
// the middle of the screen. Keyboard users reach every note with Tab (the canvas follows the focus)
// and screen-reader users have the list view: the drawing itself is hidden from them, its words are
// not.
import { h } from "./util.js";
import { t } from "./i18n.js";

const MAP_MAX = 104; // CSS px: the drawing's longest side
const NOTE_FILL = {
  yellow: "#f3d65c", pink: "#ee9cc3", blue: "#8fbbe8", green: "#9fd39a", orange: "#f2b072", purple: "#c4a8e8",
};

/**
 * @typedef {{x: number, y: number, w: number, h: number}} Rect
 * @typedef {{notes: Array<Rect & {color: string}>, frames: Rect[]}} Layout
 * @typedef {{x: number, y: number, s: number}} View
 */

export class CanvasMap {
  /** @param {(world: {x: number, y: number}) => void} goTo centre the canvas on this world point */
  constructor(goTo) {
    this.goTo = goTo;
    /** @type {Layout} */
    this.layout = { notes: [], frames: [] };
    this.drawing = /** @type {HTMLCanvasElement} */ (h("canvas", { class: "map-drawing", "aria-hidden": "true" }));
    this.count = h("p", { class: "map-count" });
    this.el = h("div", { class: "canvas-map", hidden: true }, this.drawing, this.count);
    this.frame = 0;
    /** @type {{bounds: Rect, k: number} | null} the last drawing's world -> map scale */
    this.scale = null;
    this.drawing.addEventListener("click", (e) => {
      if (!this.scale) return;
      const r = this.drawing.getBoundingClientRect();
      const { bounds, k } = this.scale;
      this.goTo({ x: bounds.x + (e.clientX - r.left) / k, y: bounds.y + (e.clientY - r.top) / k });
    });
  }

  /** @param {Layout} layout where the notes and cluster frames are (world px) */
  setLayout(layout) {
    this.layout = layout;
  }

  /** Redraw at the next frame (panning calls this at every step). @param {View} view @param {{w: number, h: number}} size */
  schedule(view, size) {
    this.pending = { view, size };
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      if (this.pending) this.update(this.pending.view, this.pending.size);
    });
  }

  /** @param {View} view @param {{w: number, h: number}} size of the viewport (CSS px) */
  update(view, size) {
    const { notes, frames } = this.layout;
    const seen = { x: -view.x / view.s, y: -view.y / view.s, w: size.w / view.s, h: size.h / view.s };
    const whole = notes.filter((n) => n.x >= seen.x - 1 && n.y >= seen.y - 1 && n.x + n.w <= seen.x + seen.w + 1 && n.y + n.h <= seen.y + seen.h + 1).length;
    const hide = whole === notes.length;
    this.el.hidden = hide;
    this.el.dataset.onScreen = String(whole);
    if (hide) return;
    const text = t("map_on_screen", { n: whole, total: notes.length });
    if (this.count.textContent !== text) this.count.textContent = text;

    // The board (notes, frames) and the slice on screen, in one box of at most MAP_MAX px.
    const all = [...notes, ...frames, seen];
    const x0 = Math.min(...all.map((r) => r.x));
    const y0 = Math.min(...all.map((r) => r.y));
    const x1 = Math.max(...all.map((r) => r.x + r.w));
    const y1 = Math.max(...all.map((r) => r.y + r.h));
    const bounds = { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
    const k = MAP_MAX / Math.max(bounds.w, bounds.h);
    this.scale = { bounds, k };
    const w = Math.max(44, Math.round(bounds.w * k));
    const hgt = Math.max(44, Math.round(bounds.h * k));
    const dpr = window.devicePixelRatio || 1;
    const c = this.drawing;
    if (c.width !== w * dpr || c.height !== hgt * dpr) {
      c.width = w * dpr;
      c.height = hgt * dpr;
      c.style.width = `${w}px`; // the height follows (height: auto keeps the drawing's proportions)
    }
    const g = c.getContext("2d");
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, hgt);
    /** @type {(r: Rect) => [number, number, number, number]} */
    const box = (r) => [(r.x - x0) * k, (r.y - y0) * k, r.w * k, r.h * k];
    g.strokeStyle = "#5b6578";
    g.lineWidth = 1;
    for (const f of frames) g.strokeRect(...box(f));
    for (const n of notes) {
      g.fillStyle = NOTE_FILL[n.color] || NOTE_FILL.yellow;
      g.fillRect(...box(n));
    }
    g.strokeStyle = "#8a1c5c";
    g.lineWidth = 2;
    const [sx, sy, sw, sh] = box(seen);
    g.strokeRect(Math.max(1, sx), Math.max(1, sy), Math.min(sw, w - 2), Math.min(sh, hgt - 2));
  }
}
