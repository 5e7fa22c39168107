/* Unit tests for the sealed security log (src/device/mm_seclog*.c,
 * decision 0008): writing, group commit, epochs by count and by time,
 * segments, recovery after a crash, and every kind of tampering the
 * verifier must catch, done on real files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_time.h"
#include "device/mm_seclog.h"
#include "device/mm_seclog_key.h"

#include "test_files.h"

#define HDR MM_SECLOG_SEG_HDR_LEN
#define MAXREC 4096
#define MAXSEG 256

static char base[64];
static int ndirs;

/* ---- helpers ---- */

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static void
newdir(char *out, size_t sz, const char *tag)
{
	snprintf(out, sz, "%s/%s%d", base, tag, ndirs++);
}

static void
spit(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

struct segs {
	int n;
	char path[MAXSEG][512];
};

static int
seg_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n == 24 && strncmp(d->d_name, "seg-", 4) == 0 &&
	    strcmp(d->d_name + 20, ".msl") == 0;
}

static void
list_segs(const char *dir, struct segs *s)
{
	struct dirent **names;
	char logdir[256];
	int i, n;

	snprintf(logdir, sizeof(logdir), "%s/log", dir);
	n = scandir(logdir, &names, seg_filter, alphasort);
	assert_true(n >= 0 && n <= MAXSEG);
	s->n = n;
	for (i = 0; i < n; i++) {
		snprintf(s->path[i], sizeof(s->path[i]), "%s/%s", logdir,
		    names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

/* Where every record of a log is. */
struct rec {
	int seg;
	size_t off, len;
	uint64_t seq;
	uint32_t epoch;
	uint16_t type;
	uint8_t tag[MM_SECLOG_TAG_LEN];
};

struct idx {
	struct segs s;
	int n;
	struct rec r[MAXREC];
};

static void
index_log(const char *dir, struct idx *x)
{
	struct mm_seclog_record rec;
	uint8_t *data;
	size_t len, off, used;
	int i;

	list_segs(dir, &x->s);
	x->n = 0;
	for (i = 0; i < x->s.n; i++) {
		data = slurp(x->s.path[i], &len);
		assert_true(len >= HDR);
		for (off = HDR; off < len; off += used) {
			assert_int_equal(mm_seclog_decode(data + off, len - off,
			    &rec, &used), MM_OK);
			assert_true(x->n < MAXREC);
			x->r[x->n].seg = i;
			x->r[x->n].off = off;
			x->r[x->n].len = used;
			x->r[x->n].seq = rec.seq;
			x->r[x->n].epoch = rec.epoch;
			x->r[x->n].type = rec.type;
			memcpy(x->r[x->n].tag, rec.tag, sizeof(rec.tag));
			x->n++;
		}
		free(data);
	}
}

static void
conf_for(struct mm_seclog_conf *c, const char *dir)
{
	mm_seclog_defaults(c);
	c->dir = dir;
}

static void
add(struct mm_seclog *l, int i)
{
	char p[64];
	struct mm_seclog_event ev = { MM_SLT_AUTH, 5, "auth", p, 0 };
	uint64_t seq, last;

	ev.payload_len = (size_t)snprintf(p, sizeof(p), "{\"login\":%d}", i);
	assert_int_equal(mm_seclog_append(l, &ev, &seq), MM_OK);
	mm_seclog_position(l, &last, NULL, NULL);
	assert_int_equal(seq, last);
}

/* A closed log of two sessions, n events in all. */
static void
make_log(const char *dir, uint8_t id[16], uint8_t root[32], int n,
    uint32_t epoch_records, size_t segment_bytes)
{
	struct mm_seclog_conf c;
	struct mm_seclog *l;
	size_t cut;
	int i;

	assert_int_equal(mm_seclog_create(dir, id, root), MM_OK);
	conf_for(&c, dir);
	c.epoch_records = epoch_records;
	c.segment_bytes = segment_bytes;
	c.group_records = 5;
	assert_int_equal(mm_seclog_open(&c, &l, &cut), MM_OK);
	assert_int_equal(cut, 0);
	for (i = 0; i < n / 2; i++)
		add(l, i);
	assert_int_equal(mm_seclog_close(l), MM_OK);
	assert_int_equal(mm_seclog_open(&c, &l, &cut), MM_OK);
	assert_int_equal(cut, 0);
	for (; i < n; i++)
		add(l, i);
	assert_int_equal(mm_seclog_close(l), MM_OK);
}

static void
expect_ok(const char *dir, const uint8_t root[32], struct mm_seclog_report *rep)
{
	int r = mm_seclog_verify_dir(dir, root, rep);

	if (r != MM_OK)
		fail_msg("%s: %s (seq %llu): %s", dir, mm_strerror(r),
		    (unsigned long long)rep->error_seq, rep->what);
	assert_int_equal(rep->error, 0);
}

static void
expect_bad(const char *dir, const uint8_t root[32], int err, uint64_t seq,
    const char *what)
{
	struct mm_seclog_report rep;
	int r = mm_seclog_verify_dir(dir, root, &rep);

	if (r == MM_OK)
		fail_msg("%s: not detected", what);
	assert_int_equal(r, rep.error);
	assert_true(rep.what[0] != '\0');
	if (err != 0 && r != err)
		fail_msg("%s: %s, expected %s (%s)", what, mm_strerror(r),
		    mm_strerror(err), rep.what);
	if (seq != 0 && rep.error_seq != seq)
		fail_msg("%s: found at %llu, expected %llu (%s)", what,
		    (unsigned long long)rep.error_seq, (unsigned long long)seq,
		    rep.what);
}

/* Replaces bytes [off, off+cut) of a file with ins[0..inslen). */
static void
splice_file(const char *path, size_t off, size_t cut, const uint8_t *ins,
    size_t inslen)
{
	uint8_t *d, *o;
	size_t len;

	d = slurp(path, &len);
	assert_true(off + cut <= len);
	o = malloc(len - cut + inslen + 1);
	assert_non_null(o);
	memcpy(o, d, off);
	if (inslen > 0)
		memcpy(o + off, ins, inslen);
	memcpy(o + off + inslen, d + off + cut, len - off - cut);
	spit(path, o, len - cut + inslen);
	free(o);
	free(d);
}

static uint8_t *
rec_bytes(const struct idx *x, int i)
{
	uint8_t *d, *p;
	size_t len;

	d = slurp(x->s.path[x->r[i].seg], &len);
	p = malloc(x->r[i].len);
	assert_non_null(p);
	memcpy(p, d + x->r[i].off, x->r[i].len);
	free(d);
	return p;
}

/* Tag as decision 0008 defines it, computed here independently. */
static void
ref_tag(const uint8_t key[32], const uint8_t id[16], const uint8_t prev[32],
    const uint8_t *body, size_t len, uint8_t out[32])
{
	uint8_t *m = malloc(5 + 16 + 32 + len);
	unsigned int ol = 0;

	assert_non_null(m);
	memcpy(m, "MMSL1", 5);
	memcpy(m + 5, id, 16);
	memcpy(m + 21, prev, 32);
	memcpy(m + 53, body, len);
	assert_non_null(HMAC(EVP_sha256(), key, 32, m, 53 + len, out, &ol));
	free(m);
}

static void
put_be(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* A record with any field values; the tag under key_epoch's key. */
static size_t
forge(uint8_t *out, const uint8_t id[16], const uint8_t root[32],
    uint8_t prev[32], uint64_t seq, uint32_t epoch, uint32_t key_epoch,
    uint16_t type, const char *payload)
{
	uint8_t key[32];
	size_t plen = strlen(payload), n;

	n = 4 + 48 + 1 + 4 + 2 + plen + 32;
	memset(out, 0, n);
	put_be(out, n - 4, 4);
	out[4] = 1;
	put_be(out + 5, seq, 8);
	put_be(out + 13, epoch, 4);
	put_be(out + 17, 1800000000000ULL, 8);
	put_be(out + 25, 1234, 8);
	put_be(out + 49, type, 2);
	out[51] = 6;
	out[52] = 4;
	memcpy(out + 53, "test", 4);
	put_be(out + 57, plen, 2);
	memcpy(out + 59, payload, plen);
	assert_int_equal(mm_slk_derive(root, key_epoch, key), MM_OK);
	ref_tag(key, id, prev, out + 4, n - 4 - 32, out + n - 32);
	memcpy(prev, out + n - 32, 32);
	return n;
}

/* ---- fixtures ---- */

static char logA[128];
static uint8_t idA[16], rootA[32];

static int
group_setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/mm-seclog-XXXXXX");
	if (mkdtemp(base) == NULL)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	return system(cmd) == 0 ? 0 : -1;
}

/* The log most tampering tests work on: several epochs and segments. */
static void
need_logA(void)
{
	if (logA[0] != '\0')
		return;
	newdir(logA, sizeof(logA), "A");
	make_log(logA, idA, rootA, 60, 4, 700);
}

static void
fresh(char *out, size_t sz)
{
	need_logA();
	newdir(out, sz, "w");
	sh("cp -a %s %s", logA, out);
}

/* ---- writing ---- */

static void
test_append_reopen_verify(void **state)
{
	struct mm_seclog_conf c;
	struct mm_seclog_report rep;
	struct mm_seclog_record rec;
	struct mm_seclog *l, *l2;
	uint8_t id[16], root[32], boot0[16] = { 0 }, *d;
	uint64_t last, durable;
	uint32_t epoch;
	char dir[128];
	size_t cut, len, off, used;
	int i, n = 0, seals = 0;
	int64_t now = (int64_t)time(NULL) * 1000;

	(void)state;
	newdir(dir, sizeof(dir), "basic");
	assert_int_equal(mm_seclog_create(dir, id, root), MM_OK);
	assert_int_equal(mm_seclog_create(dir, id, root), MM_ERR_EXISTS);
	conf_for(&c, dir);
	assert_int_equal(mm_seclog_open(&c, &l, &cut), MM_OK);
	assert_int_equal(cut, 0);
	/* one writer */
	assert_int_equal(mm_seclog_open(&c, &l2, &cut), MM_ERR_STATE);
	mm_seclog_position(l, &last, &durable, &epoch);
	assert_int_equal(last, 1);		/* LOG_START, synced */
	assert_int_equal(durable, 1);
	assert_int_equal(epoch, 0);
	for (i = 0; i < 511; i++)
		add(l, i);
	mm_seclog_position(l, &last, &durable, NULL);
	assert_int_equal(last, 512);
	assert_int_equal(durable, 1);		/* buffered */
	add(l, 511);				/* the 512th waiting: group commit */
	mm_seclog_position(l, &last, &durable, NULL);
	assert_int_equal(durable, 513);
	add(l, 512);
	assert_int_equal(mm_seclog_sync(l, &durable), MM_OK);
	assert_int_equal(durable, 514);
	assert_int_equal(mm_seclog_close(l), MM_OK);

	/* reopen: the chain goes on */
	assert_int_equal(mm_seclog_open(&c, &l, &cut), MM_OK);
	assert_int_equal(cut, 0);
	mm_seclog_position(l, &last, NULL, &epoch);
	assert_int_equal(last, 517);		/* LOG_STOP, SEAL, LOG_START */
	assert_int_equal(epoch, 1);
	add(l, 1000);
	assert_int_equal(mm_seclog_close(l), MM_OK);

	expect_ok(dir, root, &rep);
	assert_int_equal(rep.records, 520);
	assert_int_equal(rep.first_seq, 1);
	assert_int_equal(rep.last_seq, 520);
	assert_int_equal(rep.first_epoch, 0);
	assert_int_equal(rep.last_epoch, 1);
	assert_int_equal(rep.seals, 2);
	assert_int_equal(rep.complete, 1);

	/* what the records hold */
	{
		char p[256];

		snprintf(p, sizeof(p), "%s/log/seg-0000000000000001.msl", dir);
		d = slurp(p, &len);
	}
	for (off = HDR; off < len; off += used) {
		assert_int_equal(mm_seclog_decode(d + off, len - off, &rec, &used),
		    MM_OK);
		n++;
		assert_int_equal(rec.seq, (uint64_t)n);
		assert_true((int64_t)rec.wall_ms > now - 60000 &&
		    (int64_t)rec.wall_ms < now + 60000);
		assert_true(rec.mono_ms > 0);
		if (access("/proc/sys/kernel/random/boot_id", R_OK) == 0)
			assert_memory_not_equal(rec.boot_id, boot0, 16);
		if (n == 1)
			assert_int_equal(rec.type, MM_SLT_LOG_START);
		if (n == 2) {
			assert_int_equal(rec.type, MM_SLT_AUTH);
			assert_int_equal(rec.severity, 5);
			assert_int_equal(rec.source_len, 4);
			assert_memory_equal(rec.source, "auth", 4);
			assert_int_equal(rec.payload_len, strlen("{\"login\":0}"));
			assert_memory_equal(rec.payload, "{\"login\":0}",
			    rec.payload_len);
		}
		if (rec.type == MM_SLT_SEAL && seals++ == 0) {
			/* LOG_START, 513 events, LOG_STOP */
			assert_int_equal(rec.payload_len, 3);
			assert_memory_equal(rec.payload, "515", 3);
		} else if (rec.type == MM_SLT_SEAL) {
			assert_int_equal(rec.payload_len, 1);
			assert_memory_equal(rec.payload, "3", 1);
		}
	}
	free(d);
	assert_int_equal(n, 520);
	assert_int_equal(seals, 2);
}

static void
test_append_refused(void **state)
{
	struct mm_seclog_conf c;
	struct mm_seclog_report rep;
	struct mm_seclog *l;
	char dir[128], src[80], pl[MM_SECLOG_PAYLOAD_MAX + 1];
	uint8_t id[16], root[32];
	struct mm_seclog_event ev;
	uint64_t seq = 77;

	(void)state;
	newdir(dir, sizeof(dir), "refuse");
	assert_int_equal(mm_seclog_create(dir, id, root), MM_OK);
	conf_for(&c, dir);
	assert_int_equal(mm_seclog_open(&c, &l, NULL), MM_OK);
	memset(pl, 'x', sizeof(pl));
	memset(src, 's', sizeof(src));
	src[MM_SECLOG_SOURCE_MAX + 1] = '\0';

#define EV(t, s, so, p, n) do { ev.type = (t); ev.severity = (s); \
	ev.source = (so); ev.payload = (p); ev.payload_len = (n); } while (0)
	EV(MM_SLT_SEAL, 6, "x", "1", 1);
	assert_int_equal(mm_seclog_append(l, &ev, &seq), MM_ERR_INVALID_ARG);
	EV(0, 6, "x", "", 0);
	assert_int_equal(mm_seclog_append(l, &ev, &seq), MM_ERR_INVALID_ARG);
	EV((enum mm_seclog_type)999, 6, "x", "", 0);
	assert_int_equal(mm_seclog_append(l, &ev, &seq), MM_ERR_INVALID_ARG);
	EV(MM_SLT_AUTH, 8, "x", "", 0);
	assert_int_equal(mm_seclog_append(l, &ev, &seq), MM_ERR_INVALID_ARG);
	EV(MM_SLT_AUTH, 6, NULL, "", 0);
	assert_int_equal(mm_seclog_append(l, &ev, &seq), MM_ERR_INVALID_ARG);
	EV(MM_SLT_AUTH, 6, "", "", 0);
	assert_int_equal(mm_seclog_append(l, &ev, &seq), MM_ERR_INVALID_ARG);
	EV(MM_SLT_AUTH, 6, src, "", 0);
	assert_int_equal(mm_seclog_append(l, &ev, &seq), MM_ERR_TOO_LARGE);
	EV(MM_SLT_AUTH, 6, "x", pl, sizeof(pl));
	assert_int_equal(mm_seclog_append(l, &ev, &seq), MM_ERR_TOO_LARGE);
	EV(MM_SLT_AUTH, 6, "x", NULL, 3);
	assert_int_equal(mm_seclog_append(l, &ev, &seq), MM_ERR_INVALID_ARG);
	assert_int_equal(seq, 77);
	/* the limits themselves are fine, and so are the log's other types */
	src[MM_SECLOG_SOURCE_MAX] = '\0';
	EV(MM_SLT_TIME, 7, src, pl, MM_SECLOG_PAYLOAD_MAX);
	assert_int_equal(mm_seclog_append(l, &ev, &seq), MM_OK);
	assert_int_equal(seq, 2);
	EV(MM_SLT_LOSS, 0, "q", NULL, 0);
	assert_int_equal(mm_seclog_append(l, &ev, &seq), MM_OK);
	assert_int_equal(mm_seclog_close(l), MM_OK);
	expect_ok(dir, root, &rep);
	assert_int_equal(rep.records, 5);
#undef EV
}

static void
test_empty_epochs_by_time(void **state)
{
	struct mm_seclog_conf c;
	struct mm_seclog_report rep;
	struct mm_seclog *l;
	struct idx *x;
	uint8_t id[16], root[32];
	uint64_t last, durable;
	uint32_t epoch;
	char dir[128];
	int i, empty = 0;

	(void)state;
	newdir(dir, sizeof(dir), "time");
	assert_int_equal(mm_seclog_create(dir, id, root), MM_OK);
	conf_for(&c, dir);
	/* wide margins: slow machines and valgrind must not make it flaky */
	c.epoch_ms = 300;
	c.group_ms = 100;
	assert_int_equal(mm_seclog_open(&c, &l, NULL), MM_OK);
	add(l, 1);
	assert_int_equal(mm_seclog_tick(l), MM_OK);
	mm_seclog_position(l, &last, &durable, &epoch);
	assert_int_equal(durable, 1);		/* the group waits */
	mm_sleep_ms(110);
	assert_int_equal(mm_seclog_tick(l), MM_OK);
	mm_seclog_position(l, &last, &durable, &epoch);
	assert_int_equal(durable, 2);		/* group_ms passed */
	assert_int_equal(epoch, 0);
	/* nothing is logged, yet the epochs end */
	for (i = 0; i < 3; i++) {
		mm_sleep_ms(310);
		assert_int_equal(mm_seclog_tick(l), MM_OK);
		mm_seclog_position(l, &last, &durable, &epoch);
		assert_int_equal(epoch, (uint32_t)i + 1);
		assert_int_equal(durable, last);	/* the SEAL is durable */
	}
	add(l, 2);
	assert_int_equal(mm_seclog_close(l), MM_OK);
	expect_ok(dir, root, &rep);
	assert_int_equal(rep.seals, 4);
	assert_int_equal(rep.last_epoch, 3);
	assert_int_equal(rep.complete, 1);
	x = calloc(1, sizeof(*x));
	assert_non_null(x);
	index_log(dir, x);
	for (i = 1; i < x->n; i++)
		if (x->r[i].type == MM_SLT_SEAL && x->r[i - 1].type == MM_SLT_SEAL)
			empty++;
	assert_int_equal(empty, 2);		/* epochs 1 and 2 */
	free(x);
}

static void
test_many_epochs_and_segments(void **state)
{
	struct mm_seclog_conf c;
	struct mm_seclog_report rep;
	struct mm_seclog *l;
	struct idx *x;
	uint8_t id[16], root[32], *d;
	struct mm_seclog_seghdr h;
	char dir[128];
	size_t len;
	uint64_t durable;
	int i, j, seals = 0;

	(void)state;
	newdir(dir, sizeof(dir), "many");
	assert_int_equal(mm_seclog_create(dir, id, root), MM_OK);
	conf_for(&c, dir);
	c.epoch_records = 7;
	c.segment_bytes = 2000;
	c.group_records = 0;			/* only explicit syncs */
	for (j = 0; j < 3; j++) {
		assert_int_equal(mm_seclog_open(&c, &l, NULL), MM_OK);
		for (i = 0; i < 400; i++) {
			add(l, i);
			if (i % 37 == 0)
				assert_int_equal(mm_seclog_sync(l, &durable), MM_OK);
		}
		assert_int_equal(mm_seclog_close(l), MM_OK);
	}
	expect_ok(dir, root, &rep);
	x = calloc(1, sizeof(*x));
	assert_non_null(x);
	index_log(dir, x);
	assert_int_equal(rep.records, (uint64_t)x->n);
	assert_int_equal(rep.last_seq, (uint64_t)x->n);
	for (i = 0; i < x->n; i++)
		seals += x->r[i].type == MM_SLT_SEAL;
	assert_int_equal(rep.seals, (uint64_t)seals);
	assert_int_equal(rep.last_epoch, (uint32_t)seals - 1);
	assert_true(seals > 170);
	assert_true(x->s.n > 20);
	/* every segment starts an epoch and is no bigger than needed */
	for (i = 0; i < x->s.n; i++) {
		d = slurp(x->s.path[i], &len);
		assert_int_equal(mm_seclog_seghdr_decode(d, len, &h), MM_OK);
		assert_memory_equal(h.log_id, id, 16);
		if (i + 1 < x->s.n)
			assert_true(len >= c.segment_bytes &&
			    len < c.segment_bytes + 8 * 200);
		free(d);
	}
	for (i = 1; i < x->n; i++)
		if (x->r[i].seg != x->r[i - 1].seg) {
			assert_int_equal(x->r[i - 1].type, MM_SLT_SEAL);
			assert_int_equal(x->r[i].epoch, x->r[i - 1].epoch + 1);
		}
	free(x);
}

/* ---- verifying: tampering on real files ---- */

static void
test_untouched_verifies(void **state)
{
	struct mm_seclog_report rep;
	struct idx *x = calloc(1, sizeof(*x));

	(void)state;
	need_logA();
	assert_non_null(x);
	index_log(logA, x);
	expect_ok(logA, rootA, &rep);
	assert_int_equal(rep.records, (uint64_t)x->n);
	assert_int_equal(rep.complete, 1);
	assert_true(x->s.n >= 3);
	assert_true(rep.last_epoch >= 10);
	free(x);
}

static void
flip_all(const char *path, const char *dir, const uint8_t root[32])
{
	uint8_t *d;
	size_t len, i;
	char what[300];

	d = slurp(path, &len);
	for (i = 0; i < len; i++) {
		d[i] ^= 0x01;
		spit(path, d, len);
		snprintf(what, sizeof(what), "%s: bit flipped at %zu", path, i);
		expect_bad(dir, root, 0, 0, what);
		d[i] ^= 0x01;
	}
	spit(path, d, len);
	free(d);
}

static void
test_tamper_any_byte(void **state)
{
	struct mm_seclog_report rep;
	struct segs s;
	uint8_t id[16], root[32];
	char dir[128], p[256];
	int i;

	(void)state;
	/* a small log of a few epochs in three segments or more */
	newdir(dir, sizeof(dir), "flip");
	make_log(dir, id, root, 12, 3, 350);
	list_segs(dir, &s);
	assert_true(s.n >= 3);
	for (i = 0; i < s.n; i++)
		flip_all(s.path[i], dir, root);
	snprintf(p, sizeof(p), "%s/seclog.id", dir);
	flip_all(p, dir, root);
	snprintf(p, sizeof(p), "%s/seclog.key", dir);
	flip_all(p, dir, root);
	expect_ok(dir, root, &rep);
}

static void
test_tamper_delete_insert_reorder(void **state)
{
	struct idx *x = calloc(1, sizeof(*x));
	char dir[128];
	uint8_t *r1, *r2;
	int k;

	(void)state;
	assert_non_null(x);
	fresh(dir, sizeof(dir));
	index_log(dir, x);
	/* a record inside the second segment, not its first */
	for (k = 1; k < x->n && !(x->r[k].seg == 1 && x->r[k - 1].seg == 1); k++)
		;
	assert_true(k + 1 < x->n && x->r[k + 1].seg == 1);

	splice_file(x->s.path[1], x->r[k].off, x->r[k].len, NULL, 0);
	expect_bad(dir, rootA, MM_ERR_CORRUPT, x->r[k].seq, "deleted record");

	sh("rm -rf %s && cp -a %s %s", dir, logA, dir);
	r1 = rec_bytes(x, k);
	splice_file(x->s.path[1], x->r[k].off + x->r[k].len, 0, r1,
	    x->r[k].len);
	expect_bad(dir, rootA, MM_ERR_REPLAY, x->r[k].seq, "record repeated");

	sh("rm -rf %s && cp -a %s %s", dir, logA, dir);
	r2 = rec_bytes(x, k + 1);
	/* k+1 before k */
	splice_file(x->s.path[1], x->r[k].off, x->r[k].len + x->r[k + 1].len,
	    r2, x->r[k + 1].len);
	splice_file(x->s.path[1], x->r[k].off + x->r[k + 1].len, 0, r1,
	    x->r[k].len);
	expect_bad(dir, rootA, MM_ERR_CORRUPT, x->r[k].seq, "records swapped");

	/* a record of the log's first segment at the end of the last one */
	sh("rm -rf %s && cp -a %s %s", dir, logA, dir);
	free(r1);
	r1 = rec_bytes(x, 3);
	splice_file(x->s.path[x->r[x->n - 1].seg],
	    x->r[x->n - 1].off + x->r[x->n - 1].len, 0, r1, x->r[3].len);
	expect_bad(dir, rootA, MM_ERR_REPLAY, x->r[3].seq, "old record appended");
	free(r1);
	free(r2);
	free(x);
}

static void
test_tamper_truncate(void **state)
{
	struct idx *x = calloc(1, sizeof(*x));
	char dir[128];
	int k, last;

	(void)state;
	assert_non_null(x);
	fresh(dir, sizeof(dir));
	index_log(dir, x);
	last = x->s.n - 1;

	/* back to a record boundary inside an earlier, sealed epoch */
	for (k = x->n - 1; k >= 0 && x->r[k].seg == last &&
	    !(x->r[k].type != MM_SLT_SEAL &&
	    x->r[k].epoch < x->r[x->n - 1].epoch); k--)
		;
	if (k < 0 || x->r[k].seg != last) {
		/* the last segment holds one epoch: cut into the one before */
		for (k = x->n - 1; x->r[k].seg == last; k--)
			;
		k--;
		last = x->r[k].seg;
		sh("rm -f %s", x->s.path[x->s.n - 1]);
	}
	assert_int_equal(truncate(x->s.path[last],
	    (off_t)(x->r[k].off + x->r[k].len)), 0);
	expect_bad(dir, rootA, MM_ERR_CORRUPT, 0, "cut inside a sealed epoch");

	/* the whole last epoch (its SEAL included) gone */
	sh("rm -rf %s && cp -a %s %s", dir, logA, dir);
	for (k = x->n - 2; x->r[k].type != MM_SLT_SEAL; k--)
		;
	assert_int_equal(truncate(x->s.path[x->r[k].seg],
	    (off_t)(x->r[k].off + x->r[k].len)), 0);
	if (x->r[k].seg != x->s.n - 1)
		sh("rm -f %s", x->s.path[x->s.n - 1]);
	expect_bad(dir, rootA, MM_ERR_CORRUPT, 0, "last epoch removed");

	/* the last segment with records removed (an empty one after it is
	 * nothing: a crash before the rotation leaves the same) */
	sh("rm -rf %s && cp -a %s %s", dir, logA, dir);
	for (k = x->r[x->n - 1].seg; k < x->s.n; k++)
		sh("rm -f %s", x->s.path[k]);
	expect_bad(dir, rootA, MM_ERR_CORRUPT, 0, "last segment removed");

	/* a segment in the middle removed */
	sh("rm -rf %s && cp -a %s %s", dir, logA, dir);
	sh("rm -f %s", x->s.path[1]);
	expect_bad(dir, rootA, MM_ERR_CORRUPT, 0, "segment removed");

	/* a segment in the middle cut at a record boundary */
	sh("rm -rf %s && cp -a %s %s", dir, logA, dir);
	for (k = 0; x->r[k].seg != 1; k++)
		;
	assert_int_equal(truncate(x->s.path[1],
	    (off_t)(x->r[k + 1].off + x->r[k + 1].len)), 0);
	expect_bad(dir, rootA, MM_ERR_CORRUPT, 0, "segment cut");

	/* the first segment removed */
	sh("rm -rf %s && cp -a %s %s", dir, logA, dir);
	sh("rm -f %s", x->s.path[0]);
	expect_bad(dir, rootA, MM_ERR_CORRUPT, 1, "first segment removed");

	/* a torn record at the end is reported, not passed */
	sh("rm -rf %s && cp -a %s %s", dir, logA, dir);
	assert_int_equal(truncate(x->s.path[x->s.n - 1],
	    (off_t)(x->r[x->n - 1].off + 10)), 0);
	expect_bad(dir, rootA, 0, 0, "torn record");
	free(x);
}

static void
test_tamper_splice(void **state)
{
	struct idx *x = calloc(1, sizeof(*x)), *y = calloc(1, sizeof(*y));
	uint8_t idB[16], rootB[32], rootC[32], *d, *r;
	char dir[128], logB[128], logC[128];
	size_t len;
	int k, j;

	(void)state;
	assert_non_null(x);
	assert_non_null(y);
	fresh(dir, sizeof(dir));
	index_log(dir, x);
	/* another log with the same shape */
	newdir(logB, sizeof(logB), "B");
	make_log(logB, idB, rootB, 60, 4, 700);
	index_log(logB, y);

	/* a whole segment of B in A */
	d = slurp(y->s.path[1], &len);
	spit(x->s.path[1], d, len);
	free(d);
	expect_bad(dir, rootA, MM_ERR_CORRUPT, 0, "segment of another log");

	/* one record of B, with the same seq, in A */
	sh("rm -rf %s && cp -a %s %s", dir, logA, dir);
	k = 20;
	for (j = 0; j < y->n && y->r[j].seq != x->r[k].seq; j++)
		;
	assert_true(j < y->n);
	r = rec_bytes(y, j);
	splice_file(x->s.path[x->r[k].seg], x->r[k].off, x->r[k].len, r,
	    y->r[j].len);
	free(r);
	expect_bad(dir, rootA, 0, x->r[k].seq, "record of another log");

	/* a log with A's id but another key */
	newdir(logC, sizeof(logC), "C");
	mm_random(rootC, sizeof(rootC));
	assert_int_equal(mm_seclog_create_from(logC, idA, rootC), MM_OK);
	{
		struct mm_seclog_conf c;
		struct mm_seclog *l;
		int i;

		conf_for(&c, logC);
		c.epoch_records = 4;
		c.segment_bytes = 700;
		assert_int_equal(mm_seclog_open(&c, &l, NULL), MM_OK);
		for (i = 0; i < 30; i++)
			add(l, i);
		assert_int_equal(mm_seclog_close(l), MM_OK);
	}
	index_log(logC, y);
	sh("rm -rf %s && cp -a %s %s", dir, logA, dir);
	k = 5;
	for (j = 0; j < y->n && y->r[j].seq != x->r[k].seq; j++)
		;
	assert_true(j < y->n);
	r = rec_bytes(y, j);
	splice_file(x->s.path[x->r[k].seg], x->r[k].off, x->r[k].len, r,
	    y->r[j].len);
	free(r);
	expect_bad(dir, rootA, 0, x->r[k].seq, "record under another key");
	/* and that log does not verify with A's key at all */
	expect_bad(logC, rootA, MM_ERR_SIGNATURE, 1, "log under another key");
	free(x);
	free(y);
}

static void
test_tamper_replay_segment(void **state)
{
	struct mm_seclog_conf c;
	struct mm_seclog *l;
	struct mm_seclog_report rep;
	struct segs s;
	uint8_t id[16], root[32], *old, *d;
	char dir[128], p[300];
	size_t oldlen, len;
	uint64_t durable;
	int i;

	(void)state;
	newdir(dir, sizeof(dir), "replay");
	assert_int_equal(mm_seclog_create(dir, id, root), MM_OK);
	conf_for(&c, dir);
	c.epoch_records = 4;
	c.segment_bytes = 500;
	assert_int_equal(mm_seclog_open(&c, &l, NULL), MM_OK);
	add(l, 0);
	add(l, 1);
	assert_int_equal(mm_seclog_sync(l, &durable), MM_OK);
	list_segs(dir, &s);
	old = slurp(s.path[0], &oldlen);	/* the first segment, early on */
	for (i = 2; i < 40; i++)
		add(l, i);
	assert_int_equal(mm_seclog_close(l), MM_OK);
	expect_ok(dir, root, &rep);
	list_segs(dir, &s);
	assert_true(s.n >= 3);

	/* the old first segment back in place */
	d = slurp(s.path[0], &len);
	spit(s.path[0], old, oldlen);
	expect_bad(dir, root, MM_ERR_CORRUPT, 0, "old segment replayed");
	spit(s.path[0], d, len);
	expect_ok(dir, root, &rep);

	/* the first segment again under a later name */
	snprintf(p, sizeof(p), "%s/log/seg-%016llx.msl", dir,
	    (unsigned long long)rep.last_seq + 1);
	spit(p, d, len);
	expect_bad(dir, root, MM_ERR_CORRUPT, 0, "segment copied forward");
	/* ... with its header made to fit the name */
	d[35] = (uint8_t)(rep.last_seq + 1);
	spit(p, d, len);
	expect_bad(dir, root, 0, 0, "segment copied forward, header changed");
	unlink(p);
	free(d);
	free(old);
}

static void
test_tamper_wrong_epoch_key(void **state)
{
	struct idx *x = calloc(1, sizeof(*x));
	uint8_t *r, *prev, key[32];
	char dir[128];
	uint32_t e;
	int k;

	(void)state;
	assert_non_null(x);
	fresh(dir, sizeof(dir));
	index_log(dir, x);
	/* an ordinary record of epoch >= 2, not the first of its segment */
	for (k = 1; k < x->n && !(x->r[k].epoch >= 2 &&
	    x->r[k].type != MM_SLT_SEAL && x->r[k - 1].seg == x->r[k].seg); k++)
		;
	assert_true(k < x->n);
	e = x->r[k].epoch;
	prev = x->r[k - 1].tag;
	r = rec_bytes(x, k);

	/* our tag computation is the log's: the original verifies */
	assert_int_equal(mm_slk_derive(rootA, e, key), MM_OK);
	{
		uint8_t t[32];

		ref_tag(key, idA, prev, r + 4, x->r[k].len - 36, t);
		assert_memory_equal(t, x->r[k].tag, 32);
	}
	/* the epoch field says e, the tag is made with e - 1's or e + 1's key */
	assert_int_equal(mm_slk_derive(rootA, e - 1, key), MM_OK);
	ref_tag(key, idA, prev, r + 4, x->r[k].len - 36, r + x->r[k].len - 32);
	splice_file(x->s.path[x->r[k].seg], x->r[k].off, x->r[k].len, r,
	    x->r[k].len);
	expect_bad(dir, rootA, MM_ERR_SIGNATURE, x->r[k].seq, "key of e - 1");
	assert_int_equal(mm_slk_derive(rootA, e + 1, key), MM_OK);
	ref_tag(key, idA, prev, r + 4, x->r[k].len - 36, r + x->r[k].len - 32);
	splice_file(x->s.path[x->r[k].seg], x->r[k].off, x->r[k].len, r,
	    x->r[k].len);
	expect_bad(dir, rootA, MM_ERR_SIGNATURE, x->r[k].seq, "key of e + 1");
	/* the epoch field changed to fit the key: out of sequence */
	put_be(r + 13, e - 1, 4);
	assert_int_equal(mm_slk_derive(rootA, e - 1, key), MM_OK);
	ref_tag(key, idA, prev, r + 4, x->r[k].len - 36, r + x->r[k].len - 32);
	splice_file(x->s.path[x->r[k].seg], x->r[k].off, x->r[k].len, r,
	    x->r[k].len);
	expect_bad(dir, rootA, MM_ERR_CORRUPT, x->r[k].seq, "epoch e - 1");
	put_be(r + 13, e + 1, 4);
	assert_int_equal(mm_slk_derive(rootA, e + 1, key), MM_OK);
	ref_tag(key, idA, prev, r + 4, x->r[k].len - 36, r + x->r[k].len - 32);
	splice_file(x->s.path[x->r[k].seg], x->r[k].off, x->r[k].len, r,
	    x->r[k].len);
	expect_bad(dir, rootA, MM_ERR_CORRUPT, x->r[k].seq, "epoch e + 1");
	free(r);
	free(x);
}

static void
test_tamper_segment_header(void **state)
{
	struct idx *x = calloc(1, sizeof(*x));
	struct mm_seclog_seghdr h;
	char dir[128], p[300];
	uint8_t *d;
	size_t len;

	(void)state;
	assert_non_null(x);
	fresh(dir, sizeof(dir));
	index_log(dir, x);
	d = slurp(x->s.path[2], &len);
	/* first epoch */
	d[39]++;
	spit(x->s.path[2], d, len);
	expect_bad(dir, rootA, MM_ERR_CORRUPT, 0, "header epoch");
	d[39]--;
	/* previous tag */
	d[40 + 7] ^= 0x40;
	spit(x->s.path[2], d, len);
	expect_bad(dir, rootA, MM_ERR_CORRUPT, 0, "header previous tag");
	d[40 + 7] ^= 0x40;
	/* first seq, file renamed to match */
	assert_int_equal(mm_seclog_seghdr_decode(d, len, &h), MM_OK);
	put_be(d + 28, h.first_seq + 1, 8);
	unlink(x->s.path[2]);
	snprintf(p, sizeof(p), "%s/log/seg-%016llx.msl", dir,
	    (unsigned long long)h.first_seq + 1);
	spit(p, d, len);
	expect_bad(dir, rootA, MM_ERR_CORRUPT, 0, "header first seq");
	free(d);
	free(x);
}

/* Streams a forger holding the root could make: the verifier's rules. */
static void
test_verifier_rules(void **state)
{
	static const uint8_t zero[32];
	struct mm_seclog_verifier *v;
	struct mm_seclog_report rep;
	uint8_t id[16], root[32], prev[32], b[512];
	size_t n;

	(void)state;
	mm_random(id, sizeof(id));
	mm_random(root, sizeof(root));

#define START() do { memset(prev, 0, 32); \
	assert_int_equal(mm_seclog_verifier_new(id, root, 1, 0, zero, &v), \
	    MM_OK); } while (0)
#define FEED(seq, ep, kep, type, pl, want) do { \
	n = forge(b, id, root, prev, (seq), (ep), (kep), (type), (pl)); \
	assert_int_equal(mm_seclog_verify_record(v, b, n), (want)); } while (0)

	/* good: two SEALs in a row are an empty epoch */
	START();
	FEED(1, 0, 0, MM_SLT_AUTH, "a", MM_OK);
	FEED(2, 0, 0, MM_SLT_SEAL, "1", MM_OK);
	FEED(3, 1, 1, MM_SLT_SEAL, "0", MM_OK);
	FEED(4, 2, 2, MM_SLT_AUTH, "b", MM_OK);
	mm_seclog_verifier_report(v, &rep);
	assert_int_equal(rep.records, 4);
	assert_int_equal(rep.seals, 2);
	assert_int_equal(rep.complete, 0);	/* unsealed last epoch: fine */
	assert_int_equal(rep.error, 0);
	FEED(5, 2, 2, MM_SLT_SEAL, "1", MM_OK);
	mm_seclog_verifier_report(v, &rep);
	assert_int_equal(rep.complete, 1);
	mm_seclog_verifier_free(v);

	/* a SEAL missing between epochs */
	START();
	FEED(1, 0, 0, MM_SLT_AUTH, "a", MM_OK);
	FEED(2, 1, 1, MM_SLT_AUTH, "b", MM_ERR_CORRUPT);
	/* after a problem everything fails */
	FEED(3, 1, 1, MM_SLT_AUTH, "c", MM_ERR_CORRUPT);
	mm_seclog_verifier_report(v, &rep);
	assert_int_equal(rep.error_seq, 2);
	assert_int_equal(rep.records, 1);
	mm_seclog_verifier_free(v);

	/* an epoch skipped: n -> n + 2 after one SEAL */
	START();
	FEED(1, 0, 0, MM_SLT_SEAL, "0", MM_OK);
	FEED(2, 2, 2, MM_SLT_AUTH, "b", MM_ERR_CORRUPT);
	mm_seclog_verifier_free(v);

	/* a record of the sealed epoch after its SEAL */
	START();
	FEED(1, 0, 0, MM_SLT_SEAL, "0", MM_OK);
	FEED(2, 0, 0, MM_SLT_AUTH, "b", MM_ERR_CORRUPT);
	mm_seclog_verifier_free(v);

	/* SEAL counts */
	START();
	FEED(1, 0, 0, MM_SLT_AUTH, "a", MM_OK);
	FEED(2, 0, 0, MM_SLT_SEAL, "2", MM_ERR_CORRUPT);
	mm_seclog_verifier_free(v);
	START();
	FEED(1, 0, 0, MM_SLT_AUTH, "a", MM_OK);
	FEED(2, 0, 0, MM_SLT_SEAL, "0", MM_ERR_CORRUPT);
	mm_seclog_verifier_free(v);
	START();
	FEED(1, 0, 0, MM_SLT_SEAL, "01", MM_ERR_CORRUPT);
	mm_seclog_verifier_free(v);
	START();
	FEED(1, 0, 0, MM_SLT_SEAL, "", MM_ERR_CORRUPT);
	mm_seclog_verifier_free(v);

	/* a record tagged with the next epoch's key where the epoch is 0 */
	START();
	FEED(1, 0, 1, MM_SLT_AUTH, "a", MM_ERR_SIGNATURE);
	mm_seclog_verifier_free(v);

	/* seq gaps and repeats */
	START();
	FEED(1, 0, 0, MM_SLT_AUTH, "a", MM_OK);
	FEED(3, 0, 0, MM_SLT_AUTH, "b", MM_ERR_CORRUPT);
	mm_seclog_verifier_free(v);
	START();
	FEED(1, 0, 0, MM_SLT_AUTH, "a", MM_OK);
	FEED(1, 0, 0, MM_SLT_AUTH, "a", MM_ERR_REPLAY);
	mm_seclog_verifier_free(v);

	/* trailing bytes after the record */
	START();
	n = forge(b, id, root, prev, 1, 0, 0, MM_SLT_AUTH, "a");
	assert_int_equal(mm_seclog_verify_record(v, b, n + 1), MM_ERR_TRAILING);
	mm_seclog_verifier_free(v);

	/* starting mid-log: any place, the first epoch's count unknown */
	memset(prev, 0, 32);
	for (n = 0; n < 32; n++)
		prev[n] = (uint8_t)n;
	assert_int_equal(mm_seclog_verifier_new(id, root, 100, 7, prev, &v),
	    MM_OK);
	FEED(100, 7, 7, MM_SLT_AUTH, "x", MM_OK);
	FEED(101, 7, 7, MM_SLT_SEAL, "5", MM_OK);	/* 4 we did not see */
	FEED(102, 8, 8, MM_SLT_AUTH, "y", MM_OK);
	FEED(103, 8, 8, MM_SLT_SEAL, "2", MM_ERR_CORRUPT);
	mm_seclog_verifier_free(v);
	for (n = 0; n < 32; n++)
		prev[n] = (uint8_t)n;
	assert_int_equal(mm_seclog_verifier_new(id, root, 100, 7, prev, &v),
	    MM_OK);
	FEED(100, 7, 7, MM_SLT_AUTH, "x", MM_OK);
	FEED(101, 7, 7, MM_SLT_SEAL, "0", MM_ERR_CORRUPT);	/* saw one */
	mm_seclog_verifier_free(v);
	assert_int_equal(mm_seclog_verifier_new(id, root, 100, 7, prev, &v),
	    MM_OK);
	FEED(100, 6, 6, MM_SLT_AUTH, "x", MM_ERR_CORRUPT);
	mm_seclog_verifier_free(v);
	assert_int_equal(mm_seclog_verifier_new(id, root, 1, 3, zero, &v),
	    MM_ERR_INVALID_ARG);
	assert_int_equal(mm_seclog_verifier_new(id, root, 0, 0, zero, &v),
	    MM_ERR_INVALID_ARG);
#undef START
#undef FEED
}

