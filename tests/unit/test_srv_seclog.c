/* Unit tests for the fleet's copy of the sealed logs (srv_seclog.c and
 * srv_seclog_query.c, decision 0009): real logs written by libmamori,
 * batches judged against a real SQLite database; duplicates, resends,
 * declared gaps, rewrites, tampering, splicing, alerts, restarts, the key
 * import and the queries, and a seeded mutation campaign over batches. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "device/mm_seclog.h"
#include "proto/mm_logmsg.h"
#include "proto/mm_topic.h"
#include "server/srv.h"
#include "server/srv_db.h"
#include "server/srv_ingest.h"
#include "server/srv_registry.h"
#include "server/srv_seclog.h"

#include "test_db.h"
#include "test_sql.h"

#define MAXR 256
#define RAWMAX 512

/* ---- logs written once for all tests ---- */

struct lrec {
	uint8_t raw[RAWMAX];
	size_t len;
	uint64_t seq;
	uint32_t epoch;
	uint16_t type;
	uint8_t tag[MM_SECLOG_TAG_LEN];
};

struct tlog {
	uint8_t id[MM_SECLOG_ID_LEN];
	uint8_t root[MM_SECLOG_KEY_LEN];
	char keyfile[128];
	int n;
	struct lrec r[MAXR];
};

static char logs_dir[64];
/* A: the device's log; B: another log (own id and key); C: another log
 * with A's id but another key */
static struct tlog LA, LB, LC;
static char dev[MM_DEVID_SIZE], dev2[MM_DEVID_SIZE];

static int
rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(p);
}

static void
append(struct mm_seclog *l, uint16_t type, uint8_t sev, const void *p,
    size_t len)
{
	struct mm_seclog_event ev;
	uint64_t seq;

	memset(&ev, 0, sizeof(ev));
	ev.type = type;
	ev.severity = sev;
	ev.source = "auth";
	ev.payload = p;
	ev.payload_len = len;
	assert_int_equal(mm_seclog_append(l, &ev, &seq), MM_OK);
}

/* Two sessions of events with 5-record epochs and small segments, so that
 * batches cross SEALs, sessions and segments; event 30 .. 33 are the log's
 * warnings and a payload that needs escaping. */
static void
write_log(const char *dir, int events)
{
	static const uint8_t odd[] = { 'a', 0x01, 0xff, '\n', '\\', 'z' };
	struct mm_seclog_conf c;
	struct mm_seclog *l;
	char p[64];
	size_t cut;
	int i;

	mm_seclog_defaults(&c);
	c.dir = dir;
	c.epoch_records = 5;
	c.segment_bytes = 2048;
	assert_int_equal(mm_seclog_open(&c, &l, &cut), MM_OK);
	for (i = 0; i < events; i++) {
		if (i == events / 2) {
			assert_int_equal(mm_seclog_close(l), MM_OK);
			assert_int_equal(mm_seclog_open(&c, &l, &cut), MM_OK);
		}
		if (i == 30)
			append(l, MM_SLT_LOSS, 4, "records 9..12 dropped", 21);
		else if (i == 31)
			append(l, MM_SLT_LOG_ACCESS, 4, "log opened by pid 42", 20);
		else if (i == 32)
			append(l, MM_SLT_ATTACK, 2, "port scan", 9);
		else if (i == 33)
			append(l, MM_SLT_AUTH, 6, odd, sizeof(odd));
		else {
			int n = snprintf(p, sizeof(p), "{\"login\":%d}", i);
			append(l, MM_SLT_AUTH, (uint8_t)(i % 8), p, (size_t)n);
		}
	}
	assert_int_equal(mm_seclog_close(l), MM_OK);
}

static void
read_log(const char *dir, struct tlog *L)
{
	struct mm_seclog_record rec;
	struct mm_seclog_seghdr h;
	char path[512];
	uint64_t *seqs = NULL;
	uint8_t *data;
	size_t nseg = 0, i, off, used;
	long sz;
	FILE *f;

	assert_int_equal(mm_seclog_segment_list(dir, &seqs, &nseg), MM_OK);
	assert_true(nseg > 1);
	L->n = 0;
	for (i = 0; i < nseg; i++) {
		assert_int_equal(mm_seclog_segment_path(path, sizeof(path), dir,
		    seqs[i]), MM_OK);
		assert_non_null(f = fopen(path, "rb"));
		assert_int_equal(fseek(f, 0, SEEK_END), 0);
		assert_true((sz = ftell(f)) >= MM_SECLOG_SEG_HDR_LEN);
		rewind(f);
		assert_non_null(data = malloc((size_t)sz));
		assert_int_equal(fread(data, 1, (size_t)sz, f), (size_t)sz);
		fclose(f);
		assert_int_equal(mm_seclog_seghdr_decode(data, (size_t)sz, &h),
		    MM_OK);
		for (off = MM_SECLOG_SEG_HDR_LEN; off < (size_t)sz; off += used) {
			struct lrec *r = &L->r[L->n];

			assert_true(L->n < MAXR);
			assert_int_equal(mm_seclog_decode(data + off,
			    (size_t)sz - off, &rec, &used), MM_OK);
			assert_true(used <= RAWMAX);
			assert_int_equal(rec.seq, (uint64_t)L->n + 1);
			memcpy(r->raw, data + off, used);
			r->len = used;
			r->seq = rec.seq;
			r->epoch = rec.epoch;
			r->type = rec.type;
			memcpy(r->tag, rec.tag, MM_SECLOG_TAG_LEN);
			L->n++;
		}
		free(data);
	}
	mm_free(seqs);
}

static void
make_log(struct tlog *L, const char *name, int events)
{
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/%s", logs_dir, name);
	snprintf(L->keyfile, sizeof(L->keyfile), "%s/%s.key", logs_dir, name);
	assert_int_equal(mm_seclog_create_from(dir, L->id, L->root), MM_OK);
	assert_int_equal(mm_seclog_keyfile_write(L->keyfile, L->id, L->root),
	    MM_OK);
	write_log(dir, events);
	read_log(dir, L);
}

/* ---- helpers ---- */

static void
insert_device(const char *id, const char *serial)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "INSERT INTO devices (id, serial, state,"
	    " created_at) VALUES ('%s', '%s', 'active', 1)", id, serial);
	assert_int_equal(srv_db_exec(db, sql), MM_OK);
}

static int64_t
alerts(const char *d, const char *kind)
{
	return sql_int("SELECT coalesce(sum(count), 0) FROM alerts WHERE"
	    " device_id = '%s' AND kind = '%s'", d, kind);
}

static int64_t
all_alerts(void)
{
	return sql_int("SELECT coalesce(sum(count), 0) FROM alerts");
}

static int64_t
rows(const char *d)
{
	return sql_int("SELECT count(*) FROM seclog_records WHERE"
	    " device_id = '%s'", d);
}

static int64_t
next_seq(const char *d)
{
	return sql_int("SELECT coalesce(max(next_seq), 1) FROM seclog_state"
	    " WHERE device_id = '%s'", d);
}

