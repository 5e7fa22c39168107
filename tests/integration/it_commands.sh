#!/usr/bin/env bash
# Signed commands end to end.  Genuine commands run; forged, tampered,
# replayed, expired and misdirected ones are refused by the device even
# when they come through the broker on the right topic with the server's
# own broker credentials (a compromised broker or server identity), and
# each refusal is reported to the fleet.  Serves T11, KP16, KP8.
. "$(dirname "$0")/lib.sh"
FORGE=${MM_FORGE:?set MM_FORGE to the mm_forge test tool}
fleet_up

a=$(device_add A); b=$(device_add B)
# A keeps a sealed log (no local accounts: remote administration stays on)
"$BIN/mamori-log" create --dir "$T/dev-A" --key-out "$T/seclog-A.key" >/dev/null ||
    fail "mamori-log create"
agent_start "$T/dev-A" a >/dev/null
agent_a=${PIDS[-1]}
agent_start "$T/dev-B" b >/dev/null
wait_for "agents up" 30 sh -c "[ \$(grep -c 'hello from' '$T/server.log') -ge 2 ]"

cmd_status() { sql "SELECT status FROM commands WHERE id=$1"; }
queue() { "$SERVER" device cmd "$FLEET" "$@" | sed -n 's/^command=\([0-9]*\) queued/\1/p'; }

# genuine commands
id=$(queue "$a" ping)
wait_for "ping" 15 sh -c "[ \"\$(sqlite3 '$FLEET/mamori.db' 'SELECT status FROM commands WHERE id=$id')\" = ok ]" &&
    pass "ping executed" || fail "ping status $(cmd_status "$id")"
id=$(queue "$a" set_heartbeat '{"seconds":1}')
wait_for "set_heartbeat" 15 sh -c "[ \"\$(sqlite3 '$FLEET/mamori.db' 'SELECT status FROM commands WHERE id=$id')\" = ok ]" &&
    pass "set_heartbeat executed" || fail "set_heartbeat status $(cmd_status "$id")"
grep -q '"heartbeat_interval":1' "$T/dev-A/agent.state" && pass "setting persisted" ||
    fail "agent.state: $(cat "$T/dev-A/agent.state")"
# out-of-range argument: authentic but refused by the command itself
id=$(queue "$a" set_heartbeat '{"seconds":0}')
wait_for "bad argument" 15 sh -c "[ \"\$(sqlite3 '$FLEET/mamori.db' 'SELECT status FROM commands WHERE id=$id')\" = failed ]" &&
    pass "out-of-range argument refused" || fail "range check: $(cmd_status "$id")"
# the operator cannot queue malformed arguments at all
"$SERVER" device cmd "$FLEET" "$a" set_heartbeat '[1]' 2>/dev/null &&
    fail "non-object args queued" || pass "malformed arguments refused at the server"

last=$(sed -n 's/.*"cmd_counter":\([0-9]*\).*/\1/p' "$T/dev-A/agent.state")
[ -n "$last" ] && [ "$last" -ge 3 ] && pass "device counter at $last" || fail "counter '$last'"

# The threat: a compromised broker lets an attacker publish onto device
# command topics.  Simulate it in this test's own fleet: a broker identity
# "attacker" whose ACL allows writing every down topic.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=attacker" -keyout "$T/attacker.key" -out "$T/attacker.csr" 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >"$T/ext.cnf"
openssl x509 -req -in "$T/attacker.csr" -CA "$FLEET/ca/ca.crt" -CAkey "$FLEET/ca/ca.key" \
    -CAcreateserial -days 1 -extfile "$T/ext.cnf" -out "$T/attacker.crt" 2>/dev/null
printf '\nuser attacker\ntopic write mamori/v1/+/down/#\n' >>"$FLEET/broker/acl-devices"
kill -HUP "$(cat "$FLEET/broker/mosquitto.pid")"
sleep 1
inject() {
	mosquitto_pub -h localhost -p "$PORT" --cafile "$FLEET/ca/ca.crt" \
	    --cert "$T/attacker.crt" --key "$T/attacker.key" \
	    -q 1 -t "mamori/v1/$a/down/cmd" -f "$1"
}
refusals() { grep -c "refused command" "$T/agent-a.log" || true; }
expect_refusal() {	# frame description reason
	local before
	before=$(refusals)
	inject "$1"
	if wait_for "$2" 15 sh -c "[ \$(grep -c 'refused command' '$T/agent-a.log') -gt $before ]" &&
	    tail -n 20 "$T/agent-a.log" | grep "refused command" | tail -n 1 | grep -q "$3"; then
		pass "$2 refused ($3)"
	else
		fail "$2 not refused: $(tail -n 3 "$T/agent-a.log")"
	fi
}

next=$((last + 10))
"$FORGE" --key random --device "$a" --name ping --counter "$next" >"$T/forged"
expect_refusal "$T/forged" "command signed by an unknown key" "unsupported"
# attacker keeps our key id but cannot sign: copy the real key id in
"$FORGE" --key "$FLEET/server/cmd_sign.key" --device "$a" --name ping --counter "$next" >"$T/genuine"
cp "$T/genuine" "$T/tampered"
printf '\x7f' | dd of="$T/tampered" bs=1 seek=60 conv=notrunc 2>/dev/null
expect_refusal "$T/tampered" "tampered command" "signature"
"$FORGE" --key "$FLEET/server/cmd_sign.key" --device "$a" --name ping --counter "$next" \
    --issued-ago 4000 --ttl 3600 >"$T/expired"
