/* srv_registry.c - open-addressing hash table of devices. */
#include <stdio.h>
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "server/srv_registry.h"

struct srv_registry {
	struct srv_dev **slots;
	size_t cap;		/* power of two */
	size_t count;
};

enum srv_dev_state
srv_dev_state_parse(const char *s)
{
	if (strcmp(s, "active") == 0)
		return SRV_DEV_ACTIVE;
	if (strcmp(s, "revoked") == 0)
		return SRV_DEV_REVOKED;
	return SRV_DEV_REGISTERED;
}

const char *
srv_dev_state_name(enum srv_dev_state st)
{
	switch (st) {
	case SRV_DEV_ACTIVE: return "active";
	case SRV_DEV_REVOKED: return "revoked";
	default: return "registered";
	}
}

enum srv_cred
srv_cred_parse(const char *s)
{
	if (s == NULL)
		return SRV_CRED_UNKNOWN;
	if (strcmp(s, "initial") == 0)
		return SRV_CRED_INITIAL;
	if (strcmp(s, "set") == 0)
		return SRV_CRED_SET;
	if (strcmp(s, "none") == 0)
		return SRV_CRED_NONE;
	return SRV_CRED_UNKNOWN;
}

const char *
srv_cred_name(enum srv_cred c)
{
	switch (c) {
	case SRV_CRED_INITIAL: return "initial";
	case SRV_CRED_SET: return "set";
	case SRV_CRED_NONE: return "none";
	default: return NULL;
	}
}

static uint64_t
srv_registry_hash(const char *id)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *id != '\0'; id++)
		h = (h ^ (uint8_t)*id) * 1099511628211ULL;
	return h;
}

int
srv_registry_new(struct srv_registry **out)
{
	struct srv_registry *reg;

	if ((reg = mm_calloc(1, sizeof(*reg))) == NULL)
		return MM_ERR_ALLOC;
	reg->cap = 1024;
	if ((reg->slots = mm_calloc(reg->cap, sizeof(*reg->slots))) == NULL) {
		mm_free(reg);
		return MM_ERR_ALLOC;
	}
	*out = reg;
	return MM_OK;
}

void
srv_registry_free(struct srv_registry *reg)
{
	size_t i;

	if (reg == NULL)
		return;
	for (i = 0; i < reg->cap; i++)
		mm_free(reg->slots[i]);
	mm_free(reg->slots);
	mm_free(reg);
}

size_t
srv_registry_count(const struct srv_registry *reg)
{
	return reg->count;
}

