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

/** The options of the long scenarios (SOAK, PURGE), from `run.ts`'s flags. */
export interface LongOptions {
  /** SOAK: minutes of load. */
  minutes: number;
  /** SOAK: runs triggered per second. */
  rate: number;
  /** SOAK: the server's `--retention` (e.g. `5m`); undefined: none. */
  retention: string | undefined;
  /** SOAK, PURGE: an existing Postgres (admin URL) instead of a throwaway cluster. */
  pgUrl: string | undefined;
  /** PURGE: finished runs seeded before each purge. */
  purgeRuns: number;
  /** PURGE: runs per PurgeRuns call (0: one call, no limit). */
  purgeLimit: number;
  /** PURGE: A/B pairs (`--repeats`). */
  pairs: number;
}

export interface ScenarioEnv {
  backend: BackendName;
  quick: boolean;
  long: LongOptions;
  /** Everything `withStack` needs; scenarios may add server flags. */
  stack: StackOptions;
  log: (line: string) => void;
}

export interface Scenario {
  id: string;
  title: string;
  backends: BackendName[];
  /**
   * Runs only when named with `--scenario`, once: it repeats inside
   * (PURGE's A/B pairs) or is too long to repeat (SOAK).
   */
  onDemand?: boolean;
  run(env: ScenarioEnv): Promise<Measurement[]>;
}
