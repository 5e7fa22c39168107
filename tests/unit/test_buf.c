/* Unit tests for the bounded buffer (mm_buf). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/mm_alloc.h"
#include "common/mm_buf.h"
#include "common/mm_err.h"

static void
test_roundtrip(void **state)
{
	struct mm_buf *b = mm_buf_new(64);
	uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64;
	char s[16];

	(void)state;
	assert_non_null(b);
	assert_int_equal(mm_buf_put_u8(b, 0xab), MM_OK);
	assert_int_equal(mm_buf_put_u16(b, 0x1234), MM_OK);
	assert_int_equal(mm_buf_put_u32(b, 0xdeadbeef), MM_OK);
	assert_int_equal(mm_buf_put_u64(b, 0x0102030405060708ULL), MM_OK);
	assert_int_equal(mm_buf_put_str8(b, "hello", 5), MM_OK);
	assert_int_equal(mm_buf_len(b), 1 + 2 + 4 + 8 + 6);
	/* big-endian on the wire */
	assert_int_equal(mm_buf_ptr(b)[1], 0x12);
	assert_int_equal(mm_buf_get_u8(b, &u8), MM_OK);
	assert_int_equal(mm_buf_get_u16(b, &u16), MM_OK);
	assert_int_equal(mm_buf_get_u32(b, &u32), MM_OK);
	assert_int_equal(mm_buf_get_u64(b, &u64), MM_OK);
	assert_int_equal(mm_buf_get_cstr8(b, s, sizeof(s)), MM_OK);
	assert_int_equal(u8, 0xab);
	assert_int_equal(u16, 0x1234);
	assert_int_equal(u32, 0xdeadbeef);
	assert_true(u64 == 0x0102030405060708ULL);
	assert_string_equal(s, "hello");
	assert_int_equal(mm_buf_expect_end(b), MM_OK);
	mm_buf_free(b);
}

static void
test_max_enforced(void **state)
{
	struct mm_buf *b = mm_buf_new(10);
	uint8_t junk[11] = { 0 };

	(void)state;
	assert_int_equal(mm_buf_put(b, junk, 11), MM_ERR_NO_SPACE);
	assert_int_equal(mm_buf_len(b), 0);
	assert_int_equal(mm_buf_put(b, junk, 10), MM_OK);
	assert_int_equal(mm_buf_put_u8(b, 1), MM_ERR_NO_SPACE);
	assert_int_equal(mm_buf_len(b), 10);
	mm_buf_free(b);
	/* a prefixed string that does not fit writes nothing, not even its prefix */
	b = mm_buf_new(4);
	assert_int_equal(mm_buf_put_str8(b, "abcd", 4), MM_ERR_NO_SPACE);
	assert_int_equal(mm_buf_len(b), 0);
	mm_buf_free(b);
}

static void
test_short_reads_consume_nothing(void **state)
{
	const uint8_t data[] = { 0x05, 'a', 'b' };	/* claims 5, has 2 */
	struct mm_buf *b = mm_buf_from(data, sizeof(data));
	uint32_t v;
	char s[8];

	(void)state;
	assert_int_equal(mm_buf_get_u32(b, &v), MM_ERR_SHORT);
	assert_int_equal(mm_buf_len(b), 3);
	assert_int_equal(mm_buf_get_cstr8(b, s, sizeof(s)), MM_ERR_SHORT);
	assert_int_equal(mm_buf_len(b), 3);
	assert_int_equal(mm_buf_put_u8(b, 1), MM_ERR_INVALID_ARG); /* read-only */
	mm_buf_free(b);
}

static void
test_cstr_rejects_nul_and_overflow(void **state)
{
	const uint8_t nul[] = { 0x03, 'a', 0x00, 'b' };
	const uint8_t longer[] = { 0x04, 'a', 'b', 'c', 'd' };
	struct mm_buf *b;
	char s[4];

	(void)state;
	b = mm_buf_from(nul, sizeof(nul));
	assert_int_equal(mm_buf_get_cstr8(b, s, sizeof(s)), MM_ERR_FORMAT);
	mm_buf_free(b);
	b = mm_buf_from(longer, sizeof(longer));
	assert_int_equal(mm_buf_get_cstr8(b, s, sizeof(s)), MM_ERR_TOO_LARGE);
	assert_int_equal(mm_buf_len(b), sizeof(longer));
	mm_buf_free(b);
}

static void
test_trailing_detected(void **state)
{
	const uint8_t data[] = { 1, 2, 3 };
	struct mm_buf *b = mm_buf_from(data, sizeof(data));
	uint16_t v;

	(void)state;
	assert_int_equal(mm_buf_get_u16(b, &v), MM_OK);
	assert_int_equal(mm_buf_expect_end(b), MM_ERR_TRAILING);
	mm_buf_free(b);
}

static void
test_alloc_failure(void **state)
{
	struct mm_buf *b = mm_buf_new(1024);
	uint8_t junk[200] = { 0 };

	(void)state;
	mm_alloc_fail_after(0);
	assert_int_equal(mm_buf_put(b, junk, sizeof(junk)), MM_ERR_ALLOC);
	mm_alloc_fail_after(-1);
	assert_int_equal(mm_buf_len(b), 0);
	assert_int_equal(mm_buf_put(b, junk, sizeof(junk)), MM_OK);
	mm_buf_free(b);
	mm_alloc_fail_after(0);
	assert_null(mm_buf_new(8));
	mm_alloc_fail_after(-1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_max_enforced),
		cmocka_unit_test(test_short_reads_consume_nothing),
		cmocka_unit_test(test_cstr_rejects_nul_and_overflow),
		cmocka_unit_test(test_trailing_detected),
		cmocka_unit_test(test_alloc_failure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
