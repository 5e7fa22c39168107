#!/usr/bin/env bash
# Privilege separation of the agent (docs/privsep.md): the network worker
# runs without root, without capabilities, with no_new_privs and a seccomp
# filter, and cannot read the device key; the monitor keeps the keys.
# Serves KP4.e, KP2 (least privilege), T6/L1.
. "$(dirname "$0")/lib.sh"
fleet_up

a=$(device_add A)
agent_start "$T/dev-A" a >/dev/null
wait_for "A up" 30 sh -c "grep -q 'hello from $a' '$T/server.log'"
pids_a=$(pgrep -f -- "--state $T/dev-A")
monitor=""; worker=""
for p in $pids_a; do
	ppid=$(awk '/^PPid:/ {print $2}' "/proc/$p/status")
	if echo "$pids_a" | grep -qw "$ppid"; then worker=$p; else monitor=$p; fi
done
[ -n "$monitor" ] && [ -n "$worker" ] && pass "monitor $monitor and worker $worker" ||
    fail "expected two agent processes, got: $pids_a"
st() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
[ "$(st "$worker" NoNewPrivs)" = 1 ] && pass "worker has no_new_privs" || fail "NoNewPrivs"
if [ "$(id -u)" = 0 ]; then
	[ "$(st "$worker" Uid)" != 0 ] && pass "worker is not root (uid $(st "$worker" Uid))" ||
	    fail "worker runs as root"
	[ "$(st "$worker" CapEff)" = 0000000000000000 ] && pass "worker has no capabilities" ||
	    fail "worker CapEff $(st "$worker" CapEff)"
	[ "$(st "$monitor" Uid)" = 0 ] && pass "monitor keeps root for privileged work" ||
	    fail "monitor uid"
	# the key file is out of the worker's reach
	if runuser -u "$(id -nu "$(st "$worker" Uid)")" -- cat "$T/dev-A/device.key" >/dev/null 2>&1; then
		fail "the worker's user can read the device key"
	else
		pass "the worker's user cannot read the device key"
	fi
fi
# ASan builds skip seccomp (the sanitizer runtime needs more calls)
if grep -q "runs without seccomp" "$T/agent-a.log"; then
	[ "$(st "$worker" Seccomp)" = 0 ] && pass "sanitizer build: seccomp off as logged" ||
	    fail "seccomp state unexpected"
else
	[ "$(st "$worker" Seccomp)" = 2 ] && pass "worker runs under a seccomp filter" ||
	    fail "Seccomp=$(st "$worker" Seccomp)"
fi
ls -l "/proc/$worker/fd" 2>/dev/null | grep -q "device.key" && fail "worker holds the key file open" ||
    pass "worker holds no key file open"
# the worker survives its whole job under the filter: a command round trip
id=$("$SERVER" device cmd "$FLEET" "$a" ping | sed -n 's/^command=\([0-9]*\) queued/\1/p')
wait_for "ping" 15 sh -c "[ \"\$(sqlite3 '$FLEET/mamori.db' 'SELECT status FROM commands WHERE id=$id')\" = ok ]" &&
    pass "sandboxed worker handles commands" || fail "ping under the sandbox failed"
grep -q "died with signal" "$T/agent-a.log" && fail "worker was killed: $(grep 'died' "$T/agent-a.log")" ||
    pass "worker never killed by the filter"
finish
