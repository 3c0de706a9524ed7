/**
 * Summarizes a V8 `.cpuprofile` (from `npm run bench -- --profile`): self
 * time by function, self time by package/file, and inclusive time of
 * chosen frames, as shares of the samples.
 *
 *   npx tsx bench/profile-summary.ts bench/results/profiles/S1-pg-….cpuprofile [top] [from_s] [to_s]
 *
 * It first prints a timeline (busy share per second, and how much of it is
 * module loading: the server starts through tsx), so the measured window can
 * be chosen with `from_s` / `to_s` (seconds since the profile started).
 */
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg, fromArg, toArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]\n");
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const from = Number(fromArg ?? 0) * 1e6;
const to = toArg === undefined ? Infinity : Number(toArg) * 1e6;
const LOADING = /compileSourceTextModule|makeAsyncRequest|waitForWorker|makeSyncRequest|wrapSafe|receiveMessageOnPort/;
const isLoading = (id: number): boolean => {
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    if (LOADING.test(byId.get(cur)!.callFrame.functionName)) return true;
  }
  return false;
};
const selfUs = new Map<number, number>();
const timeline = new Map<number, { busy: number; loading: number; all: number }>();
let clock = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  clock += dt;
  const sec = Math.floor(clock / 1e6);
  const t = timeline.get(sec) ?? { busy: 0, loading: 0, all: 0 };
  t.all += dt;
  if (byId.get(id)!.callFrame.functionName !== "(idle)") t.busy += dt;
  if (isLoading(id)) t.loading += dt;
  timeline.set(sec, t);
  if (clock >= from && clock < to) selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
});
process.stdout.write("timeline (second: busy% / module loading%)\n  ");
process.stdout.write(
  [...timeline.entries()]
    .map(([s, t]) => `${s}:${Math.round((t.busy / t.all) * 100)}/${Math.round((t.loading / t.all) * 100)}`)
    .join(" ") + "\n",
);
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const where = (n: Node) => {
  const url = n.callFrame.url
    .replace(/^file:\/\//, "")
    .replace(/.*\/node_modules\//, "~/")
    .replace(/.*\/wt-bench\//, "");
  return url || "(native)";
};
const label = (n: Node) => `${n.callFrame.functionName || "(anonymous)"} ${where(n)}:${n.callFrame.lineNumber + 1}`;
const pkg = (n: Node) => {
  const w = where(n);
  if (w.startsWith("~/")) {
    const parts = w.slice(2).split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (w.startsWith("node:")) return "node internals";
  if (w === "(native)") return n.callFrame.functionName.startsWith("(") ? n.callFrame.functionName : "(native)";
  return w.split("/").slice(0, 2).join("/");
};

function tally(key: (n: Node) => string): [string, number][] {
  const m = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const k = key(byId.get(id)!);
    m.set(k, (m.get(k) ?? 0) + us);
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1]);
}

/** Inclusive time: a sample counts once for every distinct label on its stack. */
function inclusive(): [string, number][] {
  const m = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      if (!where(n).startsWith("src/") && !where(n).startsWith("~/kysely") && !where(n).startsWith("~/pg")) continue;
      const l = label(n);
      if (seen.has(l)) continue;
      seen.add(l);
      m.set(l, (m.get(l) ?? 0) + us);
    }
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1]);
}

const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
const print = (title: string, rows: [string, number][]) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, us] of rows.slice(0, top)) process.stdout.write(`  ${pct(us)}  ${k}\n`);
};
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s of samples\n`);
print("self time by package / folder", tally(pkg));
print("self time by function", tally(label));
print("inclusive time (src/, kysely, pg frames)", inclusive());
