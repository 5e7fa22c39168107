/* Unit tests for what forwarding the sealed log needs from libmamori
 * (decision 0009): the batch reader (src/device/mm_seclog_fwd.c), the
 * verifier's saved state, retention with LOSS records, and the type
 * names.  Real logs in a temporary directory, written by the writer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_seclog.h"
#include "proto/mm_logmsg.h"

#include "test_files.h"

#define HDR MM_SECLOG_SEG_HDR_LEN
#define MAXREC 8192

static char base[64];
static int ndirs;

/* Every record of a log, in order, as the segment files hold it. */
struct rec {
	uint64_t seq;
	uint64_t seg;		/* its segment's first seq */
	uint32_t epoch;
	uint16_t type;
	size_t len;
	uint8_t raw[MM_SECLOG_RECORD_MAX + 4];
	uint8_t tag[MM_SECLOG_TAG_LEN];
	uint8_t prev[MM_SECLOG_TAG_LEN];	/* the tag before it */
};

struct idx {
	int n;
	struct rec *r;		/* r[i].seq == first_seq + i */
};

static void
index_log(const char *dir, struct idx *x)
{
	struct mm_seclog_seghdr h;
	struct mm_seclog_record rec;
	char path[512];
	uint64_t *seqs = NULL;
	uint8_t *data, prev[MM_SECLOG_TAG_LEN];
	size_t n = 0, i, len, off, used;

	x->n = 0;
	if (x->r == NULL)
		x->r = calloc(MAXREC, sizeof(*x->r));
	assert_non_null(x->r);
	assert_int_equal(mm_seclog_segment_list(dir, &seqs, &n), MM_OK);
	for (i = 0; i < n; i++) {
		assert_int_equal(mm_seclog_segment_path(path, sizeof(path), dir,
		    seqs[i]), MM_OK);
		data = slurp(path, &len);
		assert_int_equal(mm_seclog_seghdr_decode(data, len, &h), MM_OK);
		memcpy(prev, h.prev_tag, sizeof(prev));
		for (off = HDR; off < len; off += used) {
			struct rec *r = &x->r[x->n];

			assert_int_equal(mm_seclog_decode(data + off, len - off,
			    &rec, &used), MM_OK);
			assert_true(x->n < MAXREC);
			r->seq = rec.seq;
			r->seg = seqs[i];
			r->epoch = rec.epoch;
			r->type = rec.type;
			r->len = used;
			memcpy(r->raw, data + off, used);
			memcpy(r->tag, rec.tag, sizeof(r->tag));
			memcpy(r->prev, prev, sizeof(prev));
			memcpy(prev, rec.tag, sizeof(prev));
			if (x->n > 0)
				assert_int_equal(r->seq, x->r[x->n - 1].seq + 1);
			x->n++;
		}
		free(data);
	}
	free(seqs);
}

static const struct rec *
find(const struct idx *x, uint64_t seq)
{
	if (x->n == 0 || seq < x->r[0].seq || seq > x->r[x->n - 1].seq)
		return NULL;
	return &x->r[seq - x->r[0].seq];
}

static void
add(struct mm_seclog *l, int i)
{
	char p[96];
	struct mm_seclog_event ev = { MM_SLT_COMM, 6, "net", p, 0 };

	/* payloads of varying length: batch boundaries fall anywhere */
	ev.payload_len = (size_t)snprintf(p, sizeof(p), "{\"i\":%d,\"pad\":"
	    "\"%.*s\"}", i, i % 40, "........................................");
	assert_int_equal(mm_seclog_append(l, &ev, NULL), MM_OK);
}

/* A new log in a fresh directory, left open for writing. */
static struct mm_seclog *
open_log(char *dir, size_t dirsz, uint8_t id[16], uint8_t root[32],
    uint32_t epoch_records, size_t segment_bytes)
{
	struct mm_seclog_conf c;
	struct mm_seclog *l;
	size_t cut;

	snprintf(dir, dirsz, "%s/l%d", base, ndirs++);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(mm_seclog_create(dir, id, root), MM_OK);
	mm_seclog_defaults(&c);
	c.dir = dir;
	c.epoch_records = epoch_records;
	c.segment_bytes = segment_bytes;
	c.group_records = 0;
	assert_int_equal(mm_seclog_open(&c, &l, &cut), MM_OK);
	return l;
}

