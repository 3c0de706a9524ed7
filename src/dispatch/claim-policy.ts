/**
 * When the dispatcher claims, and for whom: a state machine per action set
 * (the sessions whose workers run the same actions claim from the same
 * queue). Events come in (a wake-up, a claim's answer, a freed slot, a
 * session attached or gone, a pause); decisions go out through `claim`
 * (claim now for this session, up to this many tasks). No I/O and no clock:
 * the dispatcher runs the claims and reports their answers
 * (docs/benchmarks.md#claim-policy has the measurements behind each rule).
 *
 * The modes of an action set:
 *
 * - `idle`: no claim of the set in flight and work may be queued (no claim
 *   yet, or a wake-up since the last short one): the first session with free
 *   slots claims.
 * - `claiming`: a claim of the set is in flight and the last one did not fill
 *   its batch: the other sessions wait for its answer, so a trickle of work
 *   costs one claim per wake-up instead of one per session.
 * - `backlog`: the last claim filled its batch: sessions claim side by side,
 *   beside a claim in flight only with a quarter of what they can take at
 *   once free (a claim of a few tasks costs a round trip and a commit like a
 *   full one).
 * - `empty`: a claim came back short with no wake-up since: nobody claims
 *   until the next wake-up. A short claim beside others is no proof of an
 *   empty queue (SKIP LOCKED passes over rows a concurrent claim holds), so a
 *   freed slot wakes the set and it claims again.
 * - `drained`: as `empty`, but the short claim ran alone (no claim of a
 *   shared action overlapped it): the queue was empty, and whatever was
 *   queued since woke us. A freed slot waits for a wake-up.
 *
 * A freed slot wakes its set and every set sharing an action with it, unless
 * the set is `drained` or its last claim found nothing at all: then the
 * sessions only look again under the modes as they are. Wake-ups name the
 * actions they queued and concern only the sets sharing one; up to
 * `concurrency` claims run at once, one per session.
 *
 * @example
 *   const policy = new ClaimPolicy<WorkerSession>({ batchSize: 250, concurrency: 2, claim: startClaim });
 *   policy.attached(session);            // wakes every set: `claim(session, 10)`
 *   policy.returned(session, 10);        // its claim came back full: the set is in `backlog`
 *   policy.freed(session);               // a slot freed: look again
 *   policy.woke(["billing.charge"]);     // the store queued steps of this action
 */

/** A worker session as the policy sees it. */
export interface Claimant {
  /** Sorted action list: claimants with equal keys claim from the same queue. */
  readonly actionKey: string;
  readonly actions: readonly string[];
  /** Tasks it takes at once. */
  readonly slots: number;
  /** Tasks it can take now (0 while it may get none). */
  readonly free: number;
}

/** See the file's comment. */
export type ClaimMode = "idle" | "claiming" | "backlog" | "empty" | "drained";

export interface ClaimPolicyOptions<S extends Claimant> {
  /** Tasks per claim at most (`--claim-batch`). */
  batchSize: number;
  /** Claims in flight at once (`--claim-concurrency`). */
  concurrency: number;
  /** The decision: claim up to `limit` tasks for `claimant` now, then report the answer with `returned`. */
  claim(claimant: S, limit: number): void;
}

/** How an action set's last claim came back. */
type Found = "none" | "short" | "full";

/** One action set's state. Generations count wake-ups: see `ClaimPolicy.#generation`. */
interface ActionSet {
  readonly key: string;
  readonly actions: readonly string[];
  /** Attached claimants of this set. */
  members: number;
  /** Claims of this set in flight. */
  claims: number;
  /** The last wake-up naming one of its actions. */
  wokeAt: number;
  /** How its last claim came back (undefined before the first). */
  last: Found | undefined;
  /** The generation in which a claim that began in it came back short; -1 for none. */
  shortAt: number;
  /** Whether one of the claims that came back short in `shortAt` ran alone. */
  shortAlone: boolean;
}

/** A claim in flight. */
interface Claim {
  readonly set: ActionSet;
  readonly limit: number;
  /** The set's generation when the claim began: a wake-up since means its answer says nothing of now. */
  readonly generation: number;
  /** A claim of a shared action ran beside it. */
  overlapped: boolean;
}

/** Whether two action lists share an action (plain loops: this runs per set on every wake-up). */
function shareAction(a: readonly string[], b: readonly string[]): boolean {
  for (let i = 0; i < a.length; i++) for (let j = 0; j < b.length; j++) if (a[i] === b[j]) return true;
  return false;
}

/**
 * The claim policy of one dispatcher. Allocates nothing per wake-up, freed
 * slot or pump: one record per claim and one per action set ever seen.
 *
 * @example
 *   const policy = new ClaimPolicy({ batchSize: 250, concurrency: 2, claim: (s, limit) => claims.push([s, limit]) });
 */
