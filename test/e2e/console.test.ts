/**
 * The console in a real browser (Debian's chromium through playwright-core)
 * against a real server process and an SDK worker: a workflow triggered from
 * the form, its DAG turning succeeded live, a step's output, a long run
 * cancelled from its page, a failed run retried until its failed step runs
 * again, the runs list filtered by status, deep links and back/forward —
 * with no error in the browser's console. Screenshots of each page land in
 * test-output/console/.
 */
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskError } from "../../sdk/index.js";
import { requireChromium, startBrowser, type TestBrowser } from "../support/browser.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { redisUrl, requireRedis } from "../support/redis.js";
import { defineWorkflow, trigger, waitForRun, WorkerPool } from "../support/runs.js";
import { startWeft, type Weft } from "../support/weft.js";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();
const hasChromium = requireChromium();
const skip = !hasPostgres || !hasRedis || !hasChromium;
const SHOTS = fileURLToPath(new URL("../../test-output/console", import.meta.url));

const hello = uniqueId("hello");
const slow = uniqueId("slow");
const flaky = uniqueId("flaky");

describe.skipIf(skip)("the console in chromium", () => {
  let weft: Weft;
  let browser: TestBrowser;
  let page: Page;
  const workers = new WorkerPool();
  /** How often flaky.b ran, by run input tag. */
  const flakyCalls = new Map<string, number>();
  let helloRun = "";

  const node = (step: string) => page.locator(`svg.dag g[data-step="${step}"]`);

  beforeAll(async () => {
    [weft, browser] = await Promise.all([
      startWeft({ backend: "postgres", redisUrl: redisUrl() }),
      startBrowser({ screenshotDir: SHOTS }),
    ]);
    await defineWorkflow(weft.client, {
      id: hello,
      description: "greet, then shout",
      steps: [
        { id: "greet", action: `${hello}.greet` },
        { id: "shout", action: `${hello}.shout`, depends_on: ["greet"] },
      ],
    });
    await defineWorkflow(weft.client, { id: slow, steps: [{ id: "wait", action: `${slow}.wait` }] });
    await defineWorkflow(weft.client, {
      id: flaky,
      steps: [
        { id: "a", action: `${flaky}.a` },
        { id: "b", action: `${flaky}.b`, depends_on: ["a"], retry: { max_attempts: 1 } },
      ],
    });
    page = await browser.page();
  }, 90_000);

  afterAll(async () => {
    await workers.stopAll();
    await browser?.close();
    await weft?.stop();
  });

  const startWorkers = () =>
    workers.start(
      { address: weft.url, name: "console-e2e" },
      {
        [`${hello}.greet`]: ({ input }: { input: { name: string } }) => ({ greeting: `Hello, ${input.name}!` }),
        [`${hello}.shout`]: ({ steps }: { steps: { greet: { greeting: string } } }) => ({
          text: steps.greet.greeting.toUpperCase(),
        }),
        [`${slow}.wait`]: (_: unknown, ctx: { signal: AbortSignal }) =>
          new Promise((resolve) => {
            const t = setTimeout(resolve, 60_000);
            ctx.signal.addEventListener("abort", () => (clearTimeout(t), resolve(null)));
          }),
        [`${flaky}.a`]: () => ({ ok: true }),
        [`${flaky}.b`]: ({ input }: { input: { tag: string; always?: boolean } }) => {
          const n = (flakyCalls.get(input.tag) ?? 0) + 1;
          flakyCalls.set(input.tag, n);
          if (input.always || n === 1) throw TaskError.nonRetryable("FLAKY", `attempt ${n} of b failed`);
          return { calls: n };
        },
      },
    );

  it("triggers from the form and shows the DAG turn succeeded live, then a step's output", async () => {
    // The server's start line says where the console is.
    const started = weft.server.logs.map((l) => JSON.parse(l) as { msg?: string; console?: string });
    const consoleUrl = started.find((l) => l.msg === "weft listening")?.console;
    expect(consoleUrl).toBe(`${weft.url}/`);
    await page.goto(`${consoleUrl}workflows`);
    await page.waitForSelector(`tr[data-workflow="${hello}"]`);
    await browser.screenshot(page, "workflows");
    await page.locator(`tr[data-workflow="${hello}"] a`).click();
    await page.waitForURL(`**/workflows/${hello}`);
    await expect.poll(() => node("shout").count()).toBe(1);
    await browser.screenshot(page, "workflow");

    await page.locator('textarea[name="input"]').fill('{"name": "Ada"');
    await expect.poll(() => page.getByRole("alert").textContent()).toMatch(/Not JSON/);
    expect(await page.locator('form.trigger button[type="submit"]').isDisabled()).toBe(true);
    await page.locator('textarea[name="input"]').fill('{"name": "Ada"}');
    await page.locator('form.trigger button[type="submit"]').click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    helloRun = page.url().split("/runs/")[1]!;

    // No worker yet: the run waits; the page must change without a reload once one comes.
    await page.waitForSelector('svg.dag g[data-step="greet"][data-status="queued"]');
    await page.evaluate(() => ((globalThis as unknown as { stayed: boolean }).stayed = true));
    await startWorkers();
    await page.waitForSelector('svg.dag g[data-step="shout"][data-status="succeeded"]');
    await page.waitForSelector('section[data-run-status="succeeded"]');
    expect(await page.evaluate(() => (globalThis as unknown as { stayed?: boolean }).stayed)).toBe(true);

    await node("shout").click();
    await page.waitForURL(/\?step=shout$/);
    await expect.poll(() => page.getByLabel("step output").textContent()).toContain("HELLO, ADA!");
    await browser.screenshot(page, "run");
  });

  it("shows what changed between two versions of a workflow", async () => {
    await defineWorkflow(weft.client, {
      id: hello,
      description: "greet, then shout louder",
      steps: [
        { id: "greet", action: `${hello}.greet` },
        { id: "shout", action: `${hello}.shout`, depends_on: ["greet"], timeout: "30s" },
      ],
    });
    await page.goto(`${weft.url}/workflows/${hello}?version=2&compare=1`);
    const diff = page.getByTestId("diff");
    await diff.waitFor();
    expect(await diff.locator(".add").allTextContents()).toEqual([
      '+ description: "greet, then shout louder"',
      '+     timeout: "30s"',
    ]);
    expect(await diff.locator(".del").allTextContents()).toEqual(['- description: "greet, then shout"']);
    await browser.screenshot(page, "workflow-diff");
  });

  it("cancels a long run from its page", async () => {
    const runId = await trigger(weft.client, slow, {});
    await page.goto(`${weft.url}/runs/${runId}`);
    await page.waitForSelector('svg.dag g[data-step="wait"][data-status="running"]');
    await page.getByRole("button", { name: "Cancel run" }).click();
    await page.waitForSelector('section[data-run-status="cancelled"]');
    await page.waitForSelector('svg.dag g[data-step="wait"][data-status="cancelled"]');
    expect((await weft.client.runs.getRun({ runId })).run?.status).toBe(RunStatus.CANCELLED);
  });

  it("cancels the runs selected in the list, one call each", async () => {
    const ids = [await trigger(weft.client, slow, { n: 1 }), await trigger(weft.client, slow, { n: 2 })];
    await page.goto(`${weft.url}/runs?workflow=${slow}&status=running`);
    for (const id of ids) await page.locator(`tr[data-run="${id}"] input[type="checkbox"]`).check();
    await page.getByRole("button", { name: "Cancel selected (2)" }).click();
    // The list re-reads its page: both leave the running filter.
    for (const id of ids) await page.locator(`tr[data-run="${id}"]`).waitFor({ state: "detached" });
    for (const id of ids) expect((await weft.client.runs.getRun({ runId: id })).run?.status).toBe(RunStatus.CANCELLED);
  });

  it("retries a failed run, and its failed step runs again", async () => {
    const runId = await trigger(weft.client, flaky, { tag: "retry" });
    await waitForRun(weft.client, runId);
    await page.goto(`${weft.url}/runs/${runId}`);
    await page.waitForSelector('section[data-run-status="failed"]');
    // The run's error links to the step that failed, which says why.
    await page.getByTestId("run-error").getByRole("link", { name: "b" }).click();
    await page.waitForURL(/\?step=b$/);
    await expect.poll(() => page.getByTestId("step-error").textContent()).toContain("attempt 1 of b failed");
    await browser.screenshot(page, "run-failed");
    await page.getByRole("button", { name: "Retry run" }).click();
    await page.waitForSelector('section[data-run-status="succeeded"]');
    await page.waitForSelector('svg.dag g[data-step="b"][data-status="succeeded"]');
    expect(flakyCalls.get("retry")).toBe(2);
    // The timeline holds both attempts of b.
    await expect.poll(() => page.locator("table.gantt th", { hasText: /^b/ }).count()).toBe(2);
  });

  it("filters the runs by status, keeps the filter in the URL, and goes back and forward", async () => {
    const doomed = await trigger(weft.client, flaky, { tag: "doomed", always: true });
    await waitForRun(weft.client, doomed);
    await page.goto(`${weft.url}/runs`);
    await page.waitForSelector(`tr[data-run="${helloRun}"]`);
    await page.locator('select[name="status"]').selectOption("failed");
    await page.waitForURL(/\/runs\?status=failed$/);
    await page.waitForSelector(`tr[data-run="${doomed}"]`);
    await expect.poll(() => page.locator(`tr[data-run="${helloRun}"]`).count()).toBe(0);
    const statuses = await page
      .locator("tr[data-run]")
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-status")));
    expect(new Set(statuses)).toEqual(new Set(["failed"]));
    await browser.screenshot(page, "runs-failed");

    await page.locator(`tr[data-run="${doomed}"] a.mono`).click();
    await page.waitForURL(`**/runs/${doomed}`);
    await page.waitForSelector('section[data-run-status="failed"]');
    await page.goBack();
    await page.waitForURL(/\/runs\?status=failed$/);
    await page.waitForSelector(`tr[data-run="${doomed}"]`);
    expect(await page.locator('select[name="status"]').inputValue()).toBe("failed");
    await page.goForward();
    await page.waitForSelector('section[data-run-status="failed"]');
  });

  it("follows a deep link to a step in a new tab, and lists the worker", async () => {
    const tab = await browser.page();
    await tab.goto(`${weft.url}/runs/${helloRun}?step=greet`);
    await expect.poll(() => tab.getByLabel("step output").textContent()).toContain("Hello, Ada!");
    await tab.goto(`${weft.url}/workers`);
    await tab.waitForSelector("tr[data-worker]");
    expect(await tab.locator("tr[data-worker]").first().textContent()).toContain(`${hello}.greet`);
    await browser.screenshot(tab, "workers");
    await tab.goto(`${weft.url}/runs`);
    await tab.waitForSelector(`tr[data-run="${helloRun}"]`);
    await browser.screenshot(tab, "runs");
    await tab.context().close();
  });

  it("logged no error in the browser's console", () => {
    expect(browser.errors).toEqual([]);
  });

  it("says it is disconnected and retrying when the server goes away", async () => {
    await page.goto(`${weft.url}/runs`);
    await page.waitForSelector(`tr[data-run="${helloRun}"]`);
    await weft.stop();
    await page.getByRole("status").filter({ hasText: "Disconnected from the server, retrying" }).waitFor();
    // The last page read stays on screen.
    expect(await page.locator(`tr[data-run="${helloRun}"]`).count()).toBe(1);
    await browser.screenshot(page, "disconnected");
  });
});
