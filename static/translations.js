// @ts-check
// Each reader sees a note in their own language first (marked as a translation), the original one tap away.
import { h, api, ApiError } from "./util.js";
import { errorText } from "./ui.js";
import { t, getLang, langName, langNoun } from "./i18n.js";

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

/** A cluster's title for this reader: theirs (`titles[lang]`) when someone wrote it, else the main one.
 * @param {any} cluster */
export function shownTitle(cluster) {
  if (!cluster) return t("cluster_untitled");
  const mine = cluster.titles && cluster.titles[getLang()];
  return (typeof mine === "string" && mine) || cluster.title || t("cluster_untitled");
}

/** Notes that wait for a person's translation into `lang` (asked for, none written yet).
 * @param {any[]} notes @param {string} lang */
export function waitingFor(notes, lang) {
  return notes.filter((n) => n.wanted && n.wanted[lang] !== undefined && n.lang !== lang && !(n.translations && n.translations[lang] && n.translations[lang].text && !n.translations[lang].machine));
}

/** Ask for a translation of a note into the reader's language (stored in the note by the server).
 * @param {{id: string, token: string, role?: string}} app @param {any} note */
export async function requestTranslation(app, note) {
  return api("POST", `/api/boards/${encodeURIComponent(app.id)}/notes/${encodeURIComponent(note.id)}/translation-requests/${getLang()}`, { token: app.token });
}

/** "Translated from English" (or "machine-translated from…") in the reader's words: whole sentences
 * ("de l’anglais", "du français"), since a language name alone does not agree with the sentence.
 * @param {any} note @param {boolean} machine */
export function translatedFrom(note, machine) {
  const key = machine ? "translated_machine" : "translated_from";
  return ["fr", "nl", "en"].includes(note.lang) ? t(`${key}_${note.lang}`) : t(key, { lang: langNoun(note.lang) });
}

/** The "translated from … · show original" line, or null. @param {any} note @param {() => void} rerender */
export function translationToggle(note, rerender) {
  const shown = shownText(note);
  const hasTr = note.translations && note.translations[getLang()] && note.lang !== getLang();
  if (!hasTr) return null;
  const label = shown.translated ? translatedFrom(note, shown.machine) : t("original_shown");
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
  if (!res.ok) {
    // The reader's language for the refusals we know (bounds, board full), else the server's words.
    const key = `translation_err_${body.error}`;
    throw new ApiError(res.status, body.error, t(key) !== key ? t(key) : body.message || res.statusText);
  }
  return body;
}

/** The note sheet's translation part: "ask for a translation" (queued for people who can write it)
 * and "I can translate it", which opens the box (the keyboard opens only when asked for).
 * @param {{id: string, token: string, role?: string}} app @param {any} note @param {() => void} done @param {string} [lang] */
export function translateForm(app, note, done, lang = getLang()) {
  if (note.lang === lang || app.role === "viewer" || (!note.text && note.kind !== "voice")) return null;
  const existing = note.translations && note.translations[lang];
  const human = !!(existing && existing.text && !existing.machine);
  const asked = !!(note.wanted && note.wanted[lang] !== undefined);
  const current = (existing && existing.text) || "";
  const areaId = `translate-text-${lang}-${note.id}`;
  const area = h("textarea", { id: areaId, class: "translate-text", rows: 3, maxLength: 2000, lang }, current);
  const msg = h("p", { class: "tr-status", role: "status" });
  const form = h("form", {
    class: "translate-form",
    hidden: true,
    onsubmit: async (/** @type {Event} */ e) => {
      e.preventDefault();
      const text = /** @type {HTMLTextAreaElement} */ (area).value;
      if (!text.trim() && !current) {
        msg.textContent = t("translate_empty");
        area.focus();
        return;
      }
      try {
        await saveTranslation(app.id, app.token, note.id, lang, text);
        msg.textContent = t("translate_saved");
        done();
      } catch (err) {
        msg.textContent = errorText(err);
      }
    },
  },
    h("label", { for: areaId }, t("translate_heading", { lang: langNoun(lang) })),
    area,
    h("button", { type: "submit", class: "btn" }, t("translate_btn")),
  );
  const open = h("button", {
    type: "button",
    class: "btn tr-open",
    "aria-expanded": "false",
    onclick: () => {
      form.hidden = false;
      open.setAttribute("aria-expanded", "true");
      area.focus();
    },
  }, t(human ? "translate_correct" : "translate_offer", { lang: langName(lang) }));
  const ask = human || lang !== getLang()
    ? null
    : h("button", {
        type: "button",
        class: "btn tr-ask",
        disabled: asked,
        onclick: async () => {
          try {
            await requestTranslation(app, note);
            msg.textContent = t("translate_asked", { lang: langName(lang) });
            ask.disabled = true;
            ask.textContent = t("translate_asked_short");
          } catch (err) {
            msg.textContent = errorText(err);
          }
        },
      }, asked ? t("translate_asked_short") : t("translate_ask", { lang: langName(lang) }));
  return h("div", { class: "translate-box" }, h("div", { class: "actions tr-actions" }, ask, open), form, msg);
}
