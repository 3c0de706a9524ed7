/**
 * `npm run bench`: the benchmark suite of issue 5.
 *
 *   npm run bench                          all scenarios, both backends, 3 repeats
 *   npm run bench -- --quick               smaller counts, 1 repeat (< 3 minutes)
 *   npm run bench -- --scenario S1,S4 --backend pg --repeats 5
 *   npm run bench -- --scenario S1 --backend pg --profile   server CPU profile into bench/results/profiles/
 *   npm run bench -- --scenario bytes --backend pg   bytes and WAL per run, per table
 *
 * Two long scenarios run only when named, once each (issue 18):
 *   npm run bench -- --scenario soak --backend pg [--minutes 15] [--rate 800] [--retention 5m|none]
 *       a steady load of 3-step chains (1 KiB input, 1 % of steps failing once); a line a minute
 *       with the database's size, the run tables' live/dead rows and autovacuum counts, the
 *       server's RSS and the claim statement's mean time; samples in bench/results/soak-<time>.json.
 *       `--retention` goes to the server with `--retention-interval-ms 30000` (`none`: no flag).
 *   npm run bench -- --scenario purge --backend pg [--purge-runs 1000000] [--purge-limit 0] [--repeats 2]
 *       seeds N finished 3-step-chain runs with SQL, then per pair: S1 and S2 alone (A), and
 *       beside a PurgeRuns of the seeded runs (B, in calls of `--purge-limit` runs, 0 = one call).
 *   Both run on a throwaway Postgres 15 cluster at its default settings (autovacuum on) with
 *   pg_stat_statements, deleted afterwards; `--soak-pg-url <admin url>` uses an existing one.
 *
 * Needs a local Postgres (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres:
 * each repeat creates and drops its own database) and Redis (BENCH_REDIS_URL, default
 * redis://127.0.0.1:6379/9: database 9, away from others' keys). Prints a table and writes
 * bench/results/latest.json.
 */
import { cpus } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { bytes } from "./scenarios/bytes.js";
import { s1 } from "./scenarios/s1-throughput.js";
import { s2 } from "./scenarios/s2-chains.js";
import { s3 } from "./scenarios/s3-fan-out.js";
import { s4 } from "./scenarios/s4-latency.js";
import { s5 } from "./scenarios/s5-backlog.js";
import { s6 } from "./scenarios/s6-streams.js";
import { purge } from "./scenarios/purge.js";
import { soak } from "./scenarios/soak.js";
import { postgresVersion, type BackendName } from "./support/backend.js";
import { formatTable, summarizeRepeats, writeResults, type ResultRow } from "./support/report.js";
import type { LongOptions, Measurement, Scenario } from "./support/scenario.js";

const SCENARIOS: Scenario[] = [s1, s2, s3, s4, s5, s6, bytes, soak, purge];
const QUICK = new Set(["S1", "S4"]);

