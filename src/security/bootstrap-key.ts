/**
 * The first admin key of a deployment that asks for keys but was given
 * none (no WEFT_ADMIN_KEY): created when the key table is empty and printed
 * once to the terminal (stderr, never the log), so a fresh deployment can be
 * set up. Replicas starting together may each find the table empty; each
 * then prints its own key, and all of them work.
 *
 * @example
 *   await ensureFirstKey(store.access, (line) => process.stderr.write(line));
 */
import { ALL_NAMESPACES } from "../engine/namespace.js";
import type { AccessStore } from "../store/index.js";
import { newApiKey } from "./api-key.js";

/**
 * Creates and prints an admin key when there is no key at all; returns its id, or undefined when keys exist.
 *
 * @example
 *   const id = await ensureFirstKey(access, print); // "3f9a0c…" the first time, then undefined
 */
export async function ensureFirstKey(access: AccessStore, print: (text: string) => void): Promise<string | undefined> {
  if ((await access.countKeys()) > 0) return undefined;
  const key = newApiKey();
  await access.createKey({
    id: key.id,
    sha256: key.sha256,
    name: "first admin key",
    role: "admin",
    actionPatterns: [],
    namespaces: [ALL_NAMESPACES],
  });
  print(
    [
      "",
      "weft: this server asks for API keys and has none yet. The first admin key (shown once, store it now):",
      "",
      `    ${key.secret}`,
      "",
      "  Use it as `Authorization: Bearer <key>` or WEFT_API_KEY for the CLI, and create the others with",
      "  `weft keys create NAME --role developer` (then revoke this one if you like).",
      "",
    ].join("\n"),
  );
  return key.id;
}