export class ClaimPolicy<S extends Claimant> {
  readonly #batchSize: number;
  readonly #concurrency: number;
  readonly #claim: (claimant: S, limit: number) => void;
  /** Attached claimants, in the order they claim. */
  readonly #claimants = new Set<S>();
  readonly #sets = new Map<string, ActionSet>();
  /** The same sets, for wake-ups to walk without an iterator. */
  readonly #setList: ActionSet[] = [];
  readonly #inFlight = new Map<S, Claim>();
  /** Counts wake-ups. */
  #generation = 0;
  /** The last wake-up for every action set. */
  #wokeAll = 0;
  #paused = false;

  constructor(options: ClaimPolicyOptions<S>) {
    this.#batchSize = options.batchSize;
    this.#concurrency = options.concurrency;
    this.#claim = options.claim;
  }

  /** A session attached: it claims from now on, and every set is woken (it may hold work for it). */
  attached(claimant: S): void {
    if (!this.#claimants.has(claimant)) {
      this.#claimants.add(claimant);
      this.#setOf(claimant).members++;
    }
    this.woke();
  }

  /** A session ended: it claims no more. A claim of it in flight still counts until `returned`. */
  detached(claimant: S): void {
    if (!this.#claimants.delete(claimant)) return;
    this.#setOf(claimant).members--;
  }

  /** Work may be queued: for the sets sharing an action with `actions`, or for all. Claims what it can. */
  woke(actions?: readonly string[]): void {
    const generation = ++this.#generation;
    if (actions === undefined) this.#wokeAll = generation;
    else {
      for (let i = 0; i < this.#setList.length; i++) {
        const set = this.#setList[i]!;
        if (set.members > 0 && shareAction(set.actions, actions)) set.wokeAt = generation;
      }
    }
    this.#pump();
  }

  /** The claim started for `claimant` came back with `got` tasks (0 when it failed). Claims what it can. */
  returned(claimant: S, got: number): void {
    const claim = this.#inFlight.get(claimant);
    if (claim === undefined) return;
    this.#inFlight.delete(claimant);
    const set = claim.set;
    set.claims--;
    if (got < claim.limit && claim.generation === this.#generationOf(set)) {
      // No other claim of this replica for these actions could have skipped rows under a lone one.
      set.shortAlone = (set.shortAt === claim.generation && set.shortAlone) || !claim.overlapped;
      set.shortAt = claim.generation;
    }
    set.last = got === 0 ? "none" : got === claim.limit ? "full" : "short";
    this.#pump();
  }

  /** A task of `claimant` was answered and its slot freed: look again, or wait for a wake-up (see the modes). */
  freed(claimant: S): void {
    const set = this.#setOf(claimant);
    if (set.last === "none" || this.#modeOf(set) === "drained") this.#pump();
    else this.woke(claimant.actions);
  }

  /** No more claims (drain, close). */
  pause(): void {
    this.#paused = true;
  }

  /** The mode of the set with this action key (`idle` for one never seen). */
  mode(actionKey: string): ClaimMode {
    const set = this.#sets.get(actionKey);
    return set === undefined ? "idle" : this.#modeOf(set);
  }

  /** Claims in flight. */
  get claiming(): number {
    return this.#inFlight.size;
  }

  #modeOf(set: ActionSet): ClaimMode {
    if (set.shortAt === this.#generationOf(set)) return set.shortAlone ? "drained" : "empty";
    if (set.last === "full") return "backlog";
    return set.claims > 0 ? "claiming" : "idle";
  }

  /** The last wake-up that concerned this set: new work may exist for it since. */
  #generationOf(set: ActionSet): number {
    return Math.max(this.#wokeAll, set.wokeAt);
  }

  #setOf(claimant: S): ActionSet {
    let set = this.#sets.get(claimant.actionKey);
    if (set === undefined) {
      set = {
        key: claimant.actionKey,
        actions: claimant.actions,
        members: 0,
        claims: 0,
        wokeAt: 0,
        last: undefined,
        shortAt: -1,
        shortAlone: false,
      };
      this.#sets.set(set.key, set);
      this.#setList.push(set);
    }
    return set;
  }

  /** Starts the claims the modes allow, in attach order, up to the concurrency. */
  #pump(): void {
    if (this.#paused) return;
    for (const claimant of this.#claimants) {
      if (this.#inFlight.size >= this.#concurrency) return;
      if (this.#inFlight.has(claimant)) continue;
      const free = claimant.free;
      if (free <= 0) continue;
      const set = this.#setOf(claimant);
      const mode = this.#modeOf(set);
      if (mode === "empty" || mode === "drained" || mode === "claiming") continue;
      if (mode === "backlog" && set.claims > 0 && free < Math.min(claimant.slots, this.#batchSize) / 4) continue;
      this.#start(claimant, set, Math.min(free, this.#batchSize));
    }
  }

  #start(claimant: S, set: ActionSet, limit: number): void {
    const claim: Claim = { set, limit, generation: this.#generationOf(set), overlapped: false };
    for (const other of this.#inFlight.values()) {
      if (!shareAction(other.set.actions, set.actions)) continue;
      other.overlapped = true;
      claim.overlapped = true;
    }
    this.#inFlight.set(claimant, claim);
    set.claims++;
    this.#claim(claimant, limit);
  }
}
