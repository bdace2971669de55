// @ts-check
// The board's screen: which view shows (canvas, outline, vote list or results, from the URL and the
// phase), the page laid out from its parts, redrawn when the document, the connection or the
// language changes. What it shows comes from the board's state (state.js), what a person does goes
// through the controller (controller.js), dialogs are the sheets (sheets.js); the top bar
// (topbar.js), banners (banners.js), drafts (drafts.js), the results view (resultspane.js), what
// "listen" says (spoken.js) and losing the board (gone.js) are parts of their own. Each component
// gets those parts it uses, not this screen.
import { h, clear, fill, store, keys } from "../util.js";
import { t, getLang, onLangChange } from "../i18n.js";
import { announce, toast, PressGuard } from "../ui.js";
import { Session } from "../session.js";
import { Canvas } from "../canvas.js";
import { renderOutline } from "../outline.js";
import { renderVoteList } from "../votelist.js";
import { noteLabel } from "../noteview.js";
import { mediaAccess } from "../media.js";
import { facilitatorLink, showFacilitatorLinkOnce } from "../faclink.js";
import { clientConfig } from "../reach.js";
import { FacilitatorPanel } from "../panel.js";
import { BoardExtras } from "../extras.js";
import { initEasyRead } from "../listen.js";
import { BoardState } from "./state.js";
import { BoardController } from "./controller.js";
import { BoardSheets } from "./sheets.js";
import { TopBar } from "./topbar.js";
import { Banners } from "./banners.js";
import { renderDrafts } from "./drafts.js";
import { resultsPane } from "./resultspane.js";
import { screenWords } from "./spoken.js";
import { accessGone, forgetBoard } from "./gone.js";

const VIEWS = ["outline", "results", "votes"];
const isPhone = () => matchMedia("(max-width: 47.99rem)").matches;
// Where the board opens: the canvas, unless the screen cannot show one whole card at readable size
// (a phone zoomed to 200 %: 195 CSS px < 200 px card + margins); then the list view (UX.md).
const homeView = () => (matchMedia("(max-width: 15.49rem)").matches ? "outline" : "canvas");

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
    this.panelOpen = false;
    this._lost = false;

    const session = new Session(boardId, token, {
      onChange: (/** @type {any} */ ev) => this.onDocChange(ev),
      onStatus: (/** @type {string} */ s) => {
        this.bannerBar.status = s;
        if (s === "closed" && accessGone(session.closeCode ?? 0, this.board.role)) return this.loseBoard(session.closeCode ?? 0);
        this.bannerBar.render();
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
    const app = this;
    this.bannerBar = new Banners(board, { get view() { return app.view; } });
    this.topbar = new TopBar(board, {
      get view() { return app.view; },
      get panelOpen() { return app.panelOpen; },
      get hasPanel() { return !!app.panel; },
      setView: (view) => this.setView(view),
      openPresence: () => this.sheets.openPresence(),
      openWaiting: (lang) => this.sheets.openWaiting(lang),
      togglePanel: () => this.togglePanel(),
      rebuild: () => this.build(),
      screenWords: () => screenWords(board, this.view, this.bannerBar.texts()),
    });

    window.addEventListener("online", () => { this.bannerBar.online = true; this.bannerBar.render(); });
    window.addEventListener("offline", () => { this.bannerBar.online = false; this.bannerBar.render(); });
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
    this.actions = new BoardController(board, this.canvas.place, {
      get view() { return app.view; },
      reveal: (pos, id) => this.canvas.reveal(pos, id),
      fitAll: () => this.canvas.fitAll(),
      votesChanged: () => { this.topbar.render(); this.renderMain(); },
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
      get banners() { return app.bannerBar.el; },
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
          place: this.canvas.place,
          showCluster: (id) => { if (this.view === "canvas") this.canvas.revealCluster(id); },
        })
      : null;
    this.build();
    this.actions.refreshVotes();
    setInterval(() => this.topbar.renderTimer(), 1000);
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

  /** The server closed our socket for good (4401/4404): this device forgets the board (gone.js). */
  loseBoard(code) {
    if (this._lost) return;
    this._lost = true;
    this.session.destroy();
    forgetBoard(this.root, this.board.id, code);
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
    this.topbar.mount();
    const banners = this.bannerBar.mount();
    this.mainEl = h("main", { class: `board-main view-${this.view}`, id: "board-main", tabindex: "-1" });
    // The outline, the vote list and the results are rebuilt on live changes: never under a press.
    this.press = new PressGuard(this.mainEl, () => this.renderMain());
    this.fab = h(
      "button",
      { type: "button", class: "fab", "aria-label": t("add_note"), title: t("add_note"), onclick: () => this.sheets.openComposer() },
      h("span", { "aria-hidden": "true" }, "+"),
    );
    this.draftsEl = h("section", { class: "drafts", "aria-labelledby": "drafts-h" });
    // Screen-reader and keyboard users land on a link to the list view (the canvas is visual).
    const skip = h("a", { class: "skip-link", href: "?view=outline", onclick: (e) => { e.preventDefault(); this.setView("outline"); } }, t("skip_to_outline"));
    // "+" comes right after the top bar in the tab order (it is drawn at the bottom corner), not
    // after every note of the board. One banner landmark holds the skip link, the bar, "+" and the
    // translations badge: nothing of the page stays outside a landmark.
    const bar = this.topbar;
    this.root.append(h("div", { class: "board-app" }, h("header", { class: "topbar-wrap" }, skip, bar.el, this.fab, bar.stepsEl, bar.waitingEl), banners, this.draftsEl, this.mainEl));
    if (this.panel) this.root.append(this.panel.el);
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
        this.topbar.render();
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
    this.topbar.render();
    this.bannerBar.render();
    this.renderMain();
    this.renderDrafts();
    // Posting follows the phase (the server refuses participants' new notes in vote and results).
    const closedPhase = this.board.role === "participant" && ["vote", "results"].includes(this.session.phase());
    const canPost = this.board.canEditBoard() && this.board.role !== "viewer" && !closedPhase && this.view !== "results" && this.view !== "votes";
    this.fab.hidden = !canPost;
    this.topbar.renderWaiting();
    if (this.panel) this.panel.render();
    if (this.extras) this.extras.afterRender();
  }

  togglePanel(open = !this.panelOpen) {
    const inPanel = !!this.panel && this.panel.el.contains(document.activeElement);
    this.panelOpen = open;
    if (this.panel) this.panel.setOpen(open);
    this.topbar.render();
    // Closed from inside (✕, Escape): the focus goes back to the button that opens it.
    if (!open && (inPanel || document.activeElement === document.body)) {
      const opener = this.topbar.panelOpener();
      if (opener) opener.focus();
    }
  }

  renderMain() {
    if (this.view !== "canvas" && this.press && this.press.defer()) return; // (the canvas updates in place)
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
      fill(this.mainEl, resultsPane(this.board, this.actions));
    }
  }

  renderDrafts() {
    renderDrafts(this.draftsEl, this.board, {
      edit: (draft) => this.sheets.openComposer(draft),
      remove: (id) => this.actions.changeDraft(id, null),
    });
  }
}
