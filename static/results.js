// @ts-check
// Results: consensus ranking with per-group bars; divisive ideas shown apart (dissent stays visible).
import { h, groupShape } from "./util.js";
import { t, fmtPercent, fmtTime } from "./i18n.js";
import { groupName } from "./groups.js";

/**
 * data: {groups: {name: {participants, voters}}, notes: [{note_id, text, cluster, total, by_group, consensus, divisive}],
 *        clusters: [{cluster_id, title, ...same}]}  (server order = consensus ranking)
 */
export function resultsView(data, { groups = [], updatedAt = null, big = false, clusterTitle = (_id) => "", settings = null, noteTitle = (n) => n.text } = {}) {
  const label = (g) => groupName(settings || { groups }, g);
  if (!data || !Array.isArray(data.notes) || data.notes.every((n) => !n.total)) {
    return h("section", { class: "results", "aria-labelledby": "res-h" }, h("h2", { id: "res-h" }, t("results_heading")), h("p", null, t("results_none")));
  }
  const groupNames = orderedGroups(data, groups);
  const voted = data.notes.filter((n) => n.total > 0);
  const consensus = voted.filter((n) => !n.divisive);
  const divisive = voted.filter((n) => n.divisive);
  const clusters = (data.clusters || []).filter((c) => c.total > 0);
  return h(
    "section",
    { class: `results${big ? " results-big" : ""}`, "aria-labelledby": "res-h" },
    h("h2", { id: "res-h" }, t("results_heading")),
    updatedAt ? h("p", { class: "muted" }, t("results_updated", { time: fmtTime(updatedAt) })) : null,
    h(
      "section",
      { class: "res-block", "aria-labelledby": "res-cons-h" },
      h("h3", { id: "res-cons-h" }, t("results_consensus")),
      h("p", { class: "help" }, t("results_consensus_help")),
      h("ol", { class: "res-list" }, consensus.map((n) => resultItem(n, noteTitle(n), groupNames, groups, "li", label))),
    ),
    divisive.length
      ? h(
          "section",
          { class: "res-block res-divisive", "aria-labelledby": "res-div-h" },
          h("h3", { id: "res-div-h" }, t("results_divisive")),
          h("p", { class: "help" }, t("results_divisive_help")),
          h("ul", { class: "res-list" }, divisive.map((n) => resultItem(n, noteTitle(n), groupNames, groups, "li", label))),
        )
      : null,
    clusters.length
      ? h(
          "section",
          { class: "res-block", "aria-labelledby": "res-cl-h" },
          h("h3", { id: "res-cl-h" }, t("results_clusters")),
          h("ol", { class: "res-list" }, clusters.map((c) => resultItem(c, clusterTitle(c.cluster_id) || c.title || t("cluster_untitled"), groupNames, groups, "li", label))),
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
  if (!data || !Array.isArray(data.notes) || data.notes.every((n) => !n.total)) return [];
  const groupNames = orderedGroups(data, groups);
  const voted = data.notes.filter((n) => n.total > 0);
  const out = [];
  const section = (title, help, list, cls, name) => {
    if (!list.length) return;
    out.push(h("h3", { class: `res-section ${cls}` }, title));
    if (help) out.push(h("p", { class: "help" }, help));
    for (const n of list) out.push(resultItem(n, name(n), groupNames, groups, "div", label));
  };
  section(t("results_consensus"), t("results_consensus_help"), voted.filter((n) => !n.divisive), "", noteTitle);
  section(t("results_divisive"), t("results_divisive_help"), voted.filter((n) => n.divisive), "res-section-divisive", noteTitle);
  section(t("results_clusters"), "", (data.clusters || []).filter((c) => c.total > 0), "", (c) => clusterTitle(c.cluster_id) || c.title || t("cluster_untitled"));
  return out;
}

function orderedGroups(data, groups) {
  const names = Object.keys(data.groups || {});
  const known = groups.filter((g) => names.includes(g));
  return known.concat(names.filter((g) => !known.includes(g)));
}

function resultItem(item, title, groupNames, groups, tag = "li", label = (g) => g || t("join_no_group")) {
  const by = item.by_group || {};
  return h(
    tag,
    { class: `res-item${item.divisive ? " is-divisive" : ""}` },
    h(
      "div",
      { class: "res-title" },
      h("span", { class: "res-text" }, title),
      h("span", { class: "res-total" }, t("results_total", { n: item.total || 0 })),
      // Plain words, not "consensus 40 %": the weakest group's share, said as what it means.
      h("span", { class: "res-score" }, item.consensus > 0 ? t("results_score", { pct: fmtPercent(item.consensus) }) : t("results_score_none")),
    ),
    h(
      "ul",
      { class: "bars" },
      groupNames.map((g) => {
        const s = by[g] || { dots: 0, voters: 0, share: 0 };
        const pct = Math.max(0, Math.min(1, s.share || 0));
        return h(
          "li",
          { class: "bar-row" },
          h("span", { class: "bar-label" }, h("span", { class: "shape", "aria-hidden": "true" }, groupShape(groups, g)), " ", label(g)),
          h(
            "span",
            { class: "bar", role: "img", "aria-label": t("results_group_bar", { group: label(g), dots: s.dots || 0, voters: s.voters || 0, pct: fmtPercent(pct) }) },
            h("span", { class: "bar-fill", style: { width: `${(pct * 100).toFixed(1)}%` } }),
          ),
          h("span", { class: "bar-value", "aria-hidden": "true" }, fmtPercent(pct)),
        );
      }),
    ),
  );
}
