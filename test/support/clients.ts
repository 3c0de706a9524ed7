/**
 * Typed Connect clients for a running server, over each protocol.
 *
 * @example
 *   const { workflows, runs } = grpcClients(server.url);
 */
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { RunService } from "../../gen/weft/v1/run_service_pb.js";
import { WorkflowService } from "../../gen/weft/v1/workflow_service_pb.js";

export interface Clients {
  workflows: Client<typeof WorkflowService>;
  runs: Client<typeof RunService>;
}

/** gRPC over cleartext HTTP/2. */
export function grpcClients(baseUrl: string): Clients {
  const transport = createGrpcTransport({ baseUrl });
  return { workflows: createClient(WorkflowService, transport), runs: createClient(RunService, transport) };
}

/** Connect protocol (binary) over HTTP/1.1. */
export function connectClients(baseUrl: string, opts: { json?: boolean } = {}): Clients {
  const transport = createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: !opts.json });
  return { workflows: createClient(WorkflowService, transport), runs: createClient(RunService, transport) };
}

/** gRPC-Web over HTTP/1.1. */
export function grpcWebClients(baseUrl: string): Clients {
  const transport = createGrpcWebTransport({ baseUrl, httpVersion: "1.1" });
  return { workflows: createClient(WorkflowService, transport), runs: createClient(RunService, transport) };
}