/* The verifier's part of the stored state, as one string. */
static void
vstate(const char *d, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", sql_text("SELECT next_seq || '/' || epoch"
	    " || '/' || sealed || '/' || count_known || '/' || count || '/' ||"
	    " hex(prev) FROM seclog_state WHERE device_id = '%s'", d));
}

static void
import_key(const char *d, const struct tlog *L)
{
	int what;

	assert_int_equal(srv_seclog_key_import(db, d, L->keyfile, 0, &what),
	    MM_OK);
	assert_int_equal(what, SRV_SECLOG_KEY_NEW);
}

/* Batch of records from .. from + n - 1 of L, as the device sends it. */
static void
batch(const struct tlog *L, uint64_t from, uint32_t n,
    struct mm_logmsg_batch *b, uint8_t *buf)
{
	size_t off = 0;
	uint32_t i;

	assert_true(from >= 1 && from + n - 1 <= (uint64_t)L->n);
	memset(b, 0, sizeof(*b));
	memcpy(b->log_id, L->id, MM_SECLOG_ID_LEN);
	b->seq = from;
	b->n = n;
	if (from > 1)
		memcpy(b->prev, L->r[from - 2].tag, MM_SECLOG_TAG_LEN);
	for (i = 0; i < n; i++) {
		const struct lrec *r = &L->r[from - 1 + i];

		assert_true(off + r->len <= MM_LOGMSG_RAW_MAX);
		memcpy(buf + off, r->raw, r->len);
		off += r->len;
	}
	b->raw = buf;
	b->raw_len = off;
}

static struct srv_seclog_result
put_as(const char *d, const struct mm_logmsg_batch *b)
{
	struct srv_seclog_result res;

	assert_int_equal(srv_seclog_ingest(db, d, b, &res), MM_OK);
	return res;
}

static struct srv_seclog_result
put(const struct tlog *L, uint64_t from, uint32_t n)
{
	uint8_t buf[MM_LOGMSG_RAW_MAX];
	struct mm_logmsg_batch b;

	batch(L, from, n, &b, buf);
	return put_as(dev, &b);
}

static void
expect_stored(struct srv_seclog_result res, uint32_t stored, uint64_t ack)
{
	if (res.outcome != SRV_SECLOG_STORED)
		fail_msg("expected stored, got %s: %s",
		    srv_seclog_outcome_name(res.outcome), res.what);
	assert_false(res.refused);
	assert_int_equal(res.stored, stored);
	assert_true(res.send_ack);
	assert_int_equal(res.ack.seq, ack);
	assert_memory_equal(res.ack.log_id, LA.id, MM_SECLOG_ID_LEN);
	assert_true(res.ack.time_ms > 1600000000000ULL);
}

static void
expect_outcome(struct srv_seclog_result res, enum srv_seclog_outcome o)
{
	if (res.outcome != o)
		fail_msg("expected %s, got %s: %s", srv_seclog_outcome_name(o),
		    srv_seclog_outcome_name(res.outcome), res.what);
}

/* Every stored record of dev is the device's, byte for byte. */
static void
expect_store_matches(const struct tlog *L, int64_t n)
{
	sqlite3_stmt *st;
	int64_t i = 0;

	assert_int_equal(rows(dev), n);
	assert_int_equal(sqlite3_prepare_v2(srv_db_handle(db), "SELECT seq, raw"
	    " FROM seclog_records WHERE device_id = ? ORDER BY seq", -1, &st,
	    NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, dev, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);

		assert_true(seq >= 1 && seq <= (uint64_t)L->n);
		assert_int_equal((size_t)sqlite3_column_bytes(st, 1),
		    L->r[seq - 1].len);
		assert_memory_equal(sqlite3_column_blob(st, 1),
		    L->r[seq - 1].raw, L->r[seq - 1].len);
		i++;
	}
	sqlite3_finalize(st);
	assert_int_equal(i, n);
}

static void
expect_verify(const char *d, int ok, uint64_t records, uint64_t gaps)
{
	struct srv_seclog_check c;

	assert_int_equal(srv_seclog_verify(db, d, &c), MM_OK);
	if (c.ok != ok)
		fail_msg("verify: ok=%d, expected %d: %s", c.ok, ok, c.what);
	if (ok) {
		assert_int_equal(c.records, records);
		assert_int_equal(c.gaps, gaps);
	} else
		assert_true(c.what[0] != '\0');
}

/* ---- fixtures ---- */

static int
setup(void **state)
{
	if (db_setup(state) != 0)
		return -1;
	mm_devid_new(dev);
	mm_devid_new(dev2);
	insert_device(dev, "SN-1");
	insert_device(dev2, "SN-2");
	return 0;
}

static int
teardown(void **state)
{
	return db_teardown(state);
}

/* ---- tests ---- */

static void
test_in_order(void **state)
{
	struct srv_seclog_result res;
	char h[2 * MM_SECLOG_TAG_LEN + 1];
	uint64_t s;
	uint32_t n;

	(void)state;
	import_key(dev, &LA);
	for (s = 1; s <= (uint64_t)LA.n; s += n) {
		n = (uint32_t)((uint64_t)LA.n - s + 1 < 7 ? LA.n - s + 1 : 7);
		res = put(&LA, s, n);
		expect_stored(res, n, s + n - 1);
		assert_int_equal(res.duplicates, 0);
		assert_int_equal(next_seq(dev), s + n);
	}
	expect_store_matches(&LA, LA.n);
	assert_int_equal(sql_int("SELECT batches FROM seclog_state"),
	    (LA.n + 6) / 7);
	assert_int_equal(sql_int("SELECT records FROM seclog_state"), LA.n);
	/* the state is where the last record leaves a verifier */
	assert_int_equal(sql_int("SELECT epoch FROM seclog_state"),
	    LA.r[LA.n - 1].epoch);
	assert_int_equal(sql_int("SELECT sealed FROM seclog_state"),
	    LA.r[LA.n - 1].type == MM_SLT_SEAL);
	mm_hex_encode(h, LA.r[LA.n - 1].tag, MM_SECLOG_TAG_LEN);
	assert_string_equal(sql_text("SELECT lower(hex(prev)) FROM seclog_state"),
	    h);
	expect_verify(dev, 1, (uint64_t)LA.n, 0);
	assert_int_equal(alerts(dev, "log_tampered") + alerts(dev,
	    "log_rewritten") + alerts(dev, "log_gap"), 0);
}

