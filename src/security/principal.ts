/**
 * Who is calling: the key a request was authenticated with, put in connect's
 * context by the auth interceptor. Absent (the default value) when the
 * server runs without auth: then nothing is restricted.
 *
 * @example
 *   const caller = ctx.values.get(principalKey);
 *   if (caller && !allowsActions(caller, actions)) throw denied();
 */
import { createContextKey } from "@connectrpc/connect";
import { DEFAULT_NAMESPACE } from "../engine/namespace.js";
import type { Role } from "./roles.js";

export interface Principal {
  /** The key's public id (`bootstrap` for the key from WEFT_ADMIN_KEY). */
  keyId: string;
  role: Role;
  /** Worker keys: the actions they may serve. */
  actionPatterns: readonly string[];
  /** The namespaces the key may act in; `*` is every one. */
  namespaces: readonly string[];
}

export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "weft caller" });

/** The namespace the call acts in (`namespace.ts` chooses it); `default` until then. */
export const namespaceKey = createContextKey<string>(DEFAULT_NAMESPACE, { description: "weft namespace" });

/** The client's address (IPv4, IPv6, or "" when unknown), set by the HTTP layer; read on demand. */
export const peerKey = createContextKey<() => string>(() => "", { description: "weft client address" });
