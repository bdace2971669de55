// @ts-check
// The printable report (/b/{id}/report, facilitator): the Markdown report of the server
// (GET /export.md?lang=, in the interface language) shown as a document, with the board's picture
// (GET /export.svg). Laid out for A4 by history.css's print rules: "Print -> PDF" gives a clean file.
import { h, fill, store, keys, ApiError } from "./util.js";
import { t, getLang, onLangChange } from "./i18n.js";
import { langSwitcher, errorText } from "./ui.js";
import { ht } from "./history_i18n.js";
import { mediaAccess } from "./media.js";

/** @param {HTMLElement} root @param {string} boardId */
export async function renderReport(root, boardId) {
  if (!document.querySelector("link[data-history-css]")) {
    document.head.append(h("link", { rel: "stylesheet", href: "/history.css", dataset: { historyCss: "1" } }));
  }
  const token = store.get(keys.token(boardId));
  let pictureUrl = null;
  const draw = async () => {
    fill(root, page(boardId, h("p", { class: "loading" }, ht("report_loading"))));
    if (!token) return fill(root, page(boardId, h("p", { role: "alert" }, t("board_no_access"))));
    const base = `/api/boards/${encodeURIComponent(boardId)}`;
    const headers = { Authorization: `Bearer ${token}` };
    try {
      const lang = getLang();
      const [md, svg] = await Promise.all([mediaAccess(boardId, token).then(() => fetch(`${base}/export.md?lang=${lang}`, { headers })), fetch(`${base}/export.svg?lang=${lang}`, { headers })]);
      for (const res of [md, svg]) {
        if (!res.ok) throw new ApiError(res.status, res.status === 403 ? "facilitator_only" : "report");
      }
      const text = await md.text();
      if (pictureUrl) URL.revokeObjectURL(pictureUrl);
      pictureUrl = URL.createObjectURL(new Blob([await svg.arrayBuffer()], { type: "image/svg+xml" }));
      const blocks = markdown(text);
      const title = blocks.find((b) => b.tagName === "H1");
      document.title = `${title ? title.textContent : ht("report_title")} — ${t("app_name")}`;
      const figure = h("figure", { class: "report-figure" }, h("img", { src: pictureUrl, alt: ht("report_picture"), id: "report-picture" }), h("figcaption", null, ht("report_picture")));
      // The picture goes right after the title and date: what the commissioner looks at first.
      const at = Math.min(blocks.length, 2);
      const doc = h("article", { class: "report-doc", id: "report-doc" }, blocks.slice(0, at), figure, blocks.slice(at));
      const download = h("a", { class: "btn", href: "#", id: "report-download" }, ht("report_download"));
      download.addEventListener("click", (ev) => {
        ev.preventDefault();
        const a = h("a", { href: URL.createObjectURL(new Blob([text], { type: "text/markdown" })), download: `cobord-${boardId}.md` });
        a.click();
        setTimeout(() => URL.revokeObjectURL(a.href), 1000);
      });
      const tools = h(
        "div",
        { class: "report-tools" },
        h("button", { type: "button", class: "btn btn-primary", id: "report-print", onclick: () => window.print() }, ht("report_print")),
        download,
        h("a", { class: "btn", href: `/b/${encodeURIComponent(boardId)}` }, ht("report_back")),
      );
      fill(root, page(boardId, tools, doc));
    } catch (e) {
      const status = e instanceof ApiError ? e.status : undefined;
      const text = status === 403 ? ht("report_facilitator_only") : status === 404 ? t("board_not_found") : status === 401 ? t("board_no_access") : errorText(e);
      fill(root, page(boardId, h("p", { role: "alert" }, text)));
    }
  };
  onLangChange(draw);
  await draw();
}

function page(boardId, ...children) {
  return h(
    "div",
    { class: "page" },
    h("header", { class: "page-head" }, h("a", { class: "brand", href: "/" }, t("app_name")), langSwitcher()),
    h("main", { class: "report-page" }, children),
  );
}

/** The server's report uses a small Markdown subset: # headings, "- " and "1. " lists (nested by
 * two or three spaces), paragraphs, backslash escapes, and under a photo note an indented
 * `![caption](link)` shown as the picture. The link is the one the server signed for that picture
 * alone (`?access=`, absolute so the downloaded report works elsewhere); it is loaded from this
 * server only (its path and query, whatever origin it names). Text goes in as text nodes, never as
 * HTML. */
export function markdown(text) {
  const out = [];
  let list = null;
  let sub = null;
  const unescape = (s) => s.replace(/\\([\\`*_[\]<>#|])/g, "$1");
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\s+$/, "");
    let m;
    if (!line) {
      list = sub = null;
    } else if ((m = line.match(/^ {2,3}!\[(.*)\]\(((?:https?:\/\/[^/\s()]+)?\/api\/boards\/[^/\s]+\/media\/[^/\s?#()]+(?:\?access=[\w-]+)?)\)$/)) && list) {
      const link = new URL(m[2], location.origin);
      const src = link.pathname + link.search;
      list.lastChild.append(h("img", { class: "report-photo", src, alt: unescape(m[1]), loading: "lazy" }));
    } else if ((m = line.match(/^(#{1,3}) (.*)$/))) {
      list = sub = null;
      out.push(h(`h${m[1].length}`, null, unescape(m[2])));
    } else if ((m = line.match(/^ {2,3}- (.*)$/)) && list) {
      if (!sub) {
        sub = h("ul");
        list.lastChild.append(sub);
      }
      sub.append(h("li", null, unescape(m[1])));
    } else if ((m = line.match(/^(?:- |(\d+)\. )(.*)$/))) {
      const tag = m[1] ? "OL" : "UL";
      if (!list || list.tagName !== tag) {
        list = h(tag.toLowerCase());
        out.push(list);
      }
      sub = null;
      list.append(h("li", null, unescape(m[2])));
    } else {
      list = sub = null;
      out.push(h("p", null, unescape(line)));
    }
  }
  return out;
}