static void
test_duplicate(void **state)
{
	struct srv_seclog_result res;
	char before[256], after[256];

	(void)state;
	import_key(dev, &LA);
	expect_stored(put(&LA, 1, 7), 7, 7);
	expect_stored(put(&LA, 8, 7), 7, 14);
	vstate(dev, before, sizeof(before));
	res = put(&LA, 1, 7);
	expect_outcome(res, SRV_SECLOG_DUPLICATE);
	assert_false(res.refused);
	assert_int_equal(res.duplicates, 7);
	assert_int_equal(res.stored, 0);
	assert_true(res.send_ack);
	assert_int_equal(res.ack.seq, 14);
	vstate(dev, after, sizeof(after));
	assert_string_equal(before, after);
	expect_store_matches(&LA, 14);
	assert_int_equal(sql_int("SELECT duplicates FROM seclog_state"), 7);
	/* one that goes over the end: the old part checked, the rest stored */
	res = put(&LA, 5, 16);
	expect_stored(res, 6, 20);
	assert_int_equal(res.duplicates, 10);
	expect_store_matches(&LA, 20);
	assert_int_equal(all_alerts(), 0);
	expect_verify(dev, 1, 20, 0);
}

/* Flips bit b of byte off of record seq in a copy of a batch. */
static void
flip(struct mm_logmsg_batch *b, uint8_t *buf, const struct tlog *L,
    uint64_t seq, size_t off, int bit)
{
	size_t pos = 0;
	uint64_t s;

	for (s = b->seq; s < seq; s++)
		pos += L->r[s - 1].len;
	assert_true(pos + off < b->raw_len);
	buf[pos + off] ^= (uint8_t)(1u << bit);
}

static void
test_rewritten(void **state)
{
	uint8_t buf[MM_LOGMSG_RAW_MAX];
	struct mm_logmsg_batch b;
	struct srv_seclog_result res;
	char before[256], after[256];

	(void)state;
	import_key(dev, &LA);
	expect_stored(put(&LA, 1, 14), 14, 14);
	vstate(dev, before, sizeof(before));
	/* a payload byte of record 3, sent again */
	batch(&LA, 1, 7, &b, buf);
	flip(&b, buf, &LA, 3, LA.r[2].len - 40, 0);
	res = put_as(dev, &b);
	expect_outcome(res, SRV_SECLOG_REWRITTEN);
	assert_true(res.refused);
	assert_true(res.send_ack);
	assert_int_equal(res.ack.seq, 14);
	assert_int_equal(alerts(dev, "log_rewritten"), 1);
	assert_string_equal(sql_text("SELECT severity FROM alerts WHERE kind ="
	    " 'log_rewritten'"), "critical");
	assert_string_equal(sql_text("SELECT requirements FROM alerts WHERE"
	    " kind = 'log_rewritten'"), "KP13 T12/L3");
	assert_non_null(strstr(sql_text("SELECT detail FROM alerts WHERE kind"
	    " = 'log_rewritten'"), "record 3 "));
	vstate(dev, after, sizeof(after));
	assert_string_equal(before, after);
	expect_store_matches(&LA, 14);
	assert_non_null(strstr(sql_text("SELECT last_error FROM seclog_state"),
	    "rewritten"));
	/* a batch that goes over the end with one changed old record: the new
	 * records, good as they are, are not stored either */
	batch(&LA, 12, 7, &b, buf);
	flip(&b, buf, &LA, 13, 20, 3);
	expect_outcome(put_as(dev, &b), SRV_SECLOG_REWRITTEN);
	expect_store_matches(&LA, 14);
	/* the new batch chains to another record 14 than the one held */
	batch(&LA, 15, 3, &b, buf);
	b.prev[5] ^= 0x10;
	expect_outcome(put_as(dev, &b), SRV_SECLOG_REWRITTEN);
	/* and an old one to another record 9 */
	batch(&LA, 10, 3, &b, buf);
	b.prev[0] ^= 0x01;
	expect_outcome(put_as(dev, &b), SRV_SECLOG_REWRITTEN);
	assert_int_equal(alerts(dev, "log_rewritten"), 4);
	expect_store_matches(&LA, 14);
	expect_verify(dev, 1, 14, 0);
	expect_stored(put(&LA, 15, 3), 3, 17);
}

static void
test_tampered(void **state)
{
	uint8_t buf[MM_LOGMSG_RAW_MAX];
	struct mm_logmsg_batch b;
	struct srv_seclog_result res;
	char before[256], after[256];

	(void)state;
	import_key(dev, &LA);
	expect_stored(put(&LA, 1, 7), 7, 7);
	vstate(dev, before, sizeof(before));
	batch(&LA, 8, 7, &b, buf);
	flip(&b, buf, &LA, 10, 30, 6);
	res = put_as(dev, &b);
	expect_outcome(res, SRV_SECLOG_TAMPERED);
	assert_true(res.refused);
	assert_true(res.send_ack);
	assert_int_equal(res.ack.seq, 7);
	assert_int_equal(res.stored, 0);
	assert_int_equal(alerts(dev, "log_tampered"), 1);
	assert_string_equal(sql_text("SELECT severity FROM alerts WHERE kind ="
	    " 'log_tampered'"), "critical");
	assert_non_null(strstr(sql_text("SELECT detail FROM alerts WHERE kind"
	    " = 'log_tampered'"), "seq 10"));
	vstate(dev, after, sizeof(after));
	assert_string_equal(before, after);
	expect_store_matches(&LA, 7);
	assert_non_null(strstr(sql_text("SELECT last_error FROM seclog_state"),
	    "tampered"));
	/* the device sends the right one again */
	expect_stored(put(&LA, 8, 7), 7, 14);
	expect_store_matches(&LA, 14);
	/* a tag */
	batch(&LA, 15, 4, &b, buf);
	flip(&b, buf, &LA, 18, LA.r[17].len - 1, 7);
	expect_outcome(put_as(dev, &b), SRV_SECLOG_TAMPERED);
	/* the epoch field (the decoder takes it, the tag does not) */
	batch(&LA, 15, 4, &b, buf);
	flip(&b, buf, &LA, 16, 16, 0);
	expect_outcome(put_as(dev, &b), SRV_SECLOG_TAMPERED);
	expect_store_matches(&LA, 14);
	expect_verify(dev, 1, 14, 0);
}

/* Builds raw from records of L in the order of seqs[0..n). */
static size_t
raw_of(const struct tlog *L, const uint64_t *seqs, size_t n, uint8_t *buf)
{
	size_t i, off = 0;

	for (i = 0; i < n; i++) {
		memcpy(buf + off, L->r[seqs[i] - 1].raw, L->r[seqs[i] - 1].len);
		off += L->r[seqs[i] - 1].len;
	}
	return off;
}

