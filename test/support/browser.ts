/**
 * Debian's chromium driven by playwright-core, for the console's tests:
 * headless, no sandbox (CI runs as root), nothing fetched from the network
 * but the page under test, and every console error and uncaught page
 * error collected.
 *
 * @example
 *   const browser = await startBrowser();
 *   const page = await browser.page();
 *   await page.goto(url);
 *   expect(browser.errors).toEqual([]);
 *   await browser.close();
 */
import { existsSync, mkdirSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Whether chromium is installed. Missing: throws when `CI` is set (the suite
 * must fail, not skip; `.ci/run` installs it), else returns false.
 */
export function requireChromium(): boolean {
  const ok = existsSync(CHROMIUM);
  if (!ok && process.env.CI) throw new Error(`chromium (${CHROMIUM}) is required in CI: apt-get install chromium`);
  return ok;
}

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

export interface TestBrowser {
  browser: Browser;
  /** "console.error" lines and uncaught errors of every page, with the page's URL. */
  errors: string[];
  /** A new page (a fresh context each: its own sessionStorage), watched for errors. */
  page(): Promise<Page>;
  /** Saves a full-page screenshot as `<dir>/<name>.png`. */
  screenshot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

/** Launches chromium with a fresh profile (playwright makes a temporary user data folder). */
export async function startBrowser(opts: { screenshotDir: string }): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  const errors: string[] = [];
  mkdirSync(opts.screenshotDir, { recursive: true });
  return {
    browser,
    errors,
    async page() {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      page.on("console", (msg) => {
        if (msg.type() === "error") errors.push(`${page.url()}: console.error: ${msg.text()}`);
      });
      page.on("pageerror", (err) => errors.push(`${page.url()}: uncaught: ${err.message}`));
      return page;
    },
    async screenshot(page, name) {
      await page.screenshot({ path: `${opts.screenshotDir}/${name}.png`, fullPage: true });
    },
    close: () => browser.close(),
  };
}
