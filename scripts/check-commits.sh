#!/usr/bin/env bash
# Checks the commit messages after a base: each subject at most 72 characters, and a body (after a
# blank line) that says why. Exits 1 listing the commits that break the rule, 0 otherwise.
#
#   scripts/check-commits.sh [BASE]     BASE defaults to main; commits in BASE..HEAD are checked
#
# For a before-stop hook, not for CI: CI's clone has the history from before this rule.
# Merge commits are held to the subject limit only (git writes their message).
set -euo pipefail
export LC_ALL=C.UTF-8 # wc -m counts characters, not bytes
base=${1:-main}
max=72
cd "$(git rev-parse --show-toplevel)"
git rev-parse --verify --quiet "$base^{commit}" >/dev/null || { echo "check-commits: no such base: $base" >&2; exit 2; }

bad=0
for c in $(git rev-list --reverse "$base..HEAD"); do
  subject=$(git log -1 --format=%s "$c")
  short=$(git log -1 --format=%h "$c")
  len=$(printf '%s' "$subject" | wc -m)
  if [ "$len" -gt "$max" ]; then
    echo "$short: subject is $len characters (at most $max): $subject"
    bad=1
  fi
  parents=$(git log -1 --format=%p "$c" | wc -w)
  if [ "$parents" -le 1 ] && [ -z "$(git log -1 --format=%b "$c" | tr -d '[:space:]')" ]; then
    echo "$short: no body saying why: $subject"
    bad=1
  fi
done
[ "$bad" = 0 ] && echo "check-commits: $(git rev-list --count "$base..HEAD") commits after $base: subjects ≤ $max characters, each with a body"
exit $bad
