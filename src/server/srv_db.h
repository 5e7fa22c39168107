/*
 * srv_db.h - the fleet database (SQLite, WAL).  Schema and migrations live
 * here (docs/decisions/0005-storage-schema.md); each module keeps its own
 * queries next to its logic and uses these helpers.
 */
#ifndef SRV_DB_H
#define SRV_DB_H

#include <stdint.h>

#include <sqlite3.h>

struct srv_db;

/* Opens (creating if create) and migrates the database at path. */
int srv_db_open(const char *path, int create, struct srv_db **out);
/* Tests: like srv_db_open but migrates only up to schema version schema
 * (1 .. current); MM_ERR_INVALID_ARG outside that range. */
int srv_db_open_schema(const char *path, int create, int schema,
    struct srv_db **out);
/* The schema version of the open database (PRAGMA user_version). */
int srv_db_schema(struct srv_db *db, int *out);
void srv_db_close(struct srv_db *db);
sqlite3 *srv_db_handle(struct srv_db *db);

int srv_db_begin(struct srv_db *db);	/* BEGIN IMMEDIATE */
int srv_db_commit(struct srv_db *db);
void srv_db_rollback(struct srv_db *db);

/* Prepares sql; logs and returns MM_ERR_DB on failure. */
int srv_db_prepare(struct srv_db *db, const char *sql, sqlite3_stmt **out);
/* Steps a statement expected to finish (SQLITE_DONE); MM_ERR_EXISTS on a
 * constraint violation. */
int srv_db_step_done(struct srv_db *db, sqlite3_stmt *st);
/* Runs SQL without results. */
int srv_db_exec(struct srv_db *db, const char *sql);
/* Changes since the last call visible from other connections (CLI). */
int srv_db_changed(struct srv_db *db);
int64_t srv_db_now(void);

#endif