static uint64_t
durable(struct mm_seclog *l)
{
	uint64_t last, dur;
	uint32_t epoch;

	assert_int_equal(mm_seclog_sync(l, &dur), MM_OK);
	mm_seclog_position(l, &last, &dur, &epoch);
	assert_int_equal(last, dur);
	return dur;
}

/* ---- the reader ---- */

/* Batch after batch from 1 gives back every record, byte for byte, each
 * batch in one segment with the right previous tag, and the chain of
 * batches verifies through saved and resumed verifier states. */
static void
read_all(size_t max)
{
	char dir[128];
	uint8_t id[16], root[32], *buf;
	struct mm_seclog *l;
	struct mm_seclog_reader *rd;
	struct mm_seclog_batch b;
	struct mm_seclog_vstate st;
	struct mm_seclog_verifier *v;
	struct idx x = { 0, NULL };
	uint64_t from = 1, upto;
	size_t off, used;
	unsigned batches = 0;
	int i;

	l = open_log(dir, sizeof(dir), id, root, 7, 2048);
	for (i = 0; i < 300; i++)
		add(l, i);
	upto = durable(l);
	index_log(dir, &x);
	assert_int_equal(x.n, upto);
	assert_true(x.r[x.n - 1].seg > 1);	/* several segments */
	buf = malloc(max);
	assert_non_null(buf);
	assert_int_equal(mm_seclog_reader_new(dir, &rd), MM_OK);
	mm_seclog_vstate_init(&st);
	while (from <= upto) {
		const struct rec *r0 = find(&x, from);

		assert_int_equal(mm_seclog_reader_batch(rd, from, upto, buf, max,
		    &b), MM_OK);
		batches++;
		assert_int_equal(b.first, from);
		assert_true(b.n >= 1 && b.len <= max);
		assert_memory_equal(b.prev, r0->prev, MM_SECLOG_TAG_LEN);
		assert_memory_equal(b.prev, st.prev, MM_SECLOG_TAG_LEN);
		assert_int_equal(mm_seclog_verifier_resume(id, root, &st, &v),
		    MM_OK);
		for (off = 0, i = 0; i < (int)b.n; i++, off += used) {
			const struct rec *r = find(&x, from + (uint64_t)i);
			struct mm_seclog_record rec;

			assert_non_null(r);
			assert_int_equal(r->seg, r0->seg);	/* one segment */
			assert_int_equal(mm_seclog_decode(buf + off, b.len - off,
			    &rec, &used), MM_OK);
			assert_int_equal(used, r->len);
			assert_memory_equal(buf + off, r->raw, used);
			assert_int_equal(mm_seclog_verify_record(v, buf + off,
			    used), MM_OK);
		}
		assert_int_equal(off, b.len);
		assert_int_equal(mm_seclog_verifier_state(v, &st), MM_OK);
		mm_seclog_verifier_free(v);
		from += b.n;
		/* a batch stops at its segment's end or at max */
		if (from <= upto && find(&x, from)->seg == r0->seg)
			assert_true(b.len + find(&x, from)->len > max);
	}
	assert_int_equal(st.next_seq, upto + 1);
	assert_true(batches > 1);
	assert_int_equal(mm_seclog_reader_batch(rd, from, upto, buf, max, &b),
	    MM_ERR_NOT_FOUND);
	mm_seclog_reader_free(rd);
	free(buf);
	free(x.r);
	assert_int_equal(mm_seclog_close(l), MM_OK);
}

static void
test_reader_all_full_batches(void **state)
{
	(void)state;
	read_all(MM_LOGMSG_RAW_MAX);
}

static void
test_reader_all_small_batches(void **state)
{
	(void)state;
	read_all(400);
}

