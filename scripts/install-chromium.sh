#!/usr/bin/env bash
# Installs Debian's chromium for the HTML report's browser test (test/html-browser.test.ts) when it
# is missing and this is root. Never downloads a browser build of its own: playwright-core drives
# the system executable. Prints one line saying what it did; exit 0 either way (the test skips,
# saying why, when /usr/bin/chromium is absent).
set -uo pipefail
have() { command -v "$1" >/dev/null 2>&1; }
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && have apt-get; then
  echo "install-chromium: installing chromium (the HTML report's browser test)" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) >/dev/null 2>&1 \
    || echo "install-chromium: could not install chromium: the browser test will be skipped" >&2
else
  echo "install-chromium: chromium is missing and this is not root: the browser test will be skipped" >&2
fi
exit 0
