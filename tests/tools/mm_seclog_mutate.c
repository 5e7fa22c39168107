/*
 * mm_seclog_mutate - the sealed log's tamper campaign (decision 0008, for
 * tests/integration/it_seclog.sh).
 *
 *   mm_seclog_mutate --work DIR [--trials N] [--seed S]
 *
 * Makes two logs in DIR/a and DIR/b, each with its own key, several
 * sessions, small epochs and small segments, and the same shape (so seqs,
 * epochs and segment names line up).  Then runs N trials (default 1320),
 * each on a fresh copy of log a in DIR/trial: one random change of one
 * kind (kinds in turn), then mm_seclog_verify_dir with a's key.  Kinds:
 * a flipped bit in a record or in a segment header; a record deleted,
 * copied elsewhere, swapped with another, or taken from log b at the same
 * seq; a segment taken from log b; an earlier segment replayed (as the
 * last one, appended to it, or added after it); the log cut after a record
 * inside a sealed epoch, or right after a SEAL; and such a cut with
 * seclog.key deleted too.  A change counts as detected if the verification
 * fails (error), or if it passes but the report disagrees with what the
 * fleet knows of a closed log: that its last epoch is sealed and how many
 * records it acknowledged (report).  Prints one line per kind and a total:
 *   kind=swap trials=120 detected=120 error=120 report=0
 *   total trials=1320 detected=1320
 * and checks that the untouched copy verifies (no false positive), now and
 * then during the run too.  Exit 0 only if every change was detected and
 * no untouched copy was refused; 1 otherwise; 2 usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "device/mm_seclog.h"

#define MUT_SEG_MAX (64UL * 1024 * 1024)
#define MUT_SESSIONS 3
#define MUT_PER_SESSION 120

struct mrec {
	const uint8_t *p;
	size_t len;
	uint64_t seq;
	uint16_t type;
};

struct mseg {
	char name[64];
	const uint8_t *hdr;
	size_t hdrlen;
	struct mrec *r;
	size_t n, cap;
};

struct mlog {
	struct mseg *s;
	size_t n, cap;
	uint8_t *bufs[4096];	/* file contents and trial copies, owned */
	size_t nbufs;
};

enum mut_kind {
	K_BITFLIP, K_DELETE, K_INSERT, K_SWAP, K_TRUNCATE, K_TRUNCATE_SEAL,
	K_SPLICE_RECORD, K_SPLICE_SEGMENT, K_REPLAY, K_HEADER_FLIP, K_TRUNCATE_NOKEY,
	K__COUNT
};

static const char *const mut_kind_name[K__COUNT] = {
	"bitflip", "delete", "insert_copy", "swap", "truncate_in_epoch",
	"truncate_at_seal", "splice_record", "splice_segment", "replay_segment",
	"header_bitflip", "truncate_drop_key",
};

struct mut_stats {
	uint64_t trials, error, report;
};

static uint64_t mut_rng;

static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: mm_seclog_mutate --work DIR [--trials N] [--seed S]\n");
	exit(2);
}

static _Noreturn void
die(const char *what, int r)
{
	fprintf(stderr, "mm_seclog_mutate: %s: %s\n", what, mm_strerror(r));
	exit(1);
}

/* dir/a[/b] into out; a path that does not fit stops the run. */
static void
mut_path(char *out, size_t outsz, const char *dir, const char *a, const char *b)
{
	int n;

	if (b == NULL)
		n = snprintf(out, outsz, "%s/%s", dir, a);
	else
		n = snprintf(out, outsz, "%s/%s/%s", dir, a, b);
	if (n < 0 || (size_t)n >= outsz)
		die(dir, MM_ERR_TOO_LARGE);
}

static uint64_t
mut_rand(void)
{
	/* xorshift64*: reproducible from the printed seed */
	mut_rng ^= mut_rng >> 12;
	mut_rng ^= mut_rng << 25;
	mut_rng ^= mut_rng >> 27;
	return mut_rng * 2685821657736338717ULL;
}

static size_t
mut_below(size_t n)
{
	return n == 0 ? 0 : (size_t)(mut_rand() % n);
}

/* ---- the in-memory log ---- */

static uint8_t *
mut_own(struct mlog *m, size_t len)
{
	uint8_t *p;

	if (m->nbufs == sizeof(m->bufs) / sizeof(m->bufs[0]) ||
	    (p = mm_malloc(len > 0 ? len : 1)) == NULL)
		die("own", MM_ERR_ALLOC);
	m->bufs[m->nbufs++] = p;
	return p;
}

