/* Unit tests for device registration and one-time enrolment tokens
 * (srv_enroll) against a real SQLite database in a fresh directory: token
 * shape, single use, serial binding, expiry, malformed and unknown tokens,
 * spec validation, re-issue, the all-or-nothing CSV import and the CSV
 * field splitter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "proto/mm_topic.h"
#include "server/srv_db.h"
#include "server/srv_enroll.h"

#include "test_db.h"

#define TTL 3600
#define FSZ (SRV_FIELD_MAX + 1)

static const char *hdr = "serial,model,location,admin_contact\n";

static void
spec_set(struct srv_device_spec *s, const char *serial, const char *model,
    const char *loc, const char *admin)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->serial, sizeof(s->serial), "%s", serial);
	snprintf(s->model, sizeof(s->model), "%s", model);
	snprintf(s->location, sizeof(s->location), "%s", loc);
	snprintf(s->admin, sizeof(s->admin), "%s", admin);
}

static void
add_ok(const char *serial, char devid[MM_DEVID_SIZE], char token[SRV_TOKEN_SIZE])
{
	struct srv_device_spec s;

	spec_set(&s, serial, "cam-2", "hall", "ops@example.org");
	assert_int_equal(srv_enroll_add(db, &s, TTL, devid, token), MM_OK);
}

static int64_t
sql_int(const char *sql, const char *arg)
{
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(srv_db_handle(db), sql, -1, &st,
	    NULL), SQLITE_OK);
	if (arg != NULL)
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int64_t
devices(void)
{
	return sql_int("SELECT count(*) FROM devices", NULL);
}

/* Redeems in its own transaction, as the provisioning path does. */
static int
redeem(const char *token, const char *serial, int64_t now,
    char devid[MM_DEVID_SIZE])
{
	int r;

	assert_int_equal(srv_db_begin(db), MM_OK);
	r = srv_enroll_redeem(db, token, serial, now, devid);
	if (r == MM_OK)
		assert_int_equal(srv_db_commit(db), MM_OK);
	else
		srv_db_rollback(db);
	return r;
}

static int
is_lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void
test_add(void **state)
{
	char id1[MM_DEVID_SIZE], tok1[SRV_TOKEN_SIZE];
	char id2[MM_DEVID_SIZE], tok2[SRV_TOKEN_SIZE];

	(void)state;
	add_ok("SN-0001", id1, tok1);
	assert_true(mm_devid_valid(id1));
	assert_int_equal(strlen(tok1), SRV_TOKEN_LEN);
	assert_memory_equal(tok1, id1, MM_DEVID_LEN);
	assert_int_equal(tok1[MM_DEVID_LEN], '.');
	assert_true(is_lower_hex(tok1 + MM_DEVID_LEN + 1, 32));
	/* the row is there, with the token stored only as a hash */
	assert_int_equal(sql_int("SELECT count(*) FROM devices WHERE id = ?"
	    " AND serial = 'SN-0001' AND state = 'registered'", id1), 1);
	assert_int_equal(sql_int("SELECT count(*) FROM enroll_tokens WHERE"
	    " device_id = ? AND length(token_hash) = 64", id1), 1);
	assert_int_equal(sql_int("SELECT count(*) FROM enroll_tokens WHERE"
	    " token_hash = ?", tok1), 0);
	assert_int_equal(sql_int("SELECT count(*) FROM enroll_tokens WHERE"
	    " instr(token_hash, ?) > 0", tok1 + MM_DEVID_LEN + 1), 0);
	/* a second device gets its own id and secret */
	add_ok("SN-0002", id2, tok2);
	assert_string_not_equal(id1, id2);
	assert_string_not_equal(tok1 + MM_DEVID_LEN, tok2 + MM_DEVID_LEN);
	assert_int_equal(devices(), 2);
}

