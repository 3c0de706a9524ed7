/**
 * The console against a server that asks for API keys, in chromium: the
 * prompt appears on UNAUTHENTICATED, the key lives in the tab's
 * sessionStorage only and goes out as a Bearer token, a viewer sees no
 * Cancel or Retry, an operator does and cancels, and a trigger the server
 * refuses shows its gRPC code and field violation. The only errors the
 * browser logs are the 401 that brings up the prompt, the answers to the
 * role probe, and that refused trigger's 400.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/weft/v1/admin_service_pb.js";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import { createWeftClient, type WeftClient } from "../../sdk/index.js";
import { requireChromium, startBrowser, type TestBrowser } from "../support/browser.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { redisUrl, requireRedis } from "../support/redis.js";
import { defineWorkflow, trigger, waitForRun } from "../support/runs.js";
import { startWeft, type Weft } from "../support/weft.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();
const hasChromium = requireChromium();
const SHOTS = fileURLToPath(new URL("../../test-output/console", import.meta.url));
const ADMIN_KEY = randomBytes(32).toString("hex");
/**
 * The answers the console asks for on purpose: 401 before it has a key, and
 * the role probe's (CancelRun without a run id): 403 for a viewer, 400 for a
 * key that may cancel.
 */
const EXPECTED = /Failed to load resource: the server responded with a status of (400|401|403)/;

/** The page's storage, as seen from a test compiled without the DOM types. */
interface WebStorage {
  sessionStorage: { getItem(key: string): string | null };
  localStorage: { length: number };
}

describe.skipIf(!hasPostgres || !hasRedis || !hasChromium)("the console with API keys", () => {
  let weft: Weft;
  let browser: TestBrowser;
  let admin: WeftClient;
  const wf = uniqueId("keyed");
  let runId = "";
  const keys: Record<"viewer" | "operator", string> = { viewer: "", operator: "" };

  beforeAll(async () => {
    [weft, browser] = await Promise.all([
      startWeft({ backend: "postgres", redisUrl: redisUrl(), args: ["--auth", "keys", "--admin-key", ADMIN_KEY] }),
      startBrowser({ screenshotDir: SHOTS }),
    ]);
    admin = createWeftClient(weft.url, { apiKey: ADMIN_KEY });
    for (const role of ["viewer", "operator"] as const) {
      const res = await admin.admin.createApiKey({
        name: `console-${role}`,
        role: role === "viewer" ? Role.VIEWER : Role.OPERATOR,
      });
      keys[role] = res.secret;
    }
    await defineWorkflow(admin, { id: wf, steps: [{ id: "a", action: `${wf}.nobody-runs-this` }] });
    runId = await trigger(admin, wf, {});
  }, 90_000);

  afterAll(async () => {
    admin?.close();
    await browser?.close();
    await weft?.stop();
  });

  /** Opens `path` in a fresh tab, answers the prompt with `key`. */
  async function signIn(path: string, key: string): Promise<Page> {
    const page = await browser.page();
    await page.goto(weft.url + path);
    const prompt = page.getByRole("dialog", { name: "API key" });
    await prompt.waitFor();
    await prompt.locator('input[name="apiKey"]').fill(key);
    await prompt.getByRole("button", { name: "Use key" }).click();
    await prompt.waitFor({ state: "detached" });
    return page;
  }

  it("asks a viewer for a key, keeps it in the session only, and shows no Cancel or Retry", async () => {
    const page = await signIn("/runs", keys.viewer);
    await page.waitForSelector(`tr[data-run="${runId}"]`);
    await page.getByText("read-only key").waitFor();
    expect(await page.getByRole("button", { name: /Cancel selected/ }).count()).toBe(0);
    const stored = await page.evaluate(() => {
      const g = globalThis as unknown as WebStorage;
      return { session: g.sessionStorage.getItem("weft.apiKey"), local: g.localStorage.length };
    });
    expect(stored).toEqual({ session: keys.viewer, local: 0 });
    await page.locator(`tr[data-run="${runId}"] a.mono`).click();
    await page.waitForSelector('section[data-run-status="pending"]');
    expect(await page.getByRole("button", { name: "Cancel run" }).count()).toBe(0);
    await browser.screenshot(page, "run-viewer");

    // The key stays for the tab's session; with no worker connected, the page says what to start.
    await page.goto(`${weft.url}/workers`);
    await page.getByRole("heading", { name: "No worker is connected" }).waitFor();
    expect(await page.locator("header .who").textContent()).toContain("read-only key");
    await browser.screenshot(page, "workers-empty");
    await page.context().close();
  });

  it("lets an operator cancel from the run's page, and shows a refused trigger's code and field", async () => {
    const page = await signIn(`/runs/${runId}`, keys.operator);
    await page.getByRole("button", { name: "Cancel run" }).click();
    await page.waitForSelector('section[data-run-status="cancelled"]');
    expect((await waitForRun(admin, runId)).status).toBe(RunStatus.CANCELLED);

    // A trigger the server refuses shows its code and the offending field.
    await page.locator(`a[href^="/workflows/${wf}"]`).first().click();
    await page.locator('input[name="idempotencyKey"]').fill("k".repeat(300));
    await page.locator('form.trigger button[type="submit"]').click();
    const error = page.locator("form.trigger .error");
    await expect.poll(() => error.locator("strong").textContent()).toBe("INVALID_ARGUMENT");
    expect(await error.locator("li code").allTextContents()).toEqual(["idempotency_key"]);
    await browser.screenshot(page, "trigger-refused");
    await page.context().close();
  });

  it("logged no error in the browser's console but the answers it asked for", () => {
    expect(browser.errors.filter((e) => !EXPECTED.test(e))).toEqual([]);
    expect(browser.errors.some((e) => /status of 401/.test(e))).toBe(true);
  });
});
