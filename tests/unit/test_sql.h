/*
 * test_sql.h - one-value SQL queries for server unit tests that use the
 * fixture of test_db.h (include that first).  Every query must be valid;
 * sql_int needs a row, sql_text answers "(none)" without one and "(null)"
 * for a NULL.
 */
#ifndef TEST_SQL_H
#define TEST_SQL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

static inline int64_t sql_int(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static inline const char *sql_text(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static inline sqlite3_stmt *sql_prepare_v(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

static inline sqlite3_stmt *
sql_prepare_v(const char *fmt, va_list ap)
{
	char sql[512];
	sqlite3_stmt *st;

	(void)vsnprintf(sql, sizeof(sql), fmt, ap);
	assert_int_equal(sqlite3_prepare_v2(srv_db_handle(db), sql, -1, &st,
	    NULL), SQLITE_OK);
	return st;
}

static inline int64_t
sql_int(const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int64_t v;

	va_start(ap, fmt);
	st = sql_prepare_v(fmt, ap);
	va_end(ap);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static inline const char *
sql_text(const char *fmt, ...)
{
	static char out[1024];
	const unsigned char *t;
	sqlite3_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = sql_prepare_v(fmt, ap);
	va_end(ap);
	if (sqlite3_step(st) != SQLITE_ROW)
		snprintf(out, sizeof(out), "(none)");
	else if ((t = sqlite3_column_text(st, 0)) == NULL)
		snprintf(out, sizeof(out), "(null)");
	else
		snprintf(out, sizeof(out), "%s", (const char *)t);
	sqlite3_finalize(st);
	return out;
}

#endif
