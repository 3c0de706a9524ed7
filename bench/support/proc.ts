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
 * CPU used by a set of processes between `start()` and `stop()`, as a share
 * of one core (100 = one core busy the whole time). Processes that vanish
 * in between are skipped.
 *
 * @example
 *   const meter = cpuMeter({ server: server.pid, workers: workers.pid });
 *   ...
 *   meter.stop(); // { server: 87.5, workers: 41.2 }
 */
export function cpuMeter(pids: Record<string, number[]>): { stop(): Record<string, number> } {
  const read = (pid: number) => {
    try {
      return cpuMs(pid);
    } catch {
      return undefined;
    }
  };
  const t0 = performance.now();
  const before = Object.fromEntries(Object.entries(pids).map(([k, ps]) => [k, ps.map(read)]));
  return {
    stop() {
      const elapsed = performance.now() - t0;
      return Object.fromEntries(
        Object.entries(pids).map(([k, ps]) => {
          let used = 0;
          ps.forEach((pid, i) => {
            const a = before[k]![i];
            const b = read(pid);
            if (a !== undefined && b !== undefined) used += b - a;
          });
          return [k, (used / elapsed) * 100];
        }),
      );
    },
  };
}
