/*
 * srv_seclog.c - the fleet's copy of the devices' sealed logs: batch
 * ingest with verification from the initial key, alerts, key import and
 * the queries of the command line (docs/server-seclog.md).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "device/mm_seclog.h"
#include "server/srv_alert.h"
#include "server/srv_seclog.h"

#define SL_REQS "KP13 T12/L3"
#define SL_ID_HEX (2 * MM_SECLOG_ID_LEN + 1)

struct sl_key {
	uint8_t id[MM_SECLOG_ID_LEN];
	uint8_t root[MM_SECLOG_KEY_LEN];
};

/* A device's row of seclog_state: where its verifier stands, counters. */
struct sl_state {
	struct mm_seclog_vstate v;
	uint64_t batches, records, duplicates, resends, gaps;
	int64_t last_batch_at;
	char last_error[256];	/* "<outcome>: <what>" */
};

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

static const uint8_t sl_zero_tag[MM_SECLOG_TAG_LEN];

static uint64_t
sl_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Printable ASCII as is, the rest (and the backslash) escaped; always
 * NUL-terminated, cut short at outsz. */
static void
sl_escape(char *out, size_t outsz, const uint8_t *p, size_t len)
{
	size_t i, o = 0;
	char t[5];
	int n;

	if (outsz == 0)
		return;
	for (i = 0; i < len; i++) {
		if (p[i] == '\\')
			n = snprintf(t, sizeof(t), "\\\\");
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			n = snprintf(t, sizeof(t), "%c", p[i]);
		else
			n = snprintf(t, sizeof(t), "\\x%02x", (unsigned)p[i]);
		if (n < 0 || o + (size_t)n >= outsz)
			break;
		memcpy(out + o, t, (size_t)n);
		o += (size_t)n;
	}
	out[o] = '\0';
}

static void
sl_iso_ms(uint64_t ms, char *out, size_t outsz)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(out, outsz, "?");
	else
		snprintf(out, outsz, "%s.%03uZ", base, (unsigned)(ms % 1000));
}

/* ---- stored keys and state ---- */

static int
sl_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t len)
{
	const void *p = sqlite3_column_blob(st, col);

	if (p == NULL || (size_t)sqlite3_column_bytes(st, col) != len)
		return MM_ERR_CORRUPT;
	memcpy(out, p, len);
	return MM_OK;
}

/* MM_ERR_NOT_FOUND if no key is imported. */
static int
sl_key_load(struct srv_db *db, const char *devid, struct sl_key *k)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = srv_db_prepare(db, "SELECT log_id, root_key FROM seclog_keys"
	    " WHERE device_id = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((r = sl_blob(st, 0, k->id, sizeof(k->id))) == 0)
			r = sl_blob(st, 1, k->root, sizeof(k->root));
	} else
		r = rc == SQLITE_DONE ? MM_ERR_NOT_FOUND : MM_ERR_DB;
	sqlite3_finalize(st);
	return r;
}

/* For the queries: says why there is nothing to show. */
static int
sl_no_key(const char *devid)
{
	mm_log(MM_LOG_ERR, "%s: no sealed-log key imported (mamori-server "
	    "device seclog-key)", devid);
	return MM_ERR_NOT_FOUND;
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
static int
sl_state_load(struct srv_db *db, const char *devid, const uint8_t *log_id,
    struct sl_state *s)
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
	    (r = sl_blob(st, 11, s->v.prev, MM_SECLOG_TAG_LEN)) != 0)
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
			r = sl_blob(st, 1, tag, MM_SECLOG_TAG_LEN);
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
		if (memcmp(b->prev, sl_zero_tag, MM_SECLOG_TAG_LEN) != 0)
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
	if ((r = sl_key_load(j->db, j->devid, &j->key)) == MM_ERR_NOT_FOUND)
		return sl_decide(j, SRV_SECLOG_NO_KEY, "batch of records %"
		    PRIu64 "..%" PRIu64 " refused: the log's initial key was "
		    "never imported (mamori-server device seclog-key); records "
		    "not stored", b->seq, b->seq + b->n - 1);
	if (r != 0)
		return r;
	j->has_key = 1;
	if ((r = sl_state_load(j->db, j->devid, j->key.id, &j->st)) != 0)
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
		sl_escape(text, sizeof(text), c->payload, c->payload_len);
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
	if ((r = sl_key_load(db, devid, &old)) == 0)
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

