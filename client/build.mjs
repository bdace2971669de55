// Build-time only. Bundles the vendored browser libraries into one committed ES module:
//   static/vendor/yjs.bundle.js  exports { Y, WebsocketProvider, qrcode }
// Run: cd client && npm ci && npm run build   (Node is never needed to *serve* Cobord.)
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
await build({
  entryPoints: [path.join(here, "entry.js")],
  outfile: path.join(here, "..", "static", "vendor", "yjs.bundle.js"),
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2020"],
  minify: true,
  legalComments: "eof",
  logLevel: "info",
});
