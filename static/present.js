// @ts-check
// Projector view: read-only, large type, high contrast, no controls. It always fits the screen: what
// does not fit goes to the next page (arrow keys / Page Up-Down / space, or auto-advance every
// PAGE_SECONDS). Shows how to join while ideas come in, the notes by cluster, then the results.
import { mediaView, mediaAccess } from "./media.js";
import { ideaTitle, noteLabel, shownText } from "./noteview.js";
import { shownTitle } from "./translations.js";
import { h, fill, store, keys, now, groupShape, api } from "./util.js";
import { t, onLangChange, fmtNumber } from "./i18n.js";
import { Session } from "./session.js";
import { resultItems } from "./results.js";
import { groupName } from "./groups.js";
import { qrSvg } from "./qr.js";
import { clientConfig, publicOrigin } from "./reach.js";
import { currentFocus, focusLabel, focusedNotes } from "./follow.js";
import { closedText } from "./privacy.js";
import { exposeForTests } from "./testhook.js";
import { presentView as glossaryView } from "./glossary.js";

const PAGE_SECONDS = 12;
const PAUSE_AFTER_KEY_SECONDS = 60;

export async function renderPresent(root, boardId) {
  // A projector link from the facilitator panel: #v=<viewer token>&c=<join code>. Keep, then hide it.
  if (location.hash.length > 1) {
    const frag = new URLSearchParams(location.hash.slice(1));
    if (frag.get("v")) store.set(keys.viewer(boardId), frag.get("v"));
    if (frag.get("c")) store.set(keys.joinCode(boardId), frag.get("c"));
    history.replaceState(null, "", location.pathname + location.search);
  }
  const token = store.get(keys.viewer(boardId)) || store.get(keys.token(boardId));
  document.body.classList.add("present-mode");
  if (!token) {
    fill(root, h("main", { class: "present" }, h("p", { role: "alert" }, t("board_no_access"))));
    return;
  }
  let info = {};
  const media = mediaAccess(boardId, token);
  try {
    info = await api("GET", `/api/boards/${encodeURIComponent(boardId)}`, { token });
  } catch {
    /* the doc carries what we need */
  }
  const cfg = await clientConfig();
  await media;
  const state = { page: 0, pages: 1, keyAt: 0, sig: "" };
  let raf = 0;
  let gone = false;
  const draw = () => {
    raf = 0;
    if (gone) return;
    const v = view(session, boardId, info, cfg);
    if (v.sig !== state.sig) state.page = 0; // another phase or screen: start at its first page
    state.sig = v.sig;
    fill(root, v.main);
    state.pages = paginate(v.stage, v.items, state);
  };
  const schedule = () => {
    if (!raf) raf = requestAnimationFrame(draw);
  };
  const session = new Session(boardId, token, {
    onChange: schedule,
    onStatus: (status) => {
      if (status === "connected") mediaAccess(boardId, token, true);
      // The board was deleted (4404) or this link no longer opens it (4401): the screen in the
      // room must not go on showing the board as if it were live.
      if (status === "closed" && (session.closeCode === 4404 || session.closeCode === 4401)) {
        session.destroy();
        window.removeEventListener("resize", schedule);
        fill(root, h("main", { class: "present" }, h("p", { role: "alert", class: "present-waiting" }, closedText(session.closeCode))));
        gone = true;
        return;
      }
      schedule();
    },
  });
  onLangChange(schedule);
  window.addEventListener("resize", schedule);
  window.addEventListener("keydown", (e) => {
    const next = ["ArrowRight", "ArrowDown", "PageDown", " "].includes(e.key);
    const prev = ["ArrowLeft", "ArrowUp", "PageUp"].includes(e.key);
    if (!next && !prev) return;
    e.preventDefault();
    state.keyAt = Date.now();
    state.page = (state.page + (next ? 1 : state.pages - 1)) % state.pages;
    draw();
  });
  let lastFlip = Date.now();
  setInterval(() => {
    const el = document.getElementById("present-timer");
    if (el) el.textContent = timerText(session);
    if (state.pages > 1 && Date.now() - state.keyAt > PAUSE_AFTER_KEY_SECONDS * 1000 && Date.now() - lastFlip > PAGE_SECONDS * 1000) {
      lastFlip = Date.now();
      state.page = (state.page + 1) % state.pages;
      draw();
    }
  }, 1000);
  exposeForTests("__present", { session, state, draw });
  draw();
}

