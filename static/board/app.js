// @ts-check
// The board's screen: the top bar, the banners, the main view (canvas, outline, vote list or
// results), the drafts kept on this device, the facilitator's panel; redrawn when the document,
// the connection or the language changes. What it shows comes from the board's state (state.js),
// what a person does goes through the controller (controller.js), dialogs are the sheets
// (sheets.js). Each component gets those parts it uses, not this screen.
import { h, clear, fill, store, keys, now } from "../util.js";
import { t, getLang, onLangChange, langName, isEasyRead } from "../i18n.js";
import { langSwitcher, announce, toast } from "../ui.js";
import { Session } from "../session.js";
import { Canvas } from "../canvas.js";
import { renderOutline } from "../outline.js";
import { renderVoteList } from "../votelist.js";
import { noteLabel, ideaTitle, shownText } from "../noteview.js";
import { mediaAccess } from "../media.js";
import { shownTitle, waitingFor } from "../translations.js";
import { facilitatorLink, showFacilitatorLinkOnce } from "../faclink.js";
import { clientConfig } from "../reach.js";
import { downloadButtons } from "../downloads.js";
import { resultsView } from "../results.js";
import { FacilitatorPanel } from "../panel.js";
import { BoardExtras } from "../extras.js";
import { tabStore } from "../storage.js";
import { groupName } from "../groups.js";
import { closedText } from "../privacy.js";
import { initEasyRead, easyReadToggle, listenScreenButton, stepWords, stepsStrip, resultSentences } from "../listen.js";
import { termWords } from "../glossary.js";
import { BoardState } from "./state.js";
import { BoardController } from "./controller.js";
import { BoardSheets } from "./sheets.js";

const VIEWS = ["outline", "results", "votes"];
const isPhone = () => matchMedia("(max-width: 47.99rem)").matches;
// Where the board opens: the canvas, unless the screen cannot show one whole card at readable size
// (a phone zoomed to 200 %: 195 CSS px < 200 px card + margins); then the list view (UX.md).
const homeView = () => (matchMedia("(max-width: 15.49rem)").matches ? "outline" : "canvas");

/** Drop what the service worker kept of this board (its info with the participants, pictures):
 * an erased person's phone must not open it again offline. @param {string} boardId */
async function forgetKeptAnswers(boardId) {
  if (typeof caches === "undefined") return;
  const prefix = `${location.origin}/api/boards/${encodeURIComponent(boardId)}`;
  try {
    for (const name of await caches.keys()) {
      if (!name.startsWith("cobord-")) continue;
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        if (request.url === prefix || request.url.startsWith(prefix + "/") || request.url.startsWith(prefix + "?")) await cache.delete(request);
      }
    }
  } catch {
    /* storage unavailable: nothing kept to forget */
  }
}

/** A page with one message instead of the board (unknown board, no access, access gone).
 * @param {HTMLElement} root @param {string} text */
export function message(root, text) {
  clear(root);
  root.append(
    h("div", { class: "page" }, h("header", { class: "page-head" }, h("a", { class: "brand", href: "/" }, t("app_name")), langSwitcher()),
      h("main", { class: "join" }, h("div", { class: "card" }, h("p", { role: "alert" }, text), h("a", { class: "btn", href: "/" }, t("back_home"))))),
  );
}