/* Any start, limits, and what the reader refuses. */
static void
test_reader_random_access_and_limits(void **state)
{
	char dir[128];
	uint8_t id[16], root[32], buf[MM_LOGMSG_RAW_MAX];
	struct mm_seclog *l;
	struct mm_seclog_reader *rd;
	struct mm_seclog_batch b;
	struct idx x = { 0, NULL };
	uint64_t upto, k;
	int i;

	(void)state;
	l = open_log(dir, sizeof(dir), id, root, 5, 1024);
	for (i = 0; i < 120; i++)
		add(l, i);
	upto = durable(l);
	index_log(dir, &x);
	assert_int_equal(mm_seclog_reader_new(dir, &rd), MM_OK);
	srand(7);
	for (i = 0; i < 200; i++) {
		k = 1 + (uint64_t)rand() % upto;
		assert_int_equal(mm_seclog_reader_batch(rd, k, upto, buf,
		    sizeof(buf), &b), MM_OK);
		assert_int_equal(b.first, k);
		assert_memory_equal(b.prev, find(&x, k)->prev, MM_SECLOG_TAG_LEN);
		assert_memory_equal(buf, find(&x, k)->raw, find(&x, k)->len);
	}
	/* never beyond upto */
	assert_int_equal(mm_seclog_reader_batch(rd, 10, 12, buf, sizeof(buf),
	    &b), MM_OK);
	assert_true(b.first == 10 && b.n <= 3);
	assert_int_equal(mm_seclog_reader_batch(rd, 13, 12, buf, sizeof(buf),
	    &b), MM_ERR_NOT_FOUND);
	/* not written yet */
	assert_int_equal(mm_seclog_reader_batch(rd, upto + 1, upto + 50, buf,
	    sizeof(buf), &b), MM_ERR_NOT_FOUND);
	/* a buffer too small for one record */
	assert_int_equal(mm_seclog_reader_batch(rd, 1, upto, buf, 20, &b),
	    MM_ERR_NO_SPACE);
	assert_int_equal(mm_seclog_reader_batch(rd, 0, upto, buf, sizeof(buf),
	    &b), MM_ERR_INVALID_ARG);
	/* records written after a batch are found by the next one */
	assert_int_equal(mm_seclog_reader_batch(rd, upto, upto, buf,
	    sizeof(buf), &b), MM_OK);
	assert_int_equal(b.n, 1);
	add(l, 1000);
	add(l, 1001);
	assert_int_equal(mm_seclog_reader_batch(rd, upto + 1, durable(l), buf,
	    sizeof(buf), &b), MM_OK);
	assert_int_equal(b.first, upto + 1);
	assert_int_equal(b.n, 2);
	mm_seclog_reader_free(rd);
	free(x.r);
	assert_int_equal(mm_seclog_close(l), MM_OK);
}

/* A segment file whose records are not the sequence it claims. */
static void
test_reader_refuses_damage(void **state)
{
	char dir[128], path[512];
	uint8_t id[16], root[32], buf[MM_LOGMSG_RAW_MAX], *data;
	struct mm_seclog *l;
	struct mm_seclog_reader *rd;
	struct mm_seclog_batch b;
	struct idx x = { 0, NULL };
	uint64_t upto;
	size_t len;
	FILE *f;
	int i;

	(void)state;
	l = open_log(dir, sizeof(dir), id, root, 50, 1 << 20);
	for (i = 0; i < 20; i++)
		add(l, i);
	upto = durable(l);
	assert_int_equal(mm_seclog_close(l), MM_OK);
	index_log(dir, &x);
	/* record 5's seq field says 9 */
	assert_int_equal(mm_seclog_segment_path(path, sizeof(path), dir, 1),
	    MM_OK);
	data = slurp(path, &len);
	{
		size_t off = HDR;

		for (i = 0; i < 4; i++)
			off += x.r[i].len;
		data[off + 4 + 1 + 7] = 9;
	}
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	free(data);
	assert_int_equal(mm_seclog_reader_new(dir, &rd), MM_OK);
	assert_int_equal(mm_seclog_reader_batch(rd, 1, upto, buf, sizeof(buf),
	    &b), MM_ERR_CORRUPT);
	assert_int_equal(mm_seclog_reader_batch(rd, 7, upto, buf, sizeof(buf),
	    &b), MM_ERR_CORRUPT);
	mm_seclog_reader_free(rd);
	free(x.r);
}

/* ---- the verifier's saved state ---- */

