/*
 * mm_admin_msg.h - admin requests: what mamorictl and the HTTPS page ask
 * of the device, as checked JSON (decision 0007).
 *
 * One JSON object of at most MM_ADMREQ_MAX bytes.  Each op has a fixed set
 * of required and optional keys; anything else, duplicate keys, wrong types,
 * overlong values, control characters, NUL and invalid UTF-8 are refused.
 * The admin worker parses what mamorictl sends (origin MM_ADMREQ_CLIENT:
 * "src", "chan" and "csrf" are refused there) and the monitor parses what
 * the admin worker forwards (origin MM_ADMREQ_WORKER: "src" and "chan"
 * required).  Both parse with this one function.
 */
#ifndef MM_ADMIN_MSG_H
#define MM_ADMIN_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define MM_ADMREQ_MAX 4096
#define MM_ADMREP_MAX 16384
#define MM_USER_MAX 32

enum mm_admop {
	MM_ADM_LOGIN,
	MM_ADM_LOGOUT,
	MM_ADM_WHOAMI,
	MM_ADM_PASSWD,
	MM_ADM_STATUS,
	MM_ADM_USERS,
	MM_ADM_USER_ADD,
	MM_ADM_USER_DEL,
	MM_ADM_CONFIG_SET,
	MM_ADM_MAINTENANCE,
	MM_ADM_DIAG,		/* maintenance mode only */
	MM_ADM__COUNT
};

enum mm_admreq_origin {
	MM_ADMREQ_CLIENT,	/* from mamorictl: no src/chan/csrf */
	MM_ADMREQ_WORKER	/* from the admin worker: src, chan required */
};

/* Parsed request; string fields point into obj and are NULL when absent. */
struct mm_admreq {
	enum mm_admop op;
	const char *token;
	const char *user;
	const char *password;	/* login, user_add */
	const char *old_pw;	/* passwd */
	const char *new_pw;	/* passwd */
	const char *role;
	const char *key;	/* config_set */
	int64_t value;		/* config_set */
	int64_t minutes;	/* maintenance */
	const char *src;
	const char *chan;
	const char *csrf;
	json_t *obj;		/* owns the strings */
};

const char *mm_admop_name(enum mm_admop op);
/* 1 if op changes state (needs a CSRF token when it comes from the web). */
int mm_admop_changes_state(enum mm_admop op);

/*
 * Parses buf[0..len).  MM_ERR_TOO_LARGE, MM_ERR_FORMAT (not JSON, not an
 * object, a key not allowed for the op, a wrong type), MM_ERR_UNSUPPORTED
 * (unknown op), MM_ERR_RANGE (a value outside its bounds).  On success the
 * caller owns out and must mm_admreq_free it.
 */
int mm_admreq_parse(const void *buf, size_t len, enum mm_admreq_origin origin,
    struct mm_admreq *out);
/* Wipes the secret fields and frees. */
void mm_admreq_free(struct mm_admreq *r);
/* Wipes then frees the strings of a request object built by a client. */
void mm_admin_json_wipe_free(json_t *obj);

/* Valid user name: 1-32 of [a-z0-9._-], starting with a letter. */
int mm_user_name_valid(const char *s);

#endif
