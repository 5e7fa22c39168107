/* srv_enroll.c - device registration, factory import and token checks. */
#include <ctype.h>
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "common/mm_str.h"
#include "server/srv_enroll.h"

#define SRV_CSV_LINE_MAX 1024

static int
srv_text_ok(const char *s, size_t maxlen, int allow_empty)
{
	size_t i, n = strnlen(s, maxlen + 1);

	if (n > maxlen || (n == 0 && !allow_empty))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
srv_enroll_spec_valid(const struct srv_device_spec *spec)
{
	size_t i, n = strnlen(spec->serial, sizeof(spec->serial));

	if (n == 0 || n > SRV_SERIAL_MAX) {
		mm_log(MM_LOG_WARN, "serial must be 1-%d characters", SRV_SERIAL_MAX);
		return MM_ERR_FORMAT;
	}
	for (i = 0; i < n; i++) {
		char c = spec->serial[i];
		if (!isalnum((unsigned char)c) && c != '-' && c != '_' && c != '.') {
			mm_log(MM_LOG_WARN, "serial may hold only letters, digits, '-', '_', '.'");
			return MM_ERR_FORMAT;
		}
	}
	if (!srv_text_ok(spec->model, SRV_FIELD_MAX, 0) ||
	    !srv_text_ok(spec->location, SRV_FIELD_MAX, 1) ||
	    !srv_text_ok(spec->admin, SRV_FIELD_MAX, 1)) {
		mm_log(MM_LOG_WARN, "model (required), location and admin contact must be "
		    "printable and at most %d bytes", SRV_FIELD_MAX);
		return MM_ERR_FORMAT;
	}
	return MM_OK;
}

static void
srv_token_hash(const char *token, char out[2 * MM_SHA256_LEN + 1])
{
	uint8_t h[MM_SHA256_LEN];

	mm_sha256(h, token, strlen(token));
	mm_hex_encode(out, h, sizeof(h));
}

static int
srv_token_store(struct srv_db *db, const char *devid, const char *serial,
    int64_t ttl, char token[SRV_TOKEN_SIZE])
{
	char hash[2 * MM_SHA256_LEN + 1], secret_hex[33];
	uint8_t secret[16];
	sqlite3_stmt *st;
	int64_t now = srv_db_now();
	int r;

	mm_random(secret, sizeof(secret));
	mm_hex_encode(secret_hex, secret, sizeof(secret));
	mm_wipe(secret, sizeof(secret));
	snprintf(token, SRV_TOKEN_SIZE, "%s.%s", devid, secret_hex);
	mm_wipe(secret_hex, sizeof(secret_hex));
	srv_token_hash(token, hash);
	if ((r = srv_db_prepare(db, "INSERT INTO enroll_tokens (token_hash,"
	    " device_id, serial, created_at, expires_at) VALUES (?,?,?,?,?)", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, devid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, now + ttl);
	r = srv_db_step_done(db, st);
	sqlite3_finalize(st);
	return r;
}

/* Inserts the device row and its token; caller holds the transaction. */
static int
srv_enroll_add_locked(struct srv_db *db, const struct srv_device_spec *spec,
    int64_t ttl, char devid[MM_DEVID_SIZE], char token[SRV_TOKEN_SIZE])
{
	sqlite3_stmt *st;
	int r;

	if ((r = srv_enroll_spec_valid(spec)) != 0)
		return r;
	mm_devid_new(devid);
	if ((r = srv_db_prepare(db, "INSERT INTO devices (id, serial, model,"
	    " location, admin_contact, created_at) VALUES (?,?,?,?,?,?)", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, spec->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, spec->model, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, spec->location, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, spec->admin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, srv_db_now());
	r = srv_db_step_done(db, st);
	sqlite3_finalize(st);
	if (r == MM_ERR_EXISTS)
		mm_log(MM_LOG_WARN, "serial %s is already registered", spec->serial);
	if (r != 0)
		return r;
	return srv_token_store(db, devid, spec->serial, ttl, token);
}

int
srv_enroll_add(struct srv_db *db, const struct srv_device_spec *spec,
    int64_t ttl, char devid[MM_DEVID_SIZE], char token[SRV_TOKEN_SIZE])
{
	char id[MM_DEVID_SIZE], tok[SRV_TOKEN_SIZE];
	int r;

	if ((r = srv_db_begin(db)) != 0)
		return r;
	if ((r = srv_enroll_add_locked(db, spec, ttl, id, tok)) != 0 ||
	    (r = srv_db_commit(db)) != 0) {
		srv_db_rollback(db);
		mm_wipe(tok, sizeof(tok));
		return r;
	}
	memcpy(devid, id, sizeof(id));
	memcpy(token, tok, sizeof(tok));
	mm_wipe(tok, sizeof(tok));
	return MM_OK;
}

int
srv_enroll_new_token(struct srv_db *db, const char *devid, int64_t ttl,
    char token[SRV_TOKEN_SIZE])
{
	char serial[SRV_SERIAL_MAX + 1], state[16];
	sqlite3_stmt *st;
	int r;

	if ((r = srv_db_begin(db)) != 0)
		return r;
	if ((r = srv_db_prepare(db, "SELECT serial, state FROM devices WHERE id = ?",
	    &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		r = MM_ERR_NOT_FOUND;
		goto out;
	}
	snprintf(serial, sizeof(serial), "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(state, sizeof(state), "%s", (const char *)sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
	if (strcmp(state, "registered") != 0) {
		r = MM_ERR_STATE;
		goto out;
	}
	/* Any earlier unused token of this device stops working now. */
	if ((r = srv_db_prepare(db, "UPDATE enroll_tokens SET expires_at = ?"
	    " WHERE device_id = ? AND used_at IS NULL", &st)) != 0)
		goto out;
	sqlite3_bind_int64(st, 1, srv_db_now() - 1);
	sqlite3_bind_text(st, 2, devid, -1, SQLITE_STATIC);
	r = srv_db_step_done(db, st);
	sqlite3_finalize(st);
	if (r == 0)
		r = srv_token_store(db, devid, serial, ttl, token);
	if (r == 0)
		r = srv_db_commit(db);
 out:
	if (r != 0)
		srv_db_rollback(db);
	return r;
}

int
srv_enroll_csv_split(const char *line, char *fields, size_t nfields, size_t fieldsz)
{
	size_t f = 0, n = 0;
	const char *p = line;
	int quoted = 0;

	memset(fields, 0, nfields * fieldsz);
	for (;; p++) {
		char c = *p;
		if (quoted) {
			if (c == '\0')
				return MM_ERR_FORMAT;	/* unterminated quote */
			if (c == '"' && p[1] == '"') {
				p++;
			} else if (c == '"') {
				quoted = 0;
				if (p[1] != ',' && p[1] != '\0')
					return MM_ERR_FORMAT;
				continue;
			}
		} else if (c == '"' && n == 0) {
			quoted = 1;
			continue;
		} else if (c == ',' || c == '\0') {
			if (++f == nfields && c == ',')
				return MM_ERR_FORMAT;	/* too many fields */
			if (c == '\0')
				break;
			n = 0;
			continue;
		} else if (c == '"') {
			return MM_ERR_FORMAT;		/* stray quote */
		}
		if (n + 1 >= fieldsz)
			return MM_ERR_TOO_LARGE;
		fields[f * fieldsz + n++] = c;
	}
	return f == nfields ? MM_OK : MM_ERR_FORMAT;
}

static int
srv_csv_read_line(FILE *in, char *line, size_t linesz)
{
	size_t n;

	if (fgets(line, (int)linesz, in) == NULL)
		return 0;
	n = strlen(line);
	if (n > 0 && line[n - 1] != '\n' && !feof(in))
		return MM_ERR_TOO_LARGE;
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return 1;
}

int
srv_enroll_import_csv(struct srv_db *db, FILE *in, FILE *out, int64_t ttl,
    int *count)
{
	char line[SRV_CSV_LINE_MAX], f[4][SRV_FIELD_MAX + 1];
	char id[MM_DEVID_SIZE], tok[SRV_TOKEN_SIZE], *res = NULL;
	struct srv_device_spec spec;
	int r, got, lineno = 0, n = 0, header = 0;
	size_t reslen = 0;
	FILE *mem;

	/* tokens are held back until the whole file is committed */
	if ((mem = open_memstream(&res, &reslen)) == NULL)
		return MM_ERR_ALLOC;
	if ((r = srv_db_begin(db)) != 0)
		goto fail;
	fprintf(mem, "serial,device_id,token\n");
	while ((got = srv_csv_read_line(in, line, sizeof(line))) > 0) {
		lineno++;
		if (line[0] == '\0')
			continue;
		if ((r = srv_enroll_csv_split(line, &f[0][0], 4, sizeof(f[0]))) != 0) {
			mm_log(MM_LOG_ERR, "CSV line %d: %s", lineno, mm_strerror(r));
			goto fail;
		}
		if (!header) {
			if (strcmp(f[0], "serial") != 0 || strcmp(f[1], "model") != 0) {
				mm_log(MM_LOG_ERR, "CSV: header must be "
				    "serial,model,location,admin_contact");
				r = MM_ERR_FORMAT;
				goto fail;
			}
			header = 1;
			continue;
		}
		memset(&spec, 0, sizeof(spec));
		if ((r = mm_strlcpy(spec.serial, f[0], sizeof(spec.serial))) != 0 ||
		    (r = mm_strlcpy(spec.model, f[1], sizeof(spec.model))) != 0 ||
		    (r = mm_strlcpy(spec.location, f[2], sizeof(spec.location))) != 0 ||
		    (r = mm_strlcpy(spec.admin, f[3], sizeof(spec.admin))) != 0 ||
		    (r = srv_enroll_add_locked(db, &spec, ttl, id, tok)) != 0) {
			mm_log(MM_LOG_ERR, "CSV line %d (serial %s): %s", lineno,
			    spec.serial, mm_strerror(r));
			goto fail;
		}
		fprintf(mem, "%s,%s,%s\n", spec.serial, id, tok);
		mm_wipe(tok, sizeof(tok));
		n++;
	}
	if ((r = got) != 0) {
		mm_log(MM_LOG_ERR, "CSV line %d: %s", lineno + 1, mm_strerror(r));
		goto fail;
	}
	if (fflush(mem) != 0 || ferror(mem)) {
		r = MM_ERR_ALLOC;
		goto fail;
	}
	if ((r = srv_db_commit(db)) != 0)
		goto fail;
	fclose(mem);
	mem = NULL;
	/* committed: if the tokens cannot be written out, say so loudly, the
	 * operator can issue new ones with `device token` */
	if (fwrite(res, 1, reslen, out) != reslen || fflush(out) != 0) {
		mm_log(MM_LOG_ERR, "registered %d devices but could not write their "
		    "tokens; issue new ones with `mamori-server device token`", n);
		r = MM_ERR_IO;
	}
	mm_freezero(res, reslen);
	*count = n;
	return r;
 fail:
	srv_db_rollback(db);
	if (mem != NULL)
		fclose(mem);
	if (res != NULL)
		mm_freezero(res, reslen);
	return r;
}

int
srv_enroll_redeem(struct srv_db *db, const char *token, const char *serial,
    int64_t now, char devid[MM_DEVID_SIZE])
{
	char hash[2 * MM_SHA256_LEN + 1], id[MM_DEVID_SIZE];
	uint8_t secret[16];
	sqlite3_stmt *st;
	int r;

	/* shape first: "<device-id>.<32 hex>" */
	if (strnlen(token, SRV_TOKEN_SIZE) != SRV_TOKEN_LEN ||
	    token[MM_DEVID_LEN] != '.')
		return MM_ERR_FORMAT;
	memcpy(id, token, MM_DEVID_LEN);
	id[MM_DEVID_LEN] = '\0';
	if (!mm_devid_valid(id) ||
	    mm_hex_decode(secret, sizeof(secret), token + MM_DEVID_LEN + 1) != 0)
		return MM_ERR_FORMAT;
	mm_wipe(secret, sizeof(secret));
	srv_token_hash(token, hash);
	if ((r = srv_db_prepare(db, "SELECT t.device_id, t.serial, t.expires_at,"
	    " t.used_at, d.state FROM enroll_tokens t JOIN devices d"
	    " ON d.id = t.device_id WHERE t.token_hash = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		r = MM_ERR_NOT_FOUND;
	else if (strcmp((const char *)sqlite3_column_text(st, 0), id) != 0)
		r = MM_ERR_INTERNAL;		/* hash collision: impossible */
	else if (strcmp((const char *)sqlite3_column_text(st, 1), serial) != 0)
		r = MM_ERR_DENIED;
	else if (sqlite3_column_type(st, 3) != SQLITE_NULL)
		r = MM_ERR_USED;
	else if (sqlite3_column_int64(st, 2) <= now)
		r = MM_ERR_EXPIRED;
	else if (strcmp((const char *)sqlite3_column_text(st, 4), "revoked") == 0)
		r = MM_ERR_STATE;
	sqlite3_finalize(st);
	if (r != 0)
		return r;
	if ((r = srv_db_prepare(db, "UPDATE enroll_tokens SET used_at = ?"
	    " WHERE token_hash = ? AND used_at IS NULL", &st)) != 0)
		return r;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	r = srv_db_step_done(db, st);
	if (r == 0 && sqlite3_changes(srv_db_handle(db)) != 1)
		r = MM_ERR_USED;
	sqlite3_finalize(st);
	if (r == 0)
		memcpy(devid, id, sizeof(id));
	return r;
}
