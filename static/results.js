// @ts-check
// Results: consensus ranking with per-group bars; divisive ideas shown apart (dissent stays visible).
import { h, groupShape } from "./util.js";
import { t, fmtPercent, fmtTime } from "./i18n.js";
import { groupName } from "./groups.js";

/**
 * data: {groups: {name: {participants, voters}}, notes: [{note_id, text, cluster, total, against, by_group, consensus, divisive}],
 *        clusters: [{cluster_id, title, ...same}], disagree_marks}  (server order = consensus ranking)
 * by_group[g] = {dots, voters, against, share}; share is null for a group with no voters, consensus null if no group voted.
 * Every share is said with its counts ("chosen by 4 of 5"), the group sizes are shown, and a group with no voters
 * reads "no votes from this group" (never 0 %). The same sentences as the server's report (crdt/report/sentences.py).
 */
/** @param {any} data @param {{groups?: string[], updatedAt?: number | null, big?: boolean, clusterTitle?: (id: string) => any, settings?: any, noteTitle?: (n: any) => any}} [opts] */
export function resultsView(data, { groups = [], updatedAt = null, big = false, clusterTitle = (_id) => "", settings = null, noteTitle = (n) => n.text } = {}) {
  const label = (g) => groupName(settings || { groups }, g);
  if (!data || !Array.isArray(data.notes) || data.notes.every((n) => !n.total && !n.against)) {
    return h("section", { class: "results", "aria-labelledby": "res-h" }, h("h2", { id: "res-h" }, t("results_heading")), h("p", null, t("results_none")));
  }
  const groupNames = orderedGroups(data, groups);
  const voted = data.notes.filter((n) => n.total > 0 || n.against > 0);
  const consensus = voted.filter((n) => !n.divisive);
  const divisive = voted.filter((n) => n.divisive);
  const clusters = (data.clusters || []).filter((c) => c.total > 0 || c.against > 0);
  return h(
    "section",
    { class: `results${big ? " results-big" : ""}`, "aria-labelledby": "res-h" },
    h("h2", { id: "res-h" }, t("results_heading")),
    updatedAt ? h("p", { class: "muted" }, t("results_updated", { time: fmtTime(updatedAt) })) : null,
    whoVoted(data, groupNames, groups, label),
    h(
      "section",
      { class: "res-block", "aria-labelledby": "res-cons-h" },
      h("h3", { id: "res-cons-h" }, t("results_consensus")),
      h("p", { class: "help" }, t("res_consensus_help")),
      h("ol", { class: "res-list" }, consensus.map((n) => resultItem(n, noteTitle(n), groupNames, groups, "li", label, data))),
    ),
    divisive.length
      ? h(
          "section",
          { class: "res-block res-divisive", "aria-labelledby": "res-div-h" },
          h("h3", { id: "res-div-h" }, t("results_divisive")),
          h("p", { class: "help" }, t("res_divisive_help")),
          h("ul", { class: "res-list" }, divisive.map((n) => resultItem(n, noteTitle(n), groupNames, groups, "li", label, data))),
        )
      : null,
    clusters.length
      ? h(
          "section",
          { class: "res-block", "aria-labelledby": "res-cl-h" },
          h("h3", { id: "res-cl-h" }, t("results_clusters")),
          h("ol", { class: "res-list" }, clusters.map((c) => resultItem(c, clusterTitle(c.cluster_id) || c.title || t("cluster_untitled"), groupNames, groups, "li", label, data))),
        )
      : null,
  );
}

/**
 * The same content as a flat list of elements, for the projector's pages: section headings and
 * explanations, then one block per idea (class "res-item"), in ranking order.
 */
export function resultItems(data, { groups = [], clusterTitle = (_id) => "", settings = null, noteTitle = (n) => n.text } = {}) {
  const label = (g) => groupName(settings || { groups }, g);
  if (!data || !Array.isArray(data.notes) || data.notes.every((n) => !n.total && !n.against)) return [];
  const groupNames = orderedGroups(data, groups);
  const voted = data.notes.filter((n) => n.total > 0 || n.against > 0);
  const out = [];
  const section = (title, help, list, cls, name) => {
    if (!list.length) return;
    out.push(h("h3", { class: `res-section ${cls}` }, title));
    if (help) out.push(h("p", { class: "help" }, help));
    for (const n of list) out.push(resultItem(n, name(n), groupNames, groups, "div", label, data));
  };
  const who = whoVoted(data, groupNames, groups, label);
  if (who) out.push(who);
  section(t("results_consensus"), t("res_consensus_help"), voted.filter((n) => !n.divisive), "", noteTitle);
  section(t("results_divisive"), t("res_divisive_help"), voted.filter((n) => n.divisive), "res-section-divisive", noteTitle);
  section(t("results_clusters"), "", (data.clusters || []).filter((c) => c.total > 0 || c.against > 0), "", (c) => clusterTitle(c.cluster_id) || c.title || t("cluster_untitled"));
  return out;
}

