/**
 * Bounded label values. Workflow and action names come from tenants, and
 * every distinct value is a time series kept in memory until the process
 * ends (here and in every Prometheus that scrapes it), so each dimension
 * admits a fixed number of names and puts the rest under `other`. The
 * children of a metric are created once per name and kept, so the hot path
 * neither builds label objects nor validates them again.
 *
 * @example
 *   const actions = new LabelBudget(1000);
 *   const retries = new Children(actions, (action) => counter.labels(action));
 *   retries.get("email.send").inc();
 */

/** The label value of every name beyond the budget. */
export const OTHER = "other";

/** How many distinct names one dimension admits by default. */
export const DEFAULT_LABEL_LIMIT = 1000;

/**
 * The names one label dimension (workflows, actions) may use, first come
 * first served, shared by every metric with that label so they agree on
 * which names are `other`.
 *
 * @example
 *   const workflows = new LabelBudget(2);
 *   ["a", "b", "c"].map((w) => workflows.admit(w)); // ["a", "b", "other"]
 */
export class LabelBudget {
  readonly #admitted = new Set<string>();

  constructor(readonly max: number = DEFAULT_LABEL_LIMIT) {}

  /** The label value for `name`: the name itself while the budget lasts, else `other`. */
  admit(name: string): string {
    if (this.#admitted.has(name)) return name;
    if (this.#admitted.size >= this.max) return OTHER;
    this.#admitted.add(name);
    return name;
  }
}

/**
 * The children of one metric by a bounded name. Names beyond the budget are
 * not remembered (they would grow this map instead of the metric): they
 * share the `other` child.
 *
 * @example
 *   const started = new Children(workflows, (workflow) => runsStarted.labels(workflow));
 *   started.get("billing").inc();
 */
export class Children<C> {
  readonly #byName = new Map<string, C>();
  #other: C | undefined;

  constructor(
    private readonly budget: LabelBudget,
    private readonly make: (value: string) => C,
  ) {}

  get(name: string): C {
    const known = this.#byName.get(name);
    if (known !== undefined) return known;
    const value = this.budget.admit(name);
    if (value === OTHER) return (this.#other ??= this.make(OTHER));
    const child = this.make(value);
    this.#byName.set(name, child);
    return child;
  }
}

/**
 * Children by a bounded name and a second label from a small fixed set
 * (a status, an outcome), e.g. `{workflow, status}`.
 *
 * @example
 *   const finished = childPairs(workflows, (workflow, status) => runsFinished.labels(workflow, status));
 *   finished("billing", "SUCCEEDED").inc();
 */
export function childPairs<C>(
  budget: LabelBudget,
  make: (value: string, second: string) => C,
): (name: string, second: string) => C {
  const rows = new Children(budget, (value) => {
    const bySecond = new Map<string, C>();
    return (second: string): C => {
      let child = bySecond.get(second);
      if (child === undefined) bySecond.set(second, (child = make(value, second)));
      return child;
    };
  });
  return (name, second) => rows.get(name)(second);
}