static void
test_vstate_resume_rules(void **state)
{
	char dir[128];
	uint8_t id[16], root[32], buf[MM_LOGMSG_RAW_MAX];
	struct mm_seclog *l;
	struct mm_seclog_reader *rd;
	struct mm_seclog_batch b;
	struct mm_seclog_vstate st, bad, at_seal;
	struct mm_seclog_verifier *v, *w;
	struct idx x = { 0, NULL };
	uint64_t upto;
	int i, have_seal = 0;

	(void)state;
	l = open_log(dir, sizeof(dir), id, root, 4, 1 << 20);
	for (i = 0; i < 30; i++)
		add(l, i);
	upto = durable(l);
	index_log(dir, &x);
	assert_int_equal(mm_seclog_reader_new(dir, &rd), MM_OK);
	assert_int_equal(mm_seclog_reader_batch(rd, 1, upto, buf, sizeof(buf),
	    &b), MM_OK);
	assert_int_equal(b.n, upto);

	/* states no verifier can be in */
	mm_seclog_vstate_init(&st);
	bad = st;
	bad.next_seq = 0;
	assert_int_equal(mm_seclog_verifier_resume(id, root, &bad, &v),
	    MM_ERR_INVALID_ARG);
	bad = st;
	bad.epoch = 3;
	assert_int_equal(mm_seclog_verifier_resume(id, root, &bad, &v),
	    MM_ERR_INVALID_ARG);
	bad = st;
	bad.next_seq = 5;
	bad.count = 5;
	assert_int_equal(mm_seclog_verifier_resume(id, root, &bad, &v),
	    MM_ERR_INVALID_ARG);
	bad = st;
	bad.sealed = 2;
	assert_int_equal(mm_seclog_verifier_resume(id, root, &bad, &v),
	    MM_ERR_INVALID_ARG);

	/* record by record, saving and resuming after each, equals one
	 * verifier over all; keep the state right after a SEAL */
	assert_int_equal(mm_seclog_verifier_resume(id, root, &st, &w), MM_OK);
	for (i = 0; i < x.n; i++) {
		assert_int_equal(mm_seclog_verifier_resume(id, root, &st, &v),
		    MM_OK);
		assert_int_equal(mm_seclog_verify_record(v, x.r[i].raw,
		    x.r[i].len), MM_OK);
		assert_int_equal(mm_seclog_verifier_state(v, &st), MM_OK);
		mm_seclog_verifier_free(v);
		assert_int_equal(mm_seclog_verify_record(w, x.r[i].raw,
		    x.r[i].len), MM_OK);
		if (x.r[i].type == MM_SLT_SEAL && !have_seal) {
			at_seal = st;
			have_seal = 1;
			assert_int_equal(at_seal.sealed, 1);
		}
	}
	{
		struct mm_seclog_vstate ws;

		assert_int_equal(mm_seclog_verifier_state(w, &ws), MM_OK);
		assert_memory_equal(&ws, &st, sizeof(st));
	}
	mm_seclog_verifier_free(w);
	assert_true(have_seal);

	/* after a SEAL: the next epoch's record goes, the sealed epoch's
	 * SEAL again (a replay) does not */
	{
		const struct rec *next = find(&x, at_seal.next_seq);
		const struct rec *seal = find(&x, at_seal.next_seq - 1);

		assert_int_equal(mm_seclog_verifier_resume(id, root, &at_seal,
		    &v), MM_OK);
		assert_int_equal(mm_seclog_verify_record(v, seal->raw, seal->len),
		    MM_ERR_REPLAY);
		assert_int_equal(mm_seclog_verifier_state(v, &bad),
		    MM_ERR_STATE);
		mm_seclog_verifier_free(v);
		assert_int_equal(mm_seclog_verifier_resume(id, root, &at_seal,
		    &v), MM_OK);
		assert_int_equal(next->epoch, at_seal.epoch + 1);
		assert_int_equal(mm_seclog_verify_record(v, next->raw, next->len),
		    MM_OK);
		mm_seclog_verifier_free(v);
	}
	/* a state with a wrong previous tag refuses the next record */
	bad = at_seal;
	bad.prev[0] ^= 1;
	assert_int_equal(mm_seclog_verifier_resume(id, root, &bad, &v), MM_OK);
	assert_int_equal(mm_seclog_verify_record(v, find(&x, bad.next_seq)->raw,
	    find(&x, bad.next_seq)->len), MM_ERR_SIGNATURE);
	mm_seclog_verifier_free(v);
	mm_seclog_reader_free(rd);
	free(x.r);
	assert_int_equal(mm_seclog_close(l), MM_OK);
}

