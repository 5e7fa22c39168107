/* Unit tests for login throttling (mm_throttle): growing per-source delays,
 * lockout and its expiry, the failure window, the global verification
 * budget and failure-rate delay, bounded table eviction, and the core
 * property that one source under attack does not lock out another. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_throttle.h"

#define T0 1000000ULL		/* a monotonic clock that is not near zero */
#define A "ip:192.0.2.7"
#define B "ip:198.51.100.9"

static struct mm_throttle *
mk(const struct mm_throttle_conf *c)
{
	struct mm_throttle_conf d;
	struct mm_throttle *t = NULL;

	if (c == NULL) {
		mm_throttle_defaults(&d);
		c = &d;
	}
	assert_int_equal(mm_throttle_new(c, &t), MM_OK);
	assert_non_null(t);
	return t;
}

/* n failures from src at now, bypassing the checks; returns lockouts. */
static int
fail_n(struct mm_throttle *t, const char *src, unsigned n, uint64_t now)
{
	int locks = 0;

	while (n-- > 0)
		locks += mm_throttle_failure(t, src, now);
	return locks;
}

static void
test_conf(void **state)
{
	struct mm_throttle_conf c;
	struct mm_throttle *t = (struct mm_throttle *)0x1;

	(void)state;
	mm_throttle_defaults(&c);
	assert_int_equal(c.free_failures, 3);
	assert_int_equal(c.lockout_after, 10);
	assert_int_equal(c.max_sources, 4096);
	c.lockout_after = 0;
	assert_int_equal(mm_throttle_new(&c, &t), MM_ERR_INVALID_ARG);
	mm_throttle_defaults(&c);
	c.verify_per_s = 0;
	assert_int_equal(mm_throttle_new(&c, &t), MM_ERR_INVALID_ARG);
	mm_throttle_defaults(&c);
	c.max_sources = 0;
	assert_int_equal(mm_throttle_new(&c, &t), MM_ERR_INVALID_ARG);
	c.max_sources = ((size_t)1 << 20) + 1;
	assert_int_equal(mm_throttle_new(&c, &t), MM_ERR_INVALID_ARG);
	assert_ptr_equal(t, (struct mm_throttle *)0x1);
	mm_throttle_free(NULL);
}

static void
test_delays(void **state)
{
	struct mm_throttle *t = mk(NULL);
	static const uint64_t want[] = { 1000, 2000, 4000, 8000, 16000, 32000 };
	uint64_t now = T0, retry = 99;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(mm_throttle_check(t, A, now, &retry),
		    MM_THROTTLE_GO);
		assert_int_equal(retry, 0);
		assert_int_equal(mm_throttle_failure(t, A, now), 0);
	}
	assert_int_equal(mm_throttle_failures(t, A, now), 3);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(mm_throttle_check(t, A, now, &retry),
		    MM_THROTTLE_GO);
		assert_int_equal(mm_throttle_failure(t, A, now), 0);
		assert_int_equal(mm_throttle_check(t, A, now, &retry),
		    MM_THROTTLE_WAIT);
		assert_int_equal(retry, want[i]);
		assert_int_equal(mm_throttle_check(t, A, now + want[i] - 1,
		    &retry), MM_THROTTLE_WAIT);
		assert_int_equal(retry, 1);
		now += want[i];
	}
	assert_int_equal(mm_throttle_failures(t, A, now), 9);
	mm_throttle_free(t);
}

