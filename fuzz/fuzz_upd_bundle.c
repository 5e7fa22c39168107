/*
 * Fuzz target: update bundles (decision 0010) through the streaming reader,
 * from a memory buffer, against a fixed trust store: root version 1 with
 * one root key (Ed25519 seed of 32 bytes 0x01) and one release key (seed
 * 32 x 0x02), thresholds 1, for a device "cam-100" / "rev-b" running
 * security counter 0 at time 1800000000.  fuzz/upd_corpus.sh writes the
 * seed corpus with mamori-sign and key files from those seeds.
 *
 * Whatever the reader accepts must be exactly what the manifest promised:
 * every payload's bytes, hashed here again, match its sha256 and size, in
 * manifest order, and they fit in the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_upd_bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW 1800000000ULL

static struct mm_upd_trust *fz_trust;

static int
fz_trust_make(void)
{
	uint8_t seed[32], pk[2][MM_SIGN_PK_LEN], sk[2][MM_SIGN_SK_LEN];
	struct mm_upd_root rt;
	struct mm_upd_env env;
	char *root = NULL, *sig = NULL;
	size_t rl, sl, i;
	int r;

	memset(&rt, 0, sizeof(rt));
	memset(&env, 0, sizeof(env));
	for (i = 0; i < 2; i++) {
		memset(seed, (int)(i + 1), sizeof(seed));
		crypto_sign_ed25519_seed_keypair(pk[i], sk[i], seed);
		mm_sign_keyid(rt.keys[i].id, pk[i]);
		memcpy(rt.keys[i].pk, pk[i], MM_SIGN_PK_LEN);
		rt.keys[i].role = i == 0 ? MM_UPD_ROLE_ROOT : MM_UPD_ROLE_RELEASE;
	}
	rt.nkeys = 2;
	rt.version = 1;
	rt.expires = 4102444800ULL;
	rt.threshold[MM_UPD_ROLE_ROOT] = rt.threshold[MM_UPD_ROLE_RELEASE] = 1;
	if ((r = mm_upd_root_encode(&rt, &root, &rl, NULL, 0)) == 0 &&
	    (r = mm_upd_env_sign(&env, MM_UPD_CTX_ROOT, root, rl, sk[0])) == 0 &&
	    (r = mm_upd_env_encode(&env, &sig, &sl)) == 0)
		r = mm_upd_trust_load(root, rl, sig, sl, &fz_trust, NULL, 0);
	mm_free(root);
	mm_free(sig);
	return r;
}

/* Reads one payload to its end, hashing what was given out. */
static int
fz_payload(struct mm_upd_reader *rd, const struct mm_upd_payload *p)
{
	static uint8_t buf[1000];
	crypto_hash_sha256_state st;
	uint8_t h[MM_SHA256_LEN];
	uint64_t total = 0;
	size_t got;
	int r;

	crypto_hash_sha256_init(&st);
	do {
		if ((r = mm_upd_reader_read(rd, buf, sizeof(buf), &got)) != 0)
			return r;
		if (got > sizeof(buf))
			__builtin_trap();
		crypto_hash_sha256_update(&st, buf, got);
		total += got;
	} while (got > 0);
	crypto_hash_sha256_final(&st, h);
	/* the end of a payload is only announced when it matched */
	if (total != p->size || memcmp(h, p->sha256, sizeof(h)) != 0)
		__builtin_trap();
	return MM_OK;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mm_upd_device dev = { "cam-100", "rev-b", 0, FZ_NOW,
	    1 };
	const struct mm_upd_manifest *m;
	const struct mm_upd_payload *p;
	struct mm_upd_reader *rd = NULL;
	uint64_t sum = 0;
	size_t n = 0;
	int r;

	if (fz_trust == NULL && fz_trust_make() != MM_OK)
		return 0;
	if (mm_upd_reader_open_mem(&rd, data, size, fz_trust, &dev, NULL, 0) != 0)
		return 0;
	m = mm_upd_reader_manifest(rd);
	if (strcmp(m->product, dev.product) != 0 || m->expires <= FZ_NOW)
		__builtin_trap();
	while ((r = mm_upd_reader_next_payload(rd, &p)) == MM_OK) {
		if (p != &m->payloads[n++] || (r = fz_payload(rd, p)) != MM_OK)
			break;
		sum += p->size;
	}
	/* accepted: every payload read, and they came from the input */
	if (r == MM_ERR_NOT_FOUND && mm_upd_reader_finish(rd) == MM_OK &&
	    (n != m->npayloads || sum >= size))
		__builtin_trap();
	mm_upd_reader_free(rd);
	return 0;
}
