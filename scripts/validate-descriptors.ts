/**
 * Writes the descriptors of buf/validate/validate.proto (and its imports) as a
 * FileDescriptorSet, taken from the compiled copy in @bufbuild/protovalidate.
 *
 *   tsx scripts/validate-descriptors.ts build/proto/validate.binpb
 */
import { writeFileSync } from "node:fs";
import { create, toBinary, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

const out = process.argv[2];
if (!out) throw new Error("usage: validate-descriptors.ts <out.binpb>");

const seen = new Map<string, DescFile>();
const visit = (f: DescFile): void => {
  if (seen.has(f.name)) return;
  f.dependencies.forEach(visit);
  seen.set(f.name, f);
};
visit(file_buf_validate_validate);
const set = create(FileDescriptorSetSchema, { file: [...seen.values()].map((f) => f.proto) });
writeFileSync(out, toBinary(FileDescriptorSetSchema, set));
