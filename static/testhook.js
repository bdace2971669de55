// @ts-check
// The browser tests (tests/browser/) reach a page's live objects through a window property
// (`window.__cobord`: the board, `__cobordReplay`, `__present`). The product never reads these:
// they exist only on a device that asked for them, as the tests' browser does by setting
// localStorage "cobord:test-hooks" before any page script runs (tests/browser/conftest.py).
import { store, keys } from "./storage.js";

/** @param {string} name @param {any} value */
export function exposeForTests(name, value) {
  if (store.get(keys.testHooks) === true) /** @type {any} */ (window)[name] = value;
}