static struct mseg *
mut_seg_add(struct mlog *m, const char *name, const uint8_t *hdr, size_t hdrlen)
{
	struct mseg *s;

	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		if ((m->s = mm_reallocarray(m->s, m->cap, sizeof(*m->s))) == NULL)
			die("segments", MM_ERR_ALLOC);
	}
	s = &m->s[m->n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->hdr = hdr;
	s->hdrlen = hdrlen;
	return s;
}

static void
mut_rec_insert(struct mseg *s, size_t at, const struct mrec *r)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		if ((s->r = mm_reallocarray(s->r, s->cap, sizeof(*s->r))) == NULL)
			die("records", MM_ERR_ALLOC);
	}
	memmove(&s->r[at + 1], &s->r[at], (s->n - at) * sizeof(*s->r));
	s->r[at] = *r;
	s->n++;
}

static void
mut_rec_remove(struct mseg *s, size_t at)
{
	memmove(&s->r[at], &s->r[at + 1], (s->n - at - 1) * sizeof(*s->r));
	s->n--;
}

static size_t
mut_nrec(const struct mlog *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->n; i++)
		n += m->s[i].n;
	return n;
}

/* Global record index k -> segment, index in it. */
static void
mut_at(const struct mlog *m, size_t k, size_t *si, size_t *ri)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (k < m->s[i].n) {
			*si = i;
			*ri = k;
			return;
		}
		k -= m->s[i].n;
	}
	fprintf(stderr, "mm_seclog_mutate: record index out of range\n");
	exit(1);
}

static int
mut_seg_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 8 && strncmp(d->d_name, "seg-", 4) == 0 &&
	    strcmp(d->d_name + n - 4, ".msl") == 0;
}

static void
mut_load(const char *dir, struct mlog *m)
{
	struct mm_seclog_record rec;
	struct dirent **names;
	struct mseg *s;
	struct mrec mr;
	char path[4096], *buf;
	size_t len, off, used;
	int i, n, r;

	memset(m, 0, sizeof(*m));
	mut_path(path, sizeof(path), dir, "log", NULL);
	if ((n = scandir(path, &names, mut_seg_filter, alphasort)) < 0)
		die(path, MM_ERR_IO);
	for (i = 0; i < n; i++) {
		mut_path(path, sizeof(path), dir, "log", names[i]->d_name);
		if ((r = mm_file_read(path, MUT_SEG_MAX, &buf, &len)) != 0)
			die(path, r);
		if (len < MM_SECLOG_SEG_HDR_LEN)
			die(path, MM_ERR_SHORT);
		if (m->nbufs == sizeof(m->bufs) / sizeof(m->bufs[0]))
			die("too many segments", MM_ERR_NO_SPACE);
		m->bufs[m->nbufs++] = (uint8_t *)buf;
		s = mut_seg_add(m, names[i]->d_name, (uint8_t *)buf,
		    MM_SECLOG_SEG_HDR_LEN);
		for (off = MM_SECLOG_SEG_HDR_LEN; off < len; off += used) {
			if ((r = mm_seclog_decode((uint8_t *)buf + off, len - off,
			    &rec, &used)) != 0)
				die(path, r);
			mr.p = (uint8_t *)buf + off;
			mr.len = used;
			mr.seq = rec.seq;
			mr.type = rec.type;
			mut_rec_insert(s, s->n, &mr);
		}
		free(names[i]);
	}
	free(names);
}

/* A copy that shares the bytes of src (trial changes copy what they touch). */
static void
mut_clone(const struct mlog *src, struct mlog *dst)
{
	struct mseg *s;
	size_t i;

	memset(dst, 0, sizeof(*dst));
	for (i = 0; i < src->n; i++) {
		s = mut_seg_add(dst, src->s[i].name, src->s[i].hdr, src->s[i].hdrlen);
		s->cap = src->s[i].n + 4;
		if ((s->r = mm_calloc(s->cap, sizeof(*s->r))) == NULL)
			die("clone", MM_ERR_ALLOC);
		memcpy(s->r, src->s[i].r, src->s[i].n * sizeof(*s->r));
		s->n = src->s[i].n;
	}
}