const ROOT = resolve(import.meta.dirname, "..");

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean", default: false },
      scenario: { type: "string" },
      backend: { type: "string", default: "both" },
      repeats: { type: "string" },
      profile: { type: "boolean", default: false },
      minutes: { type: "string", default: "15" },
      rate: { type: "string", default: "800" },
      retention: { type: "string", default: "5m" },
      "soak-pg-url": { type: "string" },
      "purge-runs": { type: "string", default: "1000000" },
      "purge-limit": { type: "string", default: "0" },
      out: { type: "string", default: join(ROOT, "bench/results/latest.json") },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      "usage: npm run bench -- [--quick] [--scenario S1,S4] [--backend pg|embedded|both] [--repeats N] [--profile] [--out file]\n" +
        "       soak:  [--minutes 15] [--rate 800] [--retention 5m|none] [--soak-pg-url url]\n" +
        "       purge: [--purge-runs 1000000] [--purge-limit 0] [--repeats pairs] [--soak-pg-url url]\n",
    );
    return 0;
  }
  const quick = values.quick;
  const wanted = values.scenario
    ? values.scenario
        .toUpperCase()
        .split(",")
        .map((s) => s.trim())
    : SCENARIOS.filter((s) => !s.onDemand)
        .map((s) => s.id)
        .filter((id) => !quick || QUICK.has(id));
  const unknown = wanted.filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(", ")}`);
  if (!["pg", "embedded", "both"].includes(values.backend))
    throw new Error(`--backend: pg, embedded or both, got "${values.backend}"`);
  const backends: BackendName[] = values.backend === "both" ? ["pg", "embedded"] : [values.backend as BackendName];
  const repeats = Number(values.repeats ?? (quick ? 1 : 3));
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 20) throw new Error("--repeats: 1 to 20");
  const long: LongOptions = {
    minutes: positive("--minutes", values.minutes),
    rate: positive("--rate", values.rate),
    retention: values.retention === "none" ? undefined : values.retention,
    pgUrl: values["soak-pg-url"],
    purgeRuns: positive("--purge-runs", values["purge-runs"]),
    purgeLimit: Number(values["purge-limit"]),
    pairs: values.repeats ? repeats : 2,
  };
  if (!Number.isInteger(long.purgeLimit) || long.purgeLimit < 0) throw new Error("--purge-limit: 0 or more");

  const postgresUrl = process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const redisUrl = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/9";
  for (const u of [postgresUrl, redisUrl, ...(long.pgUrl ? [long.pgUrl] : [])]) {
    const host = new URL(u).hostname;
    if (host !== "127.0.0.1" && host !== "localhost")
      throw new Error(`the bench only talks to this machine, not ${host}`);
  }
  const machine = { cores: cpus().length, node: process.version, postgres: await postgresVersion(postgresUrl) };
  const started = Date.now();
  const log = (line: string) =>
    process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
  log(
    `machine: ${machine.cores} cores, node ${machine.node}, postgres ${machine.postgres}; ${quick ? "quick" : "full"} mode, ${repeats} repeat(s)`,
  );

  const rows: ResultRow[] = [];
  const failures: string[] = [];
  // Extra `weft serve` flags for every server, e.g. BENCH_SERVER_ARGS="--completion-window-ms 5".
  const serverArgs = (process.env.BENCH_SERVER_ARGS ?? "").split(" ").filter(Boolean);
  for (const scenario of SCENARIOS.filter((s) => wanted.includes(s.id))) {
    for (const backend of backends.filter((b) => scenario.backends.includes(b))) {
      const runs: Measurement[][] = [];
      // A long scenario runs once (PURGE repeats its A/B pairs inside).
      const times = scenario.onDemand ? 1 : repeats;
      for (let r = 1; r <= times; r++) {
        const tag = `${scenario.id} ${backend}${times > 1 ? ` ${r}/${times}` : ""}`;
        const slog = (line: string) => log(`[${tag}] ${line}`);
        slog(`start: ${scenario.title}`);
        const serverNodeArgs = values.profile
          ? [
              "--cpu-prof",
              `--cpu-prof-dir=${join(ROOT, "bench/results/profiles")}`,
              `--cpu-prof-name=${scenario.id}-${backend}-${r}-${Date.now()}.cpuprofile`,
            ]
          : [];
        try {
          const measured = await scenario.run({
            backend,
            quick,
            long,
            log: slog,
            stack: { postgresUrl, redisUrl, log: slog, serverNodeArgs, serverArgs },
          });
          slog(measured.map((m) => `${m.metric}=${m.value.toFixed(2)}`).join(" "));
          runs.push(measured);
        } catch (err) {
          // A stuck or failed scenario is a finding: report it, go on with the rest.
          const message = err instanceof Error ? err.message : String(err);
          slog(`FAILED: ${message}`);
          failures.push(`${tag}: ${message}`);
        }
      }
      rows.push(...summarizeRepeats(scenario.id, backend, runs));
      writeResults(values.out, machine, rows);
    }
  }
  process.stdout.write(
    `\n${formatTable(rows)}\n\nwritten to ${values.out} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  );
  if (failures.length > 0) {
    process.stdout.write(`\n${failures.length} scenario run(s) failed:\n${failures.map((f) => `  ${f}`).join("\n")}\n`);
    return 1;
  }
  return 0;
}

/** A flag's value as a positive number. */
function positive(flag: string, value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new Error(`${flag}: a positive number, got "${value}"`);
  return n;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
