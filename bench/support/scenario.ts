/**
 * The shape of a scenario: one repeat on one backend returns measurements;
 * `run.ts` repeats it, summarizes and reports.
 *
 * @example
 *   export const s1: Scenario = { id: "S1", title: "throughput", backends: ["pg", "embedded"], run: async (env) => [...] };
 */
import type { BackendName } from "./backend.js";
import type { StackOptions } from "./harness.js";

export interface Measurement {
  /** snake_case, unit in the name: `runs_per_s`, `trigger_to_start_p99_ms`. */
  metric: string;
  value: number;
}

export interface ScenarioEnv {
  backend: BackendName;
  quick: boolean;
  /** Everything `withStack` needs; scenarios may add server flags. */
  stack: StackOptions;
  log: (line: string) => void;
}

export interface Scenario {
  id: string;
  title: string;
  backends: BackendName[];
  run(env: ScenarioEnv): Promise<Measurement[]>;
}
