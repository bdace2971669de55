// @ts-check
// The board: canvas (pan/zoom, drag to cluster), outline (lists, keyboard), results, facilitator panel.
import { h, clear, fill, api, ApiError, store, keys, newId, now, groupShape } from "./util.js";
import { PHASES } from "./schema.js";
import { t, getLang, onLangChange, langName, langNoun, fmtNumber, isEasyRead } from "./i18n.js";
import { guessLang } from "./langguess.js";
import { langSwitcher, announce, toast, openSheet, errorText, field } from "./ui.js";
import { Session } from "./session.js";
import { Canvas, NOTE_W, NOTE_H } from "./canvas.js";
import { renderOutline } from "./outline.js";
import { renderVoteList } from "./votelist.js";
import { noteMeta, voteControls, COLORS, noteLabel, ideaTitle, shownText } from "./noteview.js";
import { mediaPicker, mediaAccess } from "./media.js";
import { translateForm, shownTitle, waitingFor } from "./translations.js";
import { adoptFragmentToken, facilitatorLink, showFacilitatorLinkOnce } from "./faclink.js";
import { clientConfig } from "./reach.js";
import { downloadButtons } from "./downloads.js";
import { resultsView } from "./results.js";
import { FacilitatorPanel } from "./panel.js";
import { rememberBoard } from "./home.js";
import { BoardExtras } from "./extras.js";
import { tabStore } from "./storage.js";
import { groupName } from "./groups.js";
import { tidyBoard, tidyCluster } from "./tidy.js";
import { closedText } from "./privacy.js";
import { initEasyRead, easyReadToggle, listenScreenButton, stepWords, stepsStrip, resultSentences, readPage } from "./listen.js";

const VIEWS = ["outline", "results", "votes"];
const isPhone = () => matchMedia("(max-width: 47.99rem)").matches;
// Where the board opens: the canvas, unless the screen cannot show one whole card at readable size
// (a phone zoomed to 200 %: 195 CSS px < 200 px card + margins); then the list view (UX.md).
const homeView = () => (matchMedia("(max-width: 15.49rem)").matches ? "outline" : "canvas");