static void
test_redeem_once(void **state)
{
	char id[MM_DEVID_SIZE], tok[SRV_TOKEN_SIZE], out[MM_DEVID_SIZE];

	(void)state;
	add_ok("SN-1", id, tok);
	memset(out, 0, sizeof(out));
	assert_int_equal(redeem(tok, "SN-1", srv_db_now(), out), MM_OK);
	assert_string_equal(out, id);
	assert_int_equal(sql_int("SELECT count(*) FROM enroll_tokens WHERE"
	    " device_id = ? AND used_at IS NOT NULL", id), 1);
	/* second use: refused, out-param untouched */
	memset(out, 'z', sizeof(out));
	assert_int_equal(redeem(tok, "SN-1", srv_db_now(), out), MM_ERR_USED);
	assert_int_equal(out[0], 'z');
	/* also with the wrong serial it stays a refusal */
	assert_int_not_equal(redeem(tok, "SN-2", srv_db_now(), out), MM_OK);
}

static void
test_wrong_serial(void **state)
{
	char id[MM_DEVID_SIZE], tok[SRV_TOKEN_SIZE], out[MM_DEVID_SIZE];
	char other_id[MM_DEVID_SIZE], other_tok[SRV_TOKEN_SIZE];

	(void)state;
	add_ok("SN-A", id, tok);
	add_ok("SN-B", other_id, other_tok);
	memset(out, 'z', sizeof(out));
	assert_int_equal(redeem(tok, "SN-B", srv_db_now(), out), MM_ERR_DENIED);
	assert_int_equal(redeem(tok, "sn-a", srv_db_now(), out), MM_ERR_DENIED);
	assert_int_equal(redeem(tok, "SN-A ", srv_db_now(), out), MM_ERR_DENIED);
	assert_int_equal(redeem(tok, "", srv_db_now(), out), MM_ERR_DENIED);
	assert_int_equal(out[0], 'z');
	/* the failures changed nothing */
	assert_int_equal(sql_int("SELECT count(*) FROM enroll_tokens WHERE"
	    " used_at IS NOT NULL", NULL), 0);
	assert_int_equal(redeem(tok, "SN-A", srv_db_now(), out), MM_OK);
	assert_string_equal(out, id);
	assert_int_equal(redeem(other_tok, "SN-B", srv_db_now(), out), MM_OK);
	assert_string_equal(out, other_id);
}

static void
test_expired(void **state)
{
	char id[MM_DEVID_SIZE], tok[SRV_TOKEN_SIZE], out[MM_DEVID_SIZE];
	int64_t now = srv_db_now();

	(void)state;
	add_ok("SN-E", id, tok);
	memset(out, 'z', sizeof(out));
	assert_int_equal(redeem(tok, "SN-E", now + TTL + 5, out), MM_ERR_EXPIRED);
	assert_int_equal(redeem(tok, "SN-E", now + 10 * TTL, out), MM_ERR_EXPIRED);
	assert_int_equal(out[0], 'z');
	/* expiry is not use: it still works inside its lifetime */
	assert_int_equal(redeem(tok, "SN-E", now + TTL - 5, out), MM_OK);
	assert_string_equal(out, id);

	/* a token with no lifetime is dead on arrival */
	{
		struct srv_device_spec s;

		spec_set(&s, "SN-E0", "m", "", "");
		assert_int_equal(srv_enroll_add(db, &s, 0, id, tok), MM_OK);
		assert_int_equal(redeem(tok, "SN-E0", srv_db_now() + 1, out),
		    MM_ERR_EXPIRED);
	}
}