export class BoardApp {
  /** @param {HTMLElement} root @param {string} boardId @param {string} token @param {any} info GET /api/boards/{id} */
  constructor(root, boardId, token, info) {
    this.root = root;
    const params = new URLSearchParams(location.search);
    const asked = params.get("view");
    /** @type {string} */
    this.view = asked && VIEWS.includes(asked) ? asked : homeView();
    const role = (info.you && info.you.role) || "participant";
    // A phone in the vote phase opens on the vote list (big buttons), unless a view was asked for.
    if (!asked && role === "participant" && info.phase === "vote" && isPhone()) this.view = "votes";
    // The results phase is one screen for everyone: a page (re)loaded then opens on the results.
    if (!asked && info.phase === "results") this.view = "results";
    /** @type {Set<string> | null} ids already on screen, to announce new ones */
    this.seenNotes = null;
    // The phase the view was chosen from (HTTP at load, perhaps a copy kept offline): when the
    // document says otherwise, the view follows as for any phase change.
    this.lastPhase = info.phase || null;
    this.lastPrivate = null;
    this.lastVisibility = null;
    this.online = navigator.onLine;
    this.status = "connecting";
    this.panelOpen = false;
    this._lost = false;

    const session = new Session(boardId, token, {
      onChange: (/** @type {any} */ ev) => this.onDocChange(ev),
      onStatus: (/** @type {string} */ s) => {
        this.status = s;
        if (s === "closed" && this.accessGone(session.closeCode ?? 0)) return this.loseBoard(session.closeCode ?? 0);
        this.renderStatus();
        if (s === "connected") {
          this.actions.refreshVotes();
          mediaAccess(boardId, token, true); // a restarted server, a device that slept an hour
        }
        if (session.synced) {
          // Back online and synced: what was posted meanwhile went out with the sync.
          const ids = store.get(keys.pending(boardId), []).map((/** @type {any} */ x) => x.id);
          if (ids.length) this.actions.confirmSoon(ids);
        }
      },
      onDenied: () => toast(t("change_undone"), "warn"),
      onResync: () => {
        this.seenNotes = null;
        this.canvas.reset();
      },
      keepOffline: true, // the board opens again without network (offline.js)
    });
    this.session = session;
    this.board = new BoardState(boardId, token, info, session);
    const board = this.board;
    session.setFallback({ phase: info.phase, settings: info.settings, title: info.title });
    session.setUser({ name: board.me.name || (board.isFacilitator() ? t("facilitator_role") : ""), group: board.myGroup(), role: board.role, lang: getLang() });

    window.addEventListener("online", () => { this.online = true; this.renderStatus(); });
    window.addEventListener("offline", () => { this.online = false; this.renderStatus(); });
    window.addEventListener("popstate", () => {
      const v = new URLSearchParams(location.search).get("view");
      this.setView(v && VIEWS.includes(v) ? v : homeView(), false);
    });
    onLangChange(() => {
      session.setUser({ ...session.localUser, lang: getLang() });
      this.build();
    });
    initEasyRead(); // the participant's own choice, remembered on this device
    // What the canvas's own buttons and gestures open or do.
    this.canvas = new Canvas(board, {
      openNoteSheet: (/** @type {string} */ id) => this.sheets.openNoteSheet(id),
      openClusterSheet: (/** @type {string} */ id) => this.sheets.openClusterSheet(id),
      openNewCluster: (/** @type {any} */ at) => this.sheets.openNewCluster(at),
      tidy: (/** @type {string | null} */ id) => this.actions.tidy(id),
      vote: (/** @type {string} */ id, /** @type {number} */ delta) => this.actions.vote(id, delta),
      disagree: (/** @type {string} */ id, /** @type {number} */ delta) => this.actions.disagree(id, delta),
    });
    const app = this;
    this.actions = new BoardController(board, this.canvas, {
      get view() { return app.view; },
      votesChanged: () => { this.renderTopbar(); this.renderMain(); },
      resultsChanged: () => {
        if (this.view === "results") this.renderMain();
        if (this.panel) this.panel.render();
      },
      draftsChanged: () => this.renderDrafts(),
    });
    // follow me, moderation, "not sent yet" (extras.js): where they show on this screen
    this.extras = new BoardExtras(board, {
      get view() { return app.view; },
      get canvas() { return app.canvas; },
      get panel() { return app.panel; },
      get banners() { return app.banners; },
      get draftsEl() { return app.draftsEl; },
    });
    this.sheets = new BoardSheets(board, this.actions, {
      noteActions: (note, close) => this.extras.noteActions(note, close),
      clusterActions: (cluster, close) => this.extras.clusterActions(cluster, close),
      revealCluster: (id) => { if (this.view === "canvas") this.canvas.revealCluster(id); },
      rerender: () => this.renderMain(),
    });
    this.panel = board.isFacilitator()
      ? new FacilitatorPanel(board, {
          fetchResults: (throttled) => this.actions.fetchResults(throttled),
          close: () => this.togglePanel(false),
          sections: () => this.extras.panelSections(),
          place: this.canvas,
          showCluster: (id) => { if (this.view === "canvas") this.canvas.revealCluster(id); },
        })
      : null;
    this.build();
    this.actions.refreshVotes();
    setInterval(() => this.tick(), 1000);
    if (this.panel && store.get(keys.justCreated) === boardId) {
      store.remove(keys.justCreated);
      this.togglePanel(true);
      // Once, on creation: the private link that restores this panel anywhere.
      clientConfig().then((cfg) => showFacilitatorLinkOnce(facilitatorLink(boardId, token, cfg), info.title || ""));
    }
  }

