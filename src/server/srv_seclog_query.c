/*
 * srv_seclog_query.c - the fleet's copy of the devices' sealed logs: the
 * import of a log's initial key and the queries of the command line
 * (show, verify, status; docs/server-seclog.md).  Batch ingest is in
 * srv_seclog.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "device/mm_seclog.h"
#include "server/srv_seclog.h"
#include "server/srv_seclog_int.h"

/* For the queries: says why there is nothing to show. */
static int
sl_no_key(const char *devid)
{
	mm_log(MM_LOG_ERR, "%s: no sealed-log key imported (mamori-server "
	    "device seclog-key)", devid);
	return MM_ERR_NOT_FOUND;
}

/* ---- key import ---- */

static int
sl_count(struct srv_db *db, const char *sql, const char *devid,
    const uint8_t *log_id, int64_t *n)
{
	sqlite3_stmt *st;
	int r;

	if ((r = srv_db_prepare(db, sql, &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	if (log_id != NULL)
		sqlite3_bind_blob(st, 2, log_id, MM_SECLOG_ID_LEN, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		r = MM_ERR_DB;
	sqlite3_finalize(st);
	return r;
}

static int
sl_key_store(struct srv_db *db, const char *devid, const struct sl_key *k)
{
	sqlite3_stmt *st;
	int r;

	if ((r = srv_db_prepare(db, "INSERT OR REPLACE INTO seclog_keys"
	    " (device_id, log_id, root_key, imported_at) VALUES (?,?,?,?)",
	    &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, k->id, MM_SECLOG_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, k->root, MM_SECLOG_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, srv_db_now());
	r = srv_db_step_done(db, st);
	sqlite3_finalize(st);
	if (r != 0)
		return r;
	/* the state belongs to the old log; its records stay */
	if ((r = srv_db_prepare(db, "DELETE FROM seclog_state"
	    " WHERE device_id = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	r = srv_db_step_done(db, st);
	sqlite3_finalize(st);
	return r;
}

/* Decides what importing k means, given the key old (if *has_old). */
static int
sl_key_decide(struct srv_db *db, const char *devid, const struct sl_key *k,
    const struct sl_key *old, int has_old, int replace, int *what)
{
	int64_t n = 0;
	int r;

	if (!has_old) {
		*what = SRV_SECLOG_KEY_NEW;
		return MM_OK;
	}
	if (memcmp(old->id, k->id, MM_SECLOG_ID_LEN) == 0) {
		if (mm_memeq_ct(old->root, k->root, MM_SECLOG_KEY_LEN) == 0) {
			*what = SRV_SECLOG_KEY_SAME;
			return MM_OK;
		}
		if ((r = sl_count(db, "SELECT count(*) FROM seclog_records"
		    " WHERE device_id = ? AND log_id = ?", devid, k->id,
		    &n)) != 0)
			return r;
		if (n > 0 || !replace) {
			mm_log(MM_LOG_ERR, "%s: another initial key for the same "
			    "log is imported%s", devid, n > 0 ? " and records "
			    "verified under it are stored" : "; --replace "
			    "replaces it");
			return MM_ERR_KEY_MISMATCH;
		}
	} else {
		if (!replace) {
			mm_log(MM_LOG_ERR, "%s: the key of another log is "
			    "imported; --replace starts the new log (the old "
			    "log's records are kept)", devid);
			return MM_ERR_EXISTS;
		}
		if ((r = sl_count(db, "SELECT count(*) FROM seclog_records"
		    " WHERE device_id = ? AND log_id = ?", devid, k->id,
		    &n)) != 0)
			return r;
		if (n > 0) {
			mm_log(MM_LOG_ERR, "%s: records of that log are stored "
			    "already; going back to an earlier log is not "
			    "supported", devid);
			return MM_ERR_EXISTS;
		}
	}
	*what = SRV_SECLOG_KEY_REPLACED;
	return MM_OK;
}

int
srv_seclog_key_import(struct srv_db *db, const char *devid,
    const char *keyfile, int replace, int *what)
{
	struct sl_key k, old;
	int64_t n = 0;
	int r, has_old = 0, w = SRV_SECLOG_KEY_NEW;

	if ((r = mm_seclog_keyfile_read(keyfile, k.id, k.root)) != 0)
		return r;
	if ((r = srv_db_begin(db)) != 0)
		goto out;
	if ((r = sl_count(db, "SELECT count(*) FROM devices WHERE id = ?",
	    devid, NULL, &n)) != 0)
		goto fail;
	if (n == 0) {
		mm_log(MM_LOG_ERR, "%s: no such device", devid);
		r = MM_ERR_NOT_FOUND;
		goto fail;
	}
	if ((r = srv_sl_key_load(db, devid, &old)) == 0)
		has_old = 1;
	else if (r != MM_ERR_NOT_FOUND)
		goto fail;
	if ((r = sl_key_decide(db, devid, &k, &old, has_old, replace,
	    &w)) != 0)
		goto fail;
	if (w != SRV_SECLOG_KEY_SAME && (r = sl_key_store(db, devid, &k)) != 0)
		goto fail;
	if ((r = srv_db_commit(db)) != 0)
		goto fail;
	if (what != NULL)
		*what = w;
	goto out;
 fail:
	srv_db_rollback(db);
 out:
	mm_wipe(&k, sizeof(k));
	mm_wipe(&old, sizeof(old));
	return r;
}

/* ---- show ---- */

void
srv_seclog_filter_init(struct srv_seclog_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->max_severity = -1;
}

int
srv_seclog_filter_type(struct srv_seclog_filter *f, const char *name)
{
	uint16_t t;
	int r;

	if ((r = mm_seclog_type_parse(name, 0, &t)) != 0)
		return r;
	f->has_type = 1;
	f->type = t;
	return MM_OK;
}

/* The record's JSON with the time the fleet received it (Unix s). */
static int
sl_print_json(FILE *out, const struct mm_seclog_record *c, int64_t received)
{
	json_t *o;
	int r = MM_OK;

	if ((o = mm_seclog_record_json(c)) == NULL)
		return MM_ERR_ALLOC;
	if (json_object_set_new(o, "received_at", json_integer(received)) != 0)
		r = MM_ERR_ALLOC;
	else if (json_dumpf(o, out, JSON_COMPACT) != 0 ||
	    fputc('\n', out) == EOF)
		r = MM_ERR_IO;
	json_decref(o);
	return r;
}

/* Decodes a stored record and checks it is the one its row says. */
static int
sl_row_record(sqlite3_stmt *st, int col, uint64_t seq,
    struct mm_seclog_record *c, const uint8_t **raw, size_t *len)
{
	const uint8_t *p = sqlite3_column_blob(st, col);
	size_t n = (size_t)sqlite3_column_bytes(st, col), used;

	if (p == NULL || mm_seclog_decode(p, n, c, &used) != 0 || used != n ||
	    c->seq != seq)
		return MM_ERR_CORRUPT;
	*raw = p;
	*len = n;
	return MM_OK;
}

int
srv_seclog_show(struct srv_db *db, const char *devid,
    const struct srv_seclog_filter *f, FILE *out, uint64_t *shown)
{
	struct mm_seclog_record c;
	struct sl_key k;
	const uint8_t *raw;
	sqlite3_stmt *st;
	uint64_t n = 0, seq;
	size_t len;
	int r, rc;

	r = srv_sl_key_load(db, devid, &k);
	mm_wipe(k.root, sizeof(k.root));
	if (r != 0)
		return r == MM_ERR_NOT_FOUND ? sl_no_key(devid) : r;
	if ((r = srv_db_prepare(db, "SELECT seq, raw, received_at"
	    " FROM seclog_records WHERE device_id = ? AND log_id = ?"
	    " AND seq >= ? AND seq <= ? AND (? < 0 OR type = ?)"
	    " AND severity <= ? ORDER BY seq LIMIT ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, k.id, MM_SECLOG_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)f->from);
	sqlite3_bind_int64(st, 4, f->to == 0 || f->to > INT64_MAX ? INT64_MAX :
	    (int64_t)f->to);
	sqlite3_bind_int(st, 5, f->has_type ? 0 : -1);
	sqlite3_bind_int(st, 6, f->type);
	sqlite3_bind_int(st, 7, f->max_severity < 0 ? 7 : f->max_severity);
	sqlite3_bind_int64(st, 8, f->limit == 0 || f->limit > INT64_MAX ? -1 :
	    (int64_t)f->limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		seq = (uint64_t)sqlite3_column_int64(st, 0);
		if ((r = sl_row_record(st, 1, seq, &c, &raw, &len)) != 0) {
			mm_log(MM_LOG_ERR, "%s: stored record %" PRIu64 " does "
			    "not decode", devid, seq);
			break;
		}
		r = f->json ? sl_print_json(out, &c, sqlite3_column_int64(st, 2)) :
		    mm_seclog_record_print(out, &c, NULL);
		if (r != 0)
			break;
		n++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = MM_ERR_DB;
	sqlite3_finalize(st);
	if (r == 0 && (fflush(out) != 0 || ferror(out)))
		r = MM_ERR_IO;
	if (r == 0 && shown != NULL)
		*shown = n;
	return r;
}

/* ---- verify ---- */

struct sl_gaprow {
	uint64_t from, to;
	uint8_t prev[MM_SECLOG_TAG_LEN];
};

/* A walk over the stored log. */
struct sl_walk {
	struct sl_key key;
	struct mm_seclog_verifier *v;
	struct srv_seclog_check *c;
	uint64_t seals_before;	/* of the verifiers before the current one */
	uint32_t last_epoch;
	int any;
};

static void sl_problem(struct srv_seclog_check *, uint64_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
sl_problem(struct srv_seclog_check *c, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	if (c->what[0] != '\0')
		return;
	c->error_seq = seq;
	va_start(ap, fmt);
	(void)vsnprintf(c->what, sizeof(c->what), fmt, ap);
	va_end(ap);
}

/* The gap that ends right before seq, if one is recorded. */
static int
sl_find_gap(struct srv_db *db, const char *devid, const uint8_t *log_id,
    uint64_t from, uint64_t seq, struct sl_gaprow *g, int *found)
{
	sqlite3_stmt *st;
	int r, rc;

	*found = 0;
	if ((r = srv_db_prepare(db, "SELECT prev FROM seclog_gaps WHERE"
	    " device_id = ? AND log_id = ? AND from_seq = ? AND to_seq = ?",
	    &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, log_id, MM_SECLOG_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)from);
	sqlite3_bind_int64(st, 4, (int64_t)(seq - 1));
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		g->from = from;
		g->to = seq - 1;
		r = srv_sl_blob(st, 0, g->prev, MM_SECLOG_TAG_LEN);
		*found = r == 0;
	} else if (rc != SQLITE_DONE)
		r = MM_ERR_DB;
	sqlite3_finalize(st);
	return r;
}

/* Starts verifying again at record c (after a recorded gap). */
static int
sl_walk_anchor(struct sl_walk *w, const struct mm_seclog_record *c,
    const uint8_t prev[MM_SECLOG_TAG_LEN])
{
	struct mm_seclog_report rep;
	struct mm_seclog_vstate vs, cur;
	int r;

	if ((r = mm_seclog_verifier_state(w->v, &cur)) != 0)
		return r;
	if (cur.next_seq > 1 && (c->epoch < cur.epoch ||
	    (c->epoch == cur.epoch && cur.sealed))) {
		sl_problem(w->c, c->seq, "record %" PRIu64 " after a gap is of "
		    "epoch %" PRIu32 ", before it the log was at epoch %" PRIu32,
		    c->seq, c->epoch, cur.epoch);
		return MM_ERR_CORRUPT;
	}
	mm_seclog_verifier_report(w->v, &rep);
	w->seals_before += rep.seals;
	mm_seclog_verifier_free(w->v);
	w->v = NULL;
	memset(&vs, 0, sizeof(vs));
	vs.next_seq = c->seq;
	vs.epoch = c->epoch;
	memcpy(vs.prev, prev, MM_SECLOG_TAG_LEN);
	w->c->gaps++;
	if ((r = mm_seclog_verifier_resume(w->key.id, w->key.root, &vs,
	    &w->v)) != 0)
		sl_problem(w->c, c->seq, "cannot start again at record %" PRIu64
		    " after a gap: %s", c->seq, mm_strerror(r));
	return r;
}

static int
sl_walk_record(struct srv_db *db, const char *devid, struct sl_walk *w,
    const struct mm_seclog_record *c, const uint8_t *raw, size_t len)
{
	struct mm_seclog_report rep;
	struct mm_seclog_vstate cur;
	struct sl_gaprow g;
	int r, found;

	if ((r = mm_seclog_verifier_state(w->v, &cur)) != 0)
		return r;
	if (c->seq > cur.next_seq) {
		if ((r = sl_find_gap(db, devid, w->key.id, cur.next_seq, c->seq,
		    &g, &found)) != 0)
			return r;
		if (!found) {
			sl_problem(w->c, cur.next_seq, "records %" PRIu64 "..%"
			    PRIu64 " missing, and no gap recorded",
			    cur.next_seq, c->seq - 1);
			return MM_ERR_CORRUPT;
		}
		if ((r = sl_walk_anchor(w, c, g.prev)) != 0)
			return r;
	}
	if ((r = mm_seclog_verify_record(w->v, raw, len)) != 0) {
		mm_seclog_verifier_report(w->v, &rep);
		sl_problem(w->c, rep.error_seq, "%s", rep.what);
		return r;
	}
	if (!w->any || c->epoch != w->last_epoch)
		w->c->epochs++;
	if (!w->any)
		w->c->first_seq = c->seq;
	w->any = 1;
	w->last_epoch = c->epoch;
	w->c->records++;
	w->c->last_seq = c->seq;
	return MM_OK;
}

/* The walk's end against the stored state (if no problem came first). */
static void
sl_walk_end(struct srv_db *db, const char *devid, struct sl_walk *w)
{
	struct mm_seclog_vstate end;
	struct sl_state st;

	if (srv_sl_state_load(db, devid, w->key.id, &st) != 0) {
		sl_problem(w->c, 0, "the stored state does not load");
		return;
	}
	w->c->next_seq = st.v.next_seq;
	if (w->c->what[0] != '\0' || w->v == NULL ||
	    mm_seclog_verifier_state(w->v, &end) != 0)
		return;	/* a problem found already */
	if (end.next_seq != st.v.next_seq || end.epoch != st.v.epoch ||
	    end.sealed != st.v.sealed || end.count_known != st.v.count_known ||
	    end.count != st.v.count ||
	    memcmp(end.prev, st.v.prev, MM_SECLOG_TAG_LEN) != 0)
		sl_problem(w->c, end.next_seq, "the stored records end before "
		    "seq %" PRIu64 " (epoch %" PRIu32 "), the state says %" PRIu64
		    " (epoch %" PRIu32 ")", end.next_seq, end.epoch,
		    st.v.next_seq, st.v.epoch);
}

int
srv_seclog_verify(struct srv_db *db, const char *devid,
    struct srv_seclog_check *out)
{
	struct srv_seclog_check chk, *c = &chk;
	struct mm_seclog_record rec;
	struct mm_seclog_report rep;
	struct sl_walk w;
	const uint8_t *raw;
	sqlite3_stmt *st = NULL;
	uint64_t seq;
	size_t len;
	int r, rc = SQLITE_DONE;

	memset(&w, 0, sizeof(w));
	memset(c, 0, sizeof(*c));
	w.c = c;
	if ((r = srv_sl_key_load(db, devid, &w.key)) == MM_ERR_NOT_FOUND)
		r = sl_no_key(devid);
	if (r != 0 ||
	    (r = mm_seclog_verifier_new(w.key.id, w.key.root, 1, 0,
	    srv_sl_zero_tag, &w.v)) != 0 ||
	    (r = srv_db_prepare(db, "SELECT seq, raw FROM seclog_records"
	    " WHERE device_id = ? AND log_id = ? ORDER BY seq", &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, w.key.id, MM_SECLOG_ID_LEN, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		seq = (uint64_t)sqlite3_column_int64(st, 0);
		if (sl_row_record(st, 1, seq, &rec, &raw, &len) != 0) {
			sl_problem(c, seq, "stored record %" PRIu64 " does not "
			    "decode, or is stored under another seq", seq);
			break;
		}
		if ((r = sl_walk_record(db, devid, &w, &rec, raw, len)) != 0) {
			if (r == MM_ERR_DB || r == MM_ERR_ALLOC)
				goto out;
			r = MM_OK;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		r = MM_ERR_DB;
		goto out;
	}
	sl_walk_end(db, devid, &w);
	c->seals = w.seals_before;
	if (w.v != NULL) {
		mm_seclog_verifier_report(w.v, &rep);
		c->seals += rep.seals;
	}
	c->ok = c->what[0] == '\0';
	*out = chk;
 out:
	sqlite3_finalize(st);
	mm_seclog_verifier_free(w.v);
	mm_wipe(&w.key, sizeof(w.key));
	return r;
}

void
srv_seclog_check_print(const char *devid, const struct srv_seclog_check *c,
    FILE *out)
{
	fprintf(out, "device=%s records=%" PRIu64 " first_seq=%" PRIu64
	    " last_seq=%" PRIu64 " next_seq=%" PRIu64 " epochs=%" PRIu64
	    " seals=%" PRIu64 " gaps=%" PRIu64 "\n", devid, c->records,
	    c->first_seq, c->last_seq, c->next_seq, c->epochs, c->seals,
	    c->gaps);
	if (c->ok)
		fprintf(out, "ok: every stored record verifies from the initial "
		    "key, and the log ends where the fleet's state says\n");
	else
		fprintf(out, "FAILED at seq %" PRIu64 ": %s\n", c->error_seq,
		    c->what);
}

/* ---- status ---- */

static void
sl_status_header(FILE *out)
{
	fprintf(out, "device_id\tlog_id\trecords\tnext_seq\tlast_batch\tgaps"
	    "\tduplicates\tresends\tlast_error\n");
}

int
srv_seclog_status(struct srv_db *db, const char *devid, FILE *out)
{
	char id[SL_ID_HEX], when[MM_SECLOG_TIME_MAX];
	const unsigned char *err;
	sqlite3_stmt *st;
	int64_t at;
	int r, rc, n = 0;

	if ((r = srv_db_prepare(db, "SELECT k.device_id, k.log_id,"
	    " coalesce(s.records, 0), coalesce(s.next_seq, 1),"
	    " coalesce(s.last_batch_at, 0), coalesce(s.gaps, 0),"
	    " coalesce(s.duplicates, 0), coalesce(s.resends, 0),"
	    " coalesce(s.last_error, '') FROM seclog_keys k"
	    " LEFT JOIN seclog_state s ON s.device_id = k.device_id"
	    " AND s.log_id = k.log_id WHERE ?1 IS NULL OR k.device_id = ?1"
	    " ORDER BY k.device_id", &st)) != 0)
		return r;
	if (devid != NULL)
		sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == 0)
			sl_status_header(out);
		if (sqlite3_column_bytes(st, 1) == MM_SECLOG_ID_LEN)
			mm_hex_encode(id, sqlite3_column_blob(st, 1),
			    MM_SECLOG_ID_LEN);
		else
			snprintf(id, sizeof(id), "?");
		if ((at = sqlite3_column_int64(st, 4)) > 0)
			mm_seclog_time_iso((uint64_t)at * 1000, when,
			    sizeof(when));
		else
			snprintf(when, sizeof(when), "-");
		err = sqlite3_column_text(st, 8);
		fprintf(out, "%s\t%s\t%lld\t%lld\t%s\t%lld\t%lld\t%lld\t%s\n",
		    (const char *)sqlite3_column_text(st, 0), id,
		    (long long)sqlite3_column_int64(st, 2),
		    (long long)sqlite3_column_int64(st, 3), when,
		    (long long)sqlite3_column_int64(st, 5),
		    (long long)sqlite3_column_int64(st, 6),
		    (long long)sqlite3_column_int64(st, 7),
		    err != NULL ? (const char *)err : "");
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return MM_ERR_DB;
	if (devid != NULL && n == 0)
		return sl_no_key(devid);
	if (n == 0)
		sl_status_header(out);
	return fflush(out) != 0 || ferror(out) ? MM_ERR_IO : MM_OK;
}