static void
test_unknown(void **state)
{
	char id[MM_DEVID_SIZE], tok[SRV_TOKEN_SIZE], out[MM_DEVID_SIZE];
	char t[SRV_TOKEN_SIZE], other[MM_DEVID_SIZE];

	(void)state;
	add_ok("SN-U", id, tok);
	/* never issued */
	assert_int_equal(redeem("d-0123456789abcdef.0123456789abcdef0123456789abcdef",
	    "SN-U", srv_db_now(), out), MM_ERR_NOT_FOUND);
	/* right device, one secret digit changed */
	memcpy(t, tok, sizeof(t));
	t[SRV_TOKEN_LEN - 1] = t[SRV_TOKEN_LEN - 1] == '0' ? '1' : '0';
	assert_int_equal(redeem(t, "SN-U", srv_db_now(), out), MM_ERR_NOT_FOUND);
	/* right secret, claimed for another device id */
	mm_devid_new(other);
	memcpy(t, tok, sizeof(t));
	memcpy(t, other, MM_DEVID_LEN);
	assert_int_equal(redeem(t, "SN-U", srv_db_now(), out), MM_ERR_NOT_FOUND);
	/* the real one is unaffected */
	assert_int_equal(redeem(tok, "SN-U", srv_db_now(), out), MM_OK);
}

static void
test_malformed(void **state)
{
	char id[MM_DEVID_SIZE], tok[SRV_TOKEN_SIZE], out[MM_DEVID_SIZE];
	char t[SRV_TOKEN_SIZE + 8];
	size_t i;

	(void)state;
	add_ok("SN-M", id, tok);
	memset(out, 'z', sizeof(out));
	assert_int_equal(redeem("", "SN-M", srv_db_now(), out), MM_ERR_FORMAT);
	assert_int_equal(redeem("d-00", "SN-M", srv_db_now(), out), MM_ERR_FORMAT);
	assert_int_equal(redeem(id, "SN-M", srv_db_now(), out), MM_ERR_FORMAT);
	/* one character short, one too many */
	snprintf(t, sizeof(t), "%.*s", SRV_TOKEN_LEN - 1, tok);
	assert_int_equal(redeem(t, "SN-M", srv_db_now(), out), MM_ERR_FORMAT);
	snprintf(t, sizeof(t), "%s0", tok);
	assert_int_equal(redeem(t, "SN-M", srv_db_now(), out), MM_ERR_FORMAT);
	/* no dot */
	snprintf(t, sizeof(t), "%s", tok);
	t[MM_DEVID_LEN] = '0';
	assert_int_equal(redeem(t, "SN-M", srv_db_now(), out), MM_ERR_FORMAT);
	snprintf(t, sizeof(t), "%s", tok);
	t[MM_DEVID_LEN] = '/';
	assert_int_equal(redeem(t, "SN-M", srv_db_now(), out), MM_ERR_FORMAT);
	/* non-hex secret */
	snprintf(t, sizeof(t), "%s", tok);
	t[MM_DEVID_LEN + 5] = 'g';
	assert_int_equal(redeem(t, "SN-M", srv_db_now(), out), MM_ERR_FORMAT);
	snprintf(t, sizeof(t), "%s", tok);
	t[SRV_TOKEN_LEN - 1] = '%';
	assert_int_equal(redeem(t, "SN-M", srv_db_now(), out), MM_ERR_FORMAT);
	/* upper-case device id: prefix and hex digits */
	snprintf(t, sizeof(t), "%s", tok);
	t[0] = 'D';
	assert_int_equal(redeem(t, "SN-M", srv_db_now(), out), MM_ERR_FORMAT);
	snprintf(t, sizeof(t), "%s", "d-ABCDEF0123456789.0123456789abcdef0123456789abcdef");
	assert_int_equal(redeem(t, "SN-M", srv_db_now(), out), MM_ERR_FORMAT);
	/* wrong lead character / separator of the id */
	snprintf(t, sizeof(t), "%s", tok);
	t[0] = 'p';
	assert_int_equal(redeem(t, "SN-M", srv_db_now(), out), MM_ERR_FORMAT);
	snprintf(t, sizeof(t), "%s", tok);
	t[1] = '_';
	assert_int_equal(redeem(t, "SN-M", srv_db_now(), out), MM_ERR_FORMAT);
	/* any byte of the id replaced by an SQL-ish character */
	for (i = 2; i < MM_DEVID_LEN; i++) {
		snprintf(t, sizeof(t), "%s", tok);
		t[i] = '\'';
		assert_int_equal(redeem(t, "SN-M", srv_db_now(), out), MM_ERR_FORMAT);
	}
	assert_int_equal(out[0], 'z');
	/* none of that touched the real token */
	assert_int_equal(redeem(tok, "SN-M", srv_db_now(), out), MM_OK);
	assert_string_equal(out, id);
}

