/*
 * test_db.h - shared cmocka fixture for server unit tests: each test gets
 * its own empty fleet database in a fresh temporary directory, removed
 * afterwards.  Include once, in a test file; it defines `db`.
 */
#ifndef TEST_DB_H
#define TEST_DB_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/mm_err.h"
#include "server/srv_db.h"

static char test_db_dir[64];
static struct srv_db *db;

static int
test_db_rm(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

static int
db_setup(void **state)
{
	char path[128];

	(void)state;
	snprintf(test_db_dir, sizeof(test_db_dir), "/tmp/mm_test_db.XXXXXX");
	if (mkdtemp(test_db_dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/fleet.db", test_db_dir);
	return srv_db_open(path, 1, &db) == MM_OK ? 0 : -1;
}

static int
db_teardown(void **state)
{
	(void)state;
	srv_db_close(db);
	db = NULL;
	return nftw(test_db_dir, test_db_rm, 8, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

#endif
