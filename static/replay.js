// @ts-check
// Replay (facilitator, read-only): the board as it was at any moment of the workshop, drawn by the live
// board's own Canvas. A Y.Doc with no provider is filled from the replay API:
//   seek  = GET /replay/state?form=parts&at=<t> or &seq=<n>  (keyframe + merged tail; X-Cobord-Seq = last update included)
//   play  = GET /replay/updates?after=<seq>       (pages, applied in ts order at 1×, 10× or 60×)
//   feed  = GET /replay/events?after=<seq>        ("who did what" beside the canvas; a click seeks there)
// "Follow the live board": at the end, new updates and events are fetched every few seconds.
// Nothing here writes to the board: the canvas gets an app whose every permission says no.
// Here: the player (seek, play, follow) and its controls; the board at a moment and the API's wire
// shapes are replaydoc.js's, the feed replayfeed.js's.
import { h, fill, store, keys, api, ApiError } from "./util.js";
import { t, onLangChange, locale, fmtNumber } from "./i18n.js";
import { langSwitcher, openSheet, errorText } from "./ui.js";
import { Y } from "./session.js";
import { Canvas } from "./canvas.js";
import { noteMeta } from "./noteview.js";
import { ht } from "./history_i18n.js";
import { mediaAccess } from "./media.js";
import { exposeForTests } from "./testhook.js";
import { replayState, splitParts, base64ToBytes, inSeconds, timelineInSeconds } from "./replaydoc.js";
import { ReplayFeed } from "./replayfeed.js";

const FOLLOW_MS = 3000; // how often a followed live board is asked for news

function historyStyles() {
  if (document.querySelector("link[data-history-css]")) return;
  document.head.append(h("link", { rel: "stylesheet", href: "/history.css", dataset: { historyCss: "1" } }));
}

const SPEEDS = [1, 10, 60];
const PAGE = 1000; // updates per request (the server allows up to 5000)
const LOW_WATER = 200; // fetch the next page when fewer than this many are buffered

/** @param {HTMLElement} root @param {string} boardId */
export async function renderReplay(root, boardId) {
  const token = store.get(keys.token(boardId));
  if (!token) return message(root, boardId, t("board_no_access"));
  fill(root, h("p", { class: "loading" }, t("replay_loading")));
  let timeline;
  let info = {};
  try {
    [timeline, info] = await Promise.all([
      // (the pictures' cookie first: media.js; a failure only leaves the pictures to the device's copies)
      mediaAccess(boardId, token).then(() => api("GET", `/api/boards/${encodeURIComponent(boardId)}/replay`, { token })).then(timelineInSeconds),
      api("GET", `/api/boards/${encodeURIComponent(boardId)}`, { token }).catch(() => ({})),
    ]);
  } catch (e) {
    const status = e instanceof ApiError ? e.status : undefined;
    if (status === 403) return message(root, boardId, t("replay_facilitator_only"));
    if (status === 401) return message(root, boardId, t("board_no_access"));
    if (status === 404) return message(root, boardId, t("board_not_found"));
    return message(root, boardId, errorText(e));
  }
  historyStyles();
  const app = new ReplayApp(root, boardId, token, timeline, info || {});
  exposeForTests("__cobordReplay", app);
  app.feed.load();
  await app.seek(timeline.end);
}

function message(root, boardId, text) {
  fill(
    root,
    h(
      "div",
      { class: "page" },
      h("header", { class: "page-head" }, h("a", { class: "brand", href: "/" }, t("app_name")), langSwitcher()),
      h(
        "main",
        { class: "join" },
        h("div", { class: "card" }, h("p", { role: "alert" }, text), h("a", { class: "btn", href: `/b/${encodeURIComponent(boardId)}` }, t("replay_back"))),
      ),
    ),
  );
}

