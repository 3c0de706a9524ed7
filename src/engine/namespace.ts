/**
 * Namespaces: every workflow, run and task belongs to one. The name rule and
 * the default live here so the store, the API and access control agree.
 *
 * @example
 *   const problem = namespaceProblem(header ?? DEFAULT_NAMESPACE);
 *   if (problem) throw new ConnectError(problem, Code.InvalidArgument);
 */

/** Where everything goes when no namespace is named, and where data made before namespaces lives. */
export const DEFAULT_NAMESPACE = "default";

/** A key's namespace list entry that means every namespace. */
export const ALL_NAMESPACES = "*";

/** Lowercase letters, digits and inner dashes, 1–63 characters (a DNS label, like a Kubernetes namespace). */
const NAMESPACE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Why `name` cannot be a namespace, or undefined when it can.
 *
 * @example
 *   namespaceProblem("team-a"); // undefined
 *   namespaceProblem("Team A"); // 'namespace "Team A" must be …'
 */
export function namespaceProblem(name: string): string | undefined {
  if (NAMESPACE_NAME.test(name)) return undefined;
  return `namespace "${name.slice(0, 80)}" must be 1-63 lowercase letters, digits or inner dashes (like "team-a")`;
}

/**
 * The namespace a request acts in: the one it names, else the key's only
 * namespace, else `default`; with the key's list, whether it may.
 * `keyNamespaces` undefined means no key (auth off): every namespace.
 *
 * @example
 *   chooseNamespace(undefined, ["billing"]); // { namespace: "billing", allowed: true }
 *   chooseNamespace("ops", ["billing"]);     // { namespace: "ops", allowed: false }
 */
export function chooseNamespace(
  named: string | undefined,
  keyNamespaces: readonly string[] | undefined,
): { namespace: string; allowed: boolean } {
  const only = keyNamespaces?.length === 1 && keyNamespaces[0] !== ALL_NAMESPACES ? keyNamespaces[0] : undefined;
  const namespace = named || only || DEFAULT_NAMESPACE;
  const allowed =
    keyNamespaces === undefined || keyNamespaces.includes(ALL_NAMESPACES) || keyNamespaces.includes(namespace);
  return { namespace, allowed };
}