/** @param {HTMLElement} root @param {string} boardId */
export async function renderBoard(root, boardId) {
  const fromLink = adoptFragmentToken(boardId); // the facilitator's private link (#k=...)
  const token = store.get(keys.token(boardId));
  if (!token) {
    // Ask whether the board exists at all: a deleted or mistyped board says so, not "no access".
    try {
      await api("GET", `/api/boards/${encodeURIComponent(boardId)}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return message(root, t("board_not_found"));
    }
    return noAccess(root, boardId);
  }
  let info;
  const media = mediaAccess(boardId, token); // pictures need their cookie before they show
  try {
    info = await api("GET", `/api/boards/${encodeURIComponent(boardId)}`, { token });
  } catch (e) {
    const status = e instanceof ApiError ? e.status : undefined;
    if (status === 404) return message(root, t("board_not_found"));
    if (status === 401 || status === 403) {
      if (fromLink) return message(root, t("board_no_access"));
      store.remove(keys.token(boardId)); // stale: join again rather than loop between /j and /b
      return noAccess(root, boardId);
    }
    // Server unreachable at load: still open the board from what we know; the provider syncs later.
    info = { id: boardId, title: "", groups: [], languages: [], participants: [], settings: {}, you: { role: roleFromToken(token) }, offlineAtLoad: true };
  }
  await media;
  rememberBoard(boardId, info.title || boardId);
  const app = new BoardApp(root, boardId, token, info);
  /** @type {any} */ (window).__cobord = app; // handy for debugging and the browser tests
}

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

/** Best effort, for display only (the server decides): our tokens carry {"r": role} before the dot. */
function roleFromToken(token) {
  try {
    const payload = JSON.parse(atob(token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/")));
    return ["facilitator", "participant", "viewer"].includes(payload.r) ? payload.r : "participant";
  } catch {
    return "participant";
  }
}

function noAccess(root, boardId) {
  const code = store.get(keys.joinCode(boardId));
  if (code) {
    location.replace(`/j/${encodeURIComponent(code)}`);
    return;
  }
  message(root, t("board_no_access"));
}

function message(root, text) {
  clear(root);
  root.append(
    h("div", { class: "page" }, h("header", { class: "page-head" }, h("a", { class: "brand", href: "/" }, t("app_name")), langSwitcher()),
      h("main", { class: "join" }, h("div", { class: "card" }, h("p", { role: "alert" }, text), h("a", { class: "btn", href: "/" }, t("back_home"))))),
  );
}

class BoardApp {
  constructor(root, boardId, token, info) {
    this.root = root;
    this.id = boardId;
    this.token = token;
    this.info = info;
    this.role = (info.you && info.you.role) || "participant";
    this.me = info.you || {};
    const params = new URLSearchParams(location.search);
    const asked = params.get("view");
    this.view = asked && VIEWS.includes(asked) ? asked : homeView();
    // A phone in the vote phase opens on the vote list (big buttons), unless a view was asked for.
    if (!params.get("view") && this.role === "participant" && info.phase === "vote" && isPhone()) this.view = "votes";
    // The results phase is one screen for everyone: a page (re)loaded then opens on the results.
    if (!params.get("view") && info.phase === "results") this.view = "results";
    this.votes = { mine: {}, remaining: null, budget: null, against: new Set() };
    this.httpResults = null;
    this.seenNotes = null; // ids already on screen, to announce new ones
    // The phase the view was chosen from (HTTP at load, perhaps a copy kept offline): when the
    // document says otherwise, the view follows as for any phase change.
    this.lastPhase = info.phase || null;
    this.lastPrivate = null;
    this.online = navigator.onLine;
    this.status = "connecting";
    this.pendingReplayed = new Set();
    this.panelOpen = false;

    this.session = new Session(boardId, token, {
      onChange: (ev) => this.onDocChange(ev),
      onStatus: (s) => {
        this.status = s;
        if (s === "closed" && this.accessGone(this.session.closeCode ?? 0)) return this.loseBoard(this.session.closeCode ?? 0);
        this.renderStatus();
        if (s === "connected") {
          this.refreshVotes();
          mediaAccess(this.id, this.token, true); // a restarted server, a device that slept an hour
        }
        if (this.session && this.session.synced) {
          // Back online and synced: what was posted meanwhile went out with the sync.
          const ids = store.get(keys.pending(this.id), []).map((x) => x.id);
          if (ids.length) this.confirmSoon(ids);
        }
      },
      onDenied: () => toast(t("change_undone"), "warn"),
      onResync: () => {
        this.seenNotes = null;
        this.canvas.reset();
      },
      keepOffline: true, // the board opens again without network (offline.js)
    });
    this.session.setFallback({ phase: info.phase, settings: info.settings, title: info.title });
    this.session.setUser({ name: this.me.name || (this.role === "facilitator" ? t("facilitator_role") : ""), group: this.myGroup(), role: this.role, lang: getLang() });

    window.addEventListener("online", () => { this.online = true; this.renderStatus(); });
    window.addEventListener("offline", () => { this.online = false; this.renderStatus(); });
    window.addEventListener("popstate", () => {
      const v = new URLSearchParams(location.search).get("view");
      this.setView(v && VIEWS.includes(v) ? v : homeView(), false);
    });
    onLangChange(() => {
      this.session.setUser({ ...this.session.localUser, lang: getLang() });
      this.build();
    });
    initEasyRead(); // the participant's own choice, remembered on this device
    this.canvas = new Canvas(this);
    this.panel = this.role === "facilitator" ? new FacilitatorPanel(this) : null;
    this.extras = new BoardExtras(this); // follow me, moderation, "not sent yet" (extras.js)
    this.build();
    this.refreshVotes();
    setInterval(() => this.tick(), 1000);
    if (this.panel && store.get("cobord:justCreated") === boardId) {
      store.remove("cobord:justCreated");
      this.togglePanel(true);
      // Once, on creation: the private link that restores this panel anywhere.
      clientConfig().then((cfg) => showFacilitatorLinkOnce(facilitatorLink(boardId, token, cfg), info.title || ""));
    }
  }

  /**
   * The server closed our socket for good (4401/4404): this device forgets the board — its copy of
   * the document, the token, what was waiting to be sent — and says why. Nothing of the board stays
   * on screen, no "+" (an erased person's phone must not keep everyone's notes).
   */
  /** A facilitator's 4401 is a replaced link, usually replaced from this very page (privacy.js
   * stores the new one and reloads): only the banner says it. @param {number} code */
  accessGone(code) {
    return code === 4404 || (code === 4401 && this.role !== "facilitator");
  }

  loseBoard(code) {
    if (this._lost) return;
    this._lost = true;
    this.session.destroy();
    for (const key of [keys.docState, keys.token, keys.pending, keys.acked, keys.mine]) store.remove(key(this.id));
    forgetKeptAnswers(this.id);
    message(this.root, closedText(code));
  }

  // ---------- identity and permissions ----------
  myGroup() {
    const p = (this.info.participants || []).find((x) => x.participant_id && x.participant_id === this.me.participant_id);
    return (p && p.group) || store.get(`cobord:group:${this.id}`) || "";
  }
  groups() {
    const s = this.session.settings();
    return (s.groups && s.groups.length ? s.groups : this.info.groups) || [];
  }
  languages() {
    const s = this.session.settings();
    const l = (s.languages && s.languages.length ? s.languages : this.info.languages) || [];
    return l.length ? l : ["fr", "nl", "en"];
  }
  isFacilitator() {
    return this.role === "facilitator";
  }
  canEditBoard() {
    if (this.role === "viewer") return false;
    return this.isFacilitator() || !this.session.settings().locked;
  }
  /** While private writing is on, a participant's new notes are drafts on the device. */
  draftMode() {
    return this.role === "participant" && this.session.settings().private_writing;
  }
  mine() {
    if (!this._mine) this._mine = new Set(store.get(keys.mine(this.id), []));
    return this._mine;
  }
  isMine(noteId) {
    return this.mine().has(noteId);
  }
  canEditNote(noteId) {
    return this.canEditBoard() && (this.isFacilitator() || this.isMine(noteId));
  }
  canVote() {
    return this.role === "participant" && this.session.phase() === "vote" && !this.session.settings().locked;
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
    document.title = `${this.session.metaValue("title", this.info.title) || ""} — ${t("app_name")}`;
    this.topbar = h("div", { class: "topbar" });
    this.banners = h("div", { class: "banners" });
    this.mainEl = h("main", { class: `board-main view-${this.view}`, id: "board-main", tabindex: "-1" });
    this.fab = h(
      "button",
      { type: "button", class: "fab", "aria-label": t("add_note"), title: t("add_note"), onclick: () => this.openComposer() },
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
      const mine = this.mine();
      for (const n of s.noteList()) {
        if (!this.seenNotes.has(n.id) && !mine.has(n.id)) announce(t("note_new_announce", { text: noteLabel(n) }));
      }
    }
    if (s.synced) this.seenNotes = ids;
    const phase = s.phase();
    if (this.lastPhase !== null && phase !== this.lastPhase) {
      this.refreshVotes();
      // Said in the reader's language, and what changed on their screen too.
      announce(t("phase_now_announce", { phase: t(`phase_${phase}`) }));
      if (this.role === "participant" && phase === "vote" && (this.view === "canvas" || this.view === homeView()) && isPhone()) {
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
    if (this._goResults && this.resultsAvailable()) {
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
      this.settleOverlaps();
      if (!priv) this.publishDrafts();
      this.lastPrivate = priv;
      this.replayPending();
    }
    const title = s.metaValue("title", this.info.title);
    if (title) document.title = `${title} — ${t("app_name")}`;
  }

  renderAll() {
    this.renderTopbar();
    this.renderStatus();
    this.renderMain();
    this.renderDrafts();
    // Posting follows the phase (the server refuses participants' new notes in vote and results).
    const closedPhase = this.role === "participant" && ["vote", "results"].includes(this.session.phase());
    const canPost = this.canEditBoard() && this.role !== "viewer" && !closedPhase && this.view !== "results" && this.view !== "votes";
    this.fab.hidden = !canPost;
    this.renderWaiting();
    if (this.panel) this.panel.render();
    if (this.extras) this.extras.afterRender();
  }

  renderTopbar() {
    const s = this.session;
    const settings = s.settings();
    const phase = s.phase();
    const title = s.metaValue("title", this.info.title) || "";
    const presence = s.presence();
    const budget = this.votes.budget ?? settings.vote_budget;
    const remaining = this.votes.remaining ?? budget;
    const votesLeft = t("votes_left", { n: budget, left: remaining, budget });
    // Rebuilt only when something shown changed: presence heartbeats must not close the language
    // menu or steal the focus of someone tabbing through the bar.
    const sig = [title, phase, presence.length, this.view, this.resultsAvailable(), this.panelOpen, remaining, budget, this.role, getLang(), isEasyRead()].join("|");
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
        h("button", { type: "button", class: "chip chip-btn", "data-fk": "presence", title: t("presence_heading"), onclick: () => this.openPresence() }, t("here_short", { n: presence.length })),
        langSwitcher({ compact: true }),
      ),
      h(
        "div",
        { class: "topbar-row topbar-row2" },
        h("span", { class: `chip chip-phase phase-${phase}` }, h("span", { class: "sr-only" }, `${t("phase_label")}: `), t(`phase_${phase}`)),
        this.timerEl,
        this.role === "participant" && phase === "vote" && this.view !== "votes"
          ? h("button", { type: "button", class: "tab tab-votes", "data-fk": "votes", onclick: () => this.setView("votes") }, t("view_votes"))
          : null,
        this.role === "participant" && phase === "vote"
          ? h("span", { class: "chip chip-votes", id: "votes-left", title: votesLeft }, h("span", { "aria-hidden": "true" }, "● ", t("votes_left_short", { n: budget, left: remaining, budget })), h("span", { class: "sr-only" }, votesLeft))
          : null,
        this.resultsAvailable() && this.view !== "results" && (this.isFacilitator() || phase === "results" || s.settings().votes_visibility === "revealed")
          ? h("button", { type: "button", class: "tab tab-results", "data-fk": "results", onclick: () => this.setView("results") }, t("results_open"))
          : null,
        this.role !== "viewer" ? listenScreenButton(() => this.screenWords()) : null,
        this.role !== "viewer" ? easyReadToggle(() => { this._topSig = null; this._bannerSig = null; this.build(); }) : null,
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
    fill(this.stepsEl, isEasyRead() && this.role !== "viewer" ? stepsStrip(phase) : null);
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
    if (this.view === "votes" || (this.role === "participant" && phase === "vote")) {
      const budget = this.votes.budget ?? s.settings().vote_budget;
      out.push({ text: t("votes_left", { n: budget, left: this.votes.remaining ?? budget, budget }) });
    }
    if (this.view === "results") {
      const r = s.resultsData() || this.httpResults;
      for (const text of this.resultWords(r && r.data)) out.push({ text });
    }
    return out;
  }

  /** The results as plain sentences in the reader's language. @param {any} data */
  resultWords(data) {
    const notes = new Map(this.session.noteList().map((n) => [n.id, n]));
    const name = (/** @type {any} */ item) => {
      const note = notes.get(item.note_id);
      return note ? shownText(note).text || noteLabel(note) : item.text || "";
    };
    return resultSentences(data, name, (g) => groupName(this.session.settings(), g));
  }

  /** "3 ideas wait for a Dutch translation": for readers of that language (someone bilingual may
   * answer) and, for every language, the facilitator. */
  renderWaiting() {
    if (!this.waitingEl || this.role === "viewer") return;
    const notes = this.session.noteList();
    const langs = this.isFacilitator() ? this.languages() : [getLang()];
    const counts = langs.map((l) => [l, waitingFor(notes, l).length]).filter(([, n]) => n > 0);
    const sig = JSON.stringify(counts) + getLang();
    if (sig === this._waitingSig) return;
    this._waitingSig = sig;
    fill(this.waitingEl, counts.map(([l, n]) =>
      h("button", { type: "button", class: "btn btn-small tr-waiting", "data-fk": `tw:${l}`, onclick: () => this.openWaiting(String(l)) },
        "⇄ ", t("translations_waiting", { n: Number(n), lang: langName(String(l)) }))));
  }

  /** The notes waiting for a translation into `lang`, each with its box (closed until asked). @param {string} lang */
  openWaiting(lang) {
    openSheet(t("translations_waiting_heading", { lang: langName(lang) }), (close) => {
      const list = waitingFor(this.session.noteList(), lang);
      return h("ul", { class: "waiting-list" }, list.map((n) =>
        h("li", { class: `note-preview note-${n.color}` },
          n.text ? h("p", { lang: n.lang || undefined }, n.text) : null,
          noteMeta(this, n),
          translateForm(this, n, () => { if (!waitingFor(this.session.noteList(), lang).length) close(); }, lang))));
    }, { initialFocus: "button" });
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
    if (!hintOff && this.view === "canvas" && this.session.phase() === "cluster" && this.canEditBoard()) items.push(["hint", t("drag_hint")]);
    // The facilitator's own notes are not drafts: they read what the participants are told.
    if (s.private_writing) items.push(["private", "✎ " + t(this.role === "participant" ? "private_banner" : "private_banner_fac")]);
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
      renderVoteList(this, wrap);
    } else if (this.view === "outline") {
      const active = /** @type {HTMLElement | null} */ (document.activeElement);
      const focusKey = active && active.dataset && this.mainEl.contains(active) ? active.dataset.fk : null;
      let wrap = this.mainEl.querySelector(":scope > .outline");
      if (!wrap) {
        wrap = h("div", { class: "outline" });
        fill(this.mainEl, wrap);
      }
      renderOutline(this, wrap);
      if (focusKey && !this.mainEl.contains(document.activeElement)) {
        const el = this.mainEl.querySelector(`[data-fk="${CSS.escape(focusKey)}"]`);
        if (el) el.focus({ preventScroll: true });
      }
    } else {
      fill(this.mainEl, this.resultsPane());
    }
  }

  // ---------- results ----------
  resultsAvailable() {
    if (this.isFacilitator()) return true;
    const vis = this.session.settings().votes_visibility;
    return !!this.session.resultsData() && (vis === "revealed" || vis === "live" || this.session.phase() === "results");
  }
  resultsPane() {
    const fromDoc = this.session.resultsData();
    const r = fromDoc || this.httpResults;
    if (!r) {
      this.fetchResults();
      return h("section", { class: "results" }, h("h2", null, t("results_heading")), h("p", null, t("results_hidden")));
    }
    if (!fromDoc && this.isFacilitator()) this.fetchResults(true);
    const titles = new Map(this.session.clusterList().map((c) => [c.id, shownTitle(c)]));
    const notes = new Map(this.session.noteList().map((n) => [n.id, n]));
    const view = resultsView(r.data, { groups: this.groups(), updatedAt: r.updatedAt, clusterTitle: (id) => titles.get(id), settings: this.session.settings(), noteTitle: ideaTitle(this, (id) => notes.get(id)) });
    if (isEasyRead()) {
      // Counts, not percentages, in short sentences, before the bars.
      const sentences = this.resultWords(r.data);
      if (sentences.length) view.querySelector("h2")?.after(h("section", { class: "plain-results", "aria-labelledby": "plain-res-h" }, h("h3", { id: "plain-res-h" }, t("easy_results_heading")), h("ul", null, sentences.map((x) => h("li", null, x)))));
    }
    if (this.isFacilitator()) view.append(h("h3", null, t("downloads_heading")), downloadButtons(this.id, this.token, "results-downloads"));
    return view;
  }
  async fetchResults(throttled = false) {
    if (this._fetchingResults || (throttled && Date.now() - (this._resultsAt || 0) < 1500)) return;
    this._fetchingResults = true;
    try {
      const data = await api("GET", `/api/boards/${this.id}/results`, { token: this.token });
      this._resultsAt = Date.now();
      // Polled: only new figures rebuild what shows them (a rebuild every poll would flicker).
      if (this.httpResults && JSON.stringify(this.httpResults.data) === JSON.stringify(data)) return;
      this.httpResults = { data, updatedAt: Date.now() };
      if (this.view === "results") this.renderMain();
      if (this.panel) this.panel.render();
    } catch {
      /* 403 until revealed: the hint stays */
    } finally {
      this._fetchingResults = false;
    }
  }

  // ---------- votes ----------
  async refreshVotes() {
    if (this.role !== "participant") return;
    try {
      const r = await api("GET", `/api/boards/${this.id}/votes/mine`, { token: this.token });
      this.votes = { mine: r.votes || {}, remaining: r.remaining, budget: r.budget, against: new Set(r.against || []) };
      this.renderTopbar();
      this.renderMain();
    } catch {
      /* offline or not available yet */
    }
  }
  async vote(noteId, delta) {
    if (!this.canVote()) {
      toast(t("vote_closed"), "warn");
      return;
    }
    try {
      const r = await api("POST", `/api/boards/${this.id}/votes`, { token: this.token, body: { note_id: noteId, delta } });
      this.votes.mine = { ...this.votes.mine, [r.note_id]: r.mine };
      if (!r.mine) delete this.votes.mine[r.note_id];
      this.votes.remaining = r.remaining;
      if (this.votes.budget === null) this.votes.budget = this.session.settings().vote_budget;
      const budget = this.votes.budget;
      announce(t("votes_left", { n: budget, left: r.remaining, budget }));
      this.renderTopbar();
      this.renderMain();
    } catch (e) {
      toast(errorText(e), e instanceof ApiError && e.status === 409 ? "warn" : "error");
      this.refreshVotes();
    }
  }
  myVotes(noteId) {
    return this.votes.mine[noteId] || 0;
  }
  // ---------- "I disagree" marks (branch results) ----------
  /** Marks follow the board's setting live (meta.settings): re-read at every render, never cached. */
  disagreeOn() {
    return this.role === "participant" && this.session.settings().disagree_marks === true;
  }
  /** My marks left: derived from the setting's budget and the marks the server confirmed. */
  disagreeLeft() {
    const budget = this.session.settings().disagree_budget ?? 2;
    return { left: Math.max(0, budget - this.votes.against.size), budget };
  }
  myMark(noteId) {
    return this.votes.against.has(noteId);
  }
  async disagree(noteId, delta) {
    if (!this.canVote()) {
      toast(t("vote_closed"), "warn");
      return;
    }
    try {
      const r = await api("POST", `/api/boards/${this.id}/votes`, { token: this.token, body: { note_id: noteId, delta, stance: "against" } });
      const against = new Set(this.votes.against);
      if (r.mine) against.add(r.note_id);
      else against.delete(r.note_id);
      this.votes.against = against;
      announce(t("disagree_left", { n: r.remaining, budget: this.disagreeLeft().budget }));
      this.renderTopbar();
      this.renderMain();
    } catch (e) {
      toast(errorText(e), e instanceof ApiError && e.status === 409 ? "warn" : "error");
      this.refreshVotes();
    }
  }
  /** Total dots on a note when the results are visible to us (live / revealed / facilitator). */
  totalVotes(noteId) {
    const r = this.session.resultsData() || this.httpResults;
    if (!r || !r.data || !Array.isArray(r.data.notes)) return null;
    const n = r.data.notes.find((x) => x.note_id === noteId);
    return n ? n.total : 0;
  }

  // ---------- notes ----------
  /** Where a new note goes: inside the cluster being looked at, else the free spot nearest the view. */
  placeNote(clusterId) {
    if (clusterId) return this.canvas.freeSpotInCluster(clusterId);
    return this.canvas.freeGridCell(null);
  }

  /**
   * Two phones that post at the same moment may pick the same free cell. Once synced, the author of
   * the later note (createdAt, then id) moves it to the next free cell: each client moves only its
   * own notes, so everyone converges without a race.
   */
  settleOverlaps() {
    if (!this.session.synced || !this.canEditBoard()) return;
    const mine = this.mine();
    for (const n of this.session.noteList()) {
      if (!mine.has(n.id) || n.cluster || !this.canvas.overlapsEarlier(n)) continue;
      const pos = this.canvas.freeGridCell(n.id);
      this.session.updateNote(n.id, { x: pos.x, y: pos.y });
    }
  }

  /** @param {{text: string, color: string, lang: string, cluster: string, kind?: string, media?: string, duration?: number}} note */
  postNote({ text, color, lang, cluster, kind = undefined, media = undefined, duration = undefined }) {
    text = text.trim();
    if (!text && !media) return null;
    const s = this.session;
    const max = s.settings().max_note_length || 280;
    text = text.slice(0, max);
    if (this.draftMode()) {
      const drafts = store.get(keys.drafts(this.id), []);
      drafts.push({ id: newId(), text, color, lang, cluster: cluster || "", createdAt: Date.now() });
      store.set(keys.drafts(this.id), drafts);
      toast(t("only_on_device"));
      this.renderDrafts();
      return null;
    }
    if (!this.canEditBoard()) {
      toast(t("cannot_post_locked"), "warn");
      return null;
    }
    const limit = s.settings().max_notes_per_participant;
    if (this.role === "participant" && limit) {
      const mine = this.mine();
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
    if (!s.settings().anonymous && this.me.name) fields.author = this.me.name;
    this.rememberMine(id);
    const pending = store.get(keys.pending(this.id), []);
    pending.push({ id, ...fields });
    store.set(keys.pending(this.id), pending.slice(-50));
    this.pendingReplayed.add(id);
    s.addNote(id, fields);
    this.confirmSoon([id]);
    announce(t("note_posted"));
    this.canvas.reveal(pos, id);
    return id;
  }

  rememberMine(id) {
    const mine = store.get(keys.mine(this.id), []);
    if (!mine.includes(id)) mine.push(id);
    store.set(keys.mine(this.id), mine);
    this._mine = new Set(mine);
  }

  /**
   * Notes posted on this device that the server had not confirmed when the page closed (offline reload):
   * after a fresh sync, the ones missing from the doc are posted again; the ones present are confirmed.
   */
  replayPending() {
    const pending = store.get(keys.pending(this.id), []);
    if (!pending.length) return;
    const s = this.session;
    const keep = [];
    for (const p of pending) {
      if (s.notes.has(p.id)) {
        if (!this.pendingReplayed.has(p.id)) continue; // came back from the server: confirmed
        keep.push(p); // posted in this page session: confirmed on the next load
        continue;
      }
      if (this.pendingReplayed.has(p.id) || !this.canEditBoard() || this.draftMode()) {
        keep.push(p);
        continue;
      }
      this.pendingReplayed.add(p.id);
      const { id, ...fields } = p;
      s.addNote(id, fields);
      keep.push(p);
    }
    store.set(keys.pending(this.id), keep);
  }

  /**
   * A posted note stays in the pending list until its bytes have left the socket while connected and
   * synced (then the server has it, or refused it, which triggers a resync rather than a replay).
   */
  confirmSoon(ids) {
    setTimeout(() => {
      const p = this.session.provider;
      if (!p || !p.wsconnected || !p.synced || !p.ws || p.ws.bufferedAmount > 0) return; // retried on reconnect
      const set = new Set(ids);
      store.set(keys.pending(this.id), store.get(keys.pending(this.id), []).filter((x) => !set.has(x.id)));
    }, 1500);
  }

  publishDrafts() {
    const drafts = store.get(keys.drafts(this.id), []);
    if (!drafts.length || !this.canEditBoard() || this.role === "viewer") return;
    store.set(keys.drafts(this.id), []);
    for (const d of drafts) this.postNote({ text: d.text, color: d.color, lang: d.lang, cluster: d.cluster });
    toast(t("drafts_published"));
    this.renderDrafts();
  }

  deleteNote(id) {
    if (!this.canEditNote(id)) return;
    this.session.deleteNote(id);
    store.set(keys.pending(this.id), store.get(keys.pending(this.id), []).filter((x) => x.id !== id));
  }

  moveToCluster(noteId, clusterId) {
    const s = this.session;
    const note = s.liveNote(noteId);
    if (!note || !this.canEditBoard()) return;
    const pos = clusterId ? this.canvas.freeSpotInCluster(clusterId, noteId) : this.canvas.freeSpotOutside(noteId);
    s.updateNote(noteId, { cluster: clusterId || "", x: pos.x, y: pos.y });
    const c = clusterId ? s.clusterList().find((x) => x.id === clusterId) : null;
    announce(t("note_moved_announce", { cluster: c ? shownTitle(c) : t("no_cluster") }));
  }

  createCluster(title, at) {
    if (!this.canEditBoard()) return null;
    const id = newId();
    const pos = at || this.canvas.freeClusterSpot();
    this.session.addCluster(id, { title: title || "", x: pos.x, y: pos.y, color: "" });
    return id;
  }

  /**
   * Tidy up one cluster (its notes in its grid, no holes) or, with null, the whole board: one
   * transaction, so everyone receives it as one change.
   */
  tidy(clusterId) {
    if (!this.isFacilitator()) return;
    const s = this.session;
    const notes = s.noteList();
    const clusters = s.clusterList();
    let plan;
    if (clusterId) {
      const c = clusters.find((x) => x.id === clusterId);
      if (!c) return;
      plan = { notes: tidyCluster(notes, c), clusters: new Map() };
    } else plan = tidyBoard(notes, clusters);
    s.batch(() => {
      for (const [id, pos] of plan.clusters) s.updateCluster(id, pos);
      for (const [id, pos] of plan.notes) s.updateNote(id, pos);
    });
    announce(t(clusterId ? "tidied_cluster" : "tidied_board"));
    if (!clusterId && this.view === "canvas") this.canvas.fitAll();
  }

  mergeCluster(fromId, intoId) {
    const s = this.session;
    const members = s.noteList().filter((n) => n.cluster === fromId);
    s.batch(() => {
      for (const n of members) {
        const pos = this.canvas.freeSpotInCluster(intoId, n.id);
        s.updateNote(n.id, { cluster: intoId, x: pos.x, y: pos.y });
        this.canvas.reserve(pos);
      }
      if (this.isFacilitator()) s.deleteCluster(fromId);
    });
    this.canvas.clearReserved();
  }

  // ---------- sheets ----------
  /** @param {any} [existing] a note (or a draft) to edit; none: a new note @param {string | null} [presetCluster] */
  openComposer(existing = null, presetCluster = null) {
    const s = this.session;
    const settings = s.settings();
    const max = settings.max_note_length || 280;
    const langs = this.languages();
    let color = existing ? existing.color : store.get(keys.noteColor, "yellow");
    let lang = existing ? existing.lang || getLang() : langs.includes(getLang()) ? getLang() : langs[0];
    // A new note goes to no cluster unless its author picks one (not the cluster that happens to be on screen).
    const lookingAt = presetCluster ?? (existing ? existing.cluster : "");
    openSheet(existing ? t("composer_edit_heading") : t("composer_heading"), (close) => {
      // No maxLength: a pasted text is never cut mid-sentence without a word; the counter shows the
      // limit while typing and says how much is too much.
      const text = h("textarea", { id: "composer-text", rows: window.innerHeight < 700 ? 3 : 4, placeholder: t("composer_ph"), required: true, "aria-describedby": "composer-count" });
      text.value = existing ? existing.text : "";
      const count = h("p", { class: "help composer-count", id: "composer-count", "aria-live": "polite" });
      const upd = () => {
        const left = max - text.value.length;
        const msg = left >= 0 ? t("composer_chars", { n: left, max }) : t("composer_over", { n: -left, max });
        if (count.textContent !== msg) count.textContent = msg;
        count.classList.toggle("is-over", left < 0);
        if (left < 0) text.setAttribute("aria-invalid", "true");
        else text.removeAttribute("aria-invalid");
      };
      text.addEventListener("input", upd);
      upd();
      text.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) form.requestSubmit();
      });
      const swatches = h(
        "div",
        { class: "swatches", role: "radiogroup", "aria-label": t("composer_color") },
        COLORS.map((c) =>
          h(
            "label",
            { class: `swatch note-${c}` },
            h("input", { type: "radio", name: "color", value: c, checked: c === color, onchange: () => (color = c) }),
            h("span", null, t(`color_${c}`)),
          ),
        ),
      );
      // The note's language follows its text (langguess.js) until the person picks one themselves.
      let langPicked = !!existing;
      const langSel = h("select", { name: "lang", onchange: (e) => { lang = e.target.value; langPicked = true; guessed.textContent = ""; } }, langs.map((l) => h("option", { value: l, selected: l === lang }, langName(l))));
      const guessed = h("p", { class: "help composer-lang-guess", id: "composer-lang-guess", "aria-live": "polite" });
      text.addEventListener("input", () => {
        if (langPicked) return;
        const g = guessLang(text.value, langs);
        if (!g || g === lang) return;
        lang = g;
        langSel.value = g;
        guessed.textContent = t("composer_lang_guessed", { lang: langNoun(g) });
      });
      const clusters = s.clusterList();
      const clusterSel = clusters.length
        ? h("select", { name: "cluster" }, h("option", { value: "" }, t("no_cluster")), clusters.map((c) => h("option", { value: c.id, selected: c.id === lookingAt }, shownTitle(c))))
        : null;
      const draft = !existing && this.draftMode();
      // Photo and voice notes go straight to the board (their bytes are already on the server).
      const picker = !existing && !draft ? mediaPicker(this) : null;
      const form = h(
        "form",
        {
          class: "composer",
          noValidate: true,
          onsubmit: (e) => {
            e.preventDefault();
            const value = text.value.trim();
            const attached = picker ? picker.value() : null;
            if (!value && !attached) return text.focus();
            if (value.length > max) return text.focus(); // the counter says by how much
            store.set(keys.noteColor, color);
            const cl = clusterSel ? clusterSel.value : "";
            if (existing) {
              if (existing.draft) {
                const drafts = store.get(keys.drafts(this.id), []).map((d) => (d.id === existing.id ? { ...d, text: value, color, lang, cluster: cl } : d));
                store.set(keys.drafts(this.id), drafts);
                this.renderDrafts();
              } else {
                this.session.updateNote(existing.id, { text: value, color, lang });
                if (clusterSel && cl !== existing.cluster) this.moveToCluster(existing.id, cl);
              }
            } else {
              this.postNote({ text: value, color, lang, cluster: cl, ...(attached || {}) });
            }
            close();
          },
        },
        listenScreenButton(() => readPage(form)),
        field(t("composer_text_label"), text),
        count,
        picker ? picker.el : null,
        h("fieldset", { class: "field" }, h("legend", null, t("composer_color")), swatches),
        h("div", { class: "field-row" }, h("div", null, field(t("composer_lang"), langSel), guessed), clusterSel ? field(t("composer_cluster"), clusterSel) : null),
        draft ? h("p", { class: "device-only" }, t("only_on_device")) : null,
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", class: "btn", onclick: close }, t("cancel")),
          h("button", { type: "submit", class: "btn btn-primary btn-big" }, existing ? t("save") : draft ? t("composer_keep") : t("composer_send")),
        ),
      );
      return form;
    });
  }

  /** Tap on a note: its actions (vote, edit, delete, move). Works the same on phone and desktop. */
  openNoteSheet(noteId) {
    const s = this.session;
    const note = s.noteList().find((n) => n.id === noteId);
    if (!note) return;
    openSheet(t("note_actions"), (close) => {
      const body = h("div", { class: "note-sheet" });
      body.append(
        h("div", { class: `note-preview note-${note.color}` }, shownText(note).text ? h("p", { lang: shownText(note).lang || undefined }, shownText(note).text) : null, noteMeta(this, note)),
      );
      if (this.canVote() || this.myVotes(note.id)) body.append(voteControls(this, note, { big: true }));
      body.append(...this.extras.noteActions(note, close)); // follow me, hide (extras.js)
      const tr = this.canEditBoard() ? translateForm(this, note, close) : null;
      if (tr) body.append(tr);
      if (this.canEditBoard()) {
        const clusters = s.clusterList();
        if (clusters.length) {
          const sel = h("select", { name: "move" }, h("option", { value: "" }, t("no_cluster")), clusters.map((c) => h("option", { value: c.id, selected: c.id === note.cluster }, shownTitle(c))));
          body.append(
            h(
              "div",
              { class: "field-row" },
              field(t("note_move_to"), sel),
              h("button", { type: "button", class: "btn", onclick: () => { this.moveToCluster(note.id, sel.value); close(); } }, t("note_move_btn")),
            ),
          );
        }
      }
      if (this.canEditNote(note.id)) {
        body.append(
          h(
            "div",
            { class: "actions" },
            h("button", { type: "button", class: "btn btn-danger", onclick: () => { if (confirm(t("confirm_delete"))) { this.deleteNote(note.id); close(); } } }, t("delete")),
            h("button", { type: "button", class: "btn btn-primary", onclick: () => { close(); this.openComposer(note); } }, t("edit")),
          ),
        );
      }
      return body;
    }, { initialFocus: this.canVote() ? ".vote-add" : "button" }); // never an empty box (it opens the keyboard)
  }

  openClusterSheet(clusterId) {
    const s = this.session;
    const c = s.clusterList().find((x) => x.id === clusterId);
    if (!c || !this.canEditBoard()) return;
    openSheet(t("cluster_rename"), (close) => {
      const input = h("input", { type: "text", maxLength: 80, value: c.title });
      // The title in each board language: readers see theirs (empty: they see the main title).
      const perLang = this.languages().map((l) => [l, h("input", { type: "text", maxLength: 200, lang: l, value: (c.titles && c.titles[l]) || "", "data-lang": l })]);
      const others = s.clusterList().filter((x) => x.id !== clusterId);
      const mergeSel = others.length ? h("select", null, others.map((o) => h("option", { value: o.id }, shownTitle(o)))) : null;
      return h(
        "div",
        null,
        h(
          "form",
          {
            onsubmit: (e) => {
              e.preventDefault();
              s.batch(() => {
                s.updateCluster(clusterId, { title: input.value.trim() });
                s.setClusterTitles(clusterId, Object.fromEntries(perLang.map(([l, el]) => [l, el.value.trim()])));
              });
              close();
            },
          },
          field(t("cluster_title_label"), input),
          h("fieldset", { class: "field cluster-titles" }, h("legend", null, t("cluster_titles_legend")),
            perLang.map(([l, el]) => field(t("cluster_title_in", { lang: langName(String(l)) }), el))),
          h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary" }, t("save"))),
        ),
        mergeSel
          ? h(
              "div",
              { class: "field-row" },
              field(t("cluster_merge_into"), mergeSel),
              h("button", { type: "button", class: "btn", onclick: () => { this.mergeCluster(clusterId, mergeSel.value); close(); } }, t("cluster_merge_btn")),
            )
          : null,
        this.extras.clusterActions(c, close), // follow me (extras.js)
        this.isFacilitator()
          ? h(
              "div",
              { class: "actions" },
              h("button", { type: "button", class: "btn", id: "tidy-cluster", onclick: () => { this.tidy(clusterId); close(); } }, "▦ ", t("tidy_cluster")),
              h("button", {
                type: "button",
                class: "btn btn-danger",
                onclick: () => {
                  // Its notes stay on the board, unclustered.
                  s.batch(() => {
                    for (const n of s.noteList()) if (n.cluster === clusterId) s.updateNote(n.id, { cluster: "" });
                    s.deleteCluster(clusterId);
                  });
                  close();
                },
              }, t("cluster_delete")),
            )
          : null,
      );
    });
  }

  openNewCluster(at = null) {
    openSheet(t("new_cluster"), (close) => {
      const input = h("input", { type: "text", maxLength: 80, id: "new-cluster-title" });
      return h(
        "form",
        { onsubmit: (e) => { e.preventDefault(); const id = this.createCluster(input.value.trim(), at); if (id && this.view === "canvas") this.canvas.revealCluster(id); close(); } },
        field(t("cluster_title_label"), input),
        h("div", { class: "actions" }, h("button", { type: "button", class: "btn", onclick: close }, t("cancel")), h("button", { type: "submit", class: "btn btn-primary" }, t("save"))),
      );
    });
  }

  openPresence() {
    const list = this.session.presence();
    const groups = this.groups();
    const byGroup = new Map();
    for (const p of list) {
      const key = p.role === "facilitator" ? `§${t("facilitator_role")}` : p.group || "";
      if (!byGroup.has(key)) byGroup.set(key, []);
      byGroup.get(key).push(p);
    }
    openSheet(t("presence_heading"), () =>
      h(
        "div",
        { class: "presence" },
        [...byGroup.entries()].map(([g, people]) =>
          h(
            "section",
            null,
            h("h3", null, g.startsWith("§") ? g.slice(1) : h("span", null, h("span", { class: "shape", "aria-hidden": "true" }, groupShape(groups, g)), " ", groupName(this.session.settings(), g)), ` (${fmtNumber(people.length)})`),
            h("ul", null, people.map((p) => h("li", null, p.name || "—", p.self ? ` (${t("presence_you")})` : "", p.lang ? h("span", { class: "tag", lang: p.lang }, p.lang.toUpperCase()) : null))),
          ),
        ),
      ),
    );
  }

  renderDrafts() {
    const drafts = store.get(keys.drafts(this.id), []);
    // The facilitator sees how many drafts wait (a count in our presence, never their text).
    const user = this.session.localUser;
    if (this.role === "participant" && user && (user.drafts || 0) !== drafts.length) this.session.setUser({ ...user, drafts: drafts.length });
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
              h("button", { type: "button", class: "btn btn-small", onclick: () => this.openComposer({ ...d, draft: true }) }, t("edit")),
              h("button", { type: "button", class: "btn btn-small btn-danger", onclick: () => { store.set(keys.drafts(this.id), store.get(keys.drafts(this.id), []).filter((x) => x.id !== d.id)); this.renderDrafts(); } }, t("delete")),
            ),
          ),
        ),
      ),
    );
  }
}

/** "by Name · FR" line, with "your note" marker. */
// Re-exported for modules that still import them from here (replay.js).
export { PHASES, NOTE_W, NOTE_H, noteMeta, voteControls, COLORS };
