// @ts-check
// The board's top bar: home, the title, the view switch, who is here, the language; the phase, its
// timer, the vote list and votes left, the results, "listen to this screen", easy-read, the
// facilitator's panel button; under it the easy-read steps and the "waiting for a translation"
// badges. Rebuilt only when something it shows changed: presence heartbeats must not close the
// language menu or steal the focus of someone tabbing through the bar.
import { h, fill, now } from "../util.js";
import { t, getLang, langName, isEasyRead } from "../i18n.js";
import { langSwitcher, announce } from "../ui.js";
import { waitingFor } from "../translations.js";
import { easyReadToggle, listenScreenButton, stepsStrip } from "../listen.js";

/**
 * What the bar reads of the screen and asks of it.
 * @typedef {{
 *   readonly view: string,
 *   readonly panelOpen: boolean,
 *   readonly hasPanel: boolean,
 *   setView: (view: string) => void,
 *   openPresence: () => void,
 *   openWaiting: (lang: string) => void,
 *   togglePanel: () => void,
 *   rebuild: () => void,
 *   screenWords: () => {text: string, lang?: string}[],
 * }} TopBarScreen
 */

export class TopBar {
  /** @param {import("./state.js").BoardState} board @param {TopBarScreen} screen */
  constructor(board, screen) {
    this.board = board;
    this.screen = screen;
    /** @type {HTMLElement | null} */
    this.timerEl = null;
    this._sig = /** @type {string | null} */ (null);
    this._waitingSig = /** @type {string | null} */ (null);
    /** @type {number | null} */
    this._timerAnnounced = null;
    this.el = h("div", { class: "topbar" });
    this.stepsEl = h("div", { class: "steps-slot" });
    this.waitingEl = h("div", { class: "tr-waiting-slot" });
  }

  /** New elements for a rebuilt page: the bar, the steps slot, the translations-waiting slot. */
  mount() {
    this.el = h("div", { class: "topbar" });
    this.stepsEl = h("div", { class: "steps-slot" });
    this.waitingEl = h("div", { class: "tr-waiting-slot" });
    this._sig = null;
    this._waitingSig = null;
  }

  render() {
    const board = this.board;
    const screen = this.screen;
    const s = board.session;
    const settings = s.settings();
    const phase = s.phase();
    const title = s.metaValue("title", board.info.title) || "";
    const presence = s.presence();
    const budget = board.votes.budget ?? settings.vote_budget;
    const remaining = board.votes.remaining ?? budget;
    const votesLeft = t("votes_left", { n: budget, left: remaining, budget });
    const sig = [title, phase, presence.length, screen.view, board.resultsAvailable(), screen.panelOpen, remaining, budget, board.role, getLang(), isEasyRead()].join("|");
    if (sig === this._sig) return this.renderTimer();
    this._sig = sig;
    const active = /** @type {HTMLElement | null} */ (document.activeElement);
    const focused = active && this.el.contains(active) ? active.dataset.fk : null;
    this.timerEl = h("span", { class: "chip chip-timer", role: "timer", "aria-label": t("timer_label") });
    fill(
      this.el,
      h(
        "div",
        { class: "topbar-row" },
        h("a", { class: "brand brand-small", href: "/", "aria-label": `${t("app_name")} — ${t("back_home")}` }, "C"),
        h("h1", { class: "board-title" }, title),
        h(
          "nav",
          { class: "view-tabs", "aria-label": t("view_switch") },
          screen.view === "canvas"
            ? h("button", { type: "button", class: "tab tab-outline", "data-fk": "view", onclick: () => screen.setView("outline") }, "☰ ", t("view_outline"))
            : h("button", { type: "button", class: "tab tab-canvas", "data-fk": "view", onclick: () => screen.setView("canvas") }, "▦ ", t("view_canvas")),
        ),
        h("button", { type: "button", class: "chip chip-btn", "data-fk": "presence", title: t("presence_heading"), onclick: () => screen.openPresence() }, t("here_short", { n: presence.length })),
        langSwitcher({ compact: true }),
      ),
      h(
        "div",
        { class: "topbar-row topbar-row2" },
        h("span", { class: `chip chip-phase phase-${phase}` }, h("span", { class: "sr-only" }, `${t("phase_label")}: `), t(`phase_${phase}`)),
        this.timerEl,
        board.role === "participant" && phase === "vote" && screen.view !== "votes"
          ? h("button", { type: "button", class: "tab tab-votes", "data-fk": "votes", onclick: () => screen.setView("votes") }, t("view_votes"))
          : null,
        board.role === "participant" && phase === "vote"
          ? h("span", { class: "chip chip-votes", id: "votes-left", title: votesLeft }, h("span", { "aria-hidden": "true" }, "● ", t("votes_left_short", { n: budget, left: remaining, budget })), h("span", { class: "sr-only" }, votesLeft))
          : null,
        board.resultsAvailable() && screen.view !== "results" && (board.isFacilitator() || phase === "results" || settings.votes_visibility === "revealed")
          ? h("button", { type: "button", class: "tab tab-results", "data-fk": "results", onclick: () => screen.setView("results") }, t("results_open"))
          : null,
        board.role !== "viewer" ? listenScreenButton(() => screen.screenWords()) : null,
        board.role !== "viewer" ? easyReadToggle(() => screen.rebuild()) : null,
        screen.hasPanel
          ? h("button", { type: "button", class: "btn btn-small btn-accent", "data-fk": "panel", "aria-expanded": String(screen.panelOpen), "aria-controls": "fac-panel", onclick: () => screen.togglePanel() }, "⚙ ", t("facilitator"))
          : null,
      ),
    );
    if (focused) {
      const el = /** @type {HTMLElement | null} */ (this.el.querySelector(`[data-fk="${focused}"]`));
      if (el) el.focus();
    }
    // Easy-read: the four steps as pictograms with words, the current one marked.
    fill(this.stepsEl, isEasyRead() && board.role !== "viewer" ? stepsStrip(phase) : null);
    this.renderTimer();
  }

  /** The button that opens the facilitator's panel (the focus goes back to it when it closes). */
  panelOpener() {
    return /** @type {HTMLElement | null} */ (this.el.querySelector('[data-fk="panel"]'));
  }

  renderTimer() {
    if (!this.timerEl) return;
    const timer = this.board.session.timer();
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

  /** "3 ideas wait for a Dutch translation": for readers of that language (someone bilingual may
   * answer) and, for every language, the facilitator. */
  renderWaiting() {
    const board = this.board;
    if (board.role === "viewer") return;
    const notes = board.session.noteList();
    const langs = board.isFacilitator() ? board.languages() : [getLang()];
    const counts = langs.map((l) => /** @type {[string, number]} */ ([l, waitingFor(notes, l).length])).filter(([, n]) => n > 0);
    const sig = JSON.stringify(counts) + getLang();
    if (sig === this._waitingSig) return;
    this._waitingSig = sig;
    fill(this.waitingEl, counts.map(([l, n]) =>
      h("button", { type: "button", class: "btn btn-small tr-waiting", "data-fk": `tw:${l}`, onclick: () => this.screen.openWaiting(String(l)) },
        "⇄ ", t("translations_waiting", { n: Number(n), lang: langName(String(l)) }))));
  }
}
