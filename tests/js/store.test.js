// Active projects are a person's: each owner has their own storage entry, nobody's is read while nobody is
// signed in, and none mode keeps the entry it always had.

import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import {
  activeStorageKey,
  addActive,
  forgetUrlActive,
  loadActive,
  removeActive,
  useOwner,
} from "../../src/framecast/web/static/js/store.js";

/** A browser's storage, address bar and history, just enough for store.js. */
class FakeStorage {
  constructor() {
    /** @type {Map<string, string>} */
    this.items = new Map();
  }
  /** @param {string} k */
  getItem(k) {
    return this.items.get(k) ?? null;
  }
  /** @param {string} k @param {string} v */
  setItem(k, v) {
    this.items.set(k, String(v));
  }
}

/** @type {FakeStorage} */
let storage;
/** @param {string} url */
function browserAt(url) {
  storage = new FakeStorage();
  const g = /** @type {any} */ (globalThis);
  g.localStorage = storage;
  g.location = new URL(url);
  g.history = {
    state: null,
    /** @param {unknown} _s @param {string} _t @param {URL | string} next */
    replaceState(_s, _t, next) {
      g.location = new URL(String(next));
    },
  };
}

const urlProjects = () => new URLSearchParams(/** @type {any} */ (globalThis).location.search).get("projects");

describe("activeStorageKey", () => {
  test("none mode: the entry of old; keys and proxy: one per owner; nobody: none", () => {
    assert.equal(activeStorageKey("none", "local"), "framecast.activeProjects");
    assert.equal(activeStorageKey("none", null), "framecast.activeProjects");
    assert.equal(activeStorageKey("keys", "ana"), "framecast.activeProjects.ana");
    assert.equal(activeStorageKey("proxy", "ana@example.org"), "framecast.activeProjects.ana@example.org");
    assert.equal(activeStorageKey("keys", null), null);
    assert.equal(activeStorageKey(null, null), null);
  });
});

describe("per-owner active projects", () => {
  beforeEach(() => browserAt("http://127.0.0.1:8000/tools/video-generator"));

  test("ana's projects are hers: bob, signed in next, does not get them", () => {
    useOwner("keys", "ana");
    addActive("prj_a1");
    addActive("prj_a2");
    assert.deepEqual(loadActive(), ["prj_a2", "prj_a1"]);
    forgetUrlActive(); // ana signs out
    useOwner("keys", null);
    assert.deepEqual(loadActive(), []);
    useOwner("keys", "bob");
    assert.deepEqual(loadActive(), []);
    addActive("prj_b1");
    assert.deepEqual(loadActive(), ["prj_b1"]);
    useOwner("keys", "ana"); // ana is back: hers are still there
    forgetUrlActive();
    assert.deepEqual(loadActive(), ["prj_a2", "prj_a1"]);
    assert.deepEqual(JSON.parse(storage.getItem("framecast.activeProjects.bob") ?? "[]"), ["prj_b1"]);
  });

  test("while nobody is signed in nothing is written to storage (the URL still carries the id)", () => {
    useOwner("keys", null);
    addActive("prj_x");
    assert.equal(storage.items.size, 0);
    assert.equal(urlProjects(), "prj_x");
  });

  test("removing one keeps the others, in the URL and in the owner's entry", () => {
    useOwner("keys", "ana");
    addActive("prj_1");
    addActive("prj_2");
    removeActive("prj_1");
    assert.deepEqual(loadActive(), ["prj_2"]);
    assert.equal(urlProjects(), "prj_2");
  });

  test("forgetUrlActive drops only the projects parameter", () => {
    browserAt("http://127.0.0.1:8000/tools/video-generator?transport=polling&projects=prj_1,prj_2");
    forgetUrlActive();
    assert.equal(urlProjects(), null);
    assert.equal(new URLSearchParams(/** @type {any} */ (globalThis).location.search).get("transport"), "polling");
  });

  test("none mode reads and writes the entry it always had", () => {
    storage.setItem("framecast.activeProjects", JSON.stringify(["prj_old"]));
    useOwner("none", "local");
    assert.deepEqual(loadActive(), ["prj_old"]);
  });
});
