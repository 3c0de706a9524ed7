/**
 * Delivers run webhooks (`webhooks.on_complete`, `on_failure`, `on_step`)
 * from the Postgres outbox: each replica polls for due deliveries, POSTs a
 * JSON body signed with `x-weft-signature` (the workflow's secret, else the
 * server default; none: unsigned), and records every attempt in the run's
 * history. Failures retry with exponential backoff (`retryMs`, doubling, at
 * most 10 minutes, jitter +0-20 %) for up to `MAX_ATTEMPTS`, across restarts
 * (the schedule lives in Postgres). Runs never wait for a receiver. A URL
 * the egress policy refuses (`--egress-allow`, `--egress-deny`) is given up
 * at once: a retry would be refused the same way.
 *
 * Body: `{ type, delivery_id, run: { id, workflow_id, workflow_version,
 * status, output, error }, step?: { id, status, attempt, output, error } }`.
 * Headers: `x-weft-delivery` (stable across retries, for deduplication),
 * `x-weft-event` (the type).
 *
 * @example
 *   const deliverer = createWebhookDeliverer({ store, logger, egress, defaultSecret: "", retryMs: 1000, pollMs: 250 });
 *   await deliverer.stop();
 */
import { EgressDeniedError, type EgressClient } from "../builtins/egress-client.js";
import { signatureHeaders } from "../builtins/signature.js";
import { EGRESS_DENIED } from "../engine/failures.js";
import type { JsonValue } from "../engine/model.js";
import type { Logger } from "../log.js";
import type { Store, WebhookAttempt, WebhookDelivery } from "../store/index.js";
import type { WebhookObserver } from "../dispatch/observer.js";

/** Attempts before a delivery is given up (about a day with the default backoff). */
export const MAX_ATTEMPTS = 150;
const MAX_BACKOFF_MS = 600_000;
const TIMEOUT_MS = 10_000;
/** How long a claimed delivery is reserved for this replica. */
const LEASE_MS = TIMEOUT_MS * 3;

export interface WebhookDeliverer {
  stop(): Promise<void>;
}

/** The JSON body of a delivery. */
export function webhookBody(d: WebhookDelivery): JsonValue {
  const body: Record<string, JsonValue> = {
    type: d.kind,
    delivery_id: d.id,
    run: {
      id: d.runId,
      namespace: d.namespace,
      workflow_id: d.workflowId,
      workflow_version: d.workflowVersion,
      ...(d.runStatus ? { status: d.runStatus, output: d.runOutput ?? null } : {}),
      ...(d.runError ? { error: { ...d.runError } } : {}),
    },
  };
  if (d.stepId) {
    body.step = {
      id: d.stepId,
      status: d.stepStatus ?? null,
      attempt: d.stepAttempt ?? 0,
      output: d.stepStatus === "SUCCEEDED" ? (d.stepOutput ?? null) : null,
      ...(d.error ? { error: { ...d.error } } : {}),
    };
  }
  return body;
}

export function createWebhookDeliverer(deps: {
  store: Pick<Store, "claimWebhookDeliveries" | "finishWebhookDelivery">;
  logger: Logger;
  /** Outbound HTTP, held to the server's egress policy. */
  egress: EgressClient;
  defaultSecret: string;
  /** First retry delay (ms). */
  retryMs: number;
  pollMs: number;
  batch?: number;
  /** Counts delivery attempts by outcome (the metrics); default none. */
  observer?: WebhookObserver;
}): WebhookDeliverer {
  const { store, logger } = deps;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const stopping = new AbortController();
  let current: Promise<void> = Promise.resolve();

  /** Records the attempt; counted as it ends, whether or not the store then records it. */
  const finish = (attempt: WebhookAttempt): Promise<void> => {
    deps.observer?.webhookAttempt(attempt.outcome);
    return store.finishWebhookDelivery(attempt);
  };

  const deliver = async (d: WebhookDelivery): Promise<void> => {
    const { status, problem, denied } = await postWebhook(
      deps.egress,
      d,
      d.secret || deps.defaultSecret,
      stopping.signal,
    );
    await finish(attemptOutcome(d, status, problem, deps.retryMs, Math.random(), denied));
  };

  const pass = async (): Promise<void> => {
    for (;;) {
      const due = await store.claimWebhookDeliveries(deps.batch ?? 20, LEASE_MS);
      if (due.length === 0 || stopped) return;
      await Promise.all(
        due.map((d) =>
          deliver(d).catch((err: unknown) =>
            logger.warn({ err, deliveryId: d.id }, "could not record a webhook attempt"),
          ),
        ),
      );
    }
  };

  const loop = () => {
    if (stopped) return;
    current = pass()
      .catch((err: unknown) => logger.warn({ err }, "webhook pass failed"))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, deps.pollMs);
      });
  };
  loop();

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      stopping.abort();
      await current;
    },
  };
}

