/* srv_admin.c - revocation, bundles, credential resets and listings. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "server/srv_admin.h"
#include "server/srv_broker.h"
#include "server/srv_ca.h"
#include "server/srv_cmd.h"

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
	/* cred: initial, set, none or unknown (never reported); maint_until
	 * only while maintenance mode is on */
	srv_admin_print_rows(db, out, "SELECT id, serial, model, state, fw_version,"
	    " last_seen, coalesce(cred_state, 'unknown') AS cred,"
	    " CASE WHEN maint_until >"
	    " CAST(strftime('%s','now') AS INTEGER) THEN maint_until"
	    " ELSE '' END AS maint_until, location, admin_contact FROM devices"
	    " ORDER BY serial");
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

/*
 * Credential reset (decision 0007).  The key pair that receives the
 * device's sealed answer lives in <dir>/server/credreset/<device-id>.key:
 * two lines of hex, the X25519 secret key and its public key, mode 0600 in
 * a 0700 directory.  A newer reset of the same device replaces the file,
 * as the device's newer secret replaces the older one.
 */
#define SRV_CRED_KEY_TEXT (4 * MM_BOX_SK_LEN + 2)

static int
srv_admin_cred_path(const struct srv_conf *c, const char *devid, char *out,
    size_t outsz)
{
	char rel[64];

	if (!mm_devid_valid(devid))
		return MM_ERR_INVALID_ARG;
	snprintf(rel, sizeof(rel), "server/credreset/%s.key", devid);
	return srv_conf_path(c, rel, out, outsz);
}

static int
srv_admin_cred_mkdir(const struct srv_conf *c)
{
	char dir[SRV_PATH_MAX + 32];
	int r;

	if ((r = srv_conf_path(c, "server", dir, sizeof(dir))) != 0 ||
	    (r = mm_file_mkdir(dir, 0700)) != 0 ||
	    (r = srv_conf_path(c, "server/credreset", dir, sizeof(dir))) != 0 ||
	    (r = mm_file_mkdir(dir, 0700)) != 0)
		return r;
	return chmod(dir, 0700) == 0 ? MM_OK : MM_ERR_IO;
}

static int
srv_admin_cred_write_key(const char *path, const uint8_t pk[MM_BOX_PK_LEN],
    const uint8_t sk[MM_BOX_SK_LEN])
{
	char text[SRV_CRED_KEY_TEXT + 1];
	int r;

	mm_hex_encode(text, sk, MM_BOX_SK_LEN);
	text[2 * MM_BOX_SK_LEN] = '\n';
	mm_hex_encode(text + 2 * MM_BOX_SK_LEN + 1, pk, MM_BOX_PK_LEN);
	text[SRV_CRED_KEY_TEXT - 1] = '\n';
	r = mm_file_write_atomic(path, text, SRV_CRED_KEY_TEXT, 0600);
	mm_wipe(text, sizeof(text));
	return r;
}

/* pkhex gets the public key as hex (it is in the command's args). */
static int
srv_admin_cred_read_key(const char *path, uint8_t sk[MM_BOX_SK_LEN],
    char pkhex[2 * MM_BOX_PK_LEN + 1])
{
	uint8_t pk[MM_BOX_PK_LEN];
	char *text = NULL;
	size_t n;
	int r;

	if ((r = mm_file_read(path, 4 * SRV_CRED_KEY_TEXT, &text, &n)) != 0)
		return r;
	r = MM_ERR_CORRUPT;
	if (n == SRV_CRED_KEY_TEXT && text[2 * MM_BOX_SK_LEN] == '\n' &&
	    text[n - 1] == '\n') {
		text[2 * MM_BOX_SK_LEN] = text[n - 1] = '\0';
		if (mm_hex_decode(pk, sizeof(pk), text + 2 * MM_BOX_SK_LEN + 1) == 0 &&
		    mm_hex_decode(sk, MM_BOX_SK_LEN, text) == 0) {
			mm_hex_encode(pkhex, pk, sizeof(pk));
			r = MM_OK;
		}
	}
	mm_freezero(text, n + 1);
	return r;
}