static void
test_duplicate_serial(void **state)
{
	char id[MM_DEVID_SIZE], tok[SRV_TOKEN_SIZE];
	char id2[MM_DEVID_SIZE], tok2[SRV_TOKEN_SIZE];
	struct srv_device_spec s;

	(void)state;
	add_ok("SN-D", id, tok);
	memset(id2, 'z', sizeof(id2));
	memset(tok2, 'z', sizeof(tok2));
	spec_set(&s, "SN-D", "other", "", "");
	assert_int_equal(srv_enroll_add(db, &s, TTL, id2, tok2), MM_ERR_EXISTS);
	assert_int_equal(id2[0], 'z');
	assert_int_equal(tok2[0], 'z');
	assert_int_equal(devices(), 1);
	assert_int_equal(sql_int("SELECT count(*) FROM enroll_tokens", NULL), 1);
	/* the failed add left no transaction open behind it */
	add_ok("SN-D2", id2, tok2);
	assert_int_equal(devices(), 2);
}

static void
test_invalid_specs(void **state)
{
	char id[MM_DEVID_SIZE], tok[SRV_TOKEN_SIZE];
	struct srv_device_spec s;
	size_t i;
	static const char *const bad_serials[] = {
		"", "a/b", "../x", "a b", "a,b", "a\"b", "a\nb", "sn%", "\xc3\xa9",
	};

	(void)state;
	for (i = 0; i < sizeof(bad_serials) / sizeof(bad_serials[0]); i++) {
		spec_set(&s, bad_serials[i], "m", "", "");
		assert_int_equal(srv_enroll_spec_valid(&s), MM_ERR_FORMAT);
		assert_int_equal(srv_enroll_add(db, &s, TTL, id, tok), MM_ERR_FORMAT);
	}
	/* serial filling its array with no terminator: 65 > 64 */
	spec_set(&s, "x", "m", "", "");
	memset(s.serial, 'a', sizeof(s.serial));
	assert_int_equal(srv_enroll_add(db, &s, TTL, id, tok), MM_ERR_FORMAT);
	/* 64 is the limit and is fine */
	memset(s.serial, 'a', sizeof(s.serial));
	s.serial[SRV_SERIAL_MAX] = '\0';
	assert_int_equal(srv_enroll_spec_valid(&s), MM_OK);
	/* control characters in the text fields */
	spec_set(&s, "SN-1", "cam\x01", "", "");
	assert_int_equal(srv_enroll_add(db, &s, TTL, id, tok), MM_ERR_FORMAT);
	spec_set(&s, "SN-1", "cam\n2", "", "");
	assert_int_equal(srv_enroll_add(db, &s, TTL, id, tok), MM_ERR_FORMAT);
	spec_set(&s, "SN-1", "cam", "hall\x7f", "");
	assert_int_equal(srv_enroll_add(db, &s, TTL, id, tok), MM_ERR_FORMAT);
	spec_set(&s, "SN-1", "cam", "", "ops\t@x");
	assert_int_equal(srv_enroll_add(db, &s, TTL, id, tok), MM_ERR_FORMAT);
	/* model is required */
	spec_set(&s, "SN-1", "", "", "");
	assert_int_equal(srv_enroll_add(db, &s, TTL, id, tok), MM_ERR_FORMAT);
	/* an over-long location (200 characters do not fit: the array is
	 * full with no terminator) */
	spec_set(&s, "SN-1", "cam", "", "");
	memset(s.location, 'L', sizeof(s.location));
	assert_int_equal(srv_enroll_add(db, &s, TTL, id, tok), MM_ERR_FORMAT);
	spec_set(&s, "SN-1", "cam", "", "");
	memset(s.model, 'M', sizeof(s.model));
	assert_int_equal(srv_enroll_add(db, &s, TTL, id, tok), MM_ERR_FORMAT);
	spec_set(&s, "SN-1", "cam", "", "");
	memset(s.admin, 'A', sizeof(s.admin));
	assert_int_equal(srv_enroll_add(db, &s, TTL, id, tok), MM_ERR_FORMAT);
	assert_int_equal(devices(), 0);
	/* 128 printable bytes and UTF-8 are fine; location/admin optional */
	spec_set(&s, "SN_1.x-Y", "cam \xe2\x80\x93 2", "", "");
	memset(s.location, 'L', SRV_FIELD_MAX);
	assert_int_equal(srv_enroll_add(db, &s, TTL, id, tok), MM_OK);
	assert_int_equal(devices(), 1);
}

