/**
 * The `weft` command as a child process, for the end-to-end tests of its
 * client commands.
 *
 * @example
 *   const { code, stdout } = await runWeft(server.url, ["runs", "ls"], { WEFT_API_KEY: key });
 */
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `weft …` against `address` (no colours); never rejects. */
export function runWeft(address: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args],
      { cwd: ROOT, env: { ...process.env, WEFT_ADDRESS: address, NO_COLOR: "1", ...env }, timeout: 60_000 },
      (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