/* The server's way: start at any segment of a real log. */
static void
test_verifier_from_middle(void **state)
{
	struct idx *x = calloc(1, sizeof(*x));
	struct mm_seclog_verifier *v;
	struct mm_seclog_report rep;
	uint8_t *r;
	int k, i;

	(void)state;
	assert_non_null(x);
	need_logA();
	index_log(logA, x);
	for (k = 1; k < x->n; k += 7) {
		assert_int_equal(mm_seclog_verifier_new(idA, rootA, x->r[k].seq,
		    x->r[k].epoch, x->r[k - 1].tag, &v), MM_OK);
		for (i = k; i < x->n; i++) {
			r = rec_bytes(x, i);
			assert_int_equal(mm_seclog_verify_record(v, r, x->r[i].len),
			    MM_OK);
			free(r);
		}
		mm_seclog_verifier_report(v, &rep);
		assert_int_equal(rep.records, (uint64_t)(x->n - k));
		assert_int_equal(rep.complete, 1);
		mm_seclog_verifier_free(v);
	}
	/* a wrong previous tag */
	assert_int_equal(mm_seclog_verifier_new(idA, rootA, x->r[9].seq,
	    x->r[9].epoch, x->r[7].tag, &v), MM_OK);
	r = rec_bytes(x, 9);
	assert_int_equal(mm_seclog_verify_record(v, r, x->r[9].len),
	    MM_ERR_SIGNATURE);
	free(r);
	mm_seclog_verifier_free(v);
	free(x);
}

