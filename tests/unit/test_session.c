/* Unit tests for login sessions (mm_session): tokens, malformed tokens,
 * idle and absolute time-outs, ending sessions, the bounded table, and
 * CSRF comparison. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_session.h"

#define T0 5000000ULL
#define SEC 1000ULL

static struct mm_sessions *
mk(size_t max)
{
	struct mm_session_conf c;
	struct mm_sessions *s = NULL;

	mm_session_defaults(&c);
	if (max != 0)
		c.max_sessions = max;
	assert_int_equal(mm_sessions_new(&c, &s), MM_OK);
	assert_non_null(s);
	return s;
}

static int
is_lower_hex(const char *p, size_t n)
{
	size_t i;

	if (strlen(p) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		    (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
}

static void
test_conf(void **state)
{
	struct mm_session_conf c;
	struct mm_sessions *s = (struct mm_sessions *)0x1;

	(void)state;
	mm_session_defaults(&c);
	assert_int_equal(c.idle_s, 900);
	assert_int_equal(c.absolute_s, 28800);
	assert_int_equal(c.max_sessions, 64);
	c.idle_s = 0;
	assert_int_equal(mm_sessions_new(&c, &s), MM_ERR_INVALID_ARG);
	mm_session_defaults(&c);
	c.absolute_s = 0;
	assert_int_equal(mm_sessions_new(&c, &s), MM_ERR_INVALID_ARG);
	mm_session_defaults(&c);
	c.max_sessions = 0;
	assert_int_equal(mm_sessions_new(&c, &s), MM_ERR_INVALID_ARG);
	assert_ptr_equal(s, (struct mm_sessions *)0x1);
	mm_sessions_free(NULL);
}

static void
test_create_lookup(void **state)
{
	struct mm_sessions *s = mk(0);
	struct mm_session_info ci, li;
	char tok[MM_SESSION_TOKEN_HEX + 1], tok2[MM_SESSION_TOKEN_HEX + 1];

	(void)state;
	assert_int_equal(mm_session_create(s, "admin", 3, T0, tok, &ci), MM_OK);
	assert_true(is_lower_hex(tok, MM_SESSION_TOKEN_HEX));
	assert_true(is_lower_hex(ci.csrf, MM_SESSION_TOKEN_HEX));
	assert_string_equal(ci.user, "admin");
	assert_int_equal(ci.role, 3);
	assert_int_equal(ci.created_ms, T0);
	assert_int_equal(ci.idle_left_ms, 900 * SEC);
	assert_int_equal(ci.absolute_left_ms, 28800 * SEC);

	assert_int_equal(mm_session_lookup(s, tok, T0 + 10 * SEC, 1, &li), MM_OK);
	assert_string_equal(li.user, "admin");
	assert_int_equal(li.role, 3);
	assert_string_equal(li.csrf, ci.csrf);
	assert_int_equal(li.created_ms, T0);
	assert_int_equal(li.last_ms, T0 + 10 * SEC);
	assert_int_equal(li.idle_left_ms, 900 * SEC);
	assert_int_equal(li.absolute_left_ms, (28800 - 10) * SEC);
	assert_int_equal(mm_session_lookup(s, tok, T0 + 10 * SEC, 1, NULL),
	    MM_OK);

	/* two sessions: different tokens and CSRF tokens */
	assert_int_equal(mm_session_create(s, "admin", 3, T0, tok2, &li), MM_OK);
	assert_string_not_equal(tok, tok2);
	assert_string_not_equal(ci.csrf, li.csrf);
	assert_string_not_equal(tok2, li.csrf);

	/* bad users */
	assert_int_equal(mm_session_create(s, "", 1, T0, tok2, NULL),
	    MM_ERR_INVALID_ARG);
	assert_int_equal(mm_session_create(s, NULL, 1, T0, tok2, NULL),
	    MM_ERR_INVALID_ARG);
	assert_int_equal(mm_session_create(s,
	    "abcdefghijklmnopqrstuvwxyz0123456", 1, T0, tok2, NULL),
	    MM_ERR_INVALID_ARG);
	assert_int_equal(mm_session_create(s,
	    "abcdefghijklmnopqrstuvwxyz012345", 1, T0, tok2, NULL), MM_OK);
	assert_int_equal(mm_session_expire(s, T0), 3);
	mm_sessions_free(s);
}

