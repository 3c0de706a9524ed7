#!/usr/bin/env bash
# Regenerates gen/ from proto/, and the Python SDK's stubs (sdk-python/src/weft/_gen/).
#
# buf cannot fetch buf/validate/validate.proto (no schema registry here), so:
#   1. dump the compiled protovalidate descriptors shipped by @bufbuild/protovalidate,
#   2. compile our protos (plus grpc health/reflection from npm) with protoc against them,
#   3. buf lint + buf generate from that image,
#   4. the Python stubs with protoc's python, pyi and grpc_python plugins (sdk-python/scripts/generate.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "protoc is missing: apt-get install -y protobuf-compiler" >&2; exit 1; }
build=build/proto
rm -rf "$build" && mkdir -p "$build/deps/grpc/health/v1" "$build/deps/grpc/reflection" "$build/deps/google/rpc"
cp node_modules/grpc-health-check/proto/health/v1/health.proto "$build/deps/grpc/health/v1/"
cp node_modules/google-proto-files/google/rpc/error_details.proto "$build/deps/google/rpc/"
cp -r node_modules/@grpc/reflection/build/proto/grpc/reflection/v1 node_modules/@grpc/reflection/build/proto/grpc/reflection/v1alpha "$build/deps/grpc/reflection/"
npx tsx scripts/validate-descriptors.ts "$build/validate.binpb"
protoc --descriptor_set_in="$build/validate.binpb" -Iproto -I"$build/deps" \
  --include_imports --include_source_info --descriptor_set_out="$build/image.binpb" \
  $(cd proto && ls weft/v1/*.proto) grpc/health/v1/health.proto grpc/reflection/v1/reflection.proto grpc/reflection/v1alpha/reflection.proto google/rpc/error_details.proto
npx buf lint "$build/image.binpb" --path weft
npx buf generate "$build/image.binpb" --path weft --path grpc --path google/rpc
bash sdk-python/scripts/generate.sh "$build/validate.binpb"
