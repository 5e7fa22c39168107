#!/usr/bin/env bash
# The admin page as a person sees it: Debian's Chromium, driven by
# playwright-core (tests/browser/admin_page.mjs), against a device of a real
# fleet: the first visit, the forced change of the factory secret, a refused
# well-known password, the change, the new login and the dashboard.  Takes
# a screenshot of each step; with MM_SCREENSHOTS=DIR they are copied there.
# Never skipped: without node, chromium or tests/browser/node_modules it
# fails and says what to install (scripts/deps.list, scripts/check.sh).
# Serves KP4.a, KP4.b, KP16, OWASP I1.
. "$(dirname "$0")/lib.sh"
SRC=${MM_SRC:?set MM_SRC to the source tree}
FACTORY=$BIN/mamori-factory
CHROMIUM=${MM_CHROMIUM:-/usr/bin/chromium}
BROWSER_DIR=$SRC/tests/browser

# the tools first: a missing one is a failure, not a skip
missing=
command -v node >/dev/null || missing="$missing node (Debian package nodejs)"
[ -x "$CHROMIUM" ] || missing="$missing $CHROMIUM (Debian package chromium)"
[ -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ] ||
    missing="$missing playwright-core (run: npm ci --prefix tests/browser)"
if [ -n "$missing" ]; then
	fail "browser test cannot run, missing:$missing; scripts/deps.sh installs the packages"
	finish
fi
want=$(sed -n 's/.*"playwright-core": *"\([^"]*\)".*/\1/p' "$BROWSER_DIR/package.json")
have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$BROWSER_DIR/node_modules/playwright-core/package.json" | head -n 1)
[ "$want" = "$have" ] && pass "playwright-core $have, $("$CHROMIUM" --version 2>/dev/null | head -n 1)" ||
    fail "playwright-core $have installed, package.json pins $want: run npm ci --prefix tests/browser"

fleet_up
a=$(device_add A)
D=$T/dev-A
factory_step "$D" "$T/label-A"
WP=$(web_port)
agent_json "$D" '"web_port":'"$WP"',"web_addr":"127.0.0.1","denylist":"'"$SRC"'/data/auth/denylist.txt"'
agent_start "$D" a >/dev/null
apid=${PIDS[-1]}	# agent_start in $(...) would not record it for the clean-up
wait_for "A up" 30 sh -c "grep -q 'hello from $a' '$T/server.log'" || fail "agent did not connect"
wait_for "admin page" 15 sh -c "ss -Hltn 'sport = :$WP' | grep -q ." || fail "no admin page on $WP"

SHOTS=$T/shots
if (cd "$BROWSER_DIR" && timeout 180 node admin_page.mjs "https://127.0.0.1:$WP" "$secret" "$SHOTS") \
    >"$T/browser.log" 2>&1; then
	pass "browser walk-through: login, forced change, refusal, change, dashboard"
	sed 's/^/    /' "$T/browser.log"
else
	fail "browser walk-through (exit $?):"
	sed 's/^/    /' "$T/browser.log"
fi
shown=$(sed -n 's/^device_id=//p' "$T/browser.log")
[ "$shown" = "$a" ] && pass "dashboard shows this device's id ($a)" ||
    fail "dashboard device id '$shown', expected '$a'"
for f in login forced-change refused dashboard; do
	if [ -s "$SHOTS/$f.png" ] && [ "$(head -c 8 "$SHOTS/$f.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
		pass "screenshot $f.png ($(stat -c %s "$SHOTS/$f.png") bytes)"
	else
		fail "screenshot $f.png missing or not a PNG"
	fi
done
kill -0 "$apid" 2>/dev/null && pass "agent alive" || fail "agent down"
! grep -qF -- "$secret" "$T/agent-a.log" && ! grep -qF -- "Orchid-Tundra-83" "$T/agent-a.log" &&
    pass "no password in the agent log" || fail "a password reached the agent log"
if [ -n "${MM_SCREENSHOTS:-}" ]; then
	mkdir -p "$MM_SCREENSHOTS"
	cp "$SHOTS"/*.png "$MM_SCREENSHOTS"/ 2>/dev/null &&
	    log "screenshots copied to $MM_SCREENSHOTS" || fail "no screenshots to copy to $MM_SCREENSHOTS"
fi
finish
