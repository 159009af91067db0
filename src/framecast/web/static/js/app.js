// The video generator page: wires the form, the project cards, the gallery and the settings together.

import { setupForm } from "./ui/form.js";
import { setupGallery } from "./ui/gallery.js";
import { ProjectView } from "./ui/project/view.js";
import { setupSettings } from "./ui/settings.js";
import { addActive, loadActive } from "./store.js";

const list = /** @type {HTMLElement} */ (document.getElementById("projects"));
const empty = /** @type {HTMLElement} */ (document.getElementById("projects-empty"));
/** @type {Map<string, ProjectView>} */
const views = new Map();

const settings = setupSettings({
  onChange: () => {
    for (const v of views.values()) v.reconnect();
  },
});
const gallery = setupGallery();

function updateEmpty() {
  empty.hidden = views.size > 0;
}

/**
 * Show a project on the page and start following it.
 * @param {string} id
 * @param {any} [snapshot] a snapshot already in hand (the create response)
 */
function open(id, snapshot) {
  if (views.has(id)) return views.get(id);
  const view = new ProjectView(id, {
    settings: settings.current,
    onDismiss: (v) => {
      views.delete(v.id);
      updateEmpty();
    },
    onCompleted: () => gallery.refresh(),
  });
  views.set(id, view);
  list.prepend(view.el);
  updateEmpty();
  if (snapshot) view.applySnapshot(snapshot);
  view.attach();
  return view;
}

setupForm({
  onCreated: (project) => {
    addActive(project.id);
    const view = open(project.id, project);
    view?.el.scrollIntoView({ behavior: "smooth", block: "nearest" });
  },
});

document.getElementById("banner-close")?.addEventListener("click", () => {
  const banner = document.getElementById("banner");
  if (banner) banner.hidden = true;
});

for (const id of loadActive().reverse()) open(id);
updateEmpty();

// For support and the e2e tests: what each project received and over which transport.
Object.defineProperty(window, "framecast", {
  value: Object.freeze({
    views,
    debug: (/** @type {string} */ id) => {
      const v = views.get(id);
      return v
        ? { applied: [...v.applied], role: v.role, lastSeq: v.state.lastSeq, status: v.state.status, media: [...v.mediaHistory], videoShownAt: v.videoShownAt, transports: v.transportHistory.map((t) => ({ ...t })) }
        : null;
    },
  }),
});
