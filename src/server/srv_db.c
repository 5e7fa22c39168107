/* srv_db.c - SQLite connection, schema migrations and statement helpers. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "server/srv_db.h"

struct srv_db {
	sqlite3 *h;
	int data_version;
};

/* Migration n brings the schema from version n to n+1; never edit one that
 * has shipped, add a new one. */
static const char *const srv_db_migrations[] = {
	"CREATE TABLE devices ("
	"  id TEXT PRIMARY KEY,"
	"  serial TEXT NOT NULL UNIQUE,"
	"  model TEXT NOT NULL DEFAULT '',"
	"  location TEXT NOT NULL DEFAULT '',"
	"  admin_contact TEXT NOT NULL DEFAULT '',"
	"  state TEXT NOT NULL DEFAULT 'registered'"
	"    CHECK (state IN ('registered','active','revoked')),"
	"  fw_version TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL DEFAULT 0,"
	"  boot_id TEXT NOT NULL DEFAULT '',"
	"  instance TEXT NOT NULL DEFAULT '',"
	"  heartbeat_interval INTEGER NOT NULL DEFAULT 0,"
	"  next_cmd_counter INTEGER NOT NULL DEFAULT 1);"
	"CREATE TABLE enroll_tokens ("
	"  token_hash TEXT PRIMARY KEY,"
	"  device_id TEXT NOT NULL REFERENCES devices(id),"
	"  serial TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  used_at INTEGER);"
	"CREATE TABLE certificates ("
	"  serial TEXT PRIMARY KEY,"
	"  device_id TEXT NOT NULL REFERENCES devices(id),"
	"  fingerprint TEXT NOT NULL,"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  issued_at INTEGER NOT NULL,"
	"  revoked_at INTEGER,"
	"  reason TEXT);"
	"CREATE INDEX certificates_device ON certificates(device_id);"
	"CREATE TABLE alerts ("
	"  id INTEGER PRIMARY KEY,"
	"  device_id TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  severity TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  requirements TEXT NOT NULL DEFAULT '',"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  count INTEGER NOT NULL DEFAULT 1,"
	"  status TEXT NOT NULL DEFAULT 'open'"
	"    CHECK (status IN ('open','acknowledged','resolved')));"
	"CREATE INDEX alerts_open ON alerts(device_id, kind, status);"
	"CREATE TABLE commands ("
	"  id INTEGER PRIMARY KEY,"
	"  device_id TEXT NOT NULL REFERENCES devices(id),"
	"  name TEXT NOT NULL,"
	"  args TEXT NOT NULL DEFAULT '{}',"
	"  created_at INTEGER NOT NULL,"
	"  counter INTEGER,"
	"  sent_at INTEGER,"
	"  status TEXT NOT NULL DEFAULT 'pending',"
	"  result TEXT NOT NULL DEFAULT '',"
	"  result_at INTEGER);"
	"CREATE INDEX commands_pending ON commands(status);"
	"CREATE TABLE server_stats ("
	"  name TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL);",

	/* 2: local authentication summary and sealed command results
	 * (decision 0007) */
	"ALTER TABLE devices ADD COLUMN cred_state TEXT"
	"  CHECK (cred_state IN ('initial','set','none'));"
	"ALTER TABLE devices ADD COLUMN maint_until INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE devices ADD COLUMN auth_failures INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE devices ADD COLUMN auth_refused INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE devices ADD COLUMN auth_lockouts INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE commands ADD COLUMN result_sealed TEXT;",

	/* 3: the fleet's copy of the devices' sealed logs (decision 0009,
	 * docs/server-seclog.md) */
	"CREATE TABLE seclog_keys ("
	"  device_id TEXT PRIMARY KEY REFERENCES devices(id),"
	"  log_id BLOB NOT NULL,"
	"  root_key BLOB NOT NULL,"
	"  imported_at INTEGER NOT NULL);"
	"CREATE TABLE seclog_state ("
	"  device_id TEXT PRIMARY KEY,"
	"  log_id BLOB NOT NULL,"
	"  next_seq INTEGER NOT NULL,"
	"  epoch INTEGER NOT NULL,"
	"  sealed INTEGER NOT NULL,"
	"  count_known INTEGER NOT NULL,"
	"  count INTEGER NOT NULL,"
	"  prev BLOB NOT NULL,"
	"  batches INTEGER NOT NULL DEFAULT 0,"
	"  records INTEGER NOT NULL DEFAULT 0,"
	"  duplicates INTEGER NOT NULL DEFAULT 0,"
	"  resends INTEGER NOT NULL DEFAULT 0,"
	"  gaps INTEGER NOT NULL DEFAULT 0,"
	"  last_batch_at INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE seclog_records ("
	"  device_id TEXT NOT NULL,"
	"  log_id BLOB NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  epoch INTEGER NOT NULL,"
	"  wall_ms INTEGER NOT NULL,"
	"  mono_ms INTEGER NOT NULL,"
	"  boot_id BLOB NOT NULL,"
	"  type INTEGER NOT NULL,"
	"  severity INTEGER NOT NULL,"
	"  source TEXT NOT NULL,"
	"  payload BLOB NOT NULL,"
	"  raw BLOB NOT NULL,"
	"  received_at INTEGER NOT NULL,"
	"  PRIMARY KEY (device_id, log_id, seq)) WITHOUT ROWID;"
	"CREATE TABLE seclog_gaps ("
	"  device_id TEXT NOT NULL,"
	"  log_id BLOB NOT NULL,"
	"  from_seq INTEGER NOT NULL,"
	"  to_seq INTEGER NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  prev BLOB NOT NULL,"
	"  PRIMARY KEY (device_id, log_id, from_seq));",
};

