/*
 * mm_throttle.c - per-source and global login throttling (KP4.c).
 *
 * Sources live in a fixed pool allocated once by mm_throttle_new; an
 * open-addressing index (linear probing, backward-shift deletion, at most
 * half full) finds them by a keyed SipHash of the source, so an attacker
 * who picks source strings cannot aim for collisions.  Two intrusive lists
 * order the pool for eviction: unlocked entries by last sight, locked ones
 * by lock start.  No attempt allocates.
 */
#include <limits.h>
#include <string.h>

#include <sodium.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_throttle.h"

#define MM_TH_NIL		UINT32_MAX
#define MM_TH_SOURCES_MAX	((size_t)1 << 20)
#define MM_TH_BUCKETS		60	/* one-second buckets: the last minute */
#define MM_TH_UNIT		1000	/* milli-tokens per verification */

struct mm_th_entry {
	char src[MM_THROTTLE_SRC_MAX + 1];
	uint64_t hash;
	uint64_t last_failure_ms;
	uint64_t not_before_ms;
	uint64_t locked_until_ms;
	uint64_t last_attempt_ms;	/* last GO or failure */
	unsigned failures;		/* within the window */
	unsigned waits;			/* refused for coming too soon */
	uint32_t prev, next;		/* in lru, locked or the free list */
	uint8_t locked;
	uint8_t attempted;		/* last_attempt_ms is set */
};

struct mm_th_list {
	uint32_t head, tail;
	size_t n;
};

struct mm_throttle {
	struct mm_throttle_conf c;
	uint8_t key[crypto_shorthash_KEYBYTES];
	struct mm_th_entry *e;		/* c.max_sources entries */
	uint32_t *slot;			/* index: entry number or MM_TH_NIL */
	size_t mask;			/* slots - 1 (a power of two) */
	uint32_t free_head;
	struct mm_th_list lru;		/* unlocked, least recently seen first */
	struct mm_th_list locked;	/* locked, oldest lock first */
	uint64_t tokens;		/* global budget in milli-tokens */
	uint64_t refill_ms;
	uint32_t fail_count[MM_TH_BUCKETS];
	uint64_t fail_sec[MM_TH_BUCKETS];
	uint64_t n_failures, n_refused, n_lockouts, n_evicted;
};

static uint64_t
mm_th_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* The source as stored: cut to MM_THROTTLE_SRC_MAX; NULL is "". */
static void
mm_th_name(char out[MM_THROTTLE_SRC_MAX + 1], const char *source)
{
	size_t n = 0;

	if (source != NULL) {
		n = strnlen(source, MM_THROTTLE_SRC_MAX);
		memcpy(out, source, n);
	}
	out[n] = '\0';
}

static uint64_t
mm_th_hash(const struct mm_throttle *t, const char *src)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const uint8_t *)src, strlen(src), t->key);
	memcpy(&v, h, sizeof(v));
	return v;
}

/* Entry number of src or MM_TH_NIL; *slotp is its slot or the empty slot
 * where it would go.  Terminates: the index is never more than half full. */
static uint32_t
mm_th_find(const struct mm_throttle *t, const char *src, uint64_t h,
    size_t *slotp)
{
	size_t i = (size_t)h & t->mask;
	uint32_t ix;

	for (;; i = (i + 1) & t->mask) {
		ix = t->slot[i];
		if (ix == MM_TH_NIL ||
		    (t->e[ix].hash == h && strcmp(t->e[ix].src, src) == 0))
			break;
	}
	*slotp = i;
	return ix;
}

static void
mm_th_unlink(struct mm_throttle *t, struct mm_th_list *l, uint32_t ix)
{
	struct mm_th_entry *e = &t->e[ix];

	if (e->prev != MM_TH_NIL)
		t->e[e->prev].next = e->next;
	else
		l->head = e->next;
	if (e->next != MM_TH_NIL)
		t->e[e->next].prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = MM_TH_NIL;
	l->n--;
}

static void
mm_th_append(struct mm_throttle *t, struct mm_th_list *l, uint32_t ix)
{
	struct mm_th_entry *e = &t->e[ix];

	e->prev = l->tail;
	e->next = MM_TH_NIL;
	if (l->tail != MM_TH_NIL)
		t->e[l->tail].next = ix;
	else
		l->head = ix;
	l->tail = ix;
	l->n++;
}

static struct mm_th_list *
mm_th_list_of(struct mm_throttle *t, uint32_t ix)
{
	return t->e[ix].locked ? &t->locked : &t->lru;
}

