/*
 * mm_seclog.c - the sealed log's writer (decision 0008): records are
 * encoded and tagged into one preallocated buffer, written and fdatasync'd
 * per group, epochs end with a durable SEAL before the key moves on, and
 * open cuts a torn tail back to the last record that verifies.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "device/mm_seclog_int.h"

/* Pending records: written out when full (not synced), so a group of any
 * size costs one write per 256 KiB. */
#define SL_WBUF (256 * 1024)
#define SL_SOURCE "seclog"
#define SL_SOURCE_LEN 6
#define SL_SEV_INFO 6

struct mm_seclog {
	struct mm_seclog_conf conf;
	char *dir;
	int lockfd;			/* flock'd: one writer per log */
	uint8_t log_id[MM_SECLOG_ID_LEN];
	uint8_t boot_id[16];
	struct mm_slk_frontier fr;	/* current epoch's key and later ones */
	struct mm_seclog_mac mac;	/* keyed with fr.leaf */
	int fd;				/* current segment, O_APPEND */
	uint64_t seg_size;		/* in the file and in wbuf */
	uint8_t *wbuf;
	size_t wlen;
	uint64_t last_seq, written_seq, durable_seq;
	uint8_t prev[MM_SECLOG_TAG_LEN];
	uint32_t count;			/* this epoch's records but its SEAL */
	int64_t epoch_start;		/* monotonic ms */
	int64_t group_start;		/* when the first waiting record came */
	uint32_t waiting;		/* records since the last sync */
	int failed;
};

void
mm_seclog_defaults(struct mm_seclog_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->epoch_records = 65536;
	c->epoch_ms = 60000;
	c->segment_bytes = 1024 * 1024;
	c->group_records = 512;
	c->group_ms = 50;
}