function timerText(session) {
  const timer = session.timer();
  if (!timer || !timer.endsAt) return "";
  const left = Math.max(0, Math.round((timer.endsAt - now()) / 1000));
  return left > 0 ? `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}` : t("timer_done");
}

/**
 * Fill `stage` with the items of page `state.page`: items go in order until one would overflow the
 * stage (a page holds at least one item). A page that starts inside a cluster repeats its heading.
 * Returns the number of pages.
 */
function paginate(stage, items, state) {
  if (!items.length) return 1;
  const starts = [];
  let i = 0;
  while (i < items.length && starts.length < 200) {
    starts.push(i);
    i = fillPage(stage, items, i);
  }
  const pages = starts.length;
  if (state.page >= pages) state.page = 0;
  fillPage(stage, items, starts[state.page]);
  const pager = document.getElementById("present-pager");
  if (pager) {
    pager.hidden = pages < 2;
    pager.textContent = t("present_page", { page: state.page + 1, pages });
  }
  return pages;
}

function fillPage(stage, items, from) {
  stage.replaceChildren();
  const limit = stage.clientHeight;
  let i = from;
  const first = items[from];
  if (first.kind === "note" && first.head) stage.append(first.head(true));
  for (; i < items.length; i++) {
    const it = items[i];
    const el = it.el();
    stage.append(el);
    if (stage.scrollHeight > limit + 1 && i > from) {
      el.remove();
      // A heading alone at the bottom of a page moves with its first note.
      const last = stage.lastElementChild;
      if (i - 1 > from && items[i - 1].kind === "head" && last) {
        last.remove();
        return i - 1;
      }
      return i;
    }
  }
  return i;
}

/** A note's picture or player; a picture whose caption is printed right beside it is named
 * "Photo" (its caption read twice in a row otherwise). */
function projectedMedia(boardId, session, n) {
  const el = mediaView({ id: boardId, token: session.token }, n, noteLabel(n));
  if (el instanceof HTMLImageElement && shownText(n).text) {
    el.alt = t("photo_beside_caption");
    el.lang = document.documentElement.lang; // the interface's word, inside a note in its own language
  }
  return el;
}

