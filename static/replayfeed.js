// @ts-check
// The replay's "who did what" feed beside the canvas (replay.js): the events decoded by the server
// (`GET /replay/events`, in pages; while a page's `upto` is below the log's last seq it asks
// again a moment later), each a button that seeks the board to just after it; the current one
// marked, the future ones greyed; which note or cluster an event is about, by the texts seen in
// any state loaded so far (a deleted note keeps the text it had).
import { h, fill, api } from "./util.js";
import { errorText } from "./ui.js";
import { ht, actorName } from "./history_i18n.js";
import { inSeconds } from "./replaydoc.js";

const FEED_PAGE = 500; // events per request
const EVENTS_RETRY_MS = 250; // the feed of the last updates is decoded a moment after their commit
const EVENTS_RETRIES = 40;

/**
 * What the feed reads of the replay and asks of it.
 * @typedef {{
 *   readonly boardId: string,
 *   readonly token: string,
 *   readonly seq: number,
 *   clock: (ts: number) => string,
 *   phaseName: (phase: string) => string,
 *   seekSeq: (seq: number, ts: number) => void,
 *   status: (text: string) => void,
 * }} FeedReplay
 */

export class ReplayFeed {
  /** @param {FeedReplay} replay @param {number} lastLogged the log's last seq when the page opened */
  constructor(replay, lastLogged) {
    this.replay = replay;
    /** @type {any[]} */
    this.events = [];
    this.next = 0; // `after` of the next page of events
    this.done = false;
    this.retries = 0;
    this.lastLogged = lastLogged; // the feed is complete once decoded up to here
    /** @type {Map<string, string>} texts of notes ("n:<id>") and titles of clusters ("c:<id>") */
    this.texts = new Map();
    /** @type {HTMLElement | null} */
    this.list = null;
    /** @type {string | null} */
    this._marked = null;
    this._loading = false;
    /** @type {any} */
    this._timer = 0;
  }

  /** A new list element for a rebuilt page. */
  mount() {
    this.list = h("ol", { class: "feed-list", id: "replay-feed-list" });
    return this.list;
  }

  /** The log grew (following a live board): read the events of what is new. @param {number} seq */
  grew(seq) {
    this.lastLogged = Math.max(this.lastLogged, seq);
    this.done = false;
    this.retries = 0;
  }

  async load() {
    if (this._loading || this.done) return;
    this._loading = true;
    const replay = this.replay;
    try {
      let page = null;
      for (let pages = 0; pages < 20 && !this.done; pages++) {
        page = await api("GET", `/api/boards/${encodeURIComponent(replay.boardId)}/replay/events?after=${this.next}&limit=${FEED_PAGE}`, { token: replay.token });
        const fresh = ((page && page.events) || []).map(inSeconds);
        this.events.push(...fresh);
        if (fresh.length) this.next = fresh[fresh.length - 1].seq;
        if (!page || page.next === null) this.done = true;
      }
      if (this.done && Number(page?.upto) < this.lastLogged && this.retries++ < EVENTS_RETRIES) {
        clearTimeout(this._timer);
        this._timer = setTimeout(() => {
          this.done = false;
          this.load();
        }, EVENTS_RETRY_MS);
      }
    } catch (e) {
      replay.status(errorText(e));
    } finally {
      this._loading = false;
      this.render();
    }
  }

  /** @param {any} e */
  eventText(e) {
    if (e.kind === "phase_changed") return ht("ev_phase_changed", { phase: this.replay.phaseName(e.phase) });
    return ht(`ev_${e.kind}`, { who: actorName(e), n: e.count || 0, term: e.term || "" });
  }

  /** Texts of notes and titles of clusters seen in any state loaded so far (a deleted note keeps
   * the text it had), so the feed can say which note an event is about.
   * @param {import("./replaydoc.js").ReplayState} state */
  learnTexts(state) {
    let learnt = false;
    const learn = (/** @type {string} */ key, /** @type {string} */ value) => {
      if (value && this.texts.get(key) !== value) {
        if (!this.texts.has(key)) learnt = true;
        this.texts.set(key, value);
      }
    };
    state.notes.forEach((/** @type {any} */ n, /** @type {string} */ id) => typeof n.get === "function" && learn(`n:${id}`, String(n.get("text") || "")));
    state.clusters.forEach((/** @type {any} */ c, /** @type {string} */ id) => typeof c.get === "function" && learn(`c:${id}`, String(c.get("title") || "")));
    if (learnt && this.list) {
      for (const span of /** @type {NodeListOf<HTMLElement>} */ (this.list.querySelectorAll(".feed-note"))) {
        if (!span.textContent) span.textContent = this.texts.get(span.dataset.key || "") || "";
      }
    }
  }

  /** @param {any} e */
  noteText(e) {
    if (!e.note_id && !e.cluster_id) return "";
    return this.texts.get(e.note_id ? `n:${e.note_id}` : `c:${e.cluster_id}`) || "";
  }

  render() {
    if (!this.list) return;
    if (!this.events.length) {
      fill(this.list, h("li", { class: "muted feed-empty" }, ht("feed_empty")));
      return;
    }
    const replay = this.replay;
    const items = this.events.map((e) =>
      h(
        "li",
        { class: "feed-item", dataset: { seq: String(e.seq), kind: e.kind } },
        h(
          "button",
          { type: "button", onclick: () => replay.seekSeq(e.seq, e.ts) },
          h("time", { datetime: new Date(e.ts * 1000).toISOString() }, replay.clock(e.ts)),
          this.eventText(e),
          h("span", { class: "feed-note", dataset: { key: e.note_id ? `n:${e.note_id}` : `c:${e.cluster_id || ""}` } }, this.noteText(e)),
        ),
      ),
    );
    fill(this.list, ...items);
    this._marked = null;
    this.mark();
  }

  /** The event the board shows now is marked current, those after it future. */
  mark() {
    const list = this.list;
    if (!list || !this.events.length) return;
    const seq = this.replay.seq;
    const key = `${seq}`;
    if (this._marked === key) return;
    this._marked = key;
    let current = null;
    for (const li of /** @type {HTMLCollectionOf<HTMLElement>} */ (list.children)) {
      const at = Number(li.dataset.seq);
      li.classList.toggle("is-future", at > seq);
      li.classList.remove("is-current");
      if (at <= seq) current = li;
    }
    if (current) {
      current.classList.add("is-current");
      const box = list.getBoundingClientRect();
      const r = current.getBoundingClientRect();
      if (r.top < box.top || r.bottom > box.bottom) current.scrollIntoView({ block: "nearest" });
    }
  }
}
