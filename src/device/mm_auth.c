/* mm_auth.c - local authentication, sessions and role checks (decision 0007). */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "common/mm_str.h"
#include "device/mm_auth.h"

struct mm_auth {
	struct mm_auth_conf conf;
	char path[512];
	struct mm_authdb db;
	struct mm_pwdeny *deny;
	struct mm_throttle *throttle;
	struct mm_sessions *sessions;
	char dummy[MM_PWHASH_STRLEN];	/* verified for unknown users */
	struct mm_auth_report counts;	/* since the last report */
	uint64_t refused_log_ms;	/* rate limit of refusal logs */
	uint64_t refused_quiet;		/* refusals not logged since */
	uint64_t lockouts_seen;		/* the throttle's lockout count */
	mm_auth_audit_fn audit;
	void *audit_arg;
};

/* Least role per op, and whether a user who must change the password may
 * use it.  Login is special: no session yet. */
static const struct {
	enum mm_role role;
	int while_initial;
} auth_ops[MM_ADM__COUNT] = {
	[MM_ADM_LOGIN] = { 0, 1 },
	[MM_ADM_LOGOUT] = { MM_ROLE_VIEWER, 1 },
	[MM_ADM_WHOAMI] = { MM_ROLE_VIEWER, 1 },
	[MM_ADM_PASSWD] = { MM_ROLE_VIEWER, 1 },
	[MM_ADM_STATUS] = { MM_ROLE_VIEWER, 0 },
	[MM_ADM_USERS] = { MM_ROLE_ADMIN, 0 },
	[MM_ADM_USER_ADD] = { MM_ROLE_ADMIN, 0 },
	[MM_ADM_USER_DEL] = { MM_ROLE_ADMIN, 0 },
	[MM_ADM_CONFIG_SET] = { MM_ROLE_OPERATOR, 0 },
	[MM_ADM_MAINTENANCE] = { MM_ROLE_ADMIN, 0 },
	[MM_ADM_DIAG] = { MM_ROLE_ADMIN, 0 },
};

void
mm_auth_set_audit(struct mm_auth *a, mm_auth_audit_fn fn, void *arg)
{
	a->audit = fn;
	a->audit_arg = arg;
}

