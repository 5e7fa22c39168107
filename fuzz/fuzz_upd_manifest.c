/*
 * Fuzz target: the signed-update documents (decision 0010) as a device
 * parses them.  Each input is parsed as a manifest, as a root.json and as a
 * signature envelope.  Whatever parses must encode and parse again to the
 * same values (a manifest near 64 KiB may grow past the limit when
 * indented: then encode must say so), and keep the schema's promises
 * (counts, sizes, block counts, thresholds within the unrevoked keys of
 * their role).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_upd_manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_payload_same(const struct mm_upd_payload *a, const struct mm_upd_payload *b)
{
	if (strcmp(a->name, b->name) != 0 || a->size != b->size ||
	    memcmp(a->sha256, b->sha256, sizeof(a->sha256)) != 0 ||
	    a->block_size != b->block_size || a->nblocks != b->nblocks ||
	    (a->nblocks > 0 &&
	    memcmp(a->blocks, b->blocks, a->nblocks * MM_SHA256_LEN) != 0))
		__builtin_trap();
}

static void
fz_manifest(const uint8_t *data, size_t size)
{
	struct mm_upd_manifest *m = NULL, *m2 = NULL;
	char *text = NULL;
	size_t len, i;
	int r;

	if (mm_upd_manifest_parse(data, size, &m, NULL, 0) != MM_OK)
		return;
	if (m->npayloads < 1 || m->npayloads > MM_UPD_PAYLOADS_MAX ||
	    m->nhardware < 1 || m->nhardware > MM_UPD_HW_MAX ||
	    m->expires <= m->created || m->product[0] == '\0')
		__builtin_trap();
	for (i = 0; i < m->npayloads; i++) {
		const struct mm_upd_payload *p = &m->payloads[i];

		if (p->size == 0 || p->size > MM_UPD_SIZE_MAX ||
		    (p->block_size != 0 && p->nblocks !=
		    (p->size + p->block_size - 1) / p->block_size))
			__builtin_trap();
	}
	/* indented, a manifest near the limit may no longer fit: refused */
	r = mm_upd_manifest_encode(m, &text, &len, NULL, 0);
	if (r == MM_ERR_TOO_LARGE && size > MM_UPD_DOC_MAX / 2) {
		mm_upd_manifest_free(m);
		return;
	}
	if (r != MM_OK || mm_upd_manifest_parse(text, len, &m2, NULL, 0) != MM_OK)
		__builtin_trap();
	if (strcmp(m->product, m2->product) != 0 ||
	    strcmp(m->version, m2->version) != 0 ||
	    strcmp(m->notes, m2->notes) != 0 || strcmp(m->fixes, m2->fixes) != 0 ||
	    m->nhardware != m2->nhardware || m->npayloads != m2->npayloads ||
	    m->security_counter != m2->security_counter ||
	    m->created != m2->created || m->expires != m2->expires)
		__builtin_trap();
	for (i = 0; i < m->nhardware; i++)
		if (strcmp(m->hardware[i], m2->hardware[i]) != 0)
			__builtin_trap();
	for (i = 0; i < m->npayloads; i++)
		fz_payload_same(&m->payloads[i], &m2->payloads[i]);
	mm_free(text);
	mm_upd_manifest_free(m);
	mm_upd_manifest_free(m2);
}

static void
fz_root(const uint8_t *data, size_t size)
{
	static struct mm_upd_root a, b;
	unsigned have[2] = { 0, 0 };
	char *text = NULL;
	size_t len, i;

	if (mm_upd_root_parse(data, size, &a, NULL, 0) != MM_OK)
		return;
	if (a.nkeys < 1 || a.nkeys > MM_UPD_KEYS_MAX || a.version < 1)
		__builtin_trap();
	for (i = 0; i < a.nkeys; i++) {
		uint8_t id[MM_KEYID_LEN];

		mm_sign_keyid(id, a.keys[i].pk);
		if (memcmp(id, a.keys[i].id, sizeof(id)) != 0 ||
		    (i > 0 && memcmp(a.keys[i - 1].id, a.keys[i].id,
		    MM_KEYID_LEN) >= 0))
			__builtin_trap();
		if (!mm_upd_root_is_revoked(&a, a.keys[i].id))
			have[a.keys[i].role]++;
	}
	for (i = 0; i < 2; i++)
		if (a.threshold[i] < 1 || a.threshold[i] > have[i])
			__builtin_trap();
	if (mm_upd_root_encode(&a, &text, &len, NULL, 0) != MM_OK ||
	    mm_upd_root_parse(text, len, &b, NULL, 0) != MM_OK)
		__builtin_trap();
	if (a.version != b.version || a.expires != b.expires ||
	    a.nkeys != b.nkeys || a.nrevoked != b.nrevoked ||
	    a.threshold[0] != b.threshold[0] || a.threshold[1] != b.threshold[1] ||
	    memcmp(a.revoked, b.revoked, a.nrevoked * MM_KEYID_LEN) != 0)
		__builtin_trap();
	for (i = 0; i < a.nkeys; i++)
		if (memcmp(a.keys[i].id, b.keys[i].id, MM_KEYID_LEN) != 0 ||
		    a.keys[i].role != b.keys[i].role)
			__builtin_trap();
	mm_free(text);
}

static void
fz_env(const uint8_t *data, size_t size)
{
	static struct mm_upd_env a, b;
	char *text = NULL;
	size_t len, i, k = 0;

	if (mm_upd_env_parse(data, size, &a, NULL, 0) != MM_OK)
		return;
	if (a.n > MM_UPD_SIGS_MAX)
		__builtin_trap();
	if (mm_upd_env_encode(&a, &text, &len) != MM_OK ||
	    mm_upd_env_parse(text, len, &b, NULL, 0) != MM_OK)
		__builtin_trap();
	/* the ed25519 entries come back, in order; others are dropped */
	for (i = 0; i < a.n; i++) {
		if (!a.sigs[i].ed25519)
			continue;
		if (k >= b.n || !b.sigs[k].ed25519 ||
		    memcmp(a.sigs[i].keyid, b.sigs[k].keyid, MM_KEYID_LEN) != 0 ||
		    memcmp(a.sigs[i].sig, b.sigs[k].sig, MM_SIGN_LEN) != 0)
			__builtin_trap();
		k++;
	}
	if (k != b.n)
		__builtin_trap();
	mm_free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;

	/* jansson's allocations through mm_alloc, as on the device */
	if (!init && mm_crypto_init() != 0)
		return 0;
	init = 1;
	fz_manifest(data, size);
	fz_root(data, size);
	fz_env(data, size);
	return 0;
}