/* ---- recovery ---- */

static void
snapshot_open_log(char *snap, size_t sz, const char *tag, uint8_t root[32],
    int nrec, struct idx *x)
{
	struct mm_seclog_conf c;
	struct mm_seclog *l;
	uint8_t id[16];
	char dir[128];
	uint64_t durable;
	int i;

	newdir(dir, sizeof(dir), tag);
	assert_int_equal(mm_seclog_create(dir, id, root), MM_OK);
	conf_for(&c, dir);
	assert_int_equal(mm_seclog_open(&c, &l, NULL), MM_OK);
	for (i = 0; i < nrec; i++)
		add(l, i);
	assert_int_equal(mm_seclog_sync(l, &durable), MM_OK);
	assert_int_equal(durable, (uint64_t)nrec + 1);
	/* a copy of the files as a crash would leave them */
	newdir(snap, sz, "snap");
	sh("cp -a %s %s", dir, snap);
	add(l, 9999);				/* never written */
	assert_int_equal(mm_seclog_close(l), MM_OK);
	index_log(snap, x);
	assert_int_equal(x->n, nrec + 1);
}

static void
reopen_expect(const char *dir, const uint8_t root[32], size_t want_cut,
    uint64_t survive, const struct idx *before)
{
	struct mm_seclog_conf c;
	struct mm_seclog_report rep;
	struct mm_seclog *l;
	struct idx *after = calloc(1, sizeof(*after));
	size_t cut = 12345;
	uint64_t i;

	assert_non_null(after);
	conf_for(&c, dir);
	assert_int_equal(mm_seclog_open(&c, &l, &cut), MM_OK);
	assert_int_equal(cut, want_cut);
	add(l, 5000);
	assert_int_equal(mm_seclog_close(l), MM_OK);
	expect_ok(dir, root, &rep);
	assert_int_equal(rep.records, survive + 4);	/* START, 1, STOP, SEAL */
	index_log(dir, after);
	for (i = 0; i < survive; i++) {
		assert_int_equal(after->r[i].seq, before->r[i].seq);
		assert_memory_equal(after->r[i].tag, before->r[i].tag, 32);
	}
	free(after);
}

