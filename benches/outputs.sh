#!/usr/bin/env bash
# Writes every output a speed change to redaction or the HTML page must not alter:
# the redacted copy of each input (in its own format, and as a HAR with `--to har`)
# with its receipt, and the HTML report (its random script nonce replaced by a
# fixed word), for the samples in captures/, the shared corpus (../shared/corpus)
# and bench-data/. Run it with the binary before and after a change, then compare
# the two folders, as with benches/reports.sh:
#
#   benches/outputs.sh /tmp/aadtrace-before /tmp/outputs-before
#   benches/outputs.sh target/release/aadtrace /tmp/outputs-after
#   diff -r /tmp/outputs-before /tmp/outputs-after && echo identical
#
# Each command's stderr and exit code are kept too (NAME.*.err), so an input that
# is refused must be refused the same way. The pseudonyms of a redacted copy come
# from a random key, so the two binaries compared must be built with one fixed
# key (a local change to `redact::mask::Masker::new`, never committed).
set -uo pipefail
bin="$1"
out="$2"
source "$(dirname "$0")/support/inputs.sh"
mkdir -p "$out"
outputs() {
  local f="$1" name="$2"
  shift 2
  "$bin" redact "$@" "$f" -o "$out/$name.redacted" >"$out/$name.redacted.receipt" 2>"$out/$name.redacted.err"
  echo "exit $?" >>"$out/$name.redacted.err"
  "$bin" redact --to har "$@" "$f" -o "$out/$name.as.har" >"$out/$name.as.har.receipt" 2>"$out/$name.as.har.err"
  echo "exit $?" >>"$out/$name.as.har.err"
  "$bin" analyze --format html "$@" "$f" -o "$out/$name.html" 2>"$out/$name.html.err"
  echo "exit $?" >>"$out/$name.html.err"
  # The receipts name the copy's path: the folder differs from run to run.
  sed -i "s#$out/#OUT/#g" "$out/$name".*.err "$out/$name".*.receipt
  [ -f "$out/$name.html" ] && sed -i -E 's/nonce-[A-Za-z0-9+\/=_-]+/nonce-N/g; s/nonce="[^"]*"/nonce="N"/g' "$out/$name.html"
}
each_input outputs
echo "outputs of $(find "$out" -name '*.redacted.err' | wc -l) inputs in $out"