static int64_t
sl_clock_ms(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0 || ts.tv_sec < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* From /proc (hex with dashes); zeros where there is none. */
static void
sl_boot_id(uint8_t id[16])
{
	char buf[64], hex[33];
	uint8_t tmp[16];
	size_t i, j = 0;
	ssize_t n;
	int fd;

	memset(id, 0, 16);
	if ((fd = open("/proc/sys/kernel/random/boot_id",
	    O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	for (i = 0; n > 0 && i < (size_t)n && buf[i] != '\n'; i++) {
		if (buf[i] == '-')
			continue;
		if (j == 32)
			return;
		hex[j++] = buf[i];
	}
	hex[j] = '\0';
	if (j == 32 && mm_hex_decode(tmp, sizeof(tmp), hex) == 0)
		memcpy(id, tmp, sizeof(tmp));
}

/* After an I/O failure the file may hold part of a record: stop writing
 * until a reopen cuts it. */
static int
sl_fail(struct mm_seclog *l, int r)
{
	if (!l->failed)
		mm_log(MM_LOG_ERR, "seclog %s: %s; no more records until "
		    "reopened", l->dir, mm_strerror(r));
	l->failed = 1;
	return r;
}

/* Hands the buffer to the kernel (not durable yet). */
static int
sl_flush(struct mm_seclog *l)
{
	if (l->wlen == 0)
		return MM_OK;
	if (mm_file_write_all(l->fd, l->wbuf, l->wlen) != 0)
		return sl_fail(l, MM_ERR_IO);
	/* start writeback now, so that the next fdatasync (at the latest
	 * the SEAL's) finds less to wait for; only a hint */
	(void)sync_file_range(l->fd, (off_t)(l->seg_size - l->wlen),
	    (off_t)l->wlen, SYNC_FILE_RANGE_WRITE);
	l->wlen = 0;
	l->written_seq = l->last_seq;
	return MM_OK;
}

static int
sl_sync(struct mm_seclog *l)
{
	int r;

	if (l->failed)
		return MM_ERR_IO;
	if ((r = sl_flush(l)) != 0)
		return r;
	if (l->durable_seq < l->written_seq) {
		if (fdatasync(l->fd) != 0)
			return sl_fail(l, MM_ERR_IO);
		l->durable_seq = l->written_seq;
	}
	l->waiting = 0;
	return MM_OK;
}

/* Encodes, tags and buffers one record of the current epoch. */
static int
sl_put(struct mm_seclog *l, uint16_t type, uint8_t sev, const char *src,
    size_t slen, const void *payload, size_t plen)
{
	size_t need = 4 + SL_FIXED_LEN + 1 + slen + 2 + plen +
	    MM_SECLOG_TAG_LEN;
	int64_t mono;
	uint8_t *rec, *p;
	int r;

	if (need > SL_RAW_MAX)
		return MM_ERR_INTERNAL;
	if (l->last_seq == UINT64_MAX)
		return sl_fail(l, MM_ERR_RANGE);
	if (SL_WBUF - l->wlen < need && (r = sl_flush(l)) != 0)
		return r;
	mono = sl_clock_ms(CLOCK_MONOTONIC);
	rec = p = l->wbuf + l->wlen;
	sl_put32(p, (uint32_t)(need - 4));
	p[4] = SL_VERSION;
	sl_put64(p + 5, l->last_seq + 1);
	sl_put32(p + 13, l->fr.epoch);
	sl_put64(p + 17, (uint64_t)sl_clock_ms(CLOCK_REALTIME));
	sl_put64(p + 25, (uint64_t)mono);
	memcpy(p + 33, l->boot_id, 16);
	sl_put16(p + 49, type);
	p[51] = sev;
	p[52] = (uint8_t)slen;
	p += 53;
	memcpy(p, src, slen);
	p += slen;
	sl_put16(p, (uint16_t)plen);
	p += 2;
	if (plen > 0)
		memcpy(p, payload, plen);
	p += plen;
	if ((r = mm_seclog_mac_tag(&l->mac, l->prev, rec + 4,
	    (size_t)(p - rec - 4), p)) != 0)
		return sl_fail(l, r);
	memcpy(l->prev, p, MM_SECLOG_TAG_LEN);
	l->wlen += need;
	l->seg_size += need;
	l->last_seq++;
	if (l->waiting++ == 0)
		l->group_start = mono;
	return MM_OK;
}

/* A new segment for the next record; everything before is written. */
static int
sl_new_segment(struct mm_seclog *l)
{
	struct mm_seclog_seghdr h;
	uint8_t hdr[MM_SECLOG_SEG_HDR_LEN];
	char path[SL_PATH_MAX];
	int fd, r;

	if (l->wlen != 0)
		return MM_ERR_INTERNAL;
	memcpy(h.log_id, l->log_id, MM_SECLOG_ID_LEN);
	h.first_seq = l->last_seq + 1;
	h.first_epoch = l->fr.epoch;
	memcpy(h.prev_tag, l->prev, MM_SECLOG_TAG_LEN);
	mm_seclog_seghdr_encode(hdr, &h);
	/* the header appears whole (temporary file, rename, directory fsync) */
	if ((r = mm_seclog_seg_path(path, sizeof(path), l->dir,
	    h.first_seq)) != 0 ||
	    (r = mm_file_write_atomic(path, hdr, sizeof(hdr), 0600)) != 0)
		return r;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return MM_ERR_IO;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = fd;
	l->seg_size = MM_SECLOG_SEG_HDR_LEN;
	return MM_OK;
}

/* Right after a SEAL: segments start epochs. */
static int
sl_rotate_if_full(struct mm_seclog *l)
{
	int r;

	if (l->seg_size < l->conf.segment_bytes ||
	    l->seg_size <= MM_SECLOG_SEG_HDR_LEN)
		return MM_OK;
	if ((r = sl_new_segment(l)) != 0)
		return sl_fail(l, r);
	return MM_OK;
}

/*
 * The SEAL of the current epoch is durable: move the key on, wipe the old
 * one, and only then let records of the next epoch be written.
 */
static int
sl_evolve(struct mm_seclog *l)
{
	int r;

	if ((r = mm_slk_next(&l->fr)) != 0 ||
	    (r = mm_seclog_write_key(l->dir, &l->fr)) != 0 ||
	    (r = mm_seclog_mac_key(&l->mac, l->fr.leaf)) != 0)
		return sl_fail(l, r);
	l->count = 0;
	l->epoch_start = sl_clock_ms(CLOCK_MONOTONIC);
	return sl_rotate_if_full(l);
}

static int
sl_seal(struct mm_seclog *l)
{
	char payload[16];
	int n, r;

	n = snprintf(payload, sizeof(payload), "%u", (unsigned)l->count);
	if (n < 0 || (size_t)n >= sizeof(payload))
		return MM_ERR_INTERNAL;
	if ((r = sl_put(l, MM_SLT_SEAL, SL_SEV_INFO, SL_SOURCE, SL_SOURCE_LEN,
	    payload, (size_t)n)) != 0 ||
	    (r = sl_sync(l)) != 0)
		return r;
	return sl_evolve(l);
}

static int
sl_append(struct mm_seclog *l, uint16_t type, uint8_t sev, const char *src,
    size_t slen, const void *payload, size_t plen, uint64_t *seq)
{
	uint64_t s;
	int r;

	if (l->failed)
		return MM_ERR_IO;
	if (l->count >= l->conf.epoch_records && (r = sl_seal(l)) != 0)
		return r;
	if ((r = sl_put(l, type, sev, src, slen, payload, plen)) != 0)
		return r;
	s = l->last_seq;
	l->count++;
	if (l->conf.group_records > 0 && l->waiting >= l->conf.group_records &&
	    (r = sl_sync(l)) != 0)
		return r;
	if (seq != NULL)
		*seq = s;
	return MM_OK;
}

/* The segments' names and sizes; the last one is being written. */
static int
sl_seg_sizes(struct mm_seclog *l, uint64_t **seqs, uint64_t **sizes,
    size_t *n)
{
	char logdir[SL_PATH_MAX], path[SL_PATH_MAX];
	struct stat st;
	size_t i;
	int r;

	*sizes = NULL;
	if ((r = mm_path_join(logdir, sizeof(logdir), l->dir,
	    SL_LOG_DIR)) != 0 ||
	    (r = mm_seclog_segments(logdir, seqs, n)) != 0)
		return r;
	if (*n == 0)
		return MM_OK;
	if ((*sizes = mm_calloc(*n, sizeof(**sizes))) == NULL) {
		r = MM_ERR_ALLOC;
		goto fail;
	}
	for (i = 0; i < *n; i++) {
		if ((r = mm_seclog_seg_path(path, sizeof(path), l->dir,
		    (*seqs)[i])) != 0)
			goto fail;
		if (lstat(path, &st) != 0) {
			r = MM_ERR_IO;
			goto fail;
		}
		(*sizes)[i] = (uint64_t)st.st_size;
	}
	return MM_OK;
 fail:
	mm_free(*seqs);
	mm_free(*sizes);
	*seqs = *sizes = NULL;
	return r;
}

int
mm_seclog_retain(struct mm_seclog *l, uint64_t max_bytes, uint64_t acked,
    struct mm_seclog_retain_report *rep)
{
	struct mm_seclog_retain_report t;
	char path[SL_PATH_MAX], payload[128];
	uint64_t *seqs = NULL, *sizes = NULL, last;
	size_t n = 0, i;
	int len, r;

	memset(&t, 0, sizeof(t));
	if (l == NULL || max_bytes == 0)
		return MM_ERR_INVALID_ARG;
	if (l->failed)
		return MM_ERR_IO;
	/* what is appended reaches the files first: sizes are then true */
	if ((r = sl_flush(l)) != 0)
		return r;
	if ((r = sl_seg_sizes(l, &seqs, &sizes, &n)) != 0)
		return r;
	for (i = 0; i < n; i++)
		t.total += sizes[i];
	for (i = 0; i + 1 < n && t.total > max_bytes; i++) {
		last = seqs[i + 1] - 1;
		if ((r = mm_seclog_seg_path(path, sizeof(path), l->dir,
		    seqs[i])) != 0)
			goto out;
		if (unlink(path) != 0) {
			r = MM_ERR_IO;
			goto out;
		}
		t.segments++;
		t.bytes += sizes[i];
		t.total -= sizes[i];
		if (last > acked) {
			if (t.lost_from == 0)
				t.lost_from = seqs[i] > acked ? seqs[i] : acked + 1;
			t.lost_to = last;
		}
	}
	if (t.segments > 0 && (r = mm_file_sync_parent(path)) != 0)
		goto out;
	if (t.lost_from != 0) {
		len = snprintf(payload, sizeof(payload), "{\"from\":%llu,"
		    "\"to\":%llu,\"count\":%llu,\"reason\":\"retention\"}",
		    (unsigned long long)t.lost_from,
		    (unsigned long long)t.lost_to,
		    (unsigned long long)(t.lost_to - t.lost_from + 1));
		if (len < 0 || (size_t)len >= sizeof(payload)) {
			r = MM_ERR_INTERNAL;
			goto out;
		}
		mm_log(MM_LOG_WARN, "seclog %s: retention removed records "
		    "%llu..%llu the fleet does not hold", l->dir,
		    (unsigned long long)t.lost_from,
		    (unsigned long long)t.lost_to);
		if ((r = sl_append(l, MM_SLT_LOSS, 3, SL_SOURCE, SL_SOURCE_LEN,
		    payload, (size_t)len, &t.loss_seq)) != 0 ||
		    (r = sl_sync(l)) != 0)
			goto out;
	}
	r = MM_OK;
 out:
	if (rep != NULL)
		*rep = t;
	mm_free(seqs);
	mm_free(sizes);
	return r;
}

static int
sl_event_ok(const struct mm_seclog_event *ev, size_t *slen)
{
	size_t n;

	if (ev->type == 0 || (ev->type > MM_SLT_LOG_ACCESS &&
	    ev->type != MM_SLT_LOSS && ev->type != MM_SLT_TIME))
		return MM_ERR_INVALID_ARG;	/* SEAL too: the log's own */
	if (ev->severity > 7 || ev->source == NULL ||
	    (ev->payload == NULL && ev->payload_len > 0))
		return MM_ERR_INVALID_ARG;
	n = strnlen(ev->source, MM_SECLOG_SOURCE_MAX + 1);
	if (n == 0)
		return MM_ERR_INVALID_ARG;
	if (n > MM_SECLOG_SOURCE_MAX || ev->payload_len > MM_SECLOG_PAYLOAD_MAX)
		return MM_ERR_TOO_LARGE;
	*slen = n;
	return MM_OK;
}

int
mm_seclog_append(struct mm_seclog *l, const struct mm_seclog_event *ev,
    uint64_t *seq)
{
	size_t slen;
	int r;

	if (l == NULL || ev == NULL)
		return MM_ERR_INVALID_ARG;
	if ((r = sl_event_ok(ev, &slen)) != 0)
		return r;
	return sl_append(l, (uint16_t)ev->type, ev->severity, ev->source, slen,
	    ev->payload, ev->payload_len, seq);
}

int
mm_seclog_sync(struct mm_seclog *l, uint64_t *durable_seq)
{
	int r;

	if ((r = sl_sync(l)) != 0)
		return r;
	if (durable_seq != NULL)
		*durable_seq = l->durable_seq;
	return MM_OK;
}

int
mm_seclog_tick(struct mm_seclog *l)
{
	int64_t now;

	if (l->failed)
		return MM_ERR_IO;
	now = sl_clock_ms(CLOCK_MONOTONIC);
	if (now - l->epoch_start >= (int64_t)l->conf.epoch_ms)
		return sl_seal(l);	/* also an empty epoch */
	if (l->waiting > 0 && now - l->group_start >= (int64_t)l->conf.group_ms)
		return sl_sync(l);
	return MM_OK;
}

void
mm_seclog_position(const struct mm_seclog *l, uint64_t *last_seq,
    uint64_t *durable_seq, uint32_t *epoch)
{
	if (last_seq != NULL)
		*last_seq = l->last_seq;
	if (durable_seq != NULL)
		*durable_seq = l->durable_seq;
	if (epoch != NULL)
		*epoch = l->fr.epoch;
}

void
mm_seclog_id(const struct mm_seclog *l, uint8_t id[MM_SECLOG_ID_LEN])
{
	memcpy(id, l->log_id, MM_SECLOG_ID_LEN);
}

static void
sl_free(struct mm_seclog *l)
{
	if (l->fd >= 0)
		close(l->fd);
	if (l->lockfd >= 0)
		close(l->lockfd);
	mm_seclog_mac_free(&l->mac);
	mm_slk_wipe(&l->fr);
	mm_free(l->wbuf);
	mm_free(l->dir);
	mm_freezero(l, sizeof(*l));
}

int
mm_seclog_close(struct mm_seclog *l)
{
	int r;

	if (l == NULL)
		return MM_OK;
	if (l->failed)
		r = MM_ERR_IO;
	else if ((r = sl_append(l, MM_SLT_LOG_STOP, SL_SEV_INFO, SL_SOURCE,
	    SL_SOURCE_LEN, NULL, 0, NULL)) == 0)
		r = sl_seal(l);
	sl_free(l);
	return r;
}

void
mm_seclog_abandon(struct mm_seclog *l)
{
	if (l != NULL)
		sl_free(l);
}

/* ---- provisioning ---- */

static int
sl_exists(const char *dir, const char *name)
{
	char path[SL_PATH_MAX];
	struct stat st;

	if (mm_path_join(path, sizeof(path), dir, name) != 0)
		return 1;
	return lstat(path, &st) == 0 || errno != ENOENT;
}

int
mm_seclog_create_from(const char *dir, const uint8_t log_id[MM_SECLOG_ID_LEN],
    const uint8_t root_key[MM_SECLOG_KEY_LEN])
{
	struct mm_slk_frontier fr;
	char path[SL_PATH_MAX], hex[2 * MM_SECLOG_ID_LEN + 2];
	uint64_t *seqs = NULL;
	size_t n = 0;
	int r;

	if (dir == NULL || log_id == NULL || root_key == NULL)
		return MM_ERR_INVALID_ARG;
	memset(&fr, 0, sizeof(fr));
	if ((r = mm_file_mkdir(dir, 0700)) != 0 ||
	    (r = mm_path_join(path, sizeof(path), dir, SL_LOG_DIR)) != 0 ||
	    (r = mm_file_mkdir(path, 0700)) != 0 ||
	    (r = mm_seclog_segments(path, &seqs, &n)) != 0)
		return r;
	mm_free(seqs);
	/* seclog.key is written last: it makes the log */
	if (n > 0 || sl_exists(dir, SL_KEY_FILE))
		return MM_ERR_EXISTS;
	mm_hex_encode(hex, log_id, MM_SECLOG_ID_LEN);
	hex[2 * MM_SECLOG_ID_LEN] = '\n';
	if ((r = mm_path_join(path, sizeof(path), dir, SL_ID_FILE)) != 0 ||
	    (r = mm_file_write_atomic(path, hex, sizeof(hex) - 1, 0600)) != 0 ||
	    (r = mm_slk_init(&fr, root_key)) != 0)
		goto out;
	r = mm_seclog_write_key(dir, &fr);
 out:
	mm_slk_wipe(&fr);
	return r;
}

int
mm_seclog_create(const char *dir, uint8_t log_id[MM_SECLOG_ID_LEN],
    uint8_t root_key[MM_SECLOG_KEY_LEN])
{
	uint8_t id[MM_SECLOG_ID_LEN], root[MM_SECLOG_KEY_LEN];
	int r;

	mm_random(id, sizeof(id));
	mm_random(root, sizeof(root));
	if ((r = mm_seclog_create_from(dir, id, root)) == MM_OK) {
		memcpy(log_id, id, sizeof(id));
		memcpy(root_key, root, sizeof(root));
	}
	mm_wipe(root, sizeof(root));
	return r;
}

/* ---- open and recovery ---- */

/* The chain head the tail segment ends with. */
struct sl_tail {
	uint64_t seq;			/* the last good record's */
	uint8_t prev[MM_SECLOG_TAG_LEN];
	uint32_t epoch;
	int sealed;			/* the last record is its SEAL */
	uint32_t count;
	uint64_t end;			/* offset after the last good record */
};

/*
 * Is rec the next record after t?  Records of the current epoch must also
 * verify with its key; earlier ones cannot be checked here any more (their
 * keys are gone), only their place in the sequence.
 */
static int
sl_tail_next(struct mm_seclog *l, const struct sl_tail *t,
    const struct mm_seclog_record *rec, const uint8_t *raw, size_t len)
{
	uint8_t tag[MM_SECLOG_TAG_LEN];
	uint32_t want, n;
	int r;

	if (t->sealed && t->epoch == UINT32_MAX)
		return MM_ERR_FORMAT;
	want = t->sealed ? t->epoch + 1 : t->epoch;
	if (rec->seq != t->seq + 1 || rec->epoch != want || want > l->fr.epoch)
		return MM_ERR_FORMAT;
	if (want == l->fr.epoch) {
		if ((r = mm_seclog_mac_tag(&l->mac, t->prev, raw + 4,
		    len - 4 - MM_SECLOG_TAG_LEN, tag)) != 0)
			return r;
		if (mm_memeq_ct(tag, rec->tag, MM_SECLOG_TAG_LEN) != 0)
			return MM_ERR_SIGNATURE;
	}
	if (rec->type == MM_SLT_SEAL &&
	    (mm_seclog_seal_count(rec->payload, rec->payload_len, &n) != 0 ||
	    n != (t->sealed ? 0 : t->count)))
		return MM_ERR_FORMAT;
	return MM_OK;
}

/* Walks the tail segment; t->end is where its valid part ends. */
static int
sl_walk(struct mm_seclog *l, struct mm_seclog_segrd *s, struct sl_tail *t)
{
	struct mm_seclog_record rec;
	const uint8_t *raw;
	size_t len;
	int r;

	memset(t, 0, sizeof(*t));
	t->seq = s->hdr.first_seq - 1;
	memcpy(t->prev, s->hdr.prev_tag, MM_SECLOG_TAG_LEN);
	t->epoch = s->hdr.first_epoch;
	t->end = MM_SECLOG_SEG_HDR_LEN;
	for (;;) {
		r = mm_seclog_segrd_next(s, &raw, &len, &rec);
		if (r == MM_ERR_NOT_FOUND)
			return MM_OK;
		if (r == MM_ERR_IO || r == MM_ERR_ALLOC)
			return r;
		if (r == MM_OK)
			r = sl_tail_next(l, t, &rec, raw, len);
		if (r == MM_ERR_CRYPTO)
			return r;
		if (r != MM_OK) {
			/* synced before the key moved on: not a torn write */
			if ((t->sealed ? t->epoch + 1 : t->epoch) <
			    l->fr.epoch) {
				mm_log(MM_LOG_ERR, "seclog %s: damaged record "
				    "after seq %llu, before the current epoch",
				    l->dir, (unsigned long long)t->seq);
				return MM_ERR_CORRUPT;
			}
			return MM_OK;
		}
		if (t->sealed) {
			t->epoch++;
			t->sealed = 0;
			t->count = 0;
		}
		if (rec.type == MM_SLT_SEAL)
			t->sealed = 1;
		else
			t->count++;
		t->seq = rec.seq;
		memcpy(t->prev, rec.tag, MM_SECLOG_TAG_LEN);
		t->end = s->off;
	}
}

/* Finds the chain head in the tail segment and cuts what follows it. */
static int
sl_recover_tail(struct mm_seclog *l, uint64_t name_seq, size_t *cut)
{
	struct mm_seclog_segrd s;
	struct sl_tail t;
	char path[SL_PATH_MAX];
	struct stat st;
	int r;

	if ((r = mm_seclog_seg_path(path, sizeof(path), l->dir, name_seq)) != 0)
		return r;
	if ((r = mm_seclog_segrd_open(&s, path)) != 0)
		return r == MM_ERR_IO || r == MM_ERR_ALLOC ? r : MM_ERR_CORRUPT;
	if (memcmp(s.hdr.log_id, l->log_id, MM_SECLOG_ID_LEN) != 0 ||
	    s.hdr.first_seq != name_seq || s.hdr.first_epoch > l->fr.epoch)
		r = MM_ERR_CORRUPT;
	else
		r = sl_walk(l, &s, &t);
	mm_seclog_segrd_close(&s);
	if (r != 0)
		return r;
	/* the key moves on only after its epoch's SEAL is durable */
	if (t.epoch != l->fr.epoch &&
	    !(t.sealed && (uint64_t)t.epoch + 1 == l->fr.epoch)) {
		mm_log(MM_LOG_ERR, "seclog %s: log ends in epoch %u, key is "
		    "at %u", l->dir, (unsigned)t.epoch, (unsigned)l->fr.epoch);
		return MM_ERR_CORRUPT;
	}
	l->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (l->fd < 0 || fstat(l->fd, &st) != 0)
		return MM_ERR_IO;
	*cut = 0;
	if ((uint64_t)st.st_size > t.end) {
		if (ftruncate(l->fd, (off_t)t.end) != 0 || fsync(l->fd) != 0)
			return MM_ERR_IO;
		*cut = (size_t)((uint64_t)st.st_size - t.end);
		mm_log(MM_LOG_WARN, "seclog %s: cut %zu bytes after seq %llu",
		    l->dir, *cut, (unsigned long long)t.seq);
	}
	l->seg_size = t.end;
	l->last_seq = l->written_seq = l->durable_seq = t.seq;
	memcpy(l->prev, t.prev, MM_SECLOG_TAG_LEN);
	l->count = t.sealed ? 0 : t.count;
	if (t.sealed && t.epoch == l->fr.epoch) {
		/* crashed between the SEAL's sync and the key file */
		mm_log(MM_LOG_NOTICE, "seclog %s: completing the end of "
		    "epoch %u", l->dir, (unsigned)t.epoch);
		return sl_evolve(l);
	}
	return t.sealed ? sl_rotate_if_full(l) : MM_OK;
}

static int
sl_recover(struct mm_seclog *l, size_t *cut)
{
	char logdir[SL_PATH_MAX];
	uint64_t *seqs = NULL;
	size_t n = 0;
	int r;

	*cut = 0;
	if ((r = mm_path_join(logdir, sizeof(logdir), l->dir,
	    SL_LOG_DIR)) != 0 ||
	    (r = mm_file_mkdir(logdir, 0700)) != 0 ||
	    (r = mm_seclog_segments(logdir, &seqs, &n)) != 0)
		return r;
	if (n > 0)
		r = sl_recover_tail(l, seqs[n - 1], cut);
	else if (l->fr.epoch != 0) {
		mm_log(MM_LOG_ERR, "seclog %s: no segments, key at epoch %u",
		    l->dir, (unsigned)l->fr.epoch);
		r = MM_ERR_CORRUPT;
	} else
		r = sl_new_segment(l);	/* a new log: seq 1, epoch 0 */
	mm_free(seqs);
	return r;
}

static int
sl_lock(struct mm_seclog *l)
{
	if ((l->lockfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? MM_ERR_NOT_FOUND : MM_ERR_IO;
	if (flock(l->lockfd, LOCK_EX | LOCK_NB) != 0)
		return errno == EWOULDBLOCK ? MM_ERR_STATE : MM_ERR_IO;
	return MM_OK;
}

int
mm_seclog_open(const struct mm_seclog_conf *c, struct mm_seclog **out,
    size_t *cut)
{
	struct mm_seclog *l;
	char payload[40];
	size_t cutn = 0;
	int n, r;

	if (c == NULL || c->dir == NULL || out == NULL ||
	    c->epoch_records == 0 || c->epoch_ms == 0 || c->segment_bytes == 0)
		return MM_ERR_INVALID_ARG;
	if ((l = mm_calloc(1, sizeof(*l))) == NULL)
		return MM_ERR_ALLOC;
	l->fd = l->lockfd = -1;
	l->conf = *c;
	if ((l->dir = mm_strdup(c->dir)) == NULL ||
	    (l->wbuf = mm_malloc(SL_WBUF)) == NULL) {
		r = MM_ERR_ALLOC;
		goto fail;
	}
	l->conf.dir = l->dir;
	if ((r = sl_lock(l)) != 0 ||
	    (r = mm_seclog_read_id(l->dir, l->log_id)) != 0 ||
	    (r = mm_seclog_read_key(l->dir, &l->fr)) != 0 ||
	    (r = mm_seclog_mac_new(&l->mac, l->log_id)) != 0 ||
	    (r = mm_seclog_mac_key(&l->mac, l->fr.leaf)) != 0)
		goto fail;
	sl_boot_id(l->boot_id);
	l->epoch_start = sl_clock_ms(CLOCK_MONOTONIC);
	if ((r = sl_recover(l, &cutn)) != 0)
		goto fail;
	n = snprintf(payload, sizeof(payload), "{\"cut\":%zu}", cutn);
	if (n < 0 || (size_t)n >= sizeof(payload)) {
		r = MM_ERR_INTERNAL;
		goto fail;
	}
	if ((r = sl_append(l, MM_SLT_LOG_START, SL_SEV_INFO, SL_SOURCE,
	    SL_SOURCE_LEN, payload, (size_t)n, NULL)) != 0 ||
	    (r = sl_sync(l)) != 0)
		goto fail;
	if (cut != NULL)
		*cut = cutn;
	*out = l;
	return MM_OK;
 fail:
	sl_free(l);
	return r;
}