static void
sl_type_name(uint16_t type, char *out, size_t outsz)
{
	const char *n = mm_seclog_type_name(type);

	if (n != NULL)
		snprintf(out, outsz, "%s", n);
	else
		snprintf(out, outsz, "%u", (unsigned)type);
}

static int
sl_print_text(FILE *out, const struct mm_seclog_record *c)
{
	char when[48], type[16], src[4 * MM_SECLOG_SOURCE_MAX + 1];
	char *pay;
	size_t paysz = 4 * c->payload_len + 1;

	if ((pay = mm_malloc(paysz)) == NULL)
		return MM_ERR_ALLOC;
	sl_iso_ms(c->wall_ms, when, sizeof(when));
	sl_type_name(c->type, type, sizeof(type));
	sl_escape(src, sizeof(src), (const uint8_t *)c->source, c->source_len);
	sl_escape(pay, paysz, c->payload, c->payload_len);
	fprintf(out, "seq=%" PRIu64 " epoch=%" PRIu32 " time=%s type=%s "
	    "severity=%u source=%s payload=%s\n", c->seq, c->epoch, when, type,
	    (unsigned)c->severity, src, pay);
	mm_free(pay);
	return MM_OK;
}

/* name: the bytes as a JSON string if they are UTF-8, else name_hex. */
static int
sl_json_bytes(json_t *o, const char *name, const char *hexname,
    const void *p, size_t len)
{
	json_t *s;
	char *hex;
	int r;

	if ((s = json_stringn(p, len)) != NULL)
		return json_object_set_new(o, name, s) == 0 ? MM_OK :
		    MM_ERR_ALLOC;
	if ((hex = mm_malloc(2 * len + 1)) == NULL)
		return MM_ERR_ALLOC;
	mm_hex_encode(hex, p, len);
	r = json_object_set_new(o, hexname, json_string(hex)) == 0 ? MM_OK :
	    MM_ERR_ALLOC;
	mm_free(hex);
	return r;
}

static int
sl_print_json(FILE *out, const struct mm_seclog_record *c, int64_t received)
{
	char when[48], type[16], boot[2 * sizeof(c->boot_id) + 1];
	json_t *o;
	int r = MM_OK;

	if ((o = json_object()) == NULL)
		return MM_ERR_ALLOC;
	sl_iso_ms(c->wall_ms, when, sizeof(when));
	sl_type_name(c->type, type, sizeof(type));
	mm_hex_encode(boot, c->boot_id, sizeof(c->boot_id));
	if (json_object_set_new(o, "seq", json_integer((json_int_t)c->seq)) ||
	    json_object_set_new(o, "epoch", json_integer(c->epoch)) ||
	    json_object_set_new(o, "time", json_string(when)) ||
	    json_object_set_new(o, "wall_ms",
	    json_integer((json_int_t)c->wall_ms)) ||
	    json_object_set_new(o, "mono_ms",
	    json_integer((json_int_t)c->mono_ms)) ||
	    json_object_set_new(o, "boot_id", json_string(boot)) ||
	    json_object_set_new(o, "type", json_string(type)) ||
	    json_object_set_new(o, "severity", json_integer(c->severity)) ||
	    json_object_set_new(o, "received_at", json_integer(received)))
		r = MM_ERR_ALLOC;
	if (r == 0)
		r = sl_json_bytes(o, "source", "source_hex", c->source,
		    c->source_len);
	if (r == 0)
		r = sl_json_bytes(o, "payload", "payload_hex", c->payload,
		    c->payload_len);
	if (r == 0 && (json_dumpf(o, out, JSON_COMPACT) != 0 ||
	    fputc('\n', out) == EOF))
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

	r = sl_key_load(db, devid, &k);
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
		    sl_print_text(out, &c);
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
		r = sl_blob(st, 0, g->prev, MM_SECLOG_TAG_LEN);
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

	if (sl_state_load(db, devid, w->key.id, &st) != 0) {
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
	if ((r = sl_key_load(db, devid, &w.key)) == MM_ERR_NOT_FOUND)
		r = sl_no_key(devid);
	if (r != 0 ||
	    (r = mm_seclog_verifier_new(w.key.id, w.key.root, 1, 0, sl_zero_tag,
	    &w.v)) != 0 ||
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
	char id[SL_ID_HEX], when[48];
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
			sl_iso_ms((uint64_t)at * 1000, when, sizeof(when));
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
