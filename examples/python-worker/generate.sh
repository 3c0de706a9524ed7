#!/usr/bin/env bash
# Generates the Python stubs the worker imports, from proto/ and the protos it
# imports (buf/validate from the compiled copy in @bufbuild/protovalidate,
# google/rpc from google-proto-files), into a git-ignored folder.
#
#   examples/python-worker/generate.sh [out-dir]   # default: examples/python-worker/build/stubs
#
# Needs: protoc and grpc_python_plugin (apt-get install protobuf-compiler
# protobuf-compiler-grpc), and `npm ci` done at the repository root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here/build/stubs}
for tool in protoc grpc_python_plugin; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y protobuf-compiler protobuf-compiler-grpc" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$root" && npx tsx scripts/validate-descriptors.ts "$work/validate.binpb")
rm -rf "$out" && mkdir -p "$out"
protoc --descriptor_set_in="$work/validate.binpb" -I"$root/proto" -I"$root/node_modules/google-proto-files" \
  --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" \
  --python_out="$out" --grpc_python_out="$out" \
  buf/validate/validate.proto $(cd "$root/proto" && ls weft/v1/*.proto) google/rpc/status.proto google/rpc/error_details.proto
echo "$out"