  /** What the browser tests reach as the page's `__cobord` (testhook.js, behind their flag): the
   * parts they watch and a few actions, named as the tests use them. */
  testView() {
    const app = this;
    return {
      get id() { return app.board.id; },
      get session() { return app.session; },
      get canvas() { return app.canvas; },
      get panel() { return app.panel; },
      get view() { return app.view; },
      get httpResults() { return app.board.httpResults; },
      canVote: () => app.board.canVote(),
      myVotes: (/** @type {string} */ id) => app.board.myVotes(id),
      postNote: (/** @type {any} */ note) => app.actions.postNote(note),
      createCluster: (/** @type {string} */ title, /** @type {any} */ at) => app.actions.createCluster(title, at),
      moveToCluster: (/** @type {string} */ note, /** @type {string} */ cluster) => app.actions.moveToCluster(note, cluster),
      vote: (/** @type {string} */ id, /** @type {number} */ delta) => app.actions.vote(id, delta),
    };
  }

  /**
   * The server closed our socket for good (4401/4404): this device forgets the board — its copy of
   * the document, the token, what was waiting to be sent — and says why. Nothing of the board stays
   * on screen, no "+" (an erased person's phone must not keep everyone's notes).
   */
  accessGone(code) {
    return code === 4404 || (code === 4401 && this.board.role !== "facilitator");
  }

  loseBoard(code) {
    if (this._lost) return;
    this._lost = true;
    this.session.destroy();
    for (const key of [keys.docState, keys.token, keys.pending, keys.acked, keys.mine]) store.remove(key(this.board.id));
    forgetKeptAnswers(this.board.id);
    message(this.root, closedText(code));
  }

  // ---------- layout ----------
  build() {
    if (this._lost) return; // the board is gone from this device (loseBoard)
    if (this.canvas) this.canvas.detach(); // re-attached to the new main element below
    // A rebuild (language, easy-read) must not drop the keyboard's place: the control that had the
    // focus gets it back in the new page (by its data-fk key), not <body>.
    const had = document.activeElement;
    const keep = had instanceof HTMLElement && this.root.contains(had) ? had.dataset.fk : null;
    clear(this.root);
    document.title = `${this.session.metaValue("title", this.board.info.title) || ""} — ${t("app_name")}`;
    this.topbar = h("div", { class: "topbar" });
    this.banners = h("div", { class: "banners" });
    this.mainEl = h("main", { class: `board-main view-${this.view}`, id: "board-main", tabindex: "-1" });
    this.fab = h(
      "button",
      { type: "button", class: "fab", "aria-label": t("add_note"), title: t("add_note"), onclick: () => this.sheets.openComposer() },
      h("span", { "aria-hidden": "true" }, "+"),
    );
    this.draftsEl = h("section", { class: "drafts", "aria-labelledby": "drafts-h" });
    // Screen-reader and keyboard users land on a link to the list view (the canvas is visual).
    const skip = h("a", { class: "skip-link", href: "?view=outline", onclick: (e) => { e.preventDefault(); this.setView("outline"); } }, t("skip_to_outline"));
    // "+" comes right after the top bar in the tab order (it is drawn at the bottom corner), not
    // after every note of the board.
    this.waitingEl = h("div", { class: "tr-waiting-slot" });
    this.stepsEl = h("div", { class: "steps-slot" });
    // One banner landmark holds the skip link, the bar, "+" and the translations badge: nothing
    // of the page stays outside a landmark.
    this.root.append(h("div", { class: "board-app" }, h("header", { class: "topbar-wrap" }, skip, this.topbar, this.fab, this.stepsEl, this.waitingEl), this.banners, this.draftsEl, this.mainEl));
    if (this.panel) this.root.append(this.panel.el);
    this._topSig = null;
    this._bannerSig = null;
    this.renderAll();
    if (keep && !this.root.contains(document.activeElement)) {
      const again = /** @type {HTMLElement | null} */ (this.root.querySelector(`[data-fk="${CSS.escape(keep)}"]`));
      if (again) again.focus({ preventScroll: true });
    }
  }

