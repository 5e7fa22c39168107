#!/usr/bin/env bash
# The HTTPS admin page end to end with a real fleet, over curl and
# mm_authbrute: the forced change of the factory secret, the cookie and the
# security headers, CSRF and Origin checks, the password policy, bad and
# oversized requests, slow clients (slowloris) and the per-source
# connection limit, a password-guessing attack (lockout of the attacking
# source while another is served, a log that is not flooded), roles and
# logout.  Only loopback addresses (127.0.0.1, 127.0.0.2) are targeted;
# every loop is bounded in count and time.
# Serves KP4.a-c, KP4.e, KP16, T1/L1, T7/L1-L4, T11/L1, OWASP I1, I2, I8.
. "$(dirname "$0")/lib.sh"
SRC=${MM_SRC:?set MM_SRC to the source tree}
BRUTE=${MM_AUTHBRUTE:?set MM_AUTHBRUTE to the mm_authbrute tool}
FACTORY=$BIN/mamori-factory
GOOD="Orchid-Tundra-83"		# the administrator's password once changed
fleet_up

a=$(device_add A)
D=$T/dev-A
factory_step "$D" "$T/label-A"
WP=$(web_port)
agent_json "$D" '"web_port":'"$WP"',"web_addr":"127.0.0.1","denylist":"'"$SRC"'/data/auth/denylist.txt"'
agent_start "$D" a >/dev/null
apid=${PIDS[-1]}	# agent_start in $(...) would not record it for the clean-up
ALOG=$T/agent-a.log
wait_for "A up" 30 sh -c "grep -q 'hello from $a' '$T/server.log'" || fail "agent did not connect"
wait_for "admin page" 15 sh -c "ss -Hltn 'sport = :$WP' | grep -q ." || fail "no admin page on $WP"
U=https://127.0.0.1:$WP
ORIGIN=https://127.0.0.1:$WP

