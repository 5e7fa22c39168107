#!/usr/bin/env bash
# Forwarding the sealed log to the fleet (decision 0009), end to end on
# real parts: agents with sealed logs, Mosquitto with mutual TLS, the
# server verifying every batch from the initial key it was given.
#  - records reach the server in order, across a broker restart and an
#    agent restart: nothing lost, nothing stored twice, all verify;
#  - the device records the fleet's clock (TIME) and who read its log
#    files (LOG_ACCESS, fanotify), and both reach the fleet;
#  - batches forged with the device's own identity (a thief with the
#    device's key and files, but not the log's key) are refused and
#    alerted: flipped bit, changed payload, dropped, swapped, short,
#    spliced from another device's log, rewritten history; an honest
#    replay is only a duplicate; a gap is not stored;
#  - retention on a device the fleet never acknowledged drops records only
#    with a LOSS record, and the fleet sees both the gap and the loss.
# Serves KP13, T12/L1-L5, CS21.
. "$(dirname "$0")/lib.sh"
FORGE=${MM_LOGFORGE:?set MM_LOGFORGE to the mm_logforge test tool}
fleet_up

a=$(device_add A); b=$(device_add B)
for d in A B; do
	"$BIN/mamori-log" create --dir "$T/dev-$d" --key-out "$T/seclog-$d.key" \
	    >/dev/null || fail "mamori-log create $d"
done
"$BIN/mamori-log" append --dir "$T/dev-B" --type auth --severity 5 --source test \
    --payload '{"login":"x"}' --count 5 >/dev/null || fail "append to B"
# short epochs so that SEALs flow; B keeps little and is not imported yet
agent_json "$T/dev-A" '"seclog_epoch_seconds":2,"seclog_segment_kib":16'
agent_json "$T/dev-B" '"seclog_epoch_seconds":1,"seclog_segment_kib":16,"seclog_max_kib":64'
"$SERVER" device seclog-key "$FLEET" "$a" "$T/seclog-A.key" >"$T/import.log" 2>&1 &&
    pass "initial key of A imported" || fail "import: $(cat "$T/import.log")"
"$SERVER" device seclog-key "$FLEET" "$a" "$T/seclog-B.key" >>"$T/import.log" 2>&1 &&
    fail "a different log's key replaced A's silently" ||
    pass "another log's key refused without --replace"

held() { sql "SELECT count(*) FROM seclog_records WHERE device_id='$1'"; }
top() { sql "SELECT coalesce(max(seq),0) FROM seclog_records WHERE device_id='$1'"; }
alerts() { sql "SELECT coalesce(sum(count),0) FROM alerts WHERE device_id='$1' AND kind='$2'"; }
# the device's own durable records: seq of the last one mamori-log shows
dev_last() { "$BIN/mamori-log" show --dir "$1" 2>/dev/null | tail -1 | awk '{print $1}' | tr -d 'seq='; }

agent_start "$T/dev-A" a >/dev/null
agent_a=${PIDS[-1]}
wait_for "A forwards" 20 sh -c "[ \$(sqlite3 '$FLEET/mamori.db' \"SELECT count(*) FROM seclog_records WHERE device_id='$a'\") -ge 2 ]" &&
    pass "first records of A held by the fleet" || fail "nothing forwarded: $(tail -5 "$T/agent-a.log")"

# someone reads the log files: each read is a LOG_ACCESS record naming the
# program; 150 of them at a bounded pace make traffic to forward
seg=$(ls "$T/dev-A/log/" | head -1)
for i in $(seq 1 150); do
	cat "$T/dev-A/log/$seg" >/dev/null
	[ "$i" = 75 ] && { "$SERVER" broker restart "$FLEET" >>"$T/init.log" 2>&1 || fail "broker restart"; }
	sleep 0.04
done
wait_for "forwarding catches up" 60 sh -c "[ \$(sqlite3 -cmd '.timeout 5000' '$FLEET/mamori.db' \"SELECT count(*) FROM seclog_records WHERE device_id='$a' AND type=19\") -ge 100 ]" ||
    fail "LOG_ACCESS records held: $(sql "SELECT count(*) FROM seclog_records WHERE device_id='$a' AND type=19")"
grep -q '"exe":"/usr/bin/cat"' < <("$SERVER" log show "$FLEET" "$a" --type log_access 2>/dev/null) &&
    pass "reads of the log files recorded with the reading program, held by the fleet" ||
    fail "no LOG_ACCESS naming cat"
[ "$(alerts "$a" log_access)" -ge 1 ] && pass "log_access alert" || fail "no log_access alert"
grep -q "connection to fleet lost" "$T/agent-a.log" && pass "agent saw the broker restart" ||
    fail "broker restart not seen by the agent"

