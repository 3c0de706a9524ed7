/**
 * What Linux says about a process: resident memory and CPU time, from
 * /proc/<pid>/status and /proc/<pid>/stat.
 *
 * @example
 *   const before = cpuMs(pid); await sleep(5000); const msPerS = (cpuMs(pid) - before) / 5;
 */
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_S = 100;

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** User + system CPU time so far, in ms (10 ms resolution). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may contain spaces: the fields start after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / TICKS_PER_S;
}

/**
 * CPU used by a set of processes between `start` and `stop()`, as a share
 * of one core (100 = one core busy the whole time). `pids` is asked again
 * at `stop()`: a process that appeared in between (a new pooled Postgres
 * backend) counts with all its CPU, one that vanished is skipped.
 *
 * @example
 *   const meter = await cpuMeter({ server: async () => [server.pid] });
 *   ...
 *   await meter.stop(); // { server: 87.5 }
 */
export async function cpuMeter(
  pids: Record<string, () => Promise<number[]>>,
): Promise<{ stop(): Promise<Record<string, number>> }> {
  const read = (pid: number) => {
    try {
      return cpuMs(pid);
    } catch {
      return undefined;
    }
  };
  const t0 = performance.now();
  const before = new Map<string, Map<number, number | undefined>>();
  for (const [k, list] of Object.entries(pids)) before.set(k, new Map((await list()).map((pid) => [pid, read(pid)])));
  return {
    async stop() {
      const elapsed = performance.now() - t0;
      const out: Record<string, number> = {};
      for (const [k, list] of Object.entries(pids)) {
        const was = before.get(k)!;
        let used = 0;
        for (const pid of new Set([...was.keys(), ...(await list())])) {
          const b = read(pid);
          if (b === undefined) continue;
          used += b - (was.has(pid) ? (was.get(pid) ?? b) : 0);
        }
        out[k] = (used / elapsed) * 100;
      }
      return out;
    },
  };
}
