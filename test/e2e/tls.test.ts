/**
 * TLS and mTLS on the one port, against real server processes with
 * certificates made by `openssl` at test time: a foreign gRPC client
 * (@grpc/grpc-js), `buf curl` through reflection, Connect over HTTP/1.1, the
 * probes, the TypeScript SDK's client and Worker running a workflow, the
 * Python worker, cleartext clients refused at once, and with
 * `--tls-client-ca` every client without a certificate from that CA refused.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as https from "node:https";
import * as tls from "node:tls";
import { resolve } from "node:path";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunStatus, Worker, createWeftClient, triggerAndWait, valueToJson, type TlsFiles } from "../../sdk/index.js";
import { grpcClients } from "../support/clients.js";
import { weftDescriptorSet } from "../support/descriptor-set.js";
import { requirePythonGrpc, startPythonWorker } from "../support/python-worker.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { createTestCertificates, type TestCertificates } from "../support/tls-certs.js";

const run = promisify(execFile);
const BUF = resolve(import.meta.dirname, "../../node_modules/.bin/buf");
const CLI = resolve(import.meta.dirname, "../../src/cli/main.ts");
const PY_DIR = resolve(import.meta.dirname, "../../examples/python-worker");
const hasPython = await requirePythonGrpc();
const certs: TestCertificates = await createTestCertificates();
const PGLITE = { DATABASE_URL: undefined, REDIS_URL: undefined };

/** ListWorkflows through @grpc/grpc-js with these channel credentials. */
async function grpcJsListWorkflows(port: number, credentials: grpc.ChannelCredentials): Promise<unknown> {
  const def = protoLoader.loadFileDescriptorSetFromBuffer(Buffer.from(weftDescriptorSet()), {
    keepCase: true,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    weft: { v1: { WorkflowService: grpc.ServiceClientConstructor } };
  };
  const client = new pkg.weft.v1.WorkflowService(`127.0.0.1:${port}`, credentials);
  try {
    return await new Promise((res, rej) =>
      (client.ListWorkflows as grpc.requestCallback<unknown> & ((...a: unknown[]) => void)).call(
        client,
        {},
        { deadline: Date.now() + 10_000 },
        (err: grpc.ServiceError | null, value: unknown) => (err ? rej(err) : res(value)),
      ),
    );
  } finally {
    client.close();
  }
}

/** A GET over https: the status and the protocol ALPN settled on. */
function httpsGet(url: string, opts: https.RequestOptions): Promise<{ status: number; alpn: string | false | null }> {
  return new Promise((res, rej) => {
    const req = https.get(url, { ...opts, timeout: 10_000 }, (response) => {
      response.resume();
      res({ status: response.statusCode ?? 0, alpn: (response.socket as tls.TLSSocket).alpnProtocol });
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", rej);
  });
}

/** The Python example worker over TLS (`tls` for the client and the worker alike) runs py-words to success. */
async function runPythonWorker(url: string, tls: TlsFiles & { caFile: string }, name: string): Promise<void> {
  const weft = createWeftClient(url, tls);
  await weft.workflows.createWorkflow({
    source: { case: "yaml", value: readFileSync(resolve(PY_DIR, "words.yaml"), "utf8") },
  });
  const worker = startPythonWorker({ address: url, name, tls });
  try {
    await worker.waitFor((e) => e.event === "welcome", 30_000);
    const done = await triggerAndWait(weft, "py-words", { title: "Ode", text: "a b a" }, { timeoutMs: 30_000 });
    expect(RunStatus[done.status]).toBe("SUCCEEDED");
  } finally {
    await worker.stop();
    weft.close();
  }
}

/** Defines a one-step workflow, runs it with a TS worker holding `tls`, and returns the run's output. */
async function runWithWorker(url: string, tls: TlsFiles, id: string): Promise<unknown> {
  const weft = createWeftClient(url, tls);
  const worker = new Worker({ address: url, name: `${id}-worker`, logger: () => undefined, tls });
  worker.register(`${id}.greet`, () => ({ hello: "Ada" }));
  try {
    await weft.workflows.createWorkflow({
      source: { case: "workflow", value: { id, steps: [{ id: "greet", action: `${id}.greet` }] } },
    });
    void worker.start();
    const done = await triggerAndWait(weft, id, { name: "Ada" }, { timeoutMs: 20_000 });
    expect(RunStatus[done.status]).toBe("SUCCEEDED");
    return valueToJson(done.output!);
  } finally {
    await worker.stop();
    weft.close();
  }
}

afterAll(() => certs.remove());

describe("TLS on the one port", () => {
  let server: ServerProcess;
  let url: string;

  beforeAll(async () => {
    server = await startServerProcess({
      env: PGLITE,
      args: ["--tls-cert", certs.serverCert, "--tls-key", certs.serverKey],
    });
    url = `https://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
  });

  it("says so at start", () => {
    expect(server.logs.some((l) => l.includes('"msg":"tls: on"'))).toBe(true);
  });

  it("serves a foreign gRPC client (@grpc/grpc-js) that trusts the CA", async () => {
    const got = await grpcJsListWorkflows(server.port, grpc.credentials.createSsl(readFileSync(certs.ca)));
    expect(got).toHaveProperty("workflows");
  });

  it("serves buf curl, which finds the schema through reflection over TLS", async () => {
    await createWeftClient(url, { caFile: certs.ca }).workflows.createWorkflow({
      source: { case: "workflow", value: { id: "tls-buf", steps: [{ id: "a", action: "tls.nothing" }] } },
    });
    const { stdout } = await run(BUF, [
      "curl",
      "--protocol",
      "grpc",
      "--cacert",
      certs.ca,
      "-d",
      '{"id":"tls-buf"}',
      `${url}/weft.v1.WorkflowService/GetWorkflow`,
    ]);
    expect(JSON.parse(stdout).workflow.id).toBe("tls-buf");
  });

  it("offers h2 and http/1.1 by ALPN, h2 first", async () => {
    const alpn = (protocols: string[]) =>
      new Promise<string | false | null>((res, rej) => {
        const socket = tls.connect(
          { host: "127.0.0.1", port: server.port, ca: readFileSync(certs.ca), ALPNProtocols: protocols },
          () => {
            res(socket.alpnProtocol);
            socket.end();
          },
        );
        socket.on("error", rej);
      });
    expect(await alpn(["h2", "http/1.1"])).toBe("h2");
    expect(await alpn(["http/1.1"])).toBe("http/1.1");
  });

  it("serves Connect over HTTP/1.1 and the probes over https", async () => {
    const weft = createWeftClient(url, { protocol: "connect", caFile: certs.ca });
    expect((await weft.workflows.listWorkflows({})).workflows.map((w) => w.id)).toContain("tls-buf");
    expect(await httpsGet(`${url}/healthz`, { ca: readFileSync(certs.ca) })).toEqual({ status: 200, alpn: false });
    const metrics = await httpsGet(`${url}/metrics`, { ca: readFileSync(certs.ca) });
    expect(metrics.status).toBe(200);
  });

  it("runs a workflow end to end with the TypeScript SDK's client and Worker", async () => {
    expect(await runWithWorker(url, { caFile: certs.ca }, "tls-sdk")).toEqual({ greet: { hello: "Ada" } });
  });

  it("refuses a client that does not trust the server's certificate", async () => {
    const weft = createWeftClient(url);
    const err = await weft.workflows.listWorkflows({}, { timeoutMs: 10_000 }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    weft.close();
    expect(err).toBeDefined();
    expect(err?.message).toMatch(/unable to verify the first certificate/);
  });

  it("refuses cleartext clients at once instead of leaving them hanging", async () => {
    const started = Date.now();
    const h2c = await grpcClients(`http://127.0.0.1:${server.port}`)
      .workflows.listWorkflows({}, { timeoutMs: 10_000 })
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(h2c).toBeDefined();
    expect(h2c?.code).not.toBe(Code.DeadlineExceeded);
    await expect(fetch(`http://127.0.0.1:${server.port}/healthz`)).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it.skipIf(!hasPython)(
    "runs the Python worker over TLS",
    async () => {
      await runPythonWorker(url, { caFile: certs.ca }, "py-tls");
    },
    90_000,
  );
});

describe("mTLS: --tls-client-ca", () => {
  let server: ServerProcess;
  let url: string;
  const withCert = { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey } satisfies TlsFiles;

  beforeAll(async () => {
    server = await startServerProcess({
      env: PGLITE,
      args: ["--tls-cert", certs.serverCert, "--tls-key", certs.serverKey, "--tls-client-ca", certs.ca],
    });
    url = `https://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
  });

  it("says so at start", () => {
    expect(server.logs.some((l) => l.includes('"msg":"tls: on, client certificates required"'))).toBe(true);
  });

  it("refuses a grpc-js client without a certificate, or with one from another CA; serves one signed by the CA", async () => {
    const ca = readFileSync(certs.ca);
    await expect(grpcJsListWorkflows(server.port, grpc.credentials.createSsl(ca))).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    const stranger = grpc.credentials.createSsl(ca, readFileSync(certs.strangerKey), readFileSync(certs.strangerCert));
    await expect(grpcJsListWorkflows(server.port, stranger)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    const client = grpc.credentials.createSsl(ca, readFileSync(certs.clientKey), readFileSync(certs.clientCert));
    expect(await grpcJsListWorkflows(server.port, client)).toHaveProperty("workflows");
  });

  it("refuses the SDK (gRPC and Connect) and the probes without a client certificate", async () => {
    for (const protocol of ["grpc", "connect"] as const) {
      const weft = createWeftClient(url, { protocol, caFile: certs.ca });
      const outcome = await weft.workflows.listWorkflows({}, { timeoutMs: 10_000 }).then(
        () => "served",
        (e: unknown) => ConnectError.from(e),
      );
      weft.close();
      // TLS 1.3: the client's handshake ends first, then the server's alert arrives on the first read.
      expect(outcome, protocol).toBeInstanceOf(ConnectError);
      expect((outcome as ConnectError).message, protocol).toMatch(/certificate required/);
    }
    await expect(httpsGet(`${url}/healthz`, { ca: readFileSync(certs.ca) })).rejects.toThrow();
  });

  it("serves buf curl and Connect with the client certificate", async () => {
    const { stdout } = await run(BUF, [
      "curl",
      "--protocol",
      "grpc",
      "--cacert",
      certs.ca,
      "--cert",
      certs.clientCert,
      "--key",
      certs.clientKey,
      "--list-methods",
      url,
    ]);
    expect(stdout).toContain("weft.v1.WorkflowService/ListWorkflows");
    const weft = createWeftClient(url, { ...withCert, protocol: "connect" });
    expect(await weft.workflows.listWorkflows({})).toHaveProperty("workflows");
  });

  it("serves the CLI given --ca-file, --cert-file and --key-file (a bare host:port then means https)", async () => {
    // The command first: `weft --address …` alone reads as `weft serve`.
    const cli = (tlsArgs: string[]) =>
      run(process.execPath, ["--import", "tsx", CLI, "workflows", "ls", "-o", "json", ...tlsArgs], {
        env: { ...process.env, WEFT_ADDRESS: `127.0.0.1:${server.port}` },
      }).then(
        ({ stdout }) => ({ code: 0, stdout, stderr: "" }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const ok = await cli(["--ca-file", certs.ca, "--cert-file", certs.clientCert, "--key-file", certs.clientKey]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(ok.stdout))).toBe(true);
    const refused = await cli(["--ca-file", certs.ca]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/certificate required/);
  });

  it("runs a workflow end to end with the SDK's client and Worker holding the certificate", async () => {
    expect(await runWithWorker(url, withCert, "mtls-sdk")).toEqual({ greet: { hello: "Ada" } });
  });

  it.skipIf(!hasPython)(
    "runs the Python worker with its client certificate",
    async () => {
      await runPythonWorker(url, withCert, "py-mtls");
    },
    90_000,
  );
});

describe("TLS settings that cannot work stop the server with one line (exit 2)", () => {
  const refused = (args: string[]) =>
    startServerProcess({ env: PGLITE, args }).then(
      async (s) => {
        await s.stop();
        return "started";
      },
      (e: Error) => e.message,
    );

  it("a certificate without its key, and a client CA without TLS", async () => {
    const [noKey, noTls] = await Promise.all([
      refused(["--tls-cert", certs.serverCert]),
      refused(["--tls-client-ca", certs.ca]),
    ]);
    expect(noKey).toMatch(/exited with 2/);
    expect(noKey).toContain("--tls-key / WEFT_TLS_KEY: TLS needs both a certificate and its key");
    expect(noTls).toMatch(/exited with 2/);
    expect(noTls).toContain("--tls-client-ca / WEFT_TLS_CLIENT_CA: client certificates need TLS");
  });

  it("a file that cannot be read, and a key that is not the certificate's", async () => {
    const [missing, mismatched] = await Promise.all([
      refused(["--tls-cert", certs.serverCert, "--tls-key", `${certs.dir}/nope.pem`]),
      refused(["--tls-cert", certs.serverCert, "--tls-key", certs.clientKey]),
    ]);
    expect(missing).toMatch(/exited with 2/);
    expect(missing).toContain(`--tls-key / WEFT_TLS_KEY: cannot read ${certs.dir}/nope.pem (ENOENT)`);
    expect(mismatched).toMatch(/exited with 2/);
    expect(mismatched).toContain("not a usable PEM certificate and key");
  });
});