static void
test_max_delay(void **state)
{
	struct mm_throttle_conf c;
	struct mm_throttle *t;
	uint64_t retry;

	(void)state;
	mm_throttle_defaults(&c);
	c.lockout_after = 100;
	c.max_delay_ms = 5000;
	t = mk(&c);
	assert_int_equal(fail_n(t, A, 6, T0), 0);	/* 1, 2, 4 s */
	assert_int_equal(mm_throttle_check(t, A, T0, &retry), MM_THROTTLE_WAIT);
	assert_int_equal(retry, 4000);
	assert_int_equal(fail_n(t, A, 1, T0), 0);	/* 8 s, capped */
	assert_int_equal(mm_throttle_check(t, A, T0, &retry), MM_THROTTLE_WAIT);
	assert_int_equal(retry, 5000);
	assert_int_equal(fail_n(t, A, 80, T0), 0);	/* no overflow */
	assert_int_equal(mm_throttle_check(t, A, T0, &retry), MM_THROTTLE_WAIT);
	assert_int_equal(retry, 5000);
	mm_throttle_free(t);
}

static void
test_lockout(void **state)
{
	struct mm_throttle *t = mk(NULL);
	struct mm_throttle_stats st;
	uint64_t retry;

	(void)state;
	assert_int_equal(fail_n(t, A, 9, T0), 0);
	assert_int_equal(mm_throttle_failure(t, A, T0), 1);	/* the 10th */
	assert_int_equal(mm_throttle_check(t, A, T0, &retry),
	    MM_THROTTLE_LOCKED);
	assert_int_equal(retry, 900 * 1000);
	assert_int_equal(mm_throttle_check(t, A, T0 + 1000, &retry),
	    MM_THROTTLE_LOCKED);
	assert_int_equal(retry, 899 * 1000);
	/* further failures neither restart nor extend the lock */
	assert_int_equal(mm_throttle_failure(t, A, T0 + 1000), 0);
	assert_int_equal(mm_throttle_check(t, A, T0 + 1000, &retry),
	    MM_THROTTLE_LOCKED);
	assert_int_equal(retry, 899 * 1000);
	mm_throttle_stats(t, T0 + 1000, &st);
	assert_int_equal(st.lockouts, 1);
	assert_int_equal(st.locked, 1);
	assert_int_equal(st.sources, 1);
	assert_int_equal(st.failures, 11);
	assert_int_equal(st.refused, 3);
	assert_int_equal(mm_throttle_failures(t, A, T0 + 1000), 10);

	/* expiry: the source starts fresh with three free failures */
	mm_throttle_stats(t, T0 + 900 * 1000, &st);
	assert_int_equal(st.locked, 0);
	assert_int_equal(mm_throttle_failures(t, A, T0 + 900 * 1000), 0);
	assert_int_equal(mm_throttle_check(t, A, T0 + 900 * 1000, &retry),
	    MM_THROTTLE_GO);
	assert_int_equal(fail_n(t, A, 3, T0 + 900 * 1000), 0);
	assert_int_equal(mm_throttle_check(t, A, T0 + 900 * 1000, &retry),
	    MM_THROTTLE_GO);
	assert_int_equal(mm_throttle_failures(t, A, T0 + 900 * 1000), 3);
	mm_throttle_free(t);
}

static void
test_window(void **state)
{
	struct mm_throttle *t = mk(NULL);
	uint64_t retry, now = T0;

	(void)state;
	assert_int_equal(fail_n(t, A, 5, now), 0);
	assert_int_equal(mm_throttle_failures(t, A, now + 900 * 1000), 5);
	now += 900 * 1000 + 1;
	assert_int_equal(mm_throttle_failures(t, A, now), 0);
	assert_int_equal(mm_throttle_check(t, A, now, &retry), MM_THROTTLE_GO);
	/* counting restarts: 9 more do not lock, only 10 would */
	assert_int_equal(fail_n(t, A, 9, now), 0);
	assert_int_equal(mm_throttle_failures(t, A, now), 9);
	assert_int_equal(mm_throttle_failure(t, A, now), 1);
	mm_throttle_free(t);
}