static void
test_torn_tail(void **state)
{
	struct idx *x = calloc(1, sizeof(*x));
	uint8_t root[32], junk[100], *r;
	char snap[128], work[128], p[300];
	size_t len;

	(void)state;
	assert_non_null(x);
	snapshot_open_log(snap, sizeof(snap), "torn", root, 50, x);
	newdir(work, sizeof(work), "tw");
	snprintf(p, sizeof(p), "%s/log/seg-0000000000000001.msl", work);
	len = x->r[50].off + x->r[50].len;	/* 51 records: all synced */

	/* nothing to cut */
	sh("cp -a %s %s", snap, work);
	reopen_expect(work, root, 0, 51, x);

	/* garbage after the last record */
	sh("rm -rf %s && cp -a %s %s", work, snap, work);
	mm_random(junk, sizeof(junk));
	junk[0] = 0xff;				/* an impossible length */
	splice_file(p, len, 0, junk, sizeof(junk));
	reopen_expect(work, root, sizeof(junk), 51, x);

	/* the last record cut short by a few bytes, then garbage: it was
	 * being written when the power went */
	sh("rm -rf %s && cp -a %s %s", work, snap, work);
	assert_int_equal(truncate(p, (off_t)(len - 5)), 0);
	junk[0] = 0;
	splice_file(p, len - 5, 0, junk, 30);
	reopen_expect(work, root, x->r[50].len - 5 + 30, 50, x);

	/* a whole record whose tag does not verify */
	sh("rm -rf %s && cp -a %s %s", work, snap, work);
	r = rec_bytes(x, 50);
	r[x->r[50].len - 1] ^= 1;
	splice_file(p, x->r[50].off, x->r[50].len, r, x->r[50].len);
	reopen_expect(work, root, x->r[50].len, 50, x);
	free(r);

	/* a copy of an earlier record: its seq is wrong */
	sh("rm -rf %s && cp -a %s %s", work, snap, work);
	r = rec_bytes(x, 10);
	splice_file(p, len, 0, r, x->r[10].len);
	reopen_expect(work, root, x->r[10].len, 51, x);
	free(r);
	free(x);
}

