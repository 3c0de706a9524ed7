/**
 * The per-definition structures the planner needs on every call, built once
 * per `WorkflowDef` object and cached in a `WeakMap` keyed by that object.
 * Callers that reload a definition for every call should keep one object per
 * workflow version, or each call pays the O(steps + edges) build again.
 *
 * Steps are numbered by topological rank: step `k` comes after all of its
 * dependencies, and among steps ready together declaration order wins (the
 * same order as `topologicalOrder()` in `dag.ts`). As there, only the first
 * step of a duplicated id counts and unknown or self dependencies are
 * ignored; steps on a cycle are ranked last (they can never start).
 */
import type { StepDef, WorkflowDef } from "./model.js";

/**
 * A definition's step graph, indexed by topological rank.
 *
 * @example
 * const g: PlanGraph = planGraph(def);
 * g.leaves.map((k) => g.ids[k]); // ["report"]
 */
export interface PlanGraph {
  /** Step ids by rank. */
  ids: string[];
  /** Step definitions by rank. */
  steps: StepDef[];
  /** Rank of each step id. */
  rank: Map<string, number>;
  /** deps[k]: ranks of the steps k depends on, in `depends_on` order. */
  deps: number[][];
  /** dependents[k]: ranks of the steps that depend on k, ascending. */
  dependents: number[][];
  /** Ranks of the steps no other step depends on, ascending. */
  leaves: number[];
}

const cache = new WeakMap<WorkflowDef, PlanGraph>();

/** A binary min-heap of numbers (declaration indices). */
class MinHeap {
  private items: number[] = [];
  get size(): number {
    return this.items.length;
  }
  push(v: number): void {
    const a = this.items;
    a.push(v);
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      a[p] = v;
      i = p;
    }
  }
  pop(): number {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length === 0) return top;
    a[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l]! < a[m]!) m = l;
      if (r < a.length && a[r]! < a[m]!) m = r;
      if (m === i) break;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
    return top;
  }
}

/** Topological order of declaration indices (Kahn, smallest index first), cycles appended. */
function order(steps: StepDef[], preds: number[][], succs: number[][]): number[] {
  const pending = preds.map((p) => p.length);
  const ready = new MinHeap();
  pending.forEach((count, i) => count === 0 && ready.push(i));
  const out: number[] = [];
  while (ready.size > 0) {
    const i = ready.pop();
    out.push(i);
    for (const next of succs[i]!) if (--pending[next]! === 0) ready.push(next);
  }
  if (out.length < steps.length) steps.forEach((_, i) => pending[i]! > 0 && out.push(i));
  return out;
}

function build(def: WorkflowDef): PlanGraph {
  const byId = new Map<string, number>();
  const steps: StepDef[] = [];
  for (const step of def.steps) {
    if (byId.has(step.id)) continue;
    byId.set(step.id, steps.length);
    steps.push(step);
  }
  const preds = steps.map((step, i) => {
    const found = new Set<number>();
    for (const dep of step.dependsOn) {
      const from = byId.get(dep);
      if (from !== undefined && from !== i) found.add(from);
    }
    return [...found];
  });
  const succs: number[][] = steps.map(() => []);
  preds.forEach((p, i) => p.forEach((from) => succs[from]!.push(i)));

  const byRank = order(steps, preds, succs);
  const rankOf = new Array<number>(steps.length);
  byRank.forEach((decl, rank) => (rankOf[decl] = rank));
  const ids = byRank.map((decl) => steps[decl]!.id);
  const deps = byRank.map((decl) => preds[decl]!.map((p) => rankOf[p]!));
  const dependents = byRank.map((decl) => succs[decl]!.map((s) => rankOf[s]!).sort((a, b) => a - b));
  return {
    ids,
    steps: byRank.map((decl) => steps[decl]!),
    rank: new Map(ids.map((id, k) => [id, k])),
    deps,
    dependents,
    leaves: dependents.flatMap((d, k) => (d.length === 0 ? [k] : [])),
  };
}

/**
 * The cached {@link PlanGraph} of a definition (built on first use).
 *
 * @example
 * const g = planGraph(def);
 * for (const k of g.dependents[g.rank.get("a")!]!) console.log(g.ids[k]);
 */
export function planGraph(def: WorkflowDef): PlanGraph {
  let g = cache.get(def);
  if (g === undefined) cache.set(def, (g = build(def)));
  return g;
}

/**
 * The action of step `stepId` (the first step of that id), or undefined.
 *
 * @example
 * stepAction(def, "charge"); // "payments.charge"
 */
export function stepAction(def: WorkflowDef, stepId: string): string | undefined {
  const g = planGraph(def);
  const k = g.rank.get(stepId);
  return k === undefined ? undefined : g.steps[k]!.action;
}
