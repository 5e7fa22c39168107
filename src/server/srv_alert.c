/* srv_alert.c - raising and de-duplicating alerts. */
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "server/srv_alert.h"

static const char *
srv_severity_name(enum srv_severity sev)
{
	switch (sev) {
	case SRV_SEV_CRITICAL: return "critical";
	case SRV_SEV_WARNING: return "warning";
	default: return "info";
	}
}

static int
srv_severity_rank(enum srv_severity sev)
{
	switch (sev) {
	case SRV_SEV_CRITICAL: return 2;
	case SRV_SEV_WARNING: return 1;
	default: return 0;
	}
}

int
srv_alert_raise(struct srv_db *db, const char *device_id, const char *kind,
    enum srv_severity sev, const char *reqs, const char *detail)
{
	sqlite3_stmt *st;
	int64_t now = srv_db_now();
	int r;

	mm_log(sev == SRV_SEV_INFO ? MM_LOG_NOTICE : MM_LOG_WARN,
	    "ALERT %s %s device=%s: %s", srv_severity_name(sev), kind, device_id,
	    detail);
	/* a repeat may be worse than the first (local_bruteforce): the
	 * severity goes up, never down */
	if ((r = srv_db_prepare(db, "UPDATE alerts SET count = count + 1,"
	    " last_seen = ?, detail = ?, severity = CASE WHEN ? > (CASE severity"
	    " WHEN 'critical' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END)"
	    " THEN ? ELSE severity END WHERE device_id = ? AND kind = ?"
	    " AND status != 'resolved'", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, detail, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, srv_severity_rank(sev));
	sqlite3_bind_text(st, 4, srv_severity_name(sev), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, device_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, kind, -1, SQLITE_STATIC);
	r = srv_db_step_done(db, st);
	sqlite3_finalize(st);
	if (r != 0 || sqlite3_changes(srv_db_handle(db)) > 0)
		return r;
	if ((r = srv_db_prepare(db, "INSERT INTO alerts (device_id, kind, severity,"
	    " detail, requirements, first_seen, last_seen) VALUES (?,?,?,?,?,?,?)",
	    &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, srv_severity_name(sev), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, detail, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, reqs, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_int64(st, 7, now);
	r = srv_db_step_done(db, st);
	sqlite3_finalize(st);
	return r;
}
