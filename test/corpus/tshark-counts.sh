#!/usr/bin/env bash
# Writes test/corpus/tshark-counts.tsv: for every capture in ../shared/pcaps (MANIFEST.tsv), the
# number of packets tshark reads and the number of TCP conversations `tshark -z conv,tcp` lists
# (or "unreadable" when tshark reads no packet and exits with an error). The corpus test compares
# pcapdiag against this table; regenerate it when the corpus or the tshark version changes.
# Usage: bash test/corpus/tshark-counts.sh [PCAPS_DIR]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PCAPS=${1:-$HERE/../../../shared/pcaps}
OUT=$HERE/tshark-counts.tsv
one() {
  local f=$1 out rc
  # one line per frame (its number), then the conversation table
  out=$(timeout 60 tshark -n -r "$PCAPS/$f" -T fields -e frame.number -z conv,tcp 2>/dev/null) && rc=0 || rc=$?
  local frames convs
  frames=$(printf '%s\n' "$out" | grep -cE '^[0-9]+$' || true)
  convs=$(printf '%s\n' "$out" | grep -c ' <-> ' || true)
  if [ -z "$frames" ]; then frames=0; fi
  if [ "$rc" != 0 ] && [ "$frames" = 0 ]; then echo -e "$f\tunreadable\t-"; else echo -e "$f\t$frames\t$convs"; fi
}
export -f one
export PCAPS
{
  echo -e "# tshark $(tshark --version | head -1 | awk '{print $3}') over ../shared/pcaps: file, packets, TCP conversations (tshark -T fields -e frame.number -z conv,tcp)"
  tail -n +2 "$PCAPS/MANIFEST.tsv" | cut -f1 | sort | xargs -P 2 -I{} bash -c 'one "$@"' _ {} | sort
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT ($(grep -vc '^#' "$OUT") files)" >&2
