// @ts-check
// Read aloud: every note speaks in its own language (speechSynthesis), the outline reads a cluster.
import { h } from "./util.js";
import { t } from "./i18n.js";

/** The voice language of a note's language. */
export const SPEECH_LANGS = { fr: "fr-BE", nl: "nl-BE", en: "en-GB" };

/** @param {{text: string, lang?: string}[]} items */
export function speak(items) {
  const synth = window.speechSynthesis;
  if (!synth) return false;
  synth.cancel();
  for (const item of items) {
    if (!item.text) continue;
    const u = new SpeechSynthesisUtterance(item.text);
    u.lang = SPEECH_LANGS[/** @type {"fr"|"nl"|"en"} */ (item.lang)] || document.documentElement.lang || "fr-BE";
    synth.speak(u);
  }
  return true;
}

/** A speaker, drawn: the emoji needs an emoji font, which not every computer has (without one
 * it is an empty box). Hidden from screen readers: the button's name says "listen". */
export function speakerIcon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  for (const [k, v] of [["viewBox", "0 0 24 24"], ["width", "1.1em"], ["height", "1.1em"], ["class", "icon"], ["aria-hidden", "true"], ["focusable", "false"]]) svg.setAttribute(k, v);
  const body = document.createElementNS(ns, "path");
  body.setAttribute("d", "M3 9h4l5-4v14l-5-4H3z");
  body.setAttribute("fill", "currentColor");
  const waves = document.createElementNS(ns, "path");
  for (const [k, v] of [["d", "M15.5 8.5a5 5 0 0 1 0 7M18.5 5.5a9 9 0 0 1 0 13"], ["fill", "none"], ["stroke", "currentColor"], ["stroke-width", "2"], ["stroke-linecap", "round"]]) waves.setAttribute(k, v);
  svg.append(body, waves);
  return svg;
}

/** A "listen" button for one note (its shown text, in the shown language), named after the note;
 * `more()` gives what is said after it (the explanations of its glossary terms, glossary.js).
 * @param {{text: string, lang: string}} shown @param {string} [label]
 * @param {() => {text: string, lang?: string}[]} [more] */
export function listenButton(shown, label = "", more = () => []) {
  if (!("speechSynthesis" in window) || !shown.text) return null;
  const name = label ? t("listen_note_on", { text: label }) : t("listen_note");
  return h("button", {
    type: "button",
    class: "btn btn-small listen-btn",
    "aria-label": name,
    title: name,
    onclick: (/** @type {Event} */ e) => { e.stopPropagation(); speak([shown, ...more()]); },
  }, speakerIcon());
}
