#!/usr/bin/env bash
# Secure first start and local administration over mamorictl, end to end
# with a real fleet: the factory secret, the forced change, the policy, the
# fleet being told, remote administration off until the change, roles,
# maintenance mode by signed command, the pairing-like credential reset,
# peer credentials on the control socket, lockout after repeated failures
# (reported to the fleet), and the admin worker's privilege separation.
# Serves KP4.a-c, KP4.e, KP4.h, KP15, JE3, JE4, T1/L1, T7/L2, T11/L1.
. "$(dirname "$0")/lib.sh"
SRC=${MM_SRC:?set MM_SRC to the source tree}
CTL=$BIN/mamorictl
FACTORY=$BIN/mamori-factory
fleet_up

a=$(device_add A)
D=$T/dev-A
# the factory step: unique secret, label for printing, hash on the device
factory_step "$D" "$T/label-A" "$T/seclog-A.key"
grep -q -- "$secret" "$D/auth.json" && fail "secret stored in clear" ||
    pass "only a hash on the device"
[ "$(stat -c %a "$T/label-A")" = 600 ] && pass "label file 0600" || fail "label mode"
mkdir -p "$T/dev-B0"
"$FACTORY" --state "$T/dev-B0" --label "$T/label-B0" --class small >/dev/null 2>&1
[ "$(sed -n 's/^initial password: //p' "$T/label-B0")" != "$secret" ] &&
    pass "a second device gets another secret" || fail "secrets repeat"
"$FACTORY" --state "$D" --label "$T/label-again" >/dev/null 2>&1 &&
    fail "factory step ran twice" || pass "the factory step runs once"

# local admin settings: control socket in the state dir, no web page here
# (the socket outside the root-only state directory, so that the peer
# credential check, not the directory, is what refuses other users)
agent_json "$D" '"web_port":0,"ctl_socket":"'"$T"'/ctl-A.sock","denylist":"'"$SRC"'/data/auth/denylist.txt","presence_path":"'"$T"'/button"'
agent_start "$D" a >/dev/null
wait_for "A up" 30 sh -c "grep -q 'hello from $a' '$T/server.log'"
SOCK=$T/ctl-A.sock
ctl() { "$CTL" --socket "$SOCK" --session "$T/session" "$@"; }
wait_for "control socket" 10 test -S "$SOCK"

# the fleet learns that the initial password is still set (KP15)
wait_for "cred state" 20 sh -c "[ \"\$(sqlite3 '$FLEET/mamori.db' \"SELECT cred_state FROM devices WHERE id='$a'\")\" = initial ]" &&
    pass "fleet sees initial credentials" || fail "cred_state: $(sql "SELECT cred_state FROM devices WHERE id='$a'")"
[ "$(sql "SELECT COUNT(*) FROM alerts WHERE device_id='$a' AND kind='initial_credentials'")" -ge 1 ] &&
    pass "alert: initial credentials unchanged" || fail "no initial_credentials alert"

# remote administration stays off until the password is changed
queue() { "$SERVER" device cmd "$FLEET" "$@" | sed -n 's/^command=\([0-9]*\) queued/\1/p'; }
cmd_status() { sql "SELECT status FROM commands WHERE id=$1"; }
wait_cmd() { wait_for "command $1" 20 sh -c "[ \"\$(sqlite3 -cmd '.timeout 5000' '$FLEET/mamori.db' 'SELECT status FROM commands WHERE id=$1')\" = $2 ]"; }
id=$(queue "$a" set_heartbeat '{"seconds":7}')
wait_cmd "$id" refused && pass "fleet admin command refused before the change" ||
    fail "set_heartbeat before change: $(cmd_status "$id")"
id=$(queue "$a" ping)
wait_cmd "$id" ok && pass "ping still answered" || fail "ping: $(cmd_status "$id")"

# first login: everything but the change is refused
echo "$secret" | ctl login admin >"$T/login.out" 2>&1 && grep -q "must be changed" "$T/login.out" &&
    pass "first login says the password must change" || fail "login: $(cat "$T/login.out")"
ctl status >"$T/st.out" 2>&1 && fail "status allowed before the change" ||
    { grep -q must_change "$T/st.out" && pass "status refused until the change"; } ||
    fail "status: $(cat "$T/st.out")"
for weak in admin 12345678 password Password1! xc3511 "$secret"; do
	printf '%s\n%s\n%s\n' "$secret" "$weak" "$weak" | ctl passwd >"$T/pw.out" 2>&1 &&
	    fail "weak password $weak accepted" || true
	grep -q "policy" "$T/pw.out" || fail "no policy refusal for $weak: $(cat "$T/pw.out")"