/* ---- retention ---- */

static uint64_t
log_bytes(const char *dir)
{
	char path[512];
	uint64_t *seqs = NULL, total = 0;
	size_t n = 0, i, len;
	uint8_t *d;

	assert_int_equal(mm_seclog_segment_list(dir, &seqs, &n), MM_OK);
	for (i = 0; i < n; i++) {
		assert_int_equal(mm_seclog_segment_path(path, sizeof(path), dir,
		    seqs[i]), MM_OK);
		d = slurp(path, &len);
		free(d);
		total += len;
	}
	free(seqs);
	return total;
}

/* Acknowledged segments go silently; unacknowledged ones only with a
 * LOSS record naming them; the log still verifies; the reader then starts
 * at the first record left. */
static void
test_retention(void **state)
{
	char dir[128];
	uint8_t id[16], root[32], buf[MM_LOGMSG_RAW_MAX];
	struct mm_seclog *l;
	struct mm_seclog_retain_report rep;
	struct mm_seclog_report vr;
	struct mm_seclog_reader *rd;
	struct mm_seclog_batch b;
	struct mm_seclog_record rec;
	struct idx x = { 0, NULL };
	uint64_t upto, first_left, total0;
	size_t used;
	int i;

	(void)state;
	l = open_log(dir, sizeof(dir), id, root, 10, 2048);
	for (i = 0; i < 400; i++)
		add(l, i);
	upto = durable(l);
	total0 = log_bytes(dir);
	assert_true(total0 > 16384);

	/* under the bound: nothing happens */
	assert_int_equal(mm_seclog_retain(l, total0 + 1, 0, &rep), MM_OK);
	assert_int_equal(rep.segments, 0);
	assert_int_equal(rep.lost_from, 0);

	/* everything acknowledged: segments go, no LOSS */
	assert_int_equal(mm_seclog_retain(l, 16384, upto, &rep), MM_OK);
	assert_true(rep.segments > 0);
	assert_int_equal(rep.lost_from, 0);
	assert_int_equal(rep.loss_seq, 0);
	assert_true(log_bytes(dir) <= 16384);
	assert_int_equal(rep.total, log_bytes(dir));
	mm_seclog_position(l, &first_left, NULL, NULL);
	assert_int_equal(first_left, upto);	/* nothing appended */
	index_log(dir, &x);
	first_left = x.r[0].seq;
	assert_true(first_left > 1);
	/* strict: the start is missing; retained: the rest verifies */
	assert_int_equal(mm_seclog_verify_dir(dir, root, &vr), MM_ERR_CORRUPT);
	assert_int_equal(vr.removed, first_left - 1);
	assert_int_equal(mm_seclog_verify_dir_retained(dir, root, &vr), MM_OK);
	assert_int_equal(vr.removed, first_left - 1);

	/* more records, nothing more acknowledged, a tighter bound: the
	 * unacknowledged oldest segments go with a LOSS record */
	for (i = 0; i < 200; i++)
		add(l, i);
	upto = durable(l);
	assert_int_equal(mm_seclog_retain(l, 8192, upto - 300, &rep), MM_OK);
	assert_true(rep.segments > 0);
	assert_int_equal(rep.lost_from, upto - 300 + 1);
	assert_true(rep.lost_to >= rep.lost_from && rep.lost_to < upto);
	assert_int_equal(rep.loss_seq, upto + 1);
	index_log(dir, &x);
	assert_int_equal(x.r[0].seq, rep.lost_to + 1);
	{
		const struct rec *loss = find(&x, rep.loss_seq);
		char want[160];

		assert_non_null(loss);
		assert_int_equal(loss->type, MM_SLT_LOSS);
		assert_int_equal(mm_seclog_decode(loss->raw, loss->len, &rec,
		    &used), MM_OK);
		snprintf(want, sizeof(want), "{\"from\":%llu,\"to\":%llu,"
		    "\"count\":%llu,\"reason\":\"retention\"}",
		    (unsigned long long)rep.lost_from,
		    (unsigned long long)rep.lost_to,
		    (unsigned long long)(rep.lost_to - rep.lost_from + 1));
		assert_int_equal(rec.payload_len, strlen(want));
		assert_memory_equal(rec.payload, want, strlen(want));
		assert_int_equal(rec.severity, 3);
	}
	assert_int_equal(mm_seclog_verify_dir_retained(dir, root, &vr), MM_OK);
	assert_int_equal(vr.removed, rep.lost_to);

	/* the reader, asked from the first unacknowledged record, gives the
	 * first one left: the caller sees records are gone */
	assert_int_equal(mm_seclog_reader_new(dir, &rd), MM_OK);
	assert_int_equal(mm_seclog_reader_batch(rd, rep.lost_from,
	    durable(l), buf, sizeof(buf), &b), MM_OK);
	assert_int_equal(b.first, rep.lost_to + 1);
	assert_memory_equal(b.prev, x.r[0].prev, MM_SECLOG_TAG_LEN);
	mm_seclog_reader_free(rd);

	/* the open segment is never removed, whatever the bound */
	assert_int_equal(mm_seclog_retain(l, 1, 0, &rep), MM_OK);
	index_log(dir, &x);
	assert_true(x.n > 0);
	assert_int_equal(mm_seclog_close(l), MM_OK);
	assert_int_equal(mm_seclog_verify_dir_retained(dir, root, &vr), MM_OK);
	assert_int_equal(mm_seclog_retain(NULL, 1, 0, &rep), MM_ERR_INVALID_ARG);
	free(x.r);
}