static void
test_success_clears(void **state)
{
	struct mm_throttle *t = mk(NULL);
	struct mm_throttle_stats st;
	uint64_t retry;

	(void)state;
	assert_int_equal(fail_n(t, A, 5, T0), 0);
	assert_int_equal(mm_throttle_check(t, A, T0, &retry), MM_THROTTLE_WAIT);
	mm_throttle_success(t, A, T0);
	assert_int_equal(mm_throttle_failures(t, A, T0), 0);
	assert_int_equal(mm_throttle_check(t, A, T0, &retry), MM_THROTTLE_GO);
	mm_throttle_stats(t, T0, &st);
	assert_int_equal(st.sources, 0);
	mm_throttle_success(t, "ip:unknown", T0);	/* harmless */
	mm_throttle_free(t);
}

/* The core property: an attacker locked out does not lock out the owner. */
static void
test_other_source_goes(void **state)
{
	struct mm_throttle *t = mk(NULL);
	uint64_t retry;

	(void)state;
	assert_int_equal(fail_n(t, A, 10, T0), 1);
	assert_int_equal(mm_throttle_check(t, A, T0, &retry),
	    MM_THROTTLE_LOCKED);
	assert_int_equal(mm_throttle_check(t, B, T0, &retry), MM_THROTTLE_GO);
	assert_int_equal(mm_throttle_failures(t, B, T0), 0);
	mm_throttle_success(t, B, T0);
	assert_int_equal(mm_throttle_check(t, A, T0, &retry),
	    MM_THROTTLE_LOCKED);
	mm_throttle_free(t);
}

static void
test_global_budget(void **state)
{
	struct mm_throttle *t = mk(NULL);
	char src[32];
	uint64_t retry;
	int i;

	(void)state;
	for (i = 0; i < 20; i++) {
		snprintf(src, sizeof(src), "ip:10.0.0.%d", i);
		assert_int_equal(mm_throttle_check(t, src, T0 + 500, &retry),
		    MM_THROTTLE_GO);
	}
	assert_int_equal(mm_throttle_check(t, B, T0 + 500, &retry),
	    MM_THROTTLE_BUSY);
	assert_int_equal(retry, 50);
	assert_int_equal(mm_throttle_check(t, B, T0 + 549, &retry),
	    MM_THROTTLE_BUSY);
	assert_int_equal(retry, 1);
	assert_int_equal(mm_throttle_check(t, B, T0 + 550, &retry),
	    MM_THROTTLE_GO);
	assert_int_equal(mm_throttle_check(t, B, T0 + 550, &retry),
	    MM_THROTTLE_BUSY);
	/* next second: the whole budget again, and no more */
	for (i = 0; i < 20; i++)
		assert_int_equal(mm_throttle_check(t, B, T0 + 1550, &retry),
		    MM_THROTTLE_GO);
	assert_int_equal(mm_throttle_check(t, B, T0 + 1550, &retry),
	    MM_THROTTLE_BUSY);
	mm_throttle_free(t);
}

static void
test_global_delay(void **state)
{
	struct mm_throttle_conf c;
	struct mm_throttle *t;
	uint64_t retry, now = T0;
	char src[32];
	int i;

	(void)state;
	mm_throttle_defaults(&c);
	c.global_failures = 5;
	c.verify_per_s = 1000;
	t = mk(&c);
	/* five failures from five sources: at the limit, not above it */
	for (i = 0; i < 5; i++) {
		snprintf(src, sizeof(src), "ip:10.0.0.%d", i);
		assert_int_equal(mm_throttle_failure(t, src, now), 0);
	}
	assert_int_equal(mm_throttle_check(t, "ip:10.0.0.0", now, &retry),
	    MM_THROTTLE_GO);
	assert_int_equal(mm_throttle_failure(t, "ip:10.0.0.9", now), 0);
	/* now above: a source that just tried must wait global_delay_ms */
	assert_int_equal(mm_throttle_check(t, "ip:10.0.0.1", now + 500,
	    &retry), MM_THROTTLE_WAIT);
	assert_int_equal(retry, 1500);
	assert_int_equal(mm_throttle_check(t, "ip:10.0.0.1", now + 2000,
	    &retry), MM_THROTTLE_GO);
	assert_int_equal(mm_throttle_check(t, "ip:10.0.0.1", now + 2001,
	    &retry), MM_THROTTLE_WAIT);
	assert_int_equal(retry, 1999);
	/* a source never seen has no previous attempt */
	assert_int_equal(mm_throttle_check(t, B, now + 2001, &retry),
	    MM_THROTTLE_GO);
	/* a minute later the rate has fallen and the delay is gone */
	now += 61 * 1000;
	assert_int_equal(mm_throttle_check(t, "ip:10.0.0.1", now, &retry),
	    MM_THROTTLE_GO);
	assert_int_equal(mm_throttle_check(t, "ip:10.0.0.1", now, &retry),
	    MM_THROTTLE_GO);
	mm_throttle_free(t);
}

