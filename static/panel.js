// @ts-check
// Facilitator panel: the panel itself (open, closed, kept live, rebuilt without losing the focus or
// a typed value) and its controls: phases, timer, lock, private writing, anonymous, votes, results,
// downloads, replay. Its other sections come from their own modules: join (invite.js), the private
// link (faclink.js), groups, participants, suggestions, data protection.
import { h, fill, api, now } from "./util.js";
import { PHASES, VOTES_VISIBILITY, DEFAULT_SETTINGS, SETTING_BOUNDS } from "./schema.js";
import { t } from "./i18n.js";
import { toast, errorText, field, PressGuard } from "./ui.js";
import { resultsView } from "./results.js";
import { ideaTitle } from "./noteview.js";
import { shownTitle } from "./translations.js";
import { clientConfig } from "./reach.js";
import { facilitatorLink, facilitatorLinkBlock } from "./faclink.js";
import { downloadButtons } from "./downloads.js";
import { joinCode, joinSection } from "./invite.js";
import { participantsSection, draftCounts, draftsWaiting } from "./participants.js";
import { suggestionsSection } from "./suggestions.js";
import { groupSettingsSection } from "./groups.js";
import { privacySection } from "./privacy.js";

// The report's time zone (a board setting): the usual ones here; another one can be set by the API.
const TIME_ZONES = ["Europe/Brussels", "Europe/Amsterdam", "Europe/Paris", "Europe/Luxembourg", "Europe/London", "UTC"];
const RESULTS_POLL_MS = 2000;

/**
 * What the panel asks of the board's screen (board/app.js): fresh results (the controller), closing
 * the panel, the facilitation extras' sections (extras.js), and where suggested clusters go (the canvas's placement.js).
 * @typedef {{
 *   fetchResults(throttled?: boolean): void,
 *   close(): void,
 *   sections(): Node[],
 *   place: import("./suggestions.js").SuggestionPlace,
 *   showCluster(id: string): void,
 * }} PanelHost
 */