# stop A: what it held and what the fleet holds must agree, no holes
kill "$agent_a"; wait "$agent_a" 2>/dev/null || true
n=$(held "$a"); hi=$(top "$a")
lo=$(sql "SELECT min(seq) FROM seclog_records WHERE device_id='$a'")
[ "$lo" = 1 ] && [ "$n" = "$hi" ] && pass "fleet holds 1..$hi with no hole and no duplicate" ||
    fail "fleet holds $n records, seq $lo..$hi"
devlast=$(dev_last "$T/dev-A")
[ -n "$devlast" ] && [ "$hi" -le "$devlast" ] && pass "device holds $devlast, fleet $hi" ||
    fail "device last '$devlast', fleet $hi"
"$SERVER" log verify "$FLEET" "$a" >"$T/verify-a.txt" 2>&1 &&
    pass "fleet's copy of A verifies from the initial key" || fail "verify: $(cat "$T/verify-a.txt")"
tcount=$(sql "SELECT count(*) FROM seclog_records WHERE device_id='$a' AND type=258")
[ "$tcount" -ge 1 ] && pass "device recorded the fleet's clock (TIME, $tcount)" || fail "no TIME record"
dup=$(sql "SELECT coalesce(sum(duplicates),0) FROM seclog_state WHERE device_id='$a'")
log "duplicates re-sent and recognised: $dup"

# ---- attacks with A's own identity, A stopped (a thief with its files) ----
TLS=$(dev_tls "$T/dev-A")
pub() { mosquitto_pub $TLS -q 1 -t "mamori/v1/$a/up/log" -f "$1"; }
before=$(held "$a")
forge() {	# name expected-alert [forge options...]
	local name=$1 kind=$2
	shift 2
	"$FORGE" "$@" --out "$T/f-$name.json" >/dev/null || { fail "forge $name"; return; }
	local was
	was=$(alerts "$a" "$kind")
	pub "$T/f-$name.json"
	if wait_for "$name refused" 10 sh -c "[ \$(sqlite3 -cmd '.timeout 5000' '$FLEET/mamori.db' \"SELECT coalesce(sum(count),0) FROM alerts WHERE device_id='$a' AND kind='$kind'\") -gt $was ]"; then
		pass "$name: refused, alert $kind"
	else
		fail "$name: no $kind alert"
	fi
	[ "$(held "$a")" = "$before" ] || fail "$name changed the store ($(held "$a") != $before)"
}
next=$((hi + 1))
# records the fleet does not have yet (written after the last ack)
if [ "$devlast" -ge "$next" ]; then
	forge flip log_tampered --dir "$T/dev-A" --from "$next" --mode flip
	forge payload log_tampered --dir "$T/dev-A" --from "$next" --mode payload
	if [ "$devlast" -ge $((next + 1)) ]; then
		forge drop log_tampered --dir "$T/dev-A" --from "$next" --count 3 --mode drop
		forge swap log_tampered --dir "$T/dev-A" --from "$next" --count 3 --mode swap
	fi
else
	fail "no unforwarded records to tamper with (device $devlast, fleet $hi)"
fi
# history the fleet holds, changed: rewriting is seen
forge rewrite log_rewritten --dir "$T/dev-A" --from 2 --count 5 --mode payload
# B's records under A's topic: another log (its own id), and with A's id
forge splice-id log_spliced --dir "$T/dev-B" --from 1 --count 3
forge splice log_rewritten --dir "$T/dev-B" --from 1 --count 3 \
    --log-id "$(sed -n 's/^log_id=//p' "$T/seclog-A.key")"
# n larger than the records: malformed, never stored
"$FORGE" --dir "$T/dev-A" --from "$next" --mode short --out "$T/f-short.json" >/dev/null
m0=$(stat_of refused_malformed); pub "$T/f-short.json"
wait_for "short refused" 10 sh -c "[ \"\$(sqlite3 -cmd '.timeout 5000' '$FLEET/mamori.db' \"SELECT value FROM server_stats WHERE name='refused_malformed'\")\" -gt ${m0:-0} ]" &&
    pass "batch shorter than it says: refused as malformed" || fail "short batch not refused"
# an honest replay of held records: a duplicate, no alert, no change
d0=$(sql "SELECT duplicates FROM seclog_state WHERE device_id='$a'")
"$FORGE" --dir "$T/dev-A" --from 1 --count 10 --out "$T/f-replay.json" >/dev/null
pub "$T/f-replay.json"
wait_for "replay counted" 10 sh -c "[ \$(sqlite3 -cmd '.timeout 5000' '$FLEET/mamori.db' \"SELECT duplicates FROM seclog_state WHERE device_id='$a'\") -gt $d0 ]" &&
    pass "replayed batch recognised as a duplicate" || fail "replay not counted"
