/*
 * mm_session.c - login sessions held by the agent's monitor.
 *
 * A fixed table of at most max_sessions entries, allocated once.  Only
 * SHA-256 of each token is kept.  A lookup compares the presented token's
 * hash with every live entry in constant time and without stopping at the
 * match, so neither a hash table's buckets nor an early exit tells an
 * observer anything about the stored tokens.
 */
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_session.h"

#define MM_SESS_RAW	32	/* bytes of randomness in a token or CSRF */

struct mm_sess {
	int live;
	uint8_t hash[MM_SHA256_LEN];	/* SHA-256 of the raw token bytes */
	char user[MM_SESSION_USER_MAX + 1];
	int role;
	char csrf[MM_SESSION_TOKEN_HEX + 1];
	uint64_t created_ms;
	uint64_t last_ms;
};

struct mm_sessions {
	struct mm_session_conf c;
	struct mm_sess *tab;		/* c.max_sessions entries */
};

static uint64_t
mm_sess_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static void
mm_sess_clear(struct mm_sess *e)
{
	mm_wipe(e, sizeof(*e));
}

static int
mm_sess_timed_out(const struct mm_sessions *s, const struct mm_sess *e,
    uint64_t now_ms)
{
	return mm_sess_sub(now_ms, e->last_ms) >= (uint64_t)s->c.idle_s * 1000 ||
	    mm_sess_sub(now_ms, e->created_ms) >=
	    (uint64_t)s->c.absolute_s * 1000;
}

/*
 * Hashes a presented token: exactly 64 lower-case hex characters, the form
 * mm_session_create hands out.  MM_ERR_NOT_FOUND for anything else, so a
 * malformed token looks like an unknown one.
 */