static void
mut_free(struct mlog *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		mm_free(m->s[i].r);
	for (i = 0; i < m->nbufs; i++)
		mm_free(m->bufs[i]);
	mm_free(m->s);
	memset(m, 0, sizeof(*m));
}

/* ---- files ---- */

static void
mut_clear_dir(const char *dir)
{
	struct dirent *d;
	char path[4096];
	DIR *dp;

	if ((dp = opendir(dir)) == NULL)
		die(dir, MM_ERR_IO);
	while ((d = readdir(dp)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		mut_path(path, sizeof(path), dir, d->d_name, NULL);
		if (unlink(path) != 0)
			die(path, MM_ERR_IO);
	}
	closedir(dp);
}

static void
mut_write_file(const char *path, const void *p, size_t len)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, p, len) != (ssize_t)len || close(fd) != 0)
		die(path, MM_ERR_IO);
}

static void
mut_write(const struct mlog *m, const char *dir)
{
	char path[4096];
	uint8_t *buf;
	size_t i, j, len, off;

	mut_path(path, sizeof(path), dir, "log", NULL);
	mut_clear_dir(path);
	for (i = 0; i < m->n; i++) {
		len = m->s[i].hdrlen;
		for (j = 0; j < m->s[i].n; j++)
			len += m->s[i].r[j].len;
		if ((buf = mm_malloc(len + 1)) == NULL)
			die("write", MM_ERR_ALLOC);
		memcpy(buf, m->s[i].hdr, m->s[i].hdrlen);
		off = m->s[i].hdrlen;
		for (j = 0; j < m->s[i].n; j++) {
			memcpy(buf + off, m->s[i].r[j].p, m->s[i].r[j].len);
			off += m->s[i].r[j].len;
		}
		mut_path(path, sizeof(path), dir, "log", m->s[i].name);
		mut_write_file(path, buf, len);
		mm_free(buf);
	}
}

