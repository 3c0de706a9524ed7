/**
 * Which namespace a call acts in: the `weft-namespace` header, else the
 * key's only namespace, else `default` (`chooseNamespace` in the engine).
 * A malformed name is INVALID_ARGUMENT; a namespace the key lacks is
 * PERMISSION_DENIED, reads included: naming a namespace reveals nothing,
 * while a run or workflow of another namespace is simply not found there.
 *
 * @example
 *   const namespace = resolveNamespace(req.header.get(NAMESPACE_HEADER), caller);
 *   req.contextValues.set(namespaceKey, namespace);
 */
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { chooseNamespace, namespaceProblem } from "../engine/namespace.js";
import { namespaceKey, type Principal } from "./principal.js";

/** The request header that names the namespace. */
export const NAMESPACE_HEADER = "weft-namespace";

/**
 * The namespace for a call with this header by this caller (undefined: auth is off).
 *
 * @throws ConnectError INVALID_ARGUMENT for a malformed name, PERMISSION_DENIED for one the key lacks.
 */
export function resolveNamespace(header: string | null, caller: Principal | undefined): string {
  const named = header?.trim() || undefined;
  const problem = named === undefined ? undefined : namespaceProblem(named);
  if (problem !== undefined) throw new ConnectError(`${NAMESPACE_HEADER}: ${problem}`, Code.InvalidArgument);
  const { namespace, allowed } = chooseNamespace(named, caller?.namespaces);
  if (!allowed) {
    const which = caller!.namespaces.map((n) => `"${n}"`).join(", ");
    const hint = named === undefined ? `; name one with the ${NAMESPACE_HEADER} header` : "";
    throw new ConnectError(
      `API key ${caller!.keyId} may not act in namespace "${namespace}" (its namespaces: ${which})${hint}`,
      Code.PermissionDenied,
    );
  }
  return namespace;
}

/**
 * The interceptor of a server without keys: every namespace is open, the
 * header only chooses one. (With keys, the auth interceptor does this.)
 *
 * @example
 *   interceptors: [createNamespaceInterceptor()]
 */
export function createNamespaceInterceptor(): Interceptor {
  return (next) => (req) => {
    req.contextValues.set(namespaceKey, resolveNamespace(req.header.get(NAMESPACE_HEADER), undefined));
    return next(req);
  };
}
