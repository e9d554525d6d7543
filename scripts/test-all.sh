#!/usr/bin/env bash
# The whole test suite on a fresh clone: installs what the tests need (tshark as the decoding
# oracle, and Debian's chromium for the HTML report's browser test, via apt-get when root), installs npm packages (which builds dist/), type-checks src and
# test (and lints, once switched on below), runs vitest, and ends with a plain "N passed, N failed"
# line in which each static check counts as one test.
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

# chromium for the HTML report's browser test (test/html-browser.test.ts skips, saying why, without it)
bash scripts/install-chromium.sh

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >/dev/null; else npm install --no-audit --no-fund >/dev/null; fi || {
  echo "test-all: npm install failed" >&2
  echo "0 passed, 1 failed"
  exit 1
}

# Static checks, each counted as one test in the final line: `npm run typecheck` (tsc over src and
# test) and `npm run lint` (typescript-eslint, type-aware, and prettier --check).
static_passed=0
static_failed=0
static_check() {
  echo "test-all: npm run $1" >&2
  if npm run --silent "$1"; then static_passed=$((static_passed + 1)); else
    echo "test-all: npm run $1 FAILED" >&2
    static_failed=$((static_failed + 1))
  fi
}
static_check typecheck
static_check lint

results=$(mktemp)
npx vitest run --reporter=default --reporter=json --outputFile="$results"
rc=$?
[ "$static_failed" -gt 0 ] && rc=1
node -e '
  const fs = require("fs");
  let r = {};
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch {}
  const staticPassed = Number(process.argv[2]), staticFailed = Number(process.argv[3]);
  // a test file that fails to load has no test results of its own: count it as one failure
  const broken = (r.testResults ?? []).filter((t) => t.status === "failed" && (t.assertionResults ?? []).length === 0).length;
  const passed = (r.numPassedTests ?? 0) + staticPassed, failed = (r.numFailedTests ?? 0) + broken + staticFailed, skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  if ((r.numPassedTests ?? 0) + (r.numFailedTests ?? 0) + broken === 0) { console.log(`${passed} passed, ${failed + 1} failed`); process.exit(0); }
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results" "$static_passed" "$static_failed"
rm -f "$results"
exit $rc
