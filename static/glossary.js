// @ts-check
// The glossary (issue #21; docs/schema.md "The glossary"): "I don't understand" on any note,
// anonymously; explanations the board writes together; the terms marked wherever a note uses them
// (canvas, outline, the note's sheet); the facilitator's "words that stopped people"; the
// projector's question and glossary page. Flags and explanations go over HTTP
// (server/http/glossary.py); the document's `glossary` root brings everyone the result live.
// Hooks: BoardExtras (extras.js) calls noteSection / afterRender / panelSection; present.js calls
// presentView.
import { h, api } from "./util.js";
import { t, getLang, langName } from "./i18n.js";
import { toast, openSheet, field, errorText, announce } from "./ui.js";
import { listenButton } from "./speech.js";
import { GLOSSARY_BOUNDS } from "./schema.js";

const MAX_TERM = GLOSSARY_BOUNDS.term;
const MAX_EXPLANATION = GLOSSARY_BOUNDS.explanation;
const MAX_EXAMPLE = GLOSSARY_BOUNDS.example;
const WORD = /[\p{L}\p{N}][\p{L}\p{N}'’\-]*/gu;

/** The form terms are compared in, as crdt/glossary.py `fold`: no accents, lower case, one space.
 * @param {string} text */
export function fold(text) {
  return foldChars(text).replace(/\s+/gu, " ").trim();
}
/** @param {string} text */
function foldChars(text) {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
}

/** @param {string} s */
function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** @type {Map<string, RegExp>} */
const patterns = new Map();
/** A term's whole-word pattern over folded text (kept: a board has at most 300 terms). @param {string} needle */
function patternOf(needle) {
  let re = patterns.get(needle);
  if (!re) {
    re = new RegExp(`(?<![\\p{L}\\p{N}_])${escapeRe(needle).replace(/ /g, "\\s+")}(?![\\p{L}\\p{N}_])`, "gu");
    if (patterns.size > 1000) patterns.clear();
    patterns.set(needle, re);
  }
  return re;
}

/** A text folded once, with where each folded character came from. @param {string} text */
function folded(text) {
  let out = "";
  /** @type {number[]} */ const from = [];
  let i = 0;
  for (const ch of text) {
    const f = foldChars(ch);
    for (let k = 0; k < f.length; k++) {
      out += f[k];
      from.push(i);
    }
    i += ch.length;
  }
  from.push(text.length);
  return { text: out, from };
}

/** @param {{text: string, from: number[]}} f @param {string} term @returns {[number, number][]} */
function findIn(f, term) {
  const needle = fold(term);
  if (!needle || !f.text) return [];
  /** @type {[number, number][]} */ const out = [];
  for (const m of f.text.matchAll(patternOf(needle))) out.push([f.from[m.index || 0], f.from[(m.index || 0) + m[0].length]]);
  return out;
}

/**
 * Where `term` occurs in `text` as whole words, ignoring accents, case and spacing: [start, end)
 * ranges of `text` (crdt/glossary.py `occurs` says whether; this also says where, to mark it).
 * @param {string} term @param {string} text @returns {[number, number][]}
 */
export function findTerm(term, text) {
  return text ? findIn(folded(text), term) : [];
}

const NOTE_FLAG = "note:";

/**
 * Each term's count of flags: the largest any server process wrote under its own key in
 * `glossary_flags` ("{term id}@{writer}" -> count; crdt/glossary.py `flag_counts`); with `notes`,
 * each note's count of "I don't understand the whole note" instead ("note:{note id}@{writer}",
 * `note_flag_counts`).
 * @param {any} doc @param {boolean} [notes] @returns {Map<string, number>}
 */
function flagCounts(doc, notes = false) {
  /** @type {Map<string, number>} */ const counts = new Map();
  doc.getMap("glossary_flags").forEach((/** @type {any} */ value, /** @type {string} */ key) => {
    const at = key.lastIndexOf("@");
    const n = Number(value);
    if (at <= 0 || !Number.isInteger(n) || n < 0) return;
    let id = key.slice(0, at);
    if (id.startsWith(NOTE_FLAG) !== notes) return;
    if (notes) id = id.slice(NOTE_FLAG.length);
    counts.set(id, Math.max(counts.get(id) || 0, n));
  });
  return counts;
}

/** How many people did not understand each note as a whole (note id -> count). @param {any} doc */
export function noteFlags(doc) {
  return doc ? flagCounts(doc, true) : new Map();
}

/** A note's words, cut for a line ("Mijn leefloon is te laag voor…"). @param {any} note */
function excerpt(note) {
  const text = (note.text || "").replace(/\s+/g, " ").trim();
  return text.length > 48 ? `${text.slice(0, 47)}…` : text;
}

/** What a note without text is (a voice note and its length, a photo without caption), in the
 * reader's language: where other notes are named by their text. @param {any} note */
function kindName(note) {
  if (note.kind === "voice") {
    const label = t("label_voice");
    return typeof note.duration === "number" ? t("label_with_seconds", { label, n: Math.max(1, Math.round(note.duration)) }) : label;
  }
  return t(note.kind === "photo" ? "label_photo_bare" : "label_empty_note");
}

/** The board's terms from the document, most flagged first. @param {any} doc */
export function readTerms(doc) {
  /** @type {any[]} */ const out = [];
  if (!doc) return out;
  const counts = flagCounts(doc);
  doc.getMap("glossary").forEach((/** @type {any} */ m, /** @type {string} */ id) => {
    const v = m && typeof m.toJSON === "function" ? m.toJSON() : null;
    if (!v || typeof v.term !== "string" || !v.term) return;
    /** @type {Record<string, any>} */ const explanations = {};
    for (const [lang, e] of Object.entries(v.explanations || {})) {
      if (e && typeof e.text === "string" && e.text) explanations[lang] = e;
    }
    out.push({ id, term: v.term, lang: v.lang || "", flags: counts.get(id) || 0, explanations });
  });
  out.sort((a, b) => b.flags - a.flags || fold(a.term).localeCompare(fold(b.term)) || (a.id < b.id ? -1 : 1));
  return out;
}

/** What a reader of `lang` sees: theirs, else a person's in another language. @param {any} term @param {string} lang */
export function explanationFor(term, lang) {
  const all = term.explanations || {};
  const human = Object.entries(all).find(([, e]) => !e.machine);
  const found = all[lang] ? [lang, all[lang]] : human || Object.entries(all)[0];
  if (!found) return null;
  // A machine translation carries the example translated with it (marked machine like its text);
  // one made before examples were translated has none: the person's, in their words, goes with it.
  const own = found[1].example || "";
  const example = own || (human && human[1].example) || "";
  return { lang: found[0], ...found[1], example, exampleLang: own ? found[0] : (human && human[0]) || found[0] };
}

/**
 * What reading notes aloud says after each note (the outline's "Listen" of a group, a note's own
 * listen button): the explanation, in the reader's language, of each glossary term the note uses,
 * once per reading (after the first note that uses it); terms nobody explained are not read.
 * @param {any} doc @param {any[]} notes @param {Set<string>} [said] terms already read
 * @returns {(note: any) => {text: string, lang: string}[]}
 */
export function termWords(doc, notes, said = new Set()) {
  const terms = notes.length ? readTerms(doc) : [];
  const lang = getLang();
  return (note) => {
    /** @type {{text: string, lang: string}[]} */ const out = [];
    if (!terms.length) return out;
    for (const term of termsOf(terms, note)) {
      const shown = explanationFor(term, lang);
      if (!shown || said.has(term.id)) continue;
      said.add(term.id);
      const text = shown.lang === lang ? t("gloss_listen_term", { term: term.term, text: shown.text }) : `${term.term}: ${shown.text}`;
      out.push({ text, lang: shown.lang });
    }
    return out;
  };
}

/** Notes read aloud in turn, each followed by its terms' explanations (`termWords`).
 * @param {any} doc @param {any[]} notes @param {(note: any) => {text: string, lang: string}} shown */
export function spokenNotes(doc, notes, shown) {
  const after = termWords(doc, notes);
  return notes.flatMap((note) => [shown(note), ...after(note)]);
}

/** People who explained it (not the machine). @param {any} term */
function humanCount(term) {
  return Object.values(term.explanations || {}).filter((e) => !e.machine).length;
}

/** The texts of a note a term may be found in: its text and its translations. @param {any} note */
function textsOf(note) {
  return [note.text || "", ...Object.values(note.translations || {}).map((e) => (e && e.text) || "")].filter(Boolean);
}

/** @param {any[]} terms @param {any} note */
export function termsOf(terms, note) {
  const texts = textsOf(note).map(folded);
  return terms.filter((term) => texts.some((x) => findIn(x, term.term).length));
}

/** `text` with the terms it uses marked, as nodes: <mark> on a card (whose whole text is already
 * a button: a tap on the word opens its bubble), a real <button> where the text is not inside
 * one (the outline: reachable from the keyboard). `open(el, termId)` shows the bubble.
 * @param {string} text @param {any[]} terms @param {(el: HTMLElement, termId: string) => void} open @param {boolean} [asButtons] */
function markedNodes(text, terms, open, asButtons = false) {
  /** @type {[number, number, any][]} */ const ranges = [];
  const f = folded(text);
  for (const term of terms) for (const [a, b] of findIn(f, term.term)) ranges.push([a, b, term]);
  ranges.sort((x, y) => x[0] - y[0] || y[1] - x[1]);
  /** @type {(Node|string)[]} */ const out = [];
  let at = 0;
  for (const [a, b, term] of ranges) {
    if (a < at) continue; // overlapping: the longer one, first, wins
    if (a > at) out.push(text.slice(at, a));
    const onclick = (/** @type {Event} */ e) => {
      e.stopPropagation();
      e.preventDefault();
      open(/** @type {HTMLElement} */ (e.currentTarget), term.id);
    };
    const label = t("gloss_popup_label", { term: text.slice(a, b) });
    out.push(
      asButtons
        ? h("button", { type: "button", class: "gloss-mark", dataset: { termId: term.id }, "aria-haspopup": "dialog", "aria-expanded": "false", "aria-label": label, onclick }, text.slice(a, b))
        : h("mark", { class: "gloss-mark", dataset: { termId: term.id }, onclick }, text.slice(a, b)),
    );
    at = b;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

export class Glossary {
  /** @param {import("./board/state.js").BoardState} board @param {import("./extras.js").BoardScreen} screen */
  constructor(board, screen) {
    this.board = board;
    this.screen = screen;
    this.invite = h("section", { class: "gloss-invite", id: "gloss-invite", "aria-labelledby": "gloss-invite-h", hidden: true });
    this._inviteSig = "";
    this._panelSig = "";
    /** @type {{el: HTMLElement, anchor: HTMLElement, off: () => void} | null} */
    this.bubble = null;
    this.openBubble = this.openBubble.bind(this);
  }

  /** The explanation of a term right where the word is, in the reader's language: a small bubble
   * anchored to the word, closed by a tap outside, Escape or its ✕ (focus goes back to the word
   * when it came from the keyboard). A tap on the same word again closes it.
   * @param {HTMLElement} anchor @param {string} termId */
  openBubble(anchor, termId) {
    const again = this.bubble && this.bubble.anchor === anchor;
    this.closeBubble(false);
    if (again) return;
    const term = this.terms().find((x) => x.id === termId);
    if (!term) return;
    const shown = explanationFor(term, getLang());
    const close = () => this.closeBubble(true);
    const el = h(
      "div",
      { class: "gloss-bubble", id: "gloss-bubble", role: "dialog", "aria-label": t("gloss_popup_label", { term: term.term }), "aria-describedby": "gloss-bubble-text", tabindex: "-1" },
      h("p", { class: "gloss-bubble-term", lang: term.lang || undefined }, term.term),
      shown
        ? h("p", { class: "gloss-explanation", id: "gloss-bubble-text", lang: shown.lang }, shown.text, shown.machine ? h("span", { class: "tr-tag" }, " ", t("gloss_machine")) : null)
        : h("p", { class: "gloss-explanation muted", id: "gloss-bubble-text" }, t("gloss_not_explained")),
      shown && shown.example ? h("p", { class: "gloss-example", lang: shown.exampleLang }, t("gloss_example", { example: shown.example })) : null,
      h(
        "div",
        { class: "gloss-bubble-actions" },
        shown ? listenButton({ text: `${term.term}: ${shown.text}`, lang: shown.lang }, term.term) : null,
        h("button", { type: "button", class: "btn btn-small gloss-bubble-close", onclick: close }, t("close")),
      ),
    );
    document.body.append(el);
    const r = anchor.getBoundingClientRect();
    const w = el.offsetWidth;
    const ht = el.offsetHeight;
    const left = Math.max(8, Math.min(r.left + r.width / 2 - w / 2, window.innerWidth - w - 8));
    const below = r.bottom + 8 + ht <= window.innerHeight - 8;
    el.style.left = `${Math.round(left)}px`;
    el.style.top = `${Math.round(below ? r.bottom + 8 : Math.max(8, r.top - 8 - ht))}px`;
    el.classList.toggle("is-above", !below);
    // The arrow points at the word, wherever the bubble had to shift to stay on screen.
    el.style.setProperty("--arrow-x", `${Math.round(Math.max(16, Math.min(r.left + r.width / 2 - left, w - 16)))}px`);
    if (anchor.tagName === "BUTTON") anchor.setAttribute("aria-expanded", "true");
    const outside = (/** @type {PointerEvent} */ e) => {
      const target = /** @type {Node} */ (e.target);
      if (!el.contains(target) && !anchor.contains(target)) this.closeBubble(false);
    };
    const key = (/** @type {KeyboardEvent} */ e) => {
      if (e.key !== "Escape") return;
      e.stopPropagation();
      e.preventDefault();
      close();
    };
    // A zoom or a resized window moves the word away from its bubble: it closes.
    const moved = () => this.closeBubble(false);
    document.addEventListener("pointerdown", outside, true);
    document.addEventListener("keydown", key, true);
    document.addEventListener("wheel", moved, { capture: true, passive: true });
    window.addEventListener("resize", moved);
    this.bubble = {
      el,
      anchor,
      off: () => {
        document.removeEventListener("pointerdown", outside, true);
        document.removeEventListener("keydown", key, true);
        document.removeEventListener("wheel", moved, { capture: true });
        window.removeEventListener("resize", moved);
      },
    };
    el.focus({ preventScroll: true });
  }

  /** @param {boolean} refocus give the focus back to the word (a keyboard close) */
  closeBubble(refocus) {
    const b = this.bubble;
    if (!b) return;
    this.bubble = null;
    b.off();
    b.el.remove();
    if (b.anchor.tagName === "BUTTON") b.anchor.setAttribute("aria-expanded", "false");
    if (refocus) {
      const target = b.anchor.isConnected && b.anchor.tagName === "BUTTON" ? b.anchor : b.anchor.closest("button");
      if (target instanceof HTMLElement && target.isConnected) target.focus({ preventScroll: true });
    }
  }

  base() {
    return `/api/boards/${encodeURIComponent(this.board.id)}/glossary`;
  }

  terms() {
    return readTerms(this.board.session.doc);
  }

  /** After every render: mark the terms in the notes shown, list them in the outline, invite authors. */
  afterRender() {
    const board = this.board;
    if (!board.session.doc) return;
    const terms = this.terms();
    const lang = getLang();
    // What marks depend on: the terms and their explanations, not the live counts (a flag must not
    // re-mark every note of a big board).
    const sig = JSON.stringify([lang, terms.map((x) => [x.id, x.term, x.explanations])]);
    const notes = new Map(board.session.noteList().map((/** @type {any} */ n) => [n.id, n]));
    for (const btn of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll(".note .note-open[data-note-id]"))) {
      const span = /** @type {any} */ (btn.querySelector(":scope > span"));
      const note = notes.get(btn.dataset.noteId);
      if (!span || !note) continue;
      const text = span.textContent || "";
      if (span._gloss === sig + text) continue;
      span._gloss = sig + text;
      span.replaceChildren(...markedNodes(text, terms, this.openBubble));
    }
    for (const li of /** @type {NodeListOf<any>} */ (document.querySelectorAll(".ol-note[data-note-id]"))) {
      const note = notes.get(li.dataset.noteId);
      if (!note) continue;
      const textEl = li.querySelector(":scope > .ol-text");
      const text = textEl ? textEl.textContent || "" : "";
      // The list view (keyboard, screen readers) has no note sheet: "I don't understand" is here,
      // named after its note. The item is kept across renders while the note is unchanged.
      if (this.mayAsk(note) && !li.querySelector(".gloss-ask-ol")) {
        let row = li.querySelector(":scope > .ol-actions");
        if (!row) li.append((row = h("div", { class: "ol-actions" })));
        const name = excerpt(note) ? t("label_quoted", { text: excerpt(note) }) : kindName(note);
        row.append(this.askButton(note, () => {}, { class: "btn btn-small gloss-ask-ol", "data-fk": `ga:${note.id}` }, h("span", { class: "sr-only" }, `: ${name}`)));
      }
      if (li._gloss === sig + text) continue;
      li._gloss = sig + text;
      if (textEl) textEl.replaceChildren(...markedNodes(text, terms, this.openBubble, true));
      const old = li.querySelector(":scope > .gloss-list");
      if (old) old.remove();
      const used = termsOf(terms, note);
      // For screen readers (and everyone): the note's terms with their explanations, in words.
      if (used.length) li.insertBefore(this.termList(used, "gloss-list"), textEl ? textEl.nextSibling : li.firstChild);
    }
    const wholeFlags = noteFlags(board.session.doc);
    this.renderInvite(terms, notes, wholeFlags);
    // The panel redraws on its own signature (settings, phase…): the glossary's changes ask for it.
    const focus = board.session.meta && board.session.meta.get("glossary_focus");
    const panelSig = sig + JSON.stringify([terms.map((x) => x.flags), focus || null, [...wholeFlags]]);
    if (board.isFacilitator() && this.screen.panel && this.screen.panel.open && panelSig !== this._panelSig) {
      this._panelSig = panelSig;
      this.screen.panel.render(true);
    }
  }

  /** The terms of a note, each with its explanation in the reader's language. @param {any[]} used @param {string} cls */
  termList(used, cls) {
    const lang = getLang();
    return h(
      "dl",
      { class: cls, "aria-label": t("gloss_words_heading") },
      used.flatMap((term) => {
        const shown = explanationFor(term, lang);
        return [
          h("dt", { lang: term.lang || undefined }, term.term),
          h(
            "dd",
            null,
            shown ? h("span", { lang: shown.lang }, shown.text) : h("span", { class: "muted" }, t("gloss_not_explained")),
            shown && shown.machine ? h("span", { class: "tr-tag" }, " ", t("gloss_machine")) : null,
            shown && shown.example ? h("span", { class: "gloss-example", lang: shown.exampleLang }, " ", t("gloss_example", { example: shown.example })) : null,
          ),
        ];
      }),
    );
  }

  /** In a note's sheet: its terms with their explanations (read aloud, explain), and "I don't
   * understand". @param {any} note @param {() => void} close */
  noteSection(note, close) {
    const board = this.board;
    const used = termsOf(this.terms(), note);
    const lang = getLang();
    const canWrite = board.role === "participant" || board.isFacilitator();
    const items = used.map((term) => {
      const shown = explanationFor(term, lang);
      return h(
        "li",
        { class: "gloss-term", dataset: { termId: term.id } },
        h("p", { class: "gloss-term-head" }, h("mark", { class: "gloss-mark", lang: term.lang || undefined }, term.term), " ", h("span", { class: "muted" }, t("gloss_asked", { n: term.flags }))),
        shown
          ? h(
              "p",
              { class: "gloss-explanation", lang: shown.lang },
              shown.text,
              shown.machine ? h("span", { class: "tr-tag" }, " ", t("gloss_machine")) : null,
            )
          : h("p", { class: "gloss-explanation muted" }, t("gloss_not_explained")),
        shown && shown.example ? h("p", { class: "gloss-example", lang: shown.exampleLang }, t("gloss_example", { example: shown.example })) : null,
        h(
          "div",
          { class: "actions" },
          shown ? listenButton({ text: `${term.term}: ${shown.text}`, lang: shown.lang }, term.term) : null,
          canWrite ? h("button", { type: "button", class: "btn btn-small gloss-explain-btn", onclick: () => { close(); this.openExplain(term); } }, t("gloss_explain")) : null,
        ),
      );
    });
    const hasText = Boolean((note.text || "").trim());
    const ask = this.mayAsk(note) ? this.askButton(note, close, { id: "gloss-ask", "aria-describedby": hasText ? undefined : "gloss-ask-help" }) : null;
    const askHelp = ask && !hasText ? h("p", { class: "muted", id: "gloss-ask-help" }, t("gloss_note_only_help")) : null;
    // "3 people did not understand this note": for its author and the facilitator.
    const whole = board.isFacilitator() || board.isMine(note.id) ? noteFlags(board.session.doc).get(note.id) || 0 : 0;
    const wholeLine = whole ? h("p", { class: "gloss-note-flags", id: "gloss-note-flags" }, "❓ ", t("gloss_note_asked", { n: whole })) : null;
    if (!items.length && !ask && !wholeLine) return null;
    return h(
      "section",
      { class: "gloss-sheet", "aria-labelledby": "gloss-sheet-h" },
      items.length ? h("h3", { id: "gloss-sheet-h" }, t("gloss_words_heading")) : h("h3", { id: "gloss-sheet-h", class: "sr-only" }, t("gloss_dont_understand")),
      wholeLine,
      items.length ? h("ul", { class: "gloss-terms" }, items) : null,
      ask,
      askHelp,
    );
  }

  /** "I don't understand" is for participants, on every note but their own. @param {any} note */
  mayAsk(note) {
    return this.board.role === "participant" && !this.board.isMine(note.id);
  }

  /** "I don't understand" on a note: with text, pick its words (or the whole note); a voice note
   * or a photo without caption has no words to pick, so one tap sends the whole-note flag.
   * @param {any} note @param {() => void} close @param {Record<string, any>} attrs @param {...any} more */
  askButton(note, close, attrs, ...more) {
    const hasText = Boolean((note.text || "").trim());
    const onclick = (/** @type {Event} */ e) => {
      if (!hasText) return this.flagWholeNote(note, /** @type {HTMLButtonElement} */ (e.currentTarget), close);
      close();
      this.openFlag(note);
    };
    return h("button", { type: "button", class: "btn", ...attrs, onclick }, "❓ ", t(hasText ? "gloss_dont_understand" : "gloss_dont_understand_note"), ...more);
  }

  /** "I don't understand this note" for a note without words to pick (voice, photo without
   * caption): the whole-note flag, anonymous, once per person (the server counts).
   * @param {any} note @param {HTMLButtonElement} button @param {() => void} close */
  async flagWholeNote(note, button, close) {
    // Busy while sent (a second tap sends nothing), not disabled: a disabled button loses the focus.
    if (button.getAttribute("aria-busy") === "true") return;
    button.setAttribute("aria-busy", "true");
    try {
      await api("POST", `${this.base()}/flags`, { token: this.board.token, body: { note_id: note.id, whole_note: true } });
      close();
      toast(t("gloss_sent"));
      announce(t("gloss_sent"));
    } catch (err) {
      toast(errorText(err), "error");
    } finally {
      button.removeAttribute("aria-busy");
    }
  }

  /** The words of a note as toggles; adjacent ones picked together make one term. @param {any} note */
  openFlag(note) {
    const text = note.text || "";
    const words = [...text.matchAll(WORD)].map((m) => ({ start: m.index || 0, end: (m.index || 0) + m[0].length, word: m[0] }));
    const picked = new Set();
    openSheet(t("gloss_pick_heading"), (close) => {
      const chips = words.map((w, i) =>
        h("button", {
          type: "button",
          class: "gloss-chip",
          "aria-pressed": "false",
          lang: note.lang || undefined,
          dataset: { word: w.word },
          onclick: (/** @type {Event} */ e) => {
            const btn = /** @type {HTMLElement} */ (e.currentTarget);
            if (picked.has(i)) picked.delete(i);
            else picked.add(i);
            btn.setAttribute("aria-pressed", picked.has(i) ? "true" : "false");
          },
        }, w.word),
      );
      // "The whole note", however long: a note-level flag (crdt/glossary.py `note_flag_id`).
      const wholeBox = h("input", { type: "checkbox", id: "gloss-whole", "aria-describedby": "gloss-whole-help" });
      return h(
        "form",
        {
          class: "gloss-flag-form",
          onsubmit: async (/** @type {Event} */ e) => {
            e.preventDefault();
            /** @type {string[]} */ const terms = [];
            const wholeNote = /** @type {HTMLInputElement} */ (wholeBox).checked;
            const order = [...picked].sort((a, b) => a - b);
            let run = /** @type {number[]} */ ([]);
            const flush = () => {
              if (run.length) terms.push(text.slice(words[run[0]].start, words[run[run.length - 1]].end).replace(/\s+/g, " "));
              run = [];
            };
            for (const i of order) {
              if (run.length && i !== run[run.length - 1] + 1) flush();
              run.push(i);
            }
            flush();
            const fit = terms.filter((x) => x.length <= MAX_TERM);
            if (!fit.length && !wholeNote) {
              toast(t(terms.length ? "gloss_pick_none" : "gloss_pick_none_whole"), "warn");
              return;
            }
            try {
              if (wholeNote) await api("POST", `${this.base()}/flags`, { token: this.board.token, body: { note_id: note.id, whole_note: true } });
              for (const term of fit) await api("POST", `${this.base()}/flags`, { token: this.board.token, body: { note_id: note.id, term } });
              close();
              toast(t("gloss_sent"));
              announce(t("gloss_sent"));
            } catch (err) {
              toast(errorText(err), "error");
            }
          },
        },
        h("p", { class: "muted" }, t("gloss_pick_help")),
        h("div", { class: "gloss-chips", role: "group", "aria-label": t("gloss_pick_heading") }, chips),
        h("label", { class: "check gloss-whole" }, wholeBox, " ", t("gloss_whole_note")),
        h("p", { class: "muted gloss-whole-help", id: "gloss-whole-help" }, t("gloss_whole_help")),
        h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary btn-big", id: "gloss-send" }, t("gloss_send"))),
      );
    }, { initialFocus: ".gloss-chip" });
  }

  /** Write (or correct) the explanation of a term in one language. @param {any} term */
  openExplain(term) {
    const board = this.board;
    const langs = board.languages();
    const mine = getLang();
    openSheet(t("gloss_explain_heading", { term: term.term }), (close) => {
      const langSel = h("select", { id: "gloss-lang" }, langs.map((/** @type {string} */ l) => h("option", { value: l, selected: l === mine }, langName(l))));
      const current = () => term.explanations[/** @type {HTMLSelectElement} */ (langSel).value];
      const startWith = current();
      const text = h("textarea", { id: "gloss-text", rows: 4, maxLength: MAX_EXPLANATION, lang: mine }, startWith && !startWith.machine ? startWith.text : "");
      const example = h("input", { type: "text", id: "gloss-example", maxLength: MAX_EXAMPLE, value: (startWith && startWith.example) || "" });
      langSel.addEventListener("change", () => {
        const now = current();
        /** @type {HTMLTextAreaElement} */ (text).value = now && !now.machine ? now.text : "";
        text.setAttribute("lang", /** @type {HTMLSelectElement} */ (langSel).value);
      });
      return h(
        "form",
        {
          class: "gloss-explain-form",
          onsubmit: async (/** @type {Event} */ e) => {
            e.preventDefault();
            const lang = /** @type {HTMLSelectElement} */ (langSel).value;
            const body = { text: /** @type {HTMLTextAreaElement} */ (text).value.trim(), example: /** @type {HTMLInputElement} */ (example).value.trim() };
            try {
              await api("PUT", `${this.base()}/${encodeURIComponent(term.id)}/explanations/${lang}`, { token: board.token, body });
              close();
              toast(t("gloss_saved"));
            } catch (err) {
              toast(errorText(err), "error");
            }
          },
        },
        h("p", { class: "muted" }, t("gloss_asked", { n: term.flags })),
        field(t("gloss_explain_lang"), langSel),
        field(t("gloss_explain_text"), text),
        field(t("gloss_explain_example"), example),
        h("div", { class: "actions" }, h("button", { type: "submit", class: "btn btn-primary", id: "gloss-save" }, t("save"))),
      );
    }, { initialFocus: "#gloss-text" });
  }

  /** The author of a note that uses an unexplained term is asked first ("3 people asked what
   * 'leefloon' means"), and told when people did not understand one of their notes as a whole
   * ("2 people did not understand your note “…”").
   * @param {any[]} terms @param {Map<string, any>} notes @param {Map<string, number>} wholeFlags */
  renderInvite(terms, notes, wholeFlags) {
    const board = this.board;
    if (!this.invite.isConnected && this.screen.draftsEl) this.screen.draftsEl.after(this.invite);
    const mine = [...notes.values()].filter((n) => board.isMine(n.id));
    const participant = board.role === "participant";
    const waiting = participant ? terms.filter((term) => term.flags > 0 && !humanCount(term) && termsOf([term], { text: mine.map((n) => textsOf(n).join("\n")).join("\n") }).length) : [];
    const unclear = participant ? mine.filter((n) => wholeFlags.get(n.id)) : [];
    const sig = JSON.stringify([waiting.map((x) => [x.id, x.flags]), unclear.map((n) => [n.id, wholeFlags.get(n.id), n.text]), getLang()]);
    if (sig === this._inviteSig) return;
    this._inviteSig = sig;
    this.invite.hidden = !waiting.length && !unclear.length;
    this.invite.replaceChildren(
      ...(waiting.length || unclear.length
        ? [
            h("h2", { id: "gloss-invite-h", class: "sr-only" }, t("gloss_words_heading")),
            h("ul", null, [
              ...waiting.map((term) => h(
                "li",
                { dataset: { termId: term.id } },
                h("span", null, t("gloss_invite", { n: term.flags, term: term.term })),
                " ",
                h("button", { type: "button", class: "btn btn-small btn-primary", onclick: () => this.openExplain(term) }, t("gloss_explain")),
              )),
              ...unclear.map((n) => h(
                "li",
                { class: "gloss-note-invite", dataset: { noteId: n.id } },
                h("span", null, excerpt(n) ? t("gloss_note_invite", { n: wholeFlags.get(n.id) || 0, text: excerpt(n) }) : t("gloss_note_invite_kind", { n: wholeFlags.get(n.id) || 0, label: kindName(n) })),
                " ",
                // Its sheet: the author may say it again in other words.
                h("button", { type: "button", class: "btn btn-small", onclick: () => this.screen.canvas.ui.openNoteSheet(n.id) }, t("gloss_note_open"), h("span", { class: "sr-only" }, `: ${excerpt(n) || kindName(n)}`)),
              )),
            ]),
          ]
        : []),
    );
  }

  /** The facilitator's panel: words that stopped people, most flagged first; one button puts a
   * term (or the whole glossary) on the projector. */
  panelSection() {
    const board = this.board;
    if (!board.isFacilitator() || !board.session.doc) return null;
    const terms = this.terms();
    const unexplained = terms.filter((x) => !humanCount(x)).length;
    const focus = board.session.meta && board.session.meta.get("glossary_focus");
    const project = (/** @type {any} */ value) => board.session.doc.transact(() => board.session.meta.set("glossary_focus", value));
    // Notes not understood as a whole, most flagged first (notes since deleted are left out).
    const byId = new Map(board.session.noteList().map((/** @type {any} */ n) => [n.id, n]));
    const unclear = [...noteFlags(board.session.doc)].filter(([id, n]) => n > 0 && byId.has(id)).sort((a, b) => b[1] - a[1]);
    return h(
      "section",
      { class: "panel-sec", "aria-labelledby": "p-gloss", id: "panel-glossary" },
      h("h3", { id: "p-gloss" }, t("gloss_panel_heading", { n: terms.length })),
      terms.length ? h("p", { class: "muted", id: "gloss-unexplained" }, t("gloss_panel_unexplained", { n: unexplained })) : h("p", { class: "muted" }, t("gloss_panel_none")),
      terms.length
        ? h("ol", { class: "gloss-rank" }, terms.map((term) => h(
            "li",
            { dataset: { termId: term.id } },
            h("strong", { lang: term.lang || undefined }, term.term),
            " ",
            h("span", { class: "gloss-counts" }, t("gloss_row", { n: term.flags, e: humanCount(term) })),
            " ",
            h("button", { type: "button", class: "btn btn-small", "data-fk": `gp:${term.id}`, "aria-pressed": focus && focus.id === term.id ? "true" : "false", onclick: () => project({ id: term.id, at: Date.now() }) }, t("gloss_project"), h("span", { class: "sr-only" }, `: ${term.term}`)),
            " ",
            h("button", { type: "button", class: "btn btn-small", onclick: () => this.openExplain(term) }, t("gloss_explain"), h("span", { class: "sr-only" }, `: ${term.term}`)),
          )))
        : null,
      terms.length
        ? h(
            "div",
            { class: "actions" },
            h("button", { type: "button", class: "btn btn-small", id: "gloss-project-all", onclick: () => project({ all: true, at: Date.now() }) }, t("gloss_project_all")),
            focus ? h("button", { type: "button", class: "btn btn-small", id: "gloss-project-stop", onclick: () => project(null) }, t("gloss_project_stop")) : null,
          )
        : null,
      unclear.length ? h("h4", { id: "gloss-notes-h" }, t("gloss_panel_notes")) : null,
      unclear.length
        ? h("ul", { class: "gloss-notes", "aria-labelledby": "gloss-notes-h" }, unclear.map(([id, n]) => h(
            "li",
            { dataset: { noteId: id } },
            excerpt(byId.get(id)) ? h("span", { lang: byId.get(id).lang || undefined }, `“${excerpt(byId.get(id))}”`) : h("span", null, `${kindName(byId.get(id))} —`),
            " ",
            h("span", { class: "gloss-counts" }, t("gloss_note_asked", { n })),
          )))
        : null,
    );
  }
}

/** The projector (present.js): the question the facilitator put up, or the glossary as a page;
 * null when neither. @param {any} session @returns {{sig: string, items: any[]} | null} */
export function presentView(session) {
  const focus = session.meta && session.meta.get("glossary_focus");
  if (!focus || typeof focus !== "object") return null;
  const terms = readTerms(session.doc);
  const lang = getLang();
  const line = (/** @type {any} */ term) => {
    const shown = explanationFor(term, lang);
    return h(
      "div",
      { class: "present-gloss-item" },
      h("p", { class: "present-gloss-term", lang: term.lang || undefined }, term.term),
      shown
        ? h("p", { class: "present-gloss-text", lang: shown.lang }, shown.text, shown.machine ? h("span", { class: "tr-tag" }, " ", t("gloss_machine")) : null)
        : h("p", { class: "present-gloss-text muted" }, t("gloss_present_who")),
      shown && shown.example ? h("p", { class: "gloss-example" }, t("gloss_example", { example: shown.example })) : null,
    );
  };
  if (focus.all) {
    return {
      sig: `gloss|all|${focus.at}`,
      items: [{ kind: "head", el: () => h("h2", { class: "present-cl", id: "present-gloss" }, t("gloss_present_page")) }, ...terms.map((term) => ({ kind: "item", el: () => line(term) }))],
    };
  }
  const term = terms.find((x) => x.id === focus.id);
  if (!term) return null;
  return {
    sig: `gloss|${term.id}|${focus.at}`,
    items: [
      { kind: "head", el: () => h("h2", { class: "present-cl present-gloss-question", id: "present-gloss" }, t("gloss_present_question", { term: term.term })) },
      { kind: "item", el: () => line(term) },
    ],
  };
}
