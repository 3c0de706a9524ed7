/**
 * The step graph of a workflow definition: cycles and topological order.
 *
 * Edges run in execution order: `a -> b` means `b` depends on `a`. Only the
 * first step of a duplicated id takes part, and unknown or self dependencies
 * are ignored (the validator reports those separately).
 */
import type { WorkflowDef } from "./model.js";

interface Graph {
  ids: string[];
  /** successors[i]: indices (into ids) of the steps that depend on ids[i]. */
  successors: number[][];
  /** predecessors[i]: indices of the steps ids[i] depends on, in depends_on order. */
  predecessors: number[][];
}

function buildGraph(def: WorkflowDef): Graph {
  const index = new Map<string, number>();
  const ids: string[] = [];
  const owners: number[] = [];
  def.steps.forEach((step, i) => {
    if (index.has(step.id)) return;
    index.set(step.id, ids.length);
    ids.push(step.id);
    owners.push(i);
  });
  const successors: number[][] = ids.map(() => []);
  const predecessors: number[][] = ids.map(() => []);
  owners.forEach((stepIndex, node) => {
    for (const dep of def.steps[stepIndex]!.dependsOn) {
      const from = index.get(dep);
      if (from === undefined || from === node || predecessors[node]!.includes(from)) continue;
      predecessors[node]!.push(from);
      successors[from]!.push(node);
    }
  });
  return { ids, successors, predecessors };
}

/** Kosaraju, iteratively: the strongly connected components as node lists. */
function components(g: Graph): number[][] {
  const n = g.ids.length;
  const seen = new Array<boolean>(n).fill(false);
  const finished: number[] = [];
  for (let root = 0; root < n; root++) {
    if (seen[root]) continue;
    seen[root] = true;
    const stack: [number, number][] = [[root, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const next = g.successors[top[0]]![top[1]++];
      if (next === undefined) {
        finished.push(top[0]);
        stack.pop();
      } else if (!seen[next]) {
        seen[next] = true;
        stack.push([next, 0]);
      }
    }
  }
  const comp = new Array<number>(n).fill(-1);
  const result: number[][] = [];
  for (let k = finished.length - 1; k >= 0; k--) {
    const root = finished[k]!;
    if (comp[root] !== -1) continue;
    const members: number[] = [];
    const stack = [root];
    comp[root] = result.length;
    while (stack.length > 0) {
      const node = stack.pop()!;
      members.push(node);
      for (const prev of g.predecessors[node]!) {
        if (comp[prev] === -1) {
          comp[prev] = result.length;
          stack.push(prev);
        }
      }
    }
    result.push(members.sort((a, b) => a - b));
  }
  return result;
}

/** Shortest path from `start` back to itself inside one component. */
function cycleThrough(g: Graph, start: number, members: Set<number>): number[] {
  const parent = new Map<number, number>();
  const queue = [start];
  for (let q = 0; q < queue.length; q++) {
    const node = queue[q]!;
    for (const next of g.successors[node]!) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [start];
        for (let at = node; at !== start; at = parent.get(at)!) path.push(at);
        path.push(start);
        return [start, ...path.slice(1, -1).reverse(), start];
      }
      if (!parent.has(next)) {
        parent.set(next, node);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

/**
 * One cycle per strongly connected component that has one, as step ids in
 * execution order, first id repeated at the end; the cycle starts at the
 * component's step declared first. Self dependencies are not included.
 *
 * @example
 * // a depends on c, b on a, c on b:
 * findCycles(def); // [["a", "b", "c", "a"]]
 */
export function findCycles(def: WorkflowDef): string[][] {
  const g = buildGraph(def);
  return components(g)
    .filter((members) => members.length > 1)
    .map((members) => cycleThrough(g, members[0]!, new Set(members)).map((node) => g.ids[node]!))
    .sort((a, b) => g.ids.indexOf(a[0]!) - g.ids.indexOf(b[0]!));
}

/**
 * Step ids in an order where every step follows its dependencies; among
 * steps that are ready together, declaration order wins. Meaningful for valid
 * definitions; steps on or behind a cycle are left out.
 *
 * @example
 * // declared: b (depends on a), a, c
 * topologicalOrder(def); // ["a", "b", "c"]
 */
export function topologicalOrder(def: WorkflowDef): string[] {
  const g = buildGraph(def);
  const pending = g.predecessors.map((p) => p.length);
  const ready = new Set<number>();
  pending.forEach((count, node) => count === 0 && ready.add(node));
  const order: string[] = [];
  while (ready.size > 0) {
    const node = Math.min(...ready);
    ready.delete(node);
    order.push(g.ids[node]!);
    for (const next of g.successors[node]!) if (--pending[next]! === 0) ready.add(next);
  }
  return order;
}
