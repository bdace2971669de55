// @ts-check
// Facilitator panel: data protection and access (server/http/privacy.py). Revoke a participant's
// access, erase a participant (their name goes everywhere, their ideas stay), a new join code, a new
// facilitator link, delete the board. Each action first says what it will do and asks to confirm.
import { h, api, store, keys } from "./util.js";
import { t } from "./i18n.js";
import { toast, errorText, openSheet, field } from "./ui.js";

const ERASED = "[erased]"; // server/http/replay.py ERASED_NAME

/** The banner text of a board whose socket the server closed (4404: the board was deleted). @param {number} code */
export function closedText(code) {
  return code === 4404 ? t("privacy_board_deleted") : t("board_no_access");
}

/**
 * A confirmation sheet: what will happen, Cancel, and the action. `run` returns false to keep the
 * sheet open (the action failed; the error is shown as a toast).
 * @param {{title: string, text: string, action: string, run: () => Promise<boolean>}} opts
 */
export function confirmAction({ title, text, action, run }) {
  openSheet(title, (close) => {
    const ok = h("button", { type: "button", class: "btn btn-danger", id: "confirm-ok" }, action);
    ok.addEventListener("click", async () => {
      ok.disabled = true;
      if (await run()) close();
      else ok.disabled = false;
    });
    return h(
      "div",
      { class: "confirm" },
      h("p", { id: "confirm-text" }, text),
      h("div", { class: "actions" }, h("button", { type: "button", class: "btn", id: "confirm-cancel", onclick: close }, t("privacy_cancel")), ok),
    );
  });
}

/** The panel's "Data protection and access" section. @param {import("./panel.js").FacilitatorPanel} panel */
export function privacySection(panel) {
  const app = panel.board;
  const base = `/api/boards/${encodeURIComponent(app.id)}`;
  const call = async (method, path, body) => {
    try {
      return (await api(method, base + path, { token: app.token, body })) || {};
    } catch (e) {
      toast(errorText(e), "error");
      return null;
    }
  };
  const people = (panel.participants || []).filter((p) => p.name !== ERASED);
  const sec = h("section", { class: "panel-sec privacy", id: "privacy", "aria-labelledby": "p-privacy" }, h("h3", { id: "p-privacy" }, t("privacy_heading")));

  // One participant: revoke their access, or erase them.
  if (people.length) {
    const pick = h(
      "select",
      { id: "privacy-person", "data-fk": "pv-person" },
      people.map((p) => h("option", { value: p.participant_id, selected: p.participant_id === panel.privacyPick }, p.revoked ? `${p.name} (${t("privacy_revoked_tag")})` : p.name)),
    );
    pick.addEventListener("change", () => (panel.privacyPick = pick.value));
    const chosen = () => people.find((p) => p.participant_id === pick.value) || people[0];
    sec.append(
      field(t("privacy_person"), pick),
      h(
        "div",
        { class: "actions" },
        h("button", {
          type: "button",
          class: "btn btn-small",
          id: "privacy-revoke",
          "data-fk": "pv-revoke",
          onclick: () => {
            const p = chosen();
            confirmAction({
              title: t("privacy_revoke"),
              text: t("privacy_revoke_confirm", { name: p.name }),
              action: t("privacy_revoke"),
              run: async () => {
                if (!(await call("POST", `/participants/${encodeURIComponent(p.participant_id)}/revoke`))) return false;
                toast(t("privacy_revoked", { name: p.name }));
                panel.loadParticipants();
                return true;
              },
            });
          },
        }, t("privacy_revoke")),
        h("button", {
          type: "button",
          class: "btn btn-small btn-danger",
          id: "privacy-erase",
          "data-fk": "pv-erase",
          onclick: () => {
            const p = chosen();
            confirmAction({
              title: t("privacy_erase"),
              text: t("privacy_erase_confirm", { name: p.name }),
              action: t("privacy_erase"),
              run: async () => {
                if (!(await call("DELETE", `/participants/${encodeURIComponent(p.participant_id)}`))) return false;
                toast(t("privacy_erased"));
                panel.privacyPick = null;
                panel.loadParticipants();
                return true;
              },
            });
          },
        }, t("privacy_erase")),
      ),
    );
  } else {
    sec.append(h("p", { class: "muted" }, t("panel_nobody")));
  }

  // Links: a new join code (the old one stops working), a new facilitator link (every older one too).
  sec.append(
    h(
      "div",
      { class: "actions" },
      h("button", {
        type: "button",
        class: "btn btn-small",
        id: "privacy-new-code",
        "data-fk": "pv-code",
        onclick: () =>
          confirmAction({
            title: t("privacy_new_code"),
            text: t("privacy_new_code_confirm"),
            action: t("privacy_new_code"),
            run: async () => {
              const r = await call("POST", "/rotate", { what: "join_code" });
              if (!r || !r.join_code) return false;
              app.info.join_code = r.join_code;
              store.set(keys.joinCode(app.id), r.join_code);
              toast(t("privacy_new_code_done", { code: r.join_code }));
              panel.render(true);
              return true;
            },
          }),
      }, t("privacy_new_code")),
      h("button", {
        type: "button",
        class: "btn btn-small",
        id: "privacy-new-link",
        "data-fk": "pv-link",
        onclick: () =>
          confirmAction({
            title: t("privacy_new_link"),
            text: t("privacy_new_link_confirm"),
            action: t("privacy_new_link"),
            run: async () => {
              const r = await call("POST", "/rotate", { what: "facilitator" });
              if (!r || !r.facilitator_token) return false;
              // Every facilitator socket was closed (this one too): reopen the board with the new link.
              store.set(keys.token(app.id), r.facilitator_token);
              location.reload();
              return true;
            },
          }),
      }, t("privacy_new_link")),
    ),
  );

  // The whole board.
  sec.append(
    h("button", {
      type: "button",
      class: "btn btn-danger btn-block",
      id: "privacy-delete-board",
      "data-fk": "pv-delete",
      onclick: () =>
        confirmAction({
          title: t("privacy_delete_board"),
          text: t("privacy_delete_confirm"),
          action: t("privacy_delete_board"),
          run: async () => {
            if (!(await call("DELETE", ""))) return false;
            for (const key of [keys.token, keys.viewer, keys.joinCode]) store.remove(key(app.id));
            toast(t("privacy_board_deleted"));
            location.assign("/");
            return true;
          },
        }),
    }, t("privacy_delete_board")),
  );
  return sec;
}