/* Logs an event and hands it to the audit sink. */
static void auth_event(struct mm_auth *a, enum mm_auth_event ev,
    enum mm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
auth_event(struct mm_auth *a, enum mm_auth_event ev, enum mm_log_level level,
    const char *fmt, ...)
{
	char text[256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	mm_log(level, "%s", text);
	if (a->audit != NULL)
		a->audit(a->audit_arg, ev, (int)level, text);
}

void
mm_auth_defaults(struct mm_auth_conf *c)
{
	memset(c, 0, sizeof(*c));
	mm_pwpolicy_defaults(&c->policy);
	mm_throttle_defaults(&c->throttle);
	mm_session_defaults(&c->session);
	c->remind_days = 14;
	c->maint_max_min = 240;
}

/* ---- replies ---- */

static json_t *
auth_ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

static json_t *
auth_error(const char *code, const char *message)
{
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "error", code, "message",
	    message);
}

static json_t *
auth_retry(const char *code, const char *message, uint64_t retry_ms)
{
	json_t *o = auth_error(code, message);

	if (o != NULL && json_object_set_new(o, "retry_after",
	    json_integer((json_int_t)((retry_ms + 999) / 1000))) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- secrets ---- */

void
mm_auth_secret(char secret[MM_AUTH_SECRET_LEN + 1])
{
	static const char alphabet[] = MM_AUTH_ALPHABET;
	size_t i, j = 0;

	for (i = 0; i < 16; i++) {
		if (i > 0 && i % 4 == 0)
			secret[j++] = '-';
		secret[j++] = alphabet[mm_random_uniform(sizeof(alphabet) - 1)];
	}
	secret[j] = '\0';
}

static int
auth_save(struct mm_auth *a)
{
	int r;

	if ((r = mm_authdb_save(a->path, &a->db)) != 0)
		mm_log(MM_LOG_ERR, "cannot save %s: %s", a->path, mm_strerror(r));
	return r;
}

int
mm_auth_factory(const char *path, enum mm_pwclass cls, const char *admin,
    int64_t wall, char secret[MM_AUTH_SECRET_LEN + 1])
{
	struct mm_authdb db;
	char hash[MM_PWHASH_STRLEN], s[MM_AUTH_SECRET_LEN + 1];
	int r;

	if (access(path, F_OK) == 0)
		return MM_ERR_EXISTS;
	memset(&db, 0, sizeof(db));
	db.cls = cls;
	mm_auth_secret(s);
	if ((r = mm_pwhash(cls, s, strlen(s), hash)) != 0 ||
	    (r = mm_authdb_add(&db, admin, MM_ROLE_ADMIN, hash, 1, wall)) != 0 ||
	    (r = mm_authdb_save(path, &db)) != 0)
		goto out;
	memcpy(secret, s, sizeof(s));
 out:
	mm_wipe(s, sizeof(s));
	mm_wipe(hash, sizeof(hash));
	mm_authdb_wipe(&db);
	return r;
}

/* ---- open / close ---- */

int
mm_auth_open(const char *path, const struct mm_auth_conf *c,
    struct mm_auth **out)
{
	struct mm_auth *a;
	char junk[33];
	int r;

	if ((a = mm_calloc(1, sizeof(*a))) == NULL)
		return MM_ERR_ALLOC;
	a->conf = *c;
	if ((r = mm_strlcpy(a->path, path, sizeof(a->path))) != 0 ||
	    (r = mm_authdb_load(path, &a->db)) != 0 ||
	    (r = mm_throttle_new(&c->throttle, &a->throttle)) != 0 ||
	    (r = mm_sessions_new(&c->session, &a->sessions)) != 0)
		goto fail;
	if (c->denylist[0] != '\0' &&
	    (r = mm_pwdeny_load(c->denylist, &a->deny)) != 0) {
		mm_log(MM_LOG_ERR, "password deny list %s: %s", c->denylist,
		    mm_strerror(r));
		goto fail;
	}
	/* unknown users cost one verification too: no user enumeration by time */
	mm_random(junk, sizeof(junk));
	r = mm_pwhash(a->db.cls, junk, sizeof(junk), a->dummy);
	mm_wipe(junk, sizeof(junk));
	if (r != 0)
		goto fail;
	*out = a;
	return MM_OK;
 fail:
	mm_auth_free(a);
	return r;
}

void
mm_auth_free(struct mm_auth *a)
{
	if (a == NULL)
		return;
	mm_pwdeny_free(a->deny);
	mm_throttle_free(a->throttle);
	mm_sessions_free(a->sessions);
	mm_authdb_wipe(&a->db);
	mm_freezero(a, sizeof(*a));
}

int
mm_auth_cred_initial(const struct mm_auth *a)
{
	size_t i;

	for (i = 0; i < a->db.nusers; i++)
		if (a->db.users[i].role == MM_ROLE_ADMIN && a->db.users[i].initial)
			return 1;
	return 0;
}

void
mm_auth_report(struct mm_auth *a, uint64_t now_ms, struct mm_auth_report *out)
{
	(void)now_ms;
	*out = a->counts;
	out->cred_initial = mm_auth_cred_initial(a);
	out->maint_until = a->db.maint_until;
	memset(&a->counts, 0, sizeof(a->counts));
}

/* ---- login ---- */

/* Days until the password of u expires; -1 if it never does. */
static int64_t
auth_days_left(const struct mm_auth *a, const struct mm_authuser *u, int64_t wall)
{
	int64_t end;

	if (a->conf.expiry_days == 0)
		return -1;
	end = u->changed + (int64_t)a->conf.expiry_days * 86400;
	return end <= wall ? 0 : (end - wall + 86399) / 86400;
}

static int
auth_must_change(const struct mm_auth *a, const struct mm_authuser *u, int64_t wall)
{
	return u->initial || auth_days_left(a, u, wall) == 0;
}

/* Adds who the session is, whether it must change its password and when
 * the password expires. */
static int
auth_describe(const struct mm_auth *a, json_t *o, const struct mm_authuser *u,
    int64_t wall)
{
	int64_t days = auth_days_left(a, u, wall);

	if (json_object_set_new(o, "user", json_string(u->name)) != 0 ||
	    json_object_set_new(o, "role", json_string(mm_role_name(u->role))) != 0 ||
	    json_object_set_new(o, "must_change",
	    json_boolean(auth_must_change(a, u, wall))) != 0)
		return MM_ERR_ALLOC;
	if (days >= 0 && days <= a->conf.remind_days &&
	    json_object_set_new(o, "expires_in_days", json_integer(days)) != 0)
		return MM_ERR_ALLOC;
	return MM_OK;
}

static void
auth_log_refusal(struct mm_auth *a, const char *src, const char *why,
    uint64_t now_ms)
{
	if (now_ms - a->refused_log_ms < 1000 && a->refused_log_ms != 0) {
		a->refused_quiet++;
		return;
	}
	auth_event(a, MM_AUTH_EV_ATTACK, MM_LOG_WARN,
	    "login from %s refused (%s); %llu more refusals in "
	    "the last second not logged", src, why,
	    (unsigned long long)a->refused_quiet);
	a->refused_log_ms = now_ms;
	a->refused_quiet = 0;
}

/* Counts and logs lockouts the throttle started (after a failure, or at a
 * refusal of a source that would not wait). */
static void
auth_note_lockouts(struct mm_auth *a, const char *src, uint64_t now_ms)
{
	struct mm_throttle_stats ts;

	mm_throttle_stats(a->throttle, now_ms, &ts);
	if (ts.lockouts <= a->lockouts_seen)
		return;
	a->counts.lockouts += (uint32_t)(ts.lockouts - a->lockouts_seen);
	a->lockouts_seen = ts.lockouts;
	auth_event(a, MM_AUTH_EV_ATTACK, MM_LOG_WARN,
	    "%s locked out for %u s after repeated failed logins",
	    src, a->conf.throttle.lockout_s);
}

static json_t *
auth_login(struct mm_auth *a, const struct mm_admreq *q, uint64_t now_ms,
    int64_t wall)
{
	struct mm_authuser *u;
	struct mm_session_info info;
	char token[MM_SESSION_TOKEN_HEX + 1];
	enum mm_throttle_verdict v;
	uint64_t retry = 0;
	json_t *o;
	int r;

	v = mm_throttle_check(a->throttle, q->src, now_ms, &retry);
	if (v != MM_THROTTLE_GO) {
		a->counts.refused++;
		if (v == MM_THROTTLE_LOCKED)
			auth_note_lockouts(a, q->src, now_ms);
		auth_log_refusal(a, q->src, v == MM_THROTTLE_LOCKED ? "locked out" :
		    v == MM_THROTTLE_BUSY ? "too many logins" : "too soon", now_ms);
		if (v == MM_THROTTLE_LOCKED)
			return auth_retry("locked", "too many failed logins from "
			    "your address; try again later", retry);
		if (v == MM_THROTTLE_BUSY)
			return auth_retry("busy", "too many logins right now; "
			    "try again shortly", retry);
		return auth_retry("throttled", "wait before trying again", retry);
	}
	u = mm_user_name_valid(q->user) ? mm_authdb_find(&a->db, q->user) : NULL;
	r = mm_pwhash_verify(u != NULL ? u->hash : a->dummy, q->password,
	    strlen(q->password));
	if (u == NULL || r != MM_OK) {
		a->counts.failures++;
		(void)mm_throttle_failure(a->throttle, q->src, now_ms);
		auth_note_lockouts(a, q->src, now_ms);
		auth_event(a, MM_AUTH_EV_AUTH, MM_LOG_NOTICE,
		    "failed login for %s from %s via %s",
		    u != NULL ? u->name : "an unknown user", q->src, q->chan);
		return auth_error("auth", "wrong user name or password");
	}
	mm_throttle_success(a->throttle, q->src, now_ms);
	if (mm_pwhash_needs_rehash(u->hash, a->db.cls)) {
		char h[MM_PWHASH_STRLEN];

		if (mm_pwhash(a->db.cls, q->password, strlen(q->password), h) == 0) {
			memcpy(u->hash, h, sizeof(h));
			(void)auth_save(a);
		}
		mm_wipe(h, sizeof(h));
	}
	if ((r = mm_session_create(a->sessions, u->name, (int)u->role, now_ms,
	    token, &info)) != 0)
		return auth_error("internal", "cannot start a session");
	auth_event(a, MM_AUTH_EV_AUTH, MM_LOG_NOTICE,
	    "%s logged in from %s via %s as %s%s", u->name,
	    q->src, q->chan, mm_role_name(u->role),
	    auth_must_change(a, u, wall) ? " (must change the password)" : "");
	o = json_pack("{s:b, s:s, s:s}", "ok", 1, "token", token, "csrf", info.csrf);
	mm_wipe(token, sizeof(token));
	mm_wipe(info.csrf, sizeof(info.csrf));
	if (o != NULL && auth_describe(a, o, u, wall) != 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* ---- password changes ---- */

/* Policy, then "not the current one", then "none of the last N". */
static json_t *
auth_check_new(struct mm_auth *a, const struct mm_authuser *u, const char *pw)
{
	struct mm_pwcontext ctx = { u->name, a->conf.model, a->conf.serial,
	    a->conf.device_id };
	enum mm_pwrule rule;
	char why[160], msg[200];
	unsigned i, keep = a->conf.policy.history;
	json_t *o;

	rule = mm_pwpolicy_check(&a->conf.policy, a->deny, &ctx, pw, strlen(pw),
	    why, sizeof(why));
	if (rule == MM_PW_OK && mm_pwhash_verify(u->hash, pw, strlen(pw)) == 0) {
		rule = MM_PW_SAME;
		snprintf(why, sizeof(why), "must differ from the current password");
	}
	for (i = 0; rule == MM_PW_OK && i < u->nhistory && i < keep; i++) {
		if (mm_pwhash_verify(u->history[i], pw, strlen(pw)) == 0) {
			rule = MM_PW_REUSED;
			snprintf(why, sizeof(why), "must not be one of the last %u "
			    "passwords", keep);
		}
	}
	if (rule == MM_PW_OK)
		return NULL;
	auth_event(a, MM_AUTH_EV_AUTH, MM_LOG_NOTICE,
	    "new password for %s refused: %s", u->name,
	    mm_pwrule_name(rule));
	snprintf(msg, sizeof(msg), "The new password %s.", why);
	o = auth_error("policy", msg);
	if (o != NULL && json_object_set_new(o, "rule",
	    json_string(mm_pwrule_name(rule))) != 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* Stores pw for u; ends u's sessions. */
static json_t *
auth_set_password(struct mm_auth *a, struct mm_authuser *u, const char *pw,
    int initial, int64_t wall)
{
	char h[MM_PWHASH_STRLEN];
	size_t n;
	int r;

	if ((r = mm_pwhash(a->db.cls, pw, strlen(pw), h)) != 0)
		return auth_error("internal", "cannot hash the password");
	mm_authdb_set_hash(u, h, initial, a->conf.policy.history, wall);
	mm_wipe(h, sizeof(h));
	if ((r = auth_save(a)) != 0)
		return auth_error("internal", "cannot save the new password");
	n = mm_session_end_user(a->sessions, u->name);
	auth_event(a, MM_AUTH_EV_AUTH, MM_LOG_NOTICE,
	    "password of %s changed; %zu session(s) ended",
	    u->name, n);
	return auth_ok();
}

static json_t *
auth_passwd(struct mm_auth *a, const struct mm_admreq *q,
    struct mm_authuser *self, uint64_t now_ms, int64_t wall)
{
	struct mm_authuser *target = self;
	enum mm_throttle_verdict v;
	uint64_t retry = 0;
	json_t *o;

	if (q->user != NULL && strcmp(q->user, self->name) != 0) {
		/* an administrator resets someone else's password */
		if (self->role != MM_ROLE_ADMIN || auth_must_change(a, self, wall))
			return auth_error("denied", "only an administrator may "
			    "set another user's password");
		if ((target = mm_authdb_find(&a->db, q->user)) == NULL)
			return auth_error("state", "no such user");
	}
	/* the old password proves it is still the same person: throttled like
	 * a login, so a stolen session cannot be used to guess it */
	if ((v = mm_throttle_check(a->throttle, q->src, now_ms, &retry)) !=
	    MM_THROTTLE_GO) {
		a->counts.refused++;
		auth_note_lockouts(a, q->src, now_ms);
		return auth_retry(v == MM_THROTTLE_LOCKED ? "locked" : v ==
		    MM_THROTTLE_BUSY ? "busy" : "throttled",
		    "wait before trying again", retry);
	}
	if (mm_pwhash_verify(self->hash, q->old_pw, strlen(q->old_pw)) != 0) {
		a->counts.failures++;
		(void)mm_throttle_failure(a->throttle, q->src, now_ms);
		auth_note_lockouts(a, q->src, now_ms);
		auth_event(a, MM_AUTH_EV_AUTH, MM_LOG_NOTICE,
		    "password change for %s refused: wrong "
		    "current password (from %s)", target->name, q->src);
		return auth_error("auth", "the current password is wrong");
	}
	if ((o = auth_check_new(a, target, q->new_pw)) != NULL)
		return o;
	/* a password set by someone else must be changed by its owner */
	return auth_set_password(a, target, q->new_pw, target != self, wall);
}

/* ---- users ---- */

static json_t *
auth_users(struct mm_auth *a, int64_t wall)
{
	json_t *o, *list;
	size_t i;

	if ((list = json_array()) == NULL)
		return NULL;
	for (i = 0; i < a->db.nusers; i++) {
		const struct mm_authuser *u = &a->db.users[i];

		if (json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:I}",
		    "user", u->name, "role", mm_role_name(u->role), "must_change",
		    auth_must_change(a, u, wall), "changed", (json_int_t)u->changed))
		    != 0) {
			json_decref(list);
			return NULL;
		}
	}
	o = json_pack("{s:b, s:o}", "ok", 1, "users", list);
	return o;
}

static json_t *
auth_user_add(struct mm_auth *a, const struct mm_admreq *q,
    const struct mm_authuser *self, int64_t wall)
{
	struct mm_authuser probe;
	enum mm_role role;
	char h[MM_PWHASH_STRLEN];
	json_t *o;
	int r;

	if (!mm_user_name_valid(q->user))
		return auth_error("format", "a user name is 1-32 of a-z, 0-9, '.', "
		    "'_', '-', starting with a letter");
	if (mm_role_parse(q->role, &role) != 0)
		return auth_error("format", "role must be viewer, operator or admin");
	if (mm_authdb_find(&a->db, q->user) != NULL)
		return auth_error("state", "that user exists already");
	if (a->db.nusers >= MM_AUTH_USERS_MAX)
		return auth_error("state", "no room for more users");
	memset(&probe, 0, sizeof(probe));
	mm_strlcpy(probe.name, q->user, sizeof(probe.name));
	memcpy(probe.hash, a->dummy, sizeof(probe.hash));
	if ((o = auth_check_new(a, &probe, q->password)) != NULL)
		return o;
	if (mm_pwhash(a->db.cls, q->password, strlen(q->password), h) != 0)
		return auth_error("internal", "cannot hash the password");
	/* the new user must choose their own password at first login */
	r = mm_authdb_add(&a->db, q->user, role, h, 1, wall);
	mm_wipe(h, sizeof(h));
	if (r != 0 || auth_save(a) != 0) {
		(void)mm_authdb_del(&a->db, q->user);
		return auth_error("internal", "cannot add the user");
	}
	auth_event(a, MM_AUTH_EV_AUTH, MM_LOG_NOTICE,
	    "%s added user %s (%s)", self->name, q->user,
	    mm_role_name(role));
	return auth_ok();
}

static json_t *
auth_user_del(struct mm_auth *a, const struct mm_admreq *q,
    const struct mm_authuser *self)
{
	struct mm_authuser *u = mm_authdb_find(&a->db, q->user);
	struct mm_authuser saved;

	if (u == NULL)
		return auth_error("state", "no such user");
	if (u == self)
		return auth_error("state", "you cannot delete yourself");
	if (u->role == MM_ROLE_ADMIN && mm_authdb_admins(&a->db) <= 1)
		return auth_error("state", "the last administrator stays");
	saved = *u;
	(void)mm_authdb_del(&a->db, q->user);
	if (auth_save(a) != 0) {
		(void)mm_authdb_add(&a->db, saved.name, saved.role, saved.hash,
		    saved.initial, saved.changed);
		mm_wipe(&saved, sizeof(saved));
		return auth_error("internal", "cannot delete the user");
	}
	(void)mm_session_end_user(a->sessions, saved.name);
	auth_event(a, MM_AUTH_EV_AUTH, MM_LOG_NOTICE,
	    "%s deleted user %s", self->name, saved.name);
	mm_wipe(&saved, sizeof(saved));
	return auth_ok();
}

/* ---- maintenance ---- */

/* The presence switch reads "1" while someone at the device presses it. */
static int
auth_presence(const struct mm_auth *a)
{
	char c = 0;
	int fd, ok;

	if (a->conf.presence[0] == '\0')
		return 0;
	if ((fd = open(a->conf.presence, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return 0;
	ok = read(fd, &c, 1) == 1 && c == '1';
	close(fd);
	return ok;
}

int
mm_auth_maintenance(struct mm_auth *a, unsigned minutes, int64_t wall,
    const char *by)
{
	int64_t old = a->db.maint_until;
	int r;

	if (minutes > a->conf.maint_max_min)
		return MM_ERR_RANGE;
	a->db.maint_until = minutes == 0 ? 0 : wall + (int64_t)minutes * 60;
	if ((r = auth_save(a)) != 0) {
		a->db.maint_until = old;
		return r;
	}
	if (minutes == 0)
		auth_event(a, MM_AUTH_EV_CONFIG, MM_LOG_NOTICE,
		    "maintenance mode off (%s)", by);
	else
		auth_event(a, MM_AUTH_EV_CONFIG, MM_LOG_WARN,
		    "maintenance mode on for %u minutes (%s)",
		    minutes, by);
	return MM_OK;
}

static json_t *
auth_maint(struct mm_auth *a, const struct mm_admreq *q,
    const struct mm_authuser *self, int64_t wall)
{
	char by[MM_USER_MAX + 80];

	if (q->minutes > a->conf.maint_max_min)
		return auth_error("format", "maintenance window too long");
	if (q->minutes > 0 && !auth_presence(a)) {
		auth_event(a, MM_AUTH_EV_CONFIG, MM_LOG_NOTICE,
		    "maintenance mode refused for %s: no "
		    "physical presence", self->name);
		return auth_error("presence", "press the maintenance button on "
		    "the device, then try again");
	}
	snprintf(by, sizeof(by), "%s from %s", self->name, q->src);
	if (mm_auth_maintenance(a, (unsigned)q->minutes, wall, by) != 0)
		return auth_error("internal", "cannot save the maintenance state");
	return json_pack("{s:b, s:I}", "ok", 1, "maintenance_until",
	    (json_int_t)a->db.maint_until);
}

int
mm_auth_cred_reset(struct mm_auth *a, const char *user, int64_t wall,
    char secret[MM_AUTH_SECRET_LEN + 1])
{
	struct mm_authuser *u = mm_authdb_find(&a->db, user);
	char s[MM_AUTH_SECRET_LEN + 1], h[MM_PWHASH_STRLEN];
	int r;

	if (u == NULL)
		return MM_ERR_NOT_FOUND;
	mm_auth_secret(s);
	if ((r = mm_pwhash(a->db.cls, s, strlen(s), h)) == 0) {
		mm_authdb_set_hash(u, h, 1, a->conf.policy.history, wall);
		if ((r = auth_save(a)) == 0) {
			(void)mm_session_end_user(a->sessions, u->name);
			memcpy(secret, s, sizeof(s));
			auth_event(a, MM_AUTH_EV_AUTH, MM_LOG_WARN,
			    "credentials of %s reset by the fleet; "
			    "they must be changed at the next login", u->name);
		}
	}
	mm_wipe(s, sizeof(s));
	mm_wipe(h, sizeof(h));
	return r;
}

/* Diagnostics, a maintenance function: shut unless maintenance mode is on
 * (KP4.h: no hidden maintenance interface that is always open). */
static json_t *
auth_diag(struct mm_auth *a, uint64_t now_ms, int64_t wall)
{
	struct mm_throttle_stats ts;

	if (a->db.maint_until <= wall)
		return auth_error("state", "maintenance mode is off");
	mm_throttle_stats(a->throttle, now_ms, &ts);
	return json_pack("{s:b, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:I, s:I}",
	    "ok", 1, "maintenance_until", (json_int_t)a->db.maint_until,
	    "throttle", "failures", (json_int_t)ts.failures, "refused",
	    (json_int_t)ts.refused, "lockouts", (json_int_t)ts.lockouts,
	    "evicted", (json_int_t)ts.evicted, "sources", (json_int_t)ts.sources,
	    "locked", (json_int_t)ts.locked,
	    "sessions", (json_int_t)mm_session_expire(a->sessions, now_ms),
	    "users", (json_int_t)a->db.nusers);
}

/* ---- dispatch ---- */

static json_t *
auth_with_session(struct mm_auth *a, const struct mm_admreq *q,
    const struct mm_auth_hooks *h, uint64_t now_ms, int64_t wall)
{
	struct mm_session_info info;
	struct mm_authuser *self;
	json_t *o;
	int r;

	if (mm_session_lookup(a->sessions, q->token, now_ms, 1, &info) != 0)
		return auth_error("session", "not logged in, or the session "
		    "has ended");
	/* the account may have gone or changed role since the login */
	if ((self = mm_authdb_find(&a->db, info.user)) == NULL ||
	    (int)self->role != info.role) {
		(void)mm_session_end(a->sessions, q->token);
		return auth_error("session", "the session has ended");
	}
	if (strcmp(q->chan, "web") == 0 && mm_admop_changes_state(q->op) &&
	    !mm_session_csrf_ok(&info, q->csrf)) {
		auth_event(a, MM_AUTH_EV_ATTACK, MM_LOG_WARN,
		    "request %s from %s refused: bad CSRF token",
		    mm_admop_name(q->op), q->src);
		return auth_error("csrf", "the form has expired; reload the page");
	}
	if (!auth_ops[q->op].while_initial && auth_must_change(a, self, wall))
		return auth_error("must_change", "change your password first");
	if ((int)self->role < (int)auth_ops[q->op].role) {
		auth_event(a, MM_AUTH_EV_ATTACK, MM_LOG_WARN,
		    "%s (%s) may not %s", self->name,
		    mm_role_name(self->role), mm_admop_name(q->op));
		return auth_error("denied", "your role does not allow this");
	}
	switch (q->op) {
	case MM_ADM_LOGOUT:
		(void)mm_session_end(a->sessions, q->token);
		auth_event(a, MM_AUTH_EV_AUTH, MM_LOG_INFO, "%s logged out",
		    self->name);
		return auth_ok();
	case MM_ADM_WHOAMI:
		o = json_pack("{s:b, s:s, s:I, s:I}", "ok", 1, "csrf", info.csrf,
		    "idle_left", (json_int_t)(info.idle_left_ms / 1000),
		    "session_left", (json_int_t)(info.absolute_left_ms / 1000));
		break;
	case MM_ADM_PASSWD:
		return auth_passwd(a, q, self, now_ms, wall);
	case MM_ADM_STATUS:
		o = json_pack("{s:b, s:b, s:I}", "ok", 1, "cred_initial",
		    mm_auth_cred_initial(a), "maintenance_until",
		    (json_int_t)(a->db.maint_until > wall ? a->db.maint_until : 0));
		if (o != NULL && h != NULL && h->status != NULL &&
		    h->status(h->arg, o) != 0) {
			json_decref(o);
			return auth_error("internal", "cannot read the status");
		}
		break;
	case MM_ADM_USERS:
		return auth_users(a, wall);
	case MM_ADM_USER_ADD:
		return auth_user_add(a, q, self, wall);
	case MM_ADM_USER_DEL:
		return auth_user_del(a, q, self);
	case MM_ADM_CONFIG_SET:
		if (h == NULL || h->config_set == NULL)
			return auth_error("state", "no settings here");
		if ((r = h->config_set(h->arg, q->key, q->value)) != 0)
			return auth_error("format", r == MM_ERR_NOT_FOUND ?
			    "unknown setting" : "value out of range");
		auth_event(a, MM_AUTH_EV_CONFIG, MM_LOG_NOTICE,
		    "%s set %s to %lld", self->name, q->key,
		    (long long)q->value);
		return auth_ok();
	case MM_ADM_MAINTENANCE:
		return auth_maint(a, q, self, wall);
	case MM_ADM_DIAG:
		return auth_diag(a, now_ms, wall);
	default:
		return auth_error("internal", "unhandled request");
	}
	if (o != NULL && auth_describe(a, o, self, wall) != 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

json_t *
mm_auth_handle(struct mm_auth *a, const struct mm_admreq *q,
    const struct mm_auth_hooks *h, uint64_t now_ms, int64_t wall)
{
	if (q->src == NULL || q->chan == NULL || (unsigned)q->op >= MM_ADM__COUNT)
		return auth_error("format", "incomplete request");
	if (q->op == MM_ADM_LOGIN)
		return auth_login(a, q, now_ms, wall);
	return auth_with_session(a, q, h, now_ms, wall);
}
