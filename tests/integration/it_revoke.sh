#!/usr/bin/env bash
# Revocation: the CRL is regenerated, the embedded broker reloads it, the
# revoked device cannot come back, others can.  Serves KP16, T7/L2, T3/L2.
. "$(dirname "$0")/lib.sh"
fleet_up

a=$(device_add A); b=$(device_add B)
agent_start "$T/dev-A" a >/dev/null
agent_start "$T/dev-B" b >/dev/null
wait_for "agents up" 30 sh -c "[ \$(grep -c 'hello from' '$T/server.log') -ge 2 ]"
A=$(dev_tls "$T/dev-A")
serial=$(sql "SELECT serial FROM certificates WHERE device_id='$a'")

"$SERVER" device revoke "$FLEET" "$a" --reason "stolen" >"$T/revoke.log" 2>&1 ||
    fail "revoke: $(cat "$T/revoke.log")"
[ "$(sql "SELECT state FROM devices WHERE id='$a'")" = revoked ] && pass "registry says revoked" ||
    fail "state not revoked"
openssl crl -in "$FLEET/ca/crl.pem" -noout -text | grep -qi "$serial" &&
    pass "CRL lists the certificate" || fail "serial $serial not in CRL"
openssl crl -in "$FLEET/ca/crl.pem" -CAfile "$FLEET/ca/ca.crt" -noout 2>&1 | grep -q "verify OK" &&
    pass "CRL signed by the fleet CA" || fail "CRL signature"

# B reconnects after the broker restart and says hello again
wait_for "B back" 60 sh -c "[ \$(grep -c 'hello from $b' '$T/server.log') -ge 2 ]" &&
    pass "other devices reconnect" || fail "B did not reconnect"
hellos_a=$(grep -c "hello from $a" "$T/server.log")
sleep 8
[ "$(grep -c "hello from $a" "$T/server.log")" = "$hellos_a" ] &&
    pass "revoked device did not get back in" || fail "revoked device said hello again"
grep -q "cannot connect\|connection to fleet lost" "$T/agent-a.log" &&
    pass "agent A sees its connection refused" || fail "agent A log: $(tail -n 3 "$T/agent-a.log")"
out=$(mosquitto_pub $A -t "mamori/v1/$a/up/heartbeat" -m x 2>&1 || true)
[ -n "$out" ] && pass "broker refuses the revoked certificate ($out)" ||
    fail "revoked certificate accepted by the broker"
grep -q "certificate revoked\|certificate verify failed" "$FLEET/broker/mosquitto.log" && pass "broker log shows the verification failure" ||
    fail "broker log: $(tail -n 3 "$FLEET/broker/mosquitto.log")"
# a revoked device cannot enrol again with a fresh token either
"$SERVER" device token "$FLEET" "$a" >/dev/null 2>&1 && fail "new token for revoked device" ||
    pass "no new token for a revoked device"
finish
