#!/usr/bin/env bash
# Writes the JSON and text reports of every input a speed change must not alter:
# the samples in captures/, the shared corpus (../shared/corpus) and bench-data/.
# Run it with the binary before and after a change, then compare the two folders:
#
#   benches/reports.sh /tmp/aadtrace-before /tmp/reports-before
#   benches/reports.sh target/release/aadtrace /tmp/reports-after
#   diff -r /tmp/reports-before /tmp/reports-after && echo identical
#
# A capture's key log is passed when one sits beside it (NAME.keylog). Each
# report's stderr and exit code are kept too (NAME.json.err, NAME.txt.err), so an
# input that fails must fail the same way.
set -uo pipefail
bin="$1"
out="$2"
source "$(dirname "$0")/support/inputs.sh"
mkdir -p "$out"
report() {
  local f="$1" name="$2"
  shift 2
  "$bin" analyze --format json "$@" "$f" >"$out/$name.json" 2>"$out/$name.json.err"
  echo "exit $?" >>"$out/$name.json.err"
  "$bin" analyze "$@" "$f" >"$out/$name.txt" 2>"$out/$name.txt.err"
  echo "exit $?" >>"$out/$name.txt.err"
}
each_input report
echo "reports of $(find "$out" -name '*.json' | wc -l) inputs in $out"
