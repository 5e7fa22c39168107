/* Unit tests for the in-memory device registry (srv_registry): the hash
 * table across growth, clone detection by alternating instance ids, and
 * the round trip of state and last_seen through a real SQLite database. */
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
#include "server/srv_registry.h"

#include "test_db.h"

#define NIDS 10000
#define WINDOW 300
#define T0 1800000000


static void
put_ok(struct srv_registry *reg, const char *id, enum srv_dev_state st,
    struct srv_dev **out)
{
	assert_int_equal(srv_registry_put(reg, id, st, out), MM_OK);
}

static void
test_put_get_many(void **state)
{
	struct srv_dev **devs, *d;
	struct srv_registry *reg;
	char (*ids)[MM_DEVID_SIZE];
	size_t i, j;

	(void)state;
	ids = mm_calloc(NIDS, sizeof(*ids));
	devs = mm_calloc(NIDS, sizeof(*devs));
	assert_non_null(ids);
	assert_non_null(devs);
	assert_int_equal(srv_registry_new(&reg), MM_OK);
	assert_int_equal(srv_registry_count(reg), 0);
	for (i = 0; i < NIDS; i++) {
		mm_devid_new(ids[i]);
		assert_true(mm_devid_valid(ids[i]));
		put_ok(reg, ids[i], (enum srv_dev_state)(i % 3), &devs[i]);
		assert_non_null(devs[i]);
		assert_string_equal(devs[i]->id, ids[i]);
		assert_int_equal(devs[i]->dirty, 0);
		assert_int_equal(devs[i]->last_seen, 0);
		assert_int_equal(srv_registry_count(reg), i + 1);
		/* spot-check earlier entries while the table grows */
		if (i % 997 == 0)
			for (j = 0; j <= i; j += 101)
				assert_ptr_equal(srv_registry_get(reg, ids[j]), devs[j]);
	}
	/* every id is found after all the growth, at the same address */
	for (i = 0; i < NIDS; i++) {
		d = srv_registry_get(reg, ids[i]);
		assert_non_null(d);
		assert_ptr_equal(d, devs[i]);
		assert_string_equal(d->id, ids[i]);
		assert_int_equal(d->state, (enum srv_dev_state)(i % 3));
	}
	/* putting again updates in place, never duplicates */
	for (i = 0; i < NIDS; i += 7) {
		devs[i]->last_seen = 42;
		put_ok(reg, ids[i], SRV_DEV_REVOKED, &d);
		assert_ptr_equal(d, devs[i]);
		assert_int_equal(d->state, SRV_DEV_REVOKED);
		assert_int_equal(d->last_seen, 42);
	}
	put_ok(reg, ids[1], SRV_DEV_ACTIVE, NULL);
	assert_int_equal(srv_registry_get(reg, ids[1])->state, SRV_DEV_ACTIVE);
	assert_int_equal(srv_registry_count(reg), NIDS);
	srv_registry_free(reg);
	mm_free(ids);
	mm_free(devs);
}

static void
test_unknown_and_invalid(void **state)
{
	char id[MM_DEVID_SIZE], other[MM_DEVID_SIZE];
	struct srv_registry *reg;
	struct srv_dev *d = (void *)0x1;
	size_t i;

	(void)state;
	assert_int_equal(srv_registry_new(&reg), MM_OK);
	mm_devid_new(id);
	assert_null(srv_registry_get(reg, id));	/* empty table */
	put_ok(reg, id, SRV_DEV_ACTIVE, NULL);
	for (i = 0; i < 100; i++) {
		mm_devid_new(other);
		if (strcmp(other, id) != 0)
			assert_null(srv_registry_get(reg, other));
	}
	assert_null(srv_registry_get(reg, ""));
	assert_null(srv_registry_get(reg, "d-0"));
	/* a prefix or an extension of a known id is another id */
	snprintf(other, sizeof(other), "%.*s", MM_DEVID_LEN - 1, id);
	assert_null(srv_registry_get(reg, other));
	/* only well-formed ids get in */
	assert_int_equal(srv_registry_put(reg, "", SRV_DEV_ACTIVE, &d),
	    MM_ERR_INVALID_ARG);
	assert_int_equal(srv_registry_put(reg, "d-0011223344556677x",
	    SRV_DEV_ACTIVE, &d), MM_ERR_INVALID_ARG);
	assert_int_equal(srv_registry_put(reg, "D-0011223344556677",
	    SRV_DEV_ACTIVE, &d), MM_ERR_INVALID_ARG);
	assert_int_equal(srv_registry_put(reg, "d-00112233445566AA",
	    SRV_DEV_ACTIVE, &d), MM_ERR_INVALID_ARG);
	assert_ptr_equal(d, (void *)0x1);
	assert_int_equal(srv_registry_count(reg), 1);
	srv_registry_free(reg);
	srv_registry_free(NULL);
}

