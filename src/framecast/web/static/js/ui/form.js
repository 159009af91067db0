// The generate form: counter, seed, validation messages and a submit that never makes two projects.

import { ApiError, createProject, listEngines, randomKey } from "../api.js";
import { announce } from "./dom.js";
import { allowedOptions, fitDuration, keepOrFirst, showPicker } from "./engines.js";

const MAX_PROMPT = 2000;
const FIELDS = ["prompt", "engine", "duration_s", "aspect", "resolution", "fps", "style", "seed", "voiceover"];
const LABELS = /** @type {Object<string, string>} */ ({
  prompt: "Prompt",
  engine: "Engine",
  duration_s: "Duration",
  aspect: "Aspect",
  resolution: "Resolution",
  fps: "Frame rate",
  style: "Style",
  seed: "Seed",
  voiceover: "Voiceover",
});

function randomSeed() {
  return crypto.getRandomValues(new Uint32Array(1))[0] % 2_147_483_647;
}

/**
 * @param {{onCreated: (project: any) => void}} opts
 * @returns {{reset: () => void, loadEngines: () => Promise<void>}} reset: back to a blank form (the next person
 *   must not find this one's prompt); loadEngines: ask the server which engines it has (after sign-in)
 */
export function setupForm({ onCreated }) {
  const form = /** @type {HTMLFormElement} */ (document.getElementById("generate-form"));
  const prompt = /** @type {HTMLTextAreaElement} */ (form.elements.namedItem("prompt"));
  const count = /** @type {HTMLElement} */ (document.getElementById("prompt-count"));
  const seed = /** @type {HTMLInputElement} */ (form.elements.namedItem("seed"));
  const button = /** @type {HTMLButtonElement} */ (document.getElementById("generate"));
  const formError = /** @type {HTMLElement} */ (document.getElementById("form-error"));

  // The key names one intent to create: a double click or a retried request reuses it (the server answers
  // 200 with the same project), any change to the form starts a new intent.
  let key = randomKey();
  let busy = false;
  seed.value = String(randomSeed());

  // The engine picker: shown only when the server has more than one engine; each engine's limits narrow
  // the other fields to what it accepts (GET /api/engines).
  const engineField = /** @type {HTMLElement} */ (document.getElementById("engine-field"));
  const engineSelect = /** @type {HTMLSelectElement} */ (form.elements.namedItem("engine"));
  const engineHelp = /** @type {HTMLElement} */ (document.getElementById("engine-help"));
  const voiceToggle = /** @type {HTMLElement} */ (document.getElementById("voiceover-toggle"));
  /** @type {import("./engines.js").EngineInfo[]} */
  let engines = [];

  function currentEngine() {
    return engines.find((e) => e.name === engineSelect.value) ?? null;
  }

  function applyEngine() {
    const info = currentEngine();
    const allowed = allowedOptions(info);
    for (const name of /** @type {const} */ (["aspect", "resolution", "fps"])) {
      const select = /** @type {HTMLSelectElement} */ (form.elements.namedItem(name));
      const values = allowed[name];
      for (const option of Array.from(select.options)) {
        const ok = !values || values.includes(option.value);
        option.hidden = !ok;
        option.disabled = !ok;
      }
      select.value = keepOrFirst(select.value, values);
    }
    const duration = /** @type {HTMLInputElement} */ (form.elements.namedItem("duration_s"));
    duration.min = String(allowed.minDuration);
    duration.max = String(allowed.maxDuration);
    duration.value = String(fitDuration(Number(duration.value), allowed));
    const voice = /** @type {HTMLInputElement} */ (form.elements.namedItem("voiceover"));
    voiceToggle.hidden = !allowed.voiceover;
    if (!allowed.voiceover) voice.checked = false;
    engineHelp.textContent = info ? info.description : "";
  }

  engineSelect.addEventListener("change", applyEngine);

  async function loadEngines() {
    try {
      const answer = await listEngines();
      engines = answer.engines ?? [];
      engineSelect.replaceChildren(
        ...engines.map((e) => new Option(e.label, e.name, e.name === answer.default, e.name === answer.default)),
      );
    } catch {
      engines = []; // the procedural default works without the list
    }
    engineField.hidden = !showPicker(engines);
    applyEngine();
  }

  const updateCount = () => {
    const n = prompt.value.length;
    count.textContent = `${n} / ${MAX_PROMPT}`;
    count.classList.toggle("near", n > MAX_PROMPT * 0.9);
  };
  prompt.addEventListener("input", updateCount);
  updateCount();
  form.addEventListener("input", (ev) => {
    key = randomKey();
    const name = /** @type {HTMLInputElement} */ (ev.target).name;
    if (name) clearFieldError(name);
  });
  form.addEventListener("change", () => (key = randomKey()));

  document.getElementById("seed-new")?.addEventListener("click", () => {
    seed.value = String(randomSeed());
    key = randomKey();
    clearFieldError("seed");
  });
  document.getElementById("seed-copy")?.addEventListener("click", async (ev) => {
    const btn = /** @type {HTMLButtonElement} */ (ev.currentTarget);
    try {
      await navigator.clipboard.writeText(seed.value);
    } catch {
      // No clipboard API on plain http: select the text so Ctrl+C works.
      seed.select();
      document.execCommand?.("copy");
    }
    btn.classList.add("done");
    announce(`Seed ${seed.value} copied`);
    setTimeout(() => btn.classList.remove("done"), 1200);
  });

  /** @param {string} name */
  function clearFieldError(name) {
    const field = form.querySelector(`[data-field="${name}"]`);
    if (!field) return;
    field.classList.remove("invalid");
    field.querySelector("input, select, textarea")?.removeAttribute("aria-invalid");
    const err = document.getElementById(`${name}-error`);
    if (err) err.textContent = "";
  }

  /** @param {string} name @param {string} message */
  function setFieldError(name, message) {
    const field = form.querySelector(`[data-field="${name}"]`);
    const err = document.getElementById(`${name}-error`);
    if (!field || !err) return false;
    field.classList.add("invalid");
    field.querySelector("input, select, textarea")?.setAttribute("aria-invalid", "true");
    err.textContent = message;
    return true;
  }

  function clearErrors() {
    for (const f of FIELDS) clearFieldError(f);
    formError.hidden = true;
    formError.textContent = "";
  }

  /** @param {string} message */
  function showFormError(message) {
    formError.textContent = message;
    formError.hidden = false;
  }

  /** Checks the browser can do before asking the server. @returns {Object<string, any> | null} */
  function readBody() {
    const text = prompt.value;
    let ok = true;
    if (!text.trim()) {
      setFieldError("prompt", "Describe the video: the prompt is empty.");
      ok = false;
    } else if (text.length > MAX_PROMPT) {
      setFieldError("prompt", `The prompt is ${text.length} characters; the limit is ${MAX_PROMPT}.`);
      ok = false;
    }
    const duration = Number(/** @type {HTMLInputElement} */ (form.elements.namedItem("duration_s")).value);
    const limits = allowedOptions(currentEngine());
    if (!Number.isFinite(duration) || duration < limits.minDuration || duration > limits.maxDuration) {
      setFieldError("duration_s", `Duration must be between ${limits.minDuration} and ${limits.maxDuration} seconds.`);
      ok = false;
    }
    const seedText = seed.value.trim();
    if (seedText && !/^\d{1,16}$/.test(seedText)) {
      setFieldError("seed", "The seed is a whole number, such as 42.");
      ok = false;
    }
    if (!ok) return null;
    const value = (/** @type {string} */ name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name)).value;
    /** @type {Object<string, any>} */
    const body = {
      prompt: text,
      duration_s: duration,
      aspect: value("aspect"),
      resolution: value("resolution"),
      fps: Number(value("fps")),
      voiceover: /** @type {HTMLInputElement} */ (form.elements.namedItem("voiceover")).checked,
    };
    if (seedText) body.seed = Number(seedText);
    if (currentEngine()) body.engine = engineSelect.value;
    if (value("style")) body.style = value("style");
    return body;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (busy) return; // the same intent is already on its way
    clearErrors();
    const body = readBody();
    if (!body) {
      /** @type {HTMLElement | null} */ (form.querySelector("[aria-invalid=true]"))?.focus();
      return;
    }
    busy = true;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    const label = button.textContent;
    button.textContent = "Starting…";
    try {
      const project = await createProject(body, key);
      onCreated(project);
      // A fresh intent for the next video; a new seed so "Generate" again gives a different one.
      key = randomKey();
      seed.value = String(randomSeed());
      announce("Video started");
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError("Something went wrong. Try again.");
      if (err.status === 401) {
        // The sign-in panel takes over (app.js); this line is what the person finds after signing in again.
        showFormError("You were signed out before this video started. Press Generate again to start it.");
        return;
      }
      let placed = false;
      for (const fe of err.errors) placed = setFieldError(fieldName(fe.field), fe.message) || placed;
      if (err.field) placed = setFieldError(fieldName(err.field), err.message) || placed;
      const where = err.field ? LABELS[fieldName(err.field)] : "";
      showFormError(where ? `${where}: ${err.message}` : err.message);
      if (placed) /** @type {HTMLElement | null} */ (form.querySelector("[aria-invalid=true]"))?.focus();
    } finally {
      busy = false;
      button.disabled = false;
      button.removeAttribute("aria-busy");
      button.textContent = label;
    }
  });

  return {
    reset() {
      form.reset();
      clearErrors();
      updateCount();
      seed.value = String(randomSeed());
      key = randomKey();
      applyEngine();
    },
    loadEngines,
  };
}

/** "body.duration_s" or "duration_s" -> "duration_s". @param {string} f */
function fieldName(f) {
  const last = String(f ?? "").split(/[.\/]/).pop() ?? "";
  return FIELDS.includes(last) ? last : "";
}
