// @ts-check
// What a person does to the board from this page: post, edit, move, delete notes; create, tidy and
// merge clusters; vote and mark disagreement (HTTP); publish drafts and re-post what an offline
// reload left unsent. It writes to the document (session.js) and the server; it draws nothing: the
// screen is told what changed through the few calls of `Screen`.
import { api, ApiError, store, keys, newId, now } from "../util.js";
import { t } from "../i18n.js";
import { announce, toast, errorText } from "../ui.js";
import { tidyBoard, tidyCluster } from "../tidy.js";
import { shownTitle } from "../translations.js";
import { DEFAULT_SETTINGS } from "../schema.js";

/**
 * What the controller tells the screen (board/app.js): what changed, and where to look (a note
 * just posted is brought on screen; a tidied board is shown whole).
 * @typedef {{
 *   readonly view: string,
 *   reveal(pos: {x: number, y: number}, id: string): void,
 *   fitAll(): void,
 *   votesChanged(): void,
 *   resultsChanged(): void,
 *   draftsChanged(): void,
 * }} Screen
 */

export class BoardController {
  /** @param {import("./state.js").BoardState} board @param {import("../placement.js").Placement} place where notes and clusters go @param {Screen} screen */
  constructor(board, place, screen) {
    this.board = board;
    this.session = board.session;
    this.place = place;
    this.screen = screen;
    /** Notes (re)posted in this page's life: not replayed again (replayPending). @type {Set<string>} */
    this.pendingReplayed = new Set();
    this._fetchingResults = false;
    this._resultsAt = 0;
    /** Votes and marks this page has written: a read of my votes sent before one may answer after it. */
    this._voteWrites = 0;
  }

  // ---------- votes ----------
  async refreshVotes() {
    const b = this.board;
    if (b.role !== "participant") return;
    const writes = this._voteWrites;
    try {
      const r = await api("GET", `/api/boards/${b.id}/votes/mine`, { token: b.token });
      // A vote was answered while this read was on its way: the read may not hold it. Read again
      // rather than show a dot taken back (the phase change's read crossing the first vote).
      if (this._voteWrites !== writes) return this.refreshVotes();
      b.votes = { mine: r.votes || {}, remaining: r.remaining, budget: r.budget, against: new Set(r.against || []) };
      this.screen.votesChanged();
    } catch {
      /* offline or not available yet */
    }
  }
  /** @param {string} noteId @param {number} delta */
  async vote(noteId, delta) {
    const b = this.board;
    if (!b.canVote()) {
      toast(t("vote_closed"), "warn");
      return;
    }
    try {
      const r = await api("POST", `/api/boards/${b.id}/votes`, { token: b.token, body: { note_id: noteId, delta } });
      this._voteWrites += 1;
      b.votes.mine = { ...b.votes.mine, [r.note_id]: r.mine };
      if (!r.mine) delete b.votes.mine[r.note_id];
      b.votes.remaining = r.remaining;
      if (b.votes.budget === null) b.votes.budget = this.session.settings().vote_budget;
      const budget = b.votes.budget;
      announce(t("votes_left", { n: budget, left: r.remaining, budget }));
      this.screen.votesChanged();
    } catch (e) {
      toast(errorText(e), e instanceof ApiError && e.status === 409 ? "warn" : "error");
      this.refreshVotes();
    }
  }
  /** An "I disagree" mark (branch results). @param {string} noteId @param {number} delta */
  async disagree(noteId, delta) {
    const b = this.board;
    if (!b.canVote()) {
      toast(t("vote_closed"), "warn");
      return;
    }
    try {
      const r = await api("POST", `/api/boards/${b.id}/votes`, { token: b.token, body: { note_id: noteId, delta, stance: "against" } });
      this._voteWrites += 1;
      const against = new Set(b.votes.against);
      if (r.mine) against.add(r.note_id);
      else against.delete(r.note_id);
      b.votes.against = against;
      announce(t("disagree_left", { n: r.remaining, budget: b.disagreeLeft().budget }));
      this.screen.votesChanged();
    } catch (e) {
      toast(errorText(e), e instanceof ApiError && e.status === 409 ? "warn" : "error");
      this.refreshVotes();
    }
  }
  async fetchResults(throttled = false) {
    const b = this.board;
    if (this._fetchingResults || (throttled && Date.now() - this._resultsAt < 1500)) return;
    this._fetchingResults = true;
    try {
      const data = await api("GET", `/api/boards/${b.id}/results`, { token: b.token });
      this._resultsAt = Date.now();
      // Polled: only new figures rebuild what shows them (a rebuild every poll would flicker).
      if (b.httpResults && JSON.stringify(b.httpResults.data) === JSON.stringify(data)) return;
      b.httpResults = { data, updatedAt: Date.now() };
      this.screen.resultsChanged();
    } catch {
      /* 403 until revealed: the hint stays */
    } finally {
      this._fetchingResults = false;
    }
  }