static void
test_structure(void **state)
{
	static const uint64_t del[] = { 8, 9, 11, 12 };
	static const uint64_t ins[] = { 8, 9, 10, 10, 11 };
	static const uint64_t swp[] = { 8, 10, 9, 11 };
	static const uint64_t other[] = { 8, 9, 10, 11 };
	uint8_t buf[MM_LOGMSG_RAW_MAX];
	struct mm_logmsg_batch b;
	char before[256], after[256];

	(void)state;
	import_key(dev, &LA);
	expect_stored(put(&LA, 1, 7), 7, 7);
	vstate(dev, before, sizeof(before));
	batch(&LA, 8, 4, &b, buf);
	/* a record deleted: with the count of the batch, and with it fixed */
	b.raw_len = raw_of(&LA, del, 4, buf);
	expect_outcome(put_as(dev, &b), SRV_SECLOG_TAMPERED);
	b.raw_len = raw_of(&LA, del, 3, buf);
	b.n = 3;
	expect_outcome(put_as(dev, &b), SRV_SECLOG_TAMPERED);
	/* a record inserted twice */
	b.raw_len = raw_of(&LA, ins, 5, buf);
	b.n = 5;
	expect_outcome(put_as(dev, &b), SRV_SECLOG_TAMPERED);
	b.n = 4;
	expect_outcome(put_as(dev, &b), SRV_SECLOG_TAMPERED);
	/* two swapped */
	b.raw_len = raw_of(&LA, swp, 4, buf);
	expect_outcome(put_as(dev, &b), SRV_SECLOG_TAMPERED);
	/* truncated: inside a record, and at a record with the count kept */
	b.raw_len = raw_of(&LA, other, 4, buf) - 5;
	expect_outcome(put_as(dev, &b), SRV_SECLOG_MALFORMED);
	b.raw_len = raw_of(&LA, other, 3, buf);
	expect_outcome(put_as(dev, &b), SRV_SECLOG_MALFORMED);
	/* bytes after the last record */
	b.raw_len = raw_of(&LA, other, 4, buf) + 3;
	expect_outcome(put_as(dev, &b), SRV_SECLOG_MALFORMED);
	/* the envelope says another first seq */
	b.raw_len = raw_of(&LA, other, 4, buf);
	b.seq = 9;
	expect_outcome(put_as(dev, &b), SRV_SECLOG_TAMPERED);
	b.seq = 7;
	expect_outcome(put_as(dev, &b), SRV_SECLOG_TAMPERED);
	/* fields no decoder lets through */
	b.seq = 8;
	b.n = 0;
	expect_outcome(put_as(dev, &b), SRV_SECLOG_MALFORMED);
	b.n = 4;
	b.lost_from = 8;
	expect_outcome(put_as(dev, &b), SRV_SECLOG_MALFORMED);
	b.lost_from = 0;
	vstate(dev, after, sizeof(after));
	assert_string_equal(before, after);
	expect_store_matches(&LA, 7);
	/* records out of sequence are tampering (7 batches, one alert with
	 * its count); bytes that do not decode are only malformed */
	assert_int_equal(all_alerts(), 7);
	assert_int_equal(sql_int("SELECT count(*) FROM alerts WHERE kind ="
	    " 'log_tampered'"), 1);
	/* a malformed batch gets no acknowledgement */
	b.n = 3;
	assert_false(put_as(dev, &b).send_ack);
	b.n = 4;
	expect_stored(put_as(dev, &b), 4, 11);
}

static void
test_spliced(void **state)
{
	uint8_t buf[MM_LOGMSG_RAW_MAX];
	struct mm_logmsg_batch b;
	struct srv_seclog_result res;

	(void)state;
	import_key(dev, &LA);
	expect_stored(put(&LA, 1, 7), 7, 7);
	/* another log, as it is */
	batch(&LB, 8, 5, &b, buf);
	res = put_as(dev, &b);
	expect_outcome(res, SRV_SECLOG_SPLICED);
	assert_true(res.refused);
	assert_false(res.send_ack);
	assert_int_equal(alerts(dev, "log_spliced"), 1);
	assert_string_equal(sql_text("SELECT severity FROM alerts WHERE kind ="
	    " 'log_spliced'"), "critical");
	/* its records under our log's id: their tags bind them to theirs */
	memcpy(b.log_id, LA.id, MM_SECLOG_ID_LEN);
	memcpy(b.prev, LA.r[6].tag, MM_SECLOG_TAG_LEN);
	expect_outcome(put_as(dev, &b), SRV_SECLOG_TAMPERED);
	/* records with our id but made under another key */
	batch(&LC, 8, 5, &b, buf);
	memcpy(b.prev, LA.r[6].tag, MM_SECLOG_TAG_LEN);
	expect_outcome(put_as(dev, &b), SRV_SECLOG_TAMPERED);
	/* and as a whole from the start */
	batch(&LC, 1, 5, &b, buf);
	expect_outcome(put_as(dev, &b), SRV_SECLOG_REWRITTEN);
	assert_int_equal(alerts(dev, "log_tampered"), 2);
	expect_store_matches(&LA, 7);
	/* our log's records sent as another device's */
	import_key(dev2, &LB);
	batch(&LA, 1, 5, &b, buf);
	expect_outcome(put_as(dev2, &b), SRV_SECLOG_SPLICED);
	assert_int_equal(alerts(dev2, "log_spliced"), 1);
	assert_int_equal(rows(dev2), 0);
}

static void
test_no_key(void **state)
{
	struct srv_seclog_result res;

	(void)state;
	res = put(&LA, 1, 5);
	expect_outcome(res, SRV_SECLOG_NO_KEY);
	assert_true(res.refused);
	assert_false(res.send_ack);
	assert_int_equal(rows(dev), 0);
	assert_int_equal(alerts(dev, "log_unverifiable"), 1);
	assert_string_equal(sql_text("SELECT severity FROM alerts WHERE kind ="
	    " 'log_unverifiable'"), "warning");
	assert_non_null(strstr(sql_text("SELECT detail FROM alerts WHERE kind"
	    " = 'log_unverifiable'"), "never imported"));
	assert_int_equal(sql_int("SELECT count(*) FROM seclog_state"), 0);
	/* once imported, the same batch is taken */
	import_key(dev, &LA);
	expect_stored(put(&LA, 1, 5), 5, 5);
}

static void
test_gap_resend(void **state)
{
	struct srv_seclog_result res;
	char before[256], after[256];

	(void)state;
	import_key(dev, &LA);
	/* nothing held yet: a batch from 3 is asked again from 1 */
	res = put(&LA, 3, 4);
	expect_outcome(res, SRV_SECLOG_RESEND);
	assert_true(res.send_ack);
	assert_int_equal(res.ack.seq, 0);
	assert_int_equal(rows(dev), 0);
	expect_stored(put(&LA, 1, 7), 7, 7);
	vstate(dev, before, sizeof(before));
	res = put(&LA, 15, 7);
	expect_outcome(res, SRV_SECLOG_RESEND);
	assert_false(res.refused);
	assert_true(res.send_ack);
	assert_int_equal(res.ack.seq, 7);
	assert_int_equal(res.stored, 0);
	vstate(dev, after, sizeof(after));
	assert_string_equal(before, after);
	expect_store_matches(&LA, 7);
	assert_int_equal(sql_int("SELECT resends FROM seclog_state"), 2);
	assert_int_equal(all_alerts(), 0);
	expect_stored(put(&LA, 8, 14), 14, 21);
	expect_verify(dev, 1, 21, 0);
}

