/*
 * srv_seclog.c - the fleet's copy of the devices' sealed logs: batch
 * ingest with verification from the initial key, and its alerts; the
 * stored keys and state that the key import and the queries
 * (srv_seclog_query.c) read too (docs/server-seclog.md).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_seclog.h"
#include "server/srv_alert.h"
#include "server/srv_seclog.h"
#include "server/srv_seclog_int.h"

#define SL_REQS "KP13 T12/L3"

/* One record of a batch: its bytes and what they say. */
struct sl_rec {
	const uint8_t *raw;
	size_t len;
	struct mm_seclog_record r;
};

/* One batch being judged. */
struct sl_job {
	struct srv_db *db;
	const char *devid;
	const struct mm_logmsg_batch *b;
	int decided;		/* res.outcome is set */
	int has_key;
	struct sl_key key;
	struct sl_state st;	/* as stored */
	struct sl_state next;	/* after the batch (STORED only) */
	struct sl_rec *recs;	/* b->n of them once split */
	uint32_t ndup;		/* recs[0..ndup) are held already */
	struct srv_seclog_result res;
};

const uint8_t srv_sl_zero_tag[MM_SECLOG_TAG_LEN] = { 0 };

static uint64_t
sl_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- stored keys and state ---- */

int
srv_sl_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t len)
{
	const void *p = sqlite3_column_blob(st, col);

	if (p == NULL || (size_t)sqlite3_column_bytes(st, col) != len)
		return MM_ERR_CORRUPT;
	memcpy(out, p, len);
	return MM_OK;
}

/* MM_ERR_NOT_FOUND if no key is imported. */
int
srv_sl_key_load(struct srv_db *db, const char *devid, struct sl_key *k)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = srv_db_prepare(db, "SELECT log_id, root_key FROM seclog_keys"
	    " WHERE device_id = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = srv_sl_blob(st, 0, k->id, sizeof(k->id))) == 0)
			r = srv_sl_blob(st, 1, k->root, sizeof(k->root));
	} else
		r = rc == SQLITE_DONE ? MM_ERR_NOT_FOUND : MM_ERR_DB;
	sqlite3_finalize(st);
	return r;
}

static int
sl_get_u64(sqlite3_stmt *st, int col, uint64_t max, uint64_t *out)
{
	int64_t v = sqlite3_column_int64(st, col);

	if (sqlite3_column_type(st, col) != SQLITE_INTEGER || v < 0 ||
	    (uint64_t)v > max)
		return MM_ERR_CORRUPT;
	*out = (uint64_t)v;
	return MM_OK;
}

/* The state of devid's log log_id; the state before record 1 if there is
 * none (or only one of another log). */
