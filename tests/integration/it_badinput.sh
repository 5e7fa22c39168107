#!/usr/bin/env bash
# Bad input from an authenticated device: malformed, oversized, unknown or
# mistyped messages are refused, counted and logged; the server keeps
# serving.  Serves KP8 (message validity checks), T11/L1, T10/L1.
. "$(dirname "$0")/lib.sh"
fleet_up

a=$(device_add A)
agent_start "$T/dev-A" a >/dev/null
wait_for "A up" 30 sh -c "grep -q 'hello from $a' '$T/server.log'"
pkill -f -- "--state $T/dev-A" || true	# the agent's client id is needed below
sleep 1
A=$(dev_tls "$T/dev-A")
pub() { mosquitto_pub $A -q 1 -t "mamori/v1/$a/up/$1" -m "$2"; }

pub heartbeat 'not json'
pub heartbeat '{"v":1,"type":"heartbeat"}'
pub heartbeat '{"v":2,"type":"heartbeat","seq":1,"inst":"0000000000000000"}'
pub heartbeat '{"v":1,"type":"hello","seq":1,"inst":"0000000000000000"}'
pub heartbeat '{"v":1,"type":"heartbeat","seq":"1","inst":"0000000000000000"}'
pub heartbeat '{"v":1,"type":"heartbeat","seq":1,"inst":"XYZ0000000000000"}'
pub heartbeat "{\"v\":1,\"type\":\"heartbeat\",\"seq\":1,\"inst\":\"0000000000000000\",\"pad\":\"$(head -c 600 /dev/zero | tr '\0' x)\"}"
pub hello '{"v":1,"type":"hello","inst":"0000000000000000","model":"m\u0001","serial":"x","fw":"1","boot_id":"b","hb":5,"ctr":0}'
pub cmd_result '{"v":1,"type":"cmd_result","ctr":1,"status":"maybe"}'
pub csr '{"v":1,"type":"csr","csr":"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}'
pub nonsense '{"v":1}'
mosquitto_pub $A -q 1 -t "mamori/v1/$a/up/heartbeat" -f /dev/null	# empty
head -c 15000 /dev/urandom >"$T/junk"
mosquitto_pub $A -q 1 -t "mamori/v1/$a/up/hello" -f "$T/junk"

wait_for "refusals counted" 15 sh -c "[ \"\$(sqlite3 '$FLEET/mamori.db' \"SELECT value FROM server_stats WHERE name='refused_malformed'\")\" -ge 11 ]" &&
    pass "malformed messages refused ($(stat_of refused_malformed))" ||
    fail "refused_malformed=$(stat_of refused_malformed)"
[ "$(stat_of refused_unknown_kind)" -ge 1 ] && pass "unknown kind refused" ||
    fail "refused_unknown_kind=$(stat_of refused_unknown_kind)"
[ "$(stat_of csr_refused)" -ge 1 ] && pass "bad CSR refused" || fail "csr_refused=$(stat_of csr_refused)"
grep -q "refused: .*bad heartbeat message" "$T/server.log" && pass "refusals logged" ||
    fail "no refusal log line"
[ "$(sql "SELECT count(*) FROM certificates WHERE device_id='$a'")" = 1 ] &&
    pass "no certificate issued for a bad CSR" || fail "bad CSR produced a certificate"
[ "$(sql "SELECT fw_version FROM devices WHERE id='$a'")" = "1.0.0" ] &&
    pass "registry unchanged by bad hello" || fail "bad hello changed the registry"

# still serving: a valid heartbeat is processed
hb=$(stat_of heartbeats)
pub heartbeat '{"v":1,"type":"heartbeat","seq":77,"inst":"0000000000000000","up":1}'
wait_for "valid heartbeat" 15 sh -c "[ \"\$(sqlite3 '$FLEET/mamori.db' \"SELECT value FROM server_stats WHERE name='heartbeats'\")\" -gt $hb ]" &&
    pass "server still serves valid messages" || fail "valid heartbeat not processed"
kill -0 "${PIDS[0]}" && pass "server alive" || fail "server died"
finish
