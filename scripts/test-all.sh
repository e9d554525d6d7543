#!/usr/bin/env bash
# The whole test suite on a fresh clone: installs what the tests need (tshark as the decoding
# oracle, via apt-get when root), installs npm packages (which builds dist/), runs vitest, and
# ends with a plain "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }
if ! have tshark; then
  if [ "$(id -u)" = 0 ] && have apt-get; then
    echo "test-all: installing tshark (decoding oracle for the tests)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark) >/dev/null 2>&1 \
      || echo "test-all: could not install tshark" >&2
  else
    echo "test-all: tshark is missing and this is not root: the tshark cross-checks will be skipped" >&2
  fi
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >/dev/null; else npm install --no-audit --no-fund >/dev/null; fi || {
  echo "test-all: npm install failed" >&2
  echo "0 passed, 1 failed"
  exit 1
}

results=$(mktemp)
npx vitest run --reporter=default --reporter=json --outputFile="$results"
rc=$?
node -e '
  const fs = require("fs");
  let r = {};
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch {}
  // a test file that fails to load has no test results of its own: count it as one failure
  const broken = (r.testResults ?? []).filter((t) => t.status === "failed" && (t.assertionResults ?? []).length === 0).length;
  const passed = r.numPassedTests ?? 0, failed = (r.numFailedTests ?? 0) + broken, skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  if (passed + failed === 0) { console.log("0 passed, 1 failed"); process.exit(0); }
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results"
rm -f "$results"
exit $rc
