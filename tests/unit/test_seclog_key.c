/* Unit tests for the sealed log's key tree (src/device/mm_seclog_key.c):
 * derivation against an independent HMAC chain, the frontier's walk and
 * what it wipes, forward security, the strict wire format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_seclog_key.h"

static uint8_t root[MM_SLK_LEN];

/* The tree as decision 0008 writes it, without the module's code. */
static void
ref_child(const uint8_t k[MM_SLK_LEN], uint8_t bit, uint8_t out[MM_SLK_LEN])
{
	unsigned int len = 0;

	assert_non_null(HMAC(EVP_sha256(), k, MM_SLK_LEN, &bit, 1, out, &len));
	assert_int_equal(len, MM_SLK_LEN);
}

static void
ref_node(unsigned depth, uint32_t prefix, uint8_t out[MM_SLK_LEN])
{
	uint8_t k[MM_SLK_LEN];
	unsigned i;

	memcpy(k, root, sizeof(k));
	for (i = 0; i < depth; i++)
		ref_child(k, (uint8_t)((prefix >> (depth - 1 - i)) & 1), k);
	memcpy(out, k, sizeof(k));
}

static int
setup(void **state)
{
	(void)state;
	mm_random(root, sizeof(root));
	return 0;
}

static void
test_derive_reference(void **state)
{
	static const uint32_t epochs[] = { 0, 1, 2, 3, 4096, 5000, 0x7fffffff,
	    0x80000000, 0xfffffffe, 0xffffffff };
	uint8_t a[MM_SLK_LEN], b[MM_SLK_LEN];
	size_t i;
	uint32_t e;

	(void)state;
	for (i = 0; i < sizeof(epochs) / sizeof(epochs[0]) + 5; i++) {
		e = i < sizeof(epochs) / sizeof(epochs[0]) ? epochs[i] :
		    (uint32_t)mm_random_uniform(UINT32_MAX);
		assert_int_equal(mm_slk_derive(root, e, a), MM_OK);
		ref_node(32, e, b);
		assert_memory_equal(a, b, MM_SLK_LEN);
	}
	/* inner nodes and the root */
	assert_int_equal(mm_slk_derive_node(root, 0, 0, a), MM_OK);
	assert_memory_equal(a, root, MM_SLK_LEN);
	assert_int_equal(mm_slk_derive_node(root, 5, 0x13, a), MM_OK);
	ref_node(5, 0x13, b);
	assert_memory_equal(a, b, MM_SLK_LEN);
	/* different epochs, different keys */
	assert_int_equal(mm_slk_derive(root, 1, a), MM_OK);
	assert_int_equal(mm_slk_derive(root, 2, b), MM_OK);
	assert_memory_not_equal(a, b, MM_SLK_LEN);
	/* no such node */
	assert_int_equal(mm_slk_derive_node(root, 33, 0, a), MM_ERR_INVALID_ARG);
	assert_int_equal(mm_slk_derive_node(root, 3, 8, a), MM_ERR_INVALID_ARG);
	assert_int_equal(mm_slk_derive_node(root, 0, 1, a), MM_ERR_INVALID_ARG);
}

/* The frontier is exactly the right siblings of the path, shallowest
 * first, with their keys; unused slots hold zeros. */
static void
check_frontier(const struct mm_slk_frontier *f)
{
	static const uint8_t zero[sizeof(f->sib[0])];
	uint8_t k[MM_SLK_LEN];
	unsigned d, i = 0;
	uint32_t p;

	for (d = 1; d <= 32; d++) {
		p = (uint32_t)((uint64_t)f->epoch >> (32 - d));
		if (p & 1)
			continue;
		assert_true(i < f->n);
		assert_int_equal(f->sib[i].depth, d);
		assert_int_equal(f->sib[i].prefix, p | 1);
		ref_node(d, p | 1, k);
		assert_memory_equal(f->sib[i].key, k, MM_SLK_LEN);
		i++;
	}
	assert_int_equal(i, f->n);
	for (; i < MM_SLK_DEPTH; i++)
		assert_memory_equal(&f->sib[i], zero, sizeof(zero));
}