/* Forgets entry ix: index slot (backward shift), list, pool. */
static void
mm_th_remove(struct mm_throttle *t, uint32_t ix)
{
	size_t i, j, home;

	for (i = (size_t)t->e[ix].hash & t->mask; t->slot[i] != ix;
	    i = (i + 1) & t->mask)
		;
	for (j = (i + 1) & t->mask; t->slot[j] != MM_TH_NIL;
	    j = (j + 1) & t->mask) {
		home = (size_t)t->e[t->slot[j]].hash & t->mask;
		/* Move slot j into the hole at i unless its home lies
		 * cyclically in (i, j]. */
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i] = MM_TH_NIL;
	mm_th_unlink(t, mm_th_list_of(t, ix), ix);
	memset(&t->e[ix], 0, sizeof(t->e[ix]));
	t->e[ix].prev = MM_TH_NIL;
	t->e[ix].next = t->free_head;
	t->free_head = ix;
}

/*
 * Makes room for one entry.  An entry whose lock has run out holds nothing
 * worth keeping (it would start fresh), so it goes first; then the least
 * recently seen unlocked entry; only then the oldest lock, counted.
 */
static void
mm_th_evict(struct mm_throttle *t, uint64_t now_ms)
{
	uint32_t ix = t->locked.head;

	if (ix != MM_TH_NIL && now_ms >= t->e[ix].locked_until_ms) {
		mm_th_remove(t, ix);
		return;
	}
	if (t->lru.head != MM_TH_NIL) {
		mm_th_remove(t, t->lru.head);
		return;
	}
	t->n_evicted++;
	mm_th_remove(t, ix);
}

static uint32_t
mm_th_insert(struct mm_throttle *t, const char *src, uint64_t h,
    uint64_t now_ms)
{
	struct mm_th_entry *e;
	uint32_t ix;
	size_t slot;

	if (t->free_head == MM_TH_NIL)
		mm_th_evict(t, now_ms);
	/* Found after evicting: the backward shift may move the empty slot. */
	(void)mm_th_find(t, src, h, &slot);
	ix = t->free_head;
	e = &t->e[ix];
	t->free_head = e->next;
	memset(e, 0, sizeof(*e));
	memcpy(e->src, src, strlen(src) + 1);
	e->hash = h;
	t->slot[slot] = ix;
	mm_th_append(t, &t->lru, ix);
	return ix;
}

/* Applies lock expiry and the failure window to entry ix. */
static void
mm_th_age(struct mm_throttle *t, uint32_t ix, uint64_t now_ms)
{
	struct mm_th_entry *e = &t->e[ix];

	if (e->locked) {
		if (now_ms < e->locked_until_ms)
			return;
		mm_th_unlink(t, &t->locked, ix);
		e->locked = 0;
		e->locked_until_ms = 0;
		e->failures = e->waits = 0;
		e->not_before_ms = 0;
		mm_th_append(t, &t->lru, ix);
		return;
	}
	if (e->failures > 0 && mm_th_sub(now_ms, e->last_failure_ms) >
	    (uint64_t)t->c.window_s * 1000) {
		e->failures = e->waits = 0;
		e->not_before_ms = 0;
	}
}

/* Marks an unlocked entry as the most recently seen. */
static void
mm_th_seen(struct mm_throttle *t, uint32_t ix)
{
	if (t->e[ix].locked || t->lru.tail == ix)
		return;
	mm_th_unlink(t, &t->lru, ix);
	mm_th_append(t, &t->lru, ix);
}

static void
mm_th_refill(struct mm_throttle *t, uint64_t now_ms)
{
	uint64_t cap = (uint64_t)t->c.verify_per_s * MM_TH_UNIT, el;

	if (now_ms <= t->refill_ms)
		return;
	el = now_ms - t->refill_ms;
	t->refill_ms = now_ms;
	if (el >= 1000)
		t->tokens = cap;
	else {
		t->tokens += el * t->c.verify_per_s;
		if (t->tokens > cap)
			t->tokens = cap;
	}
}

static void
mm_th_count_failure(struct mm_throttle *t, uint64_t now_ms)
{
	uint64_t sec = now_ms / 1000;
	size_t i = (size_t)(sec % MM_TH_BUCKETS);

	if (t->fail_sec[i] != sec) {
		t->fail_sec[i] = sec;
		t->fail_count[i] = 0;
	}
	if (t->fail_count[i] < UINT32_MAX)
		t->fail_count[i]++;
}

