/* mm_authdb.c - auth.json: local accounts, read strictly, written atomically. */
#include <string.h>

#include <jansson.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_str.h"
#include "device/mm_authdb.h"
#include "proto/mm_msg.h"

static const char *const mm_roles[] = {
	[MM_ROLE_VIEWER] = "viewer",
	[MM_ROLE_OPERATOR] = "operator",
	[MM_ROLE_ADMIN] = "admin",
};

const char *
mm_role_name(enum mm_role r)
{
	return r >= MM_ROLE_VIEWER && r <= MM_ROLE_ADMIN ? mm_roles[r] : "?";
}

int
mm_role_parse(const char *s, enum mm_role *out)
{
	int i;

	for (i = MM_ROLE_VIEWER; s != NULL && i <= MM_ROLE_ADMIN; i++) {
		if (strcmp(s, mm_roles[i]) == 0) {
			*out = (enum mm_role)i;
			return MM_OK;
		}
	}
	return MM_ERR_FORMAT;
}

static int
authdb_hash_ok(const char *h)
{
	return strncmp(h, "$argon2id$", 10) == 0;
}

static int
authdb_copy_hash(const json_t *o, const char *key, char dst[MM_PWHASH_STRLEN])
{
	const char *s;
	int r;

	if ((r = mm_msg_get_str(o, key, 10, MM_PWHASH_STRLEN - 1, &s)) != 0)
		return r;
	if (!authdb_hash_ok(s))
		return MM_ERR_FORMAT;
	return mm_strlcpy(dst, s, MM_PWHASH_STRLEN);
}

static int
authdb_user(const json_t *o, struct mm_authuser *u)
{
	const char *name, *role;
	json_t *hist, *h, *init;
	int64_t gen, changed;
	size_t i;
	int r;

	if (!json_is_object(o) || json_object_size(o) != 7)
		return MM_ERR_FORMAT;
	if ((r = mm_msg_get_str(o, "user", 1, MM_USER_MAX, &name)) != 0 ||
	    (r = mm_msg_get_str(o, "role", 1, 16, &role)) != 0 ||
	    (r = mm_msg_get_int(o, "gen", 0, UINT32_MAX, &gen)) != 0 ||
	    (r = mm_msg_get_int(o, "changed", 0, INT64_MAX, &changed)) != 0 ||
	    (r = authdb_copy_hash(o, "hash", u->hash)) != 0)
		return r;
	if (!mm_user_name_valid(name) || mm_role_parse(role, &u->role) != 0)
		return MM_ERR_FORMAT;
	init = json_object_get(o, "initial");
	hist = json_object_get(o, "history");
	if (!json_is_boolean(init) || !json_is_array(hist) ||
	    json_array_size(hist) > MM_AUTH_HISTORY_MAX)
		return MM_ERR_FORMAT;
	memcpy(u->name, name, strlen(name) + 1);
	u->initial = json_is_true(init);
	u->gen = (uint32_t)gen;
	u->changed = changed;
	json_array_foreach(hist, i, h) {
		const char *s = json_string_value(h);

		if (s == NULL || !authdb_hash_ok(s) ||
		    mm_strlcpy(u->history[i], s, MM_PWHASH_STRLEN) != 0)
			return MM_ERR_FORMAT;
	}
	u->nhistory = (unsigned)json_array_size(hist);
	return MM_OK;
}

static int
authdb_parse(const char *text, size_t len, struct mm_authdb *db)
{
	json_t *o, *users, *u;
	const char *cls;
	int64_t v, maint;
	size_t i;
	int r;

	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return MM_ERR_CORRUPT;
	r = MM_ERR_CORRUPT;
	users = json_object_get(o, "users");
	if (!json_is_object(o) || json_object_size(o) != 4 ||
	    mm_msg_get_int(o, "v", 1, 1, &v) != 0 ||
	    mm_msg_get_str(o, "class", 1, 16, &cls) != 0 ||
	    mm_pwclass_parse(cls, &db->cls) != 0 ||
	    mm_msg_get_int(o, "maintenance_until", 0, INT64_MAX, &maint) != 0 ||
	    !json_is_array(users) || json_array_size(users) == 0 ||
	    json_array_size(users) > MM_AUTH_USERS_MAX)
		goto out;
	db->maint_until = maint;
	json_array_foreach(users, i, u) {
		if (authdb_user(u, &db->users[i]) != 0)
			goto out;
		db->nusers = i + 1;
		/* names are unique */
		if (i > 0 && mm_authdb_find(db, db->users[i].name) != &db->users[i])
			goto out;
	}
	r = MM_OK;
 out:
	json_decref(o);
	return r;
}

int
mm_authdb_load(const char *path, struct mm_authdb *db)
{
	struct mm_authdb tmp;
	char *text = NULL;
	size_t len;
	int r;

	memset(&tmp, 0, sizeof(tmp));
	if ((r = mm_file_read(path, MM_AUTHDB_FILE_MAX, &text, &len)) != 0)
		return r == MM_ERR_TOO_LARGE ? MM_ERR_CORRUPT : r;
	r = authdb_parse(text, len, &tmp);
	mm_freezero(text, len + 1);
	if (r == MM_OK)
		*db = tmp;
	mm_authdb_wipe(&tmp);
	return r;
}