  /** Change the view without taking the focus (the state changed, not the person). */
  switchView(view) {
    this.view = view;
    const url = new URL(location.href);
    if (view === "canvas") url.searchParams.delete("view");
    else url.searchParams.set("view", view);
    history.pushState(null, "", url);
    if (this.mainEl) this.mainEl.className = `board-main view-${this.view}`;
  }

  setView(view, push = true) {
    this.view = view;
    if (push) {
      const url = new URL(location.href);
      if (view === "canvas") url.searchParams.delete("view");
      else url.searchParams.set("view", view);
      history.pushState(null, "", url);
    }
    this.mainEl.className = `board-main view-${this.view}`;
    this.renderAll();
    this.mainEl.focus({ preventScroll: true });
  }

  onDocChange(ev) {
    if (this._lost) return;
    // Awareness (presence) changes every few seconds per person: they only touch the top bar and the
    // panel, so a keyboard user's place in the outline is never rebuilt under them for that.
    if (!(ev && (ev.awareness || ev.clock))) this._docDirty = true;
    if (this._raf) return;
    this._raf = requestAnimationFrame(() => {
      this._raf = 0;
      if (!this._docDirty) {
        this.renderTopbar();
        if (this.panel) this.panel.render();
        return;
      }
      this._docDirty = false;
      this.afterDocChange();
      this.renderAll();
    });
  }

  /** Side effects of remote state: announce new notes, publish drafts, reload votes on phase change. */
  afterDocChange() {
    const s = this.session;
    const ids = new Set();
    for (const id of s.liveNoteIds()) ids.add(id);
    if (this.seenNotes && s.synced) {
      const mine = this.board.mine();
      for (const n of s.noteList()) {
        if (!this.seenNotes.has(n.id) && !mine.has(n.id)) announce(t("note_new_announce", { text: noteLabel(n) }));
      }
    }
    if (s.synced) this.seenNotes = ids;
    const phase = s.phase();
    if (this.lastPhase !== null && phase !== this.lastPhase) {
      this.actions.refreshVotes();
      // Said in the reader's language, and what changed on their screen too.
      announce(t("phase_now_announce", { phase: t(`phase_${phase}`) }));
      if (this.board.role === "participant" && phase === "vote" && (this.view === "canvas" || this.view === homeView()) && isPhone()) {
        this.switchView("votes");
        announce(t("switched_to_votes"));
      } else if (phase !== "vote" && this.view === "votes") this.switchView(homeView());
      // Back from the results (to ideas, clusters…): everyone returns to the board and its "+".
      else if (this.lastPhase === "results" && this.view === "results") this.switchView(homeView());
      this._goResults = phase === "results";
    }
    const visibility = s.settings().votes_visibility;
    if (this.lastVisibility && visibility === "revealed" && this.lastVisibility !== "revealed") announce(t("results_revealed_announce"));
    this.lastVisibility = visibility;
    if (this._goResults && this.board.resultsAvailable()) {
      // The facilitator moved to the results: show them (the board stays one tap away).
      this._goResults = false;
      if (this.view !== "results") {
        toast(t("results_now"));
        this.switchView("results");
      }
    }
    this.lastPhase = phase;
    const priv = s.settings().private_writing;
    if (s.synced) {
      this.actions.settleOverlaps();
      if (!priv) this.actions.publishDrafts();
      this.lastPrivate = priv;
      this.actions.replayPending();
    }
    const title = s.metaValue("title", this.board.info.title);
    if (title) document.title = `${title} — ${t("app_name")}`;
  }

