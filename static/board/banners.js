// @ts-check
// The banners under the top bar: offline (or closed, or the board full: retrying), locked, the
// drag hint (dismissible for this tab), private writing. Redrawn only when what they say changed.
import { h, fill, keys } from "../util.js";
import { t, getLang } from "../i18n.js";
import { tabStore } from "../storage.js";
import { closedText } from "../privacy.js";

export class Banners {
  /** @param {import("./state.js").BoardState} board @param {{ readonly view: string }} screen */
  constructor(board, screen) {
    this.board = board;
    this.screen = screen;
    this.online = navigator.onLine;
    this.status = "connecting"; // the session's: connecting, connected, closed
    this._wasConnected = false;
    this._sig = /** @type {string | null} */ (null);
    this.el = h("div", { class: "banners" });
  }

  /** A new element for a rebuilt page. */
  mount() {
    this.el = h("div", { class: "banners" });
    this._sig = null;
    return this.el;
  }

  render() {
    const session = this.board.session;
    const s = session.settings();
    const status = this.status;
    const offline = !this.online || (status !== "connected" && status !== "connecting");
    /** @type {[string, string][]} */
    const items = [];
    if (session.full) items.push(["full", "◷ " + t("board_full_retry")]); // 1013: retrying (session.js)
    else if (status === "closed" && session.closeCode && session.closeCode !== 4403) items.push(["offline", "⚠ " + closedText(session.closeCode)]);
    // Without a secure context there is no service worker: this page cannot be opened again offline.
    else if (offline || (status === "connecting" && this._wasConnected)) items.push(["offline", "⚠ " + t("offline_banner") + (window.isSecureContext ? "" : " " + t("offline_keep_page"))]);
    if (status === "connected") this._wasConnected = true;
    if (s.locked) items.push(["locked", t("locked_banner")]);
    const hintOff = !!tabStore.get(keys.hintOff);
    if (!hintOff && this.screen.view === "canvas" && session.phase() === "cluster" && this.board.canEditBoard()) items.push(["hint", t("drag_hint")]);
    // The facilitator's own notes are not drafts: they read what the participants are told.
    if (s.private_writing) items.push(["private", "✎ " + t(this.board.role === "participant" ? "private_banner" : "private_banner_fac")]);
    const sig = items.map((i) => i.join(":")).join(",") + getLang(); // the text too: "offline" becomes "deleted"
    if (sig === this._sig) return;
    this._sig = sig;
    fill(
      this.el,
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
                  this.render();
                },
              }, "✕")
            : null,
        ),
      ),
    );
    document.body.classList.toggle("is-offline", offline);
  }

  /** What the banners say now, for "listen to this screen". @returns {string[]} */
  texts() {
    return [...this.el.querySelectorAll(".banner")].map((b) => (b.textContent || "").replace(/[✕⚠✎◷]/g, "").trim());
  }
}
