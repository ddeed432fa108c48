#!/usr/bin/env bash
# Installs what the tests need (Debian and PyPI packages, loopback services), builds, runs every
# test, and ends with a summary: how many tests ran, passed, failed and were skipped, and why.
# Exit code: swift test's. Tests that need upstream reference data are skipped where it is absent
# (`bash scripts/fetch-reference.sh` gets it); under CI=true they run and fail instead.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-deps.sh
for setup in .ci/setup.d/*.sh; do
    [ -e "$setup" ] || continue
    echo "== $setup" >&2
    bash "$setup"
done
swift build --build-tests

log="$(mktemp "${TMPDIR:-/tmp}/clusterctl-test.XXXXXX")"
trap 'rm -f "$log"' EXIT
status=0
# One test at a time. Many tests wait on real processes (the clusterctl binary, sshd, libvirt
# guests) synchronously, and each such wait holds a thread of Swift's cooperative pool, which has
# one thread per core: on a 2-core machine two of them starve every async test beside them (the
# gRPC Talos client's calls then time out). Run serially the suite takes about as long (224 s
# against 180 s here) and no test waits on another's thread.
swift test --skip-build --no-parallel "$@" 2>&1 | tee "$log" || status=${PIPESTATUS[0]}

python3 - "$log" "$status" <<'PY'
import re, sys
from collections import Counter
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
status = int(sys.argv[2])
# Swift Testing prints one line per finished test: `<symbol> Test <name> passed|failed|skipped ...`
# (a parameterized test once, as `Test <name> with N test cases passed`), and a closing
# `Test run with N tests ...`.
# XCTest, where a target still has any, prints `Test Case '...' passed|failed|skipped`.
outcome = re.compile(r'^\S+ Test (?P<name>"(?:[^"\\]|\\.)*"|[^"\s]\S*)(?: with \d+ test cases?)? (?P<result>passed|failed|skipped)\b')
xctest = re.compile(r"^Test Case '(?P<name>[^']+)' (?P<result>passed|failed|skipped)")
counts = Counter()
failed = []
reasons = Counter()
for line in text.splitlines():
    match = outcome.match(line) or xctest.match(line)
    if not match:
        continue
    result = match["result"]
    counts[result] += 1
    if result == "failed":
        failed.append(match["name"])
    elif result == "skipped":
        reason = re.search(r'skipped: "(.*)"', line)
        reasons[reason.group(1) if reason else "no reason given"] += 1
ran = counts["passed"] + counts["failed"]
print()
print(f"== summary: {ran} tests ran, {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
for reason, count in reasons.most_common():
    print(f"   {count} skipped: {reason}")
for name in failed:
    print(f"   failed: {name}")
if not counts:
    print("   (no per-test results found in the output)")
print(f"== swift test exit code {status}")
PY
exit "$status"