expect_refusal "$T/expired" "expired command" "expired"
"$FORGE" --key "$FLEET/server/cmd_sign.key" --device "$b" --name ping --counter "$next" >"$T/other"
expect_refusal "$T/other" "command for another device" "another device"
"$FORGE" --key "$FLEET/server/cmd_sign.key" --device "$a" --name ping --counter 1 >"$T/old"
expect_refusal "$T/old" "command with a used counter" "replayed"
# an exact replay of a genuine frame: the first copy runs, the second not.
# (The test signs it with the fleet key, standing in for the server, so it
# moves the server's counter past it as the server would have.)
before=$(grep -c "command ping accepted" "$T/agent-a.log")
sql "UPDATE devices SET next_cmd_counter = $next + 1 WHERE id = '$a'"
inject "$T/genuine"
wait_for "genuine frame" 15 sh -c "[ \$(grep -c 'command ping accepted' '$T/agent-a.log') -gt $before ]" &&
    pass "genuine injected frame accepted" || fail "genuine frame not accepted"
expect_refusal "$T/genuine" "replayed genuine frame" "replayed"
head -c 10 "$T/genuine" >"$T/short"
expect_refusal "$T/short" "truncated frame" "short\|malformed"

# every refusal reached the fleet as an alert
wait_for "alert" 10 sh -c "sqlite3 '$FLEET/mamori.db' \"SELECT count FROM alerts WHERE device_id='$a' AND kind='command_refused'\" | grep -q '^[6-9]'" &&
    pass "refusals reported to the fleet ($(sql "SELECT count FROM alerts WHERE device_id='$a' AND kind='command_refused'") hits)" ||
    fail "alerts: $(sql "SELECT kind, count FROM alerts")"
# a re-key through the agent: a new key made on the device, a new certificate
# over the authenticated channel, and the device back as itself
fp0=$(openssl x509 -in "$T/dev-B/device.crt" -noout -fingerprint -sha256)
key0=$(sha256sum <"$T/dev-B/device.key")
hellos=$(grep -c "hello from $b" "$T/server.log")
id=$(queue "$b" rekey)
wait_for "B re-keyed" 30 sh -c "[ \$(grep -c 'hello from $b' '$T/server.log') -gt $hellos ]" &&
    pass "B reconnected after re-key" || fail "B did not come back after re-key"
fp1=$(openssl x509 -in "$T/dev-B/device.crt" -noout -fingerprint -sha256)
[ "$fp0" != "$fp1" ] && pass "B has a new certificate" || fail "certificate unchanged"
[ "$key0" != "$(sha256sum <"$T/dev-B/device.key")" ] && pass "B has a new key" ||
    fail "key unchanged"
[ ! -e "$T/dev-B/device.key.next" ] && pass "no pending key left" || fail "device.key.next left"
[ "$(sql "SELECT count(*) FROM certificates WHERE device_id='$b'")" = 2 ] &&
    pass "server recorded the new certificate" || fail "certificates: $(sql "SELECT count(*) FROM certificates WHERE device_id='$b'")"
openssl x509 -in "$T/dev-B/device.crt" -noout -subject | grep -q "$b" &&
    pass "new certificate names the same device" || fail "subject changed"

# a server restored from an old backup resumes above the device's counter
sql "UPDATE devices SET next_cmd_counter = 1 WHERE id = '$b'"
pkill -f -- "--state $T/dev-B" || true
sleep 1
agent_start "$T/dev-B" b2 >/dev/null
wait_for "B hello" 30 sh -c "grep -q 'connected to fleet' '$T/agent-b2.log'"
sleep 1
id=$(queue "$b" ping)
wait_for "ping after restore" 20 sh -c "[ \"\$(sqlite3 '$FLEET/mamori.db' 'SELECT status FROM commands WHERE id=$id')\" = ok ]" &&
    pass "commands work again after the server's counter went back" ||
    fail "counter resync: $(cmd_status "$id")"

# B was never affected and A still works
id=$(queue "$a" ping)
wait_for "ping after attacks" 20 sh -c "[ \"\$(sqlite3 '$FLEET/mamori.db' 'SELECT status FROM commands WHERE id=$id')\" = ok ]" &&
    pass "device still obeys genuine commands" || fail "A stopped working"
# every refusal above is in A's sealed log as an attack on the control path
kill "$agent_a" 2>/dev/null; wait "$agent_a" 2>/dev/null || true
"$BIN/mamori-log" verify --dir "$T/dev-A" --key "$T/seclog-A.key" >"$T/slv.out" 2>&1 &&
    pass "A's sealed log verifies" || fail "seclog: $(cat "$T/slv.out")"
n=$("$BIN/mamori-log" show --dir "$T/dev-A" --type attack | grep -c "command refused" || true)
[ "$n" -ge 4 ] && pass "refused commands recorded in the sealed log ($n)" ||
    fail "only $n refused commands in the sealed log"
finish
