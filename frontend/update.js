// The update inspector: new_weight = old_weight − learning_rate × gradient, on the run's
// own numbers, for the latest step or the previewed one (GET .../update?step=k).
//
// Small models (up to ~20 parameters) show every weight; bigger ones a searchable table
// of 200 rows a page. Momentum, Adam and RMSprop show their state and how the step they
// took differs from the plain −lr × gradient.
import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { fmt } from "./plots/common.js";

export const ALWAYS_ROWS = 20; // up to this many parameters: every row, no search box
const PAGE = 200;

const num = (v) => (v === null || v === undefined ? "—" : fmt(v, 4));
const precise = (v) => (v === null || v === undefined ? "" : String(v));

export class UpdatePanel {
  /** `store`: the view store (preview); `main()`: the main run. */
  constructor(root, { store, main }) {
    this.root = root;
    this.store = store;
    this.main = main;
    this.match = "";
    this.offset = 0;
    this.busy = false;
    this.again = false;
    this.at = -1e9;
    this.key = null;
    this.search = h("input", { type: "search", name: "update-search", placeholder: "find a weight (e.g. layer1.W or bias)", "aria-label": "find a parameter" });
    this.search.addEventListener("input", () => {
      this.match = this.search.value.trim();
      this.offset = 0;
      this.refresh(true);
    });
    this.head = h("p", { class: "update-head" });
    // it scrolls (a wide net on a phone): focusable, so arrow keys reach every column
    this.body = h("div", { class: "update-body", tabindex: "0", role: "region", "aria-label": "the update, weight by weight" });
    this.pager = h("div", { class: "update-pager" });
    clear(root).append(
      h("header", {}, [h("h2", {}, "The update"), h("span", { class: "formula" }, "new_weight = old_weight − learning_rate × gradient")]),
      this.head,
      this.search,
      this.body,
      this.pager,
    );
    store.subscribe(() => this.refresh(true), ["preview"]);
  }

  /** Fetch the rows of the shown step (at most one request in flight; ~2 a second while playing). */
  async refresh(force = false) {
    const main = this.main();
    if (!main) return;
    if (this.busy) {
      if (force) this.again = true;
      return;
    }
    if (!force && performance.now() - this.at < 500) return;
    const k = this.store.state.preview ?? main.step;
    const key = `${main.id}:${k}:${this.match}:${this.offset}:${main.info.events?.length ?? 0}`;
    if (!force && key === this.key) return;
    this.key = key;
    this.search.hidden = main.info.n_params <= ALWAYS_ROWS;
    if (k === 0) return this.start(main);
    this.busy = true;
    try {
      // the latest update is asked without a step: a run that diverges steps back to its
      // last finite point, so a step number read a moment ago could be past its end
      const step = this.store.state.preview === null ? undefined : k;
      const u = await api.update(main.id, { step, offset: this.offset, limit: PAGE, match: this.match || undefined });
      if (this.main() === main) this.render(u, main);
    } catch (err) {
      this.head.textContent = err.status === 404 || err.status === 405 ? "The server has no update endpoint yet." : err.message;
      clear(this.body);
    } finally {
      this.busy = false;
      this.at = performance.now();
      if (this.again) {
        this.again = false;
        this.refresh(true);
      }
    }
  }

  /** Step 0: no update yet; the start weights. */
  start(main) {
    this.head.textContent = "Step 0: the start weights. Press Step to see the first update, with its gradient.";
    const names = main.info.param_names || [];
    const params = main.params || [];
    const shown = names.slice(0, ALWAYS_ROWS);
    clear(this.body).append(
      h("table", { class: "update" }, [
        h("thead", {}, h("tr", {}, [h("th", {}, "weight"), h("th", {}, "value now")])),
        h(
          "tbody",
          {},
          shown.map((n, i) => h("tr", {}, [h("th", { scope: "row" }, n), h("td", { title: precise(params[i]) }, num(params[i]))])),
        ),
      ]),
    );
    clear(this.pager).append(names.length > shown.length ? h("small", {}, `first ${shown.length} of ${names.length}`) : "");
  }

  render(u, main) {
    const o = u.optimizer;
    const { lr: _shownApart, ...others } = o.hyper || {}; // the lr in force is shown on its own
    const hyper = Object.entries(others)
      .filter(([, v]) => v !== 0 && v !== false && v !== null)
      .map(([k, v]) => `${k} ${fmt(v, 3)}`)
      .join(", ");
    const clip = u.clip && u.clip.norm !== null && u.clip.scale < 1 ? ` The gradient norm ${fmt(u.clip.grad_norm, 3)} was clipped to ${fmt(u.clip.norm, 3)} (×${fmt(u.clip.scale, 3)}).` : "";
    const batch = u.batch ? (u.batch.full ? "the full batch" : `a mini-batch of ${u.batch.size}`) : "";
    this.head.replaceChildren(
      h("b", {}, `Update ${u.step}`),
      ` (${o.name}${hyper ? `, ${hyper}` : ""}, lr ${fmt(o.lr, 4)}, on ${batch}; batch loss before it ${num(u.loss_before)}). `,
      u.explain || "",
      clip,
    );
    const stateNames = [...new Set(u.rows.flatMap((r) => Object.keys(r.state_after || {})))];
    const adam = u.rows.some((r) => r.m_hat !== undefined && r.m_hat !== null);
    const cols = ["weight", "before", "gradient", "−lr × gradient", "step taken", "after", ...stateNames.map((s) => `${s} (after)`), ...(adam ? ["m̂", "v̂"] : [])];
    const rows = u.rows.map((r) => {
      const differs = Math.abs(r.taken - r.plain_step) > 1e-12 * Math.max(1, Math.abs(r.plain_step));
      const cells = [
        h("th", { scope: "row" }, r.name),
        h("td", { title: precise(r.before) }, num(r.before)),
        h("td", { title: precise(r.grad) }, num(r.grad)),
        h("td", { title: precise(r.plain_step) }, num(r.plain_step)),
        h("td", { class: differs ? "differs" : "", title: differs ? "not −lr × gradient: the optimizer's own step" : "exactly −lr × gradient" }, num(r.taken)),
        h("td", { title: precise(r.after) }, num(r.after)),
        ...stateNames.map((s) => h("td", { title: precise(r.state_after?.[s]) }, num(r.state_after?.[s]))),
        ...(adam ? [h("td", {}, num(r.m_hat)), h("td", {}, num(r.v_hat))] : []),
      ];
      return h("tr", { dataset: { name: r.name } }, cells);
    });
    clear(this.body).append(
      h("table", { class: "update" }, [
        h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows),
      ]),
    );
    const pages = [];
    if (u.total > u.rows.length) {
      pages.push(h("small", {}, `rows ${u.offset + 1}–${u.offset + u.rows.length} of ${u.total}${u.match ? ` matching “${u.match}”` : ""} `));
      if (u.offset > 0) pages.push(h("button", { class: "small", name: "update-prev", onclick: () => ((this.offset = Math.max(0, u.offset - PAGE)), this.refresh(true)) }, "previous"));
      if (u.offset + u.rows.length < u.total) pages.push(h("button", { class: "small", name: "update-next", onclick: () => ((this.offset = u.offset + PAGE), this.refresh(true)) }, "next"));
    } else if (u.match && !u.total) {
      pages.push(h("small", {}, `no parameter matches “${u.match}”`));
    }
    clear(this.pager).append(...pages);
    this.shown = u;
  }
}
