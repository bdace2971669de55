// @ts-check
// Home: create a board, or join one with its code.
import { h, clear, api } from "./util.js";
import { store, keys } from "./storage.js";
import { t, LANGS, getLang, langName, onLangChange } from "./i18n.js";
import { langSwitcher, field, errorText } from "./ui.js";

export function renderHome(root) {
  // Keep what was typed across a language switch.
  const state = { title: "", groups: null, langs: new Set(LANGS), budget: 3, code: "" };
  const draw = () => {
    clear(root);
    document.title = t("app_name");
    root.append(homeView(state, draw));
  };
  onLangChange(draw);
  draw();
}

function homeView(state, redraw) {
  const err = h("p", { class: "form-error", role: "alert" });
  const title = h("input", {
    type: "text",
    name: "title",
    required: true,
    maxLength: 120,
    value: state.title,
    placeholder: t("home_title_ph"),
    oninput: (e) => (state.title = e.target.value),
  });
  const groups = h("textarea", {
    name: "groups",
    rows: 5,
    oninput: (e) => (state.groups = e.target.value),
  });
  groups.value = state.groups ?? t("home_groups_default");
  const langBoxes = LANGS.map((code) =>
    h(
      "label",
      { class: "check" },
      h("input", {
        type: "checkbox",
        name: "languages",
        value: code,
        checked: state.langs.has(code),
        onchange: (e) => (e.target.checked ? state.langs.add(code) : state.langs.delete(code)),
      }),
      h("span", { lang: code }, langName(code)),
    ),
  );
  const budget = h("input", {
    type: "number",
    name: "vote_budget",
    min: 1,
    max: 20,
    value: String(state.budget),
    inputMode: "numeric",
    oninput: (e) => (state.budget = Number(e.target.value) || 3),
  });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, t("home_create_btn"));

  const createForm = h(
    "form",
    {
      class: "card",
      noValidate: true, // our own messages, in the interface language
      "aria-labelledby": "create-h",
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = "";
        const titleText = state.title.trim();
        if (!titleText) {
          err.textContent = t("error_title_required");
          title.focus();
          return;
        }
        const groupList = groups.value
          .split("\n")
          .map((g) => g.trim())
          .filter(Boolean);
        const languages = LANGS.filter((c) => state.langs.has(c));
        submit.disabled = true;
        try {
          const board = await api("POST", "/api/boards", {
            body: { title: titleText, groups: groupList, languages: languages.length ? languages : [getLang()] },
          });
          store.set(keys.token(board.id), board.facilitator_token);
          if (board.viewer_token) store.set(keys.viewer(board.id), board.viewer_token);
          if (board.join_code) store.set(keys.joinCode(board.id), board.join_code);
          rememberBoard(board.id, board.title);
          store.set(keys.justCreated, board.id); // the board opens with the panel (QR code) shown
          if (state.budget && state.budget !== 3) {
            try {
              await api("PATCH", `/api/boards/${board.id}/settings`, {
                token: board.facilitator_token,
                body: { vote_budget: state.budget },
              });
            } catch {
              /* the facilitator can still set it from the panel */
            }
          }
          location.assign(`/b/${encodeURIComponent(board.id)}`);
        } catch (ex) {
          err.textContent = errorText(ex);
          submit.disabled = false;
        }
      },
    },
    h("h2", { id: "create-h" }, t("home_create")),
    field(t("home_title_label"), title),
    field(t("home_groups_label"), groups, t("home_groups_help")),
    h("fieldset", { class: "field" }, h("legend", null, t("home_langs_label")), h("div", { class: "checks" }, langBoxes)),
    field(t("home_budget_label"), budget),
    err,
    submit,
  );

  const code = h("input", {
    type: "text",
    name: "code",
    autocomplete: "off",
    autocapitalize: "characters",
    spellcheck: false,
    maxLength: 12,
    placeholder: t("home_code_ph"),
    class: "code-input",
    value: state.code,
    oninput: (e) => (state.code = e.target.value),
  });
  const joinForm = h(
    "form",
    {
      class: "card",
      "aria-labelledby": "join-h",
      onsubmit: (e) => {
        e.preventDefault();
        const c = state.code.trim().replace(/\s+/g, "").toUpperCase();
        if (c) location.assign(`/j/${encodeURIComponent(c)}`);
        else code.focus();
      },
    },
    h("h2", { id: "join-h" }, t("home_join")),
    field(t("home_code_label"), code),
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, t("home_join_btn")),
  );

  const recent = store.get(keys.recent, []);
  return h(
    "div",
    { class: "page" },
    h("header", { class: "page-head" }, h("h1", { class: "brand" }, t("app_name")), langSwitcher()),
    h(
      "main",
      { class: "home" },
      h("p", { class: "tagline" }, t("home_tagline")),
      joinForm,
      createForm,
      recent.length
        ? h(
            "section",
            { class: "card", "aria-labelledby": "recent-h" },
            h("h2", { id: "recent-h" }, t("home_recent")),
            h(
              "ul",
              { class: "recent" },
              recent.map((b) => h("li", null, h("a", { href: `/b/${encodeURIComponent(b.id)}` }, b.title))),
            ),
          )
        : null,
    ),
  );
}

export function rememberBoard(id, title) {
  const list = store.get(keys.recent, []).filter((b) => b.id !== id);
  list.unshift({ id, title });
  store.set(keys.recent, list.slice(0, 8));
}
