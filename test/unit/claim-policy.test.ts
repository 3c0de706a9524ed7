/**
 * The claim policy (src/dispatch/claim-policy.ts) without a store: each row
 * plays events on fake sessions and lists the claims the policy decided on
 * after the last `mark` (all of them without one), and the modes it ends in.
 * Each row pins one rule of docs/benchmarks.md#claim-policy.
 *
 * Steps: `attach s1`, `detach s1`, `wake` (every set), `wake a,b` (sets
 * sharing an action), `return s1 4` (its claim sent 4 tasks: 4 slots fewer),
 * `free s1` (one of its tasks answered: a slot frees), `busy s1 3` (its free
 * slots are now 3, no event), `pause`, `mark`.
 */
import { describe, expect, it } from "vitest";
import { ClaimPolicy, type Claimant, type ClaimMode } from "../../src/dispatch/claim-policy.js";
import { planDueWake, type DueWake } from "../../src/dispatch/sweeper.js";

class FakeSession implements Claimant {
  readonly actionKey: string;
  constructor(
    readonly id: string,
    readonly actions: string[],
    readonly slots: number,
    public free: number,
  ) {
    this.actionKey = [...actions].sort().join(",");
  }
}

interface Row {
  rule: string;
  /** `id actions slots [free]`, e.g. `s1 a,b 10 0` (free defaults to slots). */
  sessions: string[];
  batch?: number;
  concurrency?: number;
  steps: string[];
  /** `id:limit` of each claim decided after the last `mark`. */
  claims: string[];
  modes?: Record<string, ClaimMode>;
}

function play(row: Row): { claims: string[]; policy: ClaimPolicy<FakeSession> } {
  const sessions = new Map<string, FakeSession>();
  for (const spec of row.sessions) {
    const [id, actions, slots, free] = spec.split(" ") as [string, string, string, string | undefined];
    sessions.set(id, new FakeSession(id, actions.split(","), Number(slots), Number(free ?? slots)));
  }
  let claims: string[] = [];
  const policy = new ClaimPolicy<FakeSession>({
    batchSize: row.batch ?? 250,
    concurrency: row.concurrency ?? 2,
    claim: (s, limit) => claims.push(`${s.id}:${limit}`),
  });
  for (const step of row.steps) {
    const [verb, arg, n] = step.split(" ") as [string, string | undefined, string | undefined];
    const s = sessions.get(arg ?? "");
    if (verb === "attach") policy.attached(s!);
    else if (verb === "detach") policy.detached(s!);
    else if (verb === "wake") policy.woke(arg?.split(","));
    else if (verb === "return") {
      s!.free -= Number(n);
      policy.returned(s!, Number(n));
    } else if (verb === "free") {
      s!.free += 1;
      policy.freed(s!);
    } else if (verb === "busy") s!.free = Number(n);
    else if (verb === "pause") policy.pause();
    else if (verb === "mark") claims = [];
    else throw new Error(`unknown step ${step}`);
  }
  return { claims, policy };
}

