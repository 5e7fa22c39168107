#!/usr/bin/env bash
# The sealed security log (decision 0008) on real files, no fleet needed:
#   (a) kill -9 campaign: a writer that acknowledges each group commit is
#       killed at a random moment, again and again, on fresh and continuing
#       logs; after each kill the reopened log must have cut any torn tail,
#       kept every acknowledged record and verify from the initial key;
#   (b) tamper campaign (mm_seclog_mutate): bit flips, deleted, inserted,
#       swapped, spliced and replayed records and segments, truncation into
#       a sealed epoch: every change detected, the untouched copy accepted;
#   (c) mamori-log end to end: create, append, verify, show (text, filters,
#       JSON, escaping), and a byte changed with dd named by its seq.
# Serves KP13, KP2, KP8, T12/L1-L5, CS21.  Bounded: about a minute.
. "$(dirname "$0")/lib.sh"
CRASH=${MM_SECLOG_CRASH:?set MM_SECLOG_CRASH to the mm_seclog_crash tool}
MUTATE=${MM_SECLOG_MUTATE:?set MM_SECLOG_MUTATE to the mm_seclog_mutate tool}
LOG=$BIN/mamori-log
TRIALS=${SECLOG_CRASH_TRIALS:-100}
MUT_TRIALS=${SECLOG_MUT_TRIALS:-1320}

