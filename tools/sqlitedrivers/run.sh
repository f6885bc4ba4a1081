#!/bin/sh
# Runs the full measurement: modernc and ncruces from a pure-Go build, mattn
# from a cgo build (-tags mattn; it needs a C compiler), each driver in a
# process of its own, one after the other; then prints one markdown table.
# Arguments go to every run, e.g. a smoke test:
#   ./run.sh -scans 500 -runs 1
# The defaults (-scans 20000 -runs 5 -batches 1,16,64) are the full run.
# Progress goes to stderr, the table to stdout.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sqlitedrivers-run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

go build -o "$tmp/pure" .
"$tmp/pure" -jsonl -driver modernc "$@" >"$tmp/rows"
"$tmp/pure" -jsonl -driver ncruces "$@" >>"$tmp/rows"
if CGO_ENABLED=1 go build -tags mattn -o "$tmp/cgo" . 2>"$tmp/cgo.err"; then
	"$tmp/cgo" -jsonl -driver mattn "$@" >>"$tmp/rows"
else
	echo "run.sh: mattn skipped: the cgo build failed (a C compiler is needed):" >&2
	cat "$tmp/cgo.err" >&2
fi
"$tmp/pure" -report <"$tmp/rows"