static struct srv_dev **
srv_registry_slot(struct srv_dev **slots, size_t cap, const char *id)
{
	size_t i = (size_t)srv_registry_hash(id) & (cap - 1);

	while (slots[i] != NULL && strcmp(slots[i]->id, id) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int
srv_registry_grow(struct srv_registry *reg)
{
	struct srv_dev **ns;
	size_t i, ncap = reg->cap * 2;

	if ((ns = mm_calloc(ncap, sizeof(*ns))) == NULL)
		return MM_ERR_ALLOC;
	for (i = 0; i < reg->cap; i++)
		if (reg->slots[i] != NULL)
			*srv_registry_slot(ns, ncap, reg->slots[i]->id) = reg->slots[i];
	mm_free(reg->slots);
	reg->slots = ns;
	reg->cap = ncap;
	return MM_OK;
}

struct srv_dev *
srv_registry_get(struct srv_registry *reg, const char *id)
{
	return *srv_registry_slot(reg->slots, reg->cap, id);
}

int
srv_registry_put(struct srv_registry *reg, const char *id,
    enum srv_dev_state state, struct srv_dev **out)
{
	struct srv_dev **s, *d;
	int r;

	if (!mm_devid_valid(id))
		return MM_ERR_INVALID_ARG;
	if ((reg->count + 1) * 10 > reg->cap * 7 &&
	    (r = srv_registry_grow(reg)) != 0)
		return r;
	s = srv_registry_slot(reg->slots, reg->cap, id);
	if ((d = *s) == NULL) {
		if ((d = mm_calloc(1, sizeof(*d))) == NULL)
			return MM_ERR_ALLOC;
		memcpy(d->id, id, MM_DEVID_SIZE);
		*s = d;
		reg->count++;
	}
	d->state = state;
	if (out != NULL)
		*out = d;
	return MM_OK;
}

int
srv_registry_load(struct srv_registry *reg, struct srv_db *db)
{
	sqlite3_stmt *st;
	struct srv_dev *d;
	int r, rc;

	if ((r = srv_db_prepare(db, "SELECT id, state, last_seen, cred_state,"
	    " maint_until FROM devices", &st)) != 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		if (srv_registry_put(reg, id, srv_dev_state_parse(
		    (const char *)sqlite3_column_text(st, 1)), &d) != 0)
			continue;
		if (!d->dirty)
			d->last_seen = sqlite3_column_int64(st, 2);
		if (!d->auth_dirty) {
			d->cred = srv_cred_parse(
			    (const char *)sqlite3_column_text(st, 3));
			d->maint_until = sqlite3_column_int64(st, 4);
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? MM_OK : MM_ERR_DB;
}

/* The authentication summary of one device; counters add up, saturating. */
static int
srv_registry_flush_auth(struct srv_db *db, sqlite3_stmt *st,
    const struct srv_dev *d)
{
	const char *cred = srv_cred_name(d->cred);
	int r;

	if (cred != NULL)
		sqlite3_bind_text(st, 1, cred, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_int64(st, 2, d->maint_until);
	sqlite3_bind_int64(st, 3, d->auth_failures);
	sqlite3_bind_int64(st, 4, d->auth_refused);
	sqlite3_bind_int64(st, 5, d->auth_lockouts);
	sqlite3_bind_int64(st, 6, SRV_AUTH_COUNT_MAX);
	sqlite3_bind_text(st, 7, d->id, -1, SQLITE_STATIC);
	r = srv_db_step_done(db, st);
	sqlite3_reset(st);
	return r;
}

int
srv_registry_flush(struct srv_registry *reg, struct srv_db *db)
{
	sqlite3_stmt *st = NULL, *sta = NULL;
	size_t i, n = 0, na = 0;
	int r;

	if ((r = srv_db_begin(db)) != 0)
		return r;
	if ((r = srv_db_prepare(db, "UPDATE devices SET last_seen = ?"
	    " WHERE id = ?", &st)) != 0 ||
	    (r = srv_db_prepare(db, "UPDATE devices SET cred_state = ?1,"
	    " maint_until = ?2, auth_failures = min(auth_failures + ?3, ?6),"
	    " auth_refused = min(auth_refused + ?4, ?6),"
	    " auth_lockouts = min(auth_lockouts + ?5, ?6) WHERE id = ?7",
	    &sta)) != 0)
		goto out;
	for (i = 0; i < reg->cap && r == 0; i++) {
		struct srv_dev *d = reg->slots[i];
		if (d == NULL)
			continue;
		if (d->auth_dirty) {
			if ((r = srv_registry_flush_auth(db, sta, d)) != 0)
				break;
			na++;
		}
		if (!d->dirty)
			continue;
		sqlite3_bind_int64(st, 1, d->last_seen);
		sqlite3_bind_text(st, 2, d->id, -1, SQLITE_STATIC);
		r = srv_db_step_done(db, st);
		sqlite3_reset(st);
		n++;
	}
	if (r == 0)
		r = srv_db_commit(db);
 out:
	sqlite3_finalize(st);
	sqlite3_finalize(sta);
	if (r != 0) {
		srv_db_rollback(db);
		return r;
	}
	for (i = 0; i < reg->cap; i++) {
		struct srv_dev *d = reg->slots[i];
		if (d == NULL)
			continue;
		d->dirty = 0;
		d->auth_dirty = 0;
		d->auth_failures = d->auth_refused = d->auth_lockouts = 0;
	}
	if (n > 0 || na > 0)
		mm_log(MM_LOG_DEBUG, "flushed last_seen of %zu devices, "
		    "authentication summary of %zu", n, na);
	return MM_OK;
}

static int64_t
srv_registry_sat_add(int64_t a, int64_t b)
{
	return b >= SRV_AUTH_COUNT_MAX - a ? SRV_AUTH_COUNT_MAX : a + b;
}

void
srv_registry_auth(struct srv_dev *d, enum srv_cred cred, int64_t maint_until,
    int64_t failures, int64_t refused, int64_t lockouts)
{
	if (cred == d->cred && maint_until == d->maint_until &&
	    failures == 0 && refused == 0 && lockouts == 0)
		return;
	d->cred = cred;
	d->maint_until = maint_until;
	d->auth_failures = srv_registry_sat_add(d->auth_failures, failures);
	d->auth_refused = srv_registry_sat_add(d->auth_refused, refused);
	d->auth_lockouts = srv_registry_sat_add(d->auth_lockouts, lockouts);
	d->auth_dirty = 1;
}

int
srv_registry_seen(struct srv_dev *d, const char *inst, int64_t now, int64_t window)
{
	int clone = 0;

	d->last_seen = now;
	d->dirty = 1;
	if (strcmp(d->inst, inst) == 0)
		return 0;
	if (d->inst[0] != '\0' && strcmp(d->prev_inst, inst) == 0 &&
	    now - d->switched_at <= window)
		clone = 1;	/* back to an instance we saw replaced: two live */
	memcpy(d->prev_inst, d->inst, sizeof(d->prev_inst));
	snprintf(d->inst, sizeof(d->inst), "%s", inst);
	d->switched_at = now;
	return clone;
}