static void
test_gap_declared(void **state)
{
	uint8_t buf[MM_LOGMSG_RAW_MAX];
	struct mm_logmsg_batch b;
	struct srv_seclog_result res;
	char h[65];

	(void)state;
	import_key(dev, &LA);
	expect_stored(put(&LA, 1, 7), 7, 7);
	batch(&LA, 15, 7, &b, buf);
	b.lost_from = 9;	/* the device lost 9..14; the fleet misses 8 too */
	res = put_as(dev, &b);
	expect_stored(res, 7, 21);
	assert_int_equal(res.gap_from, 8);
	assert_int_equal(res.gap_to, 14);
	assert_int_equal(alerts(dev, "log_gap"), 1);
	assert_string_equal(sql_text("SELECT severity FROM alerts WHERE kind ="
	    " 'log_gap'"), "warning");
	assert_non_null(strstr(sql_text("SELECT detail FROM alerts WHERE kind"
	    " = 'log_gap'"), "8..14"));
	assert_int_equal(sql_int("SELECT count(*) FROM seclog_gaps WHERE"
	    " from_seq = 8 AND to_seq = 14"), 1);
	mm_hex_encode(h, LA.r[13].tag, MM_SECLOG_TAG_LEN);
	assert_string_equal(sql_text("SELECT lower(hex(prev)) FROM seclog_gaps"),
	    h);
	assert_int_equal(sql_int("SELECT gaps FROM seclog_state"), 1);
	assert_int_equal(rows(dev), 14);
	expect_verify(dev, 1, 14, 1);
	/* going on, sending again across the gap's end, and into the gap */
	expect_stored(put(&LA, 22, 6), 6, 27);
	expect_outcome(put(&LA, 15, 4), SRV_SECLOG_DUPLICATE);
	expect_outcome(put(&LA, 12, 5), SRV_SECLOG_REWRITTEN);
	expect_verify(dev, 1, 20, 1);
	/* a gap whose records do not verify under the anchor is refused */
	batch(&LA, 35, 3, &b, buf);
	b.lost_from = 28;
	b.prev[1] ^= 1;
	expect_outcome(put_as(dev, &b), SRV_SECLOG_TAMPERED);
	assert_int_equal(alerts(dev, "log_gap"), 1);
	assert_int_equal(rows(dev), 20);
	expect_verify(dev, 1, 20, 1);
}

static void
test_gap_epoch_back(void **state)
{
	uint8_t buf[MM_LOGMSG_RAW_MAX];
	struct mm_logmsg_batch b;

	(void)state;
	import_key(dev, &LA);
	expect_stored(put(&LA, 1, 30), 30, 30);
	/* a device cannot make such records without the earlier epochs'
	 * keys; the check that epochs never go back across a declared gap
	 * is the server's own: the state says a later epoch */
	assert_int_equal(srv_db_exec(db, "UPDATE seclog_state SET epoch ="
	    " epoch + 1000, sealed = 0"), MM_OK);
	batch(&LA, 40, 2, &b, buf);
	b.lost_from = 31;
	expect_outcome(put_as(dev, &b), SRV_SECLOG_TAMPERED);
	assert_int_equal(rows(dev), 30);
	assert_non_null(strstr(sql_text("SELECT detail FROM alerts WHERE kind"
	    " = 'log_tampered'"), "after the declared gap"));
}

static void
test_log_alerts(void **state)
{
	uint64_t s;

	(void)state;
	import_key(dev, &LA);
	for (s = 1; s <= (uint64_t)LA.n; s += 10)
		(void)put(&LA, s, (uint32_t)((uint64_t)LA.n - s + 1 < 10 ?
		    LA.n - s + 1 : 10));
	expect_store_matches(&LA, LA.n);
	assert_int_equal(alerts(dev, "log_loss"), 1);
	assert_int_equal(alerts(dev, "log_access"), 1);
	assert_int_equal(alerts(dev, "device_attack"), 1);
	assert_string_equal(sql_text("SELECT severity FROM alerts WHERE kind ="
	    " 'log_loss'"), "warning");
	assert_non_null(strstr(sql_text("SELECT detail FROM alerts WHERE kind"
	    " = 'log_loss'"), "records 9..12 dropped"));
	assert_non_null(strstr(sql_text("SELECT detail FROM alerts WHERE kind"
	    " = 'log_access'"), "pid 42"));
	assert_non_null(strstr(sql_text("SELECT detail FROM alerts WHERE kind"
	    " = 'device_attack'"), "port scan"));
	/* a duplicate raises nothing again */
	(void)put(&LA, 1, 10);
	expect_outcome(put(&LA, 30, 10), SRV_SECLOG_DUPLICATE);
	assert_int_equal(alerts(dev, "log_loss"), 1);
}

static void
test_restart(void **state)
{
	char path[128], before[256], after[256];

	(void)state;
	import_key(dev, &LA);
	expect_stored(put(&LA, 1, 9), 9, 9);
	expect_stored(put(&LA, 10, 4), 4, 13);
	vstate(dev, before, sizeof(before));
	srv_db_close(db);
	snprintf(path, sizeof(path), "%s/fleet.db", test_db_dir);
	assert_int_equal(srv_db_open(path, 0, &db), MM_OK);
	vstate(dev, after, sizeof(after));
	assert_string_equal(before, after);
	expect_outcome(put(&LA, 5, 5), SRV_SECLOG_DUPLICATE);
	expect_stored(put(&LA, 14, 11), 11, 24);
	expect_store_matches(&LA, 24);
	expect_verify(dev, 1, 24, 0);
}

/* ---- the mutation campaign ---- */

enum mkind { M_FLIP, M_DEL, M_INS, M_SWAP, M_DUP, M_DROP, M_TRUNC, M_SEQ,
	M_PREV, M_ID, M_N, M__COUNT };
static const char *const mkind_name[M__COUNT] = { "bitflip", "delete",
	"insert", "swap", "duplicate", "drop_record", "truncate",
	"envelope_seq", "envelope_prev", "envelope_log", "envelope_n" };

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Offsets of the records of a batch in its raw bytes. */
static void
offsets(const struct tlog *L, uint64_t from, uint32_t n, size_t *off)
{
	uint32_t i;

	off[0] = 0;
	for (i = 0; i < n; i++)
		off[i + 1] = off[i] + L->r[from - 1 + i].len;
}