static void
test_crash_before_key_file(void **state)
{
	struct mm_seclog_conf c;
	struct mm_seclog_report rep;
	struct mm_seclog *l;
	uint8_t id[16], root[32], *oldkey;
	char dir[128], snap[128], kp[300];
	size_t klen, cut;
	uint32_t epoch;
	int i;

	(void)state;
	newdir(dir, sizeof(dir), "evolve");
	assert_int_equal(mm_seclog_create(dir, id, root), MM_OK);
	conf_for(&c, dir);
	c.epoch_records = 10;
	assert_int_equal(mm_seclog_open(&c, &l, NULL), MM_OK);
	snprintf(kp, sizeof(kp), "%s/seclog.key", dir);
	for (i = 0; i < 9; i++)		/* with LOG_START: 10 in epoch 0 */
		add(l, i);
	oldkey = slurp(kp, &klen);
	add(l, 9);			/* SEAL of epoch 0 synced, key moves on */
	mm_seclog_position(l, NULL, NULL, &epoch);
	assert_int_equal(epoch, 1);
	newdir(snap, sizeof(snap), "esnap");
	sh("cp -a %s %s", dir, snap);
	assert_int_equal(mm_seclog_close(l), MM_OK);

	/* the crash came before the key file was replaced */
	snprintf(kp, sizeof(kp), "%s/seclog.key", snap);
	spit(kp, oldkey, klen);
	free(oldkey);
	expect_ok(snap, root, &rep);		/* a SEAL and the key at its epoch */
	assert_int_equal(rep.complete, 1);
	assert_int_equal(mm_seclog_open(&(struct mm_seclog_conf){ .dir = snap,
	    .epoch_records = 10, .epoch_ms = 60000, .segment_bytes = 1 << 20,
	    .group_records = 512, .group_ms = 50 }, &l, &cut), MM_OK);
	assert_int_equal(cut, 0);
	mm_seclog_position(l, NULL, NULL, &epoch);
	assert_int_equal(epoch, 1);		/* evolution completed */
	add(l, 100);
	assert_int_equal(mm_seclog_close(l), MM_OK);
	expect_ok(snap, root, &rep);
	assert_int_equal(rep.records, 11 + 4);
	assert_int_equal(rep.last_epoch, 1);
}