static void
test_new_token(void **state)
{
	char id[MM_DEVID_SIZE], tok1[SRV_TOKEN_SIZE], tok2[SRV_TOKEN_SIZE];
	char tok3[SRV_TOKEN_SIZE], out[MM_DEVID_SIZE], unknown[MM_DEVID_SIZE];

	(void)state;
	add_ok("SN-N", id, tok1);
	assert_int_equal(srv_enroll_new_token(db, id, TTL, tok2), MM_OK);
	assert_int_equal(strlen(tok2), SRV_TOKEN_LEN);
	assert_memory_equal(tok2, id, MM_DEVID_LEN);
	assert_string_not_equal(tok1, tok2);
	/* the earlier token is dead, the new one works once */
	assert_int_equal(redeem(tok1, "SN-N", srv_db_now(), out), MM_ERR_EXPIRED);
	assert_int_equal(redeem(tok2, "SN-N", srv_db_now(), out), MM_OK);
	assert_string_equal(out, id);
	assert_int_equal(redeem(tok2, "SN-N", srv_db_now(), out), MM_ERR_USED);
	/* unknown device */
	mm_devid_new(unknown);
	memset(tok3, 'z', sizeof(tok3));
	assert_int_equal(srv_enroll_new_token(db, unknown, TTL, tok3),
	    MM_ERR_NOT_FOUND);
	assert_int_equal(tok3[0], 'z');
	/* not for a device that is no longer just registered */
	assert_int_equal(srv_db_exec(db, "UPDATE devices SET state = 'active'"),
	    MM_OK);
	assert_int_equal(srv_enroll_new_token(db, id, TTL, tok3), MM_ERR_STATE);
	assert_int_equal(tok3[0], 'z');
	/* the failures left no transaction open */
	add_ok("SN-N2", unknown, tok3);
}

static void
test_redeem_revoked(void **state)
{
	char id[MM_DEVID_SIZE], tok[SRV_TOKEN_SIZE], out[MM_DEVID_SIZE];

	(void)state;
	add_ok("SN-R", id, tok);
	assert_int_equal(srv_db_exec(db, "UPDATE devices SET state = 'revoked'"),
	    MM_OK);
	assert_int_equal(redeem(tok, "SN-R", srv_db_now(), out), MM_ERR_STATE);
	assert_int_equal(sql_int("SELECT count(*) FROM enroll_tokens WHERE"
	    " used_at IS NOT NULL", NULL), 0);
}

/* Runs an import of csv; the output (NUL-terminated, mm_free) in *outp. */
static int
import(const char *csv, char **outp, int *count)
{
	char *obuf = NULL, *res;
	size_t olen = 0;
	FILE *in, *out;
	int r;

	in = fmemopen((void *)csv, strlen(csv), "r");
	assert_non_null(in);
	out = open_memstream(&obuf, &olen);
	assert_non_null(out);
	r = srv_enroll_import_csv(db, in, out, TTL, count);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	res = mm_strdup(obuf);
	assert_non_null(res);
	free(obuf);
	*outp = res;
	return r;
}

