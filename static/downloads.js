// @ts-check
// Download buttons (panel and results view): fetch the export with the Authorization header and save
// the blob — the token never goes into a URL. Formats the server offers; add a line per new export.
import { h } from "./util.js";
import { t, getLang } from "./i18n.js";
import { toast } from "./ui.js";

/** @type {{key: string, path: (lang: string) => string, ext: string}[]} */
export const EXPORTS = [
  { key: "download_report", path: (lang) => `export.md?lang=${lang}`, ext: "md" },
  { key: "download_picture", path: (lang) => `export.svg?lang=${lang}`, ext: "svg" },
  { key: "download_csv", path: (lang) => `export.csv?lang=${lang}`, ext: "csv" },
  { key: "download_json", path: () => "export.json", ext: "json" },
  { key: "download_glossary", path: (lang) => `glossary/export.csv?lang=${lang}`, ext: "glossary.csv" },
];

/** @param {string} header @param {string} fallback */
function fileName(header, fallback) {
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (star) return decodeURIComponent(star[1]);
  const plain = /filename="?([^";]+)"?/i.exec(header);
  return plain ? plain[1] : fallback;
}

/** @param {string} boardId @param {string} token @param {string} path @param {string} fallback */
export async function download(boardId, token, path, fallback) {
  let res;
  try {
    res = await fetch(`/api/boards/${encodeURIComponent(boardId)}/${path}`, { headers: { Authorization: `Bearer ${token}` } });
  } catch {
    toast(t("error_network"), "error");
    return false;
  }
  if (!res.ok) {
    toast(t(res.status === 401 || res.status === 403 ? "error_forbidden" : "download_failed"), "error");
    return false;
  }
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: fileName(res.headers.get("Content-Disposition") || "", fallback), hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return true;
}

/** A row of download buttons. @param {string} boardId @param {string} token @param {string} id */
export function downloadButtons(boardId, token, id) {
  return h(
    "div",
    { class: "actions downloads", id },
    EXPORTS.map((x) =>
      h("button", { type: "button", class: "btn btn-small", "data-fk": `dl:${id}:${x.ext}`, onclick: () => download(boardId, token, x.path(getLang()), `cobord-${boardId}.${x.ext}`) }, "⤓ ", t(x.key)),
    ),
  );
}
