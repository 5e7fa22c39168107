#!/usr/bin/env bash
# Signed updates (decision 0010) through mamori-sign, no fleet needed:
# keys (0600, never overwritten, refused when others may read them), root.json
# v1 signed by 2 of 2 roots, a 3-payload manifest (one payload in blocks), a
# bundle, inspect, and verify accepting it; then verify refusing, each with
# exit 1 and its reason: wrong product and hardware, an older security
# counter, an expired manifest, a stranger's and a revoked key's signature, a
# root rotation signed only by the new roots, a truncated bundle, bytes after
# the last payload, a flipped byte (caught at its block), payloads swapped
# between two valid bundles, and a bundle checked against another fleet's root.
# Serves KP15, KP16, KP17, CS17.  Bounded: a few seconds.
. "$(dirname "$0")/lib.sh"
SIGN=$BIN/mamori-sign
W=$T/sign
mkdir -p "$W"
cd "$W"

# expect_ok NAME CMD...: exit 0
expect_ok() {
	local name=$1
	shift
	if "$@" >"$W/out" 2>&1; then pass "$name"; else fail "$name: $(cat "$W/out")"; fi
}

# expect_refused NAME PATTERN CMD...: exit 1 and PATTERN in the output
expect_refused() {
	local name=$1 pat=$2 rc=0
	shift 2
	"$@" >"$W/out" 2>&1 || rc=$?
	if [ "$rc" = 1 ] && grep -q -- "$pat" "$W/out"; then
		pass "$name refused ($(grep -m1 -- "$pat" "$W/out" | head -c 160))"
	else
		fail "$name: exit $rc, want 1 and \"$pat\": $(head -c 600 "$W/out")"
	fi
}

keyid() { "$SIGN" key id "$1" | sed -n 's/^keyid=\([0-9a-f]*\) .*/\1/p'; }

# ---- keys ----
for k in r1 r2 r3; do expect_ok "key $k" "$SIGN" key new --role root --out "$k"; done
for k in rel1 rel2 relx stranger; do
	expect_ok "key $k" "$SIGN" key new --role release --out "$k"
done
mode=$(stat -c %a rel1.key)
[ "$mode" = 600 ] && pass "private key mode 600" || fail "rel1.key mode $mode"
expect_refused "key new over an existing key" "File exists" \
    "$SIGN" key new --role release --out rel1
