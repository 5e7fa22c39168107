#!/usr/bin/env bash
# Isolation between devices, enforced by the real broker: a device may write
# only its own up topics and read only its own down topics; no client
# certificate, no connection; provisioning clients see only their own pair.
# Serves KP14, KP16, T5/L1, T6/L1, T11/L1.
. "$(dirname "$0")/lib.sh"
fleet_up

a=$(device_add A); b=$(device_add B)
agent_start "$T/dev-A" a >/dev/null
agent_start "$T/dev-B" b >/dev/null
wait_for "A and B enrolled" 30 sh -c "test -f '$T/dev-A/device.crt' && test -f '$T/dev-B/device.crt'"
wait_for "hellos" 20 sh -c "[ \$(grep -c 'hello from' '$T/server.log') -ge 2 ]"
A=$(dev_tls "$T/dev-A")

# A publishes into B's up topic: the broker refuses (MQTT 5 reason code)
out=$(mosquitto_pub $A -V 5 -q 1 -t "mamori/v1/$b/up/heartbeat" \
    -m '{"v":1,"type":"heartbeat","seq":1,"inst":"0000000000000000"}' 2>&1 || true)
echo "$out" | grep -qi "not authorized" && pass "broker refuses A publishing as B ($out)" ||
    fail "A could publish into B's topic: '$out'"
# A tries to read B's commands and the whole fleet: mosquitto grants the
# subscription but its ACL check on delivery gives A nothing of B's
mosquitto_sub $A -V 5 -t "mamori/v1/$b/down/#" -t "mamori/v1/#" -v -W 10 \
    >"$T/snoop-a.out" 2>&1 &
snoop=$!
PIDS+=($snoop)
sleep 1
"$SERVER" device cmd "$FLEET" "$b" ping >/dev/null
wait_for "B ran the command" 15 sh -c "sqlite3 '$FLEET/mamori.db' \"SELECT status FROM commands WHERE device_id='$b'\" | grep -q ok" &&
    pass "B received and ran its command" || fail "B did not run its command"
wait "$snoop" 2>/dev/null || true
if grep -q "mamori/v1/$b" "$T/snoop-a.out"; then
	fail "A read B's traffic: $(head -c 300 "$T/snoop-a.out")"
else
	pass "A saw none of B's commands ($(head -c 60 "$T/snoop-a.out"))"
fi
# A cannot inject commands into its own down topic either
out=$(mosquitto_pub $A -V 5 -q 1 -t "mamori/v1/$a/down/cmd" -m x 2>&1 || true)
echo "$out" | grep -qi "not authorized" && pass "broker refuses A writing down topics" ||
    fail "A wrote into its own down topic: '$out'"
# A's own up topic works (the refusals above are not a broken client)
out=$(mosquitto_pub $A -V 5 -q 1 -t "mamori/v1/$a/up/heartbeat" \
    -m '{"v":1,"type":"heartbeat","seq":9,"inst":"0000000000000000"}' 2>&1) &&
    pass "A may publish its own heartbeat" || fail "A's own publish failed: $out"

# no client certificate: the TLS handshake fails on the device listener
out=$(mosquitto_pub -h localhost -p "$PORT" --cafile "$FLEET/ca/ca.crt" -t x -m y 2>&1 || true)
[ -n "$out" ] && pass "no client certificate, no connection" || fail "connected without a cert"
# a certificate from another CA is refused
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "/CN=$b" -keyout "$T/rogue.key" -out "$T/rogue.crt" 2>/dev/null
out=$(mosquitto_pub -h localhost -p "$PORT" --cafile "$FLEET/ca/ca.crt" \
    --cert "$T/rogue.crt" --key "$T/rogue.key" -t "mamori/v1/$b/up/heartbeat" -m y 2>&1 || true)
[ -n "$out" ] && pass "self-made certificate claiming B refused" || fail "rogue cert accepted"

# anonymous provisioning clients cannot read other clients' requests
mosquitto_sub -h localhost -p "$PROV_PORT" --cafile "$FLEET/ca/ca.crt" -V 5 \
    -i "p-00000000000000000000000000000000" -t 'mamori/v1/prov/#' -v -W 10 \
    >"$T/snoop-p.out" 2>&1 &
snoop=$!
PIDS+=($snoop)
sleep 1
c=$(device_add C)
agent_start "$T/dev-C" c >/dev/null
wait_for "C enrolled" 30 test -f "$T/dev-C/device.crt" && pass "C enrolled while watched" ||
    fail "C did not enrol"
wait "$snoop" 2>/dev/null || true
if grep -q "token\|$c" "$T/snoop-p.out"; then
	fail "anonymous client read an enrolment: $(head -c 300 "$T/snoop-p.out")"
else
	pass "provisioning clients cannot read others' tokens or certificates"
fi
out=$(mosquitto_pub -h localhost -p "$PROV_PORT" --cafile "$FLEET/ca/ca.crt" -V 5 -q 1 \
    -i "p-00000000000000000000000000000000" -t "mamori/v1/$a/up/heartbeat" -m x 2>&1 || true)
echo "$out" | grep -qi "not authorized" && pass "provisioning clients cannot reach device topics" ||
    fail "anonymous client published to a device topic: '$out'"
# the TLS minimum is 1.2
out=$(echo | timeout 5 openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 2>&1 || true)
echo "$out" | grep -qi "alert\|error\|no protocols" && pass "TLS 1.1 refused" || fail "TLS 1.1 accepted"
finish
