// @ts-check
// Shared widgets: language switch, toasts, polite announcements, modal sheets; rebuilds that wait
// for a press to end.
import { h, clear } from "./util.js";
import { LANGS, getLang, setLang, t, langName } from "./i18n.js";

/** A compact FR / NL / EN switch (buttons, aria-pressed). */
export function langSwitcher({ compact = false } = {}) {
  if (compact) {
    return h(
      "select",
      { class: "lang-select", "data-fk": "lang", "aria-label": t("lang_switch"), onchange: (e) => setLang(e.target.value) },
      LANGS.map((code) => h("option", { value: code, selected: code === getLang(), lang: code, label: code.toUpperCase() }, langName(code))),
    );
  }
  const nav = h("div", { class: "lang-switch", role: "group", "aria-label": t("lang_switch") });
  for (const code of LANGS) {
    nav.append(
      h(
        "button",
        {
          type: "button",
          class: "lang-btn",
          lang: code,
          "aria-pressed": String(code === getLang()),
          "aria-label": `${code.toUpperCase()} — ${langName(code)}`,
          onclick: () => setLang(code),
        },
        code.toUpperCase(),
      ),
    );
  }
  return nav;
}

let liveRegion = null;
let toastBox = null;

/** Screen-reader announcement (polite live region, visually hidden). */
export function announce(text) {
  if (!liveRegion || !liveRegion.isConnected) liveRegion = document.getElementById("announcer");
  if (!liveRegion) {
    liveRegion = h("div", { class: "sr-only", "aria-live": "polite", "aria-atomic": "false", id: "announcer" });
    document.body.append(liveRegion);
  }
  const p = h("p", null, text);
  liveRegion.append(p);
  // Keep the region short; old messages were read already.
  while (liveRegion.childNodes.length > 5) liveRegion.firstChild.remove();
}

/** Visible transient message (also announced through role=status). */
export function toast(text, kind = "info") {
  if (!toastBox || !toastBox.isConnected) toastBox = document.getElementById("toasts");
  if (!toastBox) {
    toastBox = h("div", { class: "toasts", id: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(toastBox);
  }
  const el = h("p", { class: `toast toast-${kind}` }, text);
  toastBox.append(el);
  setTimeout(() => el.remove(), 4000);
}

/**
 * A modal sheet (full width on phones, centred card on larger screens), built on <dialog>.
 * build(close) returns the content; returns {dialog, close}.
 * @param {string} title @param {(close: () => void) => Node} build
 * initialFocus: a selector for what gets the focus (else the first field).
 * @param {{onClose?: () => void, wide?: boolean, initialFocus?: string | null}} [opts]
 */
export function openSheet(title, build, { onClose, wide = false, initialFocus = null } = {}) {
  const titleId = `sheet-title-${Math.random().toString(36).slice(2, 8)}`;
  const dialog = h("dialog", { class: `sheet${wide ? " sheet-wide" : ""}`, "aria-labelledby": titleId });
  const close = () => {
    if (typeof dialog.close === "function") {
      if (dialog.open) dialog.close();
    } else {
      dialog.remove();
      if (onClose) onClose();
    }
  };
  // Where the focus goes back after the sheet: the control that opened it, or, when the board
  // rebuilt it meanwhile (a Move, a vote), its twin (same data-fk / data-id), else the main area.
  const opener = document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : null;
  const openerKey = opener ? opener.dataset.fk || null : null;
  const openerNote = opener ? (opener.closest && opener.closest("[data-id]"))?.getAttribute("data-id") || null : null;
  const restoreFocus = () => {
    const now = document.activeElement;
    if (now && now !== document.body && now.isConnected) return;
    const twin = (opener && opener.isConnected && opener)
      || (openerKey && document.querySelector(`[data-fk="${CSS.escape(openerKey)}"]`))
      || (openerNote && document.querySelector(`[data-id="${CSS.escape(openerNote)}"] button`))
      || document.getElementById("board-main")
      || document.querySelector("main");
    if (twin instanceof HTMLElement) twin.focus({ preventScroll: true });
  };
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (onClose) onClose();
    restoreFocus();
    // The board re-renders on the next frame(s) after a change made from the sheet.
    requestAnimationFrame(() => requestAnimationFrame(restoreFocus));
  });
  const openedAt = Date.now();
  dialog.addEventListener("click", (e) => {
    // Backdrop click closes; but not the click that may trail the gesture that opened the sheet.
    if (e.target !== dialog || Date.now() - openedAt < 400) return;
    const r = dialog.getBoundingClientRect();
    const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
    if (!inside) close();
  });
  const header = h(
    "div",
    { class: "sheet-head" },
    h("h2", { id: titleId }, title),
    h("button", { type: "button", class: "icon-btn", "aria-label": t("close"), onclick: close }, "✕"),
  );
  const body = h("div", { class: "sheet-body" });
  dialog.append(header, body);
  body.append(build(close));
  document.body.append(dialog);
  if (typeof dialog.showModal === "function") dialog.showModal();
  else dialog.setAttribute("open", ""); // very old browsers: an inline panel rather than nothing
  const first = (initialFocus && body.querySelector(initialFocus)) || body.querySelector("textarea, input:not([type=hidden]), select");
  if (first) first.focus();
  return { dialog, close };
}