int
srv_sl_state_load(struct srv_db *db, const char *devid,
    const uint8_t *log_id, struct sl_state *s)
{
	sqlite3_stmt *st;
	const unsigned char *err;
	uint64_t v[7];
	int r, rc, i;

	memset(s, 0, sizeof(*s));
	mm_seclog_vstate_init(&s->v);
	if ((r = srv_db_prepare(db, "SELECT next_seq, epoch, sealed,"
	    " count_known, count, batches, records, duplicates, resends,"
	    " gaps, last_batch_at, prev, last_error FROM seclog_state"
	    " WHERE device_id = ? AND log_id = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, log_id, MM_SECLOG_ID_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? MM_OK : MM_ERR_DB;
	}
	if ((r = sl_get_u64(st, 0, MM_LOGMSG_SEQ_MAX + 1, &s->v.next_seq)) != 0 ||
	    (r = sl_get_u64(st, 1, UINT32_MAX, &v[0])) != 0 ||
	    (r = sl_get_u64(st, 2, 1, &v[1])) != 0 ||
	    (r = sl_get_u64(st, 3, 1, &v[2])) != 0 ||
	    (r = sl_get_u64(st, 4, UINT32_MAX, &s->v.count)) != 0 ||
	    (r = srv_sl_blob(st, 11, s->v.prev, MM_SECLOG_TAG_LEN)) != 0)
		goto out;
	s->v.epoch = (uint32_t)v[0];
	s->v.sealed = (uint8_t)v[1];
	s->v.count_known = (uint8_t)v[2];
	for (i = 0; i < 6; i++)
		if ((r = sl_get_u64(st, 5 + i, INT64_MAX, &v[i])) != 0)
			goto out;
	s->batches = v[0];
	s->records = v[1];
	s->duplicates = v[2];
	s->resends = v[3];
	s->gaps = v[4];
	s->last_batch_at = (int64_t)v[5];
	if ((err = sqlite3_column_text(st, 12)) != NULL)
		snprintf(s->last_error, sizeof(s->last_error), "%s",
		    (const char *)err);
 out:
	sqlite3_finalize(st);
	return r;
}

static int
sl_state_save(struct srv_db *db, const char *devid, const uint8_t *log_id,
    const struct sl_state *s)
{
	sqlite3_stmt *st;
	int r;

	if ((r = srv_db_prepare(db, "INSERT OR REPLACE INTO seclog_state"
	    " (device_id, log_id, next_seq, epoch, sealed, count_known, count,"
	    " prev, batches, records, duplicates, resends, gaps, last_batch_at,"
	    " last_error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, log_id, MM_SECLOG_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)s->v.next_seq);
	sqlite3_bind_int64(st, 4, s->v.epoch);
	sqlite3_bind_int(st, 5, s->v.sealed);
	sqlite3_bind_int(st, 6, s->v.count_known);
	sqlite3_bind_int64(st, 7, (int64_t)s->v.count);
	sqlite3_bind_blob(st, 8, s->v.prev, MM_SECLOG_TAG_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, (int64_t)s->batches);
	sqlite3_bind_int64(st, 10, (int64_t)s->records);
	sqlite3_bind_int64(st, 11, (int64_t)s->duplicates);
	sqlite3_bind_int64(st, 12, (int64_t)s->resends);
	sqlite3_bind_int64(st, 13, (int64_t)s->gaps);
	sqlite3_bind_int64(st, 14, s->last_batch_at);
	sqlite3_bind_text(st, 15, s->last_error, -1, SQLITE_STATIC);
	r = srv_db_step_done(db, st);
	sqlite3_finalize(st);
	return r;
}

/* ---- judging a batch ---- */

static int sl_decide(struct sl_job *, enum srv_seclog_outcome, const char *,
    ...) __attribute__((format(printf, 3, 4)));

static int
sl_decide(struct sl_job *j, enum srv_seclog_outcome o, const char *fmt, ...)
{
	va_list ap;

	j->decided = 1;
	j->res.outcome = o;
	j->res.refused = o != SRV_SECLOG_STORED && o != SRV_SECLOG_DUPLICATE &&
	    o != SRV_SECLOG_RESEND;
	va_start(ap, fmt);
	(void)vsnprintf(j->res.what, sizeof(j->res.what), fmt, ap);
	va_end(ap);
	return MM_OK;
}

/* What mm_logmsg_decode guarantees, again: callers may build batches. */
static int
sl_batch_sane(const struct mm_logmsg_batch *b)
{
	return b->raw != NULL && b->n >= 1 && b->n <= MM_LOGMSG_N_MAX &&
	    b->seq >= 1 && b->seq <= MM_LOGMSG_SEQ_MAX &&
	    b->seq + b->n - 1 <= MM_LOGMSG_SEQ_MAX &&
	    b->raw_len >= 1 && b->raw_len <= MM_LOGMSG_RAW_MAX &&
	    b->lost_from < b->seq;
}

/* Exactly n whole records numbered from seq, nothing after them. */
static int
sl_split(struct sl_job *j)
{
	const struct mm_logmsg_batch *b = j->b;
	size_t off = 0, used;
	uint32_t i;
	int r;

	if ((j->recs = mm_calloc(b->n, sizeof(*j->recs))) == NULL)
		return MM_ERR_ALLOC;
	for (i = 0; i < b->n; i++) {
		if (off == b->raw_len)
			return sl_decide(j, SRV_SECLOG_MALFORMED, "%" PRIu32
			    " records, the batch says %" PRIu32, i, b->n);
		if ((r = mm_seclog_decode(b->raw + off, b->raw_len - off,
		    &j->recs[i].r, &used)) != 0)
			return sl_decide(j, SRV_SECLOG_MALFORMED, "record %" PRIu32
			    " of the batch: %s", i + 1, mm_strerror(r));
		/* whole records out of sequence: deleted, inserted or
		 * reordered by someone, not a broken encoder */
		if (j->recs[i].r.seq != b->seq + i)
			return sl_decide(j, SRV_SECLOG_TAMPERED, "record %" PRIu32
			    " of the batch has seq %" PRIu64 ", expected %" PRIu64
			    " (records deleted, inserted or reordered)",
			    i + 1, j->recs[i].r.seq, b->seq + i);
		j->recs[i].raw = b->raw + off;
		j->recs[i].len = used;
		off += used;
	}
	if (off != b->raw_len)
		return sl_decide(j, SRV_SECLOG_MALFORMED, "%zu bytes after the "
		    "batch's %" PRIu32 " records", b->raw_len - off, b->n);
	return MM_OK;
}

/* The stored raw bytes of record seq of the current log, for cmp:
 * 0 equal, 1 different, 2 not held. */
static int
sl_cmp_held(sqlite3_stmt *st, uint64_t seq, const uint8_t *raw, size_t len,
    int *cmp)
{
	const void *p;
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 3, (int64_t)seq);
	if ((rc = sqlite3_step(st)) == SQLITE_DONE) {
		*cmp = 2;
		return MM_OK;
	}
	if (rc != SQLITE_ROW)
		return MM_ERR_DB;
	p = sqlite3_column_blob(st, 0);
	*cmp = p != NULL && (size_t)sqlite3_column_bytes(st, 0) == len &&
	    memcmp(p, raw, len) == 0 ? 0 : 1;
	return MM_OK;
}

/* Records below next_seq must be what is held, byte for byte. */
static int
sl_check_held(struct sl_job *j)
{
	uint64_t next = j->st.v.next_seq;
	sqlite3_stmt *st;
	uint32_t i;
	int r, cmp = 0;

	if ((r = srv_db_prepare(j->db, "SELECT raw FROM seclog_records"
	    " WHERE device_id = ? AND log_id = ? AND seq = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, j->devid, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, j->key.id, MM_SECLOG_ID_LEN, SQLITE_STATIC);
	for (i = 0; i < j->b->n && j->recs[i].r.seq < next; i++) {
		if ((r = sl_cmp_held(st, j->recs[i].r.seq, j->recs[i].raw,
		    j->recs[i].len, &cmp)) != 0 || cmp != 0)
			break;
	}
	sqlite3_finalize(st);
	if (r != 0)
		return r;
	j->ndup = i;
	if (cmp == 1)
		return sl_decide(j, SRV_SECLOG_REWRITTEN, "record %" PRIu64
		    " differs from the fleet's verified copy",
		    j->recs[i].r.seq);
	if (cmp == 2)
		return sl_decide(j, SRV_SECLOG_REWRITTEN, "record %" PRIu64
		    " is sent again but the fleet holds no such record (the "
		    "device declared it lost)", j->recs[i].r.seq);
	return MM_OK;
}

/* The tag before record seq (< next_seq) as the fleet holds it: that of
 * record seq - 1, or the anchor of a gap ending there.  *found 0: unknown. */
static int
sl_held_prev(struct sl_job *j, uint64_t seq, uint8_t tag[MM_SECLOG_TAG_LEN],
    int *found)
{
	struct mm_seclog_record rec;
	const uint8_t *p;
	sqlite3_stmt *st;
	size_t n, used;
	int r, rc;

	*found = 0;
	if ((r = srv_db_prepare(j->db, "SELECT raw, NULL FROM seclog_records"
	    " WHERE device_id = ?1 AND log_id = ?2 AND seq = ?3 - 1"
	    " UNION ALL SELECT NULL, prev FROM seclog_gaps WHERE device_id = ?1"
	    " AND log_id = ?2 AND to_seq = ?3 - 1", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, j->devid, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, j->key.id, MM_SECLOG_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)seq);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((p = sqlite3_column_blob(st, 0)) != NULL) {
			n = (size_t)sqlite3_column_bytes(st, 0);
			if (mm_seclog_decode(p, n, &rec, &used) != 0 || used != n)
				r = MM_ERR_CORRUPT;
			else
				memcpy(tag, rec.tag, MM_SECLOG_TAG_LEN);
		} else
			r = srv_sl_blob(st, 1, tag, MM_SECLOG_TAG_LEN);
		*found = r == 0;
	} else if (rc != SQLITE_DONE)
		r = MM_ERR_DB;
	sqlite3_finalize(st);
	return r;
}

/* The batch's previous tag must be the one the fleet holds before it. */
static int
sl_check_prev(struct sl_job *j)
{
	const struct mm_logmsg_batch *b = j->b;
	uint8_t want[MM_SECLOG_TAG_LEN];
	int r, found = 1;

	if (b->seq == 1) {
		if (memcmp(b->prev, srv_sl_zero_tag, MM_SECLOG_TAG_LEN) != 0)
			return sl_decide(j, SRV_SECLOG_MALFORMED, "a batch from "
			    "seq 1 has a previous tag");
		return MM_OK;
	}
	if (b->seq > j->st.v.next_seq)
		return MM_OK;	/* a gap: the batch's tag is the new anchor */
	if (b->seq == j->st.v.next_seq)
		memcpy(want, j->st.v.prev, MM_SECLOG_TAG_LEN);
	else if ((r = sl_held_prev(j, b->seq, want, &found)) != 0)
		return r;
	if (found && memcmp(want, b->prev, MM_SECLOG_TAG_LEN) != 0)
		return sl_decide(j, SRV_SECLOG_REWRITTEN, "the batch from seq %"
		    PRIu64 " chains to another record %" PRIu64 " than the "
		    "fleet's verified copy", b->seq, b->seq - 1);
	return MM_OK;
}

/* Feeds the new records to a verifier resumed from vs. */
static int
sl_verify_new(struct sl_job *j, const struct mm_seclog_vstate *vs)
{
	struct mm_seclog_verifier *v = NULL;
	struct mm_seclog_report rep;
	uint32_t i;
	int r;

	if ((r = mm_seclog_verifier_resume(j->key.id, j->key.root, vs,
	    &v)) != 0)
		return r == MM_ERR_INVALID_ARG ? MM_ERR_CORRUPT : r;
	for (i = j->ndup; i < j->b->n; i++)
		if (mm_seclog_verify_record(v, j->recs[i].raw,
		    j->recs[i].len) != 0)
			break;
	if (i < j->b->n) {
		mm_seclog_verifier_report(v, &rep);
		r = sl_decide(j, SRV_SECLOG_TAMPERED, "%s", rep.what);
	} else if ((r = mm_seclog_verifier_state(v, &j->next.v)) == 0)
		r = sl_decide(j, SRV_SECLOG_STORED, "records %" PRIu64 "..%"
		    PRIu64 " stored", j->recs[j->ndup].r.seq,
		    j->recs[j->b->n - 1].r.seq);
	mm_seclog_verifier_free(v);
	return r;
}

/* The batch starts above what the fleet holds. */
static int
sl_gap(struct sl_job *j, struct mm_seclog_vstate *vs)
{
	const struct mm_logmsg_batch *b = j->b;
	const struct mm_seclog_record *first = &j->recs[0].r;
	const struct mm_seclog_vstate *cur = &j->st.v;

	if (b->lost_from == 0)
		return sl_decide(j, SRV_SECLOG_RESEND, "batch from seq %" PRIu64
		    ", the fleet holds up to %" PRIu64 ": resend asked",
		    b->seq, cur->next_seq - 1);
	/* epochs never go back, and none goes on after its SEAL */
	if (cur->next_seq > 1 && (first->epoch < cur->epoch ||
	    (first->epoch == cur->epoch && cur->sealed)))
		return sl_decide(j, SRV_SECLOG_TAMPERED, "record %" PRIu64
		    " after the declared gap is of epoch %" PRIu32 ", the log "
		    "was at epoch %" PRIu32 "%s", first->seq, first->epoch,
		    cur->epoch, cur->sealed ? " (sealed)" : "");
	memset(vs, 0, sizeof(*vs));
	vs->next_seq = b->seq;
	vs->epoch = first->epoch;
	memcpy(vs->prev, b->prev, MM_SECLOG_TAG_LEN);
	j->res.gap_from = cur->next_seq;
	j->res.gap_to = b->seq - 1;
	return MM_OK;
}

static int
sl_judge(struct sl_job *j)
{
	const struct mm_logmsg_batch *b = j->b;
	char a[SL_ID_HEX], k[SL_ID_HEX];
	struct mm_seclog_vstate vs;
	int r;

	if (!sl_batch_sane(b))
		return sl_decide(j, SRV_SECLOG_MALFORMED, "batch fields out of "
		    "range");
	if ((r = srv_sl_key_load(j->db, j->devid, &j->key)) == MM_ERR_NOT_FOUND)
		return sl_decide(j, SRV_SECLOG_NO_KEY, "batch of records %"
		    PRIu64 "..%" PRIu64 " refused: the log's initial key was "
		    "never imported (mamori-server device seclog-key); records "
		    "not stored", b->seq, b->seq + b->n - 1);
	if (r != 0)
		return r;
	j->has_key = 1;
	if ((r = srv_sl_state_load(j->db, j->devid, j->key.id, &j->st)) != 0)
		return r;
	if (memcmp(b->log_id, j->key.id, MM_SECLOG_ID_LEN) != 0) {
		mm_hex_encode(a, b->log_id, MM_SECLOG_ID_LEN);
		mm_hex_encode(k, j->key.id, MM_SECLOG_ID_LEN);
		return sl_decide(j, SRV_SECLOG_SPLICED, "batch of log %s refused:"
		    " the device's log is %s", a, k);
	}
	if ((r = sl_split(j)) != 0 || j->decided ||
	    (r = sl_check_held(j)) != 0 || j->decided ||
	    (r = sl_check_prev(j)) != 0 || j->decided)
		return r;
	if (j->ndup == b->n)
		return sl_decide(j, SRV_SECLOG_DUPLICATE, "records %" PRIu64
		    "..%" PRIu64 " held already", b->seq, b->seq + b->n - 1);
	vs = j->st.v;
	if (b->seq > vs.next_seq &&
	    ((r = sl_gap(j, &vs)) != 0 || j->decided))
		return r;
	return sl_verify_new(j, &vs);
}

/* ---- storing what was judged ---- */

static int
sl_insert_records(struct sl_job *j, int64_t now)
{
	const struct mm_seclog_record *c;
	sqlite3_stmt *st;
	uint32_t i;
	int r = MM_OK;

	if ((r = srv_db_prepare(j->db, "INSERT INTO seclog_records (device_id,"
	    " log_id, seq, epoch, wall_ms, mono_ms, boot_id, type, severity,"
	    " source, payload, raw, received_at)"
	    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", &st)) != 0)
		return r;
	for (i = j->ndup; i < j->b->n && r == 0; i++) {
		c = &j->recs[i].r;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, j->devid, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, j->key.id, MM_SECLOG_ID_LEN,
		    SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (int64_t)c->seq);
		sqlite3_bind_int64(st, 4, c->epoch);
		sqlite3_bind_int64(st, 5, (int64_t)c->wall_ms);
		sqlite3_bind_int64(st, 6, (int64_t)c->mono_ms);
		sqlite3_bind_blob(st, 7, c->boot_id, sizeof(c->boot_id),
		    SQLITE_STATIC);
		sqlite3_bind_int(st, 8, c->type);
		sqlite3_bind_int(st, 9, c->severity);
		sqlite3_bind_text(st, 10, c->source, (int)c->source_len,
		    SQLITE_STATIC);
		sqlite3_bind_blob(st, 11, c->payload, (int)c->payload_len,
		    SQLITE_STATIC);
		sqlite3_bind_blob(st, 12, j->recs[i].raw, (int)j->recs[i].len,
		    SQLITE_STATIC);
		sqlite3_bind_int64(st, 13, now);
		r = srv_db_step_done(j->db, st);
	}
	sqlite3_finalize(st);
	return r;
}

static int
sl_insert_gap(struct sl_job *j, int64_t now)
{
	sqlite3_stmt *st;
	char reason[96];
	int r;

	snprintf(reason, sizeof(reason), "declared lost by the device "
	    "(lost_from %" PRIu64 ")", j->b->lost_from);
	if ((r = srv_db_prepare(j->db, "INSERT INTO seclog_gaps (device_id,"
	    " log_id, from_seq, to_seq, at, reason, prev)"
	    " VALUES (?,?,?,?,?,?,?)", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, j->devid, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, j->key.id, MM_SECLOG_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)j->res.gap_from);
	sqlite3_bind_int64(st, 4, (int64_t)j->res.gap_to);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_text(st, 6, reason, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, j->b->prev, MM_SECLOG_TAG_LEN, SQLITE_STATIC);
	r = srv_db_step_done(j->db, st);
	sqlite3_finalize(st);
	return r;
}

/* The log's own warnings among the new records. */
static int
sl_record_alerts(struct sl_job *j)
{
	const struct mm_seclog_record *c;
	char detail[256], text[200];
	const char *kind;
	uint32_t i;
	int r;

	for (i = j->ndup; i < j->b->n; i++) {
		c = &j->recs[i].r;
		if (c->type == MM_SLT_LOSS)
			kind = "log_loss";
		else if (c->type == MM_SLT_LOG_ACCESS)
			kind = "log_access";
		else if (c->type == MM_SLT_ATTACK)
			kind = "device_attack";
		else
			continue;
		mm_seclog_escape(text, sizeof(text), c->payload, c->payload_len);
		snprintf(detail, sizeof(detail), "sealed log record %" PRIu64
		    ": %s", c->seq, text);
		if ((r = srv_alert_raise(j->db, j->devid, kind, SRV_SEV_WARNING,
		    SL_REQS, detail)) != 0)
			return r;
	}
	return MM_OK;
}

static int
sl_store(struct sl_job *j, int64_t now)
{
	char detail[200];
	int r;

	j->next.batches++;
	j->next.records += j->b->n - j->ndup;
	j->next.duplicates += j->ndup;
	if ((r = sl_insert_records(j, now)) != 0)
		return r;
	if (j->res.gap_from != 0) {
		j->next.gaps++;
		snprintf(detail, sizeof(detail), "records %" PRIu64 "..%" PRIu64
		    " declared lost by the device (lost_from %" PRIu64 "); "
		    "verification starts again at record %" PRIu64,
		    j->res.gap_from, j->res.gap_to, j->b->lost_from, j->b->seq);
		if ((r = sl_insert_gap(j, now)) != 0 ||
		    (r = srv_alert_raise(j->db, j->devid, "log_gap",
		    SRV_SEV_WARNING, SL_REQS, detail)) != 0)
			return r;
	}
	return sl_record_alerts(j);
}

/* Alerts, counters and the new state, in the judging transaction. */
static int
sl_conclude(struct sl_job *j)
{
	struct srv_seclog_result *res = &j->res;
	int64_t now = srv_db_now();
	int r = MM_OK;

	switch (res->outcome) {
	case SRV_SECLOG_NO_KEY:
		return srv_alert_raise(j->db, j->devid, "log_unverifiable",
		    SRV_SEV_WARNING, SL_REQS, res->what);
	case SRV_SECLOG_SPLICED:
		r = srv_alert_raise(j->db, j->devid, "log_spliced",
		    SRV_SEV_CRITICAL, SL_REQS, res->what);
		break;
	case SRV_SECLOG_REWRITTEN:
		r = srv_alert_raise(j->db, j->devid, "log_rewritten",
		    SRV_SEV_CRITICAL, SL_REQS, res->what);
		break;
	case SRV_SECLOG_TAMPERED:
		r = srv_alert_raise(j->db, j->devid, "log_tampered",
		    SRV_SEV_CRITICAL, SL_REQS, res->what);
		break;
	default:
		break;
	}
	if (r != 0 || !j->has_key)
		return r;
	/* the verifier's state moves only with stored records */
	if (res->outcome == SRV_SECLOG_STORED) {
		struct mm_seclog_vstate v = j->next.v;

		j->next = j->st;
		j->next.v = v;
		if ((r = sl_store(j, now)) != 0)
			return r;
		res->stored = j->b->n - j->ndup;
	} else {
		j->next = j->st;
		if (res->outcome == SRV_SECLOG_DUPLICATE)
			j->next.duplicates += j->b->n;
		else if (res->outcome == SRV_SECLOG_RESEND)
			j->next.resends++;
		else
			snprintf(j->next.last_error, sizeof(j->next.last_error),
			    "%s: %s", srv_seclog_outcome_name(res->outcome),
			    res->what);
	}
	if (!res->refused)
		res->duplicates = j->ndup;
	j->next.last_batch_at = now;
	if ((r = sl_state_save(j->db, j->devid, j->key.id, &j->next)) != 0)
		return r;
	if (res->outcome != SRV_SECLOG_MALFORMED &&
	    res->outcome != SRV_SECLOG_SPLICED) {
		res->send_ack = 1;
		memcpy(res->ack.log_id, j->key.id, MM_SECLOG_ID_LEN);
		res->ack.seq = j->next.v.next_seq - 1;
		res->ack.time_ms = sl_now_ms();
	}
	return MM_OK;
}

int
srv_seclog_ingest(struct srv_db *db, const char *devid,
    const struct mm_logmsg_batch *b, struct srv_seclog_result *res)
{
	struct sl_job *j;
	int r;

	if ((j = mm_calloc(1, sizeof(*j))) == NULL)
		return MM_ERR_ALLOC;
	j->db = db;
	j->devid = devid;
	j->b = b;
	if ((r = srv_db_begin(db)) != 0)
		goto out;
	if ((r = sl_judge(j)) != 0 || (r = sl_conclude(j)) != 0 ||
	    (r = srv_db_commit(db)) != 0) {
		srv_db_rollback(db);
		goto out;
	}
	*res = j->res;
 out:
	mm_free(j->recs);
	mm_freezero(j, sizeof(*j));
	return r;
}

const char *
srv_seclog_outcome_name(enum srv_seclog_outcome o)
{
	switch (o) {
	case SRV_SECLOG_STORED: return "stored";
	case SRV_SECLOG_DUPLICATE: return "duplicate";
	case SRV_SECLOG_RESEND: return "resend";
	case SRV_SECLOG_NO_KEY: return "no key";
	case SRV_SECLOG_SPLICED: return "spliced";
	case SRV_SECLOG_MALFORMED: return "malformed";
	case SRV_SECLOG_REWRITTEN: return "rewritten";
	case SRV_SECLOG_TAMPERED: return "tampered";
	}
	return "?";
}
