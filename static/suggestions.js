// @ts-check
// The facilitator panel's cluster suggestions: ask, see groups of notes that say the same thing
// (across languages), accept one (the server creates the cluster and moves its notes).
import { h, api } from "./util.js";
import { t, getLang } from "./i18n.js";
import { toast, errorText } from "./ui.js";

/** One section per board app, kept across panel re-renders. @type {WeakMap<any, HTMLElement>} */
const sections = new WeakMap();

/** @param {any} app */
export function suggestionsSection(app) {
  const kept = sections.get(app);
  if (kept) return kept;
  const list = h("div", { class: "sugg-list", "aria-live": "polite" });
  const ask = h("button", { type: "button", class: "btn", "data-fk": "sugg-ask" }, t("sugg_ask"));
  const sec = h("section", { class: "panel-sec", "aria-labelledby": "p-sugg" }, h("h3", { id: "p-sugg" }, t("sugg_heading")), ask, list);
  const notesById = () => new Map(app.session.noteList().map((/** @type {any} */ n) => [n.id, n]));
  const show = (/** @type {any[]} */ suggestions) => {
    const byId = notesById();
    list.replaceChildren(
      suggestions.length
        ? h("ul", { class: "sugg-items" }, suggestions.map((s, i) => {
            const label = s.label[getLang()] || Object.values(s.label)[0] || "";
            return h("li", { class: "sugg-item" },
              h("p", { class: "sugg-label" }, label, ` (${s.notes.length})`),
              h("ul", null, s.notes.map((/** @type {string} */ id) => h("li", { lang: byId.get(id)?.lang || undefined }, byId.get(id)?.text || ""))),
              h("button", { type: "button", class: "btn btn-small sugg-accept", "data-fk": `sugg-${i}`, onclick: async () => {
                try {
                  await api("POST", `/api/boards/${encodeURIComponent(app.id)}/cluster-suggestions/accept`, { token: app.token, body: { notes: s.notes, title: label } });
                  toast(t("sugg_accepted"));
                  show(suggestions.filter((x) => x !== s));
                } catch (e) { toast(errorText(e), "warn"); }
              } }, t("sugg_accept")));
          }))
        : h("p", { class: "muted" }, t("sugg_none")),
    );
  };
  ask.addEventListener("click", async () => {
    list.replaceChildren(h("p", { class: "muted" }, t("loading")));
    try {
      const res = await api("GET", `/api/boards/${encodeURIComponent(app.id)}/cluster-suggestions`, { token: app.token });
      show(res.suggestions);
    } catch (e) { list.replaceChildren(h("p", null, errorText(e))); }
  });
  sections.set(app, sec);
  return sec;
}