# web [--src ADDR] JAR METHOD PATH [curl args...]: prints the status (000 if
# curl failed); the head goes to $T/h, the body to $T/b.  Every Location
# seen is kept in $T/locations for the "no secret in a URL" check.
web() {
	local src=127.0.0.1 jar m p code
	if [ "$1" = --src ]; then src=$2; shift 2; fi
	jar=$1 m=$2 p=$3
	shift 3
	: >"$T/h"; : >"$T/b"
	touch "$jar"
	if [ "$m" = POST ]; then
		[[ "$*" == *"Origin: "* ]] || set -- -H "Origin: $ORIGIN" "$@"
		[[ "$*" == *--data* ]] || set -- "$@" --data ""
	fi
	code=$(curl -sS -k --max-time 20 --interface "$src" -b "$jar" -c "$jar" \
	    -D "$T/h" -o "$T/b" -w '%{http_code}' "$@" "$U$p" 2>>"$T/curl.err") || true
	tr -d '\r' <"$T/h" | sed -n 's/^[Ll]ocation: //p' >>"$T/locations"
	echo "${code:-000}"
}
hdr() { tr -d '\r' <"$T/h" | grep -i "^$1:" | head -n 1 | sed 's/^[^:]*: *//' || true; }
loc() { hdr location; }
csrf_of() { sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' "$T/b" | head -n 1; }
body_has() { grep -qF -- "$1" "$T/b"; }
# a login: prints the status and leaves the answer in $T/h, $T/b
login() {	# [--src ADDR] JAR USER PASSWORD
	local s=()
	if [ "$1" = --src ]; then s=(--src "$2"); shift 2; fi
	web "${s[@]}" "$1" POST /login --data-urlencode "user=$2" --data-urlencode "password=$3"
}
workers() { pgrep -P "$apid" | sort | tr '\n' ' ' || true; }
alive() { kill -0 "$apid" 2>/dev/null && [ "$(workers)" = "$W0" ]; }
# a normal login from 127.0.0.2 works (a fresh jar each time)
login_ok2() {
	local j=$T/jar.src2.$RANDOM
	[ "$(login --src 127.0.0.2 "$j" admin "$1")" = 303 ] && [ "$(loc)" = "${2:-/}" ]
}

# ---- first visit, login with the initial secret, forced change ----
A=$T/jar.admin
[ "$(web "$A" GET /)" = 303 ] && [ "$(loc)" = /login ] && pass "GET / redirects to /login" ||
    fail "GET /: $(head -n 1 "$T/h")"
[ "$(web "$A" GET /login)" = 200 ] && body_has '<form method="post" action="/login">' &&
    ! grep -q 'action="[^"]*?' "$T/b" && ! grep -qi 'method="get"' "$T/b" &&
    pass "login page posts its form (no secret can end up in a URL)" ||
    fail "login page: $(head -c 600 "$T/b")"
csp=$(hdr content-security-policy)
[[ "$csp" == *"default-src 'none'"* && "$csp" == *"frame-ancestors 'none'"* ]] &&
    [ "$(hdr x-frame-options)" = DENY ] && [ "$(hdr x-content-type-options)" = nosniff ] &&
    [[ "$(hdr cache-control)" == *no-store* ]] &&
    pass "security headers: CSP, X-Frame-Options DENY, nosniff, no-store" ||
    fail "headers: $(tr -d '\r' <"$T/h" | tr '\n' '|')"

[ "$(login "$A" admin "$secret")" = 303 ] && [ "$(loc)" = /password ] &&
    pass "login with the initial secret sends to /password" ||
    fail "first login: $(head -n 1 "$T/h") $(loc)"
ck=$(hdr set-cookie)
tok=$(printf '%s' "$ck" | sed -n 's/^__Host-mamori=\([0-9a-f]\{64\}\);.*/\1/p')
[ -n "$tok" ] && [[ "$ck" == *"; Secure"* && "$ck" == *"; HttpOnly"* && \
    "$ck" == *"; SameSite=Strict"* && "$ck" == *"; Path=/"* ]] &&
    ! printf '%s' "$ck" | grep -qi 'domain=' &&
    pass "cookie __Host-mamori: Secure, HttpOnly, SameSite=Strict, Path=/, no Domain" ||
    fail "cookie: $ck"
for p in / /users /settings /maintenance; do
	st=$(web "$A" GET "$p")
	[ "$st" = 303 ] && [ "$(loc)" = /password ] || fail "$p before the change: $st $(loc)"
done
pass "every other page redirects to /password until the change"
[ "$(web "$A" GET /password)" = 200 ] && body_has "initial password" &&
    pass "forced change page" || fail "/password: $(head -c 600 "$T/b")"
csrf=$(csrf_of)
[ -n "$csrf" ] || fail "no csrf field on /password"

# CSRF and Origin: refused, nothing changed
st=$(web "$A" POST /password --data-urlencode "old=$secret" --data-urlencode "new=$GOOD" \
    --data-urlencode "confirm=$GOOD")
[ "$st" = 403 ] && pass "POST /password without csrf: 403" || fail "no csrf: $st"
# a well-formed csrf of another session (the same length, one digit changed)
c0=${csrf:0:1}; [ "$c0" = 0 ] && c1=1 || c1=0
st=$(web "$A" POST /password --data-urlencode "csrf=$c1${csrf:1}" --data-urlencode "old=$secret" \
    --data-urlencode "new=$GOOD" --data-urlencode "confirm=$GOOD")
[ "$st" = 403 ] && body_has "The form has expired" && pass "POST /password with a wrong csrf: 403" ||
    fail "wrong csrf: $st"
st=$(web "$A" POST /password --data-urlencode "csrf=x$csrf" --data-urlencode "old=$secret" \
    --data-urlencode "new=$GOOD" --data-urlencode "confirm=$GOOD")
[[ "$st" == 4?? ]] && pass "POST /password with a malformed csrf: $st" || fail "malformed csrf: $st"
st=$(web "$A" POST /password -H "Origin: https://evil.example" --data-urlencode "csrf=$csrf" \
    --data-urlencode "old=$secret" --data-urlencode "new=$GOOD" --data-urlencode "confirm=$GOOD")
[ "$st" = 403 ] && body_has "Cross-site" && pass "cross-site Origin: 403" || fail "cross-site: $st"
grep -q "cross-site POST /password refused" "$ALOG" && pass "cross-site POST logged" ||
    fail "cross-site POST not logged"
login_ok2 "$secret" /password && pass "nothing changed: the initial secret still logs in" ||
    fail "initial secret stopped working after refused requests"

# the policy: well-known defaults and the secret itself refused with the rule
weak_try() {	# password rule-text
	local st msg
	st=$(web "$A" POST /password --data-urlencode "csrf=$csrf" --data-urlencode "old=$secret" \
	    --data-urlencode "new=$1" --data-urlencode "confirm=$1")
	msg=$(sed -n 's/.*<p class="error">\(.*\)<\/p>.*/\1/p' "$T/b" | head -n 1)
	if [ "$st" = 422 ] && [[ "$msg" == *"$2"* ]] && body_has 'name="csrf"'; then
		log "  refused ${1:0:4}...: $msg"
	else
		fail "weak password ${1:0:4}...: $st '$msg' (want 422 '$2')"
	fi
}
weak_try admin "at least 8 characters"
weak_try 12345678 "at least 2 of: letters, digits, symbols"
weak_try Password1! "well-known default or leaked password"
weak_try "$secret" "differ from the current password"
pass "well-known defaults and the initial secret refused (422, rule shown)"
cp "$A" "$T/jar.old"
st=$(web "$A" POST /password --data-urlencode "csrf=$csrf" --data-urlencode "old=$secret" \
    --data-urlencode "new=$GOOD" --data-urlencode "confirm=$GOOD")
[ "$st" = 303 ] && [ "$(loc)" = "/login?changed=1" ] && pass "good password accepted" ||
    fail "password change: $st $(loc) $(head -c 400 "$T/b")"
[ "$(web "$T/jar.old" GET /)" = 303 ] && [ "$(loc)" = /login ] &&
    pass "the old cookie no longer works" || fail "old session survived: $(head -n 1 "$T/h")"
[ "$(web "$A" GET "/login?changed=1")" = 200 ] && body_has "Log in again" &&
    pass "login page says the password was changed" || fail "changed notice missing"
[ "$(login --src 127.0.0.2 "$T/jar.x" admin "$secret")" = 401 ] &&
    pass "initial secret dead" || fail "initial secret still accepted"
[ "$(login "$A" admin "$GOOD")" = 303 ] && [ "$(loc)" = / ] &&
    [ "$(web "$A" GET /)" = 200 ] && body_has "Device overview" && body_has "cam-100" &&
    body_has "<td>A</td>" && body_has "$a" && body_has "admin (admin)" &&
    pass "dashboard with model, serial and device id" ||
    fail "dashboard: $(head -c 800 "$T/b")"
for p in /users /settings /maintenance; do
	[ "$(web "$A" GET "$p")" = 200 ] || fail "admin $p after the change"
done
pass "admin pages open after the change"

# ---- bad input: a clear 4xx, the agent keeps running, nothing changes ----
W0=$(workers)
[ -n "$W0" ] || fail "no agent workers"
big=$(head -c 10240 /dev/zero | tr '\0' a)
mid=$(head -c 3000 /dev/zero | tr '\0' a)
B=$T/jar.bad
check_bad() {	# what expected-status got
	if [ "$3" = "$2" ]; then
		alive && login_ok2 "$GOOD" && pass "$1: $3; agent alive, login from 127.0.0.2 works" ||
		    fail "$1: after it the agent is down or a login failed"
	else
		fail "$1: got $3, expected $2 ($(head -c 300 "$T/b"))"
	fi
}
check_bad "user name of 10 KB" 413 "$(login "$B" "$big" x)"
check_bad "password of 10 KB" 413 "$(login "$B" admin "$big")"
check_bad "user name of 3 KB (fits the body)" 400 "$(login "$B" "$mid" x)"
check_bad "password of 3 KB (fits the body)" 400 "$(login "$B" admin "$mid")"
check_bad "NUL byte in a form field" 400 "$(web "$B" POST /login --data-binary 'user=ad%00min&password=x')"
check_bad "invalid UTF-8 in a form field" 400 \
    "$(web "$B" POST /login --data-binary 'user=admin&password=Orchid%C0%AFx')"
head -c 1048576 /dev/zero | tr '\0' a >"$T/1mb"
# With "Expect: 100-continue" the client sends the head first and waits: the
# 413 always arrives.  Without it the client is still sending when the
# server answers and closes, and the reset can destroy the answer (no
# lingering close in agent_web.c): such a client sees 413 or a reset,
# never anything else.
check_bad "1 MB body" 413 "$(web "$B" POST /login -H 'Expect: 100-continue' \
    -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$T/1mb")"
