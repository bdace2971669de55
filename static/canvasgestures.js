// @ts-check
// The canvas's gestures: one finger / mouse drag on the background pans; two fingers pinch-zoom;
// wheel zooms; a note is dragged with the mouse directly, with a finger after a long press (so a
// finger on a note can still pan a crowded board). Dropping a note inside a cluster frame files it
// there, in a free slot (placement.js); a tap opens a note's or a cluster's sheet; arrow keys pan,
// + and - zoom; a note reached with Tab is brought on screen.
import { t } from "./i18n.js";
import { announce } from "./ui.js";
import { shownTitle } from "./translations.js";
import { NOTE_W, NOTE_H } from "./placement.js";

const LONG_PRESS_MS = 350;

export class CanvasGestures {
  /** @param {import("./canvas.js").Canvas} canvas the view they move, whose notes they drag */
  constructor(canvas) {
    this.canvas = canvas;
    /** @type {{target: any, at: number} | null} a tap waiting for the click that follows it */
    this._tap = null;
    this.bind();
  }

  bind() {
    const c = this.canvas;
    const vp = c.viewport;
    const pointers = new Map(); // id -> {x, y}
    let mode = null; // "pan" | "pinch" | "press" | "drag" | "cluster"
    /** @type {any} a pointer's or a pinch's start: two shapes, read field by field below */
    let start = null;
    let pressTimer = 0;
    let drag = null;

    const noteElFrom = (target) => target.closest && target.closest(".note");
    const clusterHeadFrom = (target) => target.closest && target.closest(".cluster-head");

    const beginDrag = (kind, el, id, p) => {
      const s = c.board.session;
      if (kind === "note") {
        const n = s.liveNote(id);
        if (!n) return false;
        drag = { kind, el, id, ox: n.get("x"), oy: n.get("y"), px: p.x, py: p.y, moved: false };
      } else {
        const cl = s.clusterList().find((x) => x.id === id);
        if (!cl) return false;
        const members = s.noteList().filter((n) => n.cluster === id);
        drag = { kind, el, id, ox: cl.x, oy: cl.y, px: p.x, py: p.y, members, moved: false };
      }
      el.classList.add("dragging");
      mode = "drag";
      return true;
    };

    vp.addEventListener("pointerdown", (e) => {
      c.lastInteraction = Date.now();
      if (e.button !== 0 && e.pointerType === "mouse") return;
      pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (pointers.size === 2) {
        clearTimeout(pressTimer);
        if (drag) this.cancelDrag(drag), (drag = null);
        const [a, b] = [...pointers.values()];
        start = { dist: Math.hypot(a.x - b.x, a.y - b.y), mid: { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 }, view: { ...c.view } };
        mode = "pinch";
        return;
      }
      if (pointers.size > 2) return;
      start = { x: e.clientX, y: e.clientY, view: { ...c.view }, target: e.target, pointerType: e.pointerType };
      const noteEl = noteElFrom(e.target);
      const head = clusterHeadFrom(e.target);
      const canEdit = c.board.canEditBoard();
      if (e.target.closest && e.target.closest(".votes, .tr-line, .listen-btn, .note-voice, .gloss-mark")) {
        mode = "tap";
        return;
      }
      if (canEdit && (noteEl || head)) {
        const kind = noteEl ? "note" : "cluster";
        const el = noteEl || head.parentElement;
        const id = el.dataset.id;
        start.drag = { kind, el, id };
        if (e.pointerType === "mouse" || e.pointerType === "pen") {
          mode = "press-mouse";
        } else {
          mode = "press";
          pressTimer = setTimeout(() => {
            if (mode === "press" && beginDrag(kind, el, id, c.toWorld(start.x, start.y))) {
              if (navigator.vibrate) navigator.vibrate(15);
            }
          }, LONG_PRESS_MS);
        }
      } else {
        mode = noteEl || head ? "press" : "pan";
      }
      try {
        vp.setPointerCapture(e.pointerId);
      } catch {
        /* synthetic events */
      }
    });

    vp.addEventListener("pointermove", (e) => {
      if (!pointers.has(e.pointerId)) return;
      pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (mode === "pinch" && pointers.size >= 2) {
        const [a, b] = [...pointers.values()];
        const dist = Math.hypot(a.x - b.x, a.y - b.y);
        const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
        const r = vp.getBoundingClientRect();
        const s = c.scaleWithin(start.view.s * (dist / (start.dist || 1)), start.view.s);
        const k = s / start.view.s;
        const sx = start.mid.x - r.left;
        const sy = start.mid.y - r.top;
        c.view = { s, x: mid.x - r.left - (sx - start.view.x) * k, y: mid.y - r.top - (sy - start.view.y) * k };
        c.scheduleView();
        return;
      }
      if (!start) return;
      const dx = e.clientX - start.x;
      const dy = e.clientY - start.y;
      const far = Math.hypot(dx, dy) > (e.pointerType === "mouse" ? 4 : 10);
      if (mode === "press-mouse" && far) {
        beginDrag(start.drag.kind, start.drag.el, start.drag.id, c.toWorld(start.x, start.y));
      } else if (mode === "press" && far) {
        clearTimeout(pressTimer);
        mode = "pan";
      } else if (mode === "tap" && far) {
        mode = "pan";
      }
      if (mode === "pan") {
        c.view = { ...c.view, x: start.view.x + dx, y: start.view.y + dy };
        c.scheduleView();
      } else if (mode === "drag" && drag) {
        const p = c.toWorld(e.clientX, e.clientY);
        drag.moved = true;
        drag.nx = Math.round(drag.ox + p.x - drag.px);
        drag.ny = Math.round(drag.oy + p.y - drag.py);
        if (drag.kind === "note") {
          drag.el.style.transform = `translate(${drag.nx}px, ${drag.ny}px)`;
          const target = c.place.clusterAt({ x: drag.nx + NOTE_W / 2, y: drag.ny + NOTE_H / 2 });
          for (const [id, el] of c.clusterEls) el.classList.toggle("drop-target", id === target);
        } else {
          const ddx = drag.nx - drag.ox;
          const ddy = drag.ny - drag.oy;
          drag.el.style.translate = `${ddx}px ${ddy}px`;
          for (const n of drag.members) {
            const el = c.noteEls.get(n.id);
            if (el) el.style.translate = `${ddx}px ${ddy}px`;
          }
        }
        this.autoPan(e);
      }
    });

    const end = (e) => {
      if (!pointers.has(e.pointerId)) return;
      pointers.delete(e.pointerId);
      clearTimeout(pressTimer);
      if (mode === "pinch") {
        if (pointers.size === 1) {
          const [p] = [...pointers.values()];
          start = { x: p.x, y: p.y, view: { ...c.view } };
          mode = "pan";
        } else if (pointers.size === 0) mode = null;
        return;
      }
      if (pointers.size > 0) return;
      if (mode === "drag" && drag) {
        if (drag.moved && e.type !== "pointercancel") this.drop(drag);
        else this.cancelDrag(drag);
        drag = null;
      } else if ((mode === "press" || mode === "press-mouse" || (mode === "pan" && start && Math.hypot(e.clientX - start.x, e.clientY - start.y) < 4)) && e.type === "pointerup") {
        // Act on the click that follows, not now: a sheet opened on pointerup would catch that click
        // on its backdrop and close at once (the "ghost click").
        this._tap = { target: start.target, at: Date.now() };
      }
      mode = null;
      start = null;
    };
    vp.addEventListener("pointerup", end);
    vp.addEventListener("pointercancel", end);

    vp.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        c.lastInteraction = Date.now();
        if (e.ctrlKey || !e.deltaX) {
          const factor = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
          c.zoomAt(e.clientX, e.clientY, factor);
        } else {
          c.view = { ...c.view, x: c.view.x - e.deltaX, y: c.view.y - e.deltaY };
          c.scheduleView();
        }
      },
      { passive: false },
    );

    // Keyboard activation of the note / cluster buttons (clicks from the pointer are handled by tap()).
    vp.addEventListener("click", (e) => {
      const pending = this._tap;
      this._tap = null;
      if (pending && Date.now() - pending.at < 1000) this.tap(pending.target);
      else if (e.detail === 0) this.tap(e.target); // keyboard activation of a note / cluster button
    });
    vp.addEventListener("keydown", (e) => {
      if (e.target !== vp) return;
      const step = 60;
      const keysMap = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (keysMap[e.key]) {
        c.view = { ...c.view, x: c.view.x + keysMap[e.key][0], y: c.view.y + keysMap[e.key][1] };
        c.scheduleView();
        e.preventDefault();
      } else if (e.key === "+" || e.key === "=") c.zoomBy(1.25);
      else if (e.key === "-") c.zoomBy(0.8);
    });
    vp.tabIndex = 0;

    // Tab reaches every note, wherever it is: a note focused from the keyboard is brought on
    // screen by panning. (The browser would scroll the clipped viewport instead, out of step with
    // the view: that scroll is taken back.)
    vp.addEventListener("focusin", (e) => {
      const el = /** @type {HTMLElement} */ (e.target);
      const note = el.closest && el.closest(".note");
      if (!note || !el.matches(":focus-visible")) return;
      const n = c.board.session.noteList().find((x) => x.id === /** @type {HTMLElement} */ (note).dataset.id);
      if (n) c.reveal({ x: n.x, y: n.y }, null);
    });
    vp.addEventListener("scroll", () => {
      if (vp.scrollLeft || vp.scrollTop) vp.scrollLeft = vp.scrollTop = 0;
    });
  }

  tap(target) {
    const c = this.canvas;
    if (!target || !target.closest) return;
    if (target.closest(".votes, .tr-line, .listen-btn, .note-voice, .gloss-mark")) return; // these handle their own click (a marked word: its bubble, glossary.js)
    const open = target.closest(".note");
    if (open) return c.ui.openNoteSheet(open.dataset.id);
    const title = target.closest(".cluster-title");
    if (title && !title.disabled) return c.ui.openClusterSheet(title.dataset.clusterId);
  }

  autoPan(e) {
    const c = this.canvas;
    const r = c.viewport.getBoundingClientRect();
    const edge = 40;
    let dx = 0, dy = 0;
    if (e.clientX < r.left + edge) dx = 12;
    else if (e.clientX > r.right - edge) dx = -12;
    if (e.clientY < r.top + edge) dy = 12;
    else if (e.clientY > r.bottom - edge) dy = -12;
    if (dx || dy) {
      c.view = { ...c.view, x: c.view.x + dx, y: c.view.y + dy };
      c.scheduleView();
    }
  }

  cancelDrag(drag) {
    const c = this.canvas;
    drag.el.classList.remove("dragging");
    drag.el.style.translate = "";
    if (drag.kind === "note") c.redrawNext(drag.el);
    if (drag.members) for (const n of drag.members) { const el = c.noteEls.get(n.id); if (el) el.style.translate = ""; }
    for (const el of c.clusterEls.values()) el.classList.remove("drop-target");
    c.render();
  }

  drop(drag) {
    const c = this.canvas;
    const app = c.board;
    const s = app.session;
    for (const el of c.clusterEls.values()) el.classList.remove("drop-target");
    drag.el.classList.remove("dragging");
    if (!app.canEditBoard()) return this.cancelDrag(drag);
    if (drag.kind === "note") {
      const center = { x: drag.nx + NOTE_W / 2, y: drag.ny + NOTE_H / 2 };
      const cluster = c.place.clusterAt(center);
      const before = s.notes.get(drag.id);
      const was = before ? before.get("cluster") || "" : "";
      // Snap to the nearest free slot: a note dropped on another never hides it (no silent stacks).
      // Into a cluster: the next free slot in reading order (tidy); within the same cluster: the free
      // slot nearest the drop point (re-ordering).
      const pos = cluster
        ? c.place.freeSpotInCluster(cluster, drag.id, cluster === was ? center : null)
        : c.place.freeSpotNear(center, drag.id, { visibleFirst: false });
      c.redrawNext(drag.el);
      s.updateNote(drag.id, { x: pos.x, y: pos.y, cluster });
      if (cluster !== was) {
        const into = s.clusterList().find((x) => x.id === cluster);
        announce(t("note_moved_announce", { cluster: into ? shownTitle(into) : t("no_cluster") }));
      }
    } else {
      const ddx = drag.nx - drag.ox;
      const ddy = drag.ny - drag.oy;
      drag.el.style.translate = "";
      for (const n of drag.members) { const el = c.noteEls.get(n.id); if (el) el.style.translate = ""; }
      s.batch(() => {
        s.updateCluster(drag.id, { x: drag.nx, y: drag.ny });
        for (const n of drag.members) s.updateNote(n.id, { x: n.x + ddx, y: n.y + ddy });
      });
    }
  }
}