static void
test_csv_import(void **state)
{
	char *out, *line, *next, id[MM_DEVID_SIZE], got[MM_DEVID_SIZE];
	const char *serials[] = { "SN-1", "SN-2", "SN-3" };
	int count = -1, n = 0;
	const char *csv =
	    "serial,model,location,admin_contact\n"
	    "SN-1,cam-2,\"Hall, 2nd floor\",ops@example.org\n"
	    "SN-2,\"door \"\"A\"\"\",,\r\n"
	    "\n"
	    "SN-3,pir,roof,\"\"";

	(void)state;
	assert_int_equal(import(csv, &out, &count), MM_OK);
	assert_int_equal(count, 3);
	assert_int_equal(devices(), 3);
	assert_int_equal(sql_int("SELECT count(*) FROM devices WHERE serial = 'SN-1'"
	    " AND location = 'Hall, 2nd floor' AND model = 'cam-2'"
	    " AND admin_contact = 'ops@example.org'", NULL), 1);
	assert_int_equal(sql_int("SELECT count(*) FROM devices WHERE serial = 'SN-2'"
	    " AND model = 'door \"A\"' AND location = ''", NULL), 1);
	/* header line, then one "serial,device_id,token" line per device */
	next = strchr(out, '\n');
	assert_non_null(next);
	*next++ = '\0';
	assert_string_equal(out, "serial,device_id,token");
	for (line = next; *line != '\0'; line = next, n++) {
		char *c1, *c2;

		assert_true(n < 3);
		next = strchr(line, '\n');
		assert_non_null(next);
		*next++ = '\0';
		c1 = strchr(line, ',');
		assert_non_null(c1);
		*c1++ = '\0';
		c2 = strchr(c1, ',');
		assert_non_null(c2);
		*c2++ = '\0';
		assert_string_equal(line, serials[n]);
		assert_int_equal(strlen(c1), MM_DEVID_LEN);
		assert_true(mm_devid_valid(c1));
		snprintf(id, sizeof(id), "%s", c1);
		assert_int_equal(strlen(c2), SRV_TOKEN_LEN);
		assert_memory_equal(c2, id, MM_DEVID_LEN);
		assert_int_equal(sql_int("SELECT count(*) FROM devices WHERE id = ?",
		    id), 1);
		/* each printed token works for its own serial */
		assert_int_equal(redeem(c2, line, srv_db_now(), got), MM_OK);
		assert_string_equal(got, id);
	}
	assert_int_equal(n, 3);
	mm_free(out);
}

/* Imports csv expecting refusal err and no change at all in the database. */
static void
import_refused(const char *csv, int err)
{
	int64_t before = devices();
	char *out;
	int count = -1;

	assert_int_equal(import(csv, &out, &count), err);
	assert_int_equal(count, -1);
	assert_int_equal(devices(), before);
	mm_free(out);
	/* and no transaction was left open */
	assert_int_equal(srv_db_begin(db), MM_OK);
	srv_db_rollback(db);
}