  renderAll() {
    this.renderTopbar();
    this.renderStatus();
    this.renderMain();
    this.renderDrafts();
    // Posting follows the phase (the server refuses participants' new notes in vote and results).
    const closedPhase = this.board.role === "participant" && ["vote", "results"].includes(this.session.phase());
    const canPost = this.board.canEditBoard() && this.board.role !== "viewer" && !closedPhase && this.view !== "results" && this.view !== "votes";
    this.fab.hidden = !canPost;
    this.renderWaiting();
    if (this.panel) this.panel.render();
    if (this.extras) this.extras.afterRender();
  }

  renderTopbar() {
    const s = this.session;
    const settings = s.settings();
    const phase = s.phase();
    const title = s.metaValue("title", this.board.info.title) || "";
    const presence = s.presence();
    const budget = this.board.votes.budget ?? settings.vote_budget;
    const remaining = this.board.votes.remaining ?? budget;
    const votesLeft = t("votes_left", { n: budget, left: remaining, budget });
    // Rebuilt only when something shown changed: presence heartbeats must not close the language
    // menu or steal the focus of someone tabbing through the bar.
    const sig = [title, phase, presence.length, this.view, this.board.resultsAvailable(), this.panelOpen, remaining, budget, this.board.role, getLang(), isEasyRead()].join("|");
    if (sig === this._topSig) return this.renderTimer();
    this._topSig = sig;
    const active = /** @type {HTMLElement | null} */ (document.activeElement);
    const focused = active && this.topbar.contains(active) ? active.dataset.fk : null;
    this.timerEl = h("span", { class: "chip chip-timer", role: "timer", "aria-label": t("timer_label") });
    fill(
      this.topbar,
      h(
        "div",
        { class: "topbar-row" },
        h("a", { class: "brand brand-small", href: "/", "aria-label": `${t("app_name")} — ${t("back_home")}` }, "C"),
        h("h1", { class: "board-title" }, title),
        h(
          "nav",
          { class: "view-tabs", "aria-label": t("view_switch") },
          this.view === "canvas"
            ? h("button", { type: "button", class: "tab tab-outline", "data-fk": "view", onclick: () => this.setView("outline") }, "☰ ", t("view_outline"))
            : h("button", { type: "button", class: "tab tab-canvas", "data-fk": "view", onclick: () => this.setView("canvas") }, "▦ ", t("view_canvas")),
        ),
        h("button", { type: "button", class: "chip chip-btn", "data-fk": "presence", title: t("presence_heading"), onclick: () => this.sheets.openPresence() }, t("here_short", { n: presence.length })),
        langSwitcher({ compact: true }),
      ),
      h(
        "div",
        { class: "topbar-row topbar-row2" },
        h("span", { class: `chip chip-phase phase-${phase}` }, h("span", { class: "sr-only" }, `${t("phase_label")}: `), t(`phase_${phase}`)),
        this.timerEl,
        this.board.role === "participant" && phase === "vote" && this.view !== "votes"
          ? h("button", { type: "button", class: "tab tab-votes", "data-fk": "votes", onclick: () => this.setView("votes") }, t("view_votes"))
          : null,
        this.board.role === "participant" && phase === "vote"
          ? h("span", { class: "chip chip-votes", id: "votes-left", title: votesLeft }, h("span", { "aria-hidden": "true" }, "● ", t("votes_left_short", { n: budget, left: remaining, budget })), h("span", { class: "sr-only" }, votesLeft))
          : null,
        this.board.resultsAvailable() && this.view !== "results" && (this.board.isFacilitator() || phase === "results" || s.settings().votes_visibility === "revealed")
          ? h("button", { type: "button", class: "tab tab-results", "data-fk": "results", onclick: () => this.setView("results") }, t("results_open"))
          : null,
        this.board.role !== "viewer" ? listenScreenButton(() => this.screenWords()) : null,
        this.board.role !== "viewer" ? easyReadToggle(() => { this._topSig = null; this._bannerSig = null; this.build(); }) : null,
        this.panel
          ? h("button", { type: "button", class: "btn btn-small btn-accent", "data-fk": "panel", "aria-expanded": String(this.panelOpen), "aria-controls": "fac-panel", onclick: () => this.togglePanel() }, "⚙ ", t("facilitator"))
          : null,
      ),
    );
    if (focused) {
      const el = this.topbar.querySelector(`[data-fk="${focused}"]`);
      if (el) el.focus();
    }
    // Easy-read: the four steps as pictograms with words, the current one marked.
    fill(this.stepsEl, isEasyRead() && this.board.role !== "viewer" ? stepsStrip(phase) : null);
    this.renderTimer();
  }

