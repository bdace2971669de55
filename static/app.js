// @ts-check
// Entry point: a tiny router on location.pathname. The server serves index.html for
//   /            home (create / join with a code)
//   /j/{code}    join screen (what the QR code opens)
//   /b/{id}      the board (?view=outline for the list view)
//   /b/{id}/present  projector view
//   /b/{id}/replay   replay of the workshop (facilitator, read-only)
//   /b/{id}/report   printable report (facilitator)
import { initLang } from "./i18n.js";
import { registerServiceWorker } from "./offline.js";

const root = /** @type {HTMLElement} */ (document.getElementById("app")); // index.html has it

async function route() {
  initLang();
  const path = location.pathname;
  let m;
  if ((m = path.match(/^\/j\/([^/]+)\/?$/))) {
    const { renderJoin } = await import("./join.js");
    renderJoin(root, decodeURIComponent(m[1]));
  } else if ((m = path.match(/^\/b\/([^/]+)\/present\/?$/))) {
    const { renderPresent } = await import("./present.js");
    renderPresent(root, decodeURIComponent(m[1]));
  } else if ((m = path.match(/^\/b\/([^/]+)\/replay\/?$/))) {
    const { renderReplay } = await import("./replay.js");
    renderReplay(root, decodeURIComponent(m[1]));
  } else if ((m = path.match(/^\/b\/([^/]+)\/report\/?$/))) {
    const { renderReport } = await import("./report.js");
    renderReport(root, decodeURIComponent(m[1]));
  } else if ((m = path.match(/^\/b\/([^/]+)\/?$/))) {
    const { renderBoard } = await import("./board/index.js");
    renderBoard(root, decodeURIComponent(m[1]));
  } else {
    const { renderHome } = await import("./home.js");
    renderHome(root);
  }
}

route();
registerServiceWorker(); // a board opened once opens again offline (sw.js)