export class FacilitatorPanel {
  /** @param {import("./board/state.js").BoardState} board @param {PanelHost} host */
  constructor(board, host) {
    this.board = board;
    this.host = host;
    this.open = false;
    this.participants = null;
    /** @type {string | null} the participant picked in the privacy section (privacy.js), kept across re-renders */
    this.privacyPick = null;
    this.el = h("aside", { class: "panel", id: "fac-panel", "aria-labelledby": "panel-h", hidden: true });
    // Escape closes it, as it closes a sheet (the focus goes back to its button: board/app.js).
    this.el.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && !e.defaultPrevented) {
        e.preventDefault();
        this.host.close();
      }
    });
    // Not rebuilt between a press and its release (the live counts change on every vote).
    this._press = new PressGuard(this.el, () => this.render(true));
    this._poll = 0;
    this.cfg = null;
    clientConfig().then((cfg) => {
      this.cfg = cfg;
      this.render(true);
    });
  }

  setOpen(open) {
    this.open = open;
    this.el.hidden = !open;
    document.body.classList.toggle("panel-open", open);
    clearInterval(this._poll);
    if (open) {
      this.loadParticipants();
      this.host.fetchResults();
      // The counts stay live while the panel is open (hidden votes never reach the document).
      let ticks = 0;
      this._poll = setInterval(() => {
        if (ticks++ % 3 === 0) this.loadParticipants();
        this.host.fetchResults(true);
      }, RESULTS_POLL_MS);
      this.render(true);
      const head = this.el.querySelector("h2");
      if (head) head.focus();
    }
  }

  async loadParticipants() {
    try {
      this.participants = await api("GET", `/api/boards/${this.board.id}/participants`, { token: this.board.token });
      this.render(); // rebuilt only if the list changed (it is polled)
    } catch {
      /* keep the last list */
    }
  }

  async call(method, path, body) {
    try {
      await api(method, `/api/boards/${this.board.id}${path}`, { token: this.board.token, body });
      return true;
    } catch (e) {
      toast(errorText(e), "error");
      return false;
    }
  }
  /** A new phase clears a timer that has run out ("time is up" belongs to the phase it timed). */
  async setPhase(phase) {
    // The results phase shows the results to everyone: hidden votes are revealed first.
    if (phase === "results" && this.board.session.settings().votes_visibility === "hidden") await this.setting({ votes_visibility: "revealed" });
    const ok = await this.call("POST", "/phase", { phase });
    const timer = this.board.session.timer();
    // Same rounding as the chip: "time is up" shows from half a second before endsAt.
    if (ok && timer && timer.endsAt && Math.round((timer.endsAt - now()) / 1000) <= 0) await this.call("POST", "/timer", { seconds: 0 });
  }
  setting(patch) {
    return this.call("PATCH", "/settings", patch);
  }

  /** Rebuilt only when something it shows changed (keeps focus and typed values stable). */
  render(force = false) {
    if (!this.open) return;
    const s = this.board.session;
    const sig = JSON.stringify([s.settings(), s.phase(), s.timer(), joinCode(this.board), this.participants, document.documentElement.lang, this.board.httpResults && this.board.httpResults.updatedAt, s.results.get("updatedAt"), s.presence().length, draftCounts(s)]);
    if (!force && sig === this._sig) return;
    if (this._press.defer()) return;
    const active = /** @type {HTMLElement | null} */ (document.activeElement);
    if (active && this.el.contains(active) && active.matches("input[type=number], input[type=text]")) {
      // Don't yank a field from under the facilitator's fingers; refresh once the focus has left it
      // (after the blur: moving to the next field defers again, instead of rebuilding under it).
      if (!this._deferred) {
        this._deferred = true;
        active.addEventListener("blur", () => setTimeout(() => { this._deferred = false; this.render(true); }, 0), { once: true });
      }
      return;
    }
    this._sig = sig;
    const focusKey = active && this.el.contains(active) ? active.dataset.fk : null;
    const scroll = this.el.scrollTop;
    fill(this.el, this.build());
    this.el.scrollTop = scroll;
    if (focusKey) {
      const el = this.el.querySelector(`[data-fk="${focusKey}"]`);
      if (el) el.focus();
    }
  }

  build() {
    const app = this.board;
    const s = app.session;
    const settings = s.settings();
    const phase = s.phase();
    const frag = document.createDocumentFragment();

    frag.append(
      h(
        "div",
        { class: "panel-head" },
        // data-fk: a re-render (counts arriving) keeps the focus where it was, on the heading too.
        h("h2", { id: "panel-h", tabindex: "-1", "data-fk": "panel-h" }, t("panel_heading")),
        h("button", { type: "button", class: "icon-btn", "data-fk": "panel-close", "aria-label": t("close"), onclick: () => this.host.close() }, "✕"),
      ),
    );

    // Join: big QR + code, the projector's link, what phones will reach (invite.js)
    frag.append(joinSection(app, this.cfg));

    // The facilitator's private link: the panel on another device.
    frag.append(
      h(
        "section",
        { class: "panel-sec", "aria-labelledby": "p-faclink" },
        h("h3", { id: "p-faclink" }, t("faclink_heading")),
        facilitatorLinkBlock(facilitatorLink(app.id, app.token, this.cfg), s.metaValue("title", app.info.title) || "", "p-faclink"),
      ),
    );

    // Phases
    frag.append(
      h(
        "section",
        { class: "panel-sec", "aria-labelledby": "p-phase" },
        h("h3", { id: "p-phase" }, t("panel_phase")),
        h(
          "div",
          { class: "segmented", role: "group", "aria-labelledby": "p-phase" },
          PHASES.map((p, i) =>
            h("button", { type: "button", class: "seg", "data-fk": `ph:${p}`, "aria-pressed": String(p === phase), onclick: () => this.setPhase(p) }, `${i + 1}. ${t(`phase_${p}`)}`),
          ),
        ),
      ),
    );

    // Timer
    // The field shows the running timer's length (a 3-minute preset reads 3, not the default 5).
    const running = s.timer();
    const minutes = h("input", { type: "number", min: 1, max: 120, value: running && running.seconds ? String(Math.max(1, Math.round(running.seconds / 60))) : "5", inputMode: "numeric", class: "input-small", "data-fk": "tm" });
    frag.append(
      h(
        "section",
        { class: "panel-sec", "aria-labelledby": "p-timer" },
        h("h3", { id: "p-timer" }, t("panel_timer")),
        h(
          "div",
          { class: "field-row" },
          field(t("panel_timer_minutes"), minutes),
          h("button", { type: "button", class: "btn btn-primary", "data-fk": "tm-start", onclick: () => this.call("POST", "/timer", { seconds: Math.round(Number(minutes.value || 0) * 60) }) }, t("panel_timer_start")),
          h("button", { type: "button", class: "btn", "data-fk": "tm-stop", disabled: !s.timer(), onclick: () => this.call("POST", "/timer", { seconds: 0 }) }, t("panel_timer_stop")),
        ),
        h("div", { class: "presets" }, [1, 3, 5, 10].map((m) => h("button", { type: "button", class: "btn btn-small", "data-fk": `tp:${m}`, onclick: () => this.call("POST", "/timer", { seconds: m * 60 }) }, t("minutes_short", { n: m })))),
      ),
    );

    // Controls
    const toggle = (key, label) =>
      h(
        "label",
        { class: "switch" },
        h("input", { type: "checkbox", role: "switch", "data-fk": `sw:${key}`, checked: !!settings[key], onchange: (e) => this.setting({ [key]: e.target.checked }) }),
        h("span", null, label),
      );
    frag.append(
      h(
        "section",
        { class: "panel-sec", "aria-labelledby": "p-ctl" },
        h("h3", { id: "p-ctl" }, t("panel_controls")),
        toggle("locked", t("panel_lock")),
        toggle("private_writing", t("panel_private")),
        settings.private_writing ? draftsWaiting(s) : null,
        toggle("anonymous", t("panel_anonymous")),
      ),
    );

    // Votes
    /** @param {string} name */
    const bounds = (name) => ({ min: SETTING_BOUNDS[name][0], max: SETTING_BOUNDS[name][1] });
    const budget = h("input", { type: "number", ...bounds("vote_budget"), value: String(settings.vote_budget), class: "input-small", "data-fk": "vb", onchange: (e) => this.setting({ vote_budget: Number(e.target.value) }) });
    const perNote = h("input", { type: "number", ...bounds("max_votes_per_note"), value: String(settings.max_votes_per_note), class: "input-small", "data-fk": "vm", onchange: (e) => this.setting({ max_votes_per_note: Number(e.target.value) }) });
    const vis = h(
      "select",
      { "data-fk": "vv", onchange: (e) => this.setting({ votes_visibility: e.target.value }) },
      VOTES_VISIBILITY.map((v) => h("option", { value: v, selected: settings.votes_visibility === v }, t(`vis_${v}`))),
    );
    frag.append(
      h(
        "section",
        { class: "panel-sec", "aria-labelledby": "p-votes" },
        h("h3", { id: "p-votes" }, t("panel_votes")),
        h("div", { class: "field-row" }, field(t("panel_budget"), budget), field(t("panel_max_per_note"), perNote)),
        // branch results: "I disagree" marks, off by default; their own budget
        toggle("disagree_marks", t("panel_disagree")),
        settings.disagree_marks
          ? field(t("panel_disagree_budget"), h("input", { type: "number", ...bounds("disagree_budget"), value: String(settings.disagree_budget ?? DEFAULT_SETTINGS.disagree_budget), class: "input-small", "data-fk": "db", onchange: (e) => this.setting({ disagree_budget: Number(e.target.value) }) }))
          : null,
        field(t("panel_visibility"), vis),
        h(
          "button",
          {
            type: "button",
            class: "btn btn-accent btn-block",
            id: "reveal-votes",
            "data-fk": "reveal",
            disabled: settings.votes_visibility === "revealed",
            onclick: () => this.setting({ votes_visibility: "revealed" }),
          },
          t("panel_reveal"),
        ),
      ),
    );

    frag.append(...this.host.sections()); // follow me, hidden notes (extras.js)
    // Groups: labels per language, "I'd rather not say"
    frag.append(groupSettingsSection(settings, app.languages(), (patch) => this.setting(patch), () => s.settings()));

    // Participants by group, quiet ones first
    frag.append(participantsSection(app, this.participants));
    frag.append(suggestionsSection(app, this.host));
    frag.append(privacySection(this));

    // Results
    const r = s.resultsData() || app.httpResults;
    const titles = new Map(s.clusterList().map((c) => [c.id, shownTitle(c)]));
    const byId = new Map(s.noteList().map((n) => [n.id, n]));
    frag.append(
      h(
        "section",
        { class: "panel-sec" },
        r ? resultsView(r.data, { groups: app.groups(), updatedAt: r.updatedAt, clusterTitle: (id) => titles.get(id), settings, noteTitle: ideaTitle(app, (id) => byId.get(id)) }) : h("p", null, t("results_none")),
        h("button", { type: "button", class: "btn btn-small", "data-fk": "res-refresh", onclick: () => this.host.fetchResults() }, t("results_refresh")),
        h("h3", { id: "p-downloads" }, t("downloads_heading")),
        downloadButtons(app.id, app.token, "panel-downloads"),
        // branch results: the report's dates and times are written in the board's time zone
        field(
          t("panel_time_zone"),
          h(
            "select",
            { "data-fk": "tz", onchange: (e) => this.setting({ time_zone: e.target.value }) },
            [...new Set([settings.time_zone || "Europe/Brussels", ...TIME_ZONES])].map((z) => h("option", { value: z, selected: (settings.time_zone || "Europe/Brussels") === z }, z)),
          ),
        ),
      ),
    );

    // Replay: the workshop so far, read-only, on its own page (static/replay.js)
    frag.append(
      h(
        "section",
        { class: "panel-sec", "aria-labelledby": "p-replay" },
        h("h3", { id: "p-replay" }, t("replay_heading")),
        h("a", { class: "btn btn-small", id: "open-replay", href: `/b/${encodeURIComponent(app.id)}/replay`, target: "_blank", rel: "noopener" }, t("panel_replay")),
      ),
    );
    return frag;
  }

}