got413=0 reset=0 other=0
for i in 1 2 3 4 5; do
	case $(web "$B" POST /login --data-binary @"$T/1mb") in
	413) got413=$((got413 + 1)) ;;
	000) reset=$((reset + 1)) ;;
	*) other=$((other + 1)) ;;
	esac
done
log "  1 MB bodies sent without waiting: $got413 answered 413, $reset reset before the answer"
[ "$other" = 0 ] && [ $((got413 + reset)) = 5 ] && alive && login_ok2 "$GOOD" &&
    pass "1 MB bodies sent at once: refused (413 or reset), agent alive" ||
    fail "1 MB bodies sent at once: $other other answers"
hbig=$(head -c 7000 /dev/zero | tr '\0' h)
check_bad "headers of 14 KB" 431 "$(web "$B" GET /login -H "X-A: $hbig" -H "X-B: $hbig")"
check_bad "Transfer-Encoding: chunked" 501 "$(web "$B" POST /login -H 'Transfer-Encoding: chunked' \
    --data-binary 'user=admin&password=x')"
check_bad "request line of 10 KB" 414 "$(web "$B" GET "/$big")"
# raw requests over TLS (curl would not send these)
raw() { printf "$1" | timeout 15 openssl s_client -connect "127.0.0.1:$WP" -quiet 2>/dev/null |
    tr -d '\r' | head -n 1 | awk '{print $2}' || true; }