class ReplayApp {
  constructor(root, boardId, token, timeline, info) {
    this.root = root;
    this.boardId = boardId;
    this.id = `${boardId}:replay`; // the canvas keeps its pan/zoom under this key, apart from the live board's
    this.token = token;
    this.info = info;
    this.role = "facilitator";
    this.votes = { mine: {}, remaining: null, budget: null };
    this._mine = new Set();
    this.start = Number(timeline.start) || 0;
    this.end = Math.max(this.start, Number(timeline.end) || 0);
    this.bookmarks = Array.isArray(timeline.bookmarks) ? timeline.bookmarks : [];
    this.count = timeline.updates || 0;
    this.session = replayState([]);
    this.session.synced = false; // the canvas fits the board to the screen once the first state is in
    this.t = this.end;
    this.seq = 0;
    this.speed = 10;
    this.playing = false;
    this.loading = false;
    this.gen = 0; // bumped by every seek: answers for an older position are dropped
    this.buffer = [];
    this.exhausted = false;
    this.fetching = false;
    this.follow = false;
    // "who did what" beside the canvas (replayfeed.js), complete once decoded up to the log's last seq
    this.feed = new ReplayFeed(this, Number(timeline.last_seq) || 0);
    this.unit = 1; // seconds per step of the range: set by build() from the timeline's length
    /** @type {HTMLElement[]} */
    this.speedBtns = []; // built by build()
    this.canvas = new Canvas(this, this); // reads and (does nothing on) clicks: the methods below
    this.canvas.fitted = false;
    this._frame = (now) => this.frame(now);
    onLangChange(() => this.build());
    this.build();
  }

  // ---- what the Canvas asks of its app: a viewer that can do nothing ----
  isFacilitator() {
    return true;
  }
  canEditBoard() {
    return false;
  }
  canEditNote() {
    return false;
  }
  canVote() {
    return false;
  }
  mine() {
    return this._mine;
  }
  isMine() {
    return false;
  }
  myVotes() {
    return 0;
  }
  resultsAvailable() {
    return false;
  }
  /** Dots per note as the results in the document said at that moment (vote and results phases). */
  totalVotes(noteId) {
    const r = this.session.resultsData();
    const phase = this.session.phase();
    if (!r || !r.data || !Array.isArray(r.data.notes) || (phase !== "vote" && phase !== "results")) return null;
    const n = r.data.notes.find((x) => x.note_id === noteId);
    return n ? n.total || 0 : 0;
  }
  openNoteSheet(noteId) {
    const note = this.session.noteList().find((n) => n.id === noteId);
    if (!note) return;
    openSheet(t("replay_note"), () =>
      h("div", { class: "note-sheet" }, h("div", { class: `note-preview note-${note.color}` }, h("p", { lang: note.lang || undefined }, note.text), noteMeta(this, note))),
    );
  }
  openClusterSheet() {}
  openNewCluster() {}
  tidy() {}
  vote() {}
  disagree() {}

