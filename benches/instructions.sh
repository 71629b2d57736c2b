#!/usr/bin/env bash
# Counts the instructions one `analyze` run executes, with
# valgrind's callgrind (Debian package `valgrind`). Unlike wall or CPU time,
# the count is the same from run to run: on a shared virtual machine whose
# CPU time for the same command varies by a third from minute to minute, it is
# how a change of a few per cent is told apart from noise (issue #15). It does
# not see what the kernel does (clearing fresh pages) nor cache misses, so a
# change is still confirmed with the wall-time commands of README.md.
#
#   benches/instructions.sh /tmp/aadtrace-before bench-data/dense.har
#   benches/instructions.sh target/release/aadtrace bench-data/dense.har
#
# The run reads on one thread (AADTRACE_ONE_THREAD=1), so the reading phase is
# counted once, as the split read would count it in two halves; the later
# phases use their threads as usual and callgrind counts them all.
set -euo pipefail
bin="$1"
input="${2:-bench-data/dense.har}"
shift $(($# < 2 ? $# : 2))
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
AADTRACE_ONE_THREAD=1 valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
  "$bin" analyze --fail-on never "$@" "$input" >/dev/null 2>"$out/log"
total=$(grep -o 'Collected : [0-9]*' "$out/log" | grep -o '[0-9]*$')
echo "$total instructions: $bin analyze $* $input"
# Where they go, for a first look: the largest inclusive counts among the
# project's functions. Inlined code is counted under the function it came
# from *and* the source file it sits in, so these overlap and are not phases.
top="${TOP:-25}"
callgrind_annotate --inclusive=yes "$out/cg" 2>/dev/null |
  grep -E '^ *[0-9,]+ \( *[0-9.]+%\)  [^ ]*aadtrace::' | head -n "$top"
