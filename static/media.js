// @ts-check
// Photo and voice notes: pick or take a photo (shrunk here to <= 1600 px and <= 400 KB before upload),
// record up to 60 s of voice (MediaRecorder); the server checks the type, strips EXIF and stores them.
import { h } from "./util.js";
import { t } from "./i18n.js";
import { toast } from "./ui.js";
import { canRecordHere } from "./reach.js";
import { shownText } from "./translations.js";

/** Whose pictures: the board's id (the replay keeps it in `boardId`) and a token that may read them.
 * @typedef {{id: string, boardId?: string, token: string}} MediaBoard */

export const MAX_SIDE = 1600;
export const MAX_BYTES = 400 * 1024;
export const MAX_VOICE_MS = 60_000;

/**
 * A picture's or recording's address: no token in it. `<img>` cannot send a header, and whatever is in
 * the URL travels with "copy image address" (a facilitator's token is the whole board). The server
 * lets it through with a cookie it scoped to this board's media and sets for one hour (mediaAccess).
 * @param {MediaBoard} app @param {string} mediaId
 */
export function mediaUrl(app, mediaId) {
  // The replay view names its app `${board}:replay` (its own pan/zoom) and keeps the board in boardId.
  return `/api/boards/${encodeURIComponent(app.boardId || app.id)}/media/${encodeURIComponent(mediaId)}`;
}

const ACCESS_RENEW_MS = 20 * 60 * 1000; // the cookie lasts an hour (server/http/media.py)
/** board id -> when granted (local ms), the request under way, the renewal timer
 * @type {Map<string, {at: number, pending: Promise<boolean> | null, timer: any}>} */
const access = new Map();

/**
 * Ask the server for this board's media cookie (any token of the board), at most once per renewal
 * period unless `force` (a reconnect: the server may have restarted with another key, the device
 * may have slept past the hour). Never throws: offline, the service worker's copies still show.
 * @param {string} boardId @param {string} token @param {boolean} [force]
 * @returns {Promise<boolean>}
 */
export function mediaAccess(boardId, token, force = false) {
  const known = access.get(boardId) || { at: 0, pending: null, timer: 0 };
  if (known.pending) return known.pending;
  if (!force && known.at && Date.now() - known.at < ACCESS_RENEW_MS) return Promise.resolve(true);
  known.pending = fetch(`/api/boards/${encodeURIComponent(boardId)}/media-access`, { method: "POST", headers: { Authorization: `Bearer ${token}` }, credentials: "same-origin" })
    .then(async (res) => {
      await res.text().catch(() => ""); // read to the end: an unread body keeps the request open
      if (res.ok) known.at = Date.now();
      return res.ok;
    })
    .catch(() => false)
    .finally(() => (known.pending = null));
  access.set(boardId, known);
  if (!known.timer) known.timer = setInterval(() => mediaAccess(boardId, token, true), ACCESS_RENEW_MS);
  return known.pending;
}

/** A picture or recording that failed to load (no cookie yet, or it ran out): get one, try once more.
 * @param {MediaBoard} app @param {HTMLMediaElement | HTMLImageElement} el */
function retryWithAccess(app, el) {
  if (el.dataset.retried) return;
  el.dataset.retried = "1";
  mediaAccess(app.boardId || app.id, app.token, true).then((ok) => {
    if (ok) el.src = `${el.src.split("#")[0]}#retry`;
  });
}

