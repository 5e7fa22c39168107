/* Unit tests for local authentication: the factory step, first start,
 * policy, throttling, roles, sessions, CSRF, maintenance, credential reset
 * (src/device/mm_auth.c, mm_authdb.c, mm_admin_msg.c, mm_pwhash.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "device/mm_auth.h"

#define GOOD "Lantern-Quiet-47"
#define GOOD2 "Harbor+Maple-93"
#define GOOD3 "Copper;Violet-18"

static char dir[64], path[128], presence[128];
static char secret[MM_AUTH_SECRET_LEN + 1];
static struct mm_auth *A;
static uint64_t now_ms = 1000000;
static int64_t wall = 1800000000;
static int64_t hb_set;

static int
hook_status(void *arg, json_t *o)
{
	(void)arg;
	return json_object_set_new(o, "model", json_string("CamX")) == 0 ?
	    MM_OK : MM_ERR_ALLOC;
}

static int
hook_config(void *arg, const char *key, int64_t v)
{
	(void)arg;
	if (strcmp(key, "heartbeat_interval") != 0)
		return MM_ERR_NOT_FOUND;
	hb_set = v;
	return MM_OK;
}

static const struct mm_auth_hooks hooks = { hook_status, hook_config, NULL };

static void
open_auth(unsigned expiry_days)
{
	struct mm_auth_conf c;

	mm_auth_defaults(&c);
	snprintf(c.denylist, sizeof(c.denylist), "%s", MM_DENYLIST);
	snprintf(c.presence, sizeof(c.presence), "%s", presence);
	snprintf(c.model, sizeof(c.model), "CamX200");
	snprintf(c.serial, sizeof(c.serial), "SN4455667788");
	snprintf(c.device_id, sizeof(c.device_id), "d-0123456789abcdef");
	c.expiry_days = expiry_days;
	assert_int_equal(mm_auth_open(path, &c, &A), MM_OK);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mm-auth-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/auth.json", dir);
	snprintf(presence, sizeof(presence), "%s/button", dir);
	assert_int_equal(mm_auth_factory(path, MM_PWCLASS_SMALL, "admin", wall,
	    secret), MM_OK);
	open_auth(0);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[160];

	(void)state;
	mm_auth_free(A);
	A = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Sends one request given as JSON text (from the admin worker). */
