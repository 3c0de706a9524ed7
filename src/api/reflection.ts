/**
 * gRPC server reflection, v1 and v1alpha, so `buf curl`, `grpcurl` and
 * Postman work without .proto files. Answers come from the generated file
 * descriptors: a file is sent with all it imports, each file once per answer.
 * Lookups that fail are answered with `error_response` (NOT_FOUND), never
 * by ending the stream.
 *
 * @example
 *   registerReflection(router, { files: [file_weft_v1_workflow_service, file_weft_v1_run_service] });
 *   // npx buf curl --protocol grpc --http2-prior-knowledge --list-services http://localhost:8080
 */
import {
  create,
  toBinary,
  type DescEnum,
  type DescExtension,
  type DescFile,
  type DescMessage,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import { file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.js";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

/** The files whose services are advertised (health and reflection are added). */
export interface ReflectionRegistry {
  files: DescFile[];
}

/** A request of either version, by its oneof. */
type Query =
  | { case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; value: string }
  | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
  | { case: undefined; value?: undefined };

/** An answer of either version, by its oneof. */
type Answer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/**
 * Registers grpc.reflection.v1.ServerReflection and its v1alpha twin.
 *
 * @example
 *   registerReflection(router, { files: WEFT_FILES });
 */
export function registerReflection(router: ConnectRouter, registry: ReflectionRegistry): void {
  const answer = createReflectionIndex(registry.files);
  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield create(v1.ServerReflectionResponseSchema, {
          validHost: req.host,
          originalRequest: req,
          messageResponse: answer(req.messageRequest),
        });
      }
    },
  });
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield create(v1alpha.ServerReflectionResponseSchema, {
          validHost: req.host,
          originalRequest: req,
          messageResponse: answer(req.messageRequest),
        });
      }
    },
  });
}

/** What reflection answers from, indexed once. */
interface Index {
  /** By file name (`weft/v1/common.proto`). */
  files: Map<string, DescFile>;
  /** The file declaring each fully-qualified symbol: types, fields, oneofs, enum values, services, methods. */
  symbols: Map<string, DescFile>;
  /** The file declaring each extension, by `<extendee>#<number>`. */
  byExtension: Map<string, DescFile>;
  /** Extension numbers per message type (empty for a message nothing extends). */
  extensionNumbers: Map<string, number[]>;
  services: Set<string>;
}

/** Indexes files, symbols and extensions once; returns the per-request answerer. */
function createReflectionIndex(roots: DescFile[]): (q: Query) => Answer {
  const { files, symbols, byExtension, extensionNumbers, services } = indexFiles([
    ...roots,
    file_grpc_health_v1_health,
    v1.file_grpc_reflection_v1_reflection,
    v1alpha.file_grpc_reflection_v1alpha_reflection,
  ]);
  const bytes = new Map<string, Uint8Array>();
  const encode = (f: DescFile): Uint8Array => {
    let b = bytes.get(f.proto.name);
    if (!b) bytes.set(f.proto.name, (b = toBinary(FileDescriptorProtoSchema, f.proto)));
    return b;
  };
  /** The file first, then everything it imports, transitively, each once. */
  const withDependencies = (file: DescFile): Answer => {
    const out = new Map<string, Uint8Array>();
    const visit = (f: DescFile): void => {
      if (out.has(f.proto.name)) return;
      out.set(f.proto.name, encode(f));
      f.dependencies.forEach(visit);
    };
    visit(file);
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto: [...out.values()] } };
  };
  const notFound = (what: string): Answer => ({
    case: "errorResponse",
    value: { errorCode: Code.NotFound, errorMessage: `${what} not found` },
  });
  const found = (file: DescFile | undefined, what: string): Answer => (file ? withDependencies(file) : notFound(what));

  return (q) => {
    switch (q.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: [...services].sort().map((name) => ({ name })) } };
      case "fileByFilename":
        return found(files.get(q.value), `file "${q.value}"`);
      case "fileContainingSymbol":
        return found(symbols.get(q.value.replace(/^\./, "")), `symbol "${q.value}"`);
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = q.value;
        return found(
          byExtension.get(`${containingType.replace(/^\./, "")}#${extensionNumber}`),
          `extension ${extensionNumber} of "${containingType}"`,
        );
      }
      case "allExtensionNumbersOfType": {
        const type = q.value.replace(/^\./, "");
        const numbers = extensionNumbers.get(type);
        if (!numbers) return notFound(`message type "${q.value}"`);
        return { case: "allExtensionNumbersResponse", value: { baseTypeName: type, extensionNumber: numbers } };
      }
      default:
        return {
          case: "errorResponse",
          value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" },
        };
    }
  };
}

/** The served files and everything they import, transitively. */
function indexFiles(served: DescFile[]): Index {
  const index: Index = {
    files: new Map(),
    symbols: new Map(),
    byExtension: new Map(),
    extensionNumbers: new Map(),
    services: new Set(),
  };
  const { files, symbols, byExtension, extensionNumbers } = index;
  const addMessage = (file: DescFile, msg: DescMessage): void => {
    symbols.set(msg.typeName, file);
    extensionNumbers.set(msg.typeName, extensionNumbers.get(msg.typeName) ?? []);
    for (const f of msg.fields) symbols.set(`${msg.typeName}.${f.name}`, file);
    for (const o of msg.oneofs) symbols.set(`${msg.typeName}.${o.name}`, file);
    msg.nestedMessages.forEach((m) => addMessage(file, m));
    msg.nestedEnums.forEach((e) => addEnum(file, e, msg.typeName));
    msg.nestedExtensions.forEach((x) => addExtension(file, x));
  };
  const addEnum = (file: DescFile, e: DescEnum, scope: string): void => {
    symbols.set(e.typeName, file);
    // protobuf scopes enum values beside their enum (pkg.VALUE); accept pkg.Enum.VALUE too.
    for (const v of e.values)
      symbols.set(`${scope ? `${scope}.` : ""}${v.name}`, file).set(`${e.typeName}.${v.name}`, file);
  };
  const addExtension = (file: DescFile, x: DescExtension): void => {
    symbols.set(x.typeName, file);
    byExtension.set(`${x.extendee.typeName}#${x.number}`, file);
    extensionNumbers.set(x.extendee.typeName, [...(extensionNumbers.get(x.extendee.typeName) ?? []), x.number]);
  };
  const addFile = (file: DescFile): void => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    file.dependencies.forEach(addFile);
    file.messages.forEach((m) => addMessage(file, m));
    file.enums.forEach((e) => addEnum(file, e, file.proto.package));
    file.extensions.forEach((x) => addExtension(file, x));
    for (const s of file.services) {
      symbols.set(s.typeName, file);
      for (const m of s.methods) symbols.set(`${s.typeName}.${m.name}`, file);
    }
  };
  served.forEach(addFile);
  served.forEach((f) => f.services.forEach((s) => index.services.add(s.typeName)));
  return index;
}