/* The files beside log/ (seclog.id, seclog.key), copied once. */
static void
mut_copy_state(const char *from, const char *to)
{
	struct dirent *d;
	struct stat st;
	char src[4096], dst[4096], *buf;
	size_t len;
	DIR *dp;
	int r;

	if (mkdir(to, 0700) != 0 && errno != EEXIST)
		die(to, MM_ERR_IO);
	mut_path(dst, sizeof(dst), to, "log", NULL);
	if (mkdir(dst, 0700) != 0 && errno != EEXIST)
		die(dst, MM_ERR_IO);
	if ((dp = opendir(from)) == NULL)
		die(from, MM_ERR_IO);
	while ((d = readdir(dp)) != NULL) {
		mut_path(src, sizeof(src), from, d->d_name, NULL);
		if (stat(src, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if ((r = mm_file_read(src, MUT_SEG_MAX, &buf, &len)) != 0)
			die(src, r);
		mut_path(dst, sizeof(dst), to, d->d_name, NULL);
		mut_write_file(dst, buf, len);
		mm_freezero(buf, len + 1);
	}
	closedir(dp);
}

/* ---- making the logs ---- */

static void
mut_make_log(const char *dir, uint8_t key[MM_SECLOG_KEY_LEN])
{
	static const enum mm_seclog_type types[] = {
		MM_SLT_AUTH, MM_SLT_CONFIG, MM_SLT_COMM, MM_SLT_ATTACK,
		MM_SLT_STATE, MM_SLT_RESOURCE,
	};
	struct mm_seclog_conf conf;
	struct mm_seclog_event ev;
	struct mm_seclog *l;
	uint8_t id[MM_SECLOG_ID_LEN];
	char payload[256], pad[128];
	uint64_t seq, durable, state = 0x9e3779b97f4a7c15ULL;
	int i, k, n, r;

	if (mkdir(dir, 0700) != 0)
		die(dir, MM_ERR_IO);
	if ((r = mm_seclog_create(dir, id, key)) != 0)
		die("create", r);
	mm_seclog_defaults(&conf);
	conf.dir = dir;
	conf.epoch_records = 8;
	conf.segment_bytes = 2000;
	memset(&ev, 0, sizeof(ev));
	memset(pad, '.', sizeof(pad));
	/* the same shape for both logs: a fixed sequence, not mut_rand */
	for (k = 0; k < MUT_SESSIONS; k++) {
		if ((r = mm_seclog_open(&conf, &l, NULL)) != 0)
			die("open", r);
		for (i = 0; i < MUT_PER_SESSION; i++) {
			state = state * 6364136223846793005ULL + 1442695040888963407ULL;
			n = snprintf(payload, sizeof(payload),
			    "{\"session\":%d,\"i\":%d,\"pad\":\"%.*s\"}", k, i,
			    (int)((state >> 33) % 120), pad);
			ev.type = types[(state >> 20) %
			    (sizeof(types) / sizeof(types[0]))];
			ev.severity = (uint8_t)((state >> 40) % 8);
			ev.source = (state >> 45) % 2 ? "auth" : "agent";
			ev.payload = payload;
			ev.payload_len = (size_t)n;
			if ((r = mm_seclog_append(l, &ev, &seq)) != 0)
				die("append", r);
			if (i % 17 == 16 && (r = mm_seclog_sync(l, &durable)) != 0)
				die("sync", r);
		}
		if ((r = mm_seclog_close(l)) != 0)
			die("close", r);
	}
}

/* ---- the changes ---- */

/* A record whose type is (seal != 0) or is not (seal == 0) SEAL, other than
 * the last; SIZE_MAX if none. */
static size_t
mut_pick_cut(const struct mlog *m, int seal)
{
	size_t n = mut_nrec(m), k, si, ri, tries;

	for (tries = 0; tries < 10000 && n > 1; tries++) {
		k = mut_below(n - 1);
		mut_at(m, k, &si, &ri);
		if ((m->s[si].r[ri].type == MM_SLT_SEAL) == (seal != 0))
			return k;
	}
	return SIZE_MAX;
}

static void
mut_truncate_after(struct mlog *m, size_t k)
{
	size_t si, ri;

	mut_at(m, k, &si, &ri);
	m->s[si].n = ri + 1;
	while (m->n > si + 1)
		mm_free(m->s[--m->n].r);
}

static void
mut_seg_replace(struct mlog *m, size_t at, const struct mseg *from)
{
	struct mseg *s = &m->s[at];

	s->hdr = from->hdr;
	s->hdrlen = from->hdrlen;
	s->n = 0;
	while (s->n < from->n)
		mut_rec_insert(s, s->n, &from->r[s->n]);
}

/* Applies one change of this kind; a short description in what. */
static void
mut_apply(struct mlog *m, const struct mlog *other, enum mut_kind kind,
    char *what, size_t whatsz)
{
	size_t n = mut_nrec(m), k, j, si, ri, sj, rj, bit;
	struct mrec t;
	uint8_t *p;

	switch (kind) {
	case K_BITFLIP:
		k = mut_below(n);
		mut_at(m, k, &si, &ri);
		t = m->s[si].r[ri];
		p = mut_own(m, t.len);
		memcpy(p, t.p, t.len);
		bit = mut_below(t.len * 8);
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		m->s[si].r[ri].p = p;
		snprintf(what, whatsz, "bit %zu of seq %" PRIu64, bit, t.seq);
		break;
	case K_HEADER_FLIP:
		si = mut_below(m->n);
		p = mut_own(m, m->s[si].hdrlen);
		memcpy(p, m->s[si].hdr, m->s[si].hdrlen);
		bit = mut_below(m->s[si].hdrlen * 8);
		p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		m->s[si].hdr = p;
		snprintf(what, whatsz, "header bit %zu of %s", bit, m->s[si].name);
		break;
	case K_DELETE:
		k = mut_below(n);
		mut_at(m, k, &si, &ri);
		snprintf(what, whatsz, "seq %" PRIu64, m->s[si].r[ri].seq);
		mut_rec_remove(&m->s[si], ri);
		break;
	case K_INSERT:
		/* a copy of record k before record j (j == n: at the end) */
		k = mut_below(n);
		mut_at(m, k, &si, &ri);
		t = m->s[si].r[ri];
		j = mut_below(n + 1);
		if (j == n) {
			sj = m->n - 1;
			rj = m->s[sj].n;
		} else
			mut_at(m, j, &sj, &rj);
		mut_rec_insert(&m->s[sj], rj, &t);
		snprintf(what, whatsz, "copy of seq %" PRIu64 " at position %zu",
		    t.seq, j);
		break;
	case K_SWAP:
		k = mut_below(n);
		do
			j = mut_below(n);
		while (j == k);
		mut_at(m, k, &si, &ri);
		mut_at(m, j, &sj, &rj);
		t = m->s[si].r[ri];
		m->s[si].r[ri] = m->s[sj].r[rj];
		m->s[sj].r[rj] = t;
		snprintf(what, whatsz, "seq %" PRIu64 " <-> seq %" PRIu64, t.seq,
		    m->s[si].r[ri].seq);
		break;
	case K_TRUNCATE:
	case K_TRUNCATE_SEAL:
	case K_TRUNCATE_NOKEY:
		/* drop_key: the thief also deletes seclog.key (main does it) */
		if ((k = mut_pick_cut(m, kind == K_TRUNCATE_SEAL ? 1 :
		    kind == K_TRUNCATE ? 0 : (int)mut_below(2))) == SIZE_MAX) {
			fprintf(stderr, "mm_seclog_mutate: no cut point\n");
			exit(1);
		}
		mut_at(m, k, &si, &ri);
		snprintf(what, whatsz, "cut after seq %" PRIu64, m->s[si].r[ri].seq);
		mut_truncate_after(m, k);
		break;
	case K_SPLICE_RECORD:
		/* other's record of the same position (same seq and epoch) */
		k = mut_below(n < mut_nrec(other) ? n : mut_nrec(other));
		mut_at(m, k, &si, &ri);
		mut_at(other, k, &sj, &rj);
		m->s[si].r[ri] = other->s[sj].r[rj];
		snprintf(what, whatsz, "seq %" PRIu64 " from the other log",
		    m->s[si].r[ri].seq);
		break;
	case K_SPLICE_SEGMENT:
		si = mut_below(m->n);
		sj = si < other->n ? si : mut_below(other->n);
		mut_seg_replace(m, si, &other->s[sj]);
		snprintf(what, whatsz, "%s from the other log's %s", m->s[si].name,
		    other->s[sj].name);
		break;
	case K_REPLAY:
		si = m->n - 1;
		sj = mut_below(m->n - 1);	/* an earlier segment */
		switch (mut_below(3)) {
		case 0:
			mut_seg_replace(m, si, &m->s[sj]);
			snprintf(what, whatsz, "last segment replaced by %s",
			    m->s[sj].name);
			break;
		case 1:
			for (rj = 0; rj < m->s[sj].n; rj++)
				mut_rec_insert(&m->s[si], m->s[si].n, &m->s[sj].r[rj]);
			snprintf(what, whatsz, "records of %s appended to the last",
			    m->s[sj].name);
			break;
		default: {
			char name[64];

			snprintf(name, sizeof(name), "seg-%016" PRIx64 ".msl",
			    m->s[si].n > 0 ? m->s[si].r[m->s[si].n - 1].seq + 1 :
			    (uint64_t)n + 1);
			mut_seg_add(m, name, NULL, 0);
			mut_seg_replace(m, m->n - 1, &m->s[sj]);
			snprintf(what, whatsz, "%s added again as %s", m->s[sj].name,
			    name);
			break;
		}
		}
		break;
	default:
		fprintf(stderr, "mm_seclog_mutate: bad kind\n");
		exit(1);
	}
}

/* ---- main ---- */

static int
mut_untouched_ok(const struct mlog *a, const char *trial,
    const uint8_t key[MM_SECLOG_KEY_LEN], uint64_t records)
{
	struct mm_seclog_report rep;
	struct mlog c;
	int r;

	mut_clone(a, &c);
	mut_write(&c, trial);
	mut_free(&c);
	memset(&rep, 0, sizeof(rep));
	r = mm_seclog_verify_dir(trial, key, &rep);
	if (r != 0 || !rep.complete || rep.records != records ||
	    rep.last_seq != records) {
		fprintf(stderr, "mm_seclog_mutate: FALSE POSITIVE: untouched copy: "
		    "%s at seq %" PRIu64 ": %s (records %" PRIu64 " complete %d)\n",
		    mm_strerror(r), rep.error_seq, rep.what, rep.records,
		    rep.complete);
		return 0;
	}
	return 1;
}

int
main(int argc, char **argv)
{
	struct mut_stats st[K__COUNT];
	struct mm_seclog_report rep;
	struct mlog a, b, c;
	uint8_t keya[MM_SECLOG_KEY_LEN], keyb[MM_SECLOG_KEY_LEN];
	const char *work = NULL;
	char da[4096], db[4096], dt[4096], keyfile[4096], what[200];
	uint64_t trials = 1320, seed = 0, records, t, tot = 0, det = 0;
	int i, r, fp = 0, verbose = getenv("MUT_VERBOSE") != NULL;
	enum mut_kind kind;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--work") == 0)
			work = argv[i + 1];
		else if (strcmp(argv[i], "--trials") == 0)
			trials = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0)
			seed = strtoull(argv[i + 1], NULL, 10);
		else
			usage();
	}
	if (i != argc || work == NULL || trials == 0 || trials > 10000000)
		usage();
	if (mm_crypto_init() != 0)
		return 1;
	if (seed == 0)
		mm_random(&seed, sizeof(seed));
	mut_rng = seed | 1;
	printf("seed=%" PRIu64 "\n", seed);
	mut_path(da, sizeof(da), work, "a", NULL);
	mut_path(db, sizeof(db), work, "b", NULL);
	mut_path(dt, sizeof(dt), work, "trial", NULL);
	mut_make_log(da, keya);
	mut_make_log(db, keyb);
	mut_load(da, &a);
	mut_load(db, &b);
	mut_copy_state(da, dt);
	records = mut_nrec(&a);
	printf("log: records=%" PRIu64 " segments=%zu (other log: %zu records, "
	    "%zu segments)\n", records, a.n, mut_nrec(&b), b.n);
	/* the originals themselves, and the copy */
	memset(&rep, 0, sizeof(rep));
	if ((r = mm_seclog_verify_dir(da, keya, &rep)) != 0 || !rep.complete) {
		fprintf(stderr, "mm_seclog_mutate: original does not verify: %s: %s\n",
		    mm_strerror(r), rep.what);
		return 1;
	}
	printf("log: epochs=%" PRIu32 "..%" PRIu32 " seals=%" PRIu64 "\n",
	    rep.first_epoch, rep.last_epoch, rep.seals);
	if ((r = mm_seclog_verify_dir(db, keya, &rep)) == 0) {
		fprintf(stderr, "mm_seclog_mutate: b verifies with a's key\n");
		fp++;
	}
	if (a.n < 3 || !mut_untouched_ok(&a, dt, keya, records))
		return 1;

	memset(st, 0, sizeof(st));
	for (t = 0; t < trials; t++) {
		kind = (enum mut_kind)(t % K__COUNT);
		mut_clone(&a, &c);
		mut_apply(&c, &b, kind, what, sizeof(what));
		mut_write(&c, dt);
		if (kind == K_TRUNCATE_NOKEY) {
			mut_path(keyfile, sizeof(keyfile), dt, "seclog.key", NULL);
			if (unlink(keyfile) != 0)
				die(keyfile, MM_ERR_IO);
		}
		mut_free(&c);
		memset(&rep, 0, sizeof(rep));
		r = mm_seclog_verify_dir(dt, keya, &rep);
		st[kind].trials++;
		if (r != 0)
			st[kind].error++;
		else if (!rep.complete || rep.records != records ||
		    rep.last_seq != records)
			st[kind].report++;
		else
			printf("UNDETECTED %s: %s\n", mut_kind_name[kind], what);
		if (verbose)
			printf("%s: %s: %s%s%s\n", mut_kind_name[kind], what,
			    r != 0 ? mm_strerror(r) : "verifies",
			    r != 0 ? ": " : "", r != 0 ? rep.what : "");
		if (kind == K_TRUNCATE_NOKEY)
			mut_copy_state(da, dt);
		if (t % 100 == 99 && !mut_untouched_ok(&a, dt, keya, records))
			fp++;
	}
	for (i = 0; i < K__COUNT; i++) {
		printf("kind=%s trials=%" PRIu64 " detected=%" PRIu64 " error=%"
		    PRIu64 " report=%" PRIu64 "\n", mut_kind_name[i], st[i].trials,
		    st[i].error + st[i].report, st[i].error, st[i].report);
		tot += st[i].trials;
		det += st[i].error + st[i].report;
	}
	printf("total trials=%" PRIu64 " detected=%" PRIu64 " false_positives=%d\n",
	    tot, det, fp);
	mut_free(&a);
	mut_free(&b);
	mm_wipe(keya, sizeof(keya));
	mm_wipe(keyb, sizeof(keyb));
	return det == tot && fp == 0 ? 0 : 1;
}