static json_t *ask(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *
ask(const char *fmt, ...)
{
	char text[2048];
	struct mm_admreq q;
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	assert_int_equal(mm_admreq_parse(text, strlen(text), MM_ADMREQ_WORKER, &q),
	    MM_OK);
	o = mm_auth_handle(A, &q, &hooks, now_ms, wall);
	mm_admreq_free(&q);
	assert_non_null(o);
	return o;
}

static void
expect_error(json_t *o, const char *code)
{
	assert_false(json_is_true(json_object_get(o, "ok")));
	assert_string_equal(json_string_value(json_object_get(o, "error")), code);
	json_decref(o);
}

static void
expect_ok(json_t *o)
{
	if (!json_is_true(json_object_get(o, "ok")))
		fail_msg("refused: %s", json_string_value(json_object_get(o, "message")));
	json_decref(o);
}

/* Logs in from src; copies token and csrf. */
static json_t *
login(const char *user, const char *pw, const char *src, char tok[65],
    char csrf[65])
{
	json_t *o = ask("{\"op\":\"login\",\"user\":\"%s\",\"password\":\"%s\","
	    "\"src\":\"%s\",\"chan\":\"ctl\"}", user, pw, src);

	if (json_is_true(json_object_get(o, "ok"))) {
		snprintf(tok, 65, "%s", json_string_value(json_object_get(o, "token")));
		if (csrf != NULL)
			snprintf(csrf, 65, "%s",
			    json_string_value(json_object_get(o, "csrf")));
	}
	return o;
}

static void
passwd(const char *tok, const char *old, const char *new_pw, const char *code)
{
	json_t *o = ask("{\"op\":\"passwd\",\"token\":\"%s\",\"old\":\"%s\","
	    "\"new\":\"%s\",\"src\":\"local:uid=0\",\"chan\":\"ctl\"}", tok, old,
	    new_pw);

	if (code == NULL)
		expect_ok(o);
	else
		expect_error(o, code);
}

/* Logs admin in with the initial secret and sets GOOD. */
static void
first_start(void)
{
	char tok[65];

	json_decref(login("admin", secret, "local:uid=0", tok, NULL));
	passwd(tok, secret, GOOD, NULL);
}

static void
test_factory(void **state)
{
	char other[MM_AUTH_SECRET_LEN + 1], p2[160], *text;
	size_t len, i;

	(void)state;
	/* shape: 4 groups of 4 from the alphabet */
	assert_int_equal(strlen(secret), MM_AUTH_SECRET_LEN);
	for (i = 0; i < MM_AUTH_SECRET_LEN; i++) {
		if (i % 5 == 4)
			assert_int_equal(secret[i], '-');
		else
			assert_non_null(strchr(MM_AUTH_ALPHABET, secret[i]));
	}
	/* never twice the same, and the file holds only a hash */
	snprintf(p2, sizeof(p2), "%s/auth2.json", dir);
	assert_int_equal(mm_auth_factory(p2, MM_PWCLASS_SMALL, "admin", wall,
	    other), MM_OK);
	assert_string_not_equal(secret, other);
	assert_int_equal(mm_file_read(path, 65536, &text, &len), MM_OK);
	assert_null(strstr(text, secret));
	assert_non_null(strstr(text, "$argon2id$"));
	free(text);
	assert_int_equal(mm_auth_factory(p2, MM_PWCLASS_SMALL, "admin", wall,
	    other), MM_ERR_EXISTS);
	assert_true(mm_auth_cred_initial(A));
}

static void
test_first_start(void **state)
{
	char tok[65], tok2[65];
	json_t *o;

	(void)state;
	o = login("admin", secret, "local:uid=0", tok, NULL);
	assert_true(json_is_true(json_object_get(o, "must_change")));
	json_decref(o);
	/* everything but changing it is refused */
	expect_error(ask("{\"op\":\"status\",\"token\":\"%s\",\"src\":\"local:uid=0\","
	    "\"chan\":\"ctl\"}", tok), "must_change");
	expect_error(ask("{\"op\":\"users\",\"token\":\"%s\",\"src\":\"local:uid=0\","
	    "\"chan\":\"ctl\"}", tok), "must_change");
	expect_error(ask("{\"op\":\"config_set\",\"token\":\"%s\",\"key\":"
	    "\"heartbeat_interval\",\"value\":5,\"src\":\"local:uid=0\",\"chan\":"
	    "\"ctl\"}", tok), "must_change");
	/* the initial secret cannot be kept */
	passwd(tok, secret, secret, "policy");
	/* well-known defaults are refused by the policy, each saying why */
	o = ask("{\"op\":\"passwd\",\"token\":\"%s\",\"old\":\"%s\",\"new\":"
	    "\"admin\",\"src\":\"local:uid=0\",\"chan\":\"ctl\"}", tok, secret);
	assert_string_equal(json_string_value(json_object_get(o, "rule")), "too_short");
	json_decref(o);
	o = ask("{\"op\":\"passwd\",\"token\":\"%s\",\"old\":\"%s\",\"new\":"
	    "\"Password1!\",\"src\":\"local:uid=0\",\"chan\":\"ctl\"}", tok, secret);
	assert_string_equal(json_string_value(json_object_get(o, "rule")), "denylist");
	json_decref(o);
	o = ask("{\"op\":\"passwd\",\"token\":\"%s\",\"old\":\"%s\",\"new\":"
	    "\"x-SN4455667788-y\",\"src\":\"local:uid=0\",\"chan\":\"ctl\"}", tok,
	    secret);
	assert_string_equal(json_string_value(json_object_get(o, "rule")), "personal");
	json_decref(o);
	passwd(tok, "wrong-old-pw", GOOD, "auth");
	passwd(tok, secret, GOOD, NULL);
	assert_false(mm_auth_cred_initial(A));
	/* the change ended the session */
	expect_error(ask("{\"op\":\"whoami\",\"token\":\"%s\",\"src\":\"local:uid=0\","
	    "\"chan\":\"ctl\"}", tok), "session");
	/* the old secret is dead, the new password works, nothing is refused */
	expect_error(login("admin", secret, "local:uid=0", tok2, NULL), "auth");
	o = login("admin", GOOD, "local:uid=0", tok2, NULL);
	assert_false(json_is_true(json_object_get(o, "must_change")));
	json_decref(o);
	o = ask("{\"op\":\"status\",\"token\":\"%s\",\"src\":\"local:uid=0\","
	    "\"chan\":\"ctl\"}", tok2);
	assert_true(json_is_true(json_object_get(o, "ok")));
	assert_false(json_is_true(json_object_get(o, "cred_initial")));
	assert_string_equal(json_string_value(json_object_get(o, "model")), "CamX");
	json_decref(o);
	/* the state survives a restart */
	mm_auth_free(A);
	open_auth(0);
	assert_false(mm_auth_cred_initial(A));
}

static void
test_bruteforce(void **state)
{
	char tok[65];
	unsigned i, verified = 0, locked_at = 0;
	json_t *o;

	(void)state;
	first_start();
	/* 10,000 wrong attempts from one source, 10 ms apart (100 s in all,
	 * less than the 900 s lockout) */
	for (i = 0; i < 10000; i++) {
		const char *err;

		o = login("admin", "Wrong-Guess-123", "ip:192.0.2.66", tok, NULL);
		err = json_string_value(json_object_get(o, "error"));
		assert_non_null(err);
		if (strcmp(err, "auth") == 0)
			verified++;
		if (strcmp(err, "locked") == 0 && locked_at == 0)
			locked_at = i + 1;
		json_decref(o);
		now_ms += 10;
	}
	/* 3 free failures, a 1 s delay after the 4th, locked after 20
	 * attempts that would not wait (mm_throttle.h) */
	assert_int_equal(verified, 4);
	assert_int_equal(locked_at, 24);
	/* the attacker is refused even with the right password */
	expect_error(login("admin", GOOD, "ip:192.0.2.66", tok, NULL), "locked");
	/* another source still logs in */
	expect_ok(login("admin", GOOD, "ip:192.0.2.7", tok, NULL));
	/* reported to the fleet, then counted afresh */
	{
		struct mm_auth_report r;

		mm_auth_report(A, now_ms, &r);
		assert_int_equal(r.failures, 4);
		assert_int_equal(r.lockouts, 1);
		assert_int_equal(r.refused, 10000 - 4 + 1);
		mm_auth_report(A, now_ms, &r);
		assert_int_equal(r.failures, 0);
	}
	/* unknown users fail the same way */
	o = login("nobody", "Whatever-123", "ip:192.0.2.8", tok, NULL);
	assert_string_equal(json_string_value(json_object_get(o, "message")),
	    "wrong user name or password");
	json_decref(o);
}

static void
test_roles(void **state)
{
	char adm[65], tok[65], csrf[65];
	json_t *o;

	(void)state;
	first_start();
	json_decref(login("admin", GOOD, "local:uid=0", adm, NULL));
	expect_ok(ask("{\"op\":\"user_add\",\"token\":\"%s\",\"user\":\"vera\","
	    "\"role\":\"viewer\",\"password\":\"%s\",\"src\":\"local:uid=0\","
	    "\"chan\":\"ctl\"}", adm, GOOD2));
	expect_ok(ask("{\"op\":\"user_add\",\"token\":\"%s\",\"user\":\"otto\","
	    "\"role\":\"operator\",\"password\":\"%s\",\"src\":\"local:uid=0\","
	    "\"chan\":\"ctl\"}", adm, GOOD2));
	/* a weak first password is refused for new users too */
	expect_error(ask("{\"op\":\"user_add\",\"token\":\"%s\",\"user\":\"weak\","
	    "\"role\":\"viewer\",\"password\":\"12345678\",\"src\":\"local:uid=0\","
	    "\"chan\":\"ctl\"}", adm), "policy");
	/* a new user must choose their own password first */
	o = login("vera", GOOD2, "local:uid=1000", tok, NULL);
	assert_true(json_is_true(json_object_get(o, "must_change")));
	json_decref(o);
	passwd(tok, GOOD2, GOOD3, NULL);
	json_decref(login("vera", GOOD3, "local:uid=1000", tok, csrf));
	expect_ok(ask("{\"op\":\"status\",\"token\":\"%s\",\"src\":\"local:uid=1000\","
	    "\"chan\":\"ctl\"}", tok));
	expect_error(ask("{\"op\":\"users\",\"token\":\"%s\",\"src\":\"local:uid=1000\","
	    "\"chan\":\"ctl\"}", tok), "denied");
	expect_error(ask("{\"op\":\"config_set\",\"token\":\"%s\",\"key\":"
	    "\"heartbeat_interval\",\"value\":5,\"src\":\"local:uid=1000\",\"chan\":"
	    "\"ctl\"}", tok), "denied");
	expect_error(ask("{\"op\":\"passwd\",\"token\":\"%s\",\"old\":\"%s\","
	    "\"new\":\"%s\",\"user\":\"admin\",\"src\":\"local:uid=1000\",\"chan\":"
	    "\"ctl\"}", tok, GOOD3, GOOD2), "denied");
	/* the operator may change settings */
	json_decref(login("otto", GOOD2, "local:uid=1001", tok, NULL));
	passwd(tok, GOOD2, GOOD3, NULL);
	json_decref(login("otto", GOOD3, "local:uid=1001", tok, NULL));
	expect_ok(ask("{\"op\":\"config_set\",\"token\":\"%s\",\"key\":"
	    "\"heartbeat_interval\",\"value\":45,\"src\":\"local:uid=1001\",\"chan\":"
	    "\"ctl\"}", tok));
	assert_int_equal(hb_set, 45);
	expect_error(ask("{\"op\":\"user_del\",\"token\":\"%s\",\"user\":\"vera\","
	    "\"src\":\"local:uid=1001\",\"chan\":\"ctl\"}", tok), "denied");
	/* the administrator may; never themselves or the last admin */
	expect_error(ask("{\"op\":\"user_del\",\"token\":\"%s\",\"user\":\"admin\","
	    "\"src\":\"local:uid=0\",\"chan\":\"ctl\"}", adm), "state");
	expect_ok(ask("{\"op\":\"user_del\",\"token\":\"%s\",\"user\":\"otto\","
	    "\"src\":\"local:uid=0\",\"chan\":\"ctl\"}", adm));
	/* a deleted user's session is gone */
	expect_error(ask("{\"op\":\"whoami\",\"token\":\"%s\",\"src\":\"local:uid=1001\","
	    "\"chan\":\"ctl\"}", tok), "session");
}

static void
test_csrf_and_timeouts(void **state)
{
	char tok[65], csrf[65];

	(void)state;
	first_start();
	json_decref(login("admin", GOOD, "ip:192.0.2.9", tok, csrf));
	/* from the web, a state change needs the session's CSRF token */
	expect_error(ask("{\"op\":\"config_set\",\"token\":\"%s\",\"key\":"
	    "\"heartbeat_interval\",\"value\":5,\"src\":\"ip:192.0.2.9\",\"chan\":"
	    "\"web\"}", tok), "csrf");
	expect_error(ask("{\"op\":\"config_set\",\"token\":\"%s\",\"key\":"
	    "\"heartbeat_interval\",\"value\":5,\"src\":\"ip:192.0.2.9\",\"chan\":"
	    "\"web\",\"csrf\":\"%064d\"}", tok, 0), "csrf");
	expect_ok(ask("{\"op\":\"config_set\",\"token\":\"%s\",\"key\":"
	    "\"heartbeat_interval\",\"value\":5,\"src\":\"ip:192.0.2.9\",\"chan\":"
	    "\"web\",\"csrf\":\"%s\"}", tok, csrf));
	/* reading needs none */
	expect_ok(ask("{\"op\":\"status\",\"token\":\"%s\",\"src\":\"ip:192.0.2.9\","
	    "\"chan\":\"web\"}", tok));
	/* idle time-out (default 900 s) */
	now_ms += 901 * 1000;
	expect_error(ask("{\"op\":\"status\",\"token\":\"%s\",\"src\":\"ip:192.0.2.9\","
	    "\"chan\":\"web\"}", tok), "session");
	/* logout ends it */
	json_decref(login("admin", GOOD, "ip:192.0.2.9", tok, csrf));
	expect_ok(ask("{\"op\":\"logout\",\"token\":\"%s\",\"src\":\"ip:192.0.2.9\","
	    "\"chan\":\"web\",\"csrf\":\"%s\"}", tok, csrf));
	expect_error(ask("{\"op\":\"status\",\"token\":\"%s\",\"src\":\"ip:192.0.2.9\","
	    "\"chan\":\"web\"}", tok), "session");
}

static void
test_history(void **state)
{
	char tok[65];

	(void)state;
	first_start();
	json_decref(login("admin", GOOD, "local:uid=0", tok, NULL));
	passwd(tok, GOOD, GOOD, "policy");		/* same */
	passwd(tok, GOOD, GOOD2, NULL);
	json_decref(login("admin", GOOD2, "local:uid=0", tok, NULL));
	passwd(tok, GOOD2, GOOD, "policy");		/* one of the last 5 */
	passwd(tok, GOOD2, GOOD3, NULL);
}

static void
test_expiry(void **state)
{
	char tok[65];
	json_t *o;

	(void)state;
	first_start();
	mm_auth_free(A);
	open_auth(30);
	wall += 20 * 86400;
	o = login("admin", GOOD, "local:uid=0", tok, NULL);
	assert_false(json_is_true(json_object_get(o, "must_change")));
	assert_int_equal(json_integer_value(json_object_get(o, "expires_in_days")), 10);
	json_decref(o);
	wall += 11 * 86400;
	o = login("admin", GOOD, "local:uid=0", tok, NULL);
	assert_true(json_is_true(json_object_get(o, "must_change")));
	json_decref(o);
	expect_error(ask("{\"op\":\"status\",\"token\":\"%s\",\"src\":\"local:uid=0\","
	    "\"chan\":\"ctl\"}", tok), "must_change");
	passwd(tok, GOOD, GOOD2, NULL);
}

static void
test_maintenance(void **state)
{
	char tok[65];
	json_t *o;

	(void)state;
	first_start();
	json_decref(login("admin", GOOD, "local:uid=0", tok, NULL));
	/* off by default: the maintenance function is shut */
	expect_error(ask("{\"op\":\"diag\",\"token\":\"%s\",\"src\":\"local:uid=0\","
	    "\"chan\":\"ctl\"}", tok), "state");
	/* no physical presence, no maintenance mode */
	expect_error(ask("{\"op\":\"maintenance\",\"token\":\"%s\",\"minutes\":30,"
	    "\"src\":\"local:uid=0\",\"chan\":\"ctl\"}", tok), "presence");
	assert_int_equal(mm_file_write_atomic(presence, "0", 1, 0600), MM_OK);
	expect_error(ask("{\"op\":\"maintenance\",\"token\":\"%s\",\"minutes\":30,"
	    "\"src\":\"local:uid=0\",\"chan\":\"ctl\"}", tok), "presence");
	assert_int_equal(mm_file_write_atomic(presence, "1", 1, 0600), MM_OK);
	/* bounded */
	expect_error(ask("{\"op\":\"maintenance\",\"token\":\"%s\",\"minutes\":600,"
	    "\"src\":\"local:uid=0\",\"chan\":\"ctl\"}", tok), "format");
	o = ask("{\"op\":\"maintenance\",\"token\":\"%s\",\"minutes\":30,"
	    "\"src\":\"local:uid=0\",\"chan\":\"ctl\"}", tok);
	assert_int_equal(json_integer_value(json_object_get(o, "maintenance_until")),
	    wall + 1800);
	json_decref(o);
	expect_ok(ask("{\"op\":\"diag\",\"token\":\"%s\",\"src\":\"local:uid=0\","
	    "\"chan\":\"ctl\"}", tok));
	/* it ends by itself */
	wall += 1801;
	expect_error(ask("{\"op\":\"diag\",\"token\":\"%s\",\"src\":\"local:uid=0\","
	    "\"chan\":\"ctl\"}", tok), "state");
	/* from the fleet, no button needed; bounded as well */
	assert_int_equal(mm_auth_maintenance(A, 10, wall, "test"), MM_OK);
	assert_int_equal(mm_auth_maintenance(A, 100000, wall, "test"), MM_ERR_RANGE);
	expect_ok(ask("{\"op\":\"diag\",\"token\":\"%s\",\"src\":\"local:uid=0\","
	    "\"chan\":\"ctl\"}", tok));
	assert_int_equal(mm_auth_maintenance(A, 0, wall, "test"), MM_OK);
	expect_error(ask("{\"op\":\"diag\",\"token\":\"%s\",\"src\":\"local:uid=0\","
	    "\"chan\":\"ctl\"}", tok), "state");
}

static void
test_cred_reset(void **state)
{
	char tok[65], tok2[65], s2[MM_AUTH_SECRET_LEN + 1];
	json_t *o;

	(void)state;
	first_start();
	json_decref(login("admin", GOOD, "local:uid=0", tok, NULL));
	assert_int_equal(mm_auth_cred_reset(A, "nobody", wall, s2), MM_ERR_NOT_FOUND);
	assert_int_equal(mm_auth_cred_reset(A, "admin", wall, s2), MM_OK);
	assert_string_not_equal(s2, secret);
	assert_true(mm_auth_cred_initial(A));
	/* sessions ended, old password dead, the new secret must be changed */
	expect_error(ask("{\"op\":\"whoami\",\"token\":\"%s\",\"src\":\"local:uid=0\","
	    "\"chan\":\"ctl\"}", tok), "session");
	expect_error(login("admin", GOOD, "local:uid=0", tok2, NULL), "auth");
	o = login("admin", s2, "local:uid=0", tok2, NULL);
	assert_true(json_is_true(json_object_get(o, "must_change")));
	json_decref(o);
}

static int
parse_worker(const char *text, struct mm_admreq *q)
{
	return mm_admreq_parse(text, strlen(text), MM_ADMREQ_WORKER, q);
}

static char audit_text[8192];
static unsigned audit_n[3];

static void
audit_sink(void *arg, enum mm_auth_event ev, int severity, const char *text)
{
	size_t used = strlen(audit_text);

	(void)arg;
	assert_true(severity >= 0 && severity <= 7);
	audit_n[ev]++;
	(void)snprintf(audit_text + used, sizeof(audit_text) - used, "%s\n", text);
}

/* Every security event reaches the audit sink (the sealed log), and no
 * password does. */
static void
test_audit(void **state)
{
	char tok[65];
	unsigned i;

	(void)state;
	memset(audit_n, 0, sizeof(audit_n));
	audit_text[0] = '\0';
	mm_auth_set_audit(A, audit_sink, NULL);
	first_start();
	assert_true(audit_n[MM_AUTH_EV_AUTH] >= 2);	/* login, change */
	for (i = 0; i < 30; i++)
		json_decref(login("admin", "Wrong-Guess-123", "ip:192.0.2.66", tok,
		    NULL));
	assert_true(audit_n[MM_AUTH_EV_ATTACK] >= 1);
	assert_non_null(strstr(audit_text, "ip:192.0.2.66 locked out"));
	json_decref(login("admin", GOOD, "local:uid=0", tok, NULL));
	expect_ok(ask("{\"op\":\"config_set\",\"token\":\"%s\",\"key\":"
	    "\"heartbeat_interval\",\"value\":30,\"src\":\"local:uid=0\","
	    "\"chan\":\"ctl\"}", tok));
	assert_int_equal(audit_n[MM_AUTH_EV_CONFIG], 1);
	assert_null(strstr(audit_text, GOOD));
	assert_null(strstr(audit_text, secret));
	assert_null(strstr(audit_text, "Wrong-Guess"));
	assert_null(strstr(audit_text, tok));
	mm_auth_set_audit(A, NULL, NULL);
}

static void
test_admreq_parse(void **state)
{
	static const char *bad_client[] = {
		"", "[]", "{}", "{\"op\":\"fly\"}",
		"{\"op\":\"login\",\"user\":\"a\"}",
		"{\"op\":\"login\",\"user\":\"a\",\"password\":\"b\",\"extra\":1}",
		"{\"op\":\"login\",\"user\":\"a\",\"password\":\"b\",\"src\":\"ip:1\"}",
		"{\"op\":\"login\",\"user\":\"a\",\"user\":\"b\",\"password\":\"c\"}",
		"{\"op\":\"login\",\"user\":\"a\\u0000b\",\"password\":\"c\"}",
		"{\"op\":\"login\",\"user\":\"a\\nb\",\"password\":\"c\"}",
		"{\"op\":\"login\",\"user\":\"a\xff\",\"password\":\"c\"}",
		"{\"op\":\"login\",\"user\":1,\"password\":\"c\"}",
		"{\"op\":\"whoami\",\"token\":\"abc\"}",
		"{\"op\":\"maintenance\",\"token\":\"0000000000000000000000000000000000"
		    "000000000000000000000000000000\",\"minutes\":-1}",
		"{\"op\":\"maintenance\",\"token\":\"0000000000000000000000000000000000"
		    "000000000000000000000000000000\",\"minutes\":1.5}",
	};
	char big[MM_ADMREQ_MAX + 64];
	struct mm_admreq q;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_client) / sizeof(bad_client[0]); i++)
		if (mm_admreq_parse(bad_client[i], strlen(bad_client[i]),
		    MM_ADMREQ_CLIENT, &q) == MM_OK)
			fail_msg("accepted: %s", bad_client[i]);
	/* an overlong password */
	snprintf(big, sizeof(big), "{\"op\":\"login\",\"user\":\"a\",\"password\":"
	    "\"%0200d\"}", 1);
	assert_int_equal(mm_admreq_parse(big, strlen(big), MM_ADMREQ_CLIENT, &q),
	    MM_ERR_RANGE);
	memset(big, ' ', sizeof(big));
	assert_int_equal(mm_admreq_parse(big, sizeof(big), MM_ADMREQ_CLIENT, &q),
	    MM_ERR_TOO_LARGE);
	/* from the worker, src and chan are required */
	assert_int_not_equal(parse_worker("{\"op\":\"login\",\"user\":\"a\","
	    "\"password\":\"b\"}", &q), MM_OK);
	assert_int_equal(parse_worker("{\"op\":\"login\",\"user\":\"a\","
	    "\"password\":\"b\",\"src\":\"ip:1\",\"chan\":\"web\"}", &q), MM_OK);
	assert_int_equal(q.op, MM_ADM_LOGIN);
	assert_string_equal(q.src, "ip:1");
	mm_admreq_free(&q);
	assert_int_not_equal(parse_worker("{\"op\":\"login\",\"user\":\"a\","
	    "\"password\":\"b\",\"src\":\"ip:1\",\"chan\":\"tty\"}", &q), MM_OK);
}

static void
test_authdb_corrupt(void **state)
{
	struct mm_authdb db;
	static const char *bad[] = {
		"not json", "{}",
		("{\"v\":2,\"class\":\"small\",\"maintenance_until\":0,"
		"\"users\":[]}"),
		"{\"v\":1,\"class\":\"tiny\",\"maintenance_until\":0,\"users\":[]}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mm_file_write_atomic(path, bad[i], strlen(bad[i]),
		    0600), MM_OK);
		assert_int_equal(mm_authdb_load(path, &db), MM_ERR_CORRUPT);
	}
	unlink(path);
	assert_int_equal(mm_authdb_load(path, &db), MM_ERR_NOT_FOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_factory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bruteforce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csrf_and_timeouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_maintenance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cred_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admreq_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authdb_corrupt, setup, teardown),
	};

	if (mm_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
