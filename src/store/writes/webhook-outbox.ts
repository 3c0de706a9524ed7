/**
 * The run-webhook outbox (`webhook_deliveries`, filled by the trigger of
 * migration 0003): claiming due deliveries and recording each attempt.
 *
 * Claim strategy: one statement picks the oldest due rows `FOR UPDATE SKIP
 * LOCKED` (replicas take disjoint rows), bumps their attempt count and pushes
 * `next_at` out by a lease (if this replica dies mid-delivery another one
 * retries after it), and returns everything the body needs: the run, the
 * step's output and the workflow's secret. Delivery is at least once: a
 * receiver may see a delivery again when an answer was lost; the
 * `x-weft-delivery` id lets it deduplicate.
 */
import { sql, type Kysely } from "kysely";
import type { Failure, JsonValue, RunStatus, StepStatus } from "../../engine/model.js";
import type { Database } from "../db/schema.js";
import type { WebhookAttempt, WebhookDelivery } from "../types.js";

interface ClaimRow {
  id: string | number;
  run_id: string;
  kind: WebhookDelivery["kind"];
  url: string;
  run_status: RunStatus | null;
  step_id: string | null;
  step_status: StepStatus | null;
  step_attempt: number | null;
  error: Failure | null;
  attempts: number;
  namespace: string;
  workflow_id: string;
  workflow_version: number;
  run_output: JsonValue | null;
  run_error: Failure | null;
  step_output: JsonValue | null;
  secret: string | null;
}

/**
 * Claims up to `limit` due deliveries for `leaseMs`.
 *
 * @example
 * ```ts
 * const due = await claimWebhookDeliveries(db, 20, 30_000);
 * ```
 */
export async function claimWebhookDeliveries(
  db: Kysely<Database>,
  limit: number,
  leaseMs: number,
): Promise<WebhookDelivery[]> {
  const { rows } = await sql<ClaimRow>`
    with picked as (
      select id from webhook_deliveries
      where delivered_at is null and failed_at is null and next_at <= now()
      order by next_at
      limit ${Math.max(1, Math.floor(limit))}
      for update skip locked
    ), claimed as (
      update webhook_deliveries d set attempts = d.attempts + 1, next_at = now() + ${leaseMs} * interval '1 millisecond'
      from picked p where d.id = p.id
      returning d.id, d.run_id, d.kind, d.url, d.run_status, d.step_id, d.step_status, d.step_attempt, d.error, d.attempts
    )
    select c.*, r.namespace, r.workflow_id, r.workflow_version, r.output as run_output, r.error as run_error,
           s.output as step_output, v.hooks ->> 'secret' as secret
    from claimed c
    join runs r on r.id = c.run_id
    join workflow_versions v on v.namespace = r.namespace and v.workflow_id = r.workflow_id and v.version = r.workflow_version
    left join step_runs s on s.run_id = c.run_id and s.step_id = c.step_id
    order by c.id
  `.execute(db);
  return rows.map((r) => ({
    id: String(r.id),
    runId: r.run_id,
    namespace: r.namespace,
    workflowId: r.workflow_id,
    workflowVersion: r.workflow_version,
    kind: r.kind,
    url: r.url,
    attempt: r.attempts,
    ...(r.secret ? { secret: r.secret } : {}),
    ...(r.run_status
      ? { runStatus: r.run_status, runOutput: r.run_output, ...(r.run_error ? { runError: r.run_error } : {}) }
      : {}),
    ...(r.step_id
      ? { stepId: r.step_id, stepStatus: r.step_status!, stepAttempt: r.step_attempt ?? 0, stepOutput: r.step_output }
      : {}),
    ...(r.error ? { error: r.error } : {}),
  }));
}

/**
 * Records one delivery attempt: delivered, retried after `retryInMs`, or
 * given up; and a WEBHOOK event in the run's history, in one statement.
 *
 * @example
 * ```ts
 * await finishWebhookDelivery(db, { id, outcome: "retry", retryInMs: 2000, message: "POST … → 503" });
 * ```
 */
export async function finishWebhookDelivery(db: Kysely<Database>, a: WebhookAttempt): Promise<void> {
  const ok = a.outcome === "delivered";
  const giveUp = a.outcome === "gave_up";
  await sql`
    with upd as (
      update webhook_deliveries set
        delivered_at = case when ${ok} then now() end,
        failed_at = case when ${giveUp} then now() end,
        next_at = case when ${a.outcome === "retry"} then now() + ${a.retryInMs ?? 0} * interval '1 millisecond' else next_at end,
        last_error = ${ok ? null : a.message}
      where id = ${a.id}
      returning run_id, step_id, attempts
    )
    insert into run_events (run_id, type_code, step_id, attempt, message)
    select run_id, weft_code('WEBHOOK'), step_id, attempts, ${a.message} from upd
  `.execute(db);
}
