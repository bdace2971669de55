// @ts-check
// Who takes part, as the facilitator's panel shows it: the participants by group, those who have
// not contributed yet first and counted, online or not, their language; and how many drafts wait on
// participants' devices in private writing (a count from their presence, never a text).
import { h, groupShape } from "./util.js";
import { t, fmtNumber } from "./i18n.js";
import { groupName } from "./groups.js";

/**
 * The panel's "Participants" section.
 * @param {import("./board/state.js").BoardState} app
 * @param {any[] | null} participants the list from GET /participants (null until it arrives)
 */
export function participantsSection(app, participants) {
  const groups = app.groups();
  const list = participants || [];
  const online = new Set(app.session.presence().map((p) => p.name));
  const sec = h("section", { class: "panel-sec", "aria-labelledby": "p-people" }, h("h3", { id: "p-people" }, t("panel_participants"), ` (${fmtNumber(list.length)})`));
  if (!list.length) {
    sec.append(h("p", { class: "muted" }, t("panel_nobody")));
    return sec;
  }
  const byGroup = new Map();
  for (const g of groups) byGroup.set(g, []);
  for (const p of list) {
    const g = p.group || "";
    if (!byGroup.has(g)) byGroup.set(g, []);
    byGroup.get(g).push(p);
  }
  for (const [g, people] of byGroup) {
    if (!people.length) continue;
    const quiet = people.filter((p) => !p.notes && !p.votes);
    people.sort((a, b) => (a.notes || 0) + (a.votes || 0) - ((b.notes || 0) + (b.votes || 0)));
    sec.append(
      h(
        "div",
        { class: "people-group" },
        h("h4", null, h("span", { class: "shape", "aria-hidden": "true" }, groupShape(groups, g)), " ", groupName(app.session.settings(), g), ` (${fmtNumber(people.length)})`,
          quiet.length ? h("span", { class: "badge badge-quiet" }, `${t("panel_not_contributed")}: ${fmtNumber(quiet.length)}`) : null),
        h(
          "ul",
          { class: "people" },
          people.map((p) => {
            const isOnline = p.online ?? online.has(p.name);
            const silent = !p.notes && !p.votes;
            return h(
              "li",
              { class: silent ? "is-quiet" : "" },
              h("span", { class: `dot ${isOnline ? "on" : "off"}`, "aria-hidden": "true" }),
              h("span", { class: "sr-only" }, isOnline ? t("panel_online") : t("panel_offline")),
              h("span", { class: "pname" }, p.name),
              p.lang ? h("span", { class: "tag", lang: p.lang }, p.lang.toUpperCase()) : null,
              silent ? h("span", { class: "badge badge-quiet" }, t("panel_not_contributed")) : h("span", { class: "muted" }, `${t("notes_count", { n: p.notes || 0 })}, ${t("results_total", { n: p.votes || 0 })}`),
            );
          }),
        ),
      ),
    );
  }
  return sec;
}

/** Drafts waiting on participants' devices (their presence carries a count, never a text). */
export function draftCounts(session) {
  let drafts = 0;
  let people = 0;
  for (const p of session.presence()) {
    const n = p.role === "participant" && Number.isInteger(p.drafts) && p.drafts > 0 ? p.drafts : 0;
    drafts += n;
    if (n) people += 1;
  }
  return { drafts, people };
}

export function draftsWaiting(session) {
  const { drafts, people } = draftCounts(session);
  return h("p", { class: "drafts-waiting", id: "drafts-waiting", role: "status" }, !drafts ? t("drafts_waiting_none") : people === 1 ? t("drafts_waiting_one_person", { n: drafts }) : t("drafts_waiting", { n: drafts, people }));
}
