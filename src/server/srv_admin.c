/* srv_admin.c - revocation, bundles and listings. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "server/srv_admin.h"
#include "server/srv_broker.h"
#include "server/srv_ca.h"

/* The broker loads the CRL only at start and refuses every client once its
 * nextUpdate passes, so it is long-lived; revocations rewrite it at once. */
#define SRV_CRL_DAYS 3650
#define SRV_CRL_MAX 100000

int
srv_admin_write_crl(const struct srv_conf *c, struct srv_db *db)
{
	char dir[SRV_PATH_MAX + 32], path[SRV_PATH_MAX + 32];
	struct srv_revoked *list = NULL;
	struct srv_ca *ca = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0;
	int r;

	if ((list = mm_calloc(SRV_CRL_MAX, sizeof(*list))) == NULL)
		return MM_ERR_ALLOC;
	if ((r = srv_db_prepare(db, "SELECT serial, revoked_at FROM certificates"
	    " WHERE revoked_at IS NOT NULL AND not_after > ?", &st)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, srv_db_now());
	while (sqlite3_step(st) == SQLITE_ROW && n < SRV_CRL_MAX) {
		snprintf(list[n].serial, sizeof(list[n].serial), "%s",
		    (const char *)sqlite3_column_text(st, 0));
		list[n].when = (time_t)sqlite3_column_int64(st, 1);
		n++;
	}
	if ((r = srv_conf_path(c, "ca", dir, sizeof(dir))) != 0 ||
	    (r = srv_conf_path(c, "ca/crl.pem", path, sizeof(path))) != 0 ||
	    (r = srv_ca_load(dir, &ca)) != 0)
		goto out;
	r = srv_ca_write_crl(ca, list, n, SRV_CRL_DAYS, path);
	if (r == 0)
		mm_log(MM_LOG_INFO, "CRL written with %zu revoked certificates", n);
 out:
	sqlite3_finalize(st);
	srv_ca_free(ca);
	mm_free(list);
	return r;
}

static int
srv_admin_mark_revoked(struct srv_db *db, const char *devid, const char *reason)
{
	sqlite3_stmt *st;
	int64_t now = srv_db_now();
	int r;

	if ((r = srv_db_prepare(db, "UPDATE devices SET state = 'revoked'"
	    " WHERE id = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	r = srv_db_step_done(db, st);
	if (r == 0 && sqlite3_changes(srv_db_handle(db)) != 1)
		r = MM_ERR_NOT_FOUND;
	sqlite3_finalize(st);
	if (r != 0)
		return r;
	if ((r = srv_db_prepare(db, "UPDATE certificates SET revoked_at = ?,"
	    " reason = ? WHERE device_id = ? AND revoked_at IS NULL", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, devid, -1, SQLITE_STATIC);
	r = srv_db_step_done(db, st);
	sqlite3_finalize(st);
	if (r != 0)
		return r;
	/* unused enrolment tokens die with the device */
	if ((r = srv_db_prepare(db, "UPDATE enroll_tokens SET expires_at = ?"
	    " WHERE device_id = ? AND used_at IS NULL", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, now - 1);
	sqlite3_bind_text(st, 2, devid, -1, SQLITE_STATIC);
	r = srv_db_step_done(db, st);
	sqlite3_finalize(st);
	return r;
}

int
srv_admin_revoke(const struct srv_conf *c, struct srv_db *db, const char *devid,
    const char *reason)
{
	int r;

	if ((r = srv_db_begin(db)) != 0)
		return r;
	if ((r = srv_admin_mark_revoked(db, devid, reason)) != 0 ||
	    (r = srv_db_commit(db)) != 0) {
		srv_db_rollback(db);
		return r;
	}
	mm_log(MM_LOG_NOTICE, "device %s revoked: %s", devid, reason);
	if ((r = srv_admin_write_crl(c, db)) != 0)
		return r;
	if (srv_broker_running(c)) {
		mm_log(MM_LOG_NOTICE, "restarting the broker to load the new CRL");
		r = srv_broker_restart(c);
	}
	return r;
}

static int
srv_admin_copy(const struct srv_conf *c, const char *rel, const char *outdir,
    const char *name, mode_t mode)
{
	char src[SRV_PATH_MAX + 32], dst[SRV_PATH_MAX + 32], *text = NULL;
	size_t n;
	int r;

	if ((r = srv_conf_path(c, rel, src, sizeof(src))) != 0 ||
	    (r = mm_path_join(dst, sizeof(dst), outdir, name)) != 0 ||
	    (r = mm_file_read(src, 65536, &text, &n)) != 0)
		return r;
	r = mm_file_write_atomic(dst, text, n, mode);
	mm_free(text);
	return r;
}

int
srv_admin_bundle(const struct srv_conf *c, const char *outdir, const char *serial,
    const char *model, const char *token)
{
	char path[SRV_PATH_MAX + 32], *s = NULL;
	json_t *o;
	int r;

	if ((r = mm_file_mkdir(outdir, 0700)) != 0)
		return r;
	o = json_pack("{s:s, s:i, s:i, s:s, s:s, s:s, s:i}", "server_host", c->host,
	    "port", c->port, "prov_port", c->prov_port, "model", model,
	    "serial", serial, "fw_version", "1.0.0", "heartbeat_interval", 60);
	if (o == NULL || (s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS)) == NULL) {
		json_decref(o);
		return MM_ERR_ALLOC;
	}
	json_decref(o);
	if ((r = mm_path_join(path, sizeof(path), outdir, "agent.json")) != 0 ||
	    (r = mm_file_write_atomic(path, s, strlen(s), 0644)) != 0 ||
	    (r = srv_admin_copy(c, "ca/ca.crt", outdir, "ca.crt", 0644)) != 0 ||
	    (r = srv_admin_copy(c, "server/cmd_sign.pub", outdir, "cmd_sign.pub",
	    0644)) != 0 ||
	    (r = mm_path_join(path, sizeof(path), outdir, "enroll.token")) != 0)
		goto out;
	r = mm_file_write_atomic(path, token, strlen(token), 0600);
 out:
	mm_free(s);
	return r;
}

static void
srv_admin_print_rows(struct srv_db *db, FILE *out, const char *sql)
{
	sqlite3_stmt *st;
	int i, n;

	if (srv_db_prepare(db, sql, &st) != 0)
		return;
	n = sqlite3_column_count(st);
	for (i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? "\t" : "", sqlite3_column_name(st, i));
	fputc('\n', out);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (i = 0; i < n; i++) {
			const unsigned char *v = sqlite3_column_text(st, i);
			fprintf(out, "%s%s", i ? "\t" : "", v ? (const char *)v : "");
		}
		fputc('\n', out);
	}
	sqlite3_finalize(st);
}

void
srv_admin_list_devices(struct srv_db *db, FILE *out)
{
	srv_admin_print_rows(db, out, "SELECT id, serial, model, state, fw_version,"
	    " last_seen, location, admin_contact FROM devices ORDER BY serial");
}

void
srv_admin_list_alerts(struct srv_db *db, FILE *out)
{
	srv_admin_print_rows(db, out, "SELECT id, device_id, kind, severity, count,"
	    " status, requirements, detail FROM alerts ORDER BY id");
}

void
srv_admin_list_stats(struct srv_db *db, FILE *out)
{
	srv_admin_print_rows(db, out, "SELECT name, value FROM server_stats"
	    " ORDER BY name");
}

void
srv_admin_list_commands(struct srv_db *db, FILE *out)
{
	srv_admin_print_rows(db, out, "SELECT id, device_id, name, args, counter,"
	    " status, result FROM commands ORDER BY id");
}
