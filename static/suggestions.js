// @ts-check
// The facilitator panel's cluster suggestions: ask; see which loose notes fit the clusters already
// made ("12 notes fit existing clusters: place them?") and which new groups the rest could form;
// accept one, some or all. Each acceptance is ONE Yjs transaction written by this client (one
// update for everyone); "Undo" takes exactly that step back (notes where they were, new clusters
// gone) in one transaction too.
import { h, api, newId } from "./util.js";
import { t, getLang } from "./i18n.js";
import { toast, announce, errorText } from "./ui.js";
import { tidyCluster } from "./tidy.js";
import { GRID_X, PAD, CLUSTER_COLS, NOTE_W } from "./placement.js";

const GAP = 60; // between new cluster frames

/** Where new clusters go: side by side, right of everything on the board (frames made in the same
 * transaction are not known to the canvas yet, so they are laid out here, not looked up).
 * @param {any[]} notes @param {any[]} clusters @param {number[]} sizes notes per new cluster */
function newClusterSpots(notes, clusters, sizes) {
  const right = Math.max(0, ...notes.map((n) => n.x + NOTE_W), ...clusters.map((c) => c.x + CLUSTER_COLS * GRID_X + PAD));
  const top = Math.min(0, ...notes.map((n) => n.y), ...clusters.map((c) => c.y));
  const width = CLUSTER_COLS * GRID_X + PAD;
  return sizes.map((_, i) => ({ x: Math.round(right + GAP + i * (width + GAP)), y: Math.round(top) }));
}

/** One section per board, kept across panel re-renders. @type {WeakMap<any, HTMLElement>} */
const sections = new WeakMap();

/** @param {Record<string, string>} label */
function labelIn(label) {
  return label[getLang()] || Object.values(label)[0] || "";
}

/**
 * Where accepted suggestions go (placement.js) and how a new cluster is shown.
 * @typedef {{
 *   freeSpotInCluster(clusterId: string, noteId?: string): {x: number, y: number},
 *   reserve(pos: {x: number, y: number}): void,
 *   clearReserved(): void,
 * }} SuggestionPlace
 */