/* Mutates batch m (raw in buf, records at off[0..n]) by kind. */
static void
mutate(enum mkind k, struct mm_logmsg_batch *m, uint8_t *buf,
    const size_t *off)
{
	uint8_t tmp[MM_LOGMSG_RAW_MAX];
	uint32_t n = m->n, i, j, c;
	size_t pos, cnt, len = m->raw_len;

	switch (k) {
	case M_FLIP:
		buf[rng() % len] ^= (uint8_t)(1u << (rng() % 8));
		break;
	case M_DEL:
		pos = rng() % len;
		cnt = 1 + rng() % 16;
		if (cnt > len - pos)
			cnt = len - pos;
		if (cnt == len)
			cnt = len - 1;
		memmove(buf + pos, buf + pos + cnt, len - pos - cnt);
		m->raw_len = len - cnt;
		break;
	case M_INS:
		pos = rng() % (len + 1);
		cnt = 1 + rng() % 16;
		memmove(buf + pos + cnt, buf + pos, len - pos);
		for (c = 0; c < cnt; c++)
			buf[pos + c] = (uint8_t)rng();
		m->raw_len = len + cnt;
		break;
	case M_SWAP:
		i = (uint32_t)(rng() % n);
		do
			j = (uint32_t)(rng() % n);
		while (j == i);
		if (i > j) {
			c = i;
			i = j;
			j = c;
		}
		/* records i and j change places */
		pos = 0;
		memcpy(tmp, buf + off[j], off[j + 1] - off[j]);
		pos = off[j + 1] - off[j];
		memcpy(tmp + pos, buf + off[i + 1], off[j] - off[i + 1]);
		pos += off[j] - off[i + 1];
		memcpy(tmp + pos, buf + off[i], off[i + 1] - off[i]);
		pos += off[i + 1] - off[i];
		memcpy(buf + off[i], tmp, pos);
		break;
	case M_DUP:
		i = (uint32_t)(rng() % n);
		cnt = off[i + 1] - off[i];
		memmove(buf + off[i + 1] + cnt, buf + off[i + 1],
		    len - off[i + 1]);
		memcpy(buf + off[i + 1], buf + off[i], cnt);
		m->raw_len = len + cnt;
		if (rng() % 2)
			m->n = n + 1;
		break;
	case M_DROP:
		i = (uint32_t)(rng() % n);
		cnt = off[i + 1] - off[i];
		memmove(buf + off[i], buf + off[i + 1], len - off[i + 1]);
		m->raw_len = len - cnt;
		if (rng() % 4 != 0)
			m->n = n - 1;
		break;
	case M_TRUNC:
		/* a third of the cuts at a record's end */
		if (rng() % 3 == 0)
			m->raw_len = off[1 + rng() % (n - 1)];
		else
			m->raw_len = 1 + rng() % (len - 1);
		for (i = 0; i < n && off[i + 1] <= m->raw_len; i++)
			;
		if (i > 0 && rng() % 4 != 0)
			m->n = i;
		break;
	case M_SEQ:
		c = 1 + (uint32_t)(rng() % 3);
		m->seq = rng() % 2 ? m->seq + c : m->seq - c;
		break;
	case M_PREV:
		m->prev[rng() % MM_LOGMSG_TAG_LEN] ^= (uint8_t)(1u << (rng() % 8));
		break;
	case M_ID:
		m->log_id[rng() % MM_LOGMSG_ID_LEN] ^= (uint8_t)(1u << (rng() % 8));
		break;
	case M_N:
		m->n = rng() % 2 ? n + 1 : n - 1;
		break;
	default:
		fail();
	}
}

/* 0: the same batch; k > 0: a prefix of k whole records of it; -1: other. */
static int
prefix_of(const struct mm_logmsg_batch *o, const struct mm_logmsg_batch *m,
    const size_t *off)
{
	uint32_t k;

	if (memcmp(o->log_id, m->log_id, MM_LOGMSG_ID_LEN) != 0 ||
	    o->seq != m->seq || memcmp(o->prev, m->prev, MM_LOGMSG_TAG_LEN) != 0 ||
	    m->lost_from != o->lost_from || m->raw_len > o->raw_len ||
	    memcmp(o->raw, m->raw, m->raw_len) != 0)
		return -1;
	if (m->raw_len == o->raw_len)
		return m->n == o->n ? 0 : -1;
	for (k = 1; k < o->n; k++)
		if (off[k] == m->raw_len)
			return m->n == k ? (int)k : -1;
	return -1;
}

#define BASE 20		/* records held before each trial */
#define BN 10		/* records per batch */
#define TRIALS 1320

static void
test_mutation_campaign(void **state)
{
	uint8_t obuf[MM_LOGMSG_RAW_MAX], mbuf[MM_LOGMSG_RAW_MAX + 64];
	struct mm_logmsg_batch o, m;
	struct srv_seclog_result res;
	char base_state[256], now_state[256];
	unsigned trials[M__COUNT] = { 0 }, found[M__COUNT] = { 0 };
	unsigned refused[M__COUNT] = { 0 }, prefixes[M__COUNT] = { 0 };
	unsigned t, total = 0, detected = 0, same = 0;
	size_t off[BN + 1];
	uint64_t from;
	enum mkind k;
	int p, ok;

	(void)state;
	import_key(dev, &LA);
	expect_stored(put(&LA, 1, BASE), BASE, BASE);
	vstate(dev, base_state, sizeof(base_state));
	assert_int_equal(srv_db_exec(db, "CREATE TABLE snap AS SELECT * FROM"
	    " seclog_state"), MM_OK);
	for (t = 0; t < TRIALS; t++) {
		k = (enum mkind)(t % M__COUNT);
		/* held records (11..20) or new ones (21..30) */
		from = rng() % 2 ? BASE - BN + 1 : BASE + 1;
		batch(&LA, from, BN, &o, obuf);
		offsets(&LA, from, BN, off);
		m = o;
		memcpy(mbuf, obuf, o.raw_len);
		m.raw = mbuf;
		mutate(k, &m, mbuf, off);
		if ((p = prefix_of(&o, &m, off)) == 0) {
			same++;
			continue;
		}
		trials[k]++;
		total++;
		res = put_as(dev, &m);
		vstate(dev, now_state, sizeof(now_state));
		if (p > 0 && from > BASE)
			ok = res.outcome == SRV_SECLOG_STORED &&
			    res.stored == (uint32_t)p &&
			    rows(dev) == BASE + p;
		else if (p > 0)
			ok = res.outcome == SRV_SECLOG_DUPLICATE &&
			    rows(dev) == BASE &&
			    strcmp(now_state, base_state) == 0;
		else
			ok = res.refused && rows(dev) == BASE &&
			    strcmp(now_state, base_state) == 0;
		if (ok) {
			found[k]++;
			detected++;
			if (p > 0)
				prefixes[k]++;
			else
				refused[k]++;
		} else
			print_message("trial %u (%s, from %llu): %s: %s\n", t,
			    mkind_name[k], (unsigned long long)from,
			    srv_seclog_outcome_name(res.outcome), res.what);
		if (rows(dev) != BASE) {
			if (p > 0)
				expect_store_matches(&LA, BASE + p);
			assert_int_equal(srv_db_exec(db, "DELETE FROM"
			    " seclog_records WHERE seq > 20; DELETE FROM"
			    " seclog_state; INSERT INTO seclog_state SELECT *"
			    " FROM snap"), MM_OK);
		}
	}
	for (k = 0; k < M__COUNT; k++)
		print_message("    kind=%s trials=%u detected=%u refused=%u "
		    "prefix_accepted=%u\n", mkind_name[k], trials[k], found[k],
		    refused[k], prefixes[k]);
	print_message("    total trials=%u detected=%u (unchanged batches "
	    "skipped: %u)\n", total, detected, same);
	assert_true(total >= 1000);
	assert_int_equal(detected, total);
	for (k = 0; k < M__COUNT; k++)
		assert_true(trials[k] > 0);
	/* a correct batch still goes in after all that */
	expect_store_matches(&LA, BASE);
	expect_stored(put(&LA, BASE + 1, BN), BN, BASE + BN);
	expect_verify(dev, 1, BASE + BN, 0);
}

