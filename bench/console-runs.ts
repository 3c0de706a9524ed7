/**
 * The console on a large history: seeds 100,000 runs through
 * TriggerWorkflows (5,000 a call) into a fresh Postgres database, then, in
 * chromium, measures in the page the runs page's first paint (navigation
 * start to the first rows in the DOM), page turns (a click on "Next page"
 * to the next page's rows), and the first paint filtered to a rare workflow and to a status
 * no run has. Prints the numbers; asserts nothing.
 *
 *   npx tsx bench/console-runs.ts [--runs 100000] [--turns 10]
 *
 * Needs what `npm run bench` needs (BENCH_POSTGRES_URL, BENCH_REDIS_URL) and chromium.
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createWeftClient, jsonToValue } from "../sdk/index.js";
import { startBrowser } from "../test/support/browser.js";
import { prepareBackend } from "./support/backend.js";
import { startBenchServer } from "./support/server.js";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "100000" }, turns: { type: "string", default: "10" } },
});
const RUNS = Number(values.runs);
const TURNS = Number(values.turns);
const BATCH = 5000;
const SHOTS = fileURLToPath(new URL("../test-output/console", import.meta.url));

/** Records in `window.__shown` when the selector in the `shown` query parameter first matches. */
const WATCH_FIRST = `
  const want = new URLSearchParams(location.search).get("shown");
  if (want) new MutationObserver((_, o) => {
    if (document.querySelector(want)) { window.__shown = performance.now(); o.disconnect(); }
  }).observe(document, { subtree: true, childList: true });`;

/** Clicks "Next page" and resolves with the milliseconds until the first row is another run. */
const TURN_PAGE = `new Promise((resolve) => {
  const before = document.querySelector("tr[data-run]").getAttribute("data-run");
  const t0 = performance.now();
  const o = new MutationObserver(() => {
    const now = document.querySelector("tr[data-run]");
    if (now && now.getAttribute("data-run") !== before) { o.disconnect(); resolve(performance.now() - t0); }
  });
  o.observe(document.body, { subtree: true, childList: true, attributes: true });
  document.querySelector('[data-testid="next-page"]').click();
})`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const ms = (x: number) => `${x.toFixed(0)} ms`;

async function seed(address: string): Promise<void> {
  const client = createWeftClient(address);
  try {
    for (const id of ["bulk", "rare"]) {
      await client.workflows.createWorkflow({
        source: { case: "yaml", value: JSON.stringify({ id, steps: [{ id: "a", action: `${id}.nobody` }] }) },
      });
    }
    const started = performance.now();
    for (let done = 0; done < RUNS; done += BATCH) {
      const n = Math.min(BATCH, RUNS - done);
      await client.workflows.triggerWorkflows({
        triggers: Array.from({ length: n }, (_, i) => ({
          workflowId: (done + i) % 100 === 0 ? "rare" : "bulk",
          input: jsonToValue({ n: done + i }),
        })),
      });
    }
    console.log(`seeded ${RUNS} runs in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  const backend = await prepareBackend("pg", {
    postgresUrl: process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
    redisUrl: process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379/9",
  });
  const server = await startBenchServer({ env: backend.env });
  const browser = await startBrowser({ screenshotDir: SHOTS });
  try {
    await seed(server.url);
    const page = await browser.page();
    // Times are taken in the page: when the first row (or `shown`) is in the DOM, by a MutationObserver.
    await page.addInitScript({ content: WATCH_FIRST });
    const firstPaint = async (path: string, shown = "tr[data-run]") => {
      await page.goto(`${server.url}${path}${path.includes("?") ? "&" : "?"}shown=${encodeURIComponent(shown)}`);
      await page.waitForSelector(shown);
      return Number(await page.evaluate("window.__shown"));
    };
    const cold = await firstPaint("/runs");
    const parts = await page.evaluate(
      `performance.getEntriesByType("resource").map((e) => e.name.split("/").pop() + " " + e.startTime.toFixed(0) + "-" + e.responseEnd.toFixed(0)).join(", ")`,
    );
    const warm = await firstPaint("/runs");
    const turns: number[] = [];
    for (let i = 0; i < TURNS; i++) turns.push(Number(await page.evaluate(TURN_PAGE)));
    await browser.screenshot(page, "runs-100k");
    const filtered = await firstPaint("/runs?workflow=rare");
    const none = await firstPaint("/runs?status=failed", ".empty");
    console.log(`runs page, first paint: ${ms(cold)} (first load), ${ms(warm)} (again)`);
    console.log(`  resources of the first load (start-end ms after navigation start): ${String(parts)}`);
    console.log(`page turn (${TURNS}): median ${ms(median(turns))}, max ${ms(Math.max(...turns))}`);
    console.log(`first paint filtered to a workflow with 1 run in 100: ${ms(filtered)}`);
    console.log(`first paint filtered to a status no run has (an empty page): ${ms(none)}`);
    console.log(`browser console errors: ${browser.errors.length}`);
  } finally {
    await browser.close();
    await server.stop();
    await backend.dispose();
  }
}

await main();
