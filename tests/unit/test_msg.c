/* Unit tests for JSON message decoding (mm_msg). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "proto/mm_msg.h"

static int
decode(enum mm_msg_type t, const char *s)
{
	json_t *o = NULL;
	int r = mm_msg_decode(t, s, strlen(s), &o);

	json_decref(o);
	return r;
}

static void
test_decode(void **state)
{
	char big[600];

	(void)state;
	assert_int_equal(decode(MM_MSG_HEARTBEAT,
	    "{\"v\":1,\"type\":\"heartbeat\",\"seq\":3}"), MM_OK);
	assert_int_equal(decode(MM_MSG_HEARTBEAT,
	    "{\"v\":2,\"type\":\"heartbeat\"}"), MM_ERR_UNSUPPORTED);
	assert_int_equal(decode(MM_MSG_HEARTBEAT,
	    "{\"v\":1,\"type\":\"hello\"}"), MM_ERR_FORMAT);
	assert_int_equal(decode(MM_MSG_HEARTBEAT,
	    "{\"v\":1,\"v\":1,\"type\":\"heartbeat\"}"), MM_ERR_FORMAT);
	assert_int_equal(decode(MM_MSG_HEARTBEAT, "[1,2]"), MM_ERR_FORMAT);
	assert_int_equal(decode(MM_MSG_HEARTBEAT, "{\"v\":1,"), MM_ERR_FORMAT);
	assert_int_equal(decode(MM_MSG_HEARTBEAT,
	    "{\"v\":\"1\",\"type\":\"heartbeat\"}"), MM_ERR_FORMAT);
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	assert_int_equal(decode(MM_MSG_HEARTBEAT, big), MM_ERR_TOO_LARGE);
}

static void
test_fields(void **state)
{
	json_t *o = NULL;
	const char *s;
	int64_t v;
	const char *m = "{\"v\":1,\"type\":\"hello\",\"model\":\"cam\\u0001\","
	    "\"serial\":\"SN1\",\"n\":99}";
	const char *nul = "{\"v\":1,\"type\":\"hello\",\"x\":\"a\\u0000b\"}";

	(void)state;
	assert_int_equal(mm_msg_decode(MM_MSG_HELLO, m, strlen(m), &o), MM_OK);
	assert_int_equal(mm_msg_get_str(o, "model", 1, 64, &s), MM_ERR_FORMAT);
	assert_int_equal(mm_msg_get_str(o, "serial", 1, 64, &s), MM_OK);
	assert_string_equal(s, "SN1");
	assert_int_equal(mm_msg_get_str(o, "serial", 4, 64, &s), MM_ERR_RANGE);
	assert_int_equal(mm_msg_get_str(o, "missing", 1, 64, &s), MM_ERR_FORMAT);
	assert_int_equal(mm_msg_get_int(o, "n", 0, 50, &v), MM_ERR_RANGE);
	assert_int_equal(mm_msg_get_int(o, "n", 0, 100, &v), MM_OK);
	assert_int_equal(v, 99);
	assert_int_equal(mm_msg_get_int(o, "serial", 0, 100, &v), MM_ERR_FORMAT);
	json_decref(o);
	/* an embedded NUL is refused by the decoder itself */
	assert_int_equal(mm_msg_decode(MM_MSG_HELLO, nul, strlen(nul), &o),
	    MM_ERR_FORMAT);
}

static void
test_encode_limit(void **state)
{
	json_t *o = mm_msg_new(MM_MSG_HEARTBEAT);
	char pad[600], *s = NULL;	/* over the 512-byte heartbeat limit */
	size_t n;

	(void)state;
	assert_int_equal(mm_msg_encode(MM_MSG_HEARTBEAT, o, &s, &n), MM_OK);
	assert_string_equal(s, "{\"v\":1,\"type\":\"heartbeat\"}");
	free(s);
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	json_object_set_new(o, "pad", json_string(pad));
	assert_int_equal(mm_msg_encode(MM_MSG_HEARTBEAT, o, &s, &n), MM_ERR_TOO_LARGE);
	json_decref(o);
}

static int
setup(void **state)
{
	(void)state;
	return mm_crypto_init();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_encode_limit),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