int
srv_admin_cred_reset(const struct srv_conf *c, struct srv_db *db,
    const char *devid, const char *user, int64_t *cmd_id)
{
	uint8_t pk[MM_BOX_PK_LEN], sk[MM_BOX_SK_LEN];
	char path[SRV_PATH_MAX + 64], pkhex[2 * MM_BOX_PK_LEN + 1];
	char args[2 * MM_BOX_PK_LEN + SRV_CMD_USER_MAX + 32];
	int64_t id;
	int r;

	if (!srv_cmd_user_valid(user))
		return MM_ERR_INVALID_ARG;
	if ((r = srv_admin_cred_path(c, devid, path, sizeof(path))) != 0 ||
	    (r = srv_admin_cred_mkdir(c)) != 0 ||
	    (r = mm_box_keypair(pk, sk)) != 0)
		return r;
	mm_hex_encode(pkhex, pk, sizeof(pk));
	snprintf(args, sizeof(args), "{\"user\":\"%s\",\"pub\":\"%s\"}", user,
	    pkhex);
	/* the command becomes visible to the server only with its key on disk */
	if ((r = srv_db_begin(db)) != 0)
		goto out;
	if ((r = srv_cmd_queue(db, devid, "cred_reset", args, &id)) != 0 ||
	    (r = srv_admin_cred_write_key(path, pk, sk)) != 0 ||
	    (r = srv_db_commit(db)) != 0) {
		srv_db_rollback(db);
		goto out;
	}
	mm_log(MM_LOG_NOTICE, "credential reset of %s on %s queued as command "
	    "%lld", user, devid, (long long)id);
	*cmd_id = id;
 out:
	mm_wipe(sk, sizeof(sk));
	return r;
}

/* Our command among the device's cred_reset commands: the newest one that
 * carries our public key. */
