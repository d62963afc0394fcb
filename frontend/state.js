// Settings: defaults and the URL-hash round trip (one declarative table, like Playground's state.ts).
//
// The hash holds the run (session config, live-change events, step) and every view setting,
// so a copied link rebuilds the same run bit for bit (POST /api/sessions/import replays it)
// and shows it the same way.

/** View settings: name -> [kind, default]. Each one round-trips through the hash. */
export const VIEW = {
  plane: ["str", "auto"], // auto | axes | pca | random | hessian
  axes: ["ints", null], // parameter indices [i, j] for the axes plane
  res: ["int", 41], // surface grid resolution
  zlog: ["bool", false], // surface in log10(loss)
  ylog: ["tri", null], // loss curve in log scale: null = chosen by the data, else the user's choice
  speed: ["num", 100], // steps per second; 0 = as fast as possible
  tab: ["str", "backprop"], // lower panel
  lesson: ["int", null], // the guided lesson's stop (1-based), null in free play
};

/** The run in the hash: name -> [kind, default]; `config` present means "open this run". */
const RUN = {
  config: ["json", null], // the session config
  events: ["json", []], // live changes, [[step, change], ...]
  step: ["count", 0], // how far the run had got
  // the branch tree (same config): [{events, step, from: [parent index, step] | null}],
  // and which branch is shown; absent with a single branch
  branches: ["json", null],
  branch: ["count", 0],
};

export const DEFAULT_CONFIG = { preset: "pass-fail" };

/** JSON with sorted keys, so equal configs compare equal as strings. */
export function stableStringify(value) {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value === undefined ? null : value);
}

export function defaultView() {
  const out = {};
  for (const [name, [, value]] of Object.entries(VIEW)) out[name] = value;
  return out;
}

function parseValue(kind, text) {
  switch (kind) {
    case "str":
      return text;
    case "int": {
      const n = Number.parseInt(text, 10);
      return Number.isFinite(n) ? n : undefined;
    }
    case "count":
      return Math.max(0, Number.parseInt(text, 10) || 0);
    case "json":
      return JSON.parse(text); // a malformed run is dropped as a whole (decodeHash)
    case "num": {
      const n = Number(text);
      return Number.isFinite(n) ? n : undefined;
    }
    case "bool":
      return text === "1" || text === "true";
    case "tri":
      return text === "1" || text === "true" ? true : text === "0" || text === "false" ? false : undefined;
    case "ints": {
      const parts = text.split(",").map((t) => Number.parseInt(t, 10));
      return parts.length === 2 && parts.every(Number.isFinite) ? parts : undefined;
    }
    default:
      throw new Error(`unknown setting kind ${kind}`);
  }
}

function formatValue(kind, value) {
  switch (kind) {
    case "bool":
    case "tri":
      return value ? "1" : "0";
    case "ints":
      return value.join(",");
    case "json":
      return JSON.stringify(value);
    default:
      return String(value);
  }
}

/** Set each entry of `values` that differs from its default in `table`. */
function setNonDefault(q, table, values) {
  for (const [name, [kind, def]] of Object.entries(table)) {
    const value = values[name];
    if (value === null || value === undefined) continue;
    if (stableStringify(value) !== stableStringify(def)) q.set(name, formatValue(kind, value));
  }
}

/** `{config, events, step}` and the view -> a hash string (only non-default settings). */
export function encodeHash(run, view) {
  const q = new URLSearchParams();
  if (run && run.config) setNonDefault(q, RUN, run);
  setNonDefault(q, VIEW, view);
  return `#${q.toString()}`;
}

/**
 * The inverse of encodeHash; unknown or malformed entries fall back to defaults.
 * `explicit`: the view settings the hash itself gives (a preset's own view fills the rest).
 */
export function decodeHash(hash) {
  const q = new URLSearchParams((hash || "").replace(/^#/, ""));
  const view = defaultView();
  const explicit = new Set();
  for (const [name, [kind]] of Object.entries(VIEW)) {
    if (!q.has(name)) continue;
    const value = parseValue(kind, q.get(name));
    if (value !== undefined) (view[name] = value), explicit.add(name);
  }
  let run = null;
  try {
    if (q.has("config")) {
      run = {};
      for (const [name, [kind, def]] of Object.entries(RUN)) run[name] = q.has(name) ? parseValue(kind, q.get(name)) : structuredClone(def);
      if (!validTree(run.branches)) (run.branches = null), (run.branch = 0);
    } else if (q.has("preset")) {
      run = { config: { preset: q.get("preset") }, events: [], step: 0, presetLink: true };
    }
  } catch {
    run = null;
  }
  return { run, view, explicit };
}

/** A branch list from a hash: each {events: [...], step >= 0, from: null | [earlier index, step]}. */
function validTree(branches) {
  if (!Array.isArray(branches) || branches.length < 2) return false;
  return branches.every(
    (b, k) =>
      b &&
      Array.isArray(b.events) &&
      Number.isInteger(b.step) &&
      b.step >= 0 &&
      (b.from === null || b.from === undefined || (Array.isArray(b.from) && Number.isInteger(b.from[0]) && b.from[0] >= 0 && b.from[0] < branches.length && b.from[0] !== k)),
  );
}

/**
 * The view a preset brings with it, for the settings `explicit` (a Set of names the link
 * gives) leaves open: an analytic surface spans decades of loss, so it opens in log10 loss,
 * whether picked from the list or opened from a `#preset=` link.
 */
export function presetView(catalog, preset, explicit = new Set()) {
  const model = catalog.presets[preset]?.config.model;
  const out = model && model.function ? { zlog: true } : {};
  for (const name of explicit) delete out[name];
  return out;
}

/** Does a live session already hold this run (same config, same events up to its step)? */
export function sameRun(info, run) {
  if (!info || !run) return false;
  if (stableStringify(info.config) !== stableStringify(run.config)) return false;
  return stableStringify(info.events || []) === stableStringify(run.events || []);
}

const STORAGE_KEY = "gradscape.session";

export const storage = {
  get sessionId() {
    try {
      return localStorage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  },
  set sessionId(id) {
    try {
      if (id) localStorage.setItem(STORAGE_KEY, id);
      else localStorage.removeItem(STORAGE_KEY);
    } catch {
      // storage can be disabled; the hash still reproduces the run
    }
  },
};