REL1=$(keyid rel1.pub)
[ "$REL1" = "$(keyid rel1.key)" ] && [ ${#REL1} = 16 ] &&
    pass "key id $REL1 from .pub and .key" || fail "key ids differ"
RELX=$(keyid relx.pub)
R1=$(keyid r1.pub)

# ---- root v1: roots r1, r2 (2 of 2); releases rel1, rel2, relx (1) ----
expect_ok "root init" "$SIGN" root init --expires-days 365 --root-threshold 2 \
    --release-threshold 1 --key r1.pub --key r2.pub --release rel1.pub \
    --release rel2.pub --release relx.pub --out root.json
expect_refused "root init, threshold above the keys" "threshold.root" \
    "$SIGN" root init --expires-days 365 --root-threshold 3 \
    --release-threshold 1 --key r1.pub --key r2.pub --release rel1.pub \
    --out bad.json
expect_ok "root sign r1" "$SIGN" root sign root.json --key r1.key --out root.sig
grep -q "1 of its own root keys signed, 2 needed" "$W/out" &&
    pass "one root signature is not enough" || fail "root sign r1: $(cat "$W/out")"
expect_refused "root sign with a release key" "not a root key" \
    "$SIGN" root sign root.json --key rel1.key --out root.sig
expect_ok "root sign r2" "$SIGN" root sign root.json --key r2.key --out root.sig
grep -q "2 of its own root keys signed, 2 needed" "$W/out" &&
    pass "root signed by 2 of 2" || fail "root sign r2: $(cat "$W/out")"

# ---- payloads, manifest, bundle ----
head -c 300000 /dev/urandom >boot.img
head -c 1048576 /dev/urandom >rootfs.img
printf 'config v1\n' >app.cfg
expect_ok "manifest" "$SIGN" manifest --product cam-100 --hardware rev-a \
    --hardware rev-b --version 1.4.2 --counter 7 --expires-days 30 \
    --notes "first release" --fixes "CVE-2026-0001" \
    --payload boot=boot.img --payload rootfs=rootfs.img --block-size 65536 \
    --payload app=app.cfg --out manifest.json
grep -q '"block_size": 65536' manifest.json && pass "rootfs in blocks" ||
    fail "no block_size in manifest.json"
expect_ok "bundle" "$SIGN" bundle --manifest manifest.json --key rel1.key \
    --payload boot=boot.img --payload rootfs=rootfs.img --payload app=app.cfg \
    --out good.mmupd
chmod 640 rel1.key
expect_refused "a group-readable release key" "refusing a private key" \
    "$SIGN" bundle --manifest manifest.json --key rel1.key \
    --payload boot=boot.img --payload rootfs=rootfs.img --payload app=app.cfg \
    --out x.mmupd
chmod 600 rel1.key
expect_refused "bundle with a payload the manifest does not describe" \
    "not the file the manifest describes" \
    "$SIGN" bundle --manifest manifest.json --key rel1.key \
    --payload boot=rootfs.img --payload rootfs=boot.img --payload app=app.cfg \
    --out x.mmupd
[ ! -e x.mmupd ] && pass "no bundle left behind" || fail "x.mmupd written"

expect_ok "inspect" "$SIGN" inspect good.mmupd
for want in "product=cam-100 version=1.4.2 security_counter=7" \
    "payload rootfs size=1048576" "block_size=65536 blocks=16" \
    "keyid=$REL1" "as the manifest says"; do
	grep -q -- "$want" "$W/out" && pass "inspect shows $want" ||
	    fail "inspect lacks \"$want\": $(cat "$W/out")"
done
HDR=$(sed -n 's/^payload boot at offset \([0-9]*\)$/\1/p' "$W/out")

V=(--root root.json --root-sig root.sig)
expect_ok "verify" "$SIGN" verify good.mmupd "${V[@]}" --product cam-100 \
    --hardware rev-b --counter 7
grep -q "^accepted" "$W/out" && grep -q "payload rootfs: 1048576 bytes" "$W/out" &&
    pass "accepted, every payload read" || fail "verify: $(cat "$W/out")"

# ---- refusals ----
expect_refused "wrong product" 'for product "cam-100", not "cam-200"' \
    "$SIGN" verify good.mmupd "${V[@]}" --product cam-200 --hardware rev-b \
    --counter 7
expect_refused "wrong hardware" 'hardware "rev-c" is not listed' \
    "$SIGN" verify good.mmupd "${V[@]}" --product cam-100 --hardware rev-c \
    --counter 7
expect_refused "older security counter" "below the running 8 (rollback)" \
    "$SIGN" verify good.mmupd "${V[@]}" --product cam-100 --hardware rev-b \
    --counter 8
later=$(($(date +%s) + 40 * 86400))
expect_refused "expired manifest" "refused: expired: manifest expired" \
    "$SIGN" verify good.mmupd "${V[@]}" --product cam-100 --hardware rev-b \
    --counter 7 --now "$later"
expect_refused "expired manifest, time unknown" "newest time seen" \
    "$SIGN" verify good.mmupd "${V[@]}" --product cam-100 --hardware rev-b \
    --counter 7 --now "$later" --time-unknown
expect_ok "time unknown, only an old time seen" "$SIGN" verify good.mmupd \
    "${V[@]}" --product cam-100 --hardware rev-b --counter 7 --now 1000 \
    --time-unknown

"$SIGN" bundle --manifest manifest.json --key stranger.key \
    --payload boot=boot.img --payload rootfs=rootfs.img --payload app=app.cfg \
    --out stranger.mmupd >/dev/null
expect_refused "a stranger's signature" "1 by unknown keys" \
    "$SIGN" verify stranger.mmupd "${V[@]}" --product cam-100 --hardware rev-b \
    --counter 7
expect_refused "a root key signing a manifest" "not a release key" \
    "$SIGN" bundle --manifest manifest.json --key r1.key \
    --payload boot=boot.img --payload rootfs=rootfs.img --payload app=app.cfg \
    --out x.mmupd

# root v2: r1 leaves, r3 comes, relx revoked
expect_ok "root next" "$SIGN" root next --from root.json --expires-days 400 \
    --drop "$R1" --key r3.pub --revoke "$RELX" --out root2.json
grep -q "\"$RELX\"" root2.json && pass "root v2 revokes $RELX" || fail "root2.json"
expect_ok "root v2 signed by the new roots" "$SIGN" root sign root2.json \
    --key r2.key --key r3.key --out root2.sig
"$SIGN" bundle --root-chain root2.json:root2.sig --manifest manifest.json \
    --key rel1.key --payload boot=boot.img --payload rootfs=rootfs.img \
    --payload app=app.cfg --out newonly.mmupd >/dev/null
expect_refused "rotation signed only by the new roots" \
    "not signed by the root keys of version 1" \
    "$SIGN" verify newonly.mmupd "${V[@]}" --product cam-100 --hardware rev-b \
    --counter 7
expect_ok "root v2 signed by the old roots too" "$SIGN" root sign root2.json \
    --key r1.key --out root2.sig
"$SIGN" bundle --root-chain root2.json:root2.sig --manifest manifest.json \
    --key rel1.key --payload boot=boot.img --payload rootfs=rootfs.img \
    --payload app=app.cfg --out rotated.mmupd >/dev/null
expect_ok "rotation signed by old and new roots" "$SIGN" verify rotated.mmupd \
    "${V[@]}" --product cam-100 --hardware rev-b --counter 7
grep -q "root version 2" "$W/out" && pass "device moves to root version 2" ||
    fail "rotated: $(cat "$W/out")"
"$SIGN" bundle --root-chain root2.json:root2.sig --manifest manifest.json \
    --key relx.key --payload boot=boot.img --payload rootfs=rootfs.img \
    --payload app=app.cfg --out revoked.mmupd >/dev/null
expect_refused "a revoked key's signature" "1 by revoked keys" \
    "$SIGN" verify revoked.mmupd "${V[@]}" --product cam-100 --hardware rev-b \
    --counter 7

# damaged bundles
size=$(stat -c %s good.mmupd)
head -c $((size - 1000)) good.mmupd >short.mmupd
expect_refused "truncated download" "refused: input too short" \
    "$SIGN" verify short.mmupd "${V[@]}" --product cam-100 --hardware rev-b \
    --counter 7
{ cat good.mmupd; printf 'more'; } >long.mmupd
expect_refused "bytes after the last payload" "bytes after the last payload" \
    "$SIGN" verify long.mmupd "${V[@]}" --product cam-100 --hardware rev-b \
    --counter 7
cp good.mmupd flip.mmupd
# byte 5 of rootfs's block 3 (blocks of 64 KiB, after the 300000-byte boot)
at=$((HDR + 300000 + 2 * 65536 + 5))
orig=$(od -An -tu1 -j "$at" -N1 flip.mmupd | tr -d ' ')
printf "$(printf '\\%03o' $(((orig + 1) % 256)))" |
    dd of=flip.mmupd bs=1 seek="$at" conv=notrunc status=none
expect_refused "one flipped byte" "payload rootfs: block 3 of 16" \
    "$SIGN" verify flip.mmupd "${V[@]}" --product cam-100 --hardware rev-b \
    --counter 7
# payloads of another validly signed bundle of the same sizes
head -c 300000 /dev/urandom >boot2.img
head -c 1048576 /dev/urandom >rootfs2.img
printf 'config v2\n' >app2.cfg
"$SIGN" manifest --product cam-100 --hardware rev-b --version 1.4.3 \
    --counter 8 --expires-days 30 --payload boot=boot2.img \
    --payload rootfs=rootfs2.img --block-size 65536 --payload app=app2.cfg \
    --out manifest2.json >/dev/null
"$SIGN" bundle --manifest manifest2.json --key rel2.key --payload boot=boot2.img \
    --payload rootfs=rootfs2.img --payload app=app2.cfg --out other.mmupd >/dev/null
expect_ok "the other bundle alone" "$SIGN" verify other.mmupd "${V[@]}" \
    --product cam-100 --hardware rev-b --counter 7
"$SIGN" inspect other.mmupd >"$W/out2"
HDR2=$(sed -n 's/^payload boot at offset \([0-9]*\)$/\1/p' "$W/out2")
{ head -c "$HDR" good.mmupd; tail -c +$((HDR2 + 1)) other.mmupd; } >mixed.mmupd
expect_refused "payloads swapped between two bundles" \
    "refused: stored data corrupt: payload boot: SHA-256" \
    "$SIGN" verify mixed.mmupd "${V[@]}" --product cam-100 --hardware rev-b \
    --counter 7
# another fleet's root
mkdir other && (cd other &&
    "$SIGN" key new --role root --out o1 >/dev/null &&
    "$SIGN" root init --expires-days 30 --root-threshold 1 \
        --release-threshold 1 --key o1.pub --release ../rel2.pub \
        --out root.json >/dev/null &&
    "$SIGN" root sign root.json --key o1.key --out root.sig >/dev/null)
expect_refused "another fleet's root" "1 by unknown keys" \
    "$SIGN" verify good.mmupd --root other/root.json --root-sig other/root.sig \
    --product cam-100 --hardware rev-b --counter 7
expect_refused "a trusted root that is not self-signed" \
    "not signed by its own root keys" \
    "$SIGN" verify good.mmupd --root root2.json --root-sig root.sig \
    --product cam-100 --hardware rev-b --counter 7

cd /
finish