/** @param {import("./board/state.js").BoardState} app the board @param {{place: SuggestionPlace, showCluster(id: string): void}} screen */
export function suggestionsSection(app, screen) {
  const kept = sections.get(app);
  if (kept) return kept;
  const s = app.session;
  const list = h("div", { class: "sugg-list", "aria-live": "polite" });
  const ask = h("button", { type: "button", class: "btn", "data-fk": "sugg-ask" }, t("sugg_ask"));
  const undoBtn = h("button", { type: "button", class: "btn sugg-undo", "data-fk": "sugg-undo", hidden: true }, t("sugg_undo"));
  const sec = h("section", { class: "panel-sec", "aria-labelledby": "p-sugg" }, h("h3", { id: "p-sugg" }, t("sugg_heading")), ask, undoBtn, list);
  /** The one step "Undo" takes back. @type {{notes: Map<string, {cluster: string, x: number, y: number}>, clusters: string[]} | null} */
  let lastStep = null;
  /** @type {{placements: any[], suggestions: any[]}} */
  let shown = { placements: [], suggestions: [] };

  const notesById = () => new Map(s.noteList().map((/** @type {any} */ n) => [n.id, n]));
  const clustersById = () => new Map(s.clusterList().map((/** @type {any} */ c) => [c.id, c]));

  /** Remember where these notes are now, then run `write` as one transaction. @param {string[]} ids @param {() => string[]} write */
  const step = (ids, write) => {
    const byId = notesById();
    const before = new Map();
    for (const id of ids) {
      const n = byId.get(id);
      if (n) before.set(id, { cluster: n.cluster || "", x: n.x, y: n.y });
    }
    /** @type {string[]} */
    let created = [];
    s.batch(() => { created = write(); });
    screen.place.clearReserved();
    lastStep = { notes: before, clusters: created };
    undoBtn.hidden = false;
  };

  undoBtn.addEventListener("click", () => {
    const last = lastStep;
    if (!last) return;
    s.batch(() => {
      for (const [id, was] of last.notes) s.updateNote(id, was);
      // Deleting is a field (docs/schema.md): the server removes the entry in the same step.
      for (const id of last.clusters) s.deleteCluster(id);
    });
    lastStep = null;
    undoBtn.hidden = true;
    announce(t("sugg_undone"));
    toast(t("sugg_undone"));
  });

  /** @param {any[]} chosen placements */
  const place = (chosen) => {
    const clusters = clustersById();
    const valid = chosen.filter((p) => clusters.has(p.cluster) && s.notes.get(p.note));
    if (!valid.length) return;
    step(valid.map((p) => p.note), () => {
      for (const p of valid) {
        const pos = screen.place.freeSpotInCluster(p.cluster, p.note);
        screen.place.reserve(pos);
        s.updateNote(p.note, { cluster: p.cluster, x: pos.x, y: pos.y });
      }
      return [];
    });
    const done = new Set(valid.map((p) => p.note));
    shown = { ...shown, placements: shown.placements.filter((p) => !done.has(p.note)) };
    render();
    announce(t("sugg_placed", { n: valid.length }));
    toast(t("sugg_placed", { n: valid.length }));
  };

  /** @param {any[]} chosen suggestions */
  const create = (chosen) => {
    const byId = notesById();
    const groups = chosen.map((g) => ({ ...g, notes: g.notes.filter((/** @type {string} */ id) => byId.has(id)) })).filter((g) => g.notes.length);
    if (!groups.length) return;
    const langs = app.languages();
    const spots = newClusterSpots(s.noteList(), s.clusterList(), groups.map((g) => g.notes.length));
    step(groups.flatMap((g) => g.notes), () => {
      const created = [];
      for (const [k, g] of groups.entries()) {
        const id = newId();
        const at = spots[k];
        /** @type {Record<string, string>} */
        const titles = {};
        for (const lang of langs) if (g.label[lang]) titles[lang] = String(g.label[lang]).slice(0, 80);
        const title = (titles[langs[0]] || labelIn(g.label)).slice(0, 80);
        const fields = { title, x: at.x, y: at.y, color: "" };
        s.addCluster(id, Object.keys(titles).length > 1 ? { ...fields, titles } : fields);
        const members = g.notes.map((/** @type {string} */ nid) => ({ ...byId.get(nid), cluster: id }));
        for (const [nid, pos] of tidyCluster(members, { id, x: at.x, y: at.y })) s.updateNote(nid, { cluster: id, x: pos.x, y: pos.y });
        created.push(id);
      }
      return created;
    });
    const first = lastStep?.clusters[0];
    if (first) screen.showCluster(first);
    shown = { ...shown, suggestions: shown.suggestions.filter((g) => !chosen.includes(g)) };
    render();
    announce(t("sugg_created", { n: groups.length }));
    toast(t("sugg_created", { n: groups.length }));
  };

  /** A checkbox row: big enough to tap, named by what it holds. @param {string} fk @param {any} content */
  const pick = (fk, content) => {
    const box = h("input", { type: "checkbox", checked: true, "data-fk": fk });
    return { box, row: h("label", { class: "sugg-pick" }, box, h("span", null, content)) };
  };

  const render = () => {
    const byId = notesById();
    const clusters = clustersById();
    const placements = shown.placements.filter((p) => byId.has(p.note) && clusters.has(p.cluster) && byId.get(p.note).cluster !== p.cluster);
    const suggestions = shown.suggestions;
    const parts = [];
    if (placements.length) {
      const rows = placements.map((p, i) => {
        const note = byId.get(p.note);
        const c = clusters.get(p.cluster);
        const cTitle = (c.titles && c.titles[getLang()]) || c.title || t("cluster_untitled");
        return { p, ...pick(`sugg-place-${i}`, [h("span", { lang: note.lang || undefined }, note.text || ""), " → ", h("strong", null, cTitle)]) };
      });
      const chosen = () => rows.filter((r) => /** @type {HTMLInputElement} */ (r.box).checked).map((r) => r.p);
      parts.push(h("div", { class: "sugg-block", role: "group", "aria-labelledby": "sugg-fit" },
        h("h4", { id: "sugg-fit" }, t("sugg_fit", { n: placements.length })),
        h("ul", { class: "sugg-items" }, rows.map((r) => h("li", null, r.row))),
        h("div", { class: "sugg-actions" },
          h("button", { type: "button", class: "btn", "data-fk": "sugg-place-some", onclick: () => place(chosen()) }, t("sugg_place_some")),
          h("button", { type: "button", class: "btn", "data-fk": "sugg-place-all", onclick: () => place(placements) }, t("sugg_place_all", { n: placements.length })))));
    }
    if (suggestions.length) {
      const rows = suggestions.map((g, i) => {
        const label = labelIn(g.label);
        const boxed = pick(`sugg-new-${i}`, [h("strong", null, label), ` (${g.notes.length})`]);
        return { g, ...boxed, li: h("li", { class: "sugg-item" }, boxed.row,
          h("ul", { class: "sugg-notes" }, g.notes.map((/** @type {string} */ id) => h("li", { lang: byId.get(id)?.lang || undefined }, byId.get(id)?.text || ""))),
          h("button", { type: "button", class: "btn sugg-accept", "data-fk": `sugg-${i}`, "aria-label": t("sugg_accept_named", { label }), onclick: () => create([g]) }, t("sugg_accept"))) };
      });
      const chosen = () => rows.filter((r) => /** @type {HTMLInputElement} */ (r.box).checked).map((r) => r.g);
      parts.push(h("div", { class: "sugg-block", role: "group", "aria-labelledby": "sugg-new" },
        h("h4", { id: "sugg-new" }, t("sugg_new", { n: suggestions.length })),
        h("ul", { class: "sugg-items" }, rows.map((r) => r.li)),
        h("div", { class: "sugg-actions" },
          h("button", { type: "button", class: "btn", "data-fk": "sugg-create-some", onclick: () => create(chosen()) }, t("sugg_create_some")),
          h("button", { type: "button", class: "btn", "data-fk": "sugg-create-all", onclick: () => create(suggestions) }, t("sugg_create_all", { n: suggestions.length })))));
    }
    list.replaceChildren(...(parts.length ? parts : [h("p", { class: "muted" }, t("sugg_none"))]));
  };

  ask.addEventListener("click", async () => {
    list.replaceChildren(h("p", { class: "muted" }, t("loading")));
    try {
      const res = await api("GET", `/api/boards/${encodeURIComponent(app.id)}/cluster-suggestions`, { token: app.token });
      shown = { placements: res.placements || [], suggestions: res.suggestions || [] };
      render();
    } catch (e) { list.replaceChildren(h("p", null, errorText(e))); }
  });
  sections.set(app, sec);
  return sec;
}
