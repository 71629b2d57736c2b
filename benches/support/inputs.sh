# Sourced by benches/reports.sh and benches/outputs.sh: every input a speed change
# must not alter (the samples in captures/, the shared corpus in ../shared/corpus or
# $AADTRACE_CORPUS, and bench-data/), each with a flat name and its key log.
#
#   each_input FUNCTION   calls FUNCTION PATH NAME [--keylog FILE] once per input
#
# NAME is the input's path below the project or the corpus, `/` turned into `_`. A
# capture's key log is passed when one sits beside it (NAME.keylog).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
corpus="$(cd "${AADTRACE_CORPUS:-$root/../shared/corpus}" 2>/dev/null && pwd)"

each_input() {
  {
    ls "$root"/captures/*
    [ -n "$corpus" ] && find "$corpus" -type f ! -name '*.md' ! -path '*/keys/*' | sort
    ls "$root"/bench-data/* 2>/dev/null
  } | while read -r f; do
    case "$f" in *.keylog | *.md | *.txt) continue ;; esac
    local name="$f"
    [ -n "$corpus" ] && name="${name/#"$corpus"\//corpus/}"
    name="${name#"$root"/}"
    name="${name//\//_}"
    local keylog=()
    local stem="${f%.*}"
    [ -f "$stem.keylog" ] && keylog=(--keylog "$stem.keylog")
    "$1" "$f" "$name" "${keylog[@]}"
  done
}
