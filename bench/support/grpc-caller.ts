/**
 * A lean gRPC caller for the load generators: unary calls over one raw
 * `node:http2` session, request bytes from protobuf-es, no interceptors,
 * abort-signal plumbing or async-iterable pipeline. S4 sends 200 calls/s
 * from the bench process on the same 2 cores as the server; through the
 * SDK client (connect-node) that process alone took ~80 % of a core, which
 * the server under test then waits for. The server sees the same gRPC
 * calls either way.
 *
 * @example
 *   const caller = connectGrpc("http://127.0.0.1:8080");
 *   const res = await caller.unary(WorkflowService.method.triggerWorkflow, create(TriggerWorkflowRequestSchema, { workflowId: "s4" }));
 *   caller.close();
 */
import * as http2 from "node:http2";
import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { DescMethodUnary } from "@bufbuild/protobuf";

export interface GrpcCaller {
  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethodUnary<I, O>,
    request: MessageShape<I>,
  ): Promise<MessageShape<O>>;
  close(): void;
}

/** `apiKey`: sent as `authorization: Bearer <key>` on every call (a server that asks for keys). */
export function connectGrpc(baseUrl: string, apiKey?: string): GrpcCaller {
  const auth = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  const session = http2.connect(baseUrl);
  session.on("error", () => undefined);
  return {
    unary(method, request) {
      const body = toBinary(method.input, request);
      const frame = Buffer.allocUnsafe(5 + body.length);
      frame[0] = 0;
      frame.writeUInt32BE(body.length, 1);
      frame.set(body, 5);
      return new Promise((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": `/${method.parent.typeName}/${method.name}`,
          "content-type": "application/grpc",
          te: "trailers",
          ...auth,
        });
        const chunks: Buffer[] = [];
        let status: string | undefined;
        let message = "";
        const takeStatus = (h: http2.IncomingHttpHeaders): void => {
          if (h["grpc-status"] !== undefined) {
            status = String(h["grpc-status"]);
            message = decodeURIComponent(String(h["grpc-message"] ?? ""));
          }
        };
        stream.on("response", takeStatus);
        stream.on("trailers", takeStatus);
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("error", reject);
        stream.on("close", () => {
          if (status !== "0") return reject(new Error(`${method.name}: grpc-status ${status ?? "missing"} ${message}`));
          const all = Buffer.concat(chunks);
          if (all.length < 5) return reject(new Error(`${method.name}: no response message`));
          resolve(fromBinary(method.output, all.subarray(5, 5 + all.readUInt32BE(1))));
        });
        stream.end(frame);
      });
    },
    close: () => session.close(),
  };
}