  // ---------- notes ----------
  /** Where a new note goes: inside the cluster being looked at, else the free spot nearest the view. @param {string} clusterId */
  placeNote(clusterId) {
    if (clusterId) return this.place.freeSpotInCluster(clusterId);
    return this.place.freeGridCell(null);
  }

  /**
   * Two phones that post at the same moment may pick the same free cell. Once synced, the author of
   * the later note (createdAt, then id) moves it to the next free cell: each client moves only its
   * own notes, so everyone converges without a race.
   */
  settleOverlaps() {
    if (!this.session.synced || !this.board.canEditBoard()) return;
    const mine = this.board.mine();
    for (const n of this.session.noteList()) {
      if (!mine.has(n.id) || n.cluster || !this.place.overlapsEarlier(n)) continue;
      const pos = this.place.freeGridCell(n.id);
      this.session.updateNote(n.id, { x: pos.x, y: pos.y });
    }
  }

  /** @param {{text: string, color: string, lang: string, cluster: string, kind?: string, media?: string, duration?: number}} note */
  postNote({ text, color, lang, cluster, kind = undefined, media = undefined, duration = undefined }) {
    const b = this.board;
    text = text.trim();
    if (!text && !media) return null;
    const s = this.session;
    const max = s.settings().max_note_length || DEFAULT_SETTINGS.max_note_length;
    text = text.slice(0, max);
    if (b.draftMode()) {
      const drafts = store.get(keys.drafts(b.id), []);
      drafts.push({ id: newId(), text, color, lang, cluster: cluster || "", createdAt: Date.now() });
      store.set(keys.drafts(b.id), drafts);
      toast(t("only_on_device"));
      this.screen.draftsChanged();
      return null;
    }
    if (!b.canEditBoard()) {
      toast(t("cannot_post_locked"), "warn");
      return null;
    }
    const limit = s.settings().max_notes_per_participant;
    if (b.role === "participant" && limit) {
      const mine = b.mine();
      let count = 0;
      for (const nid of s.liveNoteIds()) if (mine.has(nid)) count++;
      if (count >= limit) {
        toast(t("note_limit", { n: limit }), "warn");
        return null;
      }
    }
    const id = newId();
    const pos = this.placeNote(cluster);
    /** @type {Record<string, any>} */
    const fields = { text, x: pos.x, y: pos.y, color, cluster: cluster || "", lang, createdAt: now(), ...(media ? { kind, media } : {}), ...(media && typeof duration === "number" ? { duration } : {}) };
    if (!s.settings().anonymous && b.me.name) fields.author = b.me.name;
    b.rememberMine(id);
    const pending = store.get(keys.pending(b.id), []);
    pending.push({ id, ...fields });
    store.set(keys.pending(b.id), pending.slice(-50));
    this.pendingReplayed.add(id);
    s.addNote(id, fields);
    this.confirmSoon([id]);
    announce(t("note_posted"));
    this.screen.reveal(pos, id);
    return id;
  }

  /** @param {string} id @param {Record<string, any>} fields */
  editNote(id, fields) {
    this.session.updateNote(id, fields);
  }

  /**
   * Notes posted on this device that the server had not confirmed when the page closed (offline reload):
   * after a fresh sync, the ones missing from the doc are posted again; the ones present are confirmed.
   */
  replayPending() {
    const b = this.board;
    const pending = store.get(keys.pending(b.id), []);
    if (!pending.length) return;
    const s = this.session;
    const keep = [];
    for (const p of pending) {
      if (s.notes.has(p.id)) {
        if (!this.pendingReplayed.has(p.id)) continue; // came back from the server: confirmed
        keep.push(p); // posted in this page session: confirmed on the next load
        continue;
      }
      if (this.pendingReplayed.has(p.id) || !b.canEditBoard() || b.draftMode()) {
        keep.push(p);
        continue;
      }
      this.pendingReplayed.add(p.id);
      const { id, ...fields } = p;
      s.addNote(id, fields);
      keep.push(p);
    }
    store.set(keys.pending(b.id), keep);
  }

  /**
   * A posted note stays in the pending list until its bytes have left the socket while connected and
   * synced (then the server has it, or refused it, which triggers a resync rather than a replay).
   * @param {string[]} ids
   */
  confirmSoon(ids) {
    const boardId = this.board.id;
    setTimeout(() => {
      const p = this.session.provider;
      if (!p || !p.wsconnected || !p.synced || !p.ws || p.ws.bufferedAmount > 0) return; // retried on reconnect
      const set = new Set(ids);
      store.set(keys.pending(boardId), store.get(keys.pending(boardId), []).filter((/** @type {any} */ x) => !set.has(x.id)));
    }, 1500);
  }