static void
test_csv_all_or_nothing(void **state)
{
	char big[SRV_FIELD_MAX + 80], *csv;
	size_t n;

	(void)state;
	/* third row duplicates the first serial */
	import_refused("serial,model,location,admin_contact\n"
	    "SN-1,m,,\nSN-2,m,,\nSN-1,m,,\n", MM_ERR_EXISTS);
	/* third row has an unterminated quote */
	import_refused("serial,model,location,admin_contact\n"
	    "SN-1,m,,\nSN-2,m,,\nSN-3,\"m,,\n", MM_ERR_FORMAT);
	/* third row has too few fields / a stray quote / a bad serial */
	import_refused("serial,model,location,admin_contact\n"
	    "SN-1,m,,\nSN-2,m,,\nSN-3,m,\n", MM_ERR_FORMAT);
	import_refused("serial,model,location,admin_contact\n"
	    "SN-1,m,,\nSN-2,m,,\nSN-3,m\"x,,\n", MM_ERR_FORMAT);
	import_refused("serial,model,location,admin_contact\n"
	    "SN-1,m,,\nSN-2,m,,\nSN/3,m,,\n", MM_ERR_FORMAT);
	/* third row has a 200-character location */
	memset(big, 'L', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = strlen(hdr) + 64 + sizeof(big);
	csv = mm_malloc(n);
	assert_non_null(csv);
	snprintf(csv, n, "%sSN-1,m,,\nSN-2,m,,\nSN-3,m,%s,\n", hdr, big);
	import_refused(csv, MM_ERR_TOO_LARGE);
	mm_free(csv);
	/* a line longer than the reader's buffer */
	n = strlen(hdr) + 4096;
	csv = mm_malloc(n);
	assert_non_null(csv);
	snprintf(csv, n, "%sSN-1,m,,\nSN-2,m,,\n", hdr);
	memset(csv + strlen(csv), 'x', 2000);
	csv[strlen(hdr) + 18 + 2000] = '\0';
	import_refused(csv, MM_ERR_TOO_LARGE);
	mm_free(csv);
	/* a serial already in the database from an earlier run */
	{
		char id[MM_DEVID_SIZE], tok[SRV_TOKEN_SIZE];

		add_ok("SN-2", id, tok);
	}
	import_refused("serial,model,location,admin_contact\n"
	    "SN-1,m,,\nSN-2,m,,\nSN-3,m,,\n", MM_ERR_EXISTS);
	assert_int_equal(devices(), 1);
}

static void
test_csv_header(void **state)
{
	char *out;
	int count = -1;

	(void)state;
	/* no header: the first device row is not taken as one */
	import_refused("SN-1,m,,\nSN-2,m,,\n", MM_ERR_FORMAT);
	import_refused("model,serial,location,admin_contact\nSN-1,m,,\n",
	    MM_ERR_FORMAT);
	import_refused("serial,model\nSN-1,m,,\n", MM_ERR_FORMAT);
	assert_int_equal(devices(), 0);
	/* header only: nothing to do, nothing written */
	assert_int_equal(import(hdr, &out, &count), MM_OK);
	assert_int_equal(count, 0);
	assert_int_equal(devices(), 0);
	mm_free(out);
}

static int
group_setup(void **state)
{
	(void)state;
	if (mm_crypto_init() != 0)
		return -1;
	mm_log_set_level(MM_LOG_ERR);	/* refusals are the expected case */
	return 0;
}

static int
split(const char *line, char f[4][FSZ])
{
	memset(f, 'q', 4 * FSZ);
	return srv_enroll_csv_split(line, &f[0][0], 4, FSZ);
}

static void
test_csv_split(void **state)
{
	char f[4][FSZ], line[4 * FSZ + 16];

	(void)state;
	assert_int_equal(split("a,b,c,d", f), MM_OK);
	assert_string_equal(f[0], "a");
	assert_string_equal(f[3], "d");
	assert_int_equal(split(",,,", f), MM_OK);
	assert_string_equal(f[0], "");
	assert_string_equal(f[3], "");
	/* quoting: commas and doubled quotes inside, empty quoted field */
	assert_int_equal(split("\"x, y\",\"say \"\"hi\"\"\",\"\",\"\"\"\"", f),
	    MM_OK);
	assert_string_equal(f[0], "x, y");
	assert_string_equal(f[1], "say \"hi\"");
	assert_string_equal(f[2], "");
	assert_string_equal(f[3], "\"");
	assert_int_equal(split("a,\",,,\",c,\"d\"", f), MM_OK);
	assert_string_equal(f[1], ",,,");
	assert_string_equal(f[3], "d");
	/* field counts */
	assert_int_equal(split("", f), MM_ERR_FORMAT);
	assert_int_equal(split("a,b,c", f), MM_ERR_FORMAT);
	assert_int_equal(split("a,b,c,d,e", f), MM_ERR_FORMAT);
	assert_int_equal(split("a,b,c,d,", f), MM_ERR_FORMAT);
	assert_int_equal(split("a,b,\"c,d\"", f), MM_ERR_FORMAT);
	/* stray and unterminated quotes */
	assert_int_equal(split("a\"b,c,d,e", f), MM_ERR_FORMAT);
	assert_int_equal(split("ab\",c,d,e", f), MM_ERR_FORMAT);
	assert_int_equal(split("\"a\"b,c,d,e", f), MM_ERR_FORMAT);
	assert_int_equal(split("\"a\" ,c,d,e", f), MM_ERR_FORMAT);
	assert_int_equal(split("\"abc,d,e,f", f), MM_ERR_FORMAT);
	assert_int_equal(split("a,b,c,\"d", f), MM_ERR_FORMAT);
	assert_int_equal(split("a,b,c,\"", f), MM_ERR_FORMAT);
	assert_int_equal(split("a,b,c,\"d\"\"", f), MM_ERR_FORMAT);
	/* field lengths: 128 bytes fit, 129 do not, quoted or not */
	memset(line, 'x', SRV_FIELD_MAX);
	snprintf(line + SRV_FIELD_MAX, sizeof(line) - SRV_FIELD_MAX, ",b,c,d");
	assert_int_equal(split(line, f), MM_OK);
	assert_int_equal(strlen(f[0]), SRV_FIELD_MAX);
	assert_string_equal(f[1], "b");
	memset(line, 'x', SRV_FIELD_MAX + 1);
	snprintf(line + SRV_FIELD_MAX + 1, sizeof(line) - SRV_FIELD_MAX - 1,
	    ",b,c,d");
	assert_int_equal(split(line, f), MM_ERR_TOO_LARGE);
	snprintf(line, sizeof(line), "a,b,c,\"");
	memset(line + 7, 'y', SRV_FIELD_MAX + 1);
	snprintf(line + 7 + SRV_FIELD_MAX + 1, 2, "\"");
	assert_int_equal(split(line, f), MM_ERR_TOO_LARGE);
	/* every field at its maximum: the last one too */
	memset(line, 'z', sizeof(line));
	line[FSZ - 1] = line[2 * FSZ - 1] = line[3 * FSZ - 1] = ',';
	line[4 * FSZ - 1] = '\0';
	assert_int_equal(split(line, f), MM_OK);
	assert_int_equal(strlen(f[3]), SRV_FIELD_MAX);
	line[4 * FSZ - 1] = 'z';
	line[4 * FSZ] = '\0';
	assert_int_equal(split(line, f), MM_ERR_TOO_LARGE);
	/* a smaller table */
	{
		char g[2][8];

		assert_int_equal(srv_enroll_csv_split("1234567,x", &g[0][0], 2, 8),
		    MM_OK);
		assert_string_equal(g[0], "1234567");
		assert_int_equal(srv_enroll_csv_split("12345678,x", &g[0][0], 2, 8),
		    MM_ERR_TOO_LARGE);
		assert_int_equal(srv_enroll_csv_split("1,2,3", &g[0][0], 2, 8),
		    MM_ERR_FORMAT);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_redeem_once, db_setup,
		    db_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_serial, db_setup,
		    db_teardown),
		cmocka_unit_test_setup_teardown(test_expired, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_unknown, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_malformed, db_setup,
		    db_teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_serial, db_setup,
		    db_teardown),
		cmocka_unit_test_setup_teardown(test_invalid_specs, db_setup,
		    db_teardown),
		cmocka_unit_test_setup_teardown(test_new_token, db_setup,
		    db_teardown),
		cmocka_unit_test_setup_teardown(test_redeem_revoked, db_setup,
		    db_teardown),
		cmocka_unit_test_setup_teardown(test_csv_import, db_setup,
		    db_teardown),
		cmocka_unit_test_setup_teardown(test_csv_all_or_nothing, db_setup,
		    db_teardown),
		cmocka_unit_test_setup_teardown(test_csv_header, db_setup,
		    db_teardown),
		cmocka_unit_test(test_csv_split),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
