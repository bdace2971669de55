// @ts-check
// Each reader sees a note in their own language first (marked as a translation), the original one tap away.
import { h } from "./util.js";
import { t, getLang, langNoun } from "./i18n.js";

/** Note ids whose original the reader asked to see. */
const showOriginal = new Set();

/** What to show of a note for this reader: {text, lang, translated, machine}. @param {any} note */
export function shownText(note) {
  const want = getLang();
  const tr = note.translations && note.translations[want];
  if (!showOriginal.has(note.id) && note.lang && note.lang !== want && tr && typeof tr.text === "string" && tr.text) {
    return { text: tr.text, lang: want, translated: true, machine: !!tr.machine };
  }
  return { text: note.text, lang: note.lang, translated: false, machine: false };
}

/** The "translated from … · show original" line, or null. @param {any} note @param {() => void} rerender */
export function translationToggle(note, rerender) {
  const shown = shownText(note);
  const hasTr = note.translations && note.translations[getLang()] && note.lang !== getLang();
  if (!hasTr) return null;
  const label = shown.translated
    ? ["fr", "nl", "en"].includes(note.lang)
      ? t(`${shown.machine ? "translated_machine" : "translated_from"}_${note.lang}`) // whole sentences: "de l’anglais", "du français"
      : t(shown.machine ? "translated_machine" : "translated_from", { lang: langNoun(note.lang) })
    : t("original_shown");
  return h("p", { class: "tr-line" },
    h("span", { class: "tr-tag" }, label), " ",
    h("button", {
      type: "button",
      class: "linklike tr-toggle",
      onclick: (/** @type {Event} */ e) => {
        e.stopPropagation();
        if (showOriginal.has(note.id)) showOriginal.delete(note.id); else showOriginal.add(note.id);
        rerender();
      },
    }, shown.translated ? t("show_original") : t("show_translation")),
  );
}

/** PUT a human translation. @param {string} boardId @param {string} token @param {string} noteId @param {string} lang @param {string} text */
export async function saveTranslation(boardId, token, noteId, lang, text) {
  const res = await fetch(`/api/boards/${encodeURIComponent(boardId)}/notes/${encodeURIComponent(noteId)}/translations/${lang}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify({ text }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || res.statusText);
  return body;
}

/** The note sheet's "translate" form: anyone may add or correct the reader's-language translation.
 * @param {any} app @param {any} note @param {() => void} done */
export function translateForm(app, note, done) {
  const lang = getLang();
  if (!note.text || note.lang === lang || app.role === "viewer") return null;
  const current = (note.translations && note.translations[lang] && note.translations[lang].text) || "";
  const area = h("textarea", { id: "translate-text", rows: 3, maxLength: 2000, lang }, current);
  const msg = h("p", { class: "tr-status", "aria-live": "polite" });
  return h("form", {
    class: "translate-form",
    onsubmit: async (/** @type {Event} */ e) => {
      e.preventDefault();
      try {
        await saveTranslation(app.id, app.token, note.id, lang, /** @type {HTMLTextAreaElement} */ (area).value);
        msg.textContent = t("translate_saved");
        done();
      } catch (err) {
        msg.textContent = String(/** @type {Error} */ (err).message || err);
      }
    },
  },
    h("label", { for: "translate-text" }, t("translate_heading", { lang: langNoun(lang) })),
    area,
    h("button", { type: "submit", class: "btn" }, t("translate_btn")),
    msg,
  );
}

