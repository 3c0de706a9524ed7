/**
 * Plan-shape checks: EXPLAIN a captured statement as Postgres would plan it
 * (a custom plan for its parameters, or the generic plan a prepared
 * statement may keep) and list what would make it cost more as its tables
 * grow: a sequential or parallel scan of a large table, or a plan dear
 * enough to be JIT-compiled.
 */
import type pg from "pg";

/**
 * Planner settings that make parallel plans as cheap as they can be, so a
 * statement that could go parallel on a larger table does so on the test's.
 */
const EAGER_PARALLEL = [
  "parallel_setup_cost = 0",
  "parallel_tuple_cost = 0",
  "min_parallel_table_scan_size = 0",
  "min_parallel_index_scan_size = 0",
];

/**
 * Makes this session's plans go parallel wherever Postgres could (see `EAGER_PARALLEL`).
 *
 * @example
 * ```ts
 * await eagerParallel(client);
 * ```
 */
export async function eagerParallel(client: pg.Client): Promise<void> {
  for (const setting of EAGER_PARALLEL) await client.query(`set ${setting}`);
}

/** A statement as the store sent it (Kysely's query log). */
export interface CapturedStatement {
  sql: string;
  parameters: readonly unknown[];
}

/** One node of `EXPLAIN (FORMAT JSON)`. */
interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Total Cost": number;
  "Parallel Aware"?: boolean;
  Plans?: PlanNode[];
}

/**
 * The plan Postgres makes for the statement with these parameter values.
 *
 * @example
 * ```ts
 * const plan = await explainCustom(client, { sql: "select * from runs where id = $1", parameters: [id] });
 * ```
 */
export async function explainCustom(client: pg.Client, statement: CapturedStatement): Promise<PlanNode> {
  const { rows } = await client.query<{ "QUERY PLAN": { Plan: PlanNode }[] }>(
    `explain (format json) ${statement.sql}`,
    [...statement.parameters],
  );
  return rows[0]!["QUERY PLAN"][0]!.Plan;
}

/**
 * The generic plan (`plan_cache_mode = force_generic_plan`): what a prepared
 * statement runs once Postgres decides to keep one plan for every value.
 *
 * @example
 * ```ts
 * const plan = await explainGeneric(client, statement);
 * ```
 */
export async function explainGeneric(client: pg.Client, statement: CapturedStatement): Promise<PlanNode> {
  await client.query("set plan_cache_mode = force_generic_plan");
  await client.query(`prepare plan_shape_probe as ${statement.sql}`);
  try {
    const args = statement.parameters.map((v) => literal(client, v));
    const execute = args.length > 0 ? `execute plan_shape_probe(${args.join(", ")})` : "execute plan_shape_probe";
    const { rows } = await client.query<{ "QUERY PLAN": { Plan: PlanNode }[] }>(`explain (format json) ${execute}`);
    return rows[0]!["QUERY PLAN"][0]!.Plan;
  } finally {
    await client.query("deallocate plan_shape_probe");
    await client.query("reset plan_cache_mode");
  }
}

function literal(client: pg.Client, value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof Date) return client.escapeLiteral(value.toISOString());
  return client.escapeLiteral(String(value));
}

/**
 * What is wrong with a plan: a sequential scan of one of `large`, any
 * parallel node, a total cost at or above `jitAboveCost` (JIT would compile it).
 *
 * @example
 * ```ts
 * expect(planProblems(plan, ["runs", "step_runs"], 100_000)).toEqual([]);
 * ```
 */
export function planProblems(plan: PlanNode, large: readonly string[], jitAboveCost: number): string[] {
  const problems: string[] = [];
  if (plan["Total Cost"] >= jitAboveCost) problems.push(`total cost ${plan["Total Cost"]} (JIT)`);
  const visit = (node: PlanNode) => {
    const type = node["Node Type"];
    const relation = node["Relation Name"];
    if (type === "Seq Scan" && relation !== undefined && large.includes(relation))
      problems.push(`Seq Scan on ${relation}`);
    if (type.startsWith("Gather") || node["Parallel Aware"]) problems.push(`parallel ${type}`);
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(plan);
  return problems;
}
