// The view store: the one place that owns what the page shows and how (plane, scales,
// speed, tab, the previewed step), and tells its subscribers what changed.
//
// Widgets read `store.state` and change it only through `store.set(patch)`; each
// subscriber gets the names that changed, once per `set`, so a change made in one widget
// reaches every other without any of them knowing who else listens.
import { stableStringify } from "./state.js";

export class ViewStore {
  /** `initial`: the starting view (`defaultView()` with the link's settings over it). */
  constructor(initial) {
    this.state = { ...initial };
    this.subscribers = new Set();
  }

  get(name) {
    return this.state[name];
  }

  /**
   * Change some settings; subscribers hear of the ones that really changed (compared by
   * value). Returns the changed names.
   */
  set(patch) {
    const changed = [];
    for (const [name, value] of Object.entries(patch)) {
      if (stableStringify(this.state[name]) === stableStringify(value)) continue;
      this.state[name] = value;
      changed.push(name);
    }
    if (changed.length) for (const fn of [...this.subscribers]) fn(changed, this.state);
    return changed;
  }

  /** Call `fn(changed, state)` after each `set` that touches one of `names` (all if none). */
  subscribe(fn, names = null) {
    const wanted = names ? new Set(names) : null;
    const sub = (changed, state) => {
      if (!wanted || changed.some((n) => wanted.has(n))) fn(changed, state);
    };
    this.subscribers.add(sub);
    return () => this.subscribers.delete(sub);
  }
}