static void
test_open_refuses_damage(void **state)
{
	struct mm_seclog_conf c;
	struct mm_seclog *l;
	struct idx *x = calloc(1, sizeof(*x));
	uint8_t id[16], root[32], *d;
	char one[128], dir[128];
	size_t len;
	int k;

	(void)state;
	assert_non_null(x);
	/* one segment holding every epoch */
	newdir(one, sizeof(one), "one");
	make_log(one, id, root, 20, 4, 1 << 20);
	index_log(one, x);
	assert_int_equal(x->s.n, 1);
	newdir(dir, sizeof(dir), "dmg");
	conf_for(&c, dir);

	/* malformed record in epoch 0: written before the key moved on, so
	 * not a torn write */
	sh("cp -a %s %s", one, dir);
	d = slurp(x->s.path[0], &len);
	d[x->r[2].off + 4] ^= 1;
	{
		char p[300];

		snprintf(p, sizeof(p), "%s/log/seg-0000000000000001.msl", dir);
		spit(p, d, len);
		assert_int_equal(mm_seclog_open(&c, &l, NULL), MM_ERR_CORRUPT);
		d[x->r[2].off + 4] ^= 1;

		/* the log ends before the key's epoch */
		for (k = 0; x->r[k].epoch == 0; k++)
			;
		spit(p, d, x->r[k].off);
		assert_int_equal(mm_seclog_open(&c, &l, NULL), MM_ERR_CORRUPT);

		/* the segment's header: magic, another log's */
		d[0] = 'X';
		spit(p, d, len);
		assert_int_equal(mm_seclog_open(&c, &l, NULL), MM_ERR_CORRUPT);
		d[0] = 'M';
		d[12] ^= 1;
		spit(p, d, len);
		assert_int_equal(mm_seclog_open(&c, &l, NULL), MM_ERR_CORRUPT);
		d[12] ^= 1;
		spit(p, d, len);
	}
	free(d);
	/* the untouched copy opens */
	assert_int_equal(mm_seclog_open(&c, &l, NULL), MM_OK);
	assert_int_equal(mm_seclog_close(l), MM_OK);

	/* no segments, but the key has moved on */
	sh("rm -rf %s && cp -a %s %s && rm %s/log/*", dir, one, dir, dir);
	assert_int_equal(mm_seclog_open(&c, &l, NULL), MM_ERR_CORRUPT);
	/* missing key or id */
	sh("rm -rf %s && cp -a %s %s && rm %s/seclog.key", dir, one, dir, dir);
	assert_int_equal(mm_seclog_open(&c, &l, NULL), MM_ERR_NOT_FOUND);
	sh("rm -rf %s && cp -a %s %s && rm %s/seclog.id", dir, one, dir, dir);
	assert_int_equal(mm_seclog_open(&c, &l, NULL), MM_ERR_NOT_FOUND);
	free(x);
}

