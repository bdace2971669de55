// Projector view: read-only, large type, high contrast, no controls. Shows how to join while ideas come in,
// the notes by cluster, and the results once they are revealed.
import { h, fill, store, keys, now, groupShape, api } from "./util.js";
import { t, onLangChange, fmtNumber } from "./i18n.js";
import { Session } from "./session.js";
import { resultsView } from "./results.js";
import { qrSvg } from "./panel.js";

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
  try {
    info = await api("GET", `/api/boards/${encodeURIComponent(boardId)}`, { token });
  } catch {
    /* the doc carries what we need */
  }
  let raf = 0;
  const draw = () => {
    raf = 0;
    fill(root, view(session, boardId, info));
  };
  const schedule = () => {
    if (!raf) raf = requestAnimationFrame(draw);
  };
  const session = new Session(boardId, token, { onChange: schedule, onStatus: schedule });
  onLangChange(schedule);
  setInterval(() => {
    const el = document.getElementById("present-timer");
    if (el) el.textContent = timerText(session);
  }, 1000);
  draw();
}

function timerText(session) {
  const timer = session.timer();
  if (!timer || !timer.endsAt) return "";
  const left = Math.max(0, Math.round((timer.endsAt - now()) / 1000));
  return left > 0 ? `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}` : t("timer_done");
}

function view(session, boardId, info) {
  const settings = session.settings();
  const phase = session.phase();
  const title = session.metaValue("title", info.title || "");
  document.title = `${title} — ${t("app_name")}`;
  const notes = session.noteList();
  const clusters = session.clusterList();
  const groups = settings.groups && settings.groups.length ? settings.groups : info.groups || [];
  const results = session.resultsData();
  const revealed = results && (settings.votes_visibility === "revealed" || settings.votes_visibility === "live");
  const code = info.join_code || store.get(keys.joinCode(boardId));

  const head = h(
    "header",
    { class: "present-head" },
    h("h1", null, title),
    h("p", { class: "present-phase" }, t(`phase_${phase}`)),
    h("p", { class: "present-timer", id: "present-timer", role: "timer" }, timerText(session)),
  );

  let body;
  if (revealed && (phase === "results" || phase === "vote")) {
    const titles = new Map(clusters.map((c) => [c.id, c.title]));
    body = resultsView(results.data, { groups, updatedAt: results.updatedAt, big: true, clusterTitle: (id) => titles.get(id) });
  } else {
    const cols = clusters.map((c) => ({ title: c.title || t("cluster_untitled"), notes: notes.filter((n) => n.cluster === c.id) }));
    const known = new Set(clusters.map((c) => c.id));
    const loose = notes.filter((n) => !n.cluster || !known.has(n.cluster));
    if (loose.length || !cols.length) cols.push({ title: clusters.length ? t("no_cluster") : "", notes: loose });
    body = h(
      "div",
      { class: `present-cols${notes.length > 24 ? " dense" : ""}` },
      notes.length
        ? cols.map((c) =>
            h(
              "section",
              { class: `present-col${cols.length === 1 ? " single" : ""}` },
              c.title ? h("h2", null, c.title, h("span", { class: "count" }, ` (${fmtNumber(c.notes.length)})`)) : null,
              h("ul", null, c.notes.map((n) => h("li", { class: `pnote note-${n.color}`, lang: n.lang || undefined }, n.text))),
            ),
          )
        : h("p", { class: "present-waiting" }, t("present_waiting")),
    );
  }
  const join =
    code && (phase === "ideate" || !notes.length)
      ? h(
          "aside",
          { class: "present-join" },
          h("p", null, t("present_scan")),
          h("div", { class: "qr" }, qrSvg(`${location.origin}/j/${encodeURIComponent(code)}`)),
          h("p", null, t("present_or_code", { host: location.host })),
          h("p", { class: "code" }, code),
        )
      : null;
  const people = session.presence().filter((p) => p.role === "participant");
  const counts = new Map();
  for (const p of people) counts.set(p.group || "", (counts.get(p.group || "") || 0) + 1);
  const foot = h(
    "footer",
    { class: "present-foot" },
    [...counts.entries()].map(([g, n]) => h("span", { class: "present-group" }, groupShape(groups, g), " ", g || "—", " ", fmtNumber(n))),
  );
  return h("main", { class: "present" }, head, h("div", { class: "present-body" }, body, join), foot);
}
