/**
 * Every socket the port accepted and every HTTP/2 session on it, so the
 * server can report how many are open and close them all on shutdown:
 * without this, `server.close()` waits forever for clients that keep
 * HTTP/2 sessions or HTTP/1.1 keep-alive sockets open.
 *
 * @example
 *   const conns = createConnections(h1);
 *   net.createServer((s) => conns.accept(s));
 *   h2.on("session", (s) => conns.session(s));
 *   conns.drain();
 *   if (!(await conns.idle(10_000))) conns.destroyAll();
 */
import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { Socket } from "node:net";

export interface Connections {
  /** Tracks a freshly accepted socket, not yet speaking either protocol. */
  accept(socket: Socket): void;
  /** The socket now belongs to the HTTP/1.1 or the HTTP/2 server. */
  settled(socket: Socket): void;
  /** Tracks an HTTP/2 session (closed at once if draining already). */
  session(session: http2.ServerHttp2Session): void;
  /** Open sockets. */
  count(): number;
  /**
   * Asks every connection to finish: GOAWAY to HTTP/2 sessions (their open
   * streams may complete), idle HTTP/1.1 sockets closed, sockets that have
   * not spoken yet dropped.
   */
  drain(): void;
  /**
   * Tracks an HTTP/1.1 response: once draining, it carries `Connection:
   * close` (if its headers are not out yet) and its socket is closed when
   * it ends.
   */
  response(res: http.ServerResponse): void;
  /** Resolves true once no socket is open, or false after `ms`. */
  idle(ms: number): Promise<boolean>;
  /** Destroys every session and socket, whatever they were doing. */
  destroyAll(): void;
}

/**
 * Creates the tracker for a port whose HTTP/1.1 sockets go to `h1`.
 *
 * @example
 *   const conns = createConnections(http.createServer(handler));
 */
export function createConnections(h1: http.Server): Connections {
  const sockets = new Set<Socket>();
  const unsettled = new Set<Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const responses = new Set<http.ServerResponse>();
  let waiters: (() => void)[] = [];
  let draining = false;

  const closeIdleH1 = (): void => h1.closeIdleConnections();
  return {
    accept(socket) {
      sockets.add(socket);
      unsettled.add(socket);
      socket.once("close", () => {
        sockets.delete(socket);
        unsettled.delete(socket);
        if (sockets.size === 0) {
          waiters.forEach((w) => w());
          waiters = [];
        }
      });
      if (draining) socket.destroy();
    },
    settled(socket) {
      unsettled.delete(socket);
    },
    session(session) {
      sessions.add(session);
      session.once("close", () => sessions.delete(session));
      if (draining) session.close();
    },
    count: () => sockets.size,
    drain() {
      draining = true;
      for (const s of sessions) s.close();
      for (const s of unsettled) s.destroy();
      for (const r of responses) if (!r.headersSent) r.setHeader("connection", "close");
      closeIdleH1();
    },
    response(res) {
      responses.add(res);
      if (draining) res.setHeader("connection", "close");
      res.once("close", () => {
        responses.delete(res);
        if (draining) setImmediate(closeIdleH1);
      });
    },
    idle(ms) {
      if (sockets.size === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== done);
          resolve(false);
        }, ms);
        waiters.push(done);
      });
    },
    destroyAll() {
      for (const s of sessions) s.destroy();
      for (const s of sockets) s.destroy();
    },
  };
}
