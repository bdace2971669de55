// @ts-check
// Join: what the QR code / share link opens. One screen: name, group, language -> board.
import { h, clear, api, ApiError, store, keys, groupShape } from "./util.js";
import { t, LANGS, getLang, setLang, langName, onLangChange } from "./i18n.js";
import { langSwitcher, field, errorText } from "./ui.js";
import { rememberBoard } from "./home.js";
import { groupName } from "./groups.js";
import { initEasyRead, listenScreenButton, readPage, easyReadToggle } from "./listen.js";

/** @param {HTMLElement} root @param {string} code the join code of the link */
export async function renderJoin(root, code) {
  /** @type {{info: any, error: string | null, formError: any, name: string, group: string | null, busy: boolean}} (info: GET /api/join/{code}; formError: a function giving the form's message in the current language) */
  const state = { info: null, error: null, formError: null, name: store.get("cobord:name", ""), group: null, busy: false };
  // A redraw (the language changed: arrow keys on the language radios change it at once) keeps
  // the focus on the same control and the form's message (said again in the new language).
  const draw = () => {
    const active = document.activeElement;
    const at = active instanceof HTMLInputElement && root.contains(active) ? { name: active.name, value: active.type === "radio" ? active.value : null } : null;
    clear(root);
    root.append(joinView(state, code, draw));
    if (at) {
      const sel = at.value === null ? `input[name="${CSS.escape(at.name)}"]` : `input[name="${CSS.escape(at.name)}"][value="${CSS.escape(at.value)}"]`;
      const again = root.querySelector(sel);
      if (again instanceof HTMLElement) again.focus();
    }
  };
  initEasyRead();
  onLangChange(draw);
  draw();
  try {
    state.info = await api("GET", `/api/join/${encodeURIComponent(code)}`);
    // Already joined this board on this device: straight to the board.
    if (store.get(keys.token(state.info.board_id))) {
      location.replace(`/b/${encodeURIComponent(state.info.board_id)}`);
      return;
    }
    // Offer only the board's languages; keep the interface language if it is one of them.
    const langs = state.info.languages && state.info.languages.length ? state.info.languages : LANGS;
    if (!langs.includes(getLang())) setLang(langs[0]);
    // While the person types their name, fetch the board's code so the board opens at once.
    setTimeout(() => import("./board/index.js").catch(() => {}), 0);
  } catch (e) {
    state.error = e instanceof ApiError && e.status === 404 ? t("join_unknown_code") : errorText(e);
  }
  draw();
}

function joinView(state, code, redraw) {
  const info = state.info;
  document.title = info ? `${info.title} — ${t("app_name")}` : t("app_name");
  // One language picker: once the board is known, the form's "Your language" is the only one.
  const head = h(
    "header",
    { class: "page-head" },
    h("a", { class: "brand", href: "/" }, t("app_name")),
    info ? null : langSwitcher(),
    // Read aloud: the title, each question and its help, and any message.
    listenScreenButton(() => readPage(/** @type {HTMLElement} */ (document.querySelector("main.join") || document.body))),
    easyReadToggle(redraw),
  );
  if (!info) {
    return h(
      "div",
      { class: "page" },
      head,
      h(
        "main",
        { class: "join" },
        state.error
          ? h(
              "form",
              {
                class: "card",
                onsubmit: (e) => {
                  e.preventDefault();
                  const c = e.target.elements.code.value.trim().replace(/\s+/g, "").toUpperCase();
                  if (c) location.assign(`/j/${encodeURIComponent(c)}`);
                },
              },
              h("h1", null, code),
              h("p", { role: "alert" }, state.error),
              field(t("home_code_label"), h("input", { type: "text", name: "code", class: "code-input", autocomplete: "off", autocapitalize: "characters", spellcheck: false, maxLength: 12, placeholder: t("home_code_ph") })),
              h("div", { class: "actions" }, h("a", { class: "btn", href: "/" }, t("back_home")), h("button", { type: "submit", class: "btn btn-primary" }, t("home_join_btn"))),
            )
          : h("p", { class: "loading" }, t("loading")),
      ),
    );
  }
  const err = h("p", { class: "form-error", role: "alert" }, state.formError ? state.formError() : "");
  const say = (/** @type {(() => string) | null} */ message) => {
    state.formError = message;
    err.textContent = message ? message() : "";
  };
  const name = h("input", {
    type: "text",
    name: "name",
    autocomplete: "nickname",
    maxLength: 40,
    required: true,
    value: state.name,
    oninput: (e) => (state.name = e.target.value),
  });
  const groups = info.groups || [];
  // Each group in the reader's language; "I'd rather not say" (no group) when the facilitator allows it.
  const choices = groups.map((g) => ({ value: g, label: groupName(info, g), shape: groupShape(groups, g) }));
  if (info.group_optional) choices.push({ value: "", label: t("join_no_say"), shape: "○" });
  const groupField = groups.length
    ? h(
        "fieldset",
        { class: "field" },
        h("legend", null, t("join_group_label")),
        h(
          "div",
          { class: "choices" },
          choices.map((c) =>
            h(
              "label",
              { class: "choice" },
              h("input", {
                type: "radio",
                name: "group",
                value: c.value,
                checked: state.group === c.value,
                onchange: () => (state.group = c.value),
              }),
              h("span", { class: "shape", "aria-hidden": "true" }, c.shape),
              h("span", null, c.label),
            ),
          ),
        ),
      )
    : null;
  const langs = info.languages && info.languages.length ? info.languages : LANGS;
  const langField = h(
    "fieldset",
    { class: "field" },
    h("legend", null, t("join_lang_label")),
    h(
      "div",
      { class: "choices choices-row" },
      langs.map((code) =>
        h(
          "label",
          { class: "choice", lang: code },
          h("input", { type: "radio", name: "lang", value: code, checked: getLang() === code, onchange: () => setLang(code) }),
          h("span", null, langName(code)),
        ),
      ),
    ),
  );
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block btn-big", disabled: state.busy }, t("join_btn"));
  const form = h(
    "form",
    {
      class: "card",
      noValidate: true, // our own messages, in the interface language
      onsubmit: async (e) => {
        e.preventDefault();
        say(null);
        const n = state.name.trim();
        if (!n) {
          say(() => t("join_name_required"));
          name.focus();
          return;
        }
        if (groups.length && state.group === null) {
          say(() => t("join_group_required"));
          const first = form.querySelector('input[name="group"]');
          if (first instanceof HTMLElement) first.focus();
          return;
        }
        state.busy = true;
        submit.disabled = true;
        try {
          const body = { code, name: n, lang: getLang() };
          if (state.group) body.group = state.group;
          const res = await api("POST", "/api/join", { body });
          store.set(keys.token(res.board_id), res.token);
          store.set(keys.joinCode(res.board_id), code);
          if (state.group) store.set(`cobord:group:${res.board_id}`, state.group);
          store.set("cobord:name", n);
          rememberBoard(res.board_id, info.title);
          location.assign(`/b/${encodeURIComponent(res.board_id)}`);
        } catch (ex) {
          state.busy = false;
          submit.disabled = false;
          say(() => (ex instanceof ApiError && ex.status === 404 ? t("join_unknown_code") : errorText(ex)));
        }
      },
    },
    h("h1", null, t("join_heading", { title: info.title })),
    field(t("join_name_label"), name, t("join_name_help")),
    groupField,
    langField,
    err,
    submit,
  );
  return h("div", { class: "page" }, head, h("main", { class: "join" }, form));
}
