// @ts-check
// Where notes and clusters go on the board, in world coordinates: the card and grid sizes, the
// cluster frames around their notes, free cells (near a point, on screen first; the loose-notes
// grid in reading order; a cluster's 2-column grid), which cluster a point falls in, the board's
// bounds. It reads the board's notes and clusters and the part of the world on screen; it draws
// nothing and writes nothing (the controller and the canvas's drop use its answers).

export const NOTE_W = 200;
export const NOTE_H = 150;
export const GRID_X = 220;
export const GRID_Y = 170;
export const PAD = 20;
export const HEAD = 56;
export const CLUSTER_COLS = 2; // a cluster's notes fill a grid this many columns wide
export const GRID_COLS = 5; // loose notes fill rows of this many cells
const CL_MIN_W = 2 * GRID_X + PAD;
const CL_MIN_H = HEAD + GRID_Y + PAD;

/**
 * What placement reads of the view: the world point at the middle of the screen, and the part of
 * the world on screen (canvas.js).
 * @typedef {{viewCenter(): {x: number, y: number}, visibleWorld(): {x: number, y: number, w: number, h: number}}} Camera
 */

export class Placement {
  /**
   * @param {{session: any}} board the live board's state, or the replay's read-only stand-in
   * @param {Camera} camera
   */
  constructor(board, camera) {
    this.board = board;
    this.camera = camera;
    /** @type {{x: number, y: number, w: number, h: number}[]} cells promised to notes not placed yet */
    this.reserved = [];
  }

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
      const view = this.camera.visibleWorld();
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
    return this.freeSpotNear(this.camera.viewCenter(), skipId, { visibleFirst: false });
  }
  /** Does this loose note overlap a note that was there first (earlier createdAt, then smaller id)? */
  overlapsEarlier(note) {
    const rect = { x: note.x, y: note.y, w: NOTE_W, h: NOTE_H };
    return this.board.session.noteList().some((o) => o.id !== note.id && (o.createdAt < note.createdAt || (o.createdAt === note.createdAt && o.id < note.id)) && hit({ x: o.x, y: o.y, w: NOTE_W, h: NOTE_H }, rect));
  }
  freeSpotOutside(skipId) {
    return this.freeSpotNear(this.camera.viewCenter(), skipId);
  }
  /**
   * A free slot of a cluster's 2-column grid: the first one, or the one nearest `near`.
   * @param {string} clusterId @param {string | null} [skipId] @param {{x: number, y: number} | null} [near]
   */
  freeSpotInCluster(clusterId, skipId, near = null) {
    const c = this.board.session.clusterList().find((x) => x.id === clusterId);
    if (!c) return this.freeSpotNear(this.camera.viewCenter(), skipId);
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
    const center = this.camera.viewCenter();
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
}

/** Do two rectangles overlap (with `margin` around them)? */
export function hit(a, b, margin = 0) {
  return a.x < b.x + b.w + margin && b.x < a.x + a.w + margin && a.y < b.y + b.h + margin && b.y < a.y + a.h + margin;
}
