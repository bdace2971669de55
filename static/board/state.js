// @ts-check
// What the board page knows and may do, read by every view of it (canvas, outline, vote list, sheets,
// panel): who I am, what my role and the board's settings allow, which notes are mine, the votes and
// results the server told us. Questions only: the writes are the controller's (controller.js).
import { store, keys } from "../util.js";

/** @typedef {{ mine: Record<string, number>, remaining: number | null, budget: number | null, against: Set<string> }} MyVotes */

export class BoardState {
  /** @param {string} boardId @param {string} token @param {any} info GET /api/boards/{id} @param {any} session session.js */
  constructor(boardId, token, info, session) {
    this.id = boardId;
    this.token = token;
    this.info = info;
    this.session = session;
    /** @type {string} */
    this.role = (info.you && info.you.role) || "participant";
    this.me = info.you || {};
    /** @type {MyVotes} */
    this.votes = { mine: {}, remaining: null, budget: null, against: new Set() };
    /** The results as GET /results answered (the document has none while votes are hidden). @type {{data: any, updatedAt: number} | null} */
    this.httpResults = null;
    /** @type {Set<string> | null} */
    this._mine = null;
  }

  // ---------- identity ----------
  myGroup() {
    const p = (this.info.participants || []).find((/** @type {any} */ x) => x.participant_id && x.participant_id === this.me.participant_id);
    return (p && p.group) || store.get(keys.group(this.id)) || "";
  }
  /** @returns {string[]} */
  groups() {
    const s = this.session.settings();
    return (s.groups && s.groups.length ? s.groups : this.info.groups) || [];
  }
  /** @returns {string[]} */
  languages() {
    const s = this.session.settings();
    const l = (s.languages && s.languages.length ? s.languages : this.info.languages) || [];
    return l.length ? l : ["fr", "nl", "en"];
  }

  // ---------- permissions (for display: the server decides) ----------
  isFacilitator() {
    return this.role === "facilitator";
  }
  canEditBoard() {
    if (this.role === "viewer") return false;
    return this.isFacilitator() || !this.session.settings().locked;
  }
  /** While private writing is on, a participant's new notes are drafts on the device. */
  draftMode() {
    return this.role === "participant" && !!this.session.settings().private_writing;
  }
  /** @param {string} noteId */
  canEditNote(noteId) {
    return this.canEditBoard() && (this.isFacilitator() || this.isMine(noteId));
  }
  canVote() {
    return this.role === "participant" && this.session.phase() === "vote" && !this.session.settings().locked;
  }

  // ---------- my notes (posted from this device) ----------
  /** @returns {Set<string>} */
  mine() {
    if (!this._mine) this._mine = new Set(store.get(keys.mine(this.id), []));
    return this._mine;
  }
  /** @param {string} noteId */
  isMine(noteId) {
    return this.mine().has(noteId);
  }
  /** @param {string} id */
  rememberMine(id) {
    const mine = store.get(keys.mine(this.id), []);
    if (!mine.includes(id)) mine.push(id);
    store.set(keys.mine(this.id), mine);
    this._mine = new Set(mine);
  }

  // ---------- votes and results ----------
  /** @param {string} noteId */
  myVotes(noteId) {
    return this.votes.mine[noteId] || 0;
  }
  /** Marks follow the board's setting live (meta.settings): re-read at every render, never cached. */
  disagreeOn() {
    return this.role === "participant" && this.session.settings().disagree_marks === true;
  }
  /** My marks left: derived from the setting's budget and the marks the server confirmed. */
  disagreeLeft() {
    const budget = this.session.settings().disagree_budget ?? 2;
    return { left: Math.max(0, budget - this.votes.against.size), budget };
  }
  /** @param {string} noteId */
  myMark(noteId) {
    return this.votes.against.has(noteId);
  }
  resultsAvailable() {
    if (this.isFacilitator()) return true;
    const vis = this.session.settings().votes_visibility;
    return !!this.session.resultsData() && (vis === "revealed" || vis === "live" || this.session.phase() === "results");
  }
  /** Total dots on a note when the results are visible to us (live / revealed / facilitator). @param {string} noteId */
  totalVotes(noteId) {
    const r = this.session.resultsData() || this.httpResults;
    if (!r || !r.data || !Array.isArray(r.data.notes)) return null;
    const n = r.data.notes.find((/** @type {any} */ x) => x.note_id === noteId);
    return n ? n.total : 0;
  }
}
