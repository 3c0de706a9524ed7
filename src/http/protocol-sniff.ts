/**
 * Tells an HTTP/2 prior-knowledge connection (h2c, what gRPC clients open)
 * from HTTP/1.1 by its first bytes, then puts those bytes back so the server
 * that takes the socket reads the stream from its start. Bytes may arrive
 * in pieces: the decision waits only while what has arrived is still a
 * prefix of the HTTP/2 preface.
 *
 * @example
 *   sniffProtocol(socket, { timeoutMs: 10_000 }, (wire) =>
 *     wire === "h2" ? h2.emit("connection", socket) : h1.emit("connection", socket));
 */
import type { Socket } from "node:net";

/** The client connection preface of RFC 9113 §3.4. */
export const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export type WireProtocol = "h1" | "h2";

export interface SniffOptions {
  /** A socket that says nothing for this long is dropped. */
  timeoutMs: number;
}

/**
 * Waits for enough bytes to decide, then calls `onProtocol` once with the
 * socket paused and the bytes unshifted. A socket that errs, ends or stays
 * silent before that is destroyed and `onProtocol` is never called.
 *
 * @example
 *   sniffProtocol(socket, { timeoutMs: 5000 }, (wire) => console.log(wire));
 */
export function sniffProtocol(socket: Socket, opts: SniffOptions, onProtocol: (wire: WireProtocol) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const cleanup = (): void => {
    socket.off("data", onData);
    socket.off("error", onGone);
    socket.off("end", onGone);
    socket.off("timeout", onGone);
    socket.setTimeout(0);
  };
  const onGone = (): void => {
    cleanup();
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, HTTP2_PREFACE.length);
    const h2 = seen.subarray(0, n).equals(HTTP2_PREFACE.subarray(0, n));
    if (h2 && seen.length < HTTP2_PREFACE.length) return;
    cleanup();
    socket.pause();
    socket.unshift(seen);
    onProtocol(h2 ? "h2" : "h1");
  };
  socket.on("data", onData);
  socket.on("error", onGone);
  socket.on("end", onGone);
  socket.on("timeout", onGone);
  socket.setTimeout(opts.timeoutMs);
}