check_bad "bare CR inside a header" 400 \
    "$(raw 'GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\rSet-Cookie: x=1\r\n\r\n')"
check_bad "bare LF ending a header" 400 \
    "$(raw 'GET /login HTTP/1.1\r\nHost: 127.0.0.1\nX-Injected: 1\r\n\r\n')"
check_bad "bare LF in the request line" 400 "$(raw 'GET /login\nX: HTTP/1.1\r\n\r\n')"
check_bad "control byte in a header" 400 "$(raw 'GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\001b\r\n\r\n')"
[ "$(login "$B" admin "$GOOD")" = 303 ] && pass "nothing changed: the password is still the one set" ||
    fail "password changed by bad input"

# ---- slow clients: 10 TLS connections from 127.0.0.1 sending a byte every 2 s ----
# Each writer sends at most 12 bytes (24 s); each s_client is limited to 30 s.
slow_req="GET / HTTP/1.1"
SLOW=()
t0=$(date +%s%3N)
for i in $(seq 1 10); do
	(
		{ for ((k = 0; k < 12; k++)); do printf '%s' "${slow_req:k:1}"; sleep 2; done; } 2>/dev/null |
		    { timeout 30 openssl s_client -connect "127.0.0.1:$WP" -quiet >"$T/slow-$i.out" 2>&1 ||
		      true; date +%s%3N >"$T/slow-$i.end"; }
	) &
	SLOW+=($!)
	sleep 0.1
done
sleep 3
est=$(ss -Htn state established "( sport = :$WP )" | awk '$4 ~ /^127\.0\.0\.1:/' | wc -l)
[ "$est" = 8 ] && pass "8 slow connections from 127.0.0.1 held, the others refused (max_per_src)" ||
    fail "server side holds $est connections from 127.0.0.1 (want 8)"
st=$(web "$T/jar.s1" GET /login)
[ "$st" = 000 ] && pass "a 9th connection from 127.0.0.1 refused while the slow ones hang" ||
    fail "9th connection from 127.0.0.1 served: $st"
grep -q "web: connection from ip:127.0.0.1 refused" "$ALOG" && pass "refused connection logged" ||
    fail "refusal not logged"
s=$(date +%s%3N)
if login_ok2 "$GOOD"; then r=0; else r=1; fi
e=$(( $(date +%s%3N) - s ))
[ $r = 0 ] && [ "$e" -lt 5000 ] && pass "login from 127.0.0.2 during the slow attack in $e ms" ||
    fail "login from 127.0.0.2 during the slow attack: rc=$r, $e ms"