  /** What "listen to this screen" says: the step and what to do, then what this view shows. */
  screenWords() {
    const s = this.session;
    const phase = s.phase();
    /** @type {{text: string, lang?: string}[]} */
    const out = stepWords(phase);
    // The banners (offline, locked, the drag hint, private writing) say what holds right now.
    for (const b of this.banners.querySelectorAll(".banner")) out.push({ text: (b.textContent || "").replace(/[✕⚠✎◷]/g, "").trim() });
    if (this.view === "votes" || (this.board.role === "participant" && phase === "vote")) {
      const budget = this.board.votes.budget ?? s.settings().vote_budget;
      out.push({ text: t("votes_left", { n: budget, left: this.board.votes.remaining ?? budget, budget }) });
    }
    if (this.view === "results") {
      const r = s.resultsData() || this.board.httpResults;
      // Each idea, then the explanations of the glossary words it uses (glossary.js).
      const notes = new Map(s.noteList().map((n) => [n.id, n]));
      const terms = termWords(s.doc, [...notes.values()]);
      out.push(...this.resultWords(r && r.data, (item) => (notes.has(item.note_id) ? terms(notes.get(item.note_id)) : [])));
    }
    return out;
  }

  /** The results as plain sentences in the reader's language (`after`: see listen.js).
   * @param {any} data @param {(item: any) => {text: string, lang: string}[]} [after] */
  resultWords(data, after) {
    const notes = new Map(this.session.noteList().map((n) => [n.id, n]));
    const name = (/** @type {any} */ item) => {
      const note = notes.get(item.note_id);
      return note ? shownText(note).text || noteLabel(note) : item.text || "";
    };
    return resultSentences(data, name, (g) => groupName(this.session.settings(), g), after);
  }

  /** "3 ideas wait for a Dutch translation": for readers of that language (someone bilingual may
   * answer) and, for every language, the facilitator. */
  renderWaiting() {
    if (!this.waitingEl || this.board.role === "viewer") return;
    const notes = this.session.noteList();
    const langs = this.board.isFacilitator() ? this.board.languages() : [getLang()];
    const counts = langs.map((l) => /** @type {[string, number]} */ ([l, waitingFor(notes, l).length])).filter(([, n]) => n > 0);
    const sig = JSON.stringify(counts) + getLang();
    if (sig === this._waitingSig) return;
    this._waitingSig = sig;
    fill(this.waitingEl, counts.map(([l, n]) =>
      h("button", { type: "button", class: "btn btn-small tr-waiting", "data-fk": `tw:${l}`, onclick: () => this.sheets.openWaiting(String(l)) },
        "⇄ ", t("translations_waiting", { n: Number(n), lang: langName(String(l)) }))));
  }