static void
test_next_matches_derive(void **state)
{
	struct mm_slk_frontier f, g;
	uint8_t k[MM_SLK_LEN];
	uint32_t n, target;
	int i;

	(void)state;
	assert_int_equal(mm_slk_init(&f, root), MM_OK);
	for (n = 0; n <= 5000; n++) {
		assert_int_equal(f.epoch, n);
		assert_int_equal(mm_slk_derive(root, n, k), MM_OK);
		assert_memory_equal(f.leaf, k, MM_SLK_LEN);
		if (n % 97 == 0 || n == 4095 || n == 4096)
			check_frontier(&f);
		assert_int_equal(mm_slk_next(&f), MM_OK);
	}
	/* a few random epochs further on, reached by next alone */
	for (i = 0; i < 3; i++) {
		target = f.epoch + 1 + mm_random_uniform(40000);
		while (f.epoch < target)
			assert_int_equal(mm_slk_next(&f), MM_OK);
		assert_int_equal(mm_slk_derive(root, target, k), MM_OK);
		assert_memory_equal(f.leaf, k, MM_SLK_LEN);
		check_frontier(&f);
		/* the verifier's way gives the same frontier */
		assert_int_equal(mm_slk_init_at(&g, root, target), MM_OK);
		assert_memory_equal(&f, &g, sizeof(f));
	}
	/* from a random far epoch */
	target = mm_random_uniform(UINT32_MAX - 1000);
	assert_int_equal(mm_slk_init_at(&f, root, target), MM_OK);
	check_frontier(&f);
	for (i = 0; i < 300; i++) {
		assert_int_equal(mm_slk_next(&f), MM_OK);
		assert_int_equal(mm_slk_derive(root, target + 1 + (uint32_t)i, k),
		    MM_OK);
		assert_memory_equal(f.leaf, k, MM_SLK_LEN);
	}
	check_frontier(&f);
	mm_slk_wipe(&f);
	mm_slk_wipe(&g);
}

static void
test_last_epoch(void **state)
{
	struct mm_slk_frontier f, before;
	uint8_t k[MM_SLK_LEN];

	(void)state;
	assert_int_equal(mm_slk_init_at(&f, root, UINT32_MAX - 2), MM_OK);
	assert_int_equal(mm_slk_next(&f), MM_OK);
	assert_int_equal(mm_slk_next(&f), MM_OK);
	assert_int_equal(f.epoch, UINT32_MAX);
	assert_int_equal(f.n, 0);
	assert_int_equal(mm_slk_derive(root, UINT32_MAX, k), MM_OK);
	assert_memory_equal(f.leaf, k, MM_SLK_LEN);
	before = f;
	assert_int_equal(mm_slk_next(&f), MM_ERR_RANGE);
	assert_memory_equal(&f, &before, sizeof(f));
}

/*
 * Forward security: after next() the frontier holds no key of an earlier
 * leaf nor of any ancestor of one (any node whose subtree holds a leaf
 * below the current epoch).  All such nodes for epochs < N, by depth.
 */
#define FS_N 300

static void
test_forward_security(void **state)
{
	uint8_t (*nodes[33])[MM_SLK_LEN];
	size_t count[33];
	struct mm_slk_frontier f;
	const uint8_t *keys[MM_SLK_DEPTH + 1];
	unsigned d, i, nk;
	uint32_t n, p, last;

	(void)state;
	/* nodes[d][p]: key of the node at depth d, prefix p, for p up to the
	 * ancestor of leaf FS_N - 1 */
	for (d = 0; d <= 32; d++) {
		count[d] = (size_t)((uint64_t)(FS_N - 1) >> (32 - d)) + 1;
		nodes[d] = calloc(count[d], MM_SLK_LEN);
		assert_non_null(nodes[d]);
		for (p = 0; p < count[d]; p++) {
			if (d == 0)
				memcpy(nodes[0][0], root, MM_SLK_LEN);
			else
				ref_child(nodes[d - 1][p >> 1], (uint8_t)(p & 1),
				    nodes[d][p]);
		}
	}
	assert_int_equal(mm_slk_init(&f, root), MM_OK);
	for (n = 1; n < FS_N; n++) {
		assert_int_equal(mm_slk_next(&f), MM_OK);
		nk = 0;
		keys[nk++] = f.leaf;
		for (i = 0; i < f.n; i++)
			keys[nk++] = f.sib[i].key;
		for (d = 0; d <= 32; d++) {
			last = (uint32_t)((uint64_t)(n - 1) >> (32 - d));
			for (p = 0; p <= last; p++)
				for (i = 0; i < nk; i++)
					if (memcmp(keys[i], nodes[d][p],
					    MM_SLK_LEN) == 0)
						fail_msg("epoch %u: a frontier key "
						    "is node %u/%u", n, d, p);
		}
		/* and the leaf is its own: the node of epoch n */
		if (n < count[32])
			assert_memory_equal(f.leaf, nodes[32][n], MM_SLK_LEN);
	}
	for (d = 0; d <= 32; d++)
		free(nodes[d]);
	mm_slk_wipe(&f);
}

