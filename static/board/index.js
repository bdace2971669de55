// @ts-check
// The board page (/b/{id}): find this device's token, ask the server about the board, then open it
// (board/app.js), or say why not: unknown board, no access, join again.
import { api, ApiError, store, keys } from "../util.js";
import { t } from "../i18n.js";
import { mediaAccess } from "../media.js";
import { adoptFragmentToken } from "../faclink.js";
import { rememberBoard } from "../home.js";
import { exposeForTests } from "../testhook.js";
import { BoardApp } from "./app.js";
import { message } from "./gone.js";

/** @param {HTMLElement} root @param {string} boardId */
export async function renderBoard(root, boardId) {
  const fromLink = adoptFragmentToken(boardId); // the facilitator's private link (#k=...)
  const token = store.get(keys.token(boardId));
  if (!token) {
    // Ask whether the board exists at all: a deleted or mistyped board says so, not "no access".
    try {
      await api("GET", `/api/boards/${encodeURIComponent(boardId)}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return message(root, t("board_not_found"));
    }
    return noAccess(root, boardId);
  }
  let info;
  const media = mediaAccess(boardId, token); // pictures need their cookie before they show
  try {
    info = await api("GET", `/api/boards/${encodeURIComponent(boardId)}`, { token });
  } catch (e) {
    const status = e instanceof ApiError ? e.status : undefined;
    if (status === 404) return message(root, t("board_not_found"));
    if (status === 401 || status === 403) {
      if (fromLink) return message(root, t("board_no_access"));
      store.remove(keys.token(boardId)); // stale: join again rather than loop between /j and /b
      return noAccess(root, boardId);
    }
    // Server unreachable at load: still open the board from what we know; the provider syncs later.
    info = { id: boardId, title: "", groups: [], languages: [], participants: [], settings: {}, you: { role: roleFromToken(token) }, offlineAtLoad: true };
  }
  await media;
  rememberBoard(boardId, info.title || boardId);
  const app = new BoardApp(root, boardId, token, info);
  exposeForTests("__cobord", app.testView());
}

/** Best effort, for display only (the server decides): our tokens carry {"r": role} before the dot. @param {string} token */
function roleFromToken(token) {
  try {
    const payload = JSON.parse(atob(token.split(".")[0].replace(/-/g, "+").replace(/_/g, "/")));
    return ["facilitator", "participant", "viewer"].includes(payload.r) ? payload.r : "participant";
  } catch {
    return "participant";
  }
}

/** @param {HTMLElement} root @param {string} boardId */
function noAccess(root, boardId) {
  const code = store.get(keys.joinCode(boardId));
  if (code) {
    location.replace(`/j/${encodeURIComponent(code)}`);
    return;
  }
  message(root, t("board_no_access"));
}
