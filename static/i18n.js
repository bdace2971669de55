// @ts-check
// Interface strings: one file per language in static/i18n/ (fr.js, nl.js, en.js). No other module
// holds UI text.
// t("key", {n: 2}) fills {n}; plural forms are separate keys chosen by the caller via tn().
import { store, keys } from "./util.js";
import fr from "./i18n/fr.js";
import nl from "./i18n/nl.js";
import en from "./i18n/en.js";

export const LANGS = ["fr", "nl", "en"];
const LOCALES = { fr: "fr-BE", nl: "nl-BE", en: "en-GB" };

const D = { fr, nl, en };

let current = "fr";
const listeners = new Set();

function fromBrowser() {
  for (const l of navigator.languages || [navigator.language || "fr"]) {
    const code = String(l).slice(0, 2).toLowerCase();
    if (LANGS.includes(code)) return code;
  }
  return "fr";
}

export function initLang() {
  const saved = store.get(keys.lang);
  current = LANGS.includes(saved) ? saved : fromBrowser();
  document.documentElement.lang = current;
  return current;
}

export function getLang() {
  return current;
}

export function setLang(lang) {
  if (!LANGS.includes(lang) || lang === current) return;
  current = lang;
  store.set(keys.lang, lang);
  document.documentElement.lang = lang;
  for (const fn of listeners) fn(lang);
}

/** Subscribe to language changes; returns an unsubscribe function. */
export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

const pluralRules = {};
function pluralKey(key, params) {
  if (!params || typeof params.n !== "number") return key;
  const rules = (pluralRules[current] ||= new Intl.PluralRules(LOCALES[current]));
  const one = `${key}_one`;
  return rules.select(params.n) === "one" && D[current][one] !== undefined ? one : key;
}

export function t(key, params) {
  key = pluralKey(key, params);
  let s = D[current][key];
  if (s === undefined) s = D.en[key] ?? key;
  if (easyRead && D[current][`${key}_easy`] !== undefined) s = D[current][`${key}_easy`];
  if (params) s = s.replace(/\{(\w+)\}/g, (_, k) => (params[k] === undefined ? `{${k}}` : typeof params[k] === "number" ? fmtNumber(params[k]) : String(params[k])));
  return easyRead ? plainWords(s) : s;
}

// Easy-read mode (listen.js switches it): short "_easy" variants of some strings where they exist,
// and no mid-dot forms ("Habitant·e du quartier" reads "Habitant du quartier").
let easyRead = false;
/** @param {boolean} on */
export function setEasyReadText(on) {
  easyRead = !!on;
}
export function isEasyRead() {
  return easyRead;
}
/** @param {string} s */
export function plainWords(s) {
  return s.replace(/(\p{L}+)(?:·\p{L}+)+/gu, "$1");
}

export function locale() {
  return LOCALES[current];
}

export function fmtNumber(n) {
  return new Intl.NumberFormat(locale()).format(n);
}

export function fmtPercent(x) {
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 0 }).format(x || 0);
}

export function fmtTime(ms) {
  return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit" }).format(new Date(ms));
}

export function fmtDate(ms) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(ms));
}

/** A language's own name ("Français"): for language menus, where people look for their own. */
export function langName(code) {
  return D[current][`lang_name_${code}`] || code;
}

/** A language's name in the reader's language, as it stands inside a sentence ("anglais" in French,
 * "Engels" in Dutch). */
export function langNoun(code) {
  return D[current][`lang_noun_${code}`] || langName(code);
}

/** For tests and tooling: every key of every language. */
export const DICTIONARY = D;
