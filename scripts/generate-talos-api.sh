#!/usr/bin/env bash
# Regenerates Sources/TalosMachineAPI/*.pb.swift and *.grpc.swift from the trimmed Talos machine
# API protos in Sources/TalosMachineAPI/proto (a subset of siderolabs/talos v1.13.9 api/, see the
# header of each .proto). Not run in CI: the output is committed, because building
# swift-protobuf's plugin takes about ten minutes.
#
# Needs protoc (Debian: protobuf-compiler) and the two plugins, built once outside the repository:
#   git clone --branch 2.4.1 https://github.com/grpc/grpc-swift-protobuf.git /work/tools/gsp
#   (cd /work/tools/gsp && swift build --product protoc-gen-grpc-swift-2 && swift build --product protoc-gen-swift)
# and resolved there to swift-protobuf 1.39.0 and grpc-swift-2 2.4.3, the versions Package.swift uses.
# PLUGINS=<dir holding both plugins> overrides the default /work/tools/gsp/.build/debug.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
plugins="${PLUGINS:-/work/tools/gsp/.build/debug}"
reference="${TALOS_API_REFERENCE:-$root/../shared/reference/talos/api}"
protos="$root/Sources/TalosMachineAPI/proto"
out="$root/Sources/TalosMachineAPI"

command -v protoc >/dev/null || { echo "protoc is missing: apt-get install protobuf-compiler" >&2; exit 1; }
for plugin in protoc-gen-swift protoc-gen-grpc-swift-2; do
    [[ -x "$plugins/$plugin" ]] || { echo "$plugins/$plugin is missing; see the header of $0" >&2; exit 1; }
done

# The trimmed copies must keep every message they contain identical to the official protos
# (names, field numbers, types), or the client would not speak Talos' wire format.
if [[ -d "$reference" ]]; then
    python3 - "$protos" "$reference" <<'PY'
import re, sys
mine, ref = sys.argv[1], sys.argv[2]
def blocks(path):
    text = re.sub(r'//[^\n]*', '', open(path).read())
    found = {}
    for m in re.finditer(r'^message (\w+) \{', text, re.M):
        i, depth = m.end(), 1
        while depth:
            depth += (text[i] == '{') - (text[i] == '}')
            i += 1
        found[m.group(1)] = re.sub(r'\s+', ' ', text[m.start():i])
    return found
bad = 0
for trimmed, official in [("machine/machine.proto", "machine/machine.proto"),
                          ("common/common.proto", "common/common.proto"),
                          ("google/rpc/status.proto", "vendor/google/rpc/status.proto")]:
    theirs = blocks(f"{ref}/{official}")
    for name, body in blocks(f"{mine}/{trimmed}").items():
        if theirs.get(name) != body:
            print(f"{trimmed}: message {name} differs from the official {official}", file=sys.stderr)
            bad += 1
sys.exit(1 if bad else 0)
PY
fi

rm -f "$out"/*.pb.swift "$out"/*.grpc.swift
cd "$protos"
protoc -I. \
    --plugin="protoc-gen-swift=$plugins/protoc-gen-swift" \
    --plugin="protoc-gen-grpc-swift-2=$plugins/protoc-gen-grpc-swift-2" \
    --swift_out="$out" --swift_opt=Visibility=Public,FileNaming=PathToUnderscores \
    --grpc-swift-2_out="$out" --grpc-swift-2_opt=Visibility=Public,Client=true,Server=true,FileNaming=PathToUnderscores \
    google/rpc/status.proto common/common.proto machine/machine.proto
# Only machine.proto declares a service; the other two files get empty gRPC stubs.
rm -f "$out"/common_common.grpc.swift "$out"/google_rpc_status.grpc.swift
ls "$out"/*.swift