static json_t *
authdb_user_json(const struct mm_authuser *u)
{
	json_t *o, *hist;
	unsigned i;

	if ((hist = json_array()) == NULL)
		return NULL;
	for (i = 0; i < u->nhistory; i++)
		if (json_array_append_new(hist, json_string(u->history[i])) != 0)
			goto fail;
	o = json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:o}", "user", u->name,
	    "role", mm_role_name(u->role), "hash", u->hash, "initial", u->initial,
	    "gen", (json_int_t)u->gen, "changed", (json_int_t)u->changed,
	    "history", hist);
	if (o != NULL)
		return o;
 fail:
	json_decref(hist);
	return NULL;
}

int
mm_authdb_save(const char *path, const struct mm_authdb *db)
{
	json_t *o = NULL, *users;
	char *text = NULL;
	size_t i;
	int r = MM_ERR_ALLOC;

	if (db->nusers == 0 || db->nusers > MM_AUTH_USERS_MAX)
		return MM_ERR_INVALID_ARG;
	if ((users = json_array()) == NULL)
		return MM_ERR_ALLOC;
	for (i = 0; i < db->nusers; i++)
		if (json_array_append_new(users, authdb_user_json(&db->users[i])) != 0) {
			json_decref(users);
			return MM_ERR_ALLOC;
		}
	o = json_pack("{s:i, s:s, s:I, s:o}", "v", 1, "class",
	    mm_pwclass_name(db->cls), "maintenance_until", (json_int_t)db->maint_until,
	    "users", users);
	if (o == NULL ||
	    (text = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	r = mm_file_write_atomic(path, text, strlen(text), 0600);
 out:
	if (text != NULL)
		mm_freezero(text, strlen(text));
	json_decref(o);
	return r;
}

struct mm_authuser *
mm_authdb_find(struct mm_authdb *db, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < db->nusers; i++)
		if (strcmp(db->users[i].name, name) == 0)
			return &db->users[i];
	return NULL;
}

int
mm_authdb_add(struct mm_authdb *db, const char *name, enum mm_role role,
    const char *hash, int initial, int64_t now)
{
	struct mm_authuser *u;

	if (!mm_user_name_valid(name) || hash == NULL || !authdb_hash_ok(hash) ||
	    strlen(hash) >= MM_PWHASH_STRLEN || mm_role_name(role)[0] == '?')
		return MM_ERR_INVALID_ARG;
	if (mm_authdb_find(db, name) != NULL)
		return MM_ERR_EXISTS;
	if (db->nusers >= MM_AUTH_USERS_MAX)
		return MM_ERR_NO_SPACE;
	u = &db->users[db->nusers++];
	memset(u, 0, sizeof(*u));
	memcpy(u->name, name, strlen(name) + 1);
	memcpy(u->hash, hash, strlen(hash) + 1);
	u->role = role;
	u->initial = initial;
	u->gen = 1;
	u->changed = now;
	return MM_OK;
}

int
mm_authdb_del(struct mm_authdb *db, const char *name)
{
	struct mm_authuser *u = mm_authdb_find(db, name);
	size_t i;

	if (u == NULL)
		return MM_ERR_NOT_FOUND;
	i = (size_t)(u - db->users);
	memmove(u, u + 1, (db->nusers - i - 1) * sizeof(*u));
	db->nusers--;
	mm_wipe(&db->users[db->nusers], sizeof(db->users[0]));
	return MM_OK;
}

size_t
mm_authdb_admins(const struct mm_authdb *db)
{
	size_t i, n = 0;

	for (i = 0; i < db->nusers; i++)
		n += db->users[i].role == MM_ROLE_ADMIN;
	return n;
}

void
mm_authdb_set_hash(struct mm_authuser *u, const char *hash, int initial,
    unsigned keep, int64_t now)
{
	unsigned n;

	if (keep > MM_AUTH_HISTORY_MAX)
		keep = MM_AUTH_HISTORY_MAX;
	n = u->nhistory < keep ? u->nhistory + 1 : keep;
	if (n > 0) {
		memmove(u->history[1], u->history[0],
		    (size_t)(n - 1) * sizeof(u->history[0]));
		memcpy(u->history[0], u->hash, sizeof(u->hash));
	}
	for (unsigned i = n; i < MM_AUTH_HISTORY_MAX; i++)
		mm_wipe(u->history[i], sizeof(u->history[i]));
	u->nhistory = n;
	mm_strlcpy(u->hash, hash, sizeof(u->hash));
	u->initial = initial;
	u->gen++;
	u->changed = now;
}

void
mm_authdb_wipe(struct mm_authdb *db)
{
	mm_wipe(db, sizeof(*db));
}
