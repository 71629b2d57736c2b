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
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$(cd "${AADTRACE_CORPUS:-$root/../shared/corpus}" 2>/dev/null && pwd)"
mkdir -p "$out"
inputs() {
  ls "$root"/captures/*
  [ -n "$corpus" ] && find "$corpus" -type f ! -name '*.md' ! -path '*/keys/*' | sort
  ls "$root"/bench-data/* 2>/dev/null
}
inputs | while read -r f; do
  case "$f" in *.keylog | *.md | *.txt) continue ;; esac
  # One flat name per input: its path below the project or the corpus.
  name="$f"
  [ -n "$corpus" ] && name="${name/#"$corpus"\//corpus/}"
  name="${name#"$root"/}"
  name="${name//\//_}"
  keylog=()
  stem="${f%.*}"
  [ -f "$stem.keylog" ] && keylog=(--keylog "$stem.keylog")
  "$bin" analyze --format json "${keylog[@]}" "$f" >"$out/$name.json" 2>"$out/$name.json.err"
  echo "exit $?" >>"$out/$name.json.err"
  "$bin" analyze "${keylog[@]}" "$f" >"$out/$name.txt" 2>"$out/$name.txt.err"
  echo "exit $?" >>"$out/$name.txt.err"
done
echo "reports of $(find "$out" -name '*.json' | wc -l) inputs in $out"