const rows: Row[] = [
  {
    rule: "a session that attaches claims what it can take, capped by the claim batch",
    sessions: ["s1 a 10", "s2 b 10 3"],
    batch: 4,
    steps: ["attach s1", "attach s2"],
    claims: ["s1:4", "s2:3"],
    modes: { a: "claiming", b: "claiming" },
  },
  {
    rule: "a session with no free slot does not claim",
    sessions: ["s1 a 10 0"],
    steps: ["attach s1", "wake"],
    claims: [],
    modes: { a: "idle" },
  },
  {
    rule: "one claim per session at a time",
    sessions: ["s1 a 10"],
    steps: ["attach s1", "wake", "wake a"],
    claims: ["s1:10"],
  },
  {
    rule: "at most `concurrency` claims in flight; a returned one makes room",
    sessions: ["s1 a 10 0", "s2 b 10 0", "s3 c 10 0"],
    steps: ["attach s1", "attach s2", "attach s3", "busy s1 10", "busy s2 10", "busy s3 10", "wake", "return s1 3"],
    claims: ["s1:10", "s2:10", "s3:10"],
    modes: { a: "drained", b: "claiming", c: "claiming" },
  },
  {
    rule: "a trickle: beside a claim of its set that did not fill its batch, a session waits for the answer",
    sessions: ["s1 a 10 0", "s2 a 10"],
    steps: ["attach s1", "attach s2", "mark", "busy s1 10", "wake", "wake a"],
    claims: [],
    modes: { a: "claiming" },
  },
  {
    rule: "a backlog: after a full claim, sessions of the set claim side by side",
    sessions: ["s1 a 10", "s2 a 10 0"],
    steps: ["attach s1", "attach s2", "return s1 10", "mark", "busy s2 10", "busy s1 10", "wake"],
    claims: ["s1:10", "s2:10"],
    modes: { a: "backlog" },
  },
  {
    rule: "in a backlog, beside a claim in flight, a session claims once a quarter of min(slots, batch) is free",
    sessions: ["s1 a 40 0", "s2 a 40 0"],
    batch: 8,
    steps: [
      ...["attach s1", "attach s2", "busy s2 8", "wake", "return s2 8", "busy s2 8", "wake"],
      ...["mark", "free s1", "free s1"],
    ],
    claims: ["s1:2"],
    modes: { a: "backlog" },
  },
  {
    rule: "a short claim that ran alone drains the set: no claim, even on a freed slot, until a wake-up",
    sessions: ["s1 a 10", "s2 a 10 0"],
    steps: ["attach s2", "attach s1", "return s1 3", "busy s2 10", "mark", "free s1", "free s1"],
    claims: [],
    modes: { a: "drained" },
  },
  {
    rule: "a drained set claims again on the next wake-up",
    sessions: ["s1 a 10"],
    steps: ["attach s1", "return s1 3", "mark", "wake a"],
    claims: ["s1:7"],
    modes: { a: "claiming" },
  },
  {
    rule: "a wake-up while a claim is in flight: its short answer does not stop the set claiming",
    sessions: ["s1 a 10"],
    steps: ["attach s1", "wake a", "mark", "return s1 3"],
    claims: ["s1:7"],
  },
  {
    rule: "the answer of a claim begun before the last wake-up says nothing of now: the set stays empty",
    sessions: ["s1 a 10", "s2 a 10 0"],
    steps: [
      ...["attach s2", "attach s1", "return s1 10", "busy s1 10", "wake a", "busy s2 10", "wake a", "return s2 3"],
      ...["mark", "return s1 3"],
    ],
    claims: [],
    modes: { a: "empty" },
  },
  {
    rule: "a short claim beside a claim of a shared action empties the set: a freed slot wakes it",
    sessions: ["s1 a 10 0", "s2 a,b 10 0"],
    steps: ["attach s1", "attach s2", "busy s1 10", "busy s2 10", "wake", "return s1 3", "mark", "free s1"],
    claims: ["s1:8"],
  },
  {
    rule: "a short claim beside a claim of a shared action leaves the set empty (not drained) until then",
    sessions: ["s1 a 10 0", "s2 a,b 10 0"],
    steps: ["attach s1", "attach s2", "busy s1 10", "busy s2 10", "wake", "return s1 3"],
    claims: ["s1:10", "s2:10"],
    modes: { a: "empty", "a,b": "claiming" },
  },
  {
    rule: "after a claim that found nothing, a freed slot does not wake the set",
    sessions: ["s1 a 10 0", "s2 a,b 10 0"],
    steps: ["attach s1", "attach s2", "busy s1 5", "busy s2 10", "wake", "return s1 0", "mark", "free s1"],
    claims: [],
    modes: { a: "empty" },
  },
  {
    rule: "a freed slot after a full claim wakes every set sharing an action with it",
    sessions: ["s1 a 10", "s2 a,b 10 0"],
    steps: ["attach s1", "return s1 10", "attach s2", "busy s2 10", "wake", "return s2 0", "mark", "free s1"],
    claims: ["s1:1", "s2:10"],
  },
  {
    rule: "a wake-up naming actions wakes only the sets sharing one (any of a set's actions)",
    sessions: ["s1 a 10 0", "s2 b,c 10 0"],
    steps: ["attach s1", "attach s2", "busy s1 10", "busy s2 10", "wake", "return s1 0", "return s2 0"],
    claims: ["s1:10", "s2:10"],
    modes: { a: "drained", "b,c": "drained" },
  },
  {
    rule: "…and then `wake c` claims for the set of b and c only",
    sessions: ["s1 a 10 0", "s2 b,c 10 0"],
    steps: [
      ...["attach s1", "attach s2", "busy s1 10", "busy s2 10", "wake", "return s1 0", "return s2 0"],
      ...["mark", "wake c", "wake x"],
    ],
    claims: ["s2:10"],
    modes: { a: "drained", "b,c": "claiming" },
  },
  {
    rule: "a detached session claims no more, and its claim in flight holds its place until it returns",
    sessions: ["s1 a 10", "s2 b 10"],
    concurrency: 1,
    steps: ["attach s1", "attach s2", "detach s1", "mark", "wake", "return s1 0"],
    claims: ["s2:10"],
  },
  {
    rule: "paused: no claims",
    sessions: ["s1 a 10"],
    steps: ["pause", "attach s1", "wake", "wake a"],
    claims: [],
  },
];

describe("claim policy", () => {
  it.each(rows)("$rule", (row) => {
    const { claims, policy } = play(row);
    expect(claims).toEqual(row.claims);
    for (const [key, mode] of Object.entries(row.modes ?? {})) expect([key, policy.mode(key)]).toEqual([key, mode]);
  });

  it("counts the claims in flight", () => {
    const { policy } = play({
      rule: "",
      sessions: ["s1 a 10", "s2 b 10"],
      steps: ["attach s1", "attach s2"],
      claims: [],
    });
    expect(policy.claiming).toBe(2);
  });
});

describe("the sweeper's wake-up for due retries", () => {
  const cases: { name: string; due: number | undefined; armed: boolean; plan: DueWake }[] = [
    { name: "nothing due: no wake-up", due: undefined, armed: false, plan: { kind: "none" } },
    { name: "due already: wake now", due: 1_000, armed: false, plan: { kind: "now" } },
    { name: "due already, a timer set: wake now all the same", due: 900, armed: true, plan: { kind: "now" } },
    { name: "due within two sweeps: wake just after it", due: 1_999, armed: false, plan: { kind: "at", at: 2_000 } },
    { name: "due within two sweeps, a timer set: leave it", due: 1_500, armed: true, plan: { kind: "none" } },
    { name: "due in two sweeps or later: a later sweep sees to it", due: 2_000, armed: false, plan: { kind: "none" } },
  ];
  it.each(cases)("$name", ({ due, armed, plan }) => {
    expect(planDueWake(due, 1_000, 500, armed)).toEqual(plan);
  });
});