static void
test_encode_decode(void **state)
{
	static const uint32_t epochs[] = { 0, 1, 6, 7, 4096, 0x80000000,
	    0xfffffffe, 0xffffffff, 0x12345678 };
	struct mm_slk_frontier f, g, h;
	uint8_t buf[MM_SLK_WIRE_MAX + 8], bad[MM_SLK_WIRE_MAX + 64];
	size_t len, l2, i, j;

	(void)state;
	for (i = 0; i < sizeof(epochs) / sizeof(epochs[0]); i++) {
		assert_int_equal(mm_slk_init_at(&f, root, epochs[i]), MM_OK);
		assert_int_equal(mm_slk_encode(&f, buf, sizeof(buf), &len), MM_OK);
		assert_int_equal(len, 4 + 32 + 1 + f.n * 37);
		assert_true(len <= MM_SLK_WIRE_MAX);
		assert_int_equal(mm_slk_encode(&f, buf, len - 1, &l2),
		    MM_ERR_NO_SPACE);
		memset(&g, 0, sizeof(g));
		assert_int_equal(mm_slk_decode(&g, buf, len), MM_OK);
		assert_memory_equal(&f, &g, sizeof(f));

		/* strict: every truncation, a trailing byte */
		memset(&h, 0xa5, sizeof(h));
		g = h;
		for (j = 0; j < len; j++)
			assert_int_not_equal(mm_slk_decode(&g, buf, j), MM_OK);
		buf[len] = 0;
		assert_int_not_equal(mm_slk_decode(&g, buf, len + 1), MM_OK);
		/* bad counts */
		memcpy(bad, buf, len);
		bad[36] = (uint8_t)(f.n + 1);
		assert_int_equal(mm_slk_decode(&g, bad, len), MM_ERR_FORMAT);
		assert_int_equal(mm_slk_decode(&g, bad, len + 37), MM_ERR_FORMAT);
		if (f.n > 0) {
			bad[36] = (uint8_t)(f.n - 1);
			assert_int_equal(mm_slk_decode(&g, bad, len - 37),
			    MM_ERR_FORMAT);
			bad[36] = (uint8_t)f.n;
			/* a sibling at the wrong depth or prefix */
			bad[37 + 32] ^= 1;
			assert_int_equal(mm_slk_decode(&g, bad, len), MM_ERR_FORMAT);
			bad[37 + 32] ^= 1;
			bad[len - 1] ^= 2;
			assert_int_equal(mm_slk_decode(&g, bad, len), MM_ERR_FORMAT);
			bad[len - 1] ^= 2;
		}
		/* the epoch must fit the siblings */
		bad[3] ^= 1;
		assert_int_equal(mm_slk_decode(&g, bad, len), MM_ERR_FORMAT);
		bad[3] ^= 1;
		assert_int_equal(mm_slk_decode(&g, bad, 200), MM_ERR_FORMAT);
		/* failures leave the output alone */
		assert_memory_equal(&g, &h, sizeof(g));
	}
	mm_slk_wipe(&f);
	mm_slk_wipe(&g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_derive_reference),
		cmocka_unit_test(test_next_matches_derive),
		cmocka_unit_test(test_last_epoch),
		cmocka_unit_test(test_forward_security),
		cmocka_unit_test(test_encode_decode),
	};

	if (mm_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, NULL);
}