done
pass "well-known defaults and the initial secret refused by the policy"
printf '%s\n%s\n%s\n' "$secret" "Lantern-Quiet-47" "Lantern-Quiet-47" | ctl passwd >"$T/pw.out" 2>&1 &&
    pass "password changed" || fail "passwd: $(cat "$T/pw.out")"
ctl status >/dev/null 2>&1 && fail "session survived the password change" ||
    pass "sessions end with the password change"
echo "$secret" | ctl login admin >/dev/null 2>&1 && fail "initial secret still works" ||
    pass "initial secret dead"
echo "Lantern-Quiet-47" | ctl login admin >/dev/null 2>&1 && ctl status >"$T/st.out" 2>&1 &&
    grep -q '"cred_initial": false' "$T/st.out" && pass "status after the change" ||
    fail "status: $(cat "$T/st.out")"
wait_for "cred set" 20 sh -c "[ \"\$(sqlite3 '$FLEET/mamori.db' \"SELECT cred_state FROM devices WHERE id='$a'\")\" = set ]" &&
    pass "fleet sees the change" || fail "cred_state after change"
id=$(queue "$a" set_heartbeat '{"seconds":2}')
wait_cmd "$id" ok && pass "fleet administration on after the change" ||
    fail "set_heartbeat after change: $(cmd_status "$id")"

# roles: a viewer may look but not change
echo "Harbor+Maple-93" | ctl user-add vera viewer >/dev/null 2>&1 && pass "viewer added" ||
    fail "user-add"
cp "$T/session" "$T/session.admin"
echo "Harbor+Maple-93" | ctl login vera >/dev/null 2>&1
printf '%s\n%s\n%s\n' "Harbor+Maple-93" "Copper;Violet-18" "Copper;Violet-18" | ctl passwd >/dev/null 2>&1
echo "Copper;Violet-18" | ctl login vera >/dev/null 2>&1
ctl status >/dev/null 2>&1 && pass "viewer reads status" || fail "viewer status"
ctl set heartbeat_interval 9 >"$T/v.out" 2>&1 && fail "viewer changed a setting" ||
    { grep -q denied "$T/v.out" && pass "viewer may not change settings"; } || fail "viewer: $(cat "$T/v.out")"
ctl users >/dev/null 2>&1 && fail "viewer listed users" || pass "viewer may not list users"
cp "$T/session.admin" "$T/session"

# maintenance: shut by default; a signed fleet command opens it, bounded
ctl diag >/dev/null 2>&1 && fail "diagnostics open without maintenance mode" ||
    pass "maintenance functions shut by default"
ctl maintenance 5 >"$T/m.out" 2>&1 && fail "maintenance without presence" ||
    { grep -q presence "$T/m.out" && pass "local maintenance needs physical presence"; } ||
    fail "maintenance: $(cat "$T/m.out")"
echo 1 >"$T/button"
ctl maintenance 5 >/dev/null 2>&1 && ctl diag >/dev/null 2>&1 &&
    pass "maintenance with the button pressed" || fail "maintenance with button"
ctl maintenance off >/dev/null 2>&1
rm -f "$T/button"
id=$(queue "$a" maintenance '{"minutes":3}')
wait_cmd "$id" ok && ctl diag >/dev/null 2>&1 && pass "maintenance by signed fleet command" ||
    fail "fleet maintenance: $(cmd_status "$id")"
grep -q "maintenance mode on for 3 minutes (signed fleet command)" "$T/agent-a.log" &&
    pass "maintenance logged" || fail "maintenance not logged"

# pairing-like credential reset from the fleet
"$SERVER" device cred-reset "$FLEET" "$a" >"$T/reset.out" 2>&1 || fail "cred-reset: $(cat "$T/reset.out")"
wait_for "reset answered" 20 sh -c "'$SERVER' device cred-secret '$FLEET' '$a' >'$T/secret.out' 2>&1"
new=$(grep -oE '[2-9a-zA-Z]{4}-[2-9a-zA-Z]{4}-[2-9a-zA-Z]{4}-[2-9a-zA-Z]{4}' "$T/secret.out" | head -n 1)
[ -n "$new" ] && pass "one-time secret delivered sealed to the operator" || fail "cred-secret: $(cat "$T/secret.out")"
grep -q -- "$new" "$FLEET/broker/mosquitto.db" 2>/dev/null && fail "secret visible to the broker" || true
[ -z "$(sql "SELECT 1 FROM commands WHERE result_sealed LIKE '%$new%'")" ] &&
    pass "database holds only the sealed secret" || fail "secret in the database"
