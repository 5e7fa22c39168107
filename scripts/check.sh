#!/usr/bin/env bash
# The whole test suite: unit + integration tests in a hardened release build,
# again under ASan+UBSan, then every fuzz target for MM_FUZZ_SECONDS.
# Ends with one line "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
fuzz_secs=${MM_FUZZ_SECONDS:-20}
passed=0
failed=0
log() { printf '== %s\n' "$*"; }

run_ctest() {	# dir label
	local dir=$1 label=$2 out
	out=$(cd "$dir" && ctest --output-on-failure --repeat until-pass:2 -j"$jobs" 2>&1)
	printf '%s\n' "$out" | tail -n 40
	local line total nfail
	line=$(printf '%s\n' "$out" | grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' | tail -n1)
	if [ -z "$line" ]; then
		echo "ctest ($label) gave no summary" >&2
		failed=$((failed + 1))
		return
	fi
	total=$(printf '%s' "$line" | sed -E 's/.*out of ([0-9]+).*/\1/')
	nfail=$(printf '%s' "$line" | sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/')
	passed=$((passed + total - nfail))
	failed=$((failed + nfail))
}

build() {	# dir cc extra-cmake-args...
	local dir=$1 cc=$2
	shift 2
	CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null &&
	    cmake --build "$dir" -j"$jobs" >"$dir.log" 2>&1 || { tail -n 60 "$dir.log"; return 1; }
}

# the browser test's playwright-core (tests/integration/it_webui.sh fails
# without it); offline-tolerant: only when node_modules is missing
if [ ! -d tests/browser/node_modules ]; then
	# Debian's own nodejs comes without npm (the machine's NodeSource one has it)
	command -v npm >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq npm >/dev/null; } || true
	log "npm ci --prefix tests/browser"
	npm ci --prefix tests/browser --no-audit --no-fund ||
	    echo "npm ci failed: the browser test (it_webui) will fail"
fi

log "release build (hardened)"
if build build/release gcc; then
	run_ctest build/release release
else
	failed=$((failed + 1))
fi

log "valgrind on the unit tests (release build)"
if command -v valgrind >/dev/null && [ -d build/release/tests/unit ]; then
	for t in build/release/tests/unit/test_*; do
		[ -x "$t" ] || continue
		if valgrind -q --error-exitcode=99 --leak-check=full \
		    --errors-for-leak-kinds=definite "$t" >"$t.valgrind.log" 2>&1; then
			echo "valgrind $(basename "$t"): clean"
			passed=$((passed + 1))
		else
			echo "valgrind $(basename "$t"): FAILED"; tail -n 30 "$t.valgrind.log"
			failed=$((failed + 1))
		fi
	done
else
	echo "valgrind or the release build missing"; failed=$((failed + 1))
fi

log "ASan+UBSan build"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if build build/asan gcc -DMM_SANITIZE=ON; then
	run_ctest build/asan asan
else
	failed=$((failed + 1))
fi

log "fuzz targets (${fuzz_secs}s each)"
if build build/fuzz clang -DMM_FUZZ=ON; then
	for f in build/fuzz/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		name=$(basename "$f")
		corpus=fuzz/corpus/${name#fuzz_}
		work=$(mktemp -d)
		[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
		if "$f" -max_total_time="$fuzz_secs" -timeout=10 -rss_limit_mb=2048 \
		    -print_final_stats=0 "$work" >"$work.log" 2>&1; then
			echo "fuzz $name: ok ($(grep -c '' "$work.log") log lines)"
			passed=$((passed + 1))
		else
			echo "fuzz $name: FAILED"; tail -n 40 "$work.log"
			failed=$((failed + 1))
		fi
		rm -rf "$work" "$work.log"
	done
else
	failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