# a gap the device does not declare: not stored (the device is asked again)
if [ "$devlast" -ge $((next + 2)) ]; then
	"$FORGE" --dir "$T/dev-A" --from $((next + 2)) --count 1 --out "$T/f-gap.json" >/dev/null
	r0=$(sql "SELECT resends FROM seclog_state WHERE device_id='$a'")
	pub "$T/f-gap.json"
	wait_for "gap answered" 10 sh -c "[ \$(sqlite3 -cmd '.timeout 5000' '$FLEET/mamori.db' \"SELECT resends FROM seclog_state WHERE device_id='$a'\") -gt $r0 ]" &&
	    pass "undeclared gap: nothing stored, device asked to resend" || fail "gap not answered"
fi
[ "$(held "$a")" = "$before" ] && pass "no forged record stored ($before held)" ||
    fail "store changed by attacks: $(held "$a") != $before"
[ "$(alerts "$a" log_gap)" = 0 ] || fail "undeclared gap raised log_gap"

# A comes back: it resends from the fleet's last ack; the attacks left
# the fleet's state intact, so the honest records go on verifying
agent_start "$T/dev-A" a2 >/dev/null
agent_a=${PIDS[-1]}
wait_for "A resumes" 30 sh -c "[ \$(sqlite3 -cmd '.timeout 5000' '$FLEET/mamori.db' \"SELECT coalesce(max(seq),0) FROM seclog_records WHERE device_id='$a'\") -gt $devlast ]" &&
    pass "after restart A forwards on (beyond $devlast)" || fail "A did not resume: $(top "$a")"
kill "$agent_a"; wait "$agent_a" 2>/dev/null || true
n=$(held "$a"); hi=$(top "$a")
[ "$n" = "$hi" ] && pass "still 1..$hi, no hole, no duplicate" || fail "$n records for 1..$hi"
"$SERVER" log verify "$FLEET" "$a" >"$T/verify-a2.txt" 2>&1 &&
    pass "fleet's copy verifies after the attacks" || fail "verify: $(cat "$T/verify-a2.txt")"
[ "$(alerts "$a" log_tampered)" -ge 1 ] && [ "$(alerts "$a" log_rewritten)" -ge 1 ] &&
    [ "$(alerts "$a" log_spliced)" -ge 1 ] || fail "alerts missing"

# ---- retention before the fleet ever acknowledged (B: key not imported) ----
agent_start "$T/dev-B" b >/dev/null
agent_b=${PIDS[-1]}
wait_for "B connected" 20 grep -q "connected to fleet" "$T/agent-b.log" || fail "B not up"
segb=$(ls "$T/dev-B/log/" | head -1)
for i in $(seq 1 400); do cat "$T/dev-B/log/$segb" >/dev/null 2>&1 || segb=$(ls "$T/dev-B/log/" | head -1); sleep 0.04; done
wait_for "retention on B" 30 grep -q "retention removed" "$T/agent-b.log" &&
    pass "B's retention removed unacknowledged records" || fail "no retention on B"
[ "$(alerts "$b" log_unverifiable)" -ge 1 ] && pass "fleet alerted: B's log cannot be verified (no key)" ||
    fail "no log_unverifiable alert"
[ "$(held "$b")" = 0 ] || fail "unverifiable records stored"
"$SERVER" device seclog-key "$FLEET" "$b" "$T/seclog-B.key" >>"$T/import.log" 2>&1 || fail "import B"
wait_for "B forwards" 40 sh -c "[ \$(sqlite3 -cmd '.timeout 5000' '$FLEET/mamori.db' \"SELECT count(*) FROM seclog_records WHERE device_id='$b' AND type=257\") -ge 1 ]" &&
    pass "B's LOSS record reached the fleet" || fail "no LOSS record held for B"
[ "$(alerts "$b" log_gap)" -ge 1 ] && pass "fleet alerted the declared gap (log_gap)" || fail "no log_gap"
[ "$(alerts "$b" log_loss)" -ge 1 ] && pass "fleet alerted the loss (log_loss)" || fail "no log_loss"
sz=$(du -sk "$T/dev-B/log" | awk '{print $1}')
[ "$sz" -le 96 ] && pass "B's log within its bound (${sz} KiB on disk, bound 64 KiB + open segment)" ||
    fail "B's log is ${sz} KiB"
kill "$agent_b"; wait "$agent_b" 2>/dev/null || true
"$SERVER" log verify "$FLEET" "$b" >"$T/verify-b.txt" 2>&1 &&
    pass "B's copy verifies from the anchor after the gap" || fail "verify B: $(cat "$T/verify-b.txt")"
"$SERVER" log status "$FLEET" >"$T/status.txt" 2>&1 && grep -q "$b" "$T/status.txt" &&
    pass "log status lists the devices" || fail "status: $(cat "$T/status.txt")"
finish
