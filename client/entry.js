// Entry for static/vendor/yjs.bundle.js — the only third-party code the browser loads.
// Exports: Y (yjs), WebsocketProvider (y-websocket), qrcode (qrcode-generator),
// onPermissionDenied(provider, callback) — replaces the provider's default auth handler
// (which only logs) so the app can resync after the server refuses an edit.
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import * as authProtocol from "y-protocols/auth";
import qrcode from "qrcode-generator";

const MESSAGE_AUTH = 2;

export function onPermissionDenied(provider, callback) {
  provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder, prov) => {
    authProtocol.readAuthMessage(decoder, prov.doc, (_doc, reason) => callback(reason, prov));
  };
}

export { Y, WebsocketProvider, qrcode };