  togglePanel(open = !this.panelOpen) {
    const inPanel = !!this.panel && this.panel.el.contains(document.activeElement);
    this.panelOpen = open;
    if (this.panel) this.panel.setOpen(open);
    this.renderTopbar();
    // Closed from inside (✕, Escape): the focus goes back to the button that opens it.
    if (!open && (inPanel || document.activeElement === document.body)) {
      const opener = /** @type {HTMLElement | null} */ (this.topbar.querySelector('[data-fk="panel"]'));
      if (opener) opener.focus();
    }
  }

  tick() {
    this.renderTimer();
  }

  renderTimer() {
    if (!this.timerEl) return;
    const timer = this.session.timer();
    if (!timer || !timer.endsAt) {
      this.timerEl.hidden = true;
      return;
    }
    this.timerEl.hidden = false;
    const left = Math.max(0, Math.round((timer.endsAt - now()) / 1000));
    const text = left > 0 ? `◷ ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}` : `◷ ${t("timer_done")}`;
    if (left === 0 && this._timerAnnounced !== timer.endsAt) {
      this._timerAnnounced = timer.endsAt;
      if (timer.endsAt > now() - 5000) announce(t("timer_done"));
    } else if (left > 0) this._timerAnnounced = null;
    if (this.timerEl.textContent !== text) this.timerEl.textContent = text;
    this.timerEl.classList.toggle("chip-urgent", left <= 30);
  }

  renderStatus() {
    const s = this.session.settings();
    const offline = !this.online || (this.status !== "connected" && this.status !== "connecting");
    const items = [];
    if (this.session.full) items.push(["full", "◷ " + t("board_full_retry")]); // 1013: retrying (session.js)
    else if (this.status === "closed" && this.session.closeCode && this.session.closeCode !== 4403) items.push(["offline", "⚠ " + closedText(this.session.closeCode)]);
    // Without a secure context there is no service worker: this page cannot be opened again offline.
    else if (offline || (this.status === "connecting" && this._wasConnected)) items.push(["offline", "⚠ " + t("offline_banner") + (window.isSecureContext ? "" : " " + t("offline_keep_page"))]);
    if (this.status === "connected") this._wasConnected = true;
    if (s.locked) items.push(["locked", t("locked_banner")]);
    const hintOff = !!tabStore.get(keys.hintOff);
    if (!hintOff && this.view === "canvas" && this.session.phase() === "cluster" && this.board.canEditBoard()) items.push(["hint", t("drag_hint")]);
    // The facilitator's own notes are not drafts: they read what the participants are told.
    if (s.private_writing) items.push(["private", "✎ " + t(this.board.role === "participant" ? "private_banner" : "private_banner_fac")]);
    const sig = items.map((i) => i.join(":")).join(",") + getLang(); // the text too: "offline" becomes "deleted"
    if (sig === this._bannerSig) return;
    this._bannerSig = sig;
    fill(
      this.banners,
      items.map(([k, text]) =>
        h(
          "p",
          { class: `banner banner-${k}`, role: k === "offline" ? "alert" : "status" },
          text,
          k === "hint"
            ? h("button", {
                type: "button",
                class: "icon-btn banner-close",
                "aria-label": t("close"),
                onclick: () => {
                  tabStore.set(keys.hintOff, true);
                  this.renderStatus();
                },
              }, "✕")
            : null,
        ),
      ),
    );
    document.body.classList.toggle("is-offline", offline);
  }