/* Failures from all sources in this second and the 59 before. */
static uint64_t
mm_th_recent_failures(const struct mm_throttle *t, uint64_t now_ms)
{
	uint64_t sec = now_ms / 1000, sum = 0;
	size_t i;

	for (i = 0; i < MM_TH_BUCKETS; i++)
		if (t->fail_sec[i] <= sec &&
		    t->fail_sec[i] + MM_TH_BUCKETS > sec)
			sum += t->fail_count[i];
	return sum;
}

void
mm_throttle_defaults(struct mm_throttle_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->free_failures = 3;
	c->base_delay_ms = 1000;
	c->max_delay_ms = 60000;
	c->lockout_after = 10;
	c->lockout_s = 900;
	c->window_s = 900;
	c->verify_per_s = 20;
	c->global_failures = 100;
	c->global_delay_ms = 2000;
	c->max_sources = 4096;
	c->impatient_after = 20;
}

int
mm_throttle_new(const struct mm_throttle_conf *c, struct mm_throttle **out)
{
	struct mm_throttle *t = NULL;
	size_t i, nslots;
	int r = MM_ERR_ALLOC;

	if (c == NULL || out == NULL || c->lockout_after == 0 ||
	    c->max_sources == 0 || c->max_sources > MM_TH_SOURCES_MAX ||
	    c->verify_per_s == 0)
		return MM_ERR_INVALID_ARG;
	for (nslots = 2; nslots < 2 * c->max_sources; nslots *= 2)
		;
	if ((t = mm_calloc(1, sizeof(*t))) == NULL ||
	    (t->e = mm_calloc(c->max_sources, sizeof(*t->e))) == NULL ||
	    (t->slot = mm_calloc(nslots, sizeof(*t->slot))) == NULL)
		goto out;
	t->c = *c;
	t->mask = nslots - 1;
	for (i = 0; i < nslots; i++)
		t->slot[i] = MM_TH_NIL;
	for (i = 0; i < c->max_sources; i++) {
		t->e[i].prev = MM_TH_NIL;
		t->e[i].next = i + 1 < c->max_sources ? (uint32_t)(i + 1) :
		    MM_TH_NIL;
	}
	t->free_head = 0;
	t->lru.head = t->lru.tail = MM_TH_NIL;
	t->locked.head = t->locked.tail = MM_TH_NIL;
	t->tokens = (uint64_t)c->verify_per_s * MM_TH_UNIT;
	mm_random(t->key, sizeof(t->key));
	*out = t;
	t = NULL;
	r = MM_OK;
 out:
	mm_throttle_free(t);
	return r;
}

void
mm_throttle_free(struct mm_throttle *t)
{
	if (t == NULL)
		return;
	mm_free(t->e);
	mm_free(t->slot);
	mm_freezero(t, sizeof(*t));
}

/* Starts the lockout of unlocked entry ix. */
static void
mm_th_lock(struct mm_throttle *t, uint32_t ix, uint64_t now_ms)
{
	struct mm_th_entry *e = &t->e[ix];

	mm_th_unlink(t, &t->lru, ix);
	e->locked = 1;
	e->locked_until_ms = now_ms + (uint64_t)t->c.lockout_s * 1000;
	e->not_before_ms = 0;
	e->waits = 0;
	mm_th_append(t, &t->locked, ix);
	t->n_lockouts++;
}

enum mm_throttle_verdict
mm_throttle_check(struct mm_throttle *t, const char *source, uint64_t now_ms,
    uint64_t *retry_ms)
{
	char src[MM_THROTTLE_SRC_MAX + 1];
	struct mm_th_entry *e = NULL;
	enum mm_throttle_verdict v;
	uint64_t h, wait;
	uint32_t ix;
	size_t slot;

	mm_th_name(src, source);
	h = mm_th_hash(t, src);
	if ((ix = mm_th_find(t, src, h, &slot)) != MM_TH_NIL) {
		mm_th_age(t, ix, now_ms);
		mm_th_seen(t, ix);
		e = &t->e[ix];
	}
	if (e != NULL && e->locked) {
		v = MM_THROTTLE_LOCKED;
		wait = e->locked_until_ms - now_ms;
		goto refuse;
	}
	if (e != NULL && now_ms < e->not_before_ms) {
		/* told to wait and came back anyway, again and again: no person
		 * at a login form does that */
		if (t->c.impatient_after != 0 && ++e->waits >= t->c.impatient_after) {
			mm_th_lock(t, ix, now_ms);
			v = MM_THROTTLE_LOCKED;
			wait = e->locked_until_ms - now_ms;
			goto refuse;
		}
		v = MM_THROTTLE_WAIT;
		wait = e->not_before_ms - now_ms;
		goto refuse;
	}
	if (e != NULL && e->attempted &&
	    now_ms < e->last_attempt_ms + t->c.global_delay_ms &&
	    mm_th_recent_failures(t, now_ms) > t->c.global_failures) {
		v = MM_THROTTLE_WAIT;
		wait = e->last_attempt_ms + t->c.global_delay_ms - now_ms;
		goto refuse;
	}
	mm_th_refill(t, now_ms);
	if (t->tokens < MM_TH_UNIT) {
		v = MM_THROTTLE_BUSY;
		wait = (MM_TH_UNIT - t->tokens + t->c.verify_per_s - 1) /
		    t->c.verify_per_s;
		goto refuse;
	}
	t->tokens -= MM_TH_UNIT;
	if (e != NULL) {
		e->last_attempt_ms = now_ms;
		e->attempted = 1;
	}
	if (retry_ms != NULL)
		*retry_ms = 0;
	return MM_THROTTLE_GO;
 refuse:
	t->n_refused++;
	if (retry_ms != NULL)
		*retry_ms = wait;
	return v;
}