static void
test_state_names(void **state)
{
	(void)state;
	assert_int_equal(srv_dev_state_parse("active"), SRV_DEV_ACTIVE);
	assert_int_equal(srv_dev_state_parse("revoked"), SRV_DEV_REVOKED);
	assert_int_equal(srv_dev_state_parse("registered"), SRV_DEV_REGISTERED);
	assert_string_equal(srv_dev_state_name(SRV_DEV_ACTIVE), "active");
	assert_string_equal(srv_dev_state_name(SRV_DEV_REVOKED), "revoked");
	assert_string_equal(srv_dev_state_name(SRV_DEV_REGISTERED), "registered");
}

/* A fresh device record, as the registry would hand it out. */
static void
dev_init(struct srv_dev *d)
{
	memset(d, 0, sizeof(*d));
	mm_devid_new(d->id);
}

static void
test_seen_clone(void **state)
{
	const char *a = "aaaaaaaaaaaaaaaa", *b = "bbbbbbbbbbbbbbbb";
	const char *c = "cccccccccccccccc";
	struct srv_dev d;

	(void)state;
	/* A then A: one instance talking */
	dev_init(&d);
	assert_int_equal(srv_registry_seen(&d, a, T0, WINDOW), 0);
	assert_int_equal(d.last_seen, T0);
	assert_int_equal(d.dirty, 1);
	assert_string_equal(d.inst, a);
	assert_int_equal(srv_registry_seen(&d, a, T0 + 1, WINDOW), 0);
	assert_int_equal(srv_registry_seen(&d, a, T0 + 2, WINDOW), 0);
	assert_int_equal(d.last_seen, T0 + 2);

	/* A then B: a restart, not a clone */
	dev_init(&d);
	assert_int_equal(srv_registry_seen(&d, a, T0, WINDOW), 0);
	assert_int_equal(srv_registry_seen(&d, b, T0 + 1, WINDOW), 0);
	assert_string_equal(d.inst, b);
	assert_string_equal(d.prev_inst, a);
	assert_int_equal(srv_registry_seen(&d, b, T0 + 2, WINDOW), 0);
	/* and restarts in a row (A, B, C) are no clone either */
	assert_int_equal(srv_registry_seen(&d, c, T0 + 3, WINDOW), 0);

	/* A, B, A within the window: two live instances */
	dev_init(&d);
	assert_int_equal(srv_registry_seen(&d, a, T0, WINDOW), 0);
	assert_int_equal(srv_registry_seen(&d, b, T0 + 10, WINDOW), 0);
	assert_int_equal(srv_registry_seen(&d, a, T0 + 20, WINDOW), 1);
	assert_int_equal(d.last_seen, T0 + 20);
	/* ... and every further flip is caught */
	assert_int_equal(srv_registry_seen(&d, b, T0 + 30, WINDOW), 1);
	/* exactly at the window's edge still counts */
	dev_init(&d);
	assert_int_equal(srv_registry_seen(&d, a, T0, WINDOW), 0);
	assert_int_equal(srv_registry_seen(&d, b, T0 + 10, WINDOW), 0);
	assert_int_equal(srv_registry_seen(&d, a, T0 + 10 + WINDOW, WINDOW), 1);

	/* A, B, A after the window: B went away, A came back (e.g. restored) */
	dev_init(&d);
	assert_int_equal(srv_registry_seen(&d, a, T0, WINDOW), 0);
	assert_int_equal(srv_registry_seen(&d, b, T0 + 10, WINDOW), 0);
	assert_int_equal(srv_registry_seen(&d, a, T0 + 10 + WINDOW + 1, WINDOW), 0);
	/* the window counts from the switch to B, not from the first A */
	dev_init(&d);
	assert_int_equal(srv_registry_seen(&d, a, T0, WINDOW), 0);
	assert_int_equal(srv_registry_seen(&d, b, T0 + WINDOW, WINDOW), 0);
	assert_int_equal(srv_registry_seen(&d, a, T0 + WINDOW + 5, WINDOW), 1);
}

static void
sql_exec(const char *sql)
{
	assert_int_equal(srv_db_exec(db, sql), MM_OK);
}

static void
insert_device(const char *id, const char *serial)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(srv_db_handle(db),
	    "INSERT INTO devices (id, serial, created_at) VALUES (?, ?, ?)",
	    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, T0);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static int64_t
