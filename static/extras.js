// @ts-check
// Facilitation features that hook into the board (board/app.js) and its panel (panel.js) through a
// few calls, so they live in their own modules: follow me (follow.js), moderation (moderation.js), the
// "not sent yet" mark (unsent.js), the glossary (glossary.js).
import { Follow } from "./follow.js";
import { Glossary } from "./glossary.js";
import { Moderation } from "./moderation.js";
import { Unsent } from "./unsent.js";
import { h } from "./util.js";

/**
 * Where on the board's screen (board/app.js) these features show and move things: the canvas, the
 * view shown, the facilitator's panel, and the places their bars and trays go.
 * @typedef {{
 *   readonly view: string,
 *   readonly canvas: import("./canvas.js").Canvas,
 *   readonly panel: import("./panel.js").FacilitatorPanel | null,
 *   readonly banners?: HTMLElement,
 *   readonly draftsEl?: HTMLElement,
 * }} BoardScreen
 */

export class BoardExtras {
  /** @param {import("./board/state.js").BoardState} board @param {BoardScreen} screen */
  constructor(board, screen) {
    this.follow = new Follow(board, screen);
    this.moderation = new Moderation(board, screen);
    this.unsent = new Unsent(board, screen);
    this.glossary = new Glossary(board, screen);
  }
  /** After every render of the board (canvas, outline…). */
  afterRender() {
    this.unsent.afterRender();
    this.moderation.afterRender();
    this.follow.afterRender();
    this.glossary.afterRender();
  }
  /** Extra buttons in a note's sheet. @param {any} note @param {() => void} close */
  noteActions(note, close) {
    const buttons = [this.follow.noteAction(note, close), this.moderation.noteAction(note, close)].filter(Boolean);
    const glossary = this.glossary.noteSection(note, close); // its words, "I don't understand"
    return [...(glossary ? [glossary] : []), ...(buttons.length ? [h("div", { class: "actions actions-extra" }, buttons)] : [])];
  }
  /** Extra buttons in a cluster's sheet. @param {any} cluster @param {() => void} close */
  clusterActions(cluster, close) {
    return this.follow.clusterAction(cluster, close);
  }
  /** Sections of the facilitator's panel. */
  panelSections() {
    return [this.glossary.panelSection(), this.follow.panelSection(), this.moderation.panelSection()].filter(Boolean);
  }
}