  renderMain() {
    // The results scroll inside <main> and may hold nothing focusable: the region itself is a tab
    // stop there, so keyboard users can scroll it.
    this.mainEl.tabIndex = this.view === "results" ? 0 : -1;
    if (this.view !== "canvas") this.canvas.detach();
    if (this.view === "canvas") {
      if (!this.canvas.attached) {
        clear(this.mainEl);
        this.mainEl.append(this.canvas.el);
        this.canvas.attach();
      }
      this.canvas.render();
    } else if (this.view === "votes") {
      let wrap = this.mainEl.querySelector(":scope > .votelist-wrap");
      if (!wrap) {
        wrap = h("div", { class: "votelist-wrap" });
        fill(this.mainEl, wrap);
      }
      renderVoteList(this.board, this.actions, wrap);
    } else if (this.view === "outline") {
      const active = /** @type {HTMLElement | null} */ (document.activeElement);
      const focusKey = active && active.dataset && this.mainEl.contains(active) ? active.dataset.fk : null;
      let wrap = this.mainEl.querySelector(":scope > .outline");
      if (!wrap) {
        wrap = h("div", { class: "outline" });
        fill(this.mainEl, wrap);
      }
      renderOutline(this.board, this.actions, this.sheets, wrap);
      if (focusKey && !this.mainEl.contains(document.activeElement)) {
        const el = this.mainEl.querySelector(`[data-fk="${CSS.escape(focusKey)}"]`);
        if (el) el.focus({ preventScroll: true });
      }
    } else {
      fill(this.mainEl, this.resultsPane());
    }
  }

  // ---------- results ----------
  resultsPane() {
    const fromDoc = this.session.resultsData();
    const r = fromDoc || this.board.httpResults;
    if (!r) {
      this.actions.fetchResults();
      return h("section", { class: "results" }, h("h2", null, t("results_heading")), h("p", null, t("results_hidden")));
    }
    if (!fromDoc && this.board.isFacilitator()) this.actions.fetchResults(true);
    const titles = new Map(this.session.clusterList().map((c) => [c.id, shownTitle(c)]));
    const notes = new Map(this.session.noteList().map((n) => [n.id, n]));
    const view = resultsView(r.data, { groups: this.board.groups(), updatedAt: r.updatedAt, clusterTitle: (id) => titles.get(id), settings: this.session.settings(), noteTitle: ideaTitle(this.board, (id) => notes.get(id)) });
    if (isEasyRead()) {
      // Counts, not percentages, in short sentences, before the bars.
      const sentences = this.resultWords(r.data);
      if (sentences.length) view.querySelector("h2")?.after(h("section", { class: "plain-results", "aria-labelledby": "plain-res-h" }, h("h3", { id: "plain-res-h" }, t("easy_results_heading")), h("ul", null, sentences.map((x) => h("li", null, x.text)))));
    }
    if (this.board.isFacilitator()) view.append(h("h3", null, t("downloads_heading")), downloadButtons(this.board.id, this.board.token, "results-downloads"));
    return view;
  }

  renderDrafts() {
    const drafts = store.get(keys.drafts(this.board.id), []);
    // The facilitator sees how many drafts wait (a count in our presence, never their text).
    const user = this.session.localUser;
    if (this.board.role === "participant" && user && (user.drafts || 0) !== drafts.length) this.session.setUser({ ...user, drafts: drafts.length });
    const el = this.draftsEl;
    if (!drafts.length) {
      el.hidden = true;
      clear(el);
      return;
    }
    el.hidden = false;
    fill(el, 
      h("h2", { id: "drafts-h" }, t("drafts_heading", { n: drafts.length }), h("span", { class: "device-only" }, t("only_on_device"))),
      h(
        "ul",
        { class: "draft-list" },
        drafts.map((d) =>
          h(
            "li",
            { class: `draft note-${d.color}` },
            h("p", { lang: d.lang }, d.text),
            h(
              "div",
              { class: "draft-actions" },
              h("button", { type: "button", class: "btn btn-small", onclick: () => this.sheets.openComposer({ ...d, draft: true }) }, t("edit")),
              h("button", { type: "button", class: "btn btn-small btn-danger", onclick: () => this.actions.changeDraft(d.id, null) }, t("delete")),
            ),
          ),
        ),
      ),
    );
  }
}
