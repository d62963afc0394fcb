// The server's catalog (GET /api/catalog) as the page reads it. Every list of names the
// page shows or sends (presets, datasets, optimizers and their hyperparameters, record
// fields, task -> loss, limits) comes from here; the page keeps no copy of its own.
// Built once at boot and handed to each widget that needs it (never looked up globally).

export class Catalog {
  /** `raw`: the /api/catalog response. */
  constructor(raw) {
    Object.assign(this, raw);
    const g = raw.record_field_groups;
    /** Column lists of the page's history tables: the index (step) first, then the values. */
    this.columns = {
      index: g.index,
      scalars: [...g.index, ...g.per_step],
      // evaluated on all the data, plus the per-layer norms that frames send beside them
      evals: [...g.index, ...g.evaluated, ...g.per_layer],
    };
    /** Every record field but the per-parameter arrays: what the page's history holds. */
    this.historyFields = raw.record_fields.filter((f) => !g.array.includes(f));
    Object.freeze(this);
  }

  /** The loss the server picks for a dataset's task (`binary` -> its loss, ...). */
  lossForTask(task) {
    return this.task_losses[task] ?? null;
  }

  /** The output activation a loss puts on the network (`sigmoid` for binary cross-entropy). */
  outputOf(loss) {
    return this.losses[loss]?.output ?? null;
  }

  /** Does this optimizer take the hyperparameter `name`? */
  takes(optimizer, name) {
    return Boolean(this.optimizers[optimizer] && name in this.optimizers[optimizer]);
  }

  /** The explicit start weights of a preset, or null. */
  presetStart(preset) {
    return this.presets[preset]?.config.init_params ?? null;
  }
}

/** What a run minimises, for axis titles: `mse loss`, or the analytic function `rosenbrock(θ)`. */
export function objectiveLabel(config) {
  const fn = config && config.model && config.model.function;
  if (fn) return `${fn}(θ)`;
  return config && config.loss ? `${config.loss} loss` : "loss value";
}