/** "0:12" for a voice note's stored length. @param {number} seconds */
export function fmtDuration(seconds) {
  const s = Math.max(1, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The picture or the player of a note, or null for a text note. `label`: the note's name (its
 * caption or "voice note by Sam, 12 s"), so the player is not one of many identical "audio"s.
 * @param {MediaBoard} app @param {any} note @param {string} [label] */
export function mediaView(app, note, label = "") {
  if (!note.media) return null;
  if (note.kind === "photo") {
    // Its caption in the reader's language (as the text beside it).
    return h("img", { class: "note-photo", src: mediaUrl(app, note.media), alt: shownText(note).text || t("photo_no_caption"), loading: "lazy", draggable: false, onerror: (/** @type {Event} */ e) => retryWithAccess(app, /** @type {HTMLImageElement} */ (e.target)) });
  }
  if (note.kind === "voice") {
    const stop = (/** @type {Event} */ e) => e.stopPropagation();
    // A recording from MediaRecorder carries no length in its header (players show 0:00): the
    // length measured while recording is stored in the note and shown beside the player.
    const length = typeof note.duration === "number" ? h("span", { class: "voice-length", "aria-hidden": "true" }, fmtDuration(note.duration)) : null;
    return h("div", { class: "voice-box" },
      h("audio", { class: "note-voice", controls: true, preload: "metadata", src: mediaUrl(app, note.media), "aria-label": label || t("voice_note"), onclick: stop, onpointerdown: stop, onerror: (/** @type {Event} */ e) => retryWithAccess(app, /** @type {HTMLAudioElement} */ (e.target)) }),
      length);
  }
  return null;
}

/** Shrink a picture: longest side <= MAX_SIDE, JPEG <= MAX_BYTES (lower quality, then smaller). @param {Blob} file @returns {Promise<Blob>} */
export async function shrinkImage(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  let scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  for (let attempt = 0; attempt < 8; attempt++) {
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * scale));
    canvas.height = Math.max(1, Math.round(bitmap.height * scale));
    const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    for (const q of [0.85, 0.72, 0.6]) {
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", q));
      if (blob && blob.size <= MAX_BYTES) return blob;
    }
    scale *= 0.75;
  }
  throw new Error(t("photo_too_big"));
}

/** POST the bytes; the server's message on refusal. @param {MediaBoard} app @param {"photo"|"voice"} kind @param {Blob} blob */
export async function uploadMedia(app, kind, blob) {
  const res = await fetch(`/api/boards/${encodeURIComponent(app.id)}/media?kind=${kind}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${app.token}`, "Content-Type": blob.type || "application/octet-stream" },
    body: blob,
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    // The reader's language for the refusals we know (server/media/upload.py's codes), else the server's words.
    const key = `media_err_${body.error}`;
    throw new Error(t(key) !== key ? t(key) : body.message || res.statusText);
  }
  return /** @type {{id: string, kind: string, url: string, seconds?: number}} */ (body);
}

/** The composer's photo/voice controls. `value()` is {kind, media} once an upload is done, else null.
 * @param {MediaBoard} app */
