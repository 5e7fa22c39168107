/* Attack tests for signed commands (mm_cmd): forged, tampered, replayed,
 * expired, misdirected and malformed frames are all refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "proto/mm_cmd.h"

static uint8_t pk[MM_SIGN_PK_LEN], sk[MM_SIGN_SK_LEN];
static const char *dev = "d-00112233445566aa";
#define NOW 1800000000ULL

static void
make(struct mm_cmd *c, uint64_t ctr)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->device_id, sizeof(c->device_id), "%s", dev);
	snprintf(c->name, sizeof(c->name), "set_heartbeat");
	snprintf(c->args, sizeof(c->args), "{\"seconds\":30}");
	c->counter = ctr;
	c->issued = NOW;
	c->expires = NOW + 600;
}

static void
test_valid(void **state)
{
	struct mm_cmd c, out;
	uint8_t *f;
	size_t n;

	(void)state;
	make(&c, 5);
	assert_int_equal(mm_cmd_sign(&c, sk, pk, &f, &n), MM_OK);
	assert_int_equal(mm_cmd_verify(f, n, pk, dev, 4, NOW + 1, &out), MM_OK);
	assert_string_equal(out.name, "set_heartbeat");
	assert_string_equal(out.args, "{\"seconds\":30}");
	assert_true(out.counter == 5);
	mm_free(f);
}

static void
test_forged_and_tampered(void **state)
{
	uint8_t opk[MM_SIGN_PK_LEN], osk[MM_SIGN_SK_LEN], *f;
	struct mm_cmd c, out;
	size_t n, i;

	(void)state;
	make(&c, 5);
	/* signed by an attacker's key: unknown key id */
	assert_int_equal(mm_sign_keypair(opk, osk), MM_OK);
	assert_int_equal(mm_cmd_sign(&c, osk, opk, &f, &n), MM_OK);
	assert_int_equal(mm_cmd_verify(f, n, pk, dev, 0, NOW, &out), MM_ERR_UNSUPPORTED);
	/* attacker copies our key id into his frame: signature fails */
	{
		uint8_t kid[MM_KEYID_LEN];
		mm_sign_keyid(kid, pk);
		memcpy(f + 5, kid, sizeof(kid));
		assert_int_equal(mm_cmd_verify(f, n, pk, dev, 0, NOW, &out),
		    MM_ERR_SIGNATURE);
	}
	mm_free(f);
	/* every single flipped bit in the signed part or signature is caught */
	assert_int_equal(mm_cmd_sign(&c, sk, pk, &f, &n), MM_OK);
	for (i = 0; i < n; i++) {
		f[i] ^= 0x01;
		assert_int_not_equal(mm_cmd_verify(f, n, pk, dev, 0, NOW, &out), MM_OK);
		f[i] ^= 0x01;
	}
	assert_int_equal(mm_cmd_verify(f, n, pk, dev, 0, NOW, &out), MM_OK);
	mm_free(f);
}

static void
test_replay_expiry_target(void **state)
{
	struct mm_cmd c, out;
	uint8_t *f;
	size_t n;

	(void)state;
	make(&c, 7);
	assert_int_equal(mm_cmd_sign(&c, sk, pk, &f, &n), MM_OK);
	assert_int_equal(mm_cmd_verify(f, n, pk, dev, 7, NOW, &out), MM_ERR_REPLAY);
	assert_int_equal(mm_cmd_verify(f, n, pk, dev, 9, NOW, &out), MM_ERR_REPLAY);
	assert_int_equal(mm_cmd_verify(f, n, pk, dev, 6, NOW + 600, &out), MM_ERR_EXPIRED);
	assert_int_equal(mm_cmd_verify(f, n, pk, dev, 6, NOW - 301, &out),
	    MM_ERR_NOT_YET_VALID);
	assert_int_equal(mm_cmd_verify(f, n, pk, "d-00112233445566ab", 0, NOW, &out),
	    MM_ERR_WRONG_TARGET);
	mm_free(f);
}

static void
test_malformed(void **state)
{
	struct mm_cmd c, out;
	uint8_t *f, big[MM_CMD_MAX_FRAME + 1];
	size_t n, cut;

	(void)state;
	make(&c, 1);
	assert_int_equal(mm_cmd_sign(&c, sk, pk, &f, &n), MM_OK);
	for (cut = 0; cut < n; cut++)
		assert_int_not_equal(mm_cmd_verify(f, cut, pk, dev, 0, NOW, &out), MM_OK);
	memset(big, 0, sizeof(big));
	assert_int_equal(mm_cmd_verify(big, sizeof(big), pk, dev, 0, NOW, &out),
	    MM_ERR_TOO_LARGE);
	mm_free(f);
	/* the signer refuses to sign nonsense */
	make(&c, 1);
	snprintf(c.args, sizeof(c.args), "[1]");
	assert_int_equal(mm_cmd_sign(&c, sk, pk, &f, &n), MM_ERR_INVALID_ARG);
	make(&c, 1);
	snprintf(c.device_id, sizeof(c.device_id), "d-#");
	assert_int_equal(mm_cmd_sign(&c, sk, pk, &f, &n), MM_ERR_INVALID_ARG);
}

static int
setup(void **state)
{
	(void)state;
	if (mm_crypto_init() != 0)
		return -1;
	return mm_sign_keypair(pk, sk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_forged_and_tampered),
		cmocka_unit_test(test_replay_expiry_target),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