static int
srv_admin_cred_find(struct srv_db *db, const char *devid, const char *pkhex,
    sqlite3_stmt **out)
{
	sqlite3_stmt *st;
	json_t *args, *pub;
	int r, rc, match;

	if ((r = srv_db_prepare(db, "SELECT id, status, result, result_sealed,"
	    " args FROM commands WHERE device_id = ? AND name = 'cred_reset'"
	    " ORDER BY id DESC", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		args = json_loads((const char *)sqlite3_column_text(st, 4),
		    JSON_REJECT_DUPLICATES, NULL);
		pub = json_object_get(args, "pub");
		match = json_is_string(pub) &&
		    strcmp(json_string_value(pub), pkhex) == 0;
		json_decref(args);
		if (match) {
			*out = st;
			return MM_OK;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? MM_ERR_NOT_FOUND : MM_ERR_DB;
}

/* Opens the sealed answer of the row st points at; checks it is a secret
 * that can be shown: printable ASCII without spaces. */
static int
srv_admin_cred_unseal(sqlite3_stmt *st, const char *devid,
    const uint8_t sk[MM_BOX_SK_LEN], const char *pkhex,
    char secret[SRV_CRED_SECRET_MAX + 1])
{
	uint8_t sealed[SRV_CRED_SECRET_MAX + MM_SEAL_OVERHEAD];
	uint8_t pk[MM_BOX_PK_LEN], plain[SRV_CRED_SECRET_MAX];
	const char *status = (const char *)sqlite3_column_text(st, 1);
	const char *hex = (const char *)sqlite3_column_text(st, 3);
	long long id = (long long)sqlite3_column_int64(st, 0);
	size_t n, i;
	int r;

	if (strcmp(status, "pending") == 0 || strcmp(status, "sent") == 0) {
		mm_log(MM_LOG_ERR, "command %lld (cred_reset of %s) is %s: no "
		    "answer yet; try again once `commands` shows it ok", id,
		    devid, status);
		return MM_ERR_STATE;
	}
	if (strcmp(status, "ok") != 0 || hex == NULL) {
		mm_log(MM_LOG_ERR, "command %lld (cred_reset of %s) ended %s "
		    "without a secret: %s", id, devid, status,
		    (const char *)sqlite3_column_text(st, 2));
		return MM_ERR_STATE;
	}
	n = strlen(hex) / 2;
	if (n <= MM_SEAL_OVERHEAD || n > sizeof(sealed) ||
	    mm_hex_decode(sealed, n, hex) != 0 ||
	    mm_hex_decode(pk, sizeof(pk), pkhex) != 0)
		return MM_ERR_FORMAT;
	if ((r = mm_seal_open(plain, sealed, n, pk, sk)) != 0) {
		mm_log(MM_LOG_ERR, "command %lld: the answer of %s does not open "
		    "with the stored key", id, devid);
		return r;
	}
	n -= MM_SEAL_OVERHEAD;
	for (i = 0; i < n; i++)
		if (plain[i] <= 0x20 || plain[i] >= 0x7f)
			break;
	if (i == n) {
		memcpy(secret, plain, n);
		secret[n] = '\0';
	} else {
		mm_log(MM_LOG_ERR, "command %lld: the answer of %s is not a "
		    "printable secret", id, devid);
		r = MM_ERR_FORMAT;
	}
	mm_wipe(plain, sizeof(plain));
	return r;
}

int
srv_admin_cred_open(const struct srv_conf *c, struct srv_db *db,
    const char *devid, char secret[SRV_CRED_SECRET_MAX + 1],
    char user[SRV_CMD_USER_MAX + 1])
{
	char path[SRV_PATH_MAX + 64], pkhex[2 * MM_BOX_PK_LEN + 1];
	char s[SRV_CRED_SECRET_MAX + 1];
	uint8_t sk[MM_BOX_SK_LEN];
	sqlite3_stmt *st = NULL;
	json_t *args = NULL, *u;
	int r;

	if ((r = srv_admin_cred_path(c, devid, path, sizeof(path))) != 0)
		return r;
	if ((r = srv_admin_cred_read_key(path, sk, pkhex)) != 0) {
		if (r == MM_ERR_NOT_FOUND)
			mm_log(MM_LOG_ERR, "no credential-reset key for %s: run "
			    "`device cred-reset` first (a secret is shown only "
			    "once; its key is then deleted)", devid);
		return r;
	}
	if ((r = srv_admin_cred_find(db, devid, pkhex, &st)) != 0) {
		if (r == MM_ERR_NOT_FOUND)
			mm_log(MM_LOG_ERR, "no cred_reset command of %s matches "
			    "the stored key", devid);
		goto out;
	}
	if ((r = srv_admin_cred_unseal(st, devid, sk, pkhex, s)) != 0)
		goto out;
	args = json_loads((const char *)sqlite3_column_text(st, 4),
	    JSON_REJECT_DUPLICATES, NULL);
	u = json_object_get(args, "user");
	if (!json_is_string(u) || !srv_cmd_user_valid(json_string_value(u))) {
		r = MM_ERR_FORMAT;
		goto out;
	}
	memcpy(secret, s, strlen(s) + 1);
	snprintf(user, SRV_CMD_USER_MAX + 1, "%s", json_string_value(u));
 out:
	json_decref(args);
	sqlite3_finalize(st);
	mm_wipe(s, sizeof(s));
	mm_wipe(sk, sizeof(sk));
	return r;
}

int
srv_admin_cred_forget(const struct srv_conf *c, const char *devid)
{
	char path[SRV_PATH_MAX + 64], dir[SRV_PATH_MAX + 32];
	int fd, r;

	if ((r = srv_admin_cred_path(c, devid, path, sizeof(path))) != 0 ||
	    (r = srv_conf_path(c, "server/credreset", dir, sizeof(dir))) != 0)
		return r;
	if (unlink(path) != 0)
		return errno == ENOENT ? MM_ERR_NOT_FOUND : MM_ERR_IO;
	/* the removal must survive a crash, or the secret could be shown again */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return MM_ERR_IO;
	r = fsync(fd) == 0 ? MM_OK : MM_ERR_IO;
	close(fd);
	return r;
}