db_last_seen(const char *id)
{
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(srv_db_handle(db),
	    "SELECT last_seen FROM devices WHERE id = ?", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
test_flush(void **state)
{
	char a[MM_DEVID_SIZE], b[MM_DEVID_SIZE], c[MM_DEVID_SIZE];
	struct srv_registry *reg;
	struct srv_dev *da, *db_, *dc;

	(void)state;
	mm_devid_new(a);
	mm_devid_new(b);
	mm_devid_new(c);
	insert_device(a, "SN-A");
	insert_device(b, "SN-B");
	assert_int_equal(srv_registry_new(&reg), MM_OK);
	assert_int_equal(srv_registry_load(reg, db), MM_OK);
	assert_int_equal(srv_registry_count(reg), 2);
	da = srv_registry_get(reg, a);
	db_ = srv_registry_get(reg, b);
	assert_non_null(da);
	assert_non_null(db_);
	assert_int_equal(da->state, SRV_DEV_REGISTERED);
	assert_int_equal(da->dirty, 0);
	/* c is only in memory: flushing it must not fail or create it */
	put_ok(reg, c, SRV_DEV_ACTIVE, &dc);

	assert_int_equal(srv_registry_seen(da, "i1", T0 + 100, WINDOW), 0);
	assert_int_equal(srv_registry_seen(dc, "i1", T0 + 300, WINDOW), 0);
	assert_int_equal(da->dirty, 1);
	assert_int_equal(db_->dirty, 0);
	assert_int_equal(db_last_seen(a), 0);	/* not written yet */
	assert_int_equal(srv_registry_flush(reg, db), MM_OK);
	assert_int_equal(db_last_seen(a), T0 + 100);
	assert_int_equal(db_last_seen(b), 0);
	assert_int_equal(da->dirty, 0);
	assert_int_equal(dc->dirty, 0);
	assert_int_equal(da->last_seen, T0 + 100);
	{
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_prepare_v2(srv_db_handle(db),
		    "SELECT count(*) FROM devices", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 2);
		sqlite3_finalize(st);
	}
	/* a second round writes only what changed since */
	assert_int_equal(srv_registry_seen(db_, "i2", T0 + 200, WINDOW), 0);
	sql_exec("UPDATE devices SET last_seen = 7 WHERE serial = 'SN-A'");
	assert_int_equal(srv_registry_flush(reg, db), MM_OK);
	assert_int_equal(db_last_seen(b), T0 + 200);
	assert_int_equal(db_last_seen(a), 7);
	/* flushing with nothing dirty is a no-op that succeeds */
	assert_int_equal(srv_registry_flush(reg, db), MM_OK);
	/* the flush committed: the database accepts a new transaction */
	assert_int_equal(srv_db_begin(db), MM_OK);
	srv_db_rollback(db);
	srv_registry_free(reg);
}

static void
test_load_state_change(void **state)
{
	char a[MM_DEVID_SIZE], b[MM_DEVID_SIZE], c[MM_DEVID_SIZE];
	struct srv_registry *reg;
	struct srv_dev *da, *d;

	(void)state;
	mm_devid_new(a);
	mm_devid_new(b);
	mm_devid_new(c);
	insert_device(a, "SN-A");
	insert_device(b, "SN-B");
	sql_exec("UPDATE devices SET state = 'active', last_seen = 500");
	assert_int_equal(srv_registry_new(&reg), MM_OK);
	assert_int_equal(srv_registry_load(reg, db), MM_OK);
	da = srv_registry_get(reg, a);
	assert_non_null(da);
	assert_int_equal(da->state, SRV_DEV_ACTIVE);
	assert_int_equal(da->last_seen, 500);
	assert_int_equal(srv_registry_get(reg, b)->state, SRV_DEV_ACTIVE);

	/* runtime state the database does not have */
	assert_int_equal(srv_registry_seen(da, "inst-1", T0 + 50, WINDOW), 0);

	/* an admin revokes a in the database; a new device c appears */
	sql_exec("UPDATE devices SET state = 'revoked' WHERE serial = 'SN-A'");
	insert_device(c, "SN-C");
	assert_int_equal(srv_registry_load(reg, db), MM_OK);
	assert_int_equal(srv_registry_count(reg), 3);
	d = srv_registry_get(reg, a);
	assert_ptr_equal(d, da);	/* updated in place */
	assert_int_equal(d->state, SRV_DEV_REVOKED);
	assert_int_equal(srv_registry_get(reg, b)->state, SRV_DEV_ACTIVE);
	assert_non_null(srv_registry_get(reg, c));
	assert_int_equal(srv_registry_get(reg, c)->state, SRV_DEV_REGISTERED);
	/* kept: instance ids and the unflushed last_seen */
	assert_string_equal(d->inst, "inst-1");
	assert_int_equal(d->dirty, 1);
	assert_int_equal(d->last_seen, T0 + 50);
	/* b is clean, so it takes the database's value */
	sql_exec("UPDATE devices SET last_seen = 900 WHERE serial = 'SN-B'");
	assert_int_equal(srv_registry_load(reg, db), MM_OK);
	assert_int_equal(srv_registry_get(reg, b)->last_seen, 900);
	/* and back: reinstated in the database, reinstated here */
	sql_exec("UPDATE devices SET state = 'active' WHERE serial = 'SN-A'");
	assert_int_equal(srv_registry_load(reg, db), MM_OK);
	assert_int_equal(d->state, SRV_DEV_ACTIVE);
	srv_registry_free(reg);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_many),
		cmocka_unit_test(test_unknown_and_invalid),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_seen_clone),
		cmocka_unit_test_setup_teardown(test_flush, db_setup, db_teardown),
		cmocka_unit_test_setup_teardown(test_load_state_change, db_setup,
		    db_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