/* ---- the key import ---- */

static void
test_key_import(void **state)
{
	char other[128];
	int what = -1;

	(void)state;
	assert_int_equal(srv_seclog_key_import(db, "d-00000000000000aa",
	    LA.keyfile, 0, &what), MM_ERR_NOT_FOUND);
	snprintf(other, sizeof(other), "%s/nonexistent.key", test_db_dir);
	assert_int_not_equal(srv_seclog_key_import(db, dev, other, 0, &what),
	    MM_OK);
	import_key(dev, &LA);
	assert_int_equal(srv_seclog_key_import(db, dev, LA.keyfile, 0, &what),
	    MM_OK);
	assert_int_equal(what, SRV_SECLOG_KEY_SAME);
	expect_stored(put(&LA, 1, 7), 7, 7);
	/* the same log id under another key: records were verified under
	 * this one */
	assert_int_equal(srv_seclog_key_import(db, dev, LC.keyfile, 1, &what),
	    MM_ERR_KEY_MISMATCH);
	/* another log: only with replace, which keeps the old records */
	assert_int_equal(srv_seclog_key_import(db, dev, LB.keyfile, 0, &what),
	    MM_ERR_EXISTS);
	assert_int_equal(srv_seclog_key_import(db, dev, LB.keyfile, 1, &what),
	    MM_OK);
	assert_int_equal(what, SRV_SECLOG_KEY_REPLACED);
	assert_int_equal(rows(dev), 7);
	assert_int_equal(sql_int("SELECT count(*) FROM seclog_state"), 0);
	{
		uint8_t buf[MM_LOGMSG_RAW_MAX];
		struct mm_logmsg_batch b;
		struct srv_seclog_result res;

		batch(&LB, 1, 5, &b, buf);
		res = put_as(dev, &b);
		expect_outcome(res, SRV_SECLOG_STORED);
		assert_memory_equal(res.ack.log_id, LB.id, MM_SECLOG_ID_LEN);
		expect_verify(dev, 1, 5, 0);
		/* back to log A: its records are there, its state is not */
		assert_int_equal(srv_seclog_key_import(db, dev, LA.keyfile, 1,
		    &what), MM_ERR_EXISTS);
		/* the old log now is another log */
		batch(&LA, 8, 3, &b, buf);
		expect_outcome(put_as(dev, &b), SRV_SECLOG_SPLICED);
	}
	assert_int_equal(rows(dev), 12);
	/* the same log id under another key, nothing stored yet: replace */
	import_key(dev2, &LA);
	assert_int_equal(srv_seclog_key_import(db, dev2, LC.keyfile, 0, &what),
	    MM_ERR_KEY_MISMATCH);
	assert_int_equal(srv_seclog_key_import(db, dev2, LC.keyfile, 1, &what),
	    MM_OK);
	assert_int_equal(what, SRV_SECLOG_KEY_REPLACED);
	/* the key is stored as it is in the file */
	assert_int_equal(sql_int("SELECT length(root_key) FROM seclog_keys"
	    " WHERE device_id = '%s'", dev2), 32);
}

/* ---- queries ---- */

static char *
capture_show(const struct srv_seclog_filter *f, uint64_t *shown)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	assert_non_null(out = open_memstream(&text, &len));
	assert_int_equal(srv_seclog_show(db, dev, f, out, shown), MM_OK);
	fclose(out);
	return text;
}

static void
test_show(void **state)
{
	struct srv_seclog_filter f;
	uint64_t shown, s;
	char *text, *line, *save;
	int lines = 0;

	(void)state;
	srv_seclog_filter_init(&f);
	assert_int_equal(srv_seclog_show(db, dev, &f, stdout, &shown),
	    MM_ERR_NOT_FOUND);
	import_key(dev, &LA);
	for (s = 1; s <= (uint64_t)LA.n; s += 10)
		(void)put(&LA, s, (uint32_t)((uint64_t)LA.n - s + 1 < 10 ?
		    LA.n - s + 1 : 10));
	text = capture_show(&f, &shown);
	assert_int_equal(shown, (uint64_t)LA.n);
	assert_non_null(strstr(text, "seq=1 epoch=0 time="));
	assert_non_null(strstr(text, "type=log_start"));
	assert_non_null(strstr(text, "type=seal severity="));
	/* escaped: no control byte reaches the terminal */
	assert_non_null(strstr(text, "payload=a\\x01\\xff\\x0a\\\\z\n"));
	free(text);

	f.from = 10;
	f.to = 19;
	text = capture_show(&f, &shown);
	assert_int_equal(shown, 10);
	assert_true(strncmp(text, "seq=10 ", 7) == 0);
	free(text);

	srv_seclog_filter_init(&f);
	assert_int_equal(srv_seclog_filter_type(&f, "loss"), MM_OK);
	assert_int_equal(srv_seclog_filter_type(&f, "nonsense"),
	    MM_ERR_INVALID_ARG);
	text = capture_show(&f, &shown);
	assert_int_equal(shown, 1);
	assert_non_null(strstr(text, "type=loss severity=4"));
	free(text);

	srv_seclog_filter_init(&f);
	f.max_severity = 2;
	f.limit = 3;
	f.json = 1;
	text = capture_show(&f, &shown);
	assert_int_equal(shown, 3);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		json_error_t e;
		json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &e);

		assert_non_null(o);
		assert_true(json_integer_value(json_object_get(o, "severity"))
		    <= 2);
		assert_true(json_is_string(json_object_get(o, "type")));
		assert_true(json_is_string(json_object_get(o, "time")));
		assert_true(json_is_string(json_object_get(o, "source")));
		json_decref(o);
		lines++;
	}
	assert_int_equal(lines, 3);
	free(text);
	/* the one with the invalid UTF-8 payload comes as hex */
	srv_seclog_filter_init(&f);
	f.json = 1;
	f.from = f.to = LA.r[0].seq;
	for (s = 1; s <= (uint64_t)LA.n; s++)
		if (LA.r[s - 1].type == MM_SLT_AUTH &&
		    memmem(LA.r[s - 1].raw, LA.r[s - 1].len, "a\x01\xff", 3))
			f.from = f.to = s;
	text = capture_show(&f, &shown);
	assert_int_equal(shown, 1);
	assert_non_null(strstr(text, "\"payload_hex\":\"6101ff0a5c7a\""));
	free(text);
}

