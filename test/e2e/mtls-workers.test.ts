/**
 * mTLS for workers only (`--tls-client-ca` with `--tls-client-auth
 * workers`), against a real server process with certificates made by
 * `openssl` at test time: calls without a client certificate are served
 * (they authenticate otherwise), the worker stream without one is refused
 * with UNAUTHENTICATED, with a stranger CA's too, and a worker holding a
 * certificate of the client CA runs a workflow. A bad setting stops the
 * server with one line.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunStatus, Worker, createWeftClient, triggerAndWait, type TlsFiles } from "../../sdk/index.js";
import { runWeftToExit, startServerProcess, type ServerProcess } from "../support/server-process.js";
import { createTestCertificates, type TestCertificates } from "../support/tls-certs.js";

const certs: TestCertificates = await createTestCertificates();
const PGLITE = { DATABASE_URL: undefined, REDIS_URL: undefined };

/** How a worker holding `tls` starts: "welcomed", or the code and message it was refused with. */
async function startWorker(url: string, tls: TlsFiles): Promise<string> {
  const worker = new Worker({ address: url, name: "mtls-w", logger: () => undefined, tls, welcomeTimeoutMs: 10_000 });
  worker.register("mtlsw.greet", () => ({ hello: "Ada" }));
  try {
    await worker.start();
    return "welcomed";
  } catch (err) {
    const e = ConnectError.from(err);
    return `${Code[e.code]}: ${e.rawMessage}`;
  } finally {
    await worker.stop();
  }
}

afterAll(() => certs.remove());

describe("mTLS for workers only: --tls-client-auth workers", () => {
  let server: ServerProcess;
  let url: string;

  beforeAll(async () => {
    server = await startServerProcess({
      env: PGLITE,
      args: [
        ...["--tls-cert", certs.serverCert, "--tls-key", certs.serverKey],
        ...["--tls-client-ca", certs.ca, "--tls-client-auth", "workers"],
      ],
    });
    url = `https://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
  });

  it("says so at start, and serves calls without a client certificate", async () => {
    expect(server.logs.some((l) => l.includes('"msg":"tls: on, client certificates required of workers"'))).toBe(true);
    for (const protocol of ["grpc", "connect"] as const) {
      const weft = createWeftClient(url, { protocol, caFile: certs.ca });
      expect(await weft.workflows.listWorkflows({})).toHaveProperty("workflows");
      weft.close();
    }
  });

  it("refuses a worker without a certificate, or with a stranger CA's, and runs one holding the client CA's", async () => {
    const refused =
      "Unauthenticated: this server requires workers to present a client certificate signed by its client CA (mTLS)";
    expect(await startWorker(url, { caFile: certs.ca })).toBe(refused);
    expect(await startWorker(url, { caFile: certs.ca, certFile: certs.strangerCert, keyFile: certs.strangerKey })).toBe(
      refused,
    );

    const withCert = { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey } satisfies TlsFiles;
    const weft = createWeftClient(url, { caFile: certs.ca });
    const worker = new Worker({ address: url, name: "mtls-ok", logger: () => undefined, tls: withCert });
    worker.register("mtlsw.greet", () => ({ hello: "Ada" }));
    try {
      await weft.workflows.createWorkflow({
        source: { case: "workflow", value: { id: "mtlsw", steps: [{ id: "greet", action: "mtlsw.greet" }] } },
      });
      await worker.start();
      const done = await triggerAndWait(weft, "mtlsw", {}, { timeoutMs: 20_000 });
      expect(RunStatus[done.status]).toBe("SUCCEEDED");
    } finally {
      await worker.stop();
      weft.close();
    }
  });
});

describe("--tls-client-auth settings that cannot work", () => {
  it("workers without a client CA stops the server with one line (exit 2)", async () => {
    const r = await runWeftToExit(
      [
        "serve",
        "--port",
        "0",
        "--tls-cert",
        certs.serverCert,
        "--tls-key",
        certs.serverKey,
        "--tls-client-auth",
        "workers",
      ],
      PGLITE,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--tls-client-auth / WEFT_TLS_CLIENT_AUTH: workers needs --tls-client-ca");
  });
});