#define SRV_DB_VERSION \
	((int)(sizeof(srv_db_migrations) / sizeof(srv_db_migrations[0])))

int64_t
srv_db_now(void)
{
	return (int64_t)time(NULL);
}

sqlite3 *
srv_db_handle(struct srv_db *db)
{
	return db->h;
}

int
srv_db_exec(struct srv_db *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &err) != SQLITE_OK) {
		mm_log(MM_LOG_ERR, "database: %s", err != NULL ? err : "?");
		sqlite3_free(err);
		return MM_ERR_DB;
	}
	return MM_OK;
}

int
srv_db_begin(struct srv_db *db)
{
	return srv_db_exec(db, "BEGIN IMMEDIATE");
}

int
srv_db_commit(struct srv_db *db)
{
	return srv_db_exec(db, "COMMIT");
}

void
srv_db_rollback(struct srv_db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		(void)sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

int
srv_db_prepare(struct srv_db *db, const char *sql, sqlite3_stmt **out)
{
	if (sqlite3_prepare_v2(db->h, sql, -1, out, NULL) != SQLITE_OK) {
		mm_log(MM_LOG_ERR, "database: prepare: %s", sqlite3_errmsg(db->h));
		return MM_ERR_DB;
	}
	return MM_OK;
}

int
srv_db_step_done(struct srv_db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return MM_OK;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return MM_ERR_EXISTS;
	mm_log(MM_LOG_ERR, "database: %s", sqlite3_errmsg(db->h));
	return MM_ERR_DB;
}

static int
srv_db_user_version(struct srv_db *db, int *out)
{
	sqlite3_stmt *st;
	int r;

	if ((r = srv_db_prepare(db, "PRAGMA user_version", &st)) != 0)
		return r;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		r = MM_OK;
	} else
		r = MM_ERR_DB;
	sqlite3_finalize(st);
	return r;
}

int
srv_db_schema(struct srv_db *db, int *out)
{
	return srv_db_user_version(db, out);
}

static int
srv_db_migrate(struct srv_db *db, int target)
{
	char sql[64];
	int v, r;

	if ((r = srv_db_user_version(db, &v)) != 0)
		return r;
	if (v > SRV_DB_VERSION) {
		mm_log(MM_LOG_ERR, "database schema %d is newer than this server (%d)",
		    v, SRV_DB_VERSION);
		return MM_ERR_UNSUPPORTED;
	}
	for (; v < target; v++) {
		if ((r = srv_db_begin(db)) != 0)
			return r;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if ((r = srv_db_exec(db, srv_db_migrations[v])) != 0 ||
		    (r = srv_db_exec(db, sql)) != 0 ||
		    (r = srv_db_commit(db)) != 0) {
			srv_db_rollback(db);
			return r;
		}
		mm_log(MM_LOG_INFO, "database migrated to schema %d", v + 1);
	}
	return MM_OK;
}

int
srv_db_open(const char *path, int create, struct srv_db **out)
{
	return srv_db_open_schema(path, create, SRV_DB_VERSION, out);
}

int
srv_db_open_schema(const char *path, int create, int schema,
    struct srv_db **out)
{
	struct srv_db *db;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
	    (create ? SQLITE_OPEN_CREATE : 0);
	int r;

	if (schema < 1 || schema > SRV_DB_VERSION)
		return MM_ERR_INVALID_ARG;
	if ((db = mm_calloc(1, sizeof(*db))) == NULL)
		return MM_ERR_ALLOC;
	if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
		mm_log(MM_LOG_ERR, "database %s: %s", path,
		    db->h ? sqlite3_errmsg(db->h) : "cannot open");
		r = MM_ERR_DB;
		goto fail;
	}
	sqlite3_busy_timeout(db->h, 10000);
	if ((r = srv_db_exec(db, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")) != 0 ||
	    (r = srv_db_migrate(db, schema)) != 0)
		goto fail;
	(void)srv_db_changed(db);
	*out = db;
	return MM_OK;
 fail:
	srv_db_close(db);
	return r;
}

void
srv_db_close(struct srv_db *db)
{
	if (db == NULL)
		return;
	sqlite3_close(db->h);
	mm_free(db);
}

int
srv_db_changed(struct srv_db *db)
{
	sqlite3_stmt *st;
	int v = db->data_version, changed;

	if (srv_db_prepare(db, "PRAGMA data_version", &st) != 0)
		return 1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	changed = v != db->data_version;
	db->data_version = v;
	return changed;
}