static void
test_eviction(void **state)
{
	struct mm_throttle_conf c;
	struct mm_throttle *t;
	struct mm_throttle_stats st;
	uint64_t retry;

	(void)state;
	mm_throttle_defaults(&c);
	c.max_sources = 4;
	t = mk(&c);
	assert_int_equal(fail_n(t, "s1", 10, T0), 1);		/* locked */
	assert_int_equal(fail_n(t, "s2", 2, T0 + 1), 0);
	assert_int_equal(fail_n(t, "s3", 2, T0 + 2), 0);
	assert_int_equal(fail_n(t, "s4", 2, T0 + 3), 0);
	/* seeing s2 again makes s3 the least recently seen */
	assert_int_equal(mm_throttle_check(t, "s2", T0 + 4, &retry),
	    MM_THROTTLE_GO);
	assert_int_equal(fail_n(t, "s5", 1, T0 + 5), 0);
	mm_throttle_stats(t, T0 + 5, &st);
	assert_int_equal(st.sources, 4);
	assert_int_equal(st.evicted, 0);
	assert_int_equal(mm_throttle_failures(t, "s3", T0 + 5), 0);
	assert_int_equal(mm_throttle_failures(t, "s2", T0 + 5), 2);
	assert_int_equal(mm_throttle_failures(t, "s4", T0 + 5), 2);
	assert_int_equal(mm_throttle_failures(t, "s5", T0 + 5), 1);
	assert_int_equal(mm_throttle_check(t, "s1", T0 + 5, &retry),
	    MM_THROTTLE_LOCKED);

	/* every entry locked: the oldest lock goes, and is counted */
	assert_int_equal(fail_n(t, "s2", 8, T0 + 6), 1);
	assert_int_equal(fail_n(t, "s4", 8, T0 + 7), 1);
	assert_int_equal(fail_n(t, "s5", 9, T0 + 8), 1);
	mm_throttle_stats(t, T0 + 8, &st);
	assert_int_equal(st.locked, 4);
	assert_int_equal(fail_n(t, "s6", 1, T0 + 9), 0);
	mm_throttle_stats(t, T0 + 9, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.sources, 4);
	assert_int_equal(st.locked, 3);
	assert_int_equal(mm_throttle_check(t, "s1", T0 + 9, &retry),
	    MM_THROTTLE_GO);
	assert_int_equal(mm_throttle_check(t, "s2", T0 + 9, &retry),
	    MM_THROTTLE_LOCKED);
	/* an expired lock is forgotten before an unlocked entry */
	assert_int_equal(fail_n(t, "s7", 1, T0 + 6 + 900 * 1000), 0);
	mm_throttle_stats(t, T0 + 6 + 900 * 1000, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(mm_throttle_failures(t, "s6", T0 + 6 + 900 * 1000),
	    1);
	mm_throttle_free(t);
}

/* Many sources through a small table: the index stays consistent. */
static void
test_churn(void **state)
{
	struct mm_throttle_conf c;
	struct mm_throttle *t;
	struct mm_throttle_stats st;
	char src[32];
	unsigned i, j;

	(void)state;
	mm_throttle_defaults(&c);
	c.max_sources = 16;
	t = mk(&c);
	for (i = 0; i < 5000; i++) {
		snprintf(src, sizeof(src), "ip:10.%u.%u", i % 41, i);
		assert_int_equal(mm_throttle_failure(t, src, T0 + i), 0);
		if (i % 3 == 0)
			mm_throttle_success(t, src, T0 + i);
		mm_throttle_stats(t, T0 + i, &st);
		assert_true(st.sources <= 16);
	}
	/* the 16 most recent survivors are all still found */
	for (i = 4999, j = 0; j < 10; i--) {
		if (i % 3 == 0)
			continue;
		snprintf(src, sizeof(src), "ip:10.%u.%u", i % 41, i);
		assert_int_equal(mm_throttle_failures(t, src, T0 + 5000), 1);
		j++;
	}
	mm_throttle_free(t);
}

static void
test_truncation(void **state)
{
	struct mm_throttle *t = mk(NULL);
	char a[200], b[200];
	uint64_t retry;

	(void)state;
	memset(a, 'x', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memcpy(b, a, sizeof(b));
	b[100] = 'y';		/* differs only after the first 63 bytes */
	assert_int_equal(fail_n(t, a, 10, T0), 1);
	assert_int_equal(mm_throttle_check(t, b, T0, &retry),
	    MM_THROTTLE_LOCKED);
	a[MM_THROTTLE_SRC_MAX] = '\0';
	assert_int_equal(mm_throttle_failures(t, a, T0), 10);
	a[MM_THROTTLE_SRC_MAX - 1] = '\0';
	assert_int_equal(mm_throttle_failures(t, a, T0), 0);
	assert_int_equal(mm_throttle_check(t, a, T0, &retry), MM_THROTTLE_GO);
	mm_throttle_free(t);
}

/* 10,000 attempts from one source, 10 ms apart: returns how many were
 * verified (GO); the source must end locked and another still go. */
static unsigned
attack(const struct mm_throttle_conf *c, unsigned *locked_at)
{
	struct mm_throttle *t = mk(c);
	struct mm_throttle_stats st;
	enum mm_throttle_verdict v = MM_THROTTLE_GO;
	uint64_t retry, now = T0;
	unsigned go = 0, i;

	*locked_at = 0;
	for (i = 0; i < 10000; i++, now += 10) {
		v = mm_throttle_check(t, A, now, &retry);
		if (v == MM_THROTTLE_GO) {
			go++;
			(void)mm_throttle_failure(t, A, now);
		} else
			assert_true(retry > 0);
		if (v == MM_THROTTLE_LOCKED && *locked_at == 0)
			*locked_at = i + 1;
	}
	assert_int_equal(v, MM_THROTTLE_LOCKED);
	mm_throttle_stats(t, now, &st);
	assert_int_equal(st.failures, go);
	assert_int_equal(st.refused, 10000 - go);
	assert_int_equal(st.lockouts, 1);
	assert_int_equal(mm_throttle_check(t, B, now, &retry), MM_THROTTLE_GO);
	mm_throttle_free(t);
	return go;
}

/* A script that ignores "wait" is locked after impatient_after refusals:
 * 3 free failures, the 4th sets a 1 s delay, 20 refusals later it is
 * locked.  One that waits as told reaches the lockout after 10. */
static void
test_attack(void **state)
{
	struct mm_throttle_conf c;
	unsigned at;

	(void)state;
	mm_throttle_defaults(&c);
	assert_int_equal(attack(&c, &at), 4);
	assert_int_equal(at, 4 + 20);
	c.impatient_after = 0;
	assert_int_equal(attack(&c, &at), 10);
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
		cmocka_unit_test(test_delays),
		cmocka_unit_test(test_max_delay),
		cmocka_unit_test(test_lockout),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_success_clears),
		cmocka_unit_test(test_other_source_goes),
		cmocka_unit_test(test_global_budget),
		cmocka_unit_test(test_global_delay),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_attack),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
