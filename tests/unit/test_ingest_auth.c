/* Unit tests for the fleet side of local authentication (decision 0007):
 * the optional hello/heartbeat fields (strictly checked, stored in batches,
 * alerts), sealed cmd_result answers, the cred-reset / cred-secret key
 * round trip, the command argument checks and the schema migration. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "proto/mm_topic.h"
#include "server/srv.h"
#include "server/srv_admin.h"
#include "server/srv_cmd.h"
#include "server/srv_db.h"
#include "server/srv_ingest.h"
#include "server/srv_registry.h"

#include "test_db.h"
#include "test_sql.h"

#define INST "0123456789abcdef"

static struct srv s;
static char dev[MM_DEVID_SIZE];
static struct srv_dev *d;

/* ---- helpers ---- */

static void
sql_exec(const char *sql)
{
	assert_int_equal(srv_db_exec(db, sql), MM_OK);
}

static void
insert_device(const char *id, const char *serial, const char *state)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(srv_db_handle(db),
	    "INSERT INTO devices (id, serial, state, created_at)"
	    " VALUES (?, ?, ?, 1)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static void ingest(const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ingest(const char *kind, const char *fmt, ...)
{
	char topic[MM_TOPIC_MAX], payload[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(payload, sizeof(payload), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(payload));
	assert_int_equal(mm_topic_build(topic, sizeof(topic), MM_DIR_UP, dev,
	    kind), MM_OK);
	srv_ingest_message(&s, topic, payload, (size_t)n);
}

/* A heartbeat with extra fields (", ..." or ""). */
#define HB(extra) \
	ingest("heartbeat", "{\"v\":1,\"type\":\"heartbeat\",\"inst\":\"" \
	    INST "\",\"seq\":1%s}", extra)
#define HELLO(extra) \
	ingest("hello", "{\"v\":1,\"type\":\"hello\",\"inst\":\"" INST "\"," \
	    "\"model\":\"m\",\"serial\":\"SN-1\",\"fw\":\"1\",\"boot_id\":\"b\"," \
	    "\"hb\":60,\"ctr\":0%s}", extra)

static int64_t
alert_count(const char *kind)
{
	return sql_int("SELECT coalesce(sum(count), 0) FROM alerts"
	    " WHERE device_id = '%s' AND kind = '%s'", dev, kind);
}

static const char *
alert_severity(const char *kind)
{
	return sql_text("SELECT severity FROM alerts WHERE device_id = '%s'"
	    " AND kind = '%s'", dev, kind);
}

static void
flush(void)
{
	assert_int_equal(srv_registry_flush(s.reg, db), MM_OK);
}

static int
srv_setup(void **state)
{
	if (db_setup(state) != 0)
		return -1;
	memset(&s, 0, sizeof(s));
	srv_conf_defaults(&s.conf, test_db_dir);
	s.db = db;
	mm_devid_new(dev);
	insert_device(dev, "SN-1", "active");
	if (srv_registry_new(&s.reg) != 0 || srv_registry_load(s.reg, db) != 0)
		return -1;
	d = srv_registry_get(s.reg, dev);
	return d != NULL ? 0 : -1;
}

static int
srv_teardown(void **state)
{
	srv_registry_free(s.reg);
	s.reg = NULL;
	return db_teardown(state);
}

/* ---- heartbeat and hello fields ---- */

static void
test_heartbeat_fields(void **state)
{
	(void)state;
	/* an old agent's heartbeat: nothing to store */
	HB("");
	assert_int_equal(s.stats.heartbeats, 1);
	assert_int_equal(s.stats.refused_malformed, 0);
	assert_int_equal(d->auth_dirty, 0);
	assert_int_equal(d->cred, SRV_CRED_UNKNOWN);

	HB(",\"cred\":\"set\",\"maint\":0,\"afail\":0,\"aref\":0,\"alock\":0");
	assert_int_equal(s.stats.heartbeats, 2);
	assert_int_equal(d->cred, SRV_CRED_SET);
	assert_int_equal(d->auth_dirty, 1);
	assert_string_equal(sql_text("SELECT cred_state FROM devices"), "(null)");
	flush();
	assert_string_equal(sql_text("SELECT cred_state FROM devices"), "set");
	assert_int_equal(d->auth_dirty, 0);

	/* the common case: same state, zero counts, no write pending */
	HB(",\"cred\":\"set\",\"maint\":0,\"afail\":0,\"aref\":0,\"alock\":0");
	assert_int_equal(d->auth_dirty, 0);
	/* a heartbeat without the fields keeps what is known */
	HB("");
	assert_int_equal(d->auth_dirty, 0);
	assert_int_equal(d->cred, SRV_CRED_SET);

	HB(",\"cred\":\"none\"");
	assert_int_equal(d->cred, SRV_CRED_NONE);
	HB(",\"maint\":4294967295");
	assert_int_equal(d->maint_until, 4294967295LL);
	HB(",\"afail\":1000000000,\"aref\":1000000000,\"alock\":0");
	flush();
	assert_string_equal(sql_text("SELECT cred_state FROM devices"), "none");
	assert_int_equal(sql_int("SELECT maint_until FROM devices"), 4294967295LL);
	assert_int_equal(sql_int("SELECT auth_failures FROM devices"), 1000000000);
	assert_int_equal(s.stats.heartbeats, 7);
	assert_int_equal(s.stats.refused_malformed, 0);
}

static void
test_heartbeat_refused(void **state)
{
	static const char *const bad[] = {
		",\"cred\":\"INITIAL\"", ",\"cred\":\"\"", ",\"cred\":\"admin\"",
		",\"cred\":\"initial \"", ",\"cred\":1", ",\"cred\":null",
		",\"cred\":true", ",\"cred\":[\"set\"]", ",\"cred\":\"se\\u0000t\"",
		",\"maint\":-1", ",\"maint\":\"0\"", ",\"maint\":1.5",
		",\"maint\":4294967296", ",\"maint\":null", ",\"maint\":false",
		",\"afail\":-1", ",\"afail\":1000000001", ",\"afail\":\"3\"",
		",\"afail\":2.0", ",\"afail\":null",
		",\"aref\":-1", ",\"aref\":1000000001", ",\"aref\":{}",
		",\"alock\":-1", ",\"alock\":1000000001", ",\"alock\":1e3",
		",\"cred\":\"set\",\"cred\":\"initial\"",	/* duplicate key */
		/* one bad field spoils good ones */
		",\"cred\":\"initial\",\"maint\":5,\"afail\":50,\"alock\":-2",
	};
	char big[600];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		HB(bad[i]);
		assert_int_equal(s.stats.refused_malformed, i + 1);
	}
	/* over the 512-byte limit */
	snprintf(big, sizeof(big), ",\"cred\":\"set\",\"pad\":\"%0450d\"", 0);
	HB(big);
	assert_int_equal(s.stats.refused_malformed, i + 1);
	assert_int_equal(s.stats.heartbeats, 0);
	/* refused means untouched: no state, no last_seen, no alert */
	assert_int_equal(d->auth_dirty, 0);
	assert_int_equal(d->dirty, 0);
	assert_int_equal(d->cred, SRV_CRED_UNKNOWN);
	assert_int_equal(d->maint_until, 0);
	assert_int_equal(sql_int("SELECT count(*) FROM alerts"), 0);
	/* just under the limit is fine */
	snprintf(big, sizeof(big), ",\"cred\":\"set\",\"pad\":\"%0400d\"", 0);
	HB(big);
	assert_int_equal(s.stats.heartbeats, 1);
	assert_int_equal(d->cred, SRV_CRED_SET);
}

static void
test_hello_fields(void **state)
{
	(void)state;
	HELLO(",\"cred\":\"set\",\"maint\":0");
	assert_int_equal(s.stats.hellos, 1);
	assert_int_equal(d->cred, SRV_CRED_SET);
	/* counters belong to heartbeats; a hello ignores them like any
	 * unknown key */
	HELLO(",\"cred\":\"set\",\"afail\":\"x\"");
	assert_int_equal(s.stats.hellos, 2);
	HELLO(",\"cred\":\"bogus\"");
	HELLO(",\"maint\":-5");
	assert_int_equal(s.stats.hellos, 2);
	assert_int_equal(s.stats.refused_malformed, 2);
	flush();
	assert_string_equal(sql_text("SELECT cred_state FROM devices"), "set");
	/* a hello from an older agent: the state is unknown again */
	HELLO("");
	assert_int_equal(d->cred, SRV_CRED_UNKNOWN);
	flush();
	assert_string_equal(sql_text("SELECT cred_state FROM devices"), "(null)");
	assert_int_equal(sql_int("SELECT count(*) FROM alerts"), 0);
}

/* ---- alerts ---- */

static void
test_alert_initial(void **state)
{
	(void)state;
	HB(",\"cred\":\"set\"");
	assert_int_equal(alert_count("initial_credentials"), 0);
	HB(",\"cred\":\"initial\"");
	assert_int_equal(alert_count("initial_credentials"), 1);
	assert_string_equal(alert_severity("initial_credentials"), "warning");
	assert_non_null(strstr(sql_text("SELECT requirements FROM alerts"),
	    "KP15"));
	/* unchanged on later heartbeats: no database work */
	HB(",\"cred\":\"initial\"");
	HB("");
	assert_int_equal(alert_count("initial_credentials"), 1);
	/* every hello repeats it while the state lasts */
	HELLO(",\"cred\":\"initial\"");
	assert_int_equal(alert_count("initial_credentials"), 2);
	/* changed, then reset by the fleet: raised again */
	HB(",\"cred\":\"set\"");
	HB(",\"cred\":\"initial\"");
	assert_int_equal(alert_count("initial_credentials"), 3);
	assert_int_equal(sql_int("SELECT count(*) FROM alerts"), 1);
	/* after a restart of the server the stored state is known */
	flush();
	srv_registry_free(s.reg);
	assert_int_equal(srv_registry_new(&s.reg), MM_OK);
	assert_int_equal(srv_registry_load(s.reg, db), MM_OK);
	d = srv_registry_get(s.reg, dev);
	assert_int_equal(d->cred, SRV_CRED_INITIAL);
	HB(",\"cred\":\"initial\"");
	assert_int_equal(alert_count("initial_credentials"), 3);
	assert_int_equal(d->auth_dirty, 0);
}

static void
test_alert_bruteforce(void **state)
{
	(void)state;
	HB(",\"afail\":19,\"aref\":500,\"alock\":0");
	assert_int_equal(alert_count("local_bruteforce"), 0);
	HB(",\"afail\":20,\"aref\":3,\"alock\":0");
	assert_int_equal(alert_count("local_bruteforce"), 1);
	assert_string_equal(alert_severity("local_bruteforce"), "warning");
	assert_non_null(strstr(sql_text("SELECT detail FROM alerts"),
	    "20 wrong passwords, 3 attempts refused by the throttle, 0 sources"));
	/* a lockout makes it critical, also on the open row */
	HB(",\"afail\":2,\"aref\":0,\"alock\":1");
	assert_int_equal(alert_count("local_bruteforce"), 2);
	assert_string_equal(alert_severity("local_bruteforce"), "critical");
	assert_non_null(strstr(sql_text("SELECT detail FROM alerts"),
	    "1 sources locked out"));
	/* and stays critical when the next one is only a warning */
	HB(",\"afail\":25");
	assert_int_equal(alert_count("local_bruteforce"), 3);
	assert_string_equal(alert_severity("local_bruteforce"), "critical");
	HB(",\"afail\":0,\"aref\":0,\"alock\":0");
	assert_int_equal(alert_count("local_bruteforce"), 3);
	assert_int_equal(sql_int("SELECT count(*) FROM alerts"), 1);
}

static void
test_alert_maintenance(void **state)
{
	(void)state;
	HB(",\"maint\":0");
	assert_int_equal(alert_count("maintenance_mode"), 0);
	HB(",\"maint\":1900000000");
	assert_int_equal(alert_count("maintenance_mode"), 1);
	assert_string_equal(alert_severity("maintenance_mode"), "warning");
	assert_non_null(strstr(sql_text("SELECT detail FROM alerts"),
	    "1900000000"));
	/* extended or repeated: not a new switch-on */
	HB(",\"maint\":1900000600");
	HB("");
	assert_int_equal(alert_count("maintenance_mode"), 1);
	assert_int_equal(d->maint_until, 1900000600);
	HB(",\"maint\":0");
	HB(",\"maint\":1900009999");
	assert_int_equal(alert_count("maintenance_mode"), 2);
	/* a hello from an older agent knows no maintenance mode */
	HELLO("");
	assert_int_equal(d->maint_until, 0);
}

/* ---- counters ---- */

static void
test_counters(void **state)
{
	struct srv_dev t;

	(void)state;
	HB(",\"afail\":3,\"aref\":5,\"alock\":0");
	HB(",\"afail\":2,\"aref\":0,\"alock\":1");
	assert_int_equal(d->auth_failures, 5);
	assert_int_equal(sql_int("SELECT auth_failures FROM devices"), 0);
	flush();
	assert_int_equal(d->auth_failures, 0);
	assert_int_equal(sql_int("SELECT auth_failures FROM devices"), 5);
	assert_int_equal(sql_int("SELECT auth_refused FROM devices"), 5);
	assert_int_equal(sql_int("SELECT auth_lockouts FROM devices"), 1);
	/* nothing new: the stored totals stay */
	flush();
	HB(",\"afail\":0,\"aref\":0,\"alock\":0");
	flush();
	assert_int_equal(sql_int("SELECT auth_failures FROM devices"), 5);
	HB(",\"afail\":1,\"aref\":1,\"alock\":1");
	flush();
	assert_int_equal(sql_int("SELECT auth_failures FROM devices"), 6);
	assert_int_equal(sql_int("SELECT auth_refused FROM devices"), 6);
	assert_int_equal(sql_int("SELECT auth_lockouts FROM devices"), 2);

	/* totals saturate instead of overflowing, in memory and stored */
	memset(&t, 0, sizeof(t));
	t.auth_failures = SRV_AUTH_COUNT_MAX - 1;
	srv_registry_auth(&t, SRV_CRED_UNKNOWN, 0, 1000000000, 0, 0);
	assert_int_equal(t.auth_failures, SRV_AUTH_COUNT_MAX);
	assert_int_equal(t.auth_dirty, 1);
	sql_exec("UPDATE devices SET auth_refused = 999999999999999999");
	HB(",\"aref\":1000000000");
	flush();
	assert_int_equal(sql_int("SELECT auth_refused FROM devices"),
	    SRV_AUTH_COUNT_MAX);
	assert_int_equal(sql_int("SELECT typeof(auth_refused) = 'integer'"
	    " FROM devices"), 1);
}

/* ---- sealed command results ---- */

/* Queues a command and marks it sent with counter ctr, as the server would. */
static int64_t
queue_sent(const char *name, const char *args, int64_t ctr)
{
	char sql[128];
	int64_t id;

	assert_int_equal(srv_cmd_queue(db, dev, name, args, &id), MM_OK);
	snprintf(sql, sizeof(sql), "UPDATE commands SET status = 'sent',"
	    " counter = %lld WHERE id = %lld", (long long)ctr, (long long)id);
	sql_exec(sql);
	return id;
}

static void
cmd_result(int64_t ctr, const char *status, const char *sealed)
{
	if (sealed != NULL)
		ingest("cmd_result", "{\"v\":1,\"type\":\"cmd_result\",\"ctr\":%lld,"
		    "\"cmd\":\"x\",\"status\":\"%s\",\"sealed\":\"%s\"}",
		    (long long)ctr, status, sealed);
	else
		ingest("cmd_result", "{\"v\":1,\"type\":\"cmd_result\",\"ctr\":%lld,"
		    "\"cmd\":\"x\",\"status\":\"%s\"}", (long long)ctr, status);
}

static void
test_cmd_result_sealed(void **state)
{
	char hex[600], tmp[600];
	int64_t reset, ping;
	uint64_t refused = 0;

	(void)state;
	reset = queue_sent("cred_reset", "{\"user\":\"admin\",\"pub\":"
	    "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
	    7);
	ping = queue_sent("ping", NULL, 8);
	memset(hex, 'a', 98);
	hex[98] = '\0';

	/* only on a successful cred_reset */
	cmd_result(8, "ok", hex);
	assert_int_equal(s.stats.refused_malformed, ++refused);
	cmd_result(7, "failed", hex);
	assert_int_equal(s.stats.refused_malformed, ++refused);
	cmd_result(99, "ok", hex);		/* no such command */
	assert_int_equal(s.stats.refused_malformed, ++refused);
	/* shape: lower-case hex, even, 98..512 characters */
	memcpy(tmp, hex, sizeof(hex));
	tmp[0] = 'A';
	cmd_result(7, "ok", tmp);
	assert_int_equal(s.stats.refused_malformed, ++refused);
	tmp[0] = 'g';
	cmd_result(7, "ok", tmp);
	assert_int_equal(s.stats.refused_malformed, ++refused);
	cmd_result(7, "ok", "");
	assert_int_equal(s.stats.refused_malformed, ++refused);
	cmd_result(7, "ok", "aaaa");
	assert_int_equal(s.stats.refused_malformed, ++refused);
	memset(tmp, 'a', 97);
	tmp[97] = '\0';				/* odd */
	cmd_result(7, "ok", tmp);
	assert_int_equal(s.stats.refused_malformed, ++refused);
	memset(tmp, 'a', 514);
	tmp[514] = '\0';
	cmd_result(7, "ok", tmp);		/* too long */
	assert_int_equal(s.stats.refused_malformed, ++refused);
	ingest("cmd_result", "{\"v\":1,\"type\":\"cmd_result\",\"ctr\":7,"
	    "\"status\":\"ok\",\"sealed\":12}");
	assert_int_equal(s.stats.refused_malformed, ++refused);
	assert_int_equal(s.stats.cmd_results, 0);
	assert_string_equal(sql_text("SELECT status FROM commands WHERE id = %lld",
	    (long long)reset), "sent");

	/* accepted: the longest allowed, stored apart from the reason */
	memset(tmp, 'b', 512);
	tmp[512] = '\0';
	cmd_result(7, "ok", tmp);
	assert_int_equal(s.stats.refused_malformed, refused);
	assert_int_equal(s.stats.cmd_results, 1);
	assert_string_equal(sql_text("SELECT result_sealed FROM commands"
	    " WHERE id = %lld", (long long)reset), tmp);
	assert_string_equal(sql_text("SELECT status FROM commands WHERE id = %lld",
	    (long long)reset), "ok");
	/* other results carry none */
	cmd_result(8, "ok", NULL);
	assert_string_equal(sql_text("SELECT result_sealed FROM commands"
	    " WHERE id = %lld", (long long)ping), "(null)");
	assert_int_equal(s.stats.cmd_results, 2);
}

/* ---- cred-reset / cred-secret ---- */

static void
key_path(char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/server/credreset/%s.key", test_db_dir, dev);
}

/* The device's side: seal secret to the key in the queued command. */
static void
device_answers(int64_t id, const char *secret, int forge)
{
	uint8_t pk[MM_BOX_PK_LEN], sk[MM_BOX_SK_LEN], sealed[256];
	char pkhex[2 * MM_BOX_PK_LEN + 1], hex[513];
	size_t n = strlen(secret);
	json_t *args;

	args = json_loads(sql_text("SELECT args FROM commands WHERE id = %lld",
	    (long long)id), 0, NULL);
	assert_non_null(args);
	assert_string_equal(json_string_value(json_object_get(args, "user")),
	    "admin");
	snprintf(pkhex, sizeof(pkhex), "%s",
	    json_string_value(json_object_get(args, "pub")));
	json_decref(args);
	assert_int_equal(mm_hex_decode(pk, sizeof(pk), pkhex), MM_OK);
	if (forge)	/* someone without the operator's key */
		assert_int_equal(mm_box_keypair(pk, sk), MM_OK);
	assert_int_equal(mm_seal(sealed, secret, n, pk), MM_OK);
	mm_hex_encode(hex, sealed, n + MM_SEAL_OVERHEAD);
	cmd_result(sql_int("SELECT counter FROM commands WHERE id = %lld",
	    (long long)id), "ok", hex);
}

static void
test_cred_roundtrip(void **state)
{
	char path[256], dir[256], secret[SRV_CRED_SECRET_MAX + 1];
	char user[SRV_CMD_USER_MAX + 1];
	struct stat st;
	int64_t id, id2;

	(void)state;
	key_path(path, sizeof(path));
	/* nothing requested yet */
	assert_int_equal(srv_admin_cred_open(&s.conf, db, dev, secret, user),
	    MM_ERR_NOT_FOUND);

	assert_int_equal(srv_admin_cred_reset(&s.conf, db, dev, "admin", &id),
	    MM_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 130);
	snprintf(dir, sizeof(dir), "%s/server/credreset", test_db_dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_string_equal(sql_text("SELECT name FROM commands WHERE id = %lld",
	    (long long)id), "cred_reset");
	assert_string_equal(sql_text("SELECT status FROM commands WHERE id = %lld",
	    (long long)id), "pending");

	/* no answer yet */
	assert_int_equal(srv_admin_cred_open(&s.conf, db, dev, secret, user),
	    MM_ERR_STATE);
	sql_exec("UPDATE commands SET status = 'sent', counter = 41");
	assert_int_equal(srv_admin_cred_open(&s.conf, db, dev, secret, user),
	    MM_ERR_STATE);

	/* an answer sealed to another key does not open */
	device_answers(id, "Forged-Secret-1", 1);
	assert_int_equal(s.stats.cmd_results, 1);
	assert_int_equal(srv_admin_cred_open(&s.conf, db, dev, secret, user),
	    MM_ERR_SIGNATURE);
	/* an unprintable one is not shown */
	device_answers(id, "bad\nsecret", 0);
	assert_int_equal(srv_admin_cred_open(&s.conf, db, dev, secret, user),
	    MM_ERR_FORMAT);

	device_answers(id, "Hk7pQ2xZr9WmTb4N", 0);
	memset(user, 'x', sizeof(user));
	assert_int_equal(srv_admin_cred_open(&s.conf, db, dev, secret, user),
	    MM_OK);
	assert_string_equal(secret, "Hk7pQ2xZr9WmTb4N");
	assert_string_equal(user, "admin");
	/* shown once: the key goes, and with it the secret */
	assert_int_equal(srv_admin_cred_forget(&s.conf, dev), MM_OK);
	assert_int_equal(stat(path, &st), -1);
	memset(secret, 0, sizeof(secret));
	assert_int_equal(srv_admin_cred_open(&s.conf, db, dev, secret, user),
	    MM_ERR_NOT_FOUND);
	assert_string_equal(secret, "");
	assert_int_equal(srv_admin_cred_forget(&s.conf, dev), MM_ERR_NOT_FOUND);

	/* a second reset: its own key, and the older answer is not taken
	 * for the newer command */
	assert_int_equal(srv_admin_cred_reset(&s.conf, db, dev, "admin", &id2),
	    MM_OK);
	assert_true(id2 > id);
	assert_int_equal(srv_admin_cred_open(&s.conf, db, dev, secret, user),
	    MM_ERR_STATE);
	/* the device refused it */
	sql_exec("UPDATE commands SET status = 'sent', counter = 42"
	    " WHERE status = 'pending'");
	cmd_result(42, "failed", NULL);
	assert_int_equal(srv_admin_cred_open(&s.conf, db, dev, secret, user),
	    MM_ERR_STATE);
	assert_int_equal(stat(path, &st), 0);	/* kept for nothing, but kept */
}

static void
test_cred_reset_refused(void **state)
{
	char path[256], other[MM_DEVID_SIZE];
	struct stat st;
	int64_t id = -1;

	(void)state;
	key_path(path, sizeof(path));
	assert_int_equal(srv_admin_cred_reset(&s.conf, db, dev, "Admin", &id),
	    MM_ERR_INVALID_ARG);
	assert_int_equal(srv_admin_cred_reset(&s.conf, db, dev, "", &id),
	    MM_ERR_INVALID_ARG);
	assert_int_equal(srv_admin_cred_reset(&s.conf, db, dev, "a\"b", &id),
	    MM_ERR_INVALID_ARG);
	assert_int_equal(srv_admin_cred_reset(&s.conf, db,
	    "d-../../../etc", "admin", &id), MM_ERR_INVALID_ARG);
	/* unknown and inactive devices: no command, no key */
	mm_devid_new(other);
	assert_int_equal(srv_admin_cred_reset(&s.conf, db, other, "admin", &id),
	    MM_ERR_NOT_FOUND);
	sql_exec("UPDATE devices SET state = 'revoked'");
	assert_int_equal(srv_admin_cred_reset(&s.conf, db, dev, "admin", &id),
	    MM_ERR_STATE);
	assert_int_equal(id, -1);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(sql_int("SELECT count(*) FROM commands"), 0);
	/* the database is usable afterwards (no transaction left open) */
	assert_int_equal(srv_db_begin(db), MM_OK);
	srv_db_rollback(db);
	/* a key file that is not ours is refused as corrupt */
	sql_exec("UPDATE devices SET state = 'active'");
	assert_int_equal(srv_admin_cred_reset(&s.conf, db, dev, "ops.1", &id),
	    MM_OK);
	{
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs("not a key\n", f);
		fclose(f);
	}
	{
		char secret[SRV_CRED_SECRET_MAX + 1], user[SRV_CMD_USER_MAX + 1];
		assert_int_equal(srv_admin_cred_open(&s.conf, db, dev, secret,
		    user), MM_ERR_CORRUPT);
	}
}

/* ---- command arguments ---- */

static void
test_cmd_args(void **state)
{
	static const char *const good_maint[] = {
		"{\"minutes\":0}", "{\"minutes\":1}", "{\"minutes\":1440}",
	};
	static const char *const bad_maint[] = {
		"{}", "{\"minutes\":-1}", "{\"minutes\":1441}",
		"{\"minutes\":\"5\"}", "{\"minutes\":5.0}", "{\"minutes\":null}",
		"{\"minutes\":5,\"x\":1}", "{\"minutes\":5,\"minutes\":6}",
	};
	static const char *const bad_reset[] = {
		"{}", "{\"user\":\"admin\"}",
		"{\"pub\":\"" "0000000000000000000000000000000000000000000000000000000000000000" "\"}",
		"{\"user\":\"admin\",\"pub\":\"" "000000000000000000000000000000000000000000000000000000000000000" "\"}",
		"{\"user\":\"admin\",\"pub\":\"" "000000000000000000000000000000000000000000000000000000000000000A" "\"}",
		"{\"user\":\"Admin\",\"pub\":\"" "0000000000000000000000000000000000000000000000000000000000000000" "\"}",
		"{\"user\":\"a\\u0000b\",\"pub\":\"" "0000000000000000000000000000000000000000000000000000000000000000" "\"}",
		"{\"user\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"pub\":\"" "0000000000000000000000000000000000000000000000000000000000000000" "\"}",
		"{\"user\":\"admin\",\"pub\":\"" "0000000000000000000000000000000000000000000000000000000000000000" "\",\"x\":1}",
		"{\"user\":1,\"pub\":\"" "0000000000000000000000000000000000000000000000000000000000000000" "\"}",
	};
	int64_t id;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good_maint) / sizeof(good_maint[0]); i++)
		assert_int_equal(srv_cmd_queue(db, dev, "maintenance",
		    good_maint[i], &id), MM_OK);
	for (i = 0; i < sizeof(bad_maint) / sizeof(bad_maint[0]); i++)
		assert_int_equal(srv_cmd_queue(db, dev, "maintenance",
		    bad_maint[i], &id), MM_ERR_FORMAT);
	assert_int_equal(srv_cmd_queue(db, dev, "maintenance", NULL, &id),
	    MM_ERR_FORMAT);
	assert_int_equal(srv_cmd_queue(db, dev, "cred_reset",
	    "{\"user\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"pub\":\""
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}",
	    &id), MM_OK);
	for (i = 0; i < sizeof(bad_reset) / sizeof(bad_reset[0]); i++)
		assert_int_equal(srv_cmd_queue(db, dev, "cred_reset",
		    bad_reset[i], &id), MM_ERR_FORMAT);
	assert_int_equal(sql_int("SELECT count(*) FROM commands"), 4);
	assert_true(srv_cmd_user_valid("admin"));
	assert_true(srv_cmd_user_valid("a.b_c-9"));
	assert_false(srv_cmd_user_valid("9admin"));
	assert_false(srv_cmd_user_valid("ad min"));
	assert_false(srv_cmd_user_valid(NULL));
}

