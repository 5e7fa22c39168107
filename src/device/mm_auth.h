/*
 * mm_auth.h - local authentication and authorisation of a device: the one
 * authority behind mamorictl and the HTTPS admin page (decision 0007).
 *
 * Owns the accounts file (mm_authdb), the password policy (mm_pwpolicy),
 * the brute-force throttle (mm_throttle) and the sessions (mm_session), and
 * answers admin requests (mm_admin_msg) with a JSON reply.  Runs in the
 * agent's root monitor; nothing here parses network bytes (the request has
 * been parsed strictly before).
 */
#ifndef MM_AUTH_H
#define MM_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "device/mm_admin_msg.h"
#include "device/mm_authdb.h"
#include "device/mm_pwpolicy.h"
#include "device/mm_session.h"
#include "device/mm_throttle.h"

/* Initial secrets: 16 characters of MM_AUTH_ALPHABET in groups of four,
 * "abcd-efgh-jkmn-pqrs" (92 bits). */
#define MM_AUTH_SECRET_LEN 19
#define MM_AUTH_ALPHABET "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
#define MM_AUTH_MAINT_MAX_MIN 1440

struct mm_auth_conf {
	struct mm_pwpolicy policy;
	struct mm_throttle_conf throttle;
	struct mm_session_conf session;
	char denylist[512];	/* deny-list file; "" = none */
	unsigned expiry_days;	/* 0: passwords do not expire (T1/L4) */
	unsigned remind_days;	/* tell the user this many days ahead */
	unsigned maint_max_min;	/* longest maintenance window, minutes */
	char presence[512];	/* physical-presence switch ("1" = pressed); "" = none */
	char model[65];		/* not allowed inside passwords */
	char serial[65];
	char device_id[33];
};

/* What an audit record is about (the agent maps these to its sealed log's
 * types, decision 0008). */
enum mm_auth_event {
	MM_AUTH_EV_AUTH,	/* logins, logouts, password and user changes */
	MM_AUTH_EV_ATTACK,	/* lockouts, refused floods, CSRF, role violations */
	MM_AUTH_EV_CONFIG	/* settings, maintenance mode */
};

/* Receives every security-relevant event with its syslog severity and a
 * one-line text that never holds a secret. */
typedef void (*mm_auth_audit_fn)(void *arg, enum mm_auth_event ev, int severity,
    const char *text);

/* Agent-specific parts of some requests. */
struct mm_auth_hooks {
	/* Adds device fields to a status reply. */
	int (*status)(void *arg, json_t *reply);
	/* Applies one setting; MM_ERR_RANGE / MM_ERR_NOT_FOUND for bad ones. */
	int (*config_set)(void *arg, const char *key, int64_t value);
	void *arg;
};

/* What the fleet is told (counts since the previous report). */
struct mm_auth_report {
	int cred_initial;	/* an administrator still has an initial secret */
	uint32_t failures;	/* wrong passwords */
	uint32_t refused;	/* attempts refused by the throttle */
	uint32_t lockouts;	/* sources locked out */
	int64_t maint_until;	/* Unix seconds, 0 = off */
};

struct mm_auth;

void mm_auth_defaults(struct mm_auth_conf *c);
/* Loads the accounts file at path (MM_ERR_NOT_FOUND: no factory step yet). */
int mm_auth_open(const char *path, const struct mm_auth_conf *c,
    struct mm_auth **out);
void mm_auth_free(struct mm_auth *a);
/* Sends audit events to fn as well as to the log (fn may be NULL). */
void mm_auth_set_audit(struct mm_auth *a, mm_auth_audit_fn fn, void *arg);

/*
 * Answers one request.  now_ms is monotonic, wall is Unix seconds.  Returns
 * a new reply object ({"ok":true,...} or {"ok":false,"error":...}); NULL only
 * when out of memory.
 */
json_t *mm_auth_handle(struct mm_auth *a, const struct mm_admreq *q,
    const struct mm_auth_hooks *h, uint64_t now_ms, int64_t wall);

int mm_auth_cred_initial(const struct mm_auth *a);
/* Fills out and starts new counts. */
void mm_auth_report(struct mm_auth *a, uint64_t now_ms, struct mm_auth_report *out);

/* Maintenance mode from a signed fleet command (no presence step):
 * minutes 0 switches it off.  MM_ERR_RANGE above maint_max_min. */
int mm_auth_maintenance(struct mm_auth *a, unsigned minutes, int64_t wall,
    const char *by);
/*
 * Pairing-like credential reset from the fleet: user gets a new random
 * initial secret (written to secret, NUL-terminated), must change it at the
 * next login, and all their sessions end.  MM_ERR_NOT_FOUND.
 */
int mm_auth_cred_reset(struct mm_auth *a, const char *user, int64_t wall,
    char secret[MM_AUTH_SECRET_LEN + 1]);

/* A fresh random secret (never derived from anything about the device). */
void mm_auth_secret(char secret[MM_AUTH_SECRET_LEN + 1]);
/*
 * Factory step: writes a new accounts file at path with one administrator
 * whose initial secret is returned in secret.  MM_ERR_EXISTS if the file is
 * there already.
 */
int mm_auth_factory(const char *path, enum mm_pwclass cls, const char *admin,
    int64_t wall, char secret[MM_AUTH_SECRET_LEN + 1]);

#endif
