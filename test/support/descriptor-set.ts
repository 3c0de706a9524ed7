/**
 * A serialized FileDescriptorSet of the weft.v1 files and everything they
 * import, built from the generated code: lets foreign clients such as grpc-js
 * (through @grpc/proto-loader) load the contract without protoc.
 */
import { create, toBinary, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { file_weft_v1_run_service } from "../../gen/weft/v1/run_service_pb.js";
import { file_weft_v1_worker_service } from "../../gen/weft/v1/worker_service_pb.js";
import { file_weft_v1_workflow_service } from "../../gen/weft/v1/workflow_service_pb.js";

export function weftDescriptorSet(): Uint8Array {
  const seen = new Map<string, DescFile>();
  const visit = (f: DescFile): void => {
    if (seen.has(f.name)) return;
    f.dependencies.forEach(visit);
    seen.set(f.name, f);
  };
  [file_weft_v1_workflow_service, file_weft_v1_run_service, file_weft_v1_worker_service].forEach(visit);
  return toBinary(
    FileDescriptorSetSchema,
    create(FileDescriptorSetSchema, { file: [...seen.values()].map((f) => f.proto) }),
  );
}
