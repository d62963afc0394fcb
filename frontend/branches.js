// The branch list: every future a run has had, each its own session (same config, same
// start), so "continue from here" and reset never lose steps. One is the main run; the
// others can be shown, drawn beside it on the same plane, or closed (deleted).
import { clear, h } from "./dom.js";
import { fmt } from "./plots/common.js";

/** At most this many branches per run (each is a session and counts toward the server's limits). */
export const MAX_BRANCHES = 8;

export class BranchBar {
  /** `actions`: {show(k), compare(k), close(k), undo()}. */
  constructor(root, actions) {
    this.root = root;
    this.actions = actions;
  }

  /**
   * `branches`: [{id, from: [parent, step] | null, step, loss, label}]; `current`: the main
   * one; `compared`: session ids drawn beside it; `undo`: {label} of the last reset or
   * continue-from-here, or null.
   */
  render(branches, current, compared, undo) {
    const many = branches.length > 1;
    this.root.hidden = !many && !undo;
    clear(this.root);
    if (this.root.hidden) return;
    const a = this.actions;
    const items = branches.map((b, k) => {
      const origin = b.from ? `from ${b.from[0] + 1} at step ${b.from[1]}` : "the first run";
      const main = k === current;
      const shown = compared.includes(b.id);
      return h("li", { class: main ? "current" : "", dataset: { branch: String(k) } }, [
        h("button", { class: "small link", name: "branch-show", disabled: main, title: main ? "shown now" : "Show this branch", onclick: () => a.show(k) }, `${k + 1}`),
        h("span", { class: "branch-what" }, ` ${origin}: ${b.label || ""}, step ${b.step ?? "?"}${b.loss !== undefined && b.loss !== null ? `, loss ${fmt(b.loss)}` : ""}`),
        main
          ? h("small", {}, " (shown)")
          : h("span", {}, [
              " ",
              h("button", { class: "small", name: "branch-compare", "aria-pressed": String(shown), title: "Draw it beside the main run on the same plane" }, shown ? "hide" : "compare"),
              " ",
              h("button", { class: "small", name: "branch-close", title: "Close this branch (deletes its session)", "aria-label": `close branch ${k + 1}` }, "×"),
            ]),
      ]);
    });
    for (const li of items) {
      const k = Number(li.dataset.branch);
      li.querySelector("[name=branch-compare]")?.addEventListener("click", () => a.compare(k));
      li.querySelector("[name=branch-close]")?.addEventListener("click", () => a.close(k));
    }
    const left = MAX_BRANCHES - branches.length;
    this.root.append(
      h("span", { class: "branches-title" }, many ? `Branches (${branches.length} of ${MAX_BRANCHES})` : ""),
      many ? h("ol", { class: "branch-list" }, items) : "",
      left <= 1 && many ? h("small", { class: "warn" }, left ? " One more branch allowed." : " Branch limit reached: close one to branch again.") : "",
      undo ? h("button", { class: "small", name: "undo", title: "Bring back the run as it was" }, `Undo ${undo.label}`) : "",
    );
    this.root.querySelector("[name=undo]")?.addEventListener("click", () => a.undo());
  }
}