static void
test_bad_tokens(void **state)
{
	struct mm_sessions *s = mk(0);
	struct mm_session_info li;
	char tok[MM_SESSION_TOKEN_HEX + 1], bad[MM_SESSION_TOKEN_HEX + 2];
	size_t i;

	(void)state;
	assert_int_equal(mm_session_create(s, "op", 2, T0, tok, NULL), MM_OK);
	assert_int_equal(mm_session_lookup(s, NULL, T0, 1, &li),
	    MM_ERR_NOT_FOUND);
	assert_int_equal(mm_session_lookup(s, "", T0, 1, &li),
	    MM_ERR_NOT_FOUND);
	/* 63 characters */
	memcpy(bad, tok, sizeof(tok));
	bad[63] = '\0';
	assert_int_equal(mm_session_lookup(s, bad, T0, 1, &li),
	    MM_ERR_NOT_FOUND);
	/* 65 characters */
	memcpy(bad, tok, 64);
	bad[64] = '0';
	bad[65] = '\0';
	assert_int_equal(mm_session_lookup(s, bad, T0, 1, &li),
	    MM_ERR_NOT_FOUND);
	/* the same bytes in upper case */
	memcpy(bad, tok, sizeof(tok));
	for (i = 0; i < 64; i++)
		if (bad[i] >= 'a' && bad[i] <= 'f')
			bad[i] = (char)(bad[i] - 'a' + 'A');
	if (strcmp(bad, tok) != 0)
		assert_int_equal(mm_session_lookup(s, bad, T0, 1, &li),
		    MM_ERR_NOT_FOUND);
	/* non-hex */
	memcpy(bad, tok, sizeof(tok));
	bad[10] = 'g';
	assert_int_equal(mm_session_lookup(s, bad, T0, 1, &li),
	    MM_ERR_NOT_FOUND);
	/* one bit off */
	memcpy(bad, tok, sizeof(tok));
	bad[0] = bad[0] == '0' ? '1' : '0';
	assert_int_equal(mm_session_lookup(s, bad, T0, 1, &li),
	    MM_ERR_NOT_FOUND);
	assert_int_equal(mm_session_end(s, bad), MM_ERR_NOT_FOUND);
	assert_int_equal(mm_session_end(s, NULL), MM_ERR_NOT_FOUND);
	/* the real one still works */
	assert_int_equal(mm_session_lookup(s, tok, T0, 1, &li), MM_OK);
	mm_sessions_free(s);
}

static void
test_idle(void **state)
{
	struct mm_sessions *s = mk(0);
	struct mm_session_info li;
	char tok[MM_SESSION_TOKEN_HEX + 1];

	(void)state;
	assert_int_equal(mm_session_create(s, "u", 1, T0, tok, NULL), MM_OK);
	assert_int_equal(mm_session_lookup(s, tok, T0 + 899 * SEC, 1, &li),
	    MM_OK);
	/* refreshed: another 899 s is fine */
	assert_int_equal(mm_session_lookup(s, tok, T0 + 1798 * SEC, 1, &li),
	    MM_OK);
	assert_int_equal(mm_session_lookup(s, tok, T0 + 2698 * SEC, 1, &li),
	    MM_ERR_NOT_FOUND);
	/* removed, not merely refused */
	assert_int_equal(mm_session_lookup(s, tok, T0 + 1798 * SEC, 1, &li),
	    MM_ERR_NOT_FOUND);
	assert_int_equal(mm_session_expire(s, T0), 0);
	mm_sessions_free(s);
}

static void
test_no_touch(void **state)
{
	struct mm_sessions *s = mk(0);
	struct mm_session_info li;
	char tok[MM_SESSION_TOKEN_HEX + 1];

	(void)state;
	assert_int_equal(mm_session_create(s, "u", 1, T0, tok, NULL), MM_OK);
	assert_int_equal(mm_session_lookup(s, tok, T0 + 600 * SEC, 0, &li),
	    MM_OK);
	assert_int_equal(li.last_ms, T0);
	assert_int_equal(li.idle_left_ms, 300 * SEC);
	assert_int_equal(mm_session_lookup(s, tok, T0 + 900 * SEC, 0, &li),
	    MM_ERR_NOT_FOUND);
	mm_sessions_free(s);
}

