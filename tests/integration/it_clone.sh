#!/usr/bin/env bash
# Clone detection: the same identity used by two live instances (a copied
# key) makes the broker drop the older session each time the other
# connects; the server sees instance ids alternate and raises an alert.
# A plain restart does not.  Serves T7/L2, T7/L4, KP16.
. "$(dirname "$0")/lib.sh"
fleet_up

a=$(device_add A)
sed -i 's/"heartbeat_interval": 60/"heartbeat_interval": 1/' "$T/dev-A/agent.json"
pid=$(agent_start "$T/dev-A" a)
wait_for "A up" 30 sh -c "grep -q 'hello from $a' '$T/server.log'"
# a legitimate restart is not a clone
kill "$pid"; sleep 1
agent_start "$T/dev-A" a2 >/dev/null
wait_for "A back" 30 sh -c "[ \$(grep -c 'hello from $a' '$T/server.log') -ge 2 ]"
sleep 4
[ "$(sql "SELECT count(*) FROM alerts WHERE kind='clone_suspected'")" = 0 ] &&
    pass "restart raises no clone alert" || fail "restart flagged as clone"

# now a copy of the device's identity runs elsewhere
cp -a "$T/dev-A" "$T/clone"
agent_start "$T/clone" clone >/dev/null
wait_for "clone alert" 60 sh -c "[ \"\$(sqlite3 '$FLEET/mamori.db' \"SELECT count(*) FROM alerts WHERE kind='clone_suspected' AND device_id='$a'\")\" = 1 ]" &&
    pass "clone detected: $(sql "SELECT detail FROM alerts WHERE kind='clone_suspected'")" ||
    fail "no clone alert; alerts: $(sql 'SELECT kind FROM alerts')"
[ "$(sql "SELECT severity FROM alerts WHERE kind='clone_suspected'")" = critical ] &&
    pass "clone alert is critical" || fail "clone alert severity"
grep -q "already connected, closing old connection" "$FLEET/broker/mosquitto.log" &&
    pass "broker dropped the older session" || fail "broker log shows no takeover"
finish
