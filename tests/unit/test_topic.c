/* Unit tests for topic building and parsing (mm_topic). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/mm_err.h"
#include "proto/mm_topic.h"

static void
test_ids(void **state)
{
	char d[MM_DEVID_SIZE], p[MM_PROVID_SIZE];

	(void)state;
	mm_devid_new(d);
	mm_provid_new(p);
	assert_true(mm_devid_valid(d));
	assert_true(mm_provid_valid(p));
	assert_false(mm_devid_valid(p));
	assert_false(mm_devid_valid("d-0123456789abcdeF"));
	assert_false(mm_devid_valid("d-0123456789abcde"));
	assert_false(mm_devid_valid("d-0123456789abcdef0"));
	assert_false(mm_devid_valid("d-0123456789abcd/#"));
	assert_false(mm_devid_valid(MM_SERVER_ID));
}

static void
test_roundtrip(void **state)
{
	char t[MM_TOPIC_MAX];
	struct mm_topic pt;

	(void)state;
	assert_int_equal(mm_topic_build(t, sizeof(t), MM_DIR_UP,
	    "d-0123456789abcdef", "heartbeat"), MM_OK);
	assert_string_equal(t, "mamori/v1/d-0123456789abcdef/up/heartbeat");
	assert_int_equal(mm_topic_parse(t, &pt), MM_OK);
	assert_int_equal(pt.dir, MM_DIR_UP);
	assert_string_equal(pt.id, "d-0123456789abcdef");
	assert_string_equal(pt.kind, "heartbeat");
	assert_int_equal(mm_topic_build(t, sizeof(t), MM_DIR_PROV_RESP,
	    "p-0123456789abcdef0123456789abcdef", NULL), MM_OK);
	assert_int_equal(mm_topic_parse(t, &pt), MM_OK);
	assert_int_equal(pt.dir, MM_DIR_PROV_RESP);
}

static void
test_rejects(void **state)
{
	static const char *bad[] = {
		"mamori/v1/d-0123456789abcdef/up",
		"mamori/v1/d-0123456789abcdef/up/",
		"mamori/v1/d-0123456789abcdef/up/heart/beat",
		"mamori/v1/d-0123456789abcdef/sideways/x",
		"mamori/v1/d-0123456789abcdef/up/Heartbeat",
		"mamori/v1/d-0123456789abcdeg/up/x",
		"mamori/v2/d-0123456789abcdef/up/x",
		"mamori/v1/+/up/x",
		"mamori/v1/prov/p-0123/req",
		"mamori/v1/prov/p-0123456789abcdef0123456789abcdef/req/x",
		"",
	};
	struct mm_topic pt;
	char t[MM_TOPIC_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(mm_topic_parse(bad[i], &pt), MM_ERR_FORMAT);
	assert_int_equal(mm_topic_build(t, sizeof(t), MM_DIR_UP, "d-#", "x"),
	    MM_ERR_INVALID_ARG);
	assert_int_equal(mm_topic_build(t, sizeof(t), MM_DIR_UP,
	    "d-0123456789abcdef", "a/b"), MM_ERR_INVALID_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