# ---- (a) kill -9 ----
# Groups of 1 to 1024 records per sync (big groups are big writes, which a
# kill can cut short).  Every other trial also plays a power loss before the
# check: part of what was never made durable is dropped, mostly mid-record.
L=$T/crash
K=$T/crash.key
ok=0 torn_kill=0 torn_power=0 acked_total=0 failed_trials=0
groups=(1 4 16 64 256 1024)
for ((i = 1; i <= TRIALS; i++)); do
	# a fresh log every 25 trials; in between the log goes on across kills
	if (((i - 1) % 25 == 0)); then
		rm -rf "$L" "$K"
		"$LOG" create --dir "$L" --key-out "$K" >"$T/create.out" 2>&1 ||
		    { fail "create crash log: $(cat "$T/create.out")"; break; }
	fi
	delay=$((5 + RANDOM % 196))
	group=${groups[RANDOM % ${#groups[@]}]}
	tear=$((i % 2))
	"$CRASH" writer --dir "$L" --count 100000000 --sync-every "$group" \
	    >"$T/w.out" 2>"$T/w.err" &
	pid=$!
	sleep "$(printf '0.%03d' "$delay")"
	kill -9 "$pid" 2>/dev/null || true
	wrc=0
	wait "$pid" 2>/dev/null || wrc=$?
	# only whole "<seq> ok" lines count as acknowledged
	acked=$(sed -n 's/^\([0-9][0-9]*\) ok$/\1/p' "$T/w.out" | tail -n 1)
	acked=${acked:-0}
	: >"$T/c.out"
	if [ "$wrc" != 137 ] && [ "$wrc" != 0 ]; then
		failed_trials=$((failed_trials + 1))
		log "trial $i: writer exited $wrc: $(head -c 300 "$T/w.err")"
	elif "$CRASH" check --dir "$L" --key "$K" --acked "$acked" --tear "$tear" \
	    >"$T/c.out" 2>&1; then
		ok=$((ok + 1))
		acked_total=$((acked_total + acked))
	else
		failed_trials=$((failed_trials + 1))
		log "trial $i (delay ${delay} ms, group $group, tear $tear, acked $acked):" \
		    "$(tr '\n' ' ' <"$T/c.out" | head -c 400)"
		[ -d "$T/fail-$i" ] || cp -a "$L" "$T/fail-$i"
	fi
	cut=$(sed -n 's/^cut=//p' "$T/c.out" | head -n 1)
	if [ "${cut:-0}" -gt 0 ]; then
		[ "$tear" = 1 ] && torn_power=$((torn_power + 1)) || torn_kill=$((torn_kill + 1))
	fi
done
log "kill -9: trials=$TRIALS verified=$ok torn_tails_cut=$((torn_kill + torn_power))" \
    "(after the kill alone: $torn_kill, after a played power loss: $torn_power)" \
    "acked_records=$acked_total"
[ "$ok" = "$TRIALS" ] && [ "$TRIALS" -ge 100 ] &&
    pass "kill -9 x$TRIALS: no acknowledged record lost, every reopened log verifies" ||
    fail "kill -9: $failed_trials of $TRIALS trials failed"
[ "$acked_total" -gt 0 ] && pass "writers acknowledged $acked_total records in all" ||
    fail "no writer ever acknowledged a record"
[ "$torn_power" -gt 0 ] && pass "torn tails cut on reopening" ||
    fail "no torn tail was ever cut"
# one writer per log: a second one is refused while the first runs
"$CRASH" writer --dir "$L" --count 100000000 >"$T/w.out" 2>"$T/w.err" &
pid=$!
wait_for "writer acknowledges" 10 grep -q ' ok$' "$T/w.out" || true
rc=0; "$LOG" append --dir "$L" --type auth --severity 5 --source second >"$T/a2.out" 2>&1 || rc=$?
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
[ "$rc" = 1 ] && pass "a second writer is refused" || fail "second writer: exit $rc: $(cat "$T/a2.out")"

# ---- (b) tampering ----
mkdir -p "$T/mut"
mrc=0
"$MUTATE" --work "$T/mut" --trials "$MUT_TRIALS" >"$T/mut.out" 2>&1 || mrc=$?
sed 's/^/    /' "$T/mut.out" | grep -v '^    UNDETECTED' || true
grep '^UNDETECTED' "$T/mut.out" | head -n 20 | sed 's/^/    /' || true
tot=$(sed -n 's/^total trials=\([0-9]*\) .*/\1/p' "$T/mut.out")
det=$(sed -n 's/^total trials=[0-9]* detected=\([0-9]*\) .*/\1/p' "$T/mut.out")
fpos=$(sed -n 's/.* false_positives=\([0-9]*\)$/\1/p' "$T/mut.out")
[ "$mrc" = 0 ] && [ "${tot:-0}" -ge 1000 ] && [ "$det" = "$tot" ] &&
    pass "tampering: $det of $tot changes detected" ||
    fail "tampering: detected ${det:-?} of ${tot:-?} (exit $mrc)"
[ "${fpos:-1}" = 0 ] && ! grep -q "FALSE POSITIVE" "$T/mut.out" &&
    pass "untouched copies verify (no false positive)" || fail "false positives: ${fpos:-?}"
while read -r kind trials detected; do
	[ "$trials" -gt 0 ] && [ "$trials" = "$detected" ] || fail "$kind: $detected of $trials detected"
done < <(sed -n 's/^kind=\([a-z_]*\) trials=\([0-9]*\) detected=\([0-9]*\) .*/\1 \2 \3/p' "$T/mut.out")

# ---- (c) mamori-log end to end ----
D=$T/dev
KEY=$T/dev.key
"$LOG" create --dir "$D" --key-out "$KEY" >"$T/c.out" 2>&1 && pass "log created" ||
    fail "create: $(cat "$T/c.out")"
[ "$(stat -c %a "$KEY")" = 600 ] && grep -qE '^root_key=[0-9a-f]{64}$' "$KEY" &&
    grep -qE '^log_id=[0-9a-f]{32}$' "$KEY" && pass "key file 0600 with log id and key" ||
    fail "key file: $(stat -c %a "$KEY")"
"$LOG" create --dir "$D" --key-out "$T/again.key" >/dev/null 2>&1 &&
    fail "second create over a log" || pass "create refuses an existing log"
"$LOG" append --dir "$D" --type auth --severity 5 --source auth \
    --payload '{"user":"admin","result":"fail","from":"192.0.2.17"}' --count 3 \
    >"$T/a.out" 2>&1 && pass "append x3" || fail "append: $(cat "$T/a.out")"
"$LOG" append --dir "$D" --type tamper --severity 1 --source door \
    --payload 'door opened' >"$T/a.out" 2>&1 || fail "append tamper: $(cat "$T/a.out")"
"$LOG" append --dir "$D" --type config --severity 6 --source ctl \
    --payload "$(printf 'esc\033[31mred\001')" >"$T/a.out" 2>&1 ||
    fail "append config: $(cat "$T/a.out")"
rc=0; "$LOG" append --dir "$D" --type nonsense --severity 5 --source x >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && pass "unknown type refused (usage)" || fail "unknown type: exit $rc"
rc=0; "$LOG" append --dir "$D" --type seal --severity 5 --source x >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && pass "the log's own types cannot be appended by hand" || fail "seal: exit $rc"
rc=0; "$LOG" append --dir "$D" --type auth --severity 9 --source x >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && pass "severity over 7 refused" || fail "severity 9: exit $rc"

rc=0; "$LOG" verify --dir "$D" --key "$KEY" >"$T/v.out" 2>&1 || rc=$?
[ "$rc" = 0 ] && grep -q '^verifies$' "$T/v.out" && grep -q '^complete=yes' "$T/v.out" &&
    pass "verify: ok, complete" || fail "verify: exit $rc: $(cat "$T/v.out")"
grep -qE '^records=[0-9]+$' "$T/v.out" && grep -qE '^seals=[1-9]' "$T/v.out" &&
    grep -qE '^epochs=0\.\.[0-9]+$' "$T/v.out" && pass "report: records, epochs, seals" ||
    fail "report: $(cat "$T/v.out")"
rc=0; "$LOG" verify --dir "$D" --key "$T/crash.key" >"$T/v2.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && pass "another log's key does not verify" || fail "wrong key: exit $rc"
rc=0; "$LOG" verify --dir "$D" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] && pass "verify without key: usage" || fail "verify without key: exit $rc"

"$LOG" show --dir "$D" >"$T/show.out" 2>"$T/show.err" || fail "show: $(cat "$T/show.err")"
[ "$(grep -c ' type=auth ' "$T/show.out")" = 3 ] && pass "show lists the three auth records" ||
    fail "show: $(cat "$T/show.out")"
grep -qE '^seq=[0-9]+ epoch=[0-9]+ time=20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-9:]{8}\.[0-9]{3}Z type=tamper severity=1 source=door payload=door opened$' "$T/show.out" &&
    pass "show: seq, epoch, ISO-8601 UTC time, type, severity, source, payload" ||
    fail "show format: $(grep tamper "$T/show.out")"
grep -q 'payload=esc\\x1b\[31mred\\x01$' "$T/show.out" && ! grep -q $'\033' "$T/show.out" &&
    pass "show escapes control bytes for the terminal" || fail "escaping: $(grep type=config "$T/show.out" | od -c | head)"
"$LOG" show --dir "$D" --type tamper >"$T/s1.out" 2>&1
"$LOG" show --dir "$D" --min-severity 1 --source door >"$T/s2.out" 2>&1
"$LOG" show --dir "$D" --since 0 --until 1 >"$T/s3.out" 2>&1
[ "$(wc -l <"$T/s1.out")" = 1 ] && [ "$(wc -l <"$T/s2.out")" = 1 ] && [ ! -s "$T/s3.out" ] &&
    pass "show filters: type, severity, source, time" || fail "filters: $(cat "$T/s1.out" "$T/s2.out" "$T/s3.out")"
"$LOG" show --dir "$D" --json >"$T/j.out" 2>&1 || fail "show --json"
n_lines=$(wc -l <"$T/j.out")
n_obj=$(grep -cE '^\{"seq":[0-9]+,"epoch":[0-9]+,"wall_ms":[0-9]+,"time":"[^"]+",.*"type":"[a-z_]+","severity":[0-7],"source":"[^"]*","payload":".*"\}$' "$T/j.out" || true)
[ "$n_lines" -gt 5 ] && [ "$n_obj" = "$n_lines" ] &&
    grep -q '"payload":"{\\"user\\":\\"admin\\",' "$T/j.out" &&
    grep -qiF '"payload":"esc\u001b[31mred\u0001"' "$T/j.out" &&
    pass "show --json: one object per line ($n_lines)" || fail "json: $(head -n 3 "$T/j.out")"
"$LOG" show --dir "$D" --key "$KEY" >"$T/sk.out" 2>"$T/sk.err" &&
    ! grep -q 'verified=NO' "$T/sk.out" &&
    [ "$(grep -c ' verified=yes ' "$T/sk.out")" = "$(wc -l <"$T/sk.out")" ] &&
    pass "show --key: every record verified" || fail "show --key: $(cat "$T/sk.err")"

# one byte changed with dd, inside the tamper record's payload
seq=$(sed -n 's/^seq=\([0-9]*\) .* type=tamper .*/\1/p' "$T/show.out")
seg=$(grep -l 'door opened' "$D"/log/seg-*.msl | head -n 1)
off=$(grep -obUa 'door opened' "$seg" | head -n 1 | cut -d: -f1)
if [ -n "$seq" ] && [ -n "$off" ]; then
	printf 'D' | dd of="$seg" bs=1 seek="$off" count=1 conv=notrunc status=none
	rc=0; "$LOG" verify --dir "$D" --key "$KEY" >"$T/v.out" 2>&1 || rc=$?
	[ "$rc" = 1 ] && grep -q "^problem at seq $seq:" "$T/v.out" &&
	    pass "a changed byte: verify fails and names seq $seq" ||
	    fail "after dd: exit $rc: $(cat "$T/v.out")"
	rc=0; "$LOG" show --dir "$D" --key "$KEY" >"$T/sk.out" 2>"$T/sk.err" || rc=$?
	[ "$rc" = 1 ] && grep -q "^seq=$seq .* verified=NO " "$T/sk.out" &&
	    pass "show --key marks seq $seq" || fail "show --key after dd: $(grep -m1 NO "$T/sk.out")"
else
	fail "tamper record not found (seq '$seq', offset '$off')"
fi
finish