  // ---- layout ----
  build() {
    this.canvas.detach();
    const title = this.session.metaValue("title", this.info.title || "") || "";
    document.title = `${t("replay_heading")} — ${title} — ${t("app_name")}`;
    this.phaseEl = h("span", { class: "chip chip-phase" });
    this.topbar = h(
      "header",
      { class: "topbar" },
      h(
        "div",
        { class: "topbar-row" },
        h("a", { class: "brand brand-small", href: "/", "aria-label": `${t("app_name")} — ${t("back_home")}` }, "C"),
        h("h1", { class: "board-title" }, title ? `${t("replay_heading")} · ${title}` : t("replay_heading")),
        langSwitcher({ compact: true }),
      ),
      h(
        "div",
        { class: "topbar-row topbar-row2" },
        h("span", { class: "chip" }, t("replay_readonly")),
        this.phaseEl,
        h("a", { class: "tab", href: `/b/${encodeURIComponent(this.boardId)}` }, t("replay_back")),
      ),
    );
    this.mainEl = h("main", { class: "board-main view-canvas", id: "replay-main", tabindex: "-1" }, this.canvas.el);

    // One step of the range = 1 s (arrow keys), or a 100th of a very short timeline.
    this.unit = Math.min(1, Math.max(1e-3, (this.end - this.start) / 100));
    this.range = h("input", {
      type: "range",
      class: "replay-range",
      id: "replay-range",
      min: "0",
      max: String(this.steps()),
      step: "1",
      value: String(this.toStep(this.t)),
      oninput: () => this.onScrub(false),
      onchange: () => this.onScrub(true),
    });
    this.timeEl = h("output", { class: "replay-time", id: "replay-time", for: "replay-range" });
    this.elapsedEl = h("span", { class: "replay-elapsed muted" });
    this.playBtn = h("button", { type: "button", class: "btn btn-primary replay-play", id: "replay-play", onclick: () => this.toggle() });
    this.speedBtns = SPEEDS.map((s) =>
      h("button", { type: "button", class: "seg replay-speed", "aria-pressed": String(s === this.speed), dataset: { speed: String(s) }, onclick: () => this.setSpeed(s) }, `${fmtNumber(s)}×`),
    );
    const ticks = h(
      "div",
      { class: "replay-ticks", "aria-hidden": "true" },
      this.bookmarks.map((b) => h("span", { class: "replay-tick", style: { left: `${this.fraction(b.ts) * 100}%` } })),
    );
    this.markBtns = this.bookmarks.map((b, i) =>
      h(
        "button",
        { type: "button", class: "btn btn-small replay-mark", dataset: { phase: String(b.phase || ""), ts: String(b.ts) }, onclick: () => this.seek(b.ts) },
        `${fmtNumber(i + 1)}. ${this.phaseName(b.phase)} · `,
        h("time", { datetime: new Date(b.ts * 1000).toISOString() }, this.clock(b.ts, false)),
      ),
    );
    this.statusEl = h("p", { class: "replay-status", role: "status" });
    const bar = h(
      "section",
      { class: "replay-bar", "aria-label": t("replay_controls") },
      h(
        "div",
        { class: "replay-row" },
        this.playBtn,
        h("div", { class: "replay-speeds", role: "group", "aria-label": t("replay_speed") }, h("span", { class: "replay-speed-label", "aria-hidden": "true" }, t("replay_speed")), this.speedBtns),
        h("p", { class: "replay-clock" }, this.timeEl, " ", this.elapsedEl),
      ),
      h("div", { class: "replay-track" }, h("label", { class: "sr-only", for: "replay-range" }, t("replay_timeline")), this.range, ticks),
      this.bookmarks.length
        ? h("nav", { class: "replay-marks-nav", "aria-label": t("replay_bookmarks") }, h("ul", { class: "replay-marks" }, this.markBtns.map((b) => h("li", null, b))))
        : null,
      this.count ? null : h("p", { class: "muted" }, t("replay_empty")),
      this.statusEl,
    );
    const feedList = this.feed.mount();
    this.followBox = h("input", { type: "checkbox", id: "replay-follow", checked: this.follow, onchange: () => this.setFollow(this.followBox.checked) });
    this.liveEl = h("span", { class: "feed-live", hidden: !this.follow }, ht("feed_live"));
    this.feedEl = h(
      "aside",
      { class: "replay-feed", "aria-labelledby": "replay-feed-heading" },
      h("h2", { id: "replay-feed-heading" }, ht("feed_heading")),
      h("p", { class: "feed-follow" }, this.followBox, h("label", { for: "replay-follow" }, ht("feed_follow")), this.liveEl),
      feedList,
    );
    fill(this.root, h("div", { class: "board-app replay-app" }, this.topbar, h("div", { class: "replay-body" }, this.mainEl, this.feedEl), bar));
    this.feed.render();
    this.canvas.attach();
    this.canvas.tools._sig = null;
    this.render();
  }

  steps() {
    return Math.max(1, Math.ceil((this.end - this.start) / this.unit - 1e-9));
  }
  toStep(ts) {
    return ts >= this.end ? this.steps() : Math.min(this.steps(), Math.round((ts - this.start) / this.unit));
  }
  fromStep(v) {
    return Math.min(this.end, this.start + Number(v) * this.unit);
  }
  phaseName(phase) {
    return phase ? t(`phase_${phase}`) : "—";
  }
  fraction(ts) {
    const span = this.end - this.start;
    return span > 0 ? Math.min(1, Math.max(0, (ts - this.start) / span)) : 0;
  }
  clock(ts, seconds = true) {
    /** @type {Intl.DateTimeFormatOptions} */
    const opts = { hour: "2-digit", minute: "2-digit" };
    if (seconds) opts.second = "2-digit";
    return new Intl.DateTimeFormat(locale(), opts).format(new Date(ts * 1000));
  }
  duration(s) {
    s = Math.max(0, Math.round(s));
    const hh = Math.floor(s / 3600);
    const mm = Math.floor((s % 3600) / 60);
    const ss = String(s % 60).padStart(2, "0");
    return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
  }

  /** The board (diffed by the canvas) and the controls' state; cheap enough for every frame. */
  render() {
    this.canvas.render();
    if (!this.canvas.empty.hidden) this.canvas.empty.textContent = this.loading ? t("replay_loading") : t("replay_no_notes");
    this.renderControls();
  }