log "  slow clients: $est held, login from 127.0.0.2 took $e ms"
wait_for "slow connections closed" 12 sh -c "[ \$(ls '$T'/slow-*.end 2>/dev/null | wc -l) -ge 10 ]" || true
closed=0 late=0 tmin=999999 tmax=0
for i in $(seq 1 10); do
	[ -f "$T/slow-$i.end" ] || { late=$((late + 1)); continue; }
	d=$(( $(cat "$T/slow-$i.end") - t0 - (i - 1) * 100 ))
	[ "$d" -lt 2000 ] && continue	# refused at once
	closed=$((closed + 1))
	[ "$d" -lt "$tmin" ] && tmin=$d
	[ "$d" -gt "$tmax" ] && tmax=$d
done
log "  slow clients closed by the server: $closed, after $tmin..$tmax ms (deadline 10000)"
[ "$closed" = 8 ] && [ "$late" = 0 ] && [ "$tmin" -ge 9000 ] && [ "$tmax" -le 13000 ] &&
    pass "slow connections closed by the server at the 10 s deadline" ||
    fail "slow connections: $closed closed in $tmin..$tmax ms, $late still open"
grep -q ': request timed out' "$ALOG" && pass "timeouts logged" || fail "timeouts not logged"
! grep -q "HTTP/1.1 200" "$T"/slow-*.out && pass "no slow client got a page" || fail "a slow client was served"
for p in "${SLOW[@]}"; do kill "$p" 2>/dev/null || true; done
for p in "${SLOW[@]}"; do pkill -P "$p" 2>/dev/null || true; done
wait "${SLOW[@]}" 2>/dev/null || true
[ "$(ss -Htn state established "( sport = :$WP )" | wc -l)" = 0 ] &&
    pass "no connection left open" || fail "connections left: $(ss -Htn "( sport = :$WP )")"
alive && [ "$(login "$T/jar.s2" admin "$GOOD")" = 303 ] &&
    pass "127.0.0.1 served again after the slow clients" || fail "127.0.0.1 not served after the slow clients"

# ---- roles through the page: a viewer may look, not manage ----
[ "$(login "$A" admin "$GOOD")" = 303 ] || fail "admin login for roles"
web "$A" GET /users >/dev/null
acsrf=$(csrf_of)
st=$(web "$A" POST /users/add --data-urlencode "csrf=$acsrf" --data-urlencode "user=vera" \
    --data-urlencode "role=viewer" --data-urlencode "password=Harbor+Maple-93")
[ "$st" = 303 ] && [ "$(loc)" = "/users?done=1" ] && web "$A" GET /users >/dev/null &&
    body_has "<td>vera</td><td>viewer</td>" && pass "admin added a viewer" ||
    fail "user add: $st $(head -c 300 "$T/b")"
V=$T/jar.viewer
[ "$(login "$V" vera "Harbor+Maple-93")" = 303 ] && [ "$(loc)" = /password ] &&
    pass "viewer's first login sent to /password" || fail "viewer first login: $(loc)"
web "$V" GET /password >/dev/null
vcsrf=$(csrf_of)
[ "$(web "$V" POST /password --data-urlencode "csrf=$vcsrf" --data-urlencode "old=Harbor+Maple-93" \
    --data-urlencode "new=Copper;Violet-18" --data-urlencode "confirm=Copper;Violet-18")" = 303 ] &&
    pass "viewer changed the first password" || fail "viewer passwd: $(head -c 300 "$T/b")"
[ "$(login "$V" vera "Copper;Violet-18")" = 303 ] && [ "$(web "$V" GET /)" = 200 ] &&
    body_has "vera (viewer)" && ! body_has 'href="/users"' && ! body_has 'href="/settings"' &&
    pass "viewer sees the overview without management links" || fail "viewer overview"
vcsrf=$(csrf_of)
[ "$(web "$V" GET /users)" = 403 ] && pass "viewer: GET /users 403" || fail "viewer /users"
[ "$(web "$V" GET /settings)" = 403 ] && pass "viewer: GET /settings 403" || fail "viewer GET /settings"
[ "$(web "$V" POST /settings --data-urlencode "csrf=$vcsrf" --data-urlencode "heartbeat_interval=9")" = 403 ] &&
    pass "viewer: POST /settings 403 (the monitor's role check)" || fail "viewer POST /settings"
