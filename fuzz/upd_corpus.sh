#!/usr/bin/env bash
# Writes the seed corpora of fuzz_upd_manifest and fuzz_upd_bundle with
# mamori-sign: key files made from the fixed seeds fuzz_upd_bundle.c trusts
# (root: 32 x 0x01, release: 32 x 0x02; a second root for the chain: 32 x
# 0x03), fixed times, small payloads.
#   bash fuzz/upd_corpus.sh build/upd/src/mamori-sign
set -euo pipefail
SIGN=$(realpath "${1:?usage: upd_corpus.sh path/to/mamori-sign}")
top=$(cd "$(dirname "$0")/.." && pwd)
M=$top/fuzz/corpus/upd_manifest
B=$top/fuzz/corpus/upd_bundle
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
cd "$w"
seedkey() {	# name role byte
	local hex
	hex=$(printf "$3%.0s" $(seq 32))
	(umask 077 && printf 'MMKEY1 %s %s\n' "$2" "$hex" >"$1.key")
	"$SIGN" key id "$1.key" | sed -n 's/.* public=//p' >"$1.pub"
}
seedkey root root 01
seedkey rel release 02
seedkey root2 root 03
NOW=1795000000
"$SIGN" root init --expires-days 3650 --root-threshold 1 --release-threshold 1 \
    --key root.pub --release rel.pub --out root.json --now "$NOW" >/dev/null
"$SIGN" root sign root.json --key root.key --out root.sig >/dev/null
"$SIGN" root next --from root.json --expires-days 3650 --key root2.pub \
    --out root2.json --now "$NOW" >/dev/null
"$SIGN" root sign root2.json --key root.key --key root2.key --out root2.sig >/dev/null
head -c 9000 /dev/zero | tr '\0' 'b' >boot.img
printf 'rootfs %.0s' $(seq 300) >rootfs.img
printf 'cfg=1\n' >app.cfg
man() {	# out extra-args...
	local out=$1
	shift
	"$SIGN" manifest --product cam-100 --hardware rev-a --hardware rev-b \
	    --version 1.0.0 --counter 3 --expires-days 3650 --now "$NOW" \
	    --notes "seed" --fixes "none" "$@" --out "$out" >/dev/null
}
man plain.json --payload app=app.cfg --payload rootfs=rootfs.img
man blocks.json --payload boot=boot.img --block-size 4096 --payload app=app.cfg
bun() {	# out manifest extra-args...
	local out=$1 mf=$2
	shift 2
	"$SIGN" bundle --manifest "$mf" --key rel.key "$@" --out "$out" >/dev/null
}
bun plain.mmupd plain.json --payload app=app.cfg --payload rootfs=rootfs.img
bun blocks.mmupd blocks.json --payload boot=boot.img --payload app=app.cfg
bun chain.mmupd plain.json --root-chain root2.json:root2.sig \
    --payload app=app.cfg --payload rootfs=rootfs.img
mkdir -p "$M" "$B"
cp root.json "$M/root_v1"
cp root2.json "$M/root_v2"
cp root2.sig "$M/envelope_two"
cp plain.json "$M/manifest_plain"
cp blocks.json "$M/manifest_blocks"
cp plain.mmupd "$B/plain"
cp blocks.mmupd "$B/blocks"
cp chain.mmupd "$B/chain"
head -c $(($(stat -c %s blocks.mmupd) - 100)) blocks.mmupd >"$B/truncated"
echo "corpus written to $M and $B"