  renderControls() {
    const phase = this.session.phase();
    const phaseText = `${t("phase_label")}: ${this.phaseName(phase)}`;
    if (this.phaseEl.textContent !== phaseText) this.phaseEl.textContent = phaseText;
    const clock = this.clock(this.t);
    if (this.timeEl.textContent !== clock) this.timeEl.textContent = clock;
    const elapsed = t("replay_elapsed", { elapsed: this.duration(this.t - this.start), total: this.duration(this.end - this.start) });
    if (this.elapsedEl.textContent !== elapsed) this.elapsedEl.textContent = elapsed;
    if (!this._scrubbing) {
      const v = String(this.toStep(this.t));
      if (this.range.value !== v) this.range.value = v;
    }
    this.range.setAttribute("aria-valuetext", `${clock} (${elapsed})`);
    const label = this.playing ? `⏸ ${t("replay_pause")}` : `▶ ${t("replay_play")}`;
    if (this.playBtn.textContent !== label) this.playBtn.textContent = label;
    this.playBtn.setAttribute("aria-pressed", String(this.playing));
    for (const b of this.speedBtns) b.setAttribute("aria-pressed", String(Number(b.dataset.speed) === this.speed));
    let current = -1;
    this.bookmarks.forEach((b, i) => {
      if (b.ts <= this.t + 1e-6) current = i;
    });
    this.markBtns.forEach((b, i) => {
      if (i === current) b.setAttribute("aria-current", "step");
      else b.removeAttribute("aria-current");
    });
    this.root.querySelector(".replay-app")?.classList.toggle("is-loading", this.loading);
    this.feed.mark();
  }

  /**
   * Fetch `replay/state?<query>` and show it. Returns the last update it holds (`X-Cobord-Seq`, 0 if
   * none), or null when a newer seek started meanwhile (then nothing was changed).
   * @param {string} query @param {number} gen
   */
  async loadState(query, gen) {
    const res = await fetch(`/api/boards/${encodeURIComponent(this.boardId)}/replay/state?form=parts&${query}`, {
      headers: { Authorization: `Bearer ${this.token}` },
    });
    if (!res.ok) throw new ApiError(res.status, "replay_state");
    const bytes = new Uint8Array(await res.arrayBuffer());
    if (gen !== this.gen) return null;
    const old = this.session;
    this.session = replayState(splitParts(bytes));
    old.doc.destroy();
    this.feed.learnTexts(this.session);
    return Number(res.headers.get("X-Cobord-Seq")) || 0;
  }

  /** Show the board right after update `seq` (exact: keyframe + at most one interval server side). */
  async seekSeq(seq, ts) {
    const gen = ++this.gen;
    this.playing = false;
    this.buffer = [];
    this.exhausted = false;
    this.fetching = false;
    this.loading = true;
    this.renderControls();
    try {
      const lastSeq = await this.loadState(`seq=${encodeURIComponent(String(seq))}`, gen);
      if (lastSeq === null) return;
      this.seq = lastSeq || seq;
      this.t = Math.min(this.end, Math.max(this.start, Number(ts)));
      this.loading = false;
      this.status("");
      this.render();
    } catch (e) {
      if (gen !== this.gen) return;
      this.loading = false;
      this.status(errorText(e instanceof ApiError ? e : new ApiError(0, "network")));
      this.renderControls();
    }
  }

  setFollow(on) {
    this.follow = on;
    if (this.liveEl) this.liveEl.hidden = !on;
    clearTimeout(this._followTimer);
    if (on) this.followTick();
  }

  /** Following a live board: pull what happened since the last known update, stay at the end. */
  async followTick() {
    if (!this.follow) return;
    try {
      if (!this.loading && !this.playing) {
        if (this.t < this.end - 1e-6) await this.seek(this.end);
        const rows = (await api("GET", `/api/boards/${encodeURIComponent(this.boardId)}/replay/updates?after=${this.seq}&limit=${PAGE}`, { token: this.token }) || []).map(inSeconds);
        if (this.follow && rows && rows.length && !this.playing) {
          for (const row of rows) {
            Y.applyUpdate(this.session.doc, base64ToBytes(row.update));
            this.seq = row.seq;
            this.feed.grew(row.seq);
            if (row.ts > this.end) this.extendEnd(row.ts);
          }
          this.t = this.end;
          this.feed.learnTexts(this.session);
          this.count += rows.length;
          await this.feed.load();
          this.render();
        }
      }
    } catch (e) {
      this.status(errorText(e));
    }
    if (this.follow) this._followTimer = setTimeout(() => this.followTick(), FOLLOW_MS);
  }