/* ---- decoding ---- */

/* A record with any lengths; the length field fits unless told. */
static size_t
build(uint8_t *out, uint8_t version, uint8_t sev, size_t slen, size_t plen)
{
	size_t n = 4 + 48 + 1 + slen + 2 + plen + 32;

	memset(out, 0, n);
	put_be(out, n - 4, 4);
	out[4] = version;
	put_be(out + 5, 42, 8);
	put_be(out + 13, 3, 4);
	put_be(out + 49, MM_SLT_AUTH, 2);
	out[51] = sev;
	out[52] = (uint8_t)slen;
	memset(out + 53, 's', slen);
	put_be(out + 53 + slen, plen, 2);
	memset(out + 55 + slen, 'p', plen);
	memset(out + n - 32, 0xab, 32);
	return n;
}

static void
test_decode_malformed(void **state)
{
	uint8_t b[4096];
	struct mm_seclog_record rec, keep;
	struct mm_seclog_seghdr h;
	size_t n, i, used = 777;

	(void)state;
	n = build(b, 1, 3, 5, 10);
	assert_int_equal(mm_seclog_decode(b, n, &rec, &used), MM_OK);
	assert_int_equal(used, n);
	assert_int_equal(rec.seq, 42);
	assert_int_equal(rec.epoch, 3);
	assert_int_equal(rec.source_len, 5);
	assert_int_equal(rec.payload_len, 10);
	/* a stream: the next record's bytes are not this one's */
	assert_int_equal(mm_seclog_decode(b, n + 100, &rec, &used), MM_OK);
	assert_int_equal(used, n);
	memset(&keep, 0x5a, sizeof(keep));
	rec = keep;
	for (i = 0; i < n; i++)
		assert_int_equal(mm_seclog_decode(b, i, &rec, &used), MM_ERR_SHORT);
	assert_int_equal(mm_seclog_decode(NULL, 0, &rec, &used), MM_ERR_SHORT);

	n = build(b, 2, 3, 5, 10);
	assert_int_equal(mm_seclog_decode(b, n, &rec, &used), MM_ERR_FORMAT);
	n = build(b, 0, 3, 5, 10);
	assert_int_equal(mm_seclog_decode(b, n, &rec, &used), MM_ERR_FORMAT);
	n = build(b, 1, 8, 5, 10);
	assert_int_equal(mm_seclog_decode(b, n, &rec, &used), MM_ERR_FORMAT);
	n = build(b, 1, 3, 0, 10);
	assert_int_equal(mm_seclog_decode(b, n, &rec, &used), MM_ERR_FORMAT);
	n = build(b, 1, 3, 65, 10);
	assert_int_equal(mm_seclog_decode(b, n, &rec, &used), MM_ERR_TOO_LARGE);
	n = build(b, 1, 3, 5, 1025);
	assert_int_equal(mm_seclog_decode(b, n, &rec, &used), MM_ERR_TOO_LARGE);
	/* NUL in the source; seq 0 */
	n = build(b, 1, 3, 5, 10);
	b[55] = 0;
	assert_int_equal(mm_seclog_decode(b, n, &rec, &used), MM_ERR_FORMAT);
	n = build(b, 1, 3, 5, 10);
	put_be(b + 5, 0, 8);
	assert_int_equal(mm_seclog_decode(b, n, &rec, &used), MM_ERR_FORMAT);
	/* length over the maximum, below the minimum, not what the fields say */
	n = build(b, 1, 3, 5, 10);
	put_be(b, MM_SECLOG_RECORD_MAX + 1, 4);
	assert_int_equal(mm_seclog_decode(b, 4, &rec, &used), MM_ERR_TOO_LARGE);
	put_be(b, 0xffffffff, 4);
	assert_int_equal(mm_seclog_decode(b, n, &rec, &used), MM_ERR_TOO_LARGE);
	put_be(b, 20, 4);
	assert_int_equal(mm_seclog_decode(b, n, &rec, &used), MM_ERR_FORMAT);
	put_be(b, n - 4 + 1, 4);
	assert_int_equal(mm_seclog_decode(b, n + 1, &rec, &used), MM_ERR_FORMAT);
	put_be(b, n - 4 - 1, 4);
	assert_int_equal(mm_seclog_decode(b, n, &rec, &used), MM_ERR_FORMAT);
	/* source length past the record */
	n = build(b, 1, 3, 5, 10);
	b[52] = 60;
	assert_int_equal(mm_seclog_decode(b, n, &rec, &used), MM_ERR_FORMAT);
	/* nothing was written by the failures */
	assert_memory_equal(&rec, &keep, sizeof(rec));
	assert_int_equal(used, build(b, 1, 3, 5, 10));
	/* the limits themselves are fine */
	n = build(b, 1, 3, 64, 1024);
	assert_int_equal(mm_seclog_decode(b, n, &rec, &used), MM_OK);
	assert_int_equal(used, n);

	/* segment headers */
	memset(b, 0, HDR);
	memcpy(b, "MMSLSEG1", 8);
	b[8] = 1;
	b[35] = 9;
	assert_int_equal(mm_seclog_seghdr_decode(b, HDR, &h), MM_OK);
	assert_int_equal(h.first_seq, 9);
	assert_int_equal(mm_seclog_seghdr_decode(b, HDR - 1, &h), MM_ERR_SHORT);
	b[9] = 1;
	assert_int_equal(mm_seclog_seghdr_decode(b, HDR, &h), MM_ERR_FORMAT);
	b[9] = 0;
	b[8] = 2;
	assert_int_equal(mm_seclog_seghdr_decode(b, HDR, &h), MM_ERR_FORMAT);
	b[8] = 1;
	b[35] = 0;
	assert_int_equal(mm_seclog_seghdr_decode(b, HDR, &h), MM_ERR_FORMAT);
	b[35] = 9;
	b[0] = 'm';
	assert_int_equal(mm_seclog_seghdr_decode(b, HDR, &h), MM_ERR_FORMAT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_reopen_verify),
		cmocka_unit_test(test_append_refused),
		cmocka_unit_test(test_empty_epochs_by_time),
		cmocka_unit_test(test_many_epochs_and_segments),
		cmocka_unit_test(test_untouched_verifies),
		cmocka_unit_test(test_tamper_any_byte),
		cmocka_unit_test(test_tamper_delete_insert_reorder),
		cmocka_unit_test(test_tamper_truncate),
		cmocka_unit_test(test_tamper_splice),
		cmocka_unit_test(test_tamper_replay_segment),
		cmocka_unit_test(test_tamper_wrong_epoch_key),
		cmocka_unit_test(test_tamper_segment_header),
		cmocka_unit_test(test_verifier_rules),
		cmocka_unit_test(test_verifier_from_middle),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_crash_before_key_file),
		cmocka_unit_test(test_open_refuses_damage),
		cmocka_unit_test(test_decode_malformed),
	};

	if (mm_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
