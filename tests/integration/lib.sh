# Shared helpers for integration tests: a real fleet (CA, Mosquitto with
# mutual TLS, SQLite, mamori-server) on loopback, in a fresh directory.
# Every test sources this, calls fleet_up, and gets cleanup on exit.
set -euo pipefail

BIN=${MAMORI_BIN:?set MAMORI_BIN to the build src directory}
SERVER=$BIN/mamori-server
AGENT=$BIN/mamori-agent
SIM=$BIN/mamori-sim
T=$(mktemp -d /tmp/mamori-it.XXXXXX)
chmod 755 "$T"	# the broker drops to its own user and must reach the fleet
FLEET=$T/fleet
PIDS=()
FAILS=0

log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
fail() { log "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { log "ok: $*"; }

cleanup() {
	local p
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null || true
	done
	sleep 0.3
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
	done
	[ -d "$FLEET" ] && "$SERVER" broker stop "$FLEET" 2>/dev/null || true
	if [ "${KEEP:-0}" = 1 ]; then
		log "kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

# A free TCP port on loopback.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		ss -Hltn "sport = :$p" | grep -q . || break
	done
	echo "$p"
}

# Creates the fleet, starts the broker and the server.
fleet_up() {
	PORT=$(free_port)
	PROV_PORT=$(free_port)
	while [ "$PROV_PORT" = "$PORT" ]; do PROV_PORT=$(free_port); done
	"$SERVER" init "$FLEET" --port "$PORT" --prov-port "$PROV_PORT" >"$T/init.log" 2>&1
	"$SERVER" broker start "$FLEET" >>"$T/init.log" 2>&1
	"$SERVER" run "$FLEET" >"$T/server.log" 2>&1 &
	PIDS+=($!)
	wait_for "server connected" 10 grep -q "connected to broker (devices)" "$T/server.log"
}

# wait_for DESCRIPTION SECONDS COMMAND...: polls until COMMAND succeeds.
wait_for() {
	local what=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		if "$@" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	log "timed out waiting for: $what"
	return 1
}

# Registers a device and writes its factory bundle into $T/dev-<serial>.
device_add() {	# serial [model]
	local serial=$1 model=${2:-cam-100}
	"$SERVER" device add "$FLEET" --serial "$serial" --model "$model" \
	    --location "Lab" --admin "ops@example.net" --bundle "$T/dev-$serial" \
	    >"$T/add-$serial.out" 2>>"$T/admin.log"
	sed -n 's/^device_id=//p' "$T/add-$serial.out"
}

# Starts an agent on a state directory; logs to $T/agent-<name>.log.
agent_start() {	# statedir name
	"$AGENT" --state "$1" >"$T/agent-$2.log" 2>&1 &
	PIDS+=($!)
	echo $!
}

sql() { sqlite3 -cmd '.timeout 5000' "$FLEET/mamori.db" "$@"; }
stat_of() { sql "SELECT value FROM server_stats WHERE name='$1'"; }

# MQTT client options for a device's own identity (mosquitto_pub/sub).
dev_tls() {	# statedir
	echo "-h localhost -p $PORT --cafile $1/ca.crt --cert $1/device.crt --key $1/device.key"
}

finish() {
	if [ "$FAILS" -eq 0 ]; then
		log "PASS"
		exit 0
	fi
	log "$FAILS check(s) failed; logs in $T"
	KEEP=1
	exit 1
}

# The factory step for a device bundle: sets $secret from its label; with
# a third argument also creates the sealed log, its initial key in that file.
factory_step() {	# statedir label [seclog-key-file]
	"$BIN/mamori-factory" --state "$1" --label "$2" --class small \
	    ${3:+--seclog-key-out "$3"} >"$T/factory.log" 2>&1 ||
	    fail "factory step: $(cat "$T/factory.log")"
	secret=$(sed -n 's/^initial password: //p' "$2")
	[ ${#secret} = 19 ] && pass "initial secret on the label" || fail "label: $(cat "$2")"
}

# Adds settings to a bundle's agent.json: agent_json statedir '"key":value,...'
agent_json() {
	local esc=${2//\\/\\\\}
	esc=${esc//\//\\/}
	esc=${esc//&/\\&}
	sed -i '$ s/}[[:space:]]*$/,'"$esc"'}/' "$1/agent.json"
}

# A free port for the admin page, distinct from the broker's.
web_port() {
	local p
	p=$(free_port)
	while [ "$p" = "$PORT" ] || [ "$p" = "$PROV_PORT" ]; do p=$(free_port); done
	echo "$p"
}