static int
mm_sess_token_hash(const char *token, uint8_t hash[MM_SHA256_LEN])
{
	uint8_t raw[MM_SESS_RAW];
	size_t i;
	char c;

	if (token == NULL ||
	    strnlen(token, MM_SESSION_TOKEN_HEX + 1) != MM_SESSION_TOKEN_HEX)
		return MM_ERR_NOT_FOUND;
	for (i = 0; i < MM_SESSION_TOKEN_HEX; i++) {
		c = token[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return MM_ERR_NOT_FOUND;
	}
	if (mm_hex_decode(raw, sizeof(raw), token) != MM_OK)
		return MM_ERR_NOT_FOUND;
	mm_sha256(hash, raw, sizeof(raw));
	mm_wipe(raw, sizeof(raw));
	return MM_OK;
}

/* The live entry whose hash equals hash, or NULL; visits every entry. */
static struct mm_sess *
mm_sess_find(struct mm_sessions *s, const uint8_t hash[MM_SHA256_LEN])
{
	struct mm_sess *found = NULL;
	size_t i;
	int eq;

	for (i = 0; i < s->c.max_sessions; i++) {
		eq = mm_memeq_ct(s->tab[i].hash, hash, MM_SHA256_LEN) == 0;
		if (eq && s->tab[i].live)
			found = &s->tab[i];
	}
	return found;
}

/* A free entry; ends timed-out sessions, then the least recently used. */
static struct mm_sess *
mm_sess_slot(struct mm_sessions *s, uint64_t now_ms)
{
	struct mm_sess *lru = NULL, *e;
	size_t i;

	for (i = 0; i < s->c.max_sessions; i++) {
		e = &s->tab[i];
		if (e->live && mm_sess_timed_out(s, e, now_ms))
			mm_sess_clear(e);
		if (!e->live)
			return e;
		if (lru == NULL || e->last_ms < lru->last_ms)
			lru = e;
	}
	mm_sess_clear(lru);
	return lru;
}

static void
mm_sess_info(const struct mm_sessions *s, const struct mm_sess *e,
    uint64_t now_ms, struct mm_session_info *info)
{
	memset(info, 0, sizeof(*info));
	memcpy(info->user, e->user, sizeof(info->user));
	info->role = e->role;
	memcpy(info->csrf, e->csrf, sizeof(info->csrf));
	info->created_ms = e->created_ms;
	info->last_ms = e->last_ms;
	info->idle_left_ms = mm_sess_sub((uint64_t)s->c.idle_s * 1000,
	    mm_sess_sub(now_ms, e->last_ms));
	info->absolute_left_ms = mm_sess_sub((uint64_t)s->c.absolute_s * 1000,
	    mm_sess_sub(now_ms, e->created_ms));
}

void
mm_session_defaults(struct mm_session_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->idle_s = 900;
	c->absolute_s = 28800;
	c->max_sessions = 64;
}

int
mm_sessions_new(const struct mm_session_conf *c, struct mm_sessions **out)
{
	struct mm_sessions *s = NULL;

	if (c == NULL || out == NULL || c->idle_s == 0 || c->absolute_s == 0 ||
	    c->max_sessions == 0)
		return MM_ERR_INVALID_ARG;
	if ((s = mm_calloc(1, sizeof(*s))) == NULL)
		return MM_ERR_ALLOC;
	if ((s->tab = mm_calloc(c->max_sessions, sizeof(*s->tab))) == NULL) {
		mm_free(s);
		return MM_ERR_ALLOC;
	}
	s->c = *c;
	*out = s;
	return MM_OK;
}

void
mm_sessions_free(struct mm_sessions *s)
{
	if (s == NULL)
		return;
	mm_freezero(s->tab, s->c.max_sessions * sizeof(*s->tab));
	mm_freezero(s, sizeof(*s));
}

int
mm_session_create(struct mm_sessions *s, const char *user, int role,
    uint64_t now_ms, char token[MM_SESSION_TOKEN_HEX + 1],
    struct mm_session_info *info)
{
	uint8_t raw[MM_SESS_RAW];
	struct mm_sess *e;
	size_t n;

	if (s == NULL || user == NULL || token == NULL)
		return MM_ERR_INVALID_ARG;
	n = strnlen(user, MM_SESSION_USER_MAX + 1);
	if (n == 0 || n > MM_SESSION_USER_MAX)
		return MM_ERR_INVALID_ARG;
	e = mm_sess_slot(s, now_ms);
	memcpy(e->user, user, n);
	e->user[n] = '\0';
	e->role = role;
	e->created_ms = e->last_ms = now_ms;
	mm_random(raw, sizeof(raw));
	mm_hex_encode(e->csrf, raw, sizeof(raw));
	mm_random(raw, sizeof(raw));
	mm_sha256(e->hash, raw, sizeof(raw));
	mm_hex_encode(token, raw, sizeof(raw));
	mm_wipe(raw, sizeof(raw));
	e->live = 1;
	if (info != NULL)
		mm_sess_info(s, e, now_ms, info);
	return MM_OK;
}

/* The live entry a presented token names; MM_ERR_NOT_FOUND otherwise. */
static int
mm_sess_by_token(struct mm_sessions *s, const char *token, struct mm_sess **out)
{
	uint8_t hash[MM_SHA256_LEN];
	struct mm_sess *e;
	int r;

	if ((r = mm_sess_token_hash(token, hash)) != MM_OK)
		return r;
	e = mm_sess_find(s, hash);
	mm_wipe(hash, sizeof(hash));
	if (e == NULL)
		return MM_ERR_NOT_FOUND;
	*out = e;
	return MM_OK;
}

int
mm_session_lookup(struct mm_sessions *s, const char *token, uint64_t now_ms,
    int touch, struct mm_session_info *info)
{
	struct mm_sess *e;
	int r;

	if ((r = mm_sess_by_token(s, token, &e)) != MM_OK)
		return r;
	if (mm_sess_timed_out(s, e, now_ms)) {
		mm_sess_clear(e);
		return MM_ERR_NOT_FOUND;
	}
	if (touch && now_ms > e->last_ms)
		e->last_ms = now_ms;
	if (info != NULL)
		mm_sess_info(s, e, now_ms, info);
	return MM_OK;
}

int
mm_session_csrf_ok(const struct mm_session_info *info, const char *csrf)
{
	if (info == NULL || csrf == NULL ||
	    strnlen(info->csrf, sizeof(info->csrf)) != MM_SESSION_TOKEN_HEX ||
	    strnlen(csrf, MM_SESSION_TOKEN_HEX + 1) != MM_SESSION_TOKEN_HEX)
		return 0;
	return mm_memeq_ct(info->csrf, csrf, MM_SESSION_TOKEN_HEX) == 0;
}

int
mm_session_end(struct mm_sessions *s, const char *token)
{
	struct mm_sess *e;
	int r;

	if ((r = mm_sess_by_token(s, token, &e)) != MM_OK)
		return r;
	mm_sess_clear(e);
	return MM_OK;
}

size_t
mm_session_end_user(struct mm_sessions *s, const char *user)
{
	size_t i, n = 0;

	if (user == NULL)
		return 0;
	for (i = 0; i < s->c.max_sessions; i++) {
		if (s->tab[i].live && strcmp(s->tab[i].user, user) == 0) {
			mm_sess_clear(&s->tab[i]);
			n++;
		}
	}
	return n;
}

size_t
mm_session_end_all(struct mm_sessions *s, const char *keep)
{
	uint8_t hash[MM_SHA256_LEN];
	struct mm_sess *kept = NULL;
	size_t i, n = 0;

	if (keep != NULL && mm_sess_token_hash(keep, hash) == MM_OK) {
		kept = mm_sess_find(s, hash);
		mm_wipe(hash, sizeof(hash));
	}
	for (i = 0; i < s->c.max_sessions; i++) {
		if (s->tab[i].live && &s->tab[i] != kept) {
			mm_sess_clear(&s->tab[i]);
			n++;
		}
	}
	return n;
}

size_t
mm_session_expire(struct mm_sessions *s, uint64_t now_ms)
{
	size_t i, n = 0;

	for (i = 0; i < s->c.max_sessions; i++) {
		if (!s->tab[i].live)
			continue;
		if (mm_sess_timed_out(s, &s->tab[i], now_ms))
			mm_sess_clear(&s->tab[i]);
		else
			n++;
	}
	return n;
}