/* ---- schema migration ---- */

static void
test_migration(void **state)
{
	struct srv_db *old;
	char path[128];
	int v, latest;

	(void)state;
	assert_int_equal(srv_db_schema(db, &latest), MM_OK);
	assert_true(latest >= 2);
	snprintf(path, sizeof(path), "%s/old.db", test_db_dir);
	assert_int_equal(srv_db_open_schema(path, 1, 0, &old), MM_ERR_INVALID_ARG);
	assert_int_equal(srv_db_open_schema(path, 1, latest + 1, &old),
	    MM_ERR_INVALID_ARG);
	/* a database as the previous server left it, with data */
	assert_int_equal(srv_db_open_schema(path, 1, 1, &old), MM_OK);
	assert_int_equal(srv_db_schema(old, &v), MM_OK);
	assert_int_equal(v, 1);
	assert_int_equal(srv_db_exec(old, "INSERT INTO devices (id, serial,"
	    " state, created_at, last_seen) VALUES ('d-0011223344556677', 'OLD',"
	    " 'active', 1, 77); INSERT INTO commands (device_id, name,"
	    " created_at, status, result) VALUES ('d-0011223344556677', 'ping', 2,"
	    " 'ok', 'fine')"), MM_OK);
	assert_int_equal(srv_db_exec(old, "SELECT cred_state FROM devices"),
	    MM_ERR_DB);
	srv_db_close(old);

	/* the current server migrates it in place */
	assert_int_equal(srv_db_open(path, 0, &old), MM_OK);
	assert_int_equal(srv_db_schema(old, &v), MM_OK);
	assert_int_equal(v, latest);
	{
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(srv_db_handle(old),
		    "SELECT cred_state IS NULL, maint_until, auth_failures,"
		    " auth_refused, auth_lockouts, last_seen, serial FROM devices",
		    -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 1);
		assert_int_equal(sqlite3_column_int(st, 1), 0);
		assert_int_equal(sqlite3_column_int(st, 2), 0);
		assert_int_equal(sqlite3_column_int(st, 3), 0);
		assert_int_equal(sqlite3_column_int(st, 4), 0);
		assert_int_equal(sqlite3_column_int(st, 5), 77);
		assert_string_equal((const char *)sqlite3_column_text(st, 6), "OLD");
		sqlite3_finalize(st);
		assert_int_equal(sqlite3_prepare_v2(srv_db_handle(old),
		    "SELECT result_sealed IS NULL, result FROM commands", -1, &st,
		    NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 1);
		assert_string_equal((const char *)sqlite3_column_text(st, 1), "fine");
		sqlite3_finalize(st);
	}
	/* the CHECK holds on the new column */
	assert_int_equal(srv_db_exec(old, "UPDATE devices SET cred_state = 'bogus'"),
	    MM_ERR_DB);
	assert_int_equal(srv_db_exec(old, "UPDATE devices SET cred_state = 'set'"),
	    MM_OK);
	srv_db_close(old);
	/* opening again changes nothing; a newer schema is refused */
	assert_int_equal(srv_db_open(path, 0, &old), MM_OK);
	assert_int_equal(srv_db_exec(old, "PRAGMA user_version = 99"), MM_OK);
	srv_db_close(old);
	assert_int_equal(srv_db_open(path, 0, &old), MM_ERR_UNSUPPORTED);
}

static int
group_setup(void **state)
{
	(void)state;
	if (mm_crypto_init() != 0)
		return -1;
	mm_log_set_level(MM_LOG_ERR);
	return 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, srv_setup, srv_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_heartbeat_fields),
		T(test_heartbeat_refused),
		T(test_hello_fields),
		T(test_alert_initial),
		T(test_alert_bruteforce),
		T(test_alert_maintenance),
		T(test_counters),
		T(test_cmd_result_sealed),
		T(test_cred_roundtrip),
		T(test_cred_reset_refused),
		T(test_cmd_args),
		T(test_migration),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
