// @ts-check
// "Tidy up": notes in a grid, no overlaps, no holes — for one cluster or for the whole board, as
// one change (one Yjs transaction: one update, one undo step for everyone).
// Pure layout here; board/controller.js writes the result in a batch.
import { GRID_X, GRID_Y, PAD, HEAD, CLUSTER_COLS, GRID_COLS } from "./placement.js";

const CLUSTER_GAP = 60; // between cluster frames
const ROW_WIDTH = 3 * (CLUSTER_COLS * GRID_X + PAD + CLUSTER_GAP); // clusters per row of the board

/** Reading order: by row (a grid row's height), then left to right. @param {any} a @param {any} b */
function reading(a, b) {
  return Math.round(a.y / GRID_Y) - Math.round(b.y / GRID_Y) || a.x - b.x || a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1);
}

/** The slots of a cluster's grid from its top-left corner, in reading order. @param {{x: number, y: number}} c @param {number} i */
function clusterSlot(c, i) {
  return { x: c.x + PAD + (i % CLUSTER_COLS) * GRID_X, y: c.y + HEAD + Math.floor(i / CLUSTER_COLS) * GRID_Y };
}

/**
 * New positions for one cluster's notes (its grid, from its own corner, reading order kept).
 * @param {any[]} notes @param {any} cluster
 * @returns {Map<string, {x: number, y: number}>}
 */
export function tidyCluster(notes, cluster) {
  const out = new Map();
  notes.filter((n) => n.cluster === cluster.id).sort(reading).forEach((n, i) => out.set(n.id, clusterSlot(cluster, i)));
  return out;
}

/**
 * The whole board: loose notes first (a grid GRID_COLS wide from the origin, like new notes fill
 * it), then the clusters below in rows, each with its notes in its grid.
 * @param {any[]} notes @param {any[]} clusters
 * @returns {{notes: Map<string, {x: number, y: number}>, clusters: Map<string, {x: number, y: number}>}}
 */
export function tidyBoard(notes, clusters) {
  const known = new Set(clusters.map((c) => c.id));
  const outNotes = new Map();
  const outClusters = new Map();
  const loose = notes.filter((n) => !n.cluster || !known.has(n.cluster)).sort(reading);
  loose.forEach((n, i) => outNotes.set(n.id, { x: (i % GRID_COLS) * GRID_X, y: Math.floor(i / GRID_COLS) * GRID_Y }));
  const looseRows = Math.ceil(loose.length / GRID_COLS);
  let x = 0;
  let y = looseRows ? looseRows * GRID_Y + CLUSTER_GAP : 0;
  let rowHeight = 0;
  for (const c of [...clusters].sort(reading)) {
    const members = notes.filter((n) => n.cluster === c.id);
    const w = CLUSTER_COLS * GRID_X + PAD;
    const h = HEAD + Math.max(1, Math.ceil(members.length / CLUSTER_COLS)) * GRID_Y + PAD;
    if (x > 0 && x + w > ROW_WIDTH) {
      x = 0;
      y += rowHeight + CLUSTER_GAP;
      rowHeight = 0;
    }
    const at = { x, y };
    outClusters.set(c.id, at);
    for (const [id, pos] of tidyCluster(members, { ...c, ...at })) outNotes.set(id, pos);
    x += w + CLUSTER_GAP;
    rowHeight = Math.max(rowHeight, h);
  }
  return { notes: outNotes, clusters: outClusters };
}
