#!/usr/bin/env bash
# make demo: the whole system on embedded defaults, on this machine only
# (loopback).  Creates a fleet in demo-state/, starts the broker and the
# server, enrols real agents and a simulated fleet, sends signed commands,
# re-keys a device, revokes a stolen one and shows that a cloned identity is
# caught.  Everything stops at the end; logs stay in demo-state/.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/release}
bin=$build/src
state=$top/demo-state
fleet=$state/fleet

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
pids=()
stop_all() {
	for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	sleep 0.5
	"$bin/mamori-server" broker stop "$fleet" 2>/dev/null || true
}
trap stop_all EXIT
sql() { sqlite3 -cmd '.timeout 5000' -column -header "$fleet/mamori.db" "$@"; }
wait_for() {	# seconds command...
	local i secs=$1; shift
	for ((i = 0; i < secs * 10; i++)); do "$@" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

[ -d "$fleet" ] && "$bin/mamori-server" broker stop "$fleet" 2>/dev/null || true
# the agent's network worker runs as this user (deploy/sysusers/mamori-agent.conf)
if [ "$(id -u)" = 0 ] && ! id mamori-agent >/dev/null 2>&1; then
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin mamori-agent
fi
rm -rf "$state"
mkdir -p "$state"
chmod 755 "$state"

say "1. Create a fleet: CA, broker identity, command-signing key, database, broker config"
"$bin/mamori-server" init "$fleet" 2>&1 | tail -n 1
"$bin/mamori-server" broker start "$fleet" 2>&1 | tail -n 1
"$bin/mamori-server" run "$fleet" >"$state/server.log" 2>&1 &
pids+=($!)
wait_for 10 grep -q "connected to broker (devices)" "$state/server.log"
echo "broker: TLS 1.2+, client certificates required, identity = certificate CN, per-device ACL"

say "2. Factory: register three cameras; each gets a unique one-time token"
for s in CAM-0001 CAM-0002 CAM-0003; do
	"$bin/mamori-server" device add "$fleet" --serial "$s" --model cam-100 \
	    --location "Tokyo office, floor 3" --admin "facilities@example.net" \
	    --bundle "$state/$s" 2>/dev/null >"$state/add-$s.out"
	dev=$(sed -n 's/^device_id=//p' "$state/add-$s.out")
	echo "  $s -> $dev"
	sed -i 's/"heartbeat_interval": 60/"heartbeat_interval": 5/' "$state/$s/agent.json"
	sed -i '$ s/}[[:space:]]*$/,"seclog_epoch_seconds":10}/' "$state/$s/agent.json"
	# the factory step: a unique random administrator secret, printed on a
	# label, kept on the device only as an Argon2id hash; and the sealed
	# security log, whose initial key goes to the fleet and not the device
	"$bin/mamori-factory" --state "$state/$s" --label "$state/label-$s.txt" \
	    --seclog-key-out "$state/seclog-$s.key" >/dev/null
	"$bin/mamori-server" device seclog-key "$fleet" "$dev" "$state/seclog-$s.key" >/dev/null
	rm -f "$state/seclog-$s.key"
	printf '  %s label: %s\n' "$s" "$(sed -n 's/^initial password: //p' "$state/label-$s.txt")"
done
# CAM-0001 also serves its HTTPS admin page on loopback
web=18443
while ss -Hltn "sport = :$web" | grep -q .; do web=$((web + 1)); done
sed -i '$ s/}[[:space:]]*$/,"web_port":'"$web"',"web_addr":"127.0.0.1","denylist":"'"${top//\//\\/}"'\/data\/auth\/denylist.txt"}/' "$state/CAM-0001/agent.json"

say "3. First start: each agent makes its own key, enrols with its token, reconnects as itself"
for s in CAM-0001 CAM-0002 CAM-0003; do
	"$bin/mamori-agent" --state "$state/$s" >"$state/agent-$s.log" 2>&1 &
	pids+=($!)
done
for s in CAM-0001 CAM-0002 CAM-0003; do
	wait_for 30 grep -q "connected to fleet" "$state/agent-$s.log" || { echo "agent $s failed"; exit 1; }
done
for s in CAM-0001 CAM-0002 CAM-0003; do
	printf '  %s: %s; %s\n' "$s" \
	    "$(grep -o 'enrolled as .*' "$state/agent-$s.log" | head -n 1)" \
	    "$(grep -o 'network worker runs as [^ ]*' "$state/agent-$s.log" | head -n 1)"
done

say "4. Local administration of CAM-0001: the initial password must be changed first"
ctl() { "$bin/mamorictl" --socket "$state/CAM-0001/ctl.sock" --session "$state/ctl.session" "$@"; }
secret=$(sed -n 's/^initial password: //p' "$state/label-CAM-0001.txt")
wait_for 10 test -S "$state/CAM-0001/ctl.sock"
echo "$secret" | ctl login admin 2>&1 | sed 's/^/  login: /'
ctl status 2>&1 | sed 's/^/  status: /' || true
id1=$(cat "$state/CAM-0001/device.id")
"$bin/mamori-server" device cmd "$fleet" "$id1" set_heartbeat '{"seconds":9}' >/dev/null
wait_for 15 sh -c "[ \"\$(sqlite3 '$fleet/mamori.db' \"SELECT status FROM commands WHERE name='set_heartbeat'\")\" = refused ]" &&
    echo "  fleet: set_heartbeat refused by the device until the password is changed" || true
for weak in 12345678 Password1! "$secret"; do
	printf '%s\n%s\n%s\n' "$secret" "$weak" "$weak" | ctl passwd 2>&1 | sed "s/^/  passwd $weak: /" || true
done
printf '%s\n%s\n%s\n' "$secret" "Lantern-Quiet-47" "Lantern-Quiet-47" | ctl passwd | sed 's/^/  passwd: /'
echo "Lantern-Quiet-47" | ctl login admin >/dev/null && ctl status | sed 's/^/  /'
echo "  admin page: https://127.0.0.1:$web/ (self-signed certificate, made on the device)"
if [ -x "$build/tests/mm_authbrute" ]; then
	echo "  an attacker on 127.0.0.1 sends 10,000 wrong passwords to the admin page:"
	"$build/tests/mm_authbrute" --port "$web" --count 10000 --seconds 30 | sed 's/^/    /'
	echo "  the owner logs in from 127.0.0.2 meanwhile:"
	"$build/tests/mm_authbrute" --port "$web" --bind 127.0.0.2 --count 1 \
	    --password Lantern-Quiet-47 | sed 's/^/    /'
fi

say "5. A factory run of 200 simulated devices, then 5 seconds of heartbeats over TLS"
{ echo "serial,model,location,admin_contact"
  for i in $(seq -w 1 200); do echo "SENSOR-$i,env-sensor,Osaka plant,ops@example.net"; done
} >"$state/factory.csv"
"$bin/mamori-server" device import "$fleet" "$state/factory.csv" >"$state/tokens.csv" 2>/dev/null
"$bin/mamori-sim" enroll --tokens "$state/tokens.csv" --ca "$fleet/ca/ca.crt" --dir "$state/sim" \
    --parallel 32 | sed 's/^/  /'
"$bin/mamori-sim" run --dir "$state/sim" --seconds 5 --interval-ms 1000 | sed 's/^/  /'

say "6. Signed commands: ping, change the heartbeat, re-key CAM-0001"
id1=$(cat "$state/CAM-0001/device.id")
"$bin/mamori-server" device cmd "$fleet" "$id1" ping >/dev/null
"$bin/mamori-server" device cmd "$fleet" "$id1" set_heartbeat '{"seconds":10}' >/dev/null
"$bin/mamori-server" device cmd "$fleet" "$id1" rekey >/dev/null
wait_for 20 sh -c "[ \$(sqlite3 '$fleet/mamori.db' \"SELECT count(*) FROM commands WHERE status='ok'\") -ge 3 ]" || true
sql "SELECT id, name, args, counter, status FROM commands"
sql "SELECT device_id, substr(fingerprint,1,16) AS fingerprint, datetime(not_after,'unixepoch') AS not_after FROM certificates WHERE device_id='$id1'"

say "7. CAM-0002 is stolen: revoke it; the broker reloads the CRL and refuses it"
id2=$(cat "$state/CAM-0002/device.id")
"$bin/mamori-server" device revoke "$fleet" "$id2" --reason stolen 2>&1 | grep -i "revoked\|restart" | sed 's/^/  /'
sleep 5
echo "  broker: $(grep -c 'certificate verify failed' "$fleet/broker/mosquitto.log") handshakes refused since"
grep -h "cannot connect\|lost" "$state/agent-CAM-0002.log" | tail -n 1 | sed 's/^/  agent: /'

say "8. Someone copies CAM-0003's key to a second box: the clone is detected"
cp -a "$state/CAM-0003" "$state/CAM-0003-clone"
"$bin/mamori-agent" --state "$state/CAM-0003-clone" >"$state/agent-clone.log" 2>&1 &
pids+=($!)
wait_for 40 sh -c "sqlite3 '$fleet/mamori.db' \"SELECT 1 FROM alerts WHERE kind='clone_suspected'\" | grep -q 1" || true

say "9. The owner of CAM-0001 lost the password: a pairing-like reset from the fleet"
"$bin/mamori-server" device cred-reset "$fleet" "$id1" 2>&1 | sed 's/^/  /'
wait_for 20 "$bin/mamori-server" device cred-secret "$fleet" "$id1" >"$state/reset.txt" 2>&1 &&
    sed 's/^/  /' "$state/reset.txt" || echo "  no answer yet"

say "10. The fleet's copy of the sealed security logs, verified from the initial keys"
cat "$state/CAM-0001/log/"seg-* >/dev/null	# someone reads CAM-0001's log files
sleep 3
"$bin/mamori-server" log status "$fleet" | sed 's/^/  /'
"$bin/mamori-server" log verify "$fleet" "$id1" | sed 's/^/  /' || true
echo "  CAM-0001, last authentication and access records held by the fleet:"
"$bin/mamori-server" log show "$fleet" "$id1" --type auth | tail -n 3 | cut -c1-160 | sed 's/^/    /'
"$bin/mamori-server" log show "$fleet" "$id1" --type log_access | tail -n 1 | cut -c1-160 | sed 's/^/    /'

# stop the server so its last counters are saved
kill "${pids[0]}" 2>/dev/null || true
wait "${pids[0]}" 2>/dev/null || true

say "Fleet"
sql "SELECT serial, state, model, cred_state, location, datetime(last_seen,'unixepoch') AS last_seen FROM devices WHERE serial LIKE 'CAM%'"
echo "  ... and $(sqlite3 "$fleet/mamori.db" "SELECT count(*) FROM devices WHERE serial LIKE 'SENSOR%' AND last_seen > 0") simulated sensors seen"
say "Alerts"
sql "SELECT kind, severity, count, requirements, detail FROM alerts"
say "Server counters"
"$bin/mamori-server" stats "$fleet" | column -t | sed 's/^/  /'
echo
echo "Logs: $state (server.log, agent-*.log, fleet/broker/mosquitto.log)"
