/**
 * Certificates renewed on disk reach the port without a restart, against a
 * real server process reading its TLS files every 200 ms: the server's
 * certificate is replaced by one from another CA, and new connections are
 * served with it (a client trusting only the new CA gets in, one trusting
 * only the old one no longer does); files that do not make a certificate
 * and its key are not applied, and the server keeps serving.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as tls from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWeftClient } from "../../sdk/index.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { createTestCertificates, type TestCertificates } from "../support/tls-certs.js";

const PGLITE = { DATABASE_URL: undefined, REDIS_URL: undefined };

/** Whether a new TLS connection to the port verifies against `caFile` (a fresh handshake: no pooled socket). */
function trusted(url: string, caFile: string): Promise<boolean> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port: Number(port),
      ca: readFileSync(caFile),
      ALPNProtocols: ["h2"],
    });
    socket.once("secureConnect", () => {
      resolve(socket.authorized);
      socket.destroy();
    });
    socket.once("error", () => resolve(false));
    socket.setTimeout(5_000, () => socket.destroy(new Error("timed out")));
  });
}

/** ListWorkflows over the port, for a client trusting `caFile`: the server still answers RPCs. */
async function serves(url: string, caFile: string): Promise<boolean> {
  const weft = createWeftClient(url, { caFile });
  try {
    await weft.workflows.listWorkflows({}, { timeoutMs: 5_000 });
    return true;
  } finally {
    weft.close();
  }
}

/** Polls `test` every 100 ms for up to `ms`; returns its last answer. */
async function within(ms: number, test: () => Promise<boolean>): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await test()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("TLS certificates renewed on disk", () => {
  let before: TestCertificates;
  let after: TestCertificates;
  let dir: string;
  let server: ServerProcess;
  let url: string;

  beforeAll(async () => {
    [before, after] = await Promise.all([createTestCertificates(), createTestCertificates()]);
    dir = mkdtempSync(join(tmpdir(), "weft-tls-reload-"));
    copyFileSync(before.serverCert, join(dir, "cert.pem"));
    copyFileSync(before.serverKey, join(dir, "key.pem"));
    server = await startServerProcess({
      env: PGLITE,
      args: [
        ...["--tls-cert", join(dir, "cert.pem"), "--tls-key", join(dir, "key.pem")],
        ...["--tls-reload-interval-ms", "200"],
      ],
    });
    url = `https://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
    before?.remove();
    after?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("serves the new certificate to new connections, and keeps it when the files turn bad", async () => {
    expect(await trusted(url, before.ca)).toBe(true);
    expect(await trusted(url, after.ca)).toBe(false);
    expect(await serves(url, before.ca)).toBe(true);

    copyFileSync(after.serverKey, join(dir, "key.pem"));
    copyFileSync(after.serverCert, join(dir, "cert.pem"));
    expect(await within(5_000, () => trusted(url, after.ca))).toBe(true);
    expect(await trusted(url, before.ca)).toBe(false);
    expect(server.logs.some((l) => l.includes("tls: certificates reloaded"))).toBe(true);

    // A key that is not the certificate's: not applied, the server goes on with the last good pair.
    copyFileSync(before.serverKey, join(dir, "key.pem"));
    expect(await within(5_000, async () => server.logs.some((l) => l.includes("were not applied")))).toBe(true);
    expect(await trusted(url, after.ca)).toBe(true);
    writeFileSync(join(dir, "key.pem"), "not a key");
    await new Promise((r) => setTimeout(r, 500));
    expect(await trusted(url, after.ca)).toBe(true);
    expect(await serves(url, after.ca)).toBe(true);
  });
});
