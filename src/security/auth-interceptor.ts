/**
 * Every call passes here when auth is on: public procedures (health) go
 * through; the others need a valid key (`authenticator.ts`) whose role may
 * call the procedure (`roles.ts`). The caller's `Principal` goes into the
 * context for handlers that restrict further (a worker key's actions).
 * Mutating calls and every refused call go to the audit trail.
 *
 * @example
 *   connectNodeAdapter({ routes, interceptors: [requestLog.interceptor, createAuthInterceptor({ authenticator, audit })] });
 */
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Authenticator } from "./authenticator.js";
import type { AuditWriter } from "./audit-writer.js";
import { NAMESPACE_HEADER, resolveNamespace } from "./namespace.js";
import { namespaceKey, peerKey, principalKey, type Principal } from "./principal.js";
import { accessOf, type Access } from "./roles.js";

/** Calls without side effects that the proto does not mark so (a server stream cannot be a GET). */
const READ_STREAMS = new Set(["/weft.v1.RunService/WatchRun"]);

/**
 * @example
 *   const interceptor = createAuthInterceptor({ authenticator, audit });
 */
export function createAuthInterceptor(deps: { authenticator: Authenticator; audit: AuditWriter }): Interceptor {
  const { authenticator, audit } = deps;
  return (next) => async (req) => {
    const procedure = new URL(req.url).pathname;
    const access = accessOf(procedure);
    if (access === "public") return next(req);
    const peer = req.contextValues.get(peerKey)();
    const result = await authenticator.authenticate(req.header.get("authorization"), peer);
    if (!result.ok) {
      const code = result.throttled ? Code.ResourceExhausted : Code.Unauthenticated;
      audit.write({ procedure, outcome: outcomeOf(code), peer, ...(result.keyId ? { keyId: result.keyId } : {}) });
      throw new ConnectError(result.message, code);
    }
    const caller = result.principal;
    if (!allowed(access, caller)) {
      audit.write({ ...who(caller), procedure, outcome: "permission_denied", peer });
      throw new ConnectError(deniedMessage(caller, procedure, access), Code.PermissionDenied);
    }
    req.contextValues.set(principalKey, caller);
    let namespace: string;
    try {
      namespace = resolveNamespace(req.header.get(NAMESPACE_HEADER), caller);
    } catch (err) {
      audit.write({ ...who(caller), procedure, outcome: outcomeOf(ConnectError.from(err).code), peer });
      throw err;
    }
    req.contextValues.set(namespaceKey, namespace);
    const mutating =
      req.method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS && !READ_STREAMS.has(procedure);
    if (!mutating) return next(req);
    const record = (outcome: string, target: string | undefined): void =>
      audit.write({ ...who(caller), procedure, namespace, peer, ...(target ? { target } : {}), outcome });
    try {
      const res = await next(req);
      // A stream is refused or served in its messages (a worker's hello is checked there): record how it started.
      if (res.stream) return { ...res, message: recordingStart(res.message, (outcome) => record(outcome, undefined)) };
      record("ok", req.stream ? undefined : targetOf(req.message, res.message));
      return res;
    } catch (err) {
      record(outcomeOf(ConnectError.from(err).code), req.stream ? undefined : targetOf(req.message));
      throw err;
    }
  };
}

/**
 * The response messages of a stream, recording once how it started: `ok`
 * with its first message (or a clean end without any), the error's code
 * when it fails before, `canceled` when the client goes first.
 */
async function* recordingStart<T>(messages: AsyncIterable<T>, record: (outcome: string) => void): AsyncIterable<T> {
  let recorded = false;
  const once = (outcome: string): void => {
    if (recorded) return;
    recorded = true;
    record(outcome);
  };
  try {
    for await (const m of messages) {
      once("ok");
      yield m;
    }
    once("ok");
  } catch (err) {
    once(outcomeOf(ConnectError.from(err).code));
    throw err;
  } finally {
    once("canceled");
  }
}

function allowed(access: Access, caller: Principal): boolean {
  return access === "any-key" || (access !== "public" && access.includes(caller.role));
}

function who(caller: Principal): { keyId: string; role: string } {
  return { keyId: caller.keyId, role: caller.role };
}

function deniedMessage(caller: Principal, procedure: string, access: Access): string {
  const name = procedure.slice(1).replace(/^weft\.v1\./, "");
  const roles = Array.isArray(access) ? ` (allowed: ${access.join(", ")})` : "";
  return `API key ${caller.keyId} has role ${caller.role}, which may not call ${name}${roles}`;
}

/** The gRPC code in lower snake case, as the audit trail stores it. */
export function outcomeOf(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/**
 * The id a unary call is about: the workflow, run or key its request names;
 * else the one its answer names (the workflow a YAML spec defined, the key
 * `CreateApiKey` made) or its structured spec gives; else the event published.
 */
function targetOf(request: unknown, response?: unknown): string | undefined {
  const req = request as Record<string, unknown>;
  const res = (response ?? {}) as { workflow?: { id?: unknown }; key?: { id?: unknown } };
  const source = req.source as { case?: string; value?: { id?: unknown } } | undefined;
  const candidates = [
    req.workflowId,
    req.runId,
    req.id,
    res.workflow?.id,
    source?.case === "workflow" ? source.value?.id : undefined,
    res.key?.id,
    req.name,
  ];
  const found = candidates.find((v): v is string => typeof v === "string" && v !== "");
  return found?.slice(0, 200);
}
