/**
 * Throwaway certificates for TLS tests, made with `openssl` at test time: a
 * CA, a server certificate for 127.0.0.1 and localhost, a client certificate
 * signed by the CA, and a client certificate from another CA (which a server
 * requiring the first must refuse). EC P-256 keys, valid two days.
 *
 * @example
 * ```ts
 * const certs = await createTestCertificates();
 * await startServerProcess({ args: ["--tls-cert", certs.serverCert, "--tls-key", certs.serverKey] });
 * certs.remove();
 * ```
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestCertificates {
  dir: string;
  /** The CA the server certificate and `clientCert` chain to. */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate from a CA the server does not know. */
  strangerCert: string;
  strangerKey: string;
  remove(): void;
}

/** One config for every certificate: each `openssl` call picks its extensions section. */
const OPENSSL_CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = weft-test
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/**
 * Makes the certificates in a fresh temporary folder.
 *
 * @example
 * ```ts
 * const { ca, clientCert, clientKey } = await createTestCertificates();
 * ```
 */
export async function createTestCertificates(): Promise<TestCertificates> {
  const dir = mkdtempSync(join(tmpdir(), "weft-tls-"));
  const file = (name: string): string => join(dir, name);
  const config = file("openssl.cnf");
  writeFileSync(config, OPENSSL_CONFIG);
  const makeCa = async (name: string, cn: string) =>
    run("openssl", [
      "req",
      "-x509",
      "-config",
      config,
      "-extensions",
      "ca",
      ...NEW_KEY,
      "-keyout",
      file(`${name}-key.pem`),
      "-out",
      file(`${name}.pem`),
      "-days",
      "2",
      "-subj",
      `/CN=${cn}`,
    ]);
  const makeLeaf = async (name: string, cn: string, ca: string, section: "server" | "client") => {
    const key = file(`${name}-key.pem`);
    const csr = file(`${name}.csr`);
    await run("openssl", [
      "req",
      "-new",
      "-config",
      config,
      ...NEW_KEY,
      "-keyout",
      key,
      "-out",
      csr,
      "-subj",
      `/CN=${cn}`,
    ]);
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      file(`${ca}.pem`),
      "-CAkey",
      file(`${ca}-key.pem`),
      "-set_serial",
      String(Date.now()),
      "-days",
      "2",
      "-extfile",
      config,
      "-extensions",
      section,
      "-out",
      file(`${name}.pem`),
    ]);
  };
  await Promise.all([makeCa("ca", "weft test CA"), makeCa("other-ca", "another CA")]);
  await Promise.all([
    makeLeaf("server", "localhost", "ca", "server"),
    makeLeaf("client", "weft-test-client", "ca", "client"),
    makeLeaf("stranger", "stranger", "other-ca", "client"),
  ]);
  return {
    dir,
    ca: file("ca.pem"),
    serverCert: file("server.pem"),
    serverKey: file("server-key.pem"),
    clientCert: file("client.pem"),
    clientKey: file("client-key.pem"),
    strangerCert: file("stranger.pem"),
    strangerKey: file("stranger-key.pem"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