// Server error codes -> dictionary keys (server messages are English: never shown as such).
const ERROR_KEYS = {
  network: "error_network",
  locked: "cannot_post_locked",
  not_voting: "vote_closed",
  budget: "vote_budget_spent",
  max_per_note: "vote_max_per_note",
  none_to_remove: "vote_none_to_remove",
  // branch results: "I disagree" marks
  disagree_off: "disagree_off",
  disagree_budget: "disagree_budget_spent",
  disagree_once: "disagree_once",
  stance_conflict: "disagree_stance_conflict",
  no_mark_to_remove: "disagree_none_to_remove",
  unknown_code: "join_unknown_code",
  unknown_board: "board_not_found",
  unauthorized: "board_no_access",
  forbidden: "error_forbidden",
  not_revealed: "results_hidden",
  bad_title: "error_title_required",
  bad_name: "join_name_required",
  bad_group: "join_group_required",
  joining_closed: "join_closed_reason",
  empty_text: "translate_empty",
  already_translated: "translate_already",
  erasure_refused: "error_erasure_refused", // branch erase (#20)
};

export function errorText(e) {
  if (e && e.status === 0) return t("error_network");
  const key = e && ERROR_KEYS[e.code];
  return key ? t(key) : t("error_generic");
}

export function field(labelText, input, help) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 8)}`;
  input.id = id;
  const helpId = help ? `${id}-help` : null;
  if (helpId) input.setAttribute("aria-describedby", helpId);
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, labelText),
    input,
    help ? h("p", { class: "help", id: helpId }, help) : null,
  );
}

/** Rebuilding a region between a press and its release replaces the pressed control, and the
 * browser then fires no click: the tap is lost. Regions rebuilt on live changes (the facilitator
 * panel on every vote, the outline and the vote list on every note) ask `defer()` first: true
 * while a pointer is down in the region, and `rerender` then runs once, after the release (and
 * after the click it fires). */
export class PressGuard {
  /** @param {HTMLElement} el @param {() => void} rerender */
  constructor(el, rerender) {
    this.pressed = false;
    this.owed = false;
    el.addEventListener("pointerdown", () => { this.pressed = true; });
    const released = () => {
      if (!this.pressed) return;
      this.pressed = false;
      if (this.owed) setTimeout(() => { this.owed = false; rerender(); }, 0);
    };
    document.addEventListener("pointerup", released, true);
    document.addEventListener("pointercancel", released, true);
    window.addEventListener("blur", released); // released outside the window: no pointerup comes
  }

  /** Whether a rebuild must wait (it is then owed, after the release). */
  defer() {
    if (this.pressed) this.owed = true;
    return this.pressed;
  }
}

export { clear };