/** POSTs one delivery; `problem` says why it did not reach a 2xx answer, `denied` that the egress policy refused it. */
async function postWebhook(
  egress: EgressClient,
  d: WebhookDelivery,
  secret: string,
  stopping: AbortSignal,
): Promise<{ status: number; problem?: string; denied?: boolean }> {
  const body = JSON.stringify(webhookBody(d));
  const headers = {
    ...(secret ? signatureHeaders(secret, body, new Date()) : { "content-type": "application/json" }),
    "x-weft-delivery": d.id,
    "x-weft-event": d.kind,
  };
  try {
    const res = await egress.request({
      method: "POST",
      url: d.url,
      headers,
      body,
      signal: AbortSignal.any([stopping, AbortSignal.timeout(TIMEOUT_MS)]),
    });
    // The answer's body says nothing we keep: read it to its end so the connection can be reused.
    for await (const _ of res.body) void _;
    const ok = res.status >= 200 && res.status <= 299;
    return ok ? { status: res.status } : { status: res.status, problem: `answered ${res.status}` };
  } catch (err) {
    if (err instanceof EgressDeniedError)
      return { status: 0, problem: `${EGRESS_DENIED}: ${err.message}`, denied: true };
    const code = (err as NodeJS.ErrnoException).code;
    return { status: 0, problem: code ?? (err as Error).name ?? String(err) };
  }
}

/**
 * What one attempt of a delivery comes to: delivered, retried after a
 * doubling backoff (at most 10 minutes, +0–20 % jitter from `random`), or
 * given up after `MAX_ATTEMPTS`, or at once when `denied` (the egress
 * policy refused the URL: every retry would be refused too).
 *
 * @example
 *   attemptOutcome(delivery, 503, "answered 503", 1000, Math.random()); // { outcome: "retry", retryInMs: ~1000·2^(n-1), ... }
 */
export function attemptOutcome(
  d: Pick<WebhookDelivery, "id" | "kind" | "url" | "attempt">,
  status: number,
  problem: string | undefined,
  retryMs: number,
  random: number,
  denied = false,
): WebhookAttempt {
  const what = `${d.kind} webhook POST ${d.url}`;
  if (problem === undefined) {
    return { id: d.id, outcome: "delivered", message: `${what} → ${status} (attempt ${d.attempt})` };
  }
  if (denied) {
    return { id: d.id, outcome: "gave_up", message: `${what} refused: ${problem} (attempt ${d.attempt}); not retried` };
  }
  if (d.attempt >= MAX_ATTEMPTS) {
    return { id: d.id, outcome: "gave_up", message: `${what} failed: ${problem} (attempt ${d.attempt}); giving up` };
  }
  const base = Math.min(MAX_BACKOFF_MS, retryMs * 2 ** Math.min(30, d.attempt - 1));
  const retryInMs = Math.round(base * (1 + 0.2 * random));
  return {
    id: d.id,
    outcome: "retry",
    retryInMs,
    message: `${what} failed: ${problem} (attempt ${d.attempt}); retry in ${retryInMs} ms`,
  };
}
