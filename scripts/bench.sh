#!/usr/bin/env bash
# make bench: runs every executable in bench/ against the release build.
# Each prints one "BENCH <name>: key=value ..." line per measurement, with
# its baseline measured in the same run.  Timing never fails the build.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/release}
for b in "$top"/bench/*; do
	[ -f "$b" ] && [ -x "$b" ] || continue
	echo "== bench/$(basename "$b")"
	"$b" "$build" || echo "bench/$(basename "$b") exited with $?"
done
