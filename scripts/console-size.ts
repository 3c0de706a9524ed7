/**
 * Prints the JavaScript the console's first load fetches (the scripts and
 * module preloads index.html names), raw and gzipped, and fails (exit 1)
 * above the budget: 350 KiB gzipped.
 *
 *   tsx scripts/console-size.ts [console/dist]
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_GZIP_BYTES = 350 * 1024;
const dist = process.argv[2] ?? "console/dist";
const html = readFileSync(join(dist, "index.html"), "utf8");
const urls = [
  ...html.matchAll(/<script[^>]*\ssrc="([^"]+\.js)"/g),
  ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+\.js)"/g),
].map((m) => m[1]!);
let raw = 0;
let gzipped = 0;
for (const url of urls) {
  const body = readFileSync(join(dist, url.replace(/^\//, "")));
  const gz = gzipSync(body, { level: 9 }).length;
  raw += body.length;
  gzipped += gz;
  console.log(`${url}: ${(body.length / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzipped`);
}
console.log(
  `console first load: ${urls.length} script(s), ${(raw / 1024).toFixed(1)} KiB, ${(gzipped / 1024).toFixed(1)} KiB gzipped (budget ${BUDGET_GZIP_BYTES / 1024} KiB)`,
);
if (urls.length === 0 || gzipped > BUDGET_GZIP_BYTES) {
  console.error(urls.length === 0 ? "no script found in index.html" : "the console's first load is over its budget");
  process.exitCode = 1;
}