"$SERVER" device cred-secret "$FLEET" "$a" >/dev/null 2>&1 && fail "secret shown twice" ||
    pass "secret shown once"
ctl status >/dev/null 2>&1 && fail "session survived the reset" || pass "reset ended sessions"
echo "$new" | ctl login admin >"$T/login.out" 2>&1 && grep -q "must be changed" "$T/login.out" &&
    pass "reset secret must be changed" || fail "login after reset: $(cat "$T/login.out")"
printf '%s\n%s\n%s\n' "$new" "Granite#Willow-52" "Granite#Willow-52" | ctl passwd >/dev/null 2>&1 ||
    fail "change after reset"

# peer credentials: another local user is refused even if the socket lets it in
if [ "$(id -u)" = 0 ]; then
	chmod 666 "$SOCK"
	runuser -u nobody -- "$CTL" --socket "$SOCK" --session /tmp/nobody-$$.session login admin \
	    </dev/null >"$T/nobody.out" 2>&1 && fail "uid nobody served" ||
	    pass "other local users refused (peer credentials)"
	grep -q "refused (peer credentials)" "$T/agent-a.log" && pass "peer refusal logged" ||
	    fail "peer refusal not logged"
	chmod 600 "$SOCK"
	# the admin worker: not root, no_new_privs, no hashes in reach
	nw=$(pgrep -f -- "--state $D" | wc -l)
	[ "$nw" = 3 ] && pass "monitor, network worker and admin worker" || fail "$nw agent processes"
	for p in $(pgrep -f -- "--state $D"); do
		[ "$(awk '/^Uid:/ {print $2}' /proc/$p/status)" = 0 ] && continue
		[ "$(awk '/^NoNewPrivs:/ {print $2}' /proc/$p/status)" = 1 ] || fail "worker $p without no_new_privs"
	done
	wu=$(id -nu mamori-agent 2>/dev/null || echo nobody)
	runuser -u "$wu" -- cat "$D/auth.json" >/dev/null 2>&1 && fail "workers' user can read auth.json" ||
	    pass "workers' user cannot read the password hashes"
fi

# lockout: ten wrong passwords from one source, then even the right one is refused
for i in $(seq 1 30); do echo "Wrong-Guess-$i" | ctl login admin >/dev/null 2>&1 || true; done
echo "Granite#Willow-52" | ctl login admin >"$T/lock.out" 2>&1 && fail "no lockout" ||
    { grep -qE "locked|wait|too many" "$T/lock.out" && pass "source locked out"; } ||
    fail "lockout: $(cat "$T/lock.out")"
wait_for "bruteforce alert" 20 sh -c "[ \$(sqlite3 -cmd '.timeout 5000' '$FLEET/mamori.db' \"SELECT COUNT(*) FROM alerts WHERE device_id='$a' AND kind='local_bruteforce'\") -ge 1 ]" &&
    pass "fleet alerted of the attack" || fail "no local_bruteforce alert"
grep -q "locked out for" "$T/agent-a.log" && pass "lockout logged" || fail "lockout not logged"
! grep -q -- "Granite#Willow-52\|Lantern-Quiet-47\|$secret" "$T/agent-a.log" &&
    pass "no password in the log" || fail "a password reached the log"

# the sealed security log (decision 0008) holds the same story, and verifies
kill "${PIDS[-1]}" 2>/dev/null; wait "${PIDS[-1]}" 2>/dev/null || true
"$BIN/mamori-log" verify --dir "$D" --key "$T/seclog-A.key" >"$T/slv.out" 2>&1 &&
    pass "sealed log verifies after the agent stopped" || fail "seclog verify: $(cat "$T/slv.out")"
"$BIN/mamori-log" show --dir "$D" --key "$T/seclog-A.key" >"$T/sls.out" 2>&1
for what in "type=auth.*logged in" "type=auth.*password of admin changed" \
    "type=attack.*locked out" "type=config.*maintenance mode on" \
    "type=auth.*reset by the fleet" "type=comm.*connected" \
    "type=result.*set_heartbeat.*refused.*initial credentials" \
    "type=result.*cred_reset.*ok" "type=log_stop"; do
	grep -q "$what" "$T/sls.out" && pass "sealed log records: $what" ||
	    fail "sealed log lacks: $what"
done
! grep -q -- "Granite#Willow-52\|Lantern-Quiet-47\|$secret" "$T/sls.out" &&
    pass "no password in the sealed log" || fail "a password reached the sealed log"
finish
