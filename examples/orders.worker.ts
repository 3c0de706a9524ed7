/**
 * The worker of examples/orders.yaml: validate → reserve → charge (retried)
 * → ship, and a failure handler.
 *
 *   npx tsx examples/orders.worker.ts   # a worker, until Ctrl-C
 *   npx tsx examples/run.ts orders      # one run, printed
 */
import { resolve } from "node:path";
import { TaskError, type TaskContext, type Worker } from "weft/sdk";
import { isMain, serveExample, type Example } from "./example.js";

export interface Item {
  sku: string;
  qty: number;
  price_cents: number;
}

/** The demo gateway times out this many times before each charge goes through. */
export const GATEWAY_TIMEOUTS = 2;

function validate({ order_id, items }: { order_id: string; items: Item[] }) {
  if (!Array.isArray(items) || items.length === 0)
    throw TaskError.nonRetryable("INVALID_ORDER", `order ${order_id} has no items`);
  for (const item of items) {
    if (!Number.isInteger(item.qty) || item.qty < 1)
      throw TaskError.nonRetryable("INVALID_ORDER", `${item.sku}: qty must be a positive integer`);
  }
  return { total_cents: items.reduce((sum, i) => sum + i.qty * i.price_cents, 0), lines: items.length };
}

function reserve({ order_id, items }: { order_id: string; items: Item[] }) {
  return { reservation: `rsv-${order_id}`, units: items.reduce((n, i) => n + i.qty, 0) };
}

function charge(
  { order_id, card, amount_cents }: { order_id: string; card: string; amount_cents: number },
  ctx: TaskContext,
) {
  // Retryable as far as the worker knows; the workflow's policy lists CARD_DECLINED as non-retryable.
  if (card === "tok_declined") throw new TaskError("CARD_DECLINED", `card declined for order ${order_id}`);
  if (ctx.attempt <= GATEWAY_TIMEOUTS)
    throw TaskError.retryable("GATEWAY_TIMEOUT", `payment gateway timed out (attempt ${ctx.attempt})`);
  return { payment: `pay-${order_id}`, amount_cents, attempt: ctx.attempt };
}

function ship({ order_id, reservation }: { order_id: string; reservation: string }) {
  return { tracking: `TRK-${order_id.toUpperCase()}`, reservation };
}

type Outputs = Record<"validate" | "reserve" | "charge" | "ship", Record<string, unknown> | null>;

/** Runs when a step failed: undo what succeeded (the outputs of failed or skipped steps are null). */
function handleFailure({ input, steps }: { input: { order_id: string; customer: string }; steps: Outputs }) {
  const order = ["validate", "reserve", "charge", "ship"] as const;
  const failedStep = order.find((id) => steps[id] === null) ?? "unknown";
  return {
    order_id: input.order_id,
    failed_step: failedStep,
    released: (steps.reserve?.reservation as string | undefined) ?? null,
    notified: input.customer,
  };
}

/** Registers the five `orders.*` actions on `worker`. */
export function register(worker: Worker): Worker {
  return worker
    .register("orders.validate", validate)
    .register("orders.reserve", reserve)
    .register("orders.charge", charge)
    .register("orders.ship", ship)
    .register("orders.handle-failure", handleFailure);
}

export const example: Example = {
  workflowId: "order-processing",
  yamlFile: resolve(import.meta.dirname, "orders.yaml"),
  sampleInput: {
    order_id: "o-1001",
    customer: "ada@example.com",
    card: "tok_visa",
    items: [
      { sku: "mug", qty: 2, price_cents: 1200 },
      { sku: "tea", qty: 1, price_cents: 850 },
    ],
  },
  register,
};

if (isMain(import.meta)) await serveExample(example);
