#!/usr/bin/env bash
# Provisioning at factory scale: 50 devices registered from CSV, enrolled
# over the real provisioning listener with their own keys; heartbeats reach
# the server; tokens work once; bad requests change nothing.
# Serves KP4.a, KP16, JE5, T7/L2.
. "$(dirname "$0")/lib.sh"
fleet_up

# --- factory run: 50 devices from CSV -------------------------------------
{ echo "serial,model,location,admin_contact"
  for i in $(seq 1 50); do echo "F$i,sim-1,\"Plant 1, line $i\",ops@example.net"; done
} >"$T/factory.csv"
"$SERVER" device import "$FLEET" "$T/factory.csv" >"$T/tokens.csv" 2>"$T/import.log"
n=$(sql "SELECT count(*) FROM devices WHERE state='registered'")
[ "$n" = 50 ] && pass "50 devices registered" || fail "registered $n devices, want 50"
[ "$(sql "SELECT count(DISTINCT id) FROM devices")" = 50 ] || fail "device ids not unique"
# tokens are never stored, only their hashes
tok1=$(sed -n '2p' "$T/tokens.csv" | cut -d, -f3)
if sql "SELECT token_hash FROM enroll_tokens" | grep -q "${tok1#*.}"; then
	fail "token secret stored in clear"
else
	pass "only token hashes stored"
fi

# a bad factory file registers nothing (all or nothing)
{ echo "serial,model,location,admin_contact"; echo "G1,m,,"; echo "F1,m,,"; } >"$T/dup.csv"
if "$SERVER" device import "$FLEET" "$T/dup.csv" >/dev/null 2>&1; then
	fail "import with a duplicate serial succeeded"
fi
[ "$(sql "SELECT count(*) FROM devices WHERE serial='G1'")" = 0 ] &&
    pass "failed import changed nothing" || fail "partial import left G1"

"$SIM" enroll --tokens "$T/tokens.csv" --ca "$FLEET/ca/ca.crt" --dir "$T/sim" \
    --port "$PORT" --prov-port "$PROV_PORT" --parallel 16 >"$T/enrol.out" 2>&1 ||
    fail "simulator enrolment: $(tail -n 3 "$T/enrol.out")"
grep -q "SIM enrolled=50 failed=0" "$T/enrol.out" && pass "50 devices enrolled" ||
    fail "enrolment: $(cat "$T/enrol.out")"
[ "$(sql "SELECT count(*) FROM devices WHERE state='active'")" = 50 ] ||
    fail "devices not active after enrolment"
[ "$(sql "SELECT count(DISTINCT fingerprint) FROM certificates")" = 50 ] &&
    pass "50 distinct certificates" || fail "certificates not distinct"
# every device key is its own: no two devices share a public key
keys=$(for d in "$T"/sim/d-*; do openssl pkey -in "$d/device.key" -pubout 2>/dev/null | sha256sum; done | sort -u | wc -l)
[ "$keys" = 50 ] && pass "50 distinct device keys" || fail "only $keys distinct keys"
# key files are private
bad=$(find "$T/sim" -name device.key ! -perm 600 | wc -l)
[ "$bad" = 0 ] && pass "device keys mode 0600" || fail "$bad key files not 0600"

# --- token reuse ------------------------------------------------------------
refused0=$(stat_of enroll_refused || echo 0)
"$SIM" enroll --tokens "$T/tokens.csv" --ca "$FLEET/ca/ca.crt" --dir "$T/sim2" \
    --port "$PORT" --prov-port "$PROV_PORT" --parallel 16 >"$T/enrol2.out" 2>&1 || true
grep -q "SIM enrolled=0 failed=50" "$T/enrol2.out" && pass "reused tokens refused" ||
    fail "token reuse: $(tail -n 2 "$T/enrol2.out")"
grep -q "already used" "$T/enrol2.out" && pass "refusal names the reason" ||
    fail "no reason given for reuse"
[ "$(sql "SELECT count(*) FROM certificates")" = 50 ] ||
    fail "reused tokens produced certificates"

# --- a real agent enrols, says hello, and heartbeats ------------------------
id=$(device_add A1)
sed -i 's/"heartbeat_interval": 60/"heartbeat_interval": 1/' "$T/dev-A1/agent.json"
agent_start "$T/dev-A1" a1 >/dev/null
wait_for "agent enrolled" 30 test -f "$T/dev-A1/device.crt" && pass "agent enrolled" ||
    fail "agent did not enrol: $(tail -n 5 "$T/agent-a1.log")"
[ ! -e "$T/dev-A1/enroll.token" ] && pass "token removed after use" ||
    fail "token left on device"
wait_for "heartbeats" 30 sh -c "[ \"\$(sqlite3 '$FLEET/mamori.db' \"SELECT last_seen > 0 FROM devices WHERE id='$id'\")\" = 1 ]" &&
    pass "server records last_seen of the agent" || fail "no last_seen for agent"
grep -q "hello from $id" "$T/server.log" && pass "hello received" || fail "no hello"

# --- simulated fleet heartbeats ---------------------------------------------
"$SIM" run --dir "$T/sim" --port "$PORT" --seconds 3 --interval-ms 200 >"$T/run.out" 2>&1 ||
    fail "simulator run: $(tail -n 3 "$T/run.out")"
grep -q "connected=50 " "$T/run.out" && pass "50 simulated devices connected" ||
    fail "run: $(cat "$T/run.out")"
wait_for "last seen of 50 devices" 10 sh -c "[ \"\$(sqlite3 '$FLEET/mamori.db' \"SELECT count(*) FROM devices WHERE serial LIKE 'F%' AND last_seen > 0\")\" = 50 ]" &&
    pass "server saw heartbeats from all 50" || fail "not all 50 seen"

# --- garbage on the provisioning listener changes nothing -------------------
before=$(sql "SELECT count(*) FROM certificates")
for payload in 'not json' '{"v":1,"type":"enroll"}' "$(head -c 9000 /dev/zero | tr '\0' a)"; do
	mosquitto_pub -h localhost -p "$PROV_PORT" --cafile "$FLEET/ca/ca.crt" \
	    -i "p-0123456789abcdef0123456789abcdef" \
	    -t "mamori/v1/prov/p-0123456789abcdef0123456789abcdef/req" -m "$payload" -q 1 ||
	    fail "could not publish garbage"
done
sleep 1
[ "$(sql "SELECT count(*) FROM certificates")" = "$before" ] &&
    pass "garbage enrolment requests refused without state change" ||
    fail "garbage changed certificates"
kill -0 "${PIDS[0]}" && pass "server still running" || fail "server died"
finish
