// @ts-check
// How a group reads: the facilitator's label in the reader's language, else the group itself. The
// group string in settings.groups is the group's stable id (stored with each participant, keys of
// the results), so relabelling never moves anyone's dots.
import { h } from "./util.js";
import { t, getLang, langName, isEasyRead, plainWords } from "./i18n.js";

/** @param {any} settings @param {string} group */
export function groupName(settings, group) {
  if (!group) return settings && settings.groups && settings.groups.length && settings.group_optional ? t("group_not_said") : t("join_no_group");
  const labels = settings && settings.group_labels && settings.group_labels[group];
  const label = labels && labels[getLang()];
  const name = typeof label === "string" && label.trim() ? label : group;
  return isEasyRead() ? plainWords(name) : name;
}

/**
 * The facilitator's "Groups" section: a label per board language for each group, and whether
 * joining offers "I'd rather not say". `save(patch)` PATCHes the settings.
 * `current()` reads the settings at the time of a change (another label may have been saved since).
 * @param {any} settings @param {string[]} languages @param {(patch: any) => any} save
 * @param {() => any} [current]
 */
export function groupSettingsSection(settings, languages, save, current = () => settings) {
  const groups = settings.groups || [];
  const labels = settings.group_labels || {};
  const sec = h("section", { class: "panel-sec", "aria-labelledby": "p-groups" }, h("h3", { id: "p-groups" }, t("groups_heading")));
  if (!groups.length) {
    sec.append(h("p", { class: "muted" }, t("groups_none")));
    return sec;
  }
  sec.append(h("p", { class: "help" }, t("groups_labels_help")));
  groups.forEach((/** @type {string} */ g, /** @type {number} */ i) => {
    const row = h("fieldset", { class: "group-labels" }, h("legend", null, g));
    for (const lang of languages) {
      const id = `gl-${i}-${lang}`;
      const value = (labels[g] && labels[g][lang]) || "";
      row.append(
        h(
          "div",
          { class: "group-label-field" },
          h("label", { for: id }, langName(lang)),
          h("input", {
            type: "text",
            id,
            lang,
            maxLength: 60,
            value,
            placeholder: g,
            "data-fk": id,
            "data-group": g,
            "data-lang": lang,
            onchange: (/** @type {Event} */ e) => {
              const input = /** @type {HTMLInputElement} */ (e.target);
              const next = JSON.parse(JSON.stringify(current().group_labels || {}));
              const typed = input.value.trim();
              next[g] = { ...(next[g] || {}) };
              if (typed) next[g][lang] = typed;
              else delete next[g][lang];
              if (!Object.keys(next[g]).length) delete next[g];
              save({ group_labels: next });
            },
          }),
        ),
      );
    }
    sec.append(row);
  });
  sec.append(
    h(
      "label",
      { class: "switch" },
      h("input", { type: "checkbox", role: "switch", "data-fk": "sw:group_optional", checked: !!settings.group_optional, onchange: (/** @type {Event} */ e) => save({ group_optional: /** @type {HTMLInputElement} */ (e.target).checked }) }),
      h("span", null, t("groups_optional")),
    ),
  );
  return sec;
}