static void
test_absolute(void **state)
{
	struct mm_sessions *s = mk(0);
	struct mm_session_info li;
	char tok[MM_SESSION_TOKEN_HEX + 1];
	uint64_t now;

	(void)state;
	assert_int_equal(mm_session_create(s, "u", 1, T0, tok, NULL), MM_OK);
	for (now = T0; now < T0 + 28800 * SEC; now += 60 * SEC)
		assert_int_equal(mm_session_lookup(s, tok, now, 1, &li), MM_OK);
	assert_int_equal(mm_session_lookup(s, tok, T0 + 28800 * SEC - 1, 1,
	    &li), MM_OK);
	assert_int_equal(li.absolute_left_ms, 1);
	assert_int_equal(mm_session_lookup(s, tok, T0 + 28800 * SEC, 1, &li),
	    MM_ERR_NOT_FOUND);
	mm_sessions_free(s);
}

static void
test_end(void **state)
{
	struct mm_sessions *s = mk(0);
	char a1[MM_SESSION_TOKEN_HEX + 1], a2[MM_SESSION_TOKEN_HEX + 1];
	char b1[MM_SESSION_TOKEN_HEX + 1], c1[MM_SESSION_TOKEN_HEX + 1];

	(void)state;
	assert_int_equal(mm_session_create(s, "alice", 3, T0, a1, NULL), MM_OK);
	assert_int_equal(mm_session_create(s, "alice", 3, T0, a2, NULL), MM_OK);
	assert_int_equal(mm_session_create(s, "bob", 1, T0, b1, NULL), MM_OK);
	assert_int_equal(mm_session_create(s, "alicex", 1, T0, c1, NULL), MM_OK);

	assert_int_equal(mm_session_end(s, a2), MM_OK);
	assert_int_equal(mm_session_end(s, a2), MM_ERR_NOT_FOUND);
	assert_int_equal(mm_session_lookup(s, a2, T0, 1, NULL),
	    MM_ERR_NOT_FOUND);
	assert_int_equal(mm_session_create(s, "alice", 3, T0, a2, NULL), MM_OK);

	assert_int_equal(mm_session_end_user(s, "alice"), 2);
	assert_int_equal(mm_session_lookup(s, a1, T0, 1, NULL),
	    MM_ERR_NOT_FOUND);
	assert_int_equal(mm_session_lookup(s, a2, T0, 1, NULL),
	    MM_ERR_NOT_FOUND);
	assert_int_equal(mm_session_lookup(s, b1, T0, 1, NULL), MM_OK);
	assert_int_equal(mm_session_lookup(s, c1, T0, 1, NULL), MM_OK);
	assert_int_equal(mm_session_end_user(s, "alice"), 0);
	assert_int_equal(mm_session_end_user(s, NULL), 0);

	/* end_all keeping one */
	assert_int_equal(mm_session_create(s, "alice", 3, T0, a1, NULL), MM_OK);
	assert_int_equal(mm_session_end_all(s, a1), 2);
	assert_int_equal(mm_session_lookup(s, a1, T0, 1, NULL), MM_OK);
	assert_int_equal(mm_session_lookup(s, b1, T0, 1, NULL),
	    MM_ERR_NOT_FOUND);
	assert_int_equal(mm_session_lookup(s, c1, T0, 1, NULL),
	    MM_ERR_NOT_FOUND);
	assert_int_equal(mm_session_create(s, "bob", 1, T0, b1, NULL), MM_OK);
	assert_int_equal(mm_session_end_all(s, NULL), 2);
	assert_int_equal(mm_session_expire(s, T0), 0);
	mm_sessions_free(s);
}

