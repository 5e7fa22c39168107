/*
 * mm_throttle.h - brute-force defence for local logins (KP4.c).
 *
 * Per source: the first free_failures failures cost nothing; after that a
 * "not before" time doubles with each failure (base_delay_ms, 2x, 4x ...
 * up to max_delay_ms); after lockout_after failures within window_s the
 * source is locked for lockout_s.  Globally: at most verify_per_s password
 * verifications per second (a token bucket), and once failures from all
 * sources exceed global_failures in one minute every source must wait at
 * least global_delay_ms between attempts.  A source that keeps coming back
 * while told to wait is locked at once after impatient_after such
 * refusals: a person retries a few times, a script thousands.
 * Refusing costs no hashing, so an
 * attack from one source does not keep another from logging in.
 *
 * Sources are opaque strings (e.g. "ip:192.0.2.7", "local:uid=0") of at
 * most MM_THROTTLE_SRC_MAX bytes.  The table is bounded (max_sources): when
 * full, the least recently seen unlocked entry is forgotten; if every entry
 * is locked, the oldest lock is forgotten and counted in stats.evicted.
 * All times are caller-supplied milliseconds of a monotonic clock.
 */
#ifndef MM_THROTTLE_H
#define MM_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#define MM_THROTTLE_SRC_MAX 63

struct mm_throttle_conf {
	unsigned free_failures;		/* default 3 */
	unsigned base_delay_ms;		/* default 1000 */
	unsigned max_delay_ms;		/* default 60000 */
	unsigned lockout_after;		/* default 10 */
	unsigned lockout_s;		/* default 900 */
	unsigned window_s;		/* failures older than this forgotten; default 900 */
	unsigned verify_per_s;		/* global verification budget; default 20 */
	unsigned global_failures;	/* per minute, default 100 */
	unsigned global_delay_ms;	/* default 2000 */
	size_t max_sources;		/* default 4096 */
	unsigned impatient_after;	/* lock a source refused this many times
					 * for coming back before its delay ran
					 * out; 0 = never; default 20 */
};

enum mm_throttle_verdict {
	MM_THROTTLE_GO = 0,	/* verify the password now */
	MM_THROTTLE_WAIT,	/* this source must wait (growing delay) */
	MM_THROTTLE_LOCKED,	/* this source is locked out */
	MM_THROTTLE_BUSY	/* global budget spent: anyone must wait */
};

struct mm_throttle_stats {
	uint64_t failures;	/* verified and wrong */
	uint64_t refused;	/* attempts refused without verifying */
	uint64_t lockouts;	/* lockouts started */
	uint64_t evicted;	/* locked entries forgotten for room */
	size_t sources;		/* entries in the table now */
	size_t locked;		/* of which locked now */
};

struct mm_throttle;

void mm_throttle_defaults(struct mm_throttle_conf *c);
/* Allocates the whole table now; no later call allocates.
 * MM_ERR_INVALID_ARG for zero lockout_after, max_sources or verify_per_s,
 * or max_sources above 2^20; MM_ERR_ALLOC. */
int mm_throttle_new(const struct mm_throttle_conf *c, struct mm_throttle **out);
void mm_throttle_free(struct mm_throttle *t);

/*
 * Asks whether source may have a password verified now.  On GO one unit of
 * the global budget is taken.  Otherwise *retry_ms (if not NULL) is how long
 * until it may try again, and the refusal is counted.  A source longer than
 * MM_THROTTLE_SRC_MAX is cut (callers pass short ones).
 */
enum mm_throttle_verdict mm_throttle_check(struct mm_throttle *t,
    const char *source, uint64_t now_ms, uint64_t *retry_ms);
/* Records a failed verification; returns 1 if this failure started a
 * lockout, else 0. */
int mm_throttle_failure(struct mm_throttle *t, const char *source,
    uint64_t now_ms);
/* Records a success: the source's failures are forgotten. */
void mm_throttle_success(struct mm_throttle *t, const char *source,
    uint64_t now_ms);
/* Failures recorded against source within the window (0 if unknown). */
unsigned mm_throttle_failures(const struct mm_throttle *t, const char *source,
    uint64_t now_ms);
void mm_throttle_stats(const struct mm_throttle *t, uint64_t now_ms,
    struct mm_throttle_stats *out);

#endif