  publishDrafts() {
    const b = this.board;
    const drafts = store.get(keys.drafts(b.id), []);
    if (!drafts.length || !b.canEditBoard() || b.role === "viewer") return;
    store.set(keys.drafts(b.id), []);
    for (const d of drafts) this.postNote({ text: d.text, color: d.color, lang: d.lang, cluster: d.cluster });
    toast(t("drafts_published"));
    this.screen.draftsChanged();
  }

  /** A draft kept on this device (private writing): edited or dropped. @param {string} id @param {Record<string, any> | null} fields null: delete it */
  changeDraft(id, fields) {
    const key = keys.drafts(this.board.id);
    const drafts = store.get(key, []);
    store.set(key, fields ? drafts.map((/** @type {any} */ d) => (d.id === id ? { ...d, ...fields } : d)) : drafts.filter((/** @type {any} */ d) => d.id !== id));
    this.screen.draftsChanged();
  }

  /** @param {string} id */
  deleteNote(id) {
    const b = this.board;
    if (!b.canEditNote(id)) return;
    this.session.deleteNote(id);
    store.set(keys.pending(b.id), store.get(keys.pending(b.id), []).filter((/** @type {any} */ x) => x.id !== id));
  }

  /** @param {string} noteId @param {string} clusterId "" = out of any cluster */
  moveToCluster(noteId, clusterId) {
    const s = this.session;
    const note = s.liveNote(noteId);
    if (!note || !this.board.canEditBoard()) return;
    const pos = clusterId ? this.place.freeSpotInCluster(clusterId, noteId) : this.place.freeSpotOutside(noteId);
    s.updateNote(noteId, { cluster: clusterId || "", x: pos.x, y: pos.y });
    const c = clusterId ? s.clusterList().find((/** @type {any} */ x) => x.id === clusterId) : null;
    announce(t("note_moved_announce", { cluster: c ? shownTitle(c) : t("no_cluster") }));
  }

  // ---------- clusters ----------
  /** @param {string} title @param {{x: number, y: number} | null} at */
  createCluster(title, at) {
    if (!this.board.canEditBoard()) return null;
    const id = newId();
    const pos = at || this.place.freeClusterSpot();
    this.session.addCluster(id, { title: title || "", x: pos.x, y: pos.y, color: "" });
    return id;
  }

  /** A cluster's titles: the main one and one per board language. @param {string} clusterId @param {string} title @param {Record<string, string>} titles */
  renameCluster(clusterId, title, titles) {
    const s = this.session;
    s.batch(() => {
      s.updateCluster(clusterId, { title });
      s.setClusterTitles(clusterId, titles);
    });
  }

  /** Its notes stay on the board, unclustered. @param {string} clusterId */
  deleteCluster(clusterId) {
    const s = this.session;
    s.batch(() => {
      for (const n of s.noteList()) if (n.cluster === clusterId) s.updateNote(n.id, { cluster: "" });
      s.deleteCluster(clusterId);
    });
  }

  /**
   * Tidy up one cluster (its notes in its grid, no holes) or, with null, the whole board: one
   * transaction, so everyone receives it as one change.
   * @param {string | null} clusterId
   */
  tidy(clusterId) {
    if (!this.board.isFacilitator()) return;
    const s = this.session;
    const notes = s.noteList();
    const clusters = s.clusterList();
    let plan;
    if (clusterId) {
      const c = clusters.find((/** @type {any} */ x) => x.id === clusterId);
      if (!c) return;
      plan = { notes: tidyCluster(notes, c), clusters: new Map() };
    } else plan = tidyBoard(notes, clusters);
    s.batch(() => {
      for (const [id, pos] of plan.clusters) s.updateCluster(id, pos);
      for (const [id, pos] of plan.notes) s.updateNote(id, pos);
    });
    announce(t(clusterId ? "tidied_cluster" : "tidied_board"));
    if (!clusterId && this.screen.view === "canvas") this.screen.fitAll();
  }

  /** @param {string} fromId @param {string} intoId */
  mergeCluster(fromId, intoId) {
    const s = this.session;
    const members = s.noteList().filter((/** @type {any} */ n) => n.cluster === fromId);
    s.batch(() => {
      for (const n of members) {
        const pos = this.place.freeSpotInCluster(intoId, n.id);
        s.updateNote(n.id, { cluster: intoId, x: pos.x, y: pos.y });
        this.place.reserve(pos);
      }
      if (this.board.isFacilitator()) s.deleteCluster(fromId);
    });
    this.place.clearReserved();
  }
}