[ "$(web "$V" POST /users/add --data-urlencode "csrf=$vcsrf" --data-urlencode "user=eve" \
    --data-urlencode "role=admin" --data-urlencode "password=Harbor+Maple-93")" = 403 ] &&
    pass "viewer: POST /users/add 403" || fail "viewer added a user"
web "$A" GET /users >/dev/null
! body_has "<td>eve</td>" && pass "no user added by the viewer" || fail "eve exists"

# ---- logout ----
web "$V" GET / >/dev/null
vcsrf=$(csrf_of)
cp "$V" "$T/jar.viewer.old"
[ "$(web "$V" POST /logout)" = 403 ] && [ "$(web "$V" GET /)" = 200 ] &&
    pass "POST /logout without csrf: 403, session kept" || fail "logout without csrf"
st=$(web "$V" POST /logout --data-urlencode "csrf=$vcsrf")
[ "$st" = 303 ] && [ "$(loc)" = /login ] && [[ "$(hdr set-cookie)" == *"Max-Age=0"* ]] &&
    pass "logout: cookie cleared" || fail "logout: $st $(hdr set-cookie)"
[ "$(web "$T/jar.viewer.old" GET /)" = 303 ] && [ "$(loc)" = /login ] &&
    pass "the logged-out session is dead on the device too" || fail "session survived logout"

# ---- the attack: 10000 guesses in at most 120 s from 127.0.0.1 ----
n0=$(grep -c '' "$ALOG")
"$BRUTE" --port "$WP" --count 10000 --seconds 120 >"$T/brute.out" 2>&1 || fail "mm_authbrute: $(cat "$T/brute.out")"
n1=$(grep -c '' "$ALOG")
res=$(tail -n 1 "$T/brute.out")
log "  attack: $res"
val() { printf '%s\n' "$res" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
[ "$(val locked)" -gt 0 ] 2>/dev/null && pass "attacking source locked out (locked=$(val locked))" ||
    fail "no lockout: $res"
[ -n "$(val wrong)" ] && [ "$(val wrong)" -le 10 ] &&
    pass "at most 10 passwords verified (wrong=$(val wrong) of $(val attempts) attempts)" ||
    fail "too many verifications: $res"
[ "$(val ok)" = 0 ] && pass "no guess succeeded" || fail "a guess succeeded"
log "  time to lockout: attempt $(val first_locked), $(val first_locked_ms) ms; $(val per_s) attempts/s"
"$BRUTE" --port "$WP" --bind 127.0.0.2 --count 1 --password "$GOOD" >"$T/brute2.out" 2>&1
grep -q ' ok=1 ' "$T/brute2.out" && pass "legitimate login from 127.0.0.2 during the lockout" ||
    fail "127.0.0.2: $(cat "$T/brute2.out")"
"$BRUTE" --port "$WP" --count 1 --password "$GOOD" >"$T/brute3.out" 2>&1
grep -q ' ok=0 ' "$T/brute3.out" && grep -q ' locked=1 ' "$T/brute3.out" &&
    pass "the right password from 127.0.0.1 is refused (locked)" ||
    fail "127.0.0.1 after lockout: $(cat "$T/brute3.out")"
grep -q "locked out for" "$ALOG" && pass "lockout logged" || fail "no 'locked out for' line"
log "  agent log: $((n1 - n0)) lines added during the attack"
[ $((n1 - n0)) -lt 100 ] && pass "log not flooded ($((n1 - n0)) lines)" || fail "log flooded: $((n1 - n0)) lines"
alive && pass "agent alive after the attack" || fail "agent down after the attack"

# no secret in a URL, the log, or a Location
! grep -qF -- "$secret" "$T/locations" && ! grep -qF -- "$GOOD" "$T/locations" &&
    ! grep -qF -- "$tok" "$T/locations" && ! grep -qi 'password=\|token=' "$T/locations" &&
    pass "no secret in any redirect URL" || fail "secret in a Location: $(sort -u "$T/locations")"
! grep -qF -- "$secret" "$ALOG" && ! grep -qF -- "$GOOD" "$ALOG" && ! grep -qF -- "$tok" "$ALOG" &&
    pass "no password or token in the agent log" || fail "a secret reached the log"
finish