export function mediaPicker(app) {
  /** @type {{kind: string, media: string, duration?: number} | null} */
  let attached = null;
  const preview = h("div", { class: "media-preview", "aria-live": "polite" });
  const status = (/** @type {string} */ text) => { preview.replaceChildren(h("p", { class: "media-status" }, text)); };

  async function attachPhoto(/** @type {Blob} */ file) {
    status(t("photo_uploading"));
    try {
      const small = file.type.startsWith("image/") ? await shrinkImage(file).catch(() => file) : file;
      const up = await uploadMedia(app, "photo", small);
      attached = { kind: "photo", media: up.id };
      preview.replaceChildren(h("img", { class: "note-photo", src: mediaUrl(app, up.id), alt: t("photo_attached") }));
    } catch (e) {
      attached = null;
      status(String(/** @type {Error} */ (e).message || e));
      toast(String(/** @type {Error} */ (e).message || e), "warn");
    }
  }

  const camera = h("input", { type: "file", accept: "image/*", capture: "environment", class: "sr-only", id: "media-camera",
    onchange: (/** @type {Event} */ e) => { const f = /** @type {HTMLInputElement} */ (e.target).files?.[0]; if (f) attachPhoto(f); } });
  const picker = h("input", { type: "file", accept: "image/jpeg,image/png,image/webp", class: "sr-only", id: "media-file",
    onchange: (/** @type {Event} */ e) => { const f = /** @type {HTMLInputElement} */ (e.target).files?.[0]; if (f) attachPhoto(f); } });

  /** @type {MediaRecorder | null} */
  let recorder = null;
  /** @type {any} */
  let stopTimer = null;
  const recBtn = h("button", { type: "button", class: "btn record-btn", "aria-pressed": "false" }, t("voice_record"));
  recBtn.addEventListener("click", async () => {
    if (recorder) { recorder.stop(); return; }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4"].find((m) => MediaRecorder.isTypeSupported(m));
      const rec = new MediaRecorder(stream, type ? { mimeType: type, audioBitsPerSecond: 64000 } : {});
      /** @type {Blob[]} */
      const parts = [];
      // One chunk a second (start(1000)): the button says how long it has recorded so far.
      let seconds = 0;
      const startedAt = performance.now();
      rec.ondataavailable = (e) => {
        if (e.data.size) parts.push(e.data);
        if (rec.state === "recording") {
          seconds += 1;
          recBtn.dataset.seconds = String(seconds);
          status(t("voice_recording_for", { s: seconds }));
        }
      };
      rec.onstop = async () => {
        clearTimeout(stopTimer);
        stream.getTracks().forEach((tr) => tr.stop());
        recorder = null;
        recBtn.textContent = t("voice_record");
        recBtn.setAttribute("aria-pressed", "false");
        status(t("voice_uploading"));
        try {
          const up = await uploadMedia(app, "voice", new Blob(parts, { type: rec.mimeType || type || "audio/webm" }));
          // Its length, measured here (the recording's own header has none).
          const measured = typeof up.seconds === "number" ? up.seconds : (performance.now() - startedAt) / 1000;
          const duration = Math.min(600, Math.round(measured * 10) / 10);
          attached = { kind: "voice", media: up.id, duration };
          preview.replaceChildren(h("audio", { class: "note-voice", controls: true, src: mediaUrl(app, up.id), "aria-label": t("voice_note") }));
        } catch (e) {
          attached = null;
          status(String(/** @type {Error} */ (e).message || e));
        }
      };
      rec.start(1000);
      recorder = rec;
      recBtn.dataset.seconds = "0";
      recBtn.textContent = t("voice_stop");
      recBtn.setAttribute("aria-pressed", "true");
      status(t("voice_recording"));
      stopTimer = setTimeout(() => rec.state !== "inactive" && rec.stop(), MAX_VOICE_MS);
    } catch (e) {
      toast(t("voice_no_mic"), "warn");
    }
  });

  // No microphone in the page without a secure context (plain http on the LAN): the phone's own
  // recorder app, through a file input, records instead; the server checks it like any voice note.
  async function attachRecording(/** @type {File} */ file) {
    status(t("voice_uploading"));
    try {
      const up = await uploadMedia(app, "voice", file);
      attached = { kind: "voice", media: up.id };
      preview.replaceChildren(h("audio", { class: "note-voice", controls: true, src: mediaUrl(app, up.id), "aria-label": t("voice_note") }));
    } catch (e) {
      attached = null;
      status(String(/** @type {Error} */ (e).message || e));
      toast(String(/** @type {Error} */ (e).message || e), "warn");
    }
  }
  const voice = canRecordHere()
    ? [recBtn]
    : [
        h("label", { class: "btn", for: "media-voice-file" }, t("voice_record_app")),
        h("input", { type: "file", accept: "audio/*", capture: "", class: "sr-only", id: "media-voice-file", "aria-describedby": "media-voice-why",
          onchange: (/** @type {Event} */ e) => { const f = /** @type {HTMLInputElement} */ (e.target).files?.[0]; if (f) attachRecording(f); } }),
        h("p", { class: "media-why muted", id: "media-voice-why" }, t("voice_insecure")),
      ];

  const el = h("div", { class: "media-picker" },
    h("label", { class: "btn", for: "media-camera" }, t("photo_take")), camera,
    h("label", { class: "btn", for: "media-file" }, t("photo_choose")), picker,
    ...voice,
    preview,
  );
  el.addEventListener("dragover", (e) => e.preventDefault());
  el.addEventListener("drop", (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files?.[0];
    if (f) attachPhoto(f);
  });
  return { el, value: () => attached, busy: () => recorder !== null };
}
