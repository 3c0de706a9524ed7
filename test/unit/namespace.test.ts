import { describe, expect, it } from "vitest";
import { chooseNamespace, namespaceProblem } from "../../src/engine/namespace.js";

describe("namespace names", () => {
  it.each(["default", "a", "team-a", "x1", "a".repeat(63)])("accepts %s", (name) => {
    expect(namespaceProblem(name)).toBeUndefined();
  });
  it.each(["", "Team", "team_a", "-a", "a-", "a b", "a".repeat(64), "*", "a/b"])("refuses %j", (name) => {
    expect(namespaceProblem(name)).toMatch(/lowercase letters/);
  });
});

describe("chooseNamespace", () => {
  it.each([
    { named: undefined, keys: undefined, namespace: "default", allowed: true },
    { named: "ops", keys: undefined, namespace: "ops", allowed: true },
    { named: undefined, keys: ["billing"], namespace: "billing", allowed: true },
    { named: "", keys: ["billing"], namespace: "billing", allowed: true },
    { named: undefined, keys: ["billing", "ops"], namespace: "default", allowed: false },
    { named: undefined, keys: ["billing", "default"], namespace: "default", allowed: true },
    { named: "ops", keys: ["billing"], namespace: "ops", allowed: false },
    { named: "ops", keys: ["billing", "ops"], namespace: "ops", allowed: true },
    { named: undefined, keys: ["*"], namespace: "default", allowed: true },
    { named: "anything", keys: ["*"], namespace: "anything", allowed: true },
  ])(
    "named $named with key namespaces $keys → $namespace (allowed: $allowed)",
    ({ named, keys, namespace, allowed }) => {
      expect(chooseNamespace(named, keys)).toEqual({ namespace, allowed });
    },
  );
});