  status(text) {
    if (this.statusEl && this.statusEl.textContent !== text) this.statusEl.textContent = text;
  }

  // ---- controls ----
  onScrub(commit) {
    const at = this.fromStep(this.range.value);
    clearTimeout(this._scrubTimer);
    if (commit) {
      this._scrubbing = false;
      this.seek(at);
      return;
    }
    // Dragging: show the time at once, fetch the state when the hand rests.
    this._scrubbing = true;
    this.timeEl.textContent = this.clock(at);
    this._scrubTimer = setTimeout(() => {
      this._scrubbing = false;
      this.seek(at);
    }, 150);
  }

  setSpeed(s) {
    this.speed = s;
    this.renderControls();
  }

  toggle() {
    if (this.playing) this.pause();
    else this.play();
  }

  async play() {
    if (this.playing) return;
    this.playing = true;
    this.renderControls();
    if (!this.loading && this.t >= this.end - 1e-6) await this.seek(this.start); // at the end: from the top
    this.lastFrame = performance.now();
    this.fetchMore();
    requestAnimationFrame(this._frame);
  }

  pause() {
    this.playing = false;
    this.renderControls();
  }

  /** Show the whole board as it was at `at` (unix seconds). Playback, if on, goes on from there. */
  async seek(at) {
    at = Math.min(this.end, Math.max(this.start, Number(at)));
    const gen = ++this.gen;
    this.buffer = [];
    this.exhausted = false;
    this.fetching = false;
    this.loading = true;
    this.t = at;
    this.renderControls();
    try {
      const lastSeq = await this.loadState(`at=${Math.round(at * 1000)}`, gen); // the API counts in ms
      if (lastSeq === null) return;
      this.seq = lastSeq;
      this.loading = false;
      this.t = at;
      this.status("");
      this.render();
      if (this.playing) this.fetchMore();
    } catch (e) {
      if (gen !== this.gen) return;
      this.loading = false;
      this.playing = false;
      this.status(errorText(e instanceof ApiError ? e : new ApiError(0, "network")));
      this.renderControls();
    }
  }

  async fetchMore() {
    if (this.fetching || this.exhausted || this.loading) return;
    const gen = this.gen;
    this.fetching = true;
    try {
      const after = this.buffer.length ? this.buffer[this.buffer.length - 1].seq : this.seq;
      const rows = (await api("GET", `/api/boards/${encodeURIComponent(this.boardId)}/replay/updates?after=${after}&limit=${PAGE}`, { token: this.token }) || []).map(inSeconds);
      if (gen !== this.gen) return;
      for (const r of rows || []) {
        this.buffer.push(r);
        // The board went on after this page was opened: let the timeline grow with it.
        if (r.ts > this.end) this.extendEnd(r.ts);
      }
      if (!rows || rows.length < PAGE) this.exhausted = true;
    } catch (e) {
      if (gen !== this.gen) return;
      this.playing = false;
      this.status(errorText(e));
      this.renderControls();
    } finally {
      if (gen === this.gen) this.fetching = false;
    }
  }

  extendEnd(ts) {
    this.end = ts;
    this.range.max = String(this.steps());
  }

  /** One animation frame of playback: advance the clock by speed × elapsed, apply what it passed. */
  frame(now) {
    if (!this.playing) return;
    const dt = Math.min(0.25, Math.max(0, (now - this.lastFrame) / 1000)); // a hidden tab does not jump ahead
    this.lastFrame = now;
    if (!this.loading) {
      if (this.buffer.length < LOW_WATER) this.fetchMore();
      if (this.buffer.length || this.exhausted) {
        let target = Math.min(this.end, this.t + dt * this.speed);
        if (!this.exhausted && this.buffer.length) target = Math.min(target, this.buffer[this.buffer.length - 1].ts);
        let applied = 0;
        while (this.buffer.length && this.buffer[0].ts <= target) {
          const row = this.buffer.shift();
          Y.applyUpdate(this.session.doc, base64ToBytes(row.update));
          this.seq = row.seq;
          applied++;
        }
        this.t = target;
        if (applied) this.dirty = true;
        if (this.exhausted && !this.buffer.length && this.t >= this.end - 1e-6) {
          this.t = this.end;
          this.playing = false;
        }
      }
    }
    if (this.dirty) {
      this.dirty = false;
      this.render();
    } else this.renderControls();
    if (this.playing) requestAnimationFrame(this._frame);
  }
}
