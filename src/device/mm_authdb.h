/*
 * mm_authdb.h - the device's local accounts file (auth.json), kept by the
 * agent's monitor only (decision 0007).
 *
 * Per user: name, role, Argon2id hash, whether the password is an initial
 * one that must be changed, a generation that grows with every change, the
 * time of the last change and the hashes of earlier passwords.  Written
 * atomically (temp, fsync, rename, fsync dir) with mode 0600; a file that
 * fails any check is refused as MM_ERR_CORRUPT, never half-read.
 */
#ifndef MM_AUTHDB_H
#define MM_AUTHDB_H

#include <stddef.h>
#include <stdint.h>

#include "device/mm_admin_msg.h"
#include "device/mm_pwhash.h"

#define MM_AUTH_USERS_MAX 16
#define MM_AUTH_HISTORY_MAX 10
#define MM_AUTHDB_FILE_MAX (64 * 1024)

enum mm_role {
	MM_ROLE_VIEWER = 1,
	MM_ROLE_OPERATOR = 2,
	MM_ROLE_ADMIN = 3
};

struct mm_authuser {
	char name[MM_USER_MAX + 1];
	enum mm_role role;
	char hash[MM_PWHASH_STRLEN];
	int initial;		/* must be changed before anything else */
	uint32_t gen;		/* password generation */
	int64_t changed;	/* Unix seconds of the last change */
	unsigned nhistory;	/* newest first */
	char history[MM_AUTH_HISTORY_MAX][MM_PWHASH_STRLEN];
};

struct mm_authdb {
	enum mm_pwclass cls;
	int64_t maint_until;	/* Unix seconds; 0 = maintenance mode off */
	size_t nusers;
	struct mm_authuser users[MM_AUTH_USERS_MAX];
};

const char *mm_role_name(enum mm_role r);
/* "viewer", "operator", "admin" -> role; MM_ERR_FORMAT otherwise. */
int mm_role_parse(const char *s, enum mm_role *out);

/* MM_ERR_NOT_FOUND if the file does not exist. */
int mm_authdb_load(const char *path, struct mm_authdb *db);
int mm_authdb_save(const char *path, const struct mm_authdb *db);
/* NULL if there is no such user. */
struct mm_authuser *mm_authdb_find(struct mm_authdb *db, const char *name);
/* Appends a user; MM_ERR_EXISTS, MM_ERR_NO_SPACE, MM_ERR_INVALID_ARG. */
int mm_authdb_add(struct mm_authdb *db, const char *name, enum mm_role role,
    const char *hash, int initial, int64_t now);
/* MM_ERR_NOT_FOUND. */
int mm_authdb_del(struct mm_authdb *db, const char *name);
/* Number of users with role admin. */
size_t mm_authdb_admins(const struct mm_authdb *db);
/* Sets a new hash: the old one moves into the history (kept to `keep`),
 * gen grows, changed = now, initial as given. */
void mm_authdb_set_hash(struct mm_authuser *u, const char *hash, int initial,
    unsigned keep, int64_t now);
/* Wipes the whole structure. */
void mm_authdb_wipe(struct mm_authdb *db);

#endif
