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
  }, "🔊");
}