static void
test_verify_store_damage(void **state)
{
	sqlite3_stmt *st;
	uint8_t raw[RAWMAX];
	size_t len;

	(void)state;
	import_key(dev, &LA);
	expect_stored(put(&LA, 1, 20), 20, 20);
	expect_verify(dev, 1, 20, 0);
	/* a changed byte in a stored record */
	len = LA.r[9].len;
	memcpy(raw, LA.r[9].raw, len);
	raw[len - 50] ^= 0x20;
	assert_int_equal(sqlite3_prepare_v2(srv_db_handle(db), "UPDATE"
	    " seclog_records SET raw = ? WHERE seq = 10", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, raw, (int)len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	expect_verify(dev, 0, 0, 0);
	/* put back, then a record missing */
	assert_int_equal(sqlite3_prepare_v2(srv_db_handle(db), "UPDATE"
	    " seclog_records SET raw = ? WHERE seq = 10", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, LA.r[9].raw, (int)len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	expect_verify(dev, 1, 20, 0);
	assert_int_equal(srv_db_exec(db, "DELETE FROM seclog_records WHERE"
	    " seq = 20"), MM_OK);
	expect_verify(dev, 0, 0, 0);
	assert_int_equal(srv_db_exec(db, "DELETE FROM seclog_records WHERE"
	    " seq = 12"), MM_OK);
	expect_verify(dev, 0, 0, 0);
}

static void
test_status(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	char h[33];

	(void)state;
	assert_non_null(out = open_memstream(&text, &len));
	assert_int_equal(srv_seclog_status(db, dev, out), MM_ERR_NOT_FOUND);
	import_key(dev, &LA);
	import_key(dev2, &LB);
	expect_stored(put(&LA, 1, 7), 7, 7);
	expect_outcome(put(&LA, 12, 3), SRV_SECLOG_RESEND);
	expect_outcome(put(&LA, 1, 3), SRV_SECLOG_DUPLICATE);
	assert_int_equal(srv_seclog_status(db, NULL, out), MM_OK);
	fclose(out);
	mm_hex_encode(h, LA.id, MM_SECLOG_ID_LEN);
	assert_non_null(strstr(text, "device_id\tlog_id\trecords\tnext_seq\t"
	    "last_batch\tgaps\tduplicates\tresends\tlast_error\n"));
	assert_non_null(strstr(text, h));
	assert_non_null(strstr(text, "\t7\t8\t"));
	assert_non_null(strstr(text, "Z\t0\t3\t1\t\n"));
	/* a device without any batch yet */
	assert_non_null(strstr(text, "\t0\t1\t-\t0\t0\t0\t\n"));
	free(text);
}

/* ---- the ingest handler ---- */

static void
test_handler(void **state)
{
	static struct srv s;
	uint8_t buf[MM_LOGMSG_RAW_MAX];
	char topic[MM_TOPIC_MAX], *text = NULL;
	struct mm_logmsg_batch b;
	size_t len;

	(void)state;
	memset(&s, 0, sizeof(s));
	srv_conf_defaults(&s.conf, test_db_dir);
	s.db = db;
	assert_int_equal(srv_registry_new(&s.reg), MM_OK);
	assert_int_equal(srv_registry_load(s.reg, db), MM_OK);
	assert_int_equal(mm_topic_build(topic, sizeof(topic), MM_DIR_UP, dev,
	    "log"), MM_OK);
	import_key(dev, &LA);
	batch(&LA, 1, 10, &b, buf);
	assert_int_equal(mm_logmsg_encode(&b, &text, &len), MM_OK);
	srv_ingest_message(&s, topic, text, len);
	assert_int_equal(s.stats.log_batches, 1);
	assert_int_equal(s.stats.log_records, 10);
	srv_ingest_message(&s, topic, text, len);
	assert_int_equal(s.stats.log_batches, 1);
	assert_int_equal(s.stats.log_duplicates, 10);
	mm_free(text);
	/* a gap, a resend */
	batch(&LA, 15, 3, &b, buf);
	assert_int_equal(mm_logmsg_encode(&b, &text, &len), MM_OK);
	srv_ingest_message(&s, topic, text, len);
	assert_int_equal(s.stats.log_resends, 1);
	mm_free(text);
	b.lost_from = 11;
	assert_int_equal(mm_logmsg_encode(&b, &text, &len), MM_OK);
	srv_ingest_message(&s, topic, text, len);
	assert_int_equal(s.stats.log_gaps, 1);
	assert_int_equal(s.stats.log_records, 13);
	mm_free(text);
	/* refusals: tampered, malformed inside, malformed envelope */
	batch(&LA, 18, 3, &b, buf);
	buf[LA.r[17].len - 1] ^= 1;
	assert_int_equal(mm_logmsg_encode(&b, &text, &len), MM_OK);
	srv_ingest_message(&s, topic, text, len);
	assert_int_equal(s.stats.log_refused, 1);
	assert_int_equal(s.stats.refused_malformed, 0);
	mm_free(text);
	b.n = 2;
	assert_int_equal(mm_logmsg_encode(&b, &text, &len), MM_OK);
	srv_ingest_message(&s, topic, text, len);
	assert_int_equal(s.stats.log_refused, 2);
	assert_int_equal(s.stats.refused_malformed, 1);
	mm_free(text);
	srv_ingest_message(&s, topic, "{\"v\":1,\"type\":\"log\"}", 20);
	assert_int_equal(s.stats.log_refused, 3);
	assert_int_equal(s.stats.refused_malformed, 2);
	assert_int_equal(s.stats.log_acks, 0);	/* no broker here */
	assert_int_equal(rows(dev), 13);
	srv_registry_free(s.reg);
}

static int
group_setup(void **state)
{
	(void)state;
	if (mm_crypto_init() != 0)
		return -1;
	mm_log_set_level(MM_LOG_ERR);
	snprintf(logs_dir, sizeof(logs_dir), "/tmp/mm_test_srvsl.XXXXXX");
	if (mkdtemp(logs_dir) == NULL)
		return -1;
	memset(LA.id, 0xa1, sizeof(LA.id));
	memset(LA.root, 0xa2, sizeof(LA.root));
	memset(LB.id, 0xb1, sizeof(LB.id));
	memset(LB.root, 0xb2, sizeof(LB.root));
	memset(LC.id, 0xa1, sizeof(LC.id));
	memset(LC.root, 0xc2, sizeof(LC.root));
	make_log(&LA, "a", 60);
	make_log(&LB, "b", 30);
	make_log(&LC, "c", 30);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return nftw(logs_dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_in_order),
		T(test_duplicate),
		T(test_rewritten),
		T(test_tampered),
		T(test_structure),
		T(test_spliced),
		T(test_no_key),
		T(test_gap_resend),
		T(test_gap_declared),
		T(test_gap_epoch_back),
		T(test_log_alerts),
		T(test_restart),
		T(test_mutation_campaign),
		T(test_key_import),
		T(test_show),
		T(test_verify_store_damage),
		T(test_status),
		T(test_handler),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