static void
test_full_evicts_lru(void **state)
{
	struct mm_sessions *s = mk(3);
	char t[4][MM_SESSION_TOKEN_HEX + 1];

	(void)state;
	assert_int_equal(mm_session_create(s, "u0", 1, T0, t[0], NULL), MM_OK);
	assert_int_equal(mm_session_create(s, "u1", 1, T0 + 1, t[1], NULL),
	    MM_OK);
	assert_int_equal(mm_session_create(s, "u2", 1, T0 + 2, t[2], NULL),
	    MM_OK);
	/* use u0: u1 becomes the least recently used */
	assert_int_equal(mm_session_lookup(s, t[0], T0 + 3, 1, NULL), MM_OK);
	assert_int_equal(mm_session_create(s, "u3", 1, T0 + 4, t[3], NULL),
	    MM_OK);
	assert_int_equal(mm_session_lookup(s, t[1], T0 + 5, 1, NULL),
	    MM_ERR_NOT_FOUND);
	assert_int_equal(mm_session_lookup(s, t[0], T0 + 5, 1, NULL), MM_OK);
	assert_int_equal(mm_session_lookup(s, t[2], T0 + 5, 1, NULL), MM_OK);
	assert_int_equal(mm_session_lookup(s, t[3], T0 + 5, 1, NULL), MM_OK);
	assert_int_equal(mm_session_expire(s, T0 + 5), 3);
	/* timed-out sessions make room before any live one is ended */
	assert_int_equal(mm_session_lookup(s, t[0], T0 + 800 * SEC, 1, NULL),
	    MM_OK);
	assert_int_equal(mm_session_create(s, "u4", 1, T0 + 1000 * SEC, t[1],
	    NULL), MM_OK);
	assert_int_equal(mm_session_lookup(s, t[0], T0 + 1000 * SEC, 1, NULL),
	    MM_OK);
	assert_int_equal(mm_session_expire(s, T0 + 1000 * SEC), 2);
	assert_int_equal(mm_session_expire(s, T0 + 2000 * SEC), 0);
	mm_sessions_free(s);
}

/* A session past its absolute time-out goes before the least recently
 * used live one, even when it was used more recently. */
static void
test_full_prefers_expired(void **state)
{
	struct mm_sessions *s = mk(2);
	char x[MM_SESSION_TOKEN_HEX + 1], y[MM_SESSION_TOKEN_HEX + 1];
	char z[MM_SESSION_TOKEN_HEX + 1];
	uint64_t now;

	(void)state;
	assert_int_equal(mm_session_create(s, "x", 1, T0, x, NULL), MM_OK);
	for (now = T0; now <= T0 + 27600 * SEC; now += 600 * SEC)
		assert_int_equal(mm_session_lookup(s, x, now, 1, NULL), MM_OK);
	assert_int_equal(mm_session_create(s, "y", 1, T0 + 28000 * SEC, y,
	    NULL), MM_OK);
	/* x is used after y, so y is the least recently used */
	assert_int_equal(mm_session_lookup(s, x, T0 + 28400 * SEC, 1, NULL),
	    MM_OK);
	now = T0 + 28801 * SEC;
	assert_int_equal(mm_session_create(s, "z", 1, now, z, NULL), MM_OK);
	assert_int_equal(mm_session_lookup(s, y, now, 1, NULL), MM_OK);
	assert_int_equal(mm_session_lookup(s, z, now, 1, NULL), MM_OK);
	assert_int_equal(mm_session_lookup(s, x, now, 1, NULL),
	    MM_ERR_NOT_FOUND);
	mm_sessions_free(s);
}

static void
test_csrf(void **state)
{
	struct mm_sessions *s = mk(0);
	struct mm_session_info li;
	char tok[MM_SESSION_TOKEN_HEX + 1], bad[MM_SESSION_TOKEN_HEX + 2];

	(void)state;
	assert_int_equal(mm_session_create(s, "u", 1, T0, tok, NULL), MM_OK);
	assert_int_equal(mm_session_lookup(s, tok, T0, 1, &li), MM_OK);
	assert_int_equal(mm_session_csrf_ok(&li, li.csrf), 1);
	memcpy(bad, li.csrf, sizeof(li.csrf));
	assert_int_equal(mm_session_csrf_ok(&li, bad), 1);
	bad[63] = bad[63] == '0' ? '1' : '0';
	assert_int_equal(mm_session_csrf_ok(&li, bad), 0);
	bad[63] = '\0';
	assert_int_equal(mm_session_csrf_ok(&li, bad), 0);
	memcpy(bad, li.csrf, sizeof(li.csrf));
	bad[64] = 'a';
	bad[65] = '\0';
	assert_int_equal(mm_session_csrf_ok(&li, bad), 0);
	assert_int_equal(mm_session_csrf_ok(&li, ""), 0);
	assert_int_equal(mm_session_csrf_ok(&li, NULL), 0);
	assert_int_equal(mm_session_csrf_ok(NULL, li.csrf), 0);
	assert_int_equal(mm_session_csrf_ok(&li, tok), 0);
	mm_sessions_free(s);
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
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_create_lookup),
		cmocka_unit_test(test_bad_tokens),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_no_touch),
		cmocka_unit_test(test_absolute),
		cmocka_unit_test(test_end),
		cmocka_unit_test(test_full_evicts_lru),
		cmocka_unit_test(test_full_prefers_expired),
		cmocka_unit_test(test_csrf),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