/* Someone deletes the oldest segment by hand: the device's own check
 * cannot tell retention from deletion (removed > 0), which is why the
 * fleet keeps its copy; but a segment cut out of the middle is a gap. */
static void
test_retention_middle_gap_detected(void **state)
{
	char dir[128], path[512];
	uint8_t id[16], root[32];
	struct mm_seclog *l;
	struct mm_seclog_report vr;
	uint64_t *seqs = NULL;
	size_t n = 0;
	int i;

	(void)state;
	l = open_log(dir, sizeof(dir), id, root, 10, 2048);
	for (i = 0; i < 300; i++)
		add(l, i);
	(void)durable(l);
	assert_int_equal(mm_seclog_close(l), MM_OK);
	assert_int_equal(mm_seclog_segment_list(dir, &seqs, &n), MM_OK);
	assert_true(n >= 4);
	assert_int_equal(mm_seclog_segment_path(path, sizeof(path), dir,
	    seqs[2]), MM_OK);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mm_seclog_verify_dir(dir, root, &vr), MM_ERR_CORRUPT);
	assert_true(strstr(vr.what, "missing") != NULL);
	free(seqs);
}

static void
test_type_names(void **state)
{
	uint16_t t;

	(void)state;
	assert_string_equal(mm_seclog_type_name(MM_SLT_ATTACK), "attack");
	assert_string_equal(mm_seclog_type_name(MM_SLT_LOSS), "loss");
	assert_null(mm_seclog_type_name(0x7777));
	assert_int_equal(mm_seclog_type_parse("log_access", 0, &t), MM_OK);
	assert_int_equal(t, MM_SLT_LOG_ACCESS);
	/* the log's own types cannot be appended by callers */
	assert_int_equal(mm_seclog_type_parse("seal", 1, &t), MM_ERR_INVALID_ARG);
	assert_int_equal(mm_seclog_type_parse("update", 1, &t), MM_OK);
	assert_int_equal(t, MM_SLT_UPDATE);
	assert_int_equal(mm_seclog_type_parse("nope", 0, &t), MM_ERR_INVALID_ARG);
}

static int
group_setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/mm-slfwd-XXXXXX");
	return mkdtemp(base) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_all_full_batches),
		cmocka_unit_test(test_reader_all_small_batches),
		cmocka_unit_test(test_reader_random_access_and_limits),
		cmocka_unit_test(test_reader_refuses_damage),
		cmocka_unit_test(test_vstate_resume_rules),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_retention_middle_gap_detected),
		cmocka_unit_test(test_type_names),
	};

	if (mm_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
