// @ts-check
// "Listen to this screen" and the easy-read mode.
// - Every screen can speak: the step's instructions, the votes left, and the results as plain
//   sentences ("Idea 1: … 3 dots. Residents: chosen by 2 of 4.").
// - Easy-read is a participant's own choice, kept on this device: short sentences ("_easy"
//   strings), no mid-dot forms, counts instead of percentages, and the steps as pictograms with words.
import { h, store, keys } from "./util.js";
import { t, getLang, setEasyReadText, isEasyRead } from "./i18n.js";
import { speak, speakerIcon } from "./speech.js";
import { PHASES } from "./schema.js";

/** Switch easy-read from what this device remembers (call before the first render). */
export function initEasyRead() {
  apply(!!store.get(keys.easyRead, false));
}

/** @param {boolean} on */
function apply(on) {
  setEasyReadText(on);
  document.body.classList.toggle("easy-read", on);
}

/** The easy-read switch (aria-pressed). `changed` re-renders the screen. @param {() => void} changed */
export function easyReadToggle(changed) {
  const on = isEasyRead();
  return h("button", {
    type: "button",
    class: "btn btn-small easy-toggle",
    "data-fk": "easy",
    "aria-pressed": String(on),
    onclick: () => {
      const next = !isEasyRead();
      store.set(keys.easyRead, next);
      apply(next);
      changed();
    },
  }, h("span", { "aria-hidden": "true" }, "Aa "), t("easy_read"));
}

/** A "listen to this screen" button; `items()` gives what to say, in order. Null without speech.
 * @param {() => {text: string, lang?: string}[]} items */
export function listenScreenButton(items) {
  if (!("speechSynthesis" in window)) return null;
  return h("button", {
    type: "button",
    class: "btn btn-small listen-screen",
    "data-fk": "listen-screen",
    "aria-label": t("listen_screen"), // the short visible word is part of it
    onclick: () => speak(items().map((i) => ({ text: i.text, lang: i.lang || getLang() }))),
  }, speakerIcon(), " ", t("listen_screen_short"));
}

/** What a page says, read from its visible headings, labels, help and messages (the join page).
 * @param {HTMLElement} root */
export function readPage(root) {
  const out = [];
  for (const el of root.querySelectorAll("h1, h2, legend, label, .help, .form-error, [role=alert]")) {
    if (!(el instanceof HTMLElement) || !el.offsetParent) continue;
    const text = (el.innerText || "").trim();
    if (text) out.push({ text, lang: el.closest("[lang]")?.getAttribute("lang") || getLang() });
  }
  return out;
}

/** The step's instructions: "Step 3. Choose the best ideas." then what to do. @param {string} phase */
export function stepWords(phase) {
  return [{ text: t(`step_${phase}_easy`) }, { text: t(`help_${phase}`) }];
}

/** The four steps as pictograms with words, the current one marked. @param {string} phase */
export function stepsStrip(phase) {
  const icons = { ideate: "✎", cluster: "▦", vote: "●", results: "★" };
  return h("nav", { class: "steps-strip", "aria-label": t("steps_heading") },
    h("ol", null, PHASES.map((p) => h("li", { class: `step${p === phase ? " is-current" : ""}`, "aria-current": p === phase ? "step" : undefined },
      h("span", { class: "step-icon", "aria-hidden": "true" }, icons[/** @type {"ideate"} */ (p)] || "•"),
      h("span", { class: "step-word" }, t(`phase_${p}`))))),
    h("p", { class: "step-help" }, t(`help_${phase}`)));
}

/**
 * The results as plain sentences with counts people can check, in ranking order: one sentence for
 * the idea ("Idea 1: … 3 dots.") then one per group ("Residents: chosen by 2 of 4.", or "did
 * not vote"). `name(item)` gives an idea's words (its text in the reader's language, or its kind);
 * `after(item)`, what is said right after the idea's sentence (read aloud: the explanations of the
 * glossary words it uses, each in its language). Sentences without a `lang` are the reader's.
 * @param {any} data @param {(item: any) => string} name @param {(group: string) => string} groupLabel
 * @param {(item: any) => {text: string, lang: string}[]} [after]
 * @returns {{text: string, lang?: string}[]}
 */
export function resultSentences(data, name, groupLabel, after = () => []) {
  if (!data || !Array.isArray(data.notes)) return [];
  const groups = Object.keys(data.groups || {});
  /** @type {{text: string, lang?: string}[]} */ const out = [];
  let rank = 0;
  for (const item of data.notes) {
    if (!item.total) continue;
    rank += 1;
    out.push({ text: t("results_plain_note", { rank, text: name(item), n: item.total }) }, ...after(item));
    for (const g of groups) {
      const of = (data.groups[g] && data.groups[g].voters) || 0;
      const chose = (item.by_group && item.by_group[g] && item.by_group[g].voters) || 0;
      out.push({ text: of ? t("results_plain_group", { group: groupLabel(g), n: chose, of }) : t("results_plain_group_none", { group: groupLabel(g) }) });
    }
  }
  return out;
}