int
mm_throttle_failure(struct mm_throttle *t, const char *source, uint64_t now_ms)
{
	char src[MM_THROTTLE_SRC_MAX + 1];
	struct mm_th_entry *e;
	uint64_t h, delay;
	unsigned k;
	uint32_t ix;
	size_t slot;

	t->n_failures++;
	mm_th_count_failure(t, now_ms);
	mm_th_name(src, source);
	h = mm_th_hash(t, src);
	if ((ix = mm_th_find(t, src, h, &slot)) == MM_TH_NIL)
		ix = mm_th_insert(t, src, h, now_ms);
	else
		mm_th_age(t, ix, now_ms);
	e = &t->e[ix];
	e->last_attempt_ms = now_ms;
	e->attempted = 1;
	if (e->locked)
		return 0;	/* verified despite the lock: already counted */
	mm_th_seen(t, ix);
	if (e->failures < UINT_MAX)
		e->failures++;
	e->last_failure_ms = now_ms;
	if (e->failures >= t->c.lockout_after) {
		mm_th_lock(t, ix, now_ms);
		return 1;
	}
	if (e->failures > t->c.free_failures) {
		/* base * 2^k, capped; at most ~33 doublings reach any cap */
		k = e->failures - t->c.free_failures - 1;
		delay = t->c.base_delay_ms;
		while (k-- > 0 && delay != 0 && delay < t->c.max_delay_ms)
			delay *= 2;
		if (delay > t->c.max_delay_ms)
			delay = t->c.max_delay_ms;
		e->not_before_ms = now_ms + delay;
	}
	return 0;
}

void
mm_throttle_success(struct mm_throttle *t, const char *source, uint64_t now_ms)
{
	char src[MM_THROTTLE_SRC_MAX + 1];
	uint32_t ix;
	size_t slot;

	(void)now_ms;
	mm_th_name(src, source);
	if ((ix = mm_th_find(t, src, mm_th_hash(t, src), &slot)) != MM_TH_NIL)
		mm_th_remove(t, ix);
}

unsigned
mm_throttle_failures(const struct mm_throttle *t, const char *source,
    uint64_t now_ms)
{
	char src[MM_THROTTLE_SRC_MAX + 1];
	const struct mm_th_entry *e;
	uint32_t ix;
	size_t slot;

	mm_th_name(src, source);
	if ((ix = mm_th_find(t, src, mm_th_hash(t, src), &slot)) == MM_TH_NIL)
		return 0;
	e = &t->e[ix];
	if (e->locked)
		return now_ms < e->locked_until_ms ? e->failures : 0;
	if (mm_th_sub(now_ms, e->last_failure_ms) >
	    (uint64_t)t->c.window_s * 1000)
		return 0;
	return e->failures;
}

void
mm_throttle_stats(const struct mm_throttle *t, uint64_t now_ms,
    struct mm_throttle_stats *out)
{
	uint32_t ix;
	size_t locked = t->locked.n;

	/* Locks all last lockout_s, so the expired ones lead the list. */
	for (ix = t->locked.head; ix != MM_TH_NIL &&
	    now_ms >= t->e[ix].locked_until_ms; ix = t->e[ix].next)
		locked--;
	memset(out, 0, sizeof(*out));
	out->failures = t->n_failures;
	out->refused = t->n_refused;
	out->lockouts = t->n_lockouts;
	out->evicted = t->n_evicted;
	out->sources = t->lru.n + t->locked.n;
	out->locked = locked;
}
