/**
 * Errors connect-node answers before any interceptor sees the call — a
 * request above `readMaxBytes`, JSON that does not decode — are in its own
 * words ("larger than configured readMaxBytes"). This puts ours in their
 * place: every method handler's response is looked at, and an error the map
 * rewrites is written back in the protocol's own form (the JSON body of a
 * Connect unary error, a Connect end-stream message, gRPC trailers, the
 * trailer message of gRPC-Web), so every client decodes it as usual.
 *
 * @example
 *   connectNodeAdapter({ routes: withEarlyErrors(register, (err) => err.code === Code.Internal ? undefined : err) });
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  createAsyncIterable,
  encodeEnvelope,
  type UniversalHandler,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  endStreamFlag,
  endStreamFromJson,
  endStreamToJson,
  errorFromJsonBytes,
  errorToJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";

/** Our error in place of `err`, or undefined to leave it as it is. */
export type EarlyErrorMap = (err: ConnectError, method: DescMethod) => ConnectError | undefined;

/** Envelope flag of a compressed message: left alone (our errors are short, never compressed). */
const COMPRESSED = 0b1;
const STATUS_HEADERS = ["grpc-status", "grpc-message", "grpc-status-details-bin"];

/**
 * Wraps a route registration so that every handler's errors go through `map`.
 *
 * @example
 *   const routes = withEarlyErrors(registerRoutes, explainDecodeError({ maxRequestBytes, limitSetting }));
 */
export function withEarlyErrors(
  register: (router: ConnectRouter) => void,
  map: EarlyErrorMap,
): (router: ConnectRouter) => void {
  return (router) => {
    register(router);
    router.handlers.forEach((handler, i) => {
      const wrapped = async (req: Parameters<UniversalHandler>[0]) =>
        rewrite(await handler(req), (err) => map(err, handler.method));
      // The router matches paths and protocols on these properties.
      router.handlers[i] = Object.assign(wrapped, handler);
    });
  };
}

type Map1 = (err: ConnectError) => ConnectError | undefined;

function rewrite(res: UniversalServerResponse, map: Map1): UniversalServerResponse | Promise<UniversalServerResponse> {
  const type = res.header?.get("content-type") ?? "";
  if (type.startsWith("application/grpc-web")) return mapBody(res, (chunk) => grpcWebTrailer(chunk, map));
  if (type.startsWith("application/grpc")) return grpcTrailer(res, map);
  if (type.startsWith("application/connect+")) return mapBody(res, (chunk) => connectEndStream(chunk, map));
  if (res.status !== 200 && type.startsWith("application/json")) return connectUnary(res, map);
  return res;
}

/**
 * gRPC: the status is in the trailers, which the handler fills while the body
 * is read and the adapter reads once the body is done; the getter maps them then.
 */
function grpcTrailer(res: UniversalServerResponse, map: Map1): UniversalServerResponse {
  const trailer = res.trailer;
  if (!trailer) return res;
  let done = false;
  return Object.defineProperty({ ...res }, "trailer", {
    enumerable: true,
    get() {
      if (!done) {
        done = true;
        const err = findTrailerError(trailer);
        const mapped = err && map(err);
        if (mapped) {
          for (const h of STATUS_HEADERS) trailer.delete(h);
          setTrailerStatus(trailer, mapped);
        }
      }
      return trailer;
    },
  });
}

/** gRPC-Web: the trailers are the body's last envelope (each chunk is one whole envelope). */
function grpcWebTrailer(chunk: Uint8Array, map: Map1): Uint8Array {
  const data = envelopeData(chunk, trailerFlag);
  if (!data) return chunk;
  const trailer = trailerParse(data);
  const err = findTrailerError(trailer);
  const mapped = err && map(err);
  if (!mapped) return chunk;
  for (const h of STATUS_HEADERS) trailer.delete(h);
  return encodeEnvelope(trailerFlag, trailerSerialize(setTrailerStatus(trailer, mapped)));
}

/** Connect streaming: the error is in the end-stream message, the body's last envelope. */
function connectEndStream(chunk: Uint8Array, map: Map1): Uint8Array {
  const data = envelopeData(chunk, endStreamFlag);
  if (!data) return chunk;
  const { metadata, error } = endStreamFromJson(data);
  const mapped = error && map(error);
  if (!mapped) return chunk;
  return encodeEnvelope(endStreamFlag, new TextEncoder().encode(JSON.stringify(endStreamToJson(metadata, mapped, {}))));
}

/** Connect unary: the error is the whole JSON body, already in memory (one chunk) when the handler answers. */
async function connectUnary(res: UniversalServerResponse, map: Map1): Promise<UniversalServerResponse> {
  const { body, header } = res;
  if (!body || !(Symbol.asyncIterator in body) || !header || header.has("content-encoding")) return res;
  const chunks: Uint8Array[] = [];
  for await (const c of body) chunks.push(c);
  const bytes = Buffer.concat(chunks);
  let mapped: ConnectError | undefined;
  try {
    mapped = map(errorFromJsonBytes(bytes, undefined, new ConnectError("not a Connect error", Code.Unknown)));
  } catch {
    // Not a Connect error body: sent as it was.
  }
  const out = mapped ? errorToJsonBytes(mapped, {}) : bytes;
  header.set("content-length", String(out.byteLength));
  return { ...res, status: mapped ? codeToHttpStatus(mapped.code) : res.status, body: createAsyncIterable([out]) };
}

/** The payload of `chunk` when it is exactly one uncompressed envelope with `flag` set. */
function envelopeData(chunk: Uint8Array, flag: number): Uint8Array | undefined {
  if (chunk.byteLength < 5 || (chunk[0]! & flag) !== flag || (chunk[0]! & COMPRESSED) !== 0) return undefined;
  const length = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).getUint32(1);
  return length === chunk.byteLength - 5 ? chunk.subarray(5) : undefined;
}

/** Wraps `res.body`, mapping each chunk; next/throw/return reach the handler's own iterator. */
function mapBody(res: UniversalServerResponse, f: (chunk: Uint8Array) => Uint8Array): UniversalServerResponse {
  const body = res.body;
  if (!body || !(Symbol.asyncIterator in body)) return res;
  const it = body[Symbol.asyncIterator]();
  const mapped = async (r: Promise<IteratorResult<Uint8Array>>) => {
    const x = await r;
    return x.done ? x : { done: false as const, value: f(x.value) };
  };
  const wrapped: AsyncIterator<Uint8Array> = {
    next: () => mapped(it.next()),
    ...(it.throw && { throw: (e?: unknown) => mapped(it.throw!(e)) }),
    ...(it.return && { return: (v?: unknown) => mapped(it.return!(v)) }),
  };
  return { ...res, body: { [Symbol.asyncIterator]: () => wrapped } };
}