function orderedGroups(data, groups) {
  const names = Object.keys(data.groups || {});
  const known = groups.filter((g) => names.includes(g));
  return known.concat(names.filter((g) => !known.includes(g)));
}

/** "Who voted": each group's size and how many of it voted, so every "4 of 5" below can be checked. */
function whoVoted(data, groupNames, groups, label) {
  const summaries = data.groups || {};
  if (!groupNames.length) return null;
  return h(
    "section",
    { class: "res-block res-who", "aria-labelledby": "res-who-h" },
    h("h3", { id: "res-who-h" }, t("res_groups_heading")),
    h(
      "ul",
      { class: "res-who-list" },
      groupNames.map((g) => {
        const s = summaries[g] || { participants: 0, voters: 0 };
        const people = t("res_people", { n: s.participants || 0 });
        return h(
          "li",
          { class: `res-who-row${s.voters ? "" : " is-silent"}`, "data-group": g },
          h("span", { class: "shape", "aria-hidden": "true" }, groupShape(groups, g)),
          " ",
          s.voters ? t("res_group_size", { group: label(g), people, voted: t("res_voted", { n: s.voters }) }) : t("res_group_silent", { group: label(g), people }),
        );
      }),
    ),
  );
}

/** The consensus in plain words, over the groups that voted only. */
export function consensusWords(item, data) {
  const voting = Object.values((data && data.groups) || {}).filter((s) => s && s.voters > 0).length;
  const c = item.consensus;
  if (c === null || c === undefined || !voting) return t("res_consensus_nobody");
  if (c <= 0) return t("res_consensus_zero");
  if (voting === 1) return t("res_consensus_single", { pct: fmtPercent(c) });
  return t("res_consensus_many", { pct: fmtPercent(c), n: voting });
}

/** One group on one idea: "Residents: chosen by 4 of 5, 2 of 5 disagree" or "Officials: no votes from this group". */
export function groupWords(groupLabel, tally, groupVoters, marks) {
  if (!groupVoters) return t("res_silent", { group: groupLabel });
  let words = t("res_chosen_by", { group: groupLabel, n: tally.voters || 0, m: groupVoters });
  if (marks && tally.against) words += `, ${t("res_against", { n: tally.against, m: groupVoters })}`;
  return words;
}

/** @param {any} item @param {string} title @param {string[]} groupNames @param {string[]} groups @param {string} [tag] @param {(g: string) => string} [label] @param {any} [data] */
function resultItem(item, title, groupNames, groups, tag = "li", label = (g) => g || t("join_no_group"), data = null) {
  const by = item.by_group || {};
  const summaries = (data && data.groups) || {};
  const marks = Boolean(data && data.disagree_marks);
  return h(
    tag,
    { class: `res-item${item.divisive ? " is-divisive" : ""}` },
    h(
      "div",
      { class: "res-title" },
      h("span", { class: "res-text" }, title),
      h("span", { class: "res-total" }, t("results_total", { n: item.total || 0 })),
      marks && item.against ? h("span", { class: "res-against" }, t("res_against_total", { n: item.against })) : null,
      // Plain words, not "consensus 40 %": the weakest voting group's share, said as what it means.
      h("span", { class: "res-score" }, consensusWords(item, data)),
    ),
    h(
      "ul",
      { class: "bars" },
      groupNames.map((g) => {
        const s = by[g] || { dots: 0, voters: 0, against: 0, share: null };
        const groupVoters = (summaries[g] && summaries[g].voters) || 0;
        const silent = !groupVoters || s.share === null || s.share === undefined;
        const pct = silent ? 0 : Math.max(0, Math.min(1, s.share || 0));
        const words = groupWords(label(g), s, groupVoters, marks);
        return h(
          "li",
          { class: `bar-row${silent ? " is-silent" : ""}` },
          h("span", { class: "bar-label" }, h("span", { class: "shape", "aria-hidden": "true" }, groupShape(groups, g)), " ", label(g)),
          h(
            "span",
            { class: "bar", role: "img", "aria-label": words },
            h("span", { class: "bar-fill", style: { width: `${(pct * 100).toFixed(1)}%` } }),
          ),
          h("span", { class: "bar-value", "aria-hidden": "true" }, silent ? "—" : fmtPercent(pct)),
          h("span", { class: "bar-words", "aria-hidden": "true" }, words),
        );
      }),
    ),
  );
}
