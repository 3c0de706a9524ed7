/**
 * eslint.config.js enforces the arrows of docs/architecture.md ("Parts and
 * arrows"): an import no arrow allows is an error, type-only ones included;
 * the arrows the table draws pass.
 */
import { ESLint } from "eslint";
import { beforeAll, describe, expect, it } from "vitest";

let eslint: ESLint;
beforeAll(() => {
  eslint = new ESLint({ cwd: process.cwd() });
});

/** The `no-restricted-imports` messages for one import line placed in `file`. */
async function refusals(file: string, line: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${line}\nexport type Used = typeof used;\n`, { filePath: file });
  return result!.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

const use = (spec: string) => `import type { used } from "${spec}";`;

describe("layer arrows", () => {
  it.each([
    ["src/engine/planner.ts", use("./model.js")],
    ["src/engine/cron.ts", use("croner")],
    ["src/engine/cel.ts", use("@bufbuild/cel/ext")],
    ["src/store/types.ts", use("../engine/model.js")],
    ["src/store/migrations/0009-next.ts", use("../../engine/model.js")],
    ["src/store/open.ts", use("../log.js")],
    ["src/registry/open.ts", use("../leases/open.js")],
    ["src/dispatch/builtin-runner.ts", use("../builtins/registry.js")],
    ["src/dispatch/dispatcher.ts", use("../leases/types.js")],
    ["src/jobs/scheduler.ts", use("../dispatch/tracer.js")],
    ["src/security/index.ts", use("../store/access-types.js")],
    ["src/api/worker-service.ts", use("../security/index.js")],
    ["src/api/worker-list.ts", use("../registry/types.js")],
    ["src/api/routes.ts", use("../../gen/weft/v1/common_pb.js")],
    ["src/http/server.ts", use("../api/routes.js")],
    ["src/observability/metrics.ts", use("../dispatch/observer.js")],
    ["src/server.ts", use("./api/routes.js")],
    ["src/cli/main.ts", use("../server.js")],
    ["src/cli/commands/runs.ts", use("../../../sdk/index.js")],
    ["sdk/client.ts", use("../gen/weft/v1/run_service_pb.js")],
    ["sdk/worker.ts", use("./link.js")],
    ["console/src/api.ts", use("../../gen/weft/v1/run_service_pb.js")],
    ["console/src/pages/runs.tsx", use("../../../gen/weft/v1/common_pb.js")],
  ])("%s may: %s", async (file, line) => {
    expect(await refusals(file, line)).toEqual([]);
  });

  it.each([
    ["src/engine/planner.ts", use("../store/types.js"), /src\/engine imports nothing outside itself/],
    ["src/engine/cron.ts", use("node:timers"), /no node: modules/],
    ["src/engine/cel.ts", use("pino"), /uses only @bufbuild\/cel, croner, yaml/],
    ["src/engine/cel.ts", use("../../gen/weft/v1/common_pb.js"), /nothing outside itself/],
    ["src/store/types.ts", use("../dispatch/dispatcher.js"), /src\/store may import engine, log; not dispatch/],
    ["src/store/migrations/0009-next.ts", use("../../api/routes.js"), /not api/],
    ["src/store/open.ts", use("../server.js"), /not the composition root/],
    ["src/leases/open.ts", use("../registry/types.js"), /src\/leases may import log; not registry/],
    ["src/registry/open.ts", use("../store/types.js"), /not store/],
    ["src/builtins/delay.ts", use("../dispatch/dispatcher.js"), /not dispatch/],
    ["src/dispatch/dispatcher.ts", use("../api/routes.js"), /not api/],
    ["src/dispatch/dispatcher.ts", use("../jobs/scheduler.js"), /not jobs/],
    ["src/jobs/scheduler.ts", use("../api/routes.js"), /not api/],
    ["src/security/authenticator.ts", use("../http/request-context.js"), /not http/],
    ["src/store/types.ts", use("../security/roles.js"), /not security/],
    ["src/dispatch/dispatcher.ts", use("../../gen/weft/v1/common_pb.js"), /not gen/],
    ["src/api/routes.ts", use("../http/server.js"), /not http/],
    ["src/api/decode-errors.ts", use("../config.js"), /not the composition root/],
    ["src/api/routes.ts", use("../cli/main.js"), /not the composition root/],
    ["src/http/server.ts", use("../config-types.js"), /not the composition root/],
    ["src/http/server.ts", use("../store/types.js"), /not store/],
    ["src/observability/metrics.ts", use("../api/routes.js"), /not api/],
    ["src/observability/metrics.ts", use("../../sdk/index.js"), /not sdk/],
    ["src/log.ts", use("./config.js"), /leaf/],
    ["src/config.ts", use("./server.js"), /Only src\/cli/],
    ["src/server.ts", use("./cli/main.js"), /Only src\/cli/],
    ["sdk/client.ts", use("../src/engine/model.js"), /sdk\/ imports gen\/ only/],
    ["console/src/api.ts", use("../../sdk/index.js"), /console\/ imports gen\/ only/],
    ["console/src/pages/run.tsx", use("../../../src/engine/model.js"), /console\/ imports gen\/ only/],
  ])("%s may not: %s", async (file, line, why) => {
    const messages = await refusals(file, line);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(why);
  });

  it("re-exports count as imports", async () => {
    expect(await refusals("src/store/types.ts", 'export type { used } from "../dispatch/dispatcher.js";')).toHaveLength(
      1,
    );
  });
});
