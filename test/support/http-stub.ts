/**
 * A local HTTP server standing in for the outside world: each test sets a
 * handler per path and reads back the requests it got (with raw bodies, for
 * signature checks). It can be stopped and started again on the same port,
 * to play a receiver that is down for a while.
 *
 * @example
 *   const stub = await startHttpStub();
 *   stub.on("/ok", (req, res) => res.json(200, { hello: "world" }));
 *   // step input: { url: `${stub.url}/ok` }
 *   await stub.close();
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface StubRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
  at: number;
}

export interface StubResponse {
  raw: ServerResponse;
  json(status: number, value: unknown): void;
  text(status: number, text: string): void;
}

export type StubHandler = (req: StubRequest, res: StubResponse, count: number) => void | Promise<void>;

export interface HttpStub {
  url: string;
  port: number;
  requests: StubRequest[];
  /** Requests to one path. */
  to(path: string): StubRequest[];
  on(path: string, handler: StubHandler): void;
  /** Stops listening (open connections are destroyed). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

/** `host`: the loopback address to listen on (127.0.0.2 plays a second machine); 127.0.0.1 by default. */
export async function startHttpStub(opts: { host?: string } = {}): Promise<HttpStub> {
  const host = opts.host ?? "127.0.0.1";
  const handlers = new Map<string, StubHandler>();
  const requests: StubRequest[] = [];
  let server: Server;
  const make = () =>
    createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const path = (req.url ?? "/").split("?")[0]!;
        const entry: StubRequest = {
          method: req.method ?? "GET",
          path,
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          at: Date.now(),
        };
        requests.push(entry);
        const count = requests.filter((r) => r.path === path).length;
        const reply: StubResponse = {
          raw: res,
          json: (status, value) =>
            res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value)),
          text: (status, text) => res.writeHead(status, { "content-type": "text/plain" }).end(text),
        };
        const handler = handlers.get(path);
        if (!handler) return reply.text(404, `no handler for ${path}`);
        void Promise.resolve(handler(entry, reply, count)).catch(() => res.destroy());
      });
    });
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server = make();
      server.once("error", reject);
      server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
    });
  const port = await listen(0);
  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    url: `http://${host}:${port}`,
    port,
    requests,
    to: (path) => requests.filter((r) => r.path === path),
    on: (path, handler) => handlers.set(path, handler),
    down: stop,
    up: async () => {
      await listen(port);
    },
    close: stop,
  };
}