function view(session, boardId, info, cfg) {
  const settings = session.settings();
  const phase = session.phase();
  const title = session.metaValue("title", info.title || "");
  document.title = `${title} — ${t("app_name")}`;
  const notes = session.noteList();
  const clusters = session.clusterList();
  const groups = settings.groups && settings.groups.length ? settings.groups : info.groups || [];
  const results = session.resultsData();
  const revealed = results && (settings.votes_visibility === "revealed" || settings.votes_visibility === "live");
  // The document's code first: a "new join code" reaches an open projector live and after a reconnect.
  const live = session.metaValue("join_code", "");
  if (live && live !== store.get(keys.joinCode(boardId))) store.set(keys.joinCode(boardId), live);
  const code = live || info.join_code || store.get(keys.joinCode(boardId));

  const head = h(
    "header",
    { class: "present-head" },
    h("h1", { title }, title),
    h("p", { class: "present-pager", id: "present-pager", hidden: true }),
    // A heading (not a paragraph): the results' sections (h3) and the clusters (h2) sit under the step.
    h("h2", { class: "present-phase" }, t(`phase_${phase}`)),
    h("p", { class: "present-timer", id: "present-timer", role: "timer" }, timerText(session)),
  );

  const stage = h("div", { class: "present-stage", id: "present-stage" });
  let items = [];
  let sig;
  const gloss = glossaryView(session); // the facilitator put a term, or the glossary, on the screen
  if (gloss) {
    sig = gloss.sig;
    stage.classList.add("present-gloss");
    items = gloss.items;
  } else if (revealed && (phase === "results" || phase === "vote")) {
    sig = `results|${phase}`;
    stage.classList.add("present-results", "results-big");
    const titles = new Map(clusters.map((c) => [c.id, shownTitle(c)]));
    const byId = new Map(notes.map((n) => [n.id, n]));
    items = resultItems(results.data, { groups, clusterTitle: (id) => titles.get(id), settings: { ...settings, groups }, noteTitle: ideaTitle({ id: boardId, token: session.token }, (id) => byId.get(id)) }).map((el) => ({ kind: el.classList.contains("res-item") ? "item" : "head", el: () => el.cloneNode(true) }));
    if (!items.length) items = [{ kind: "head", el: () => h("p", { class: "present-waiting" }, t("results_none")) }];
  } else {
    // Follow me (follow.js): the projector always shows what the facilitator points at, only that.
    const focus = currentFocus(session);
    const shown = focus ? focusedNotes(focus, notes) : notes;
    sig = focus ? `focus|${focus.seq}` : `notes|${phase}`;
    stage.classList.add("present-notes");
    if (focus) {
      stage.classList.add("present-focus");
      items.push({ kind: "head", el: () => h("h2", { class: "present-cl present-focus-head", id: "present-focus" }, "▶ ", focusLabel(session, focus)) });
    }
    const cols = clusters.map((c) => ({ title: focus && focus.kind === "cluster" ? "" : shownTitle(c), notes: shown.filter((n) => n.cluster === c.id) })).filter((c) => c.notes.length);
    const known = new Set(clusters.map((c) => c.id));
    const loose = shown.filter((n) => !n.cluster || !known.has(n.cluster));
    if (loose.length) cols.push({ title: cols.length ? t("no_cluster") : "", notes: loose });
    for (const c of cols) {
      const headEl = c.title ? (cont = false) => h("h2", { class: "present-cl" }, c.title, h("span", { class: "count" }, ` (${fmtNumber(c.notes.length)})`), cont ? h("span", { class: "count" }, ` — ${t("present_continued")}`) : null) : null;
      if (headEl) items.push({ kind: "head", el: () => headEl() });
      for (const n of c.notes) items.push({ kind: "note", head: headEl, el: () => h("p", { class: `pnote note-${n.color}`, lang: shownText(n).lang || undefined }, projectedMedia(boardId, session, n), h("span", { class: "pnote-text" }, shownText(n).text)) });
    }
    if (!items.length) items = [{ kind: "head", el: () => h("p", { class: "present-waiting" }, t("present_waiting")) }];
  }
  const origin = publicOrigin(cfg);
  const join =
    code && (phase === "ideate" || !notes.length)
      ? h(
          "aside",
          { class: "present-join" },
          h("p", null, t("present_scan")),
          h("div", { class: "qr" }, qrSvg(`${origin}/j/${encodeURIComponent(code)}`)),
          h("p", { class: "present-host" }, t("present_or_code", { host: origin.replace(/^https?:\/\//, "") })),
          h("p", { class: "code", id: "present-code" }, code),
        )
      : null;
  const people = session.presence().filter((p) => p.role === "participant");
  const counts = new Map();
  for (const p of people) counts.set(p.group || "", (counts.get(p.group || "") || 0) + 1);
  const foot = h(
    "footer",
    { class: "present-foot" },
    [...counts.entries()].map(([g, n]) => h("span", { class: "present-group" }, groupShape(groups, g), " ", g ? groupName(settings, g) : "—", " ", fmtNumber(n))),
  );
  return { main: h("main", { class: "present" }, head, h("div", { class: "present-body" }, stage, join), foot), stage, items, sig };
}
