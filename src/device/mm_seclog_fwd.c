/*
 * mm_seclog_fwd.c - reading the sealed log in batches for the fleet
 * (decision 0009): whole records as they are on disk, from a given seq,
 * never past what is durable, with the tag that precedes them.
 */
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "device/mm_seclog_int.h"

struct mm_seclog_reader {
	char *dir;
	/* where the last batch ended: valid if seg != 0 */
	uint64_t seg;			/* the segment's first seq */
	uint64_t off;			/* file offset of the next record */
	uint64_t next;			/* its seq */
	uint8_t prev[MM_SECLOG_TAG_LEN];
};

int
mm_seclog_reader_new(const char *dir, struct mm_seclog_reader **out)
{
	struct mm_seclog_reader *rd;

	if (dir == NULL || out == NULL)
		return MM_ERR_INVALID_ARG;
	if ((rd = mm_calloc(1, sizeof(*rd))) == NULL)
		return MM_ERR_ALLOC;
	if ((rd->dir = mm_strdup(dir)) == NULL) {
		mm_free(rd);
		return MM_ERR_ALLOC;
	}
	*out = rd;
	return MM_OK;
}

void
mm_seclog_reader_free(struct mm_seclog_reader *rd)
{
	if (rd == NULL)
		return;
	mm_free(rd->dir);
	mm_freezero(rd, sizeof(*rd));
}

static int
rd_open(struct mm_seclog_reader *rd, uint64_t seg, struct mm_seclog_segrd *s)
{
	char path[SL_PATH_MAX];
	int r;

	if ((r = mm_seclog_seg_path(path, sizeof(path), rd->dir, seg)) != 0)
		return r;
	if ((r = mm_seclog_segrd_open(s, path)) != 0)
		return r == MM_ERR_NOT_FOUND || r == MM_ERR_IO ||
		    r == MM_ERR_ALLOC ? r : MM_ERR_CORRUPT;
	if (s->hdr.first_seq != seg) {
		mm_seclog_segrd_close(s);
		return MM_ERR_CORRUPT;
	}
	return MM_OK;
}

/*
 * Positions s at the record from (or at the first record the log still
 * has after it) by the segment list: the last segment starting at or
 * before from, or the first segment if from was removed.  *seg its name,
 * prev the tag before the record s will return next.
 */
static int
rd_find(struct mm_seclog_reader *rd, uint64_t from,
    struct mm_seclog_segrd *s, uint64_t *seg, uint8_t prev[MM_SECLOG_TAG_LEN])
{
	struct mm_seclog_record rec;
	char logdir[SL_PATH_MAX];
	const uint8_t *raw;
	uint64_t *seqs = NULL;
	size_t n = 0, i, len;
	int r;

	if ((r = mm_path_join(logdir, sizeof(logdir), rd->dir,
	    SL_LOG_DIR)) != 0 ||
	    (r = mm_seclog_segments(logdir, &seqs, &n)) != 0)
		return r;
	if (n == 0) {
		r = MM_ERR_NOT_FOUND;
		goto out;
	}
	for (i = n; i > 1 && seqs[i - 1] > from; i--)
		;
	*seg = seqs[i - 1];
	if ((r = rd_open(rd, *seg, s)) != 0)
		goto out;
	memcpy(prev, s->hdr.prev_tag, MM_SECLOG_TAG_LEN);
	if (*seg >= from)
		goto out;	/* from itself, or the first record left */
	/* walk to from; the record before it gives prev */
	for (;;) {
		if ((r = mm_seclog_segrd_next(s, &raw, &len, &rec)) != 0) {
			mm_seclog_segrd_close(s);
			/* the segment ends before from: nothing there yet */
			r = r == MM_ERR_NOT_FOUND || r == MM_ERR_SHORT ?
			    MM_ERR_NOT_FOUND : MM_ERR_CORRUPT;
			goto out;
		}
		if (rec.seq + 1 == from) {
			memcpy(prev, rec.tag, MM_SECLOG_TAG_LEN);
			break;
		}
		if (rec.seq >= from) {
			mm_seclog_segrd_close(s);
			r = MM_ERR_CORRUPT;
			goto out;
		}
	}
 out:
	mm_free(seqs);
	return r;
}

int
mm_seclog_reader_batch(struct mm_seclog_reader *rd, uint64_t from,
    uint64_t upto, uint8_t *buf, size_t max, struct mm_seclog_batch *b)
{
	struct mm_seclog_segrd s;
	struct mm_seclog_record rec;
	const uint8_t *raw;
	uint64_t seg, want, end;
	size_t len;
	int r, resumed = 0;

	if (rd == NULL || buf == NULL || b == NULL || from == 0)
		return MM_ERR_INVALID_ARG;
	memset(b, 0, sizeof(*b));
	if (from > upto)
		return MM_ERR_NOT_FOUND;
	/* on from where the last batch ended, if that segment still has more */
	if (rd->seg != 0 && rd->next == from &&
	    rd_open(rd, rd->seg, &s) == MM_OK) {
		if (mm_seclog_segrd_seek(&s, rd->off) == MM_OK) {
			r = mm_seclog_segrd_next(&s, &raw, &len, &rec);
			if (r == MM_OK && rec.seq == from) {
				seg = rd->seg;
				memcpy(b->prev, rd->prev, MM_SECLOG_TAG_LEN);
				resumed = 1;
			}
		}
		if (!resumed)
			mm_seclog_segrd_close(&s);
	}
	if (!resumed) {
		rd->seg = 0;
		if ((r = rd_find(rd, from, &s, &seg, b->prev)) != 0)
			return r;
		if ((r = mm_seclog_segrd_next(&s, &raw, &len, &rec)) != 0) {
			mm_seclog_segrd_close(&s);
			return r == MM_ERR_NOT_FOUND || r == MM_ERR_SHORT ?
			    MM_ERR_NOT_FOUND : MM_ERR_CORRUPT;
		}
		if (rec.seq < from) {
			mm_seclog_segrd_close(&s);
			return MM_ERR_CORRUPT;
		}
	}
	/* raw/rec hold the first record: seq from, or later if removed */
	b->first = want = rec.seq;
	if (b->first > upto) {
		r = MM_ERR_NOT_FOUND;
		goto out;
	}
	end = s.off - len;
	for (;;) {
		if (rec.seq != want) {
			r = MM_ERR_CORRUPT;
			goto out;
		}
		if (len > max - b->len) {
			if (b->n == 0) {
				r = MM_ERR_NO_SPACE;
				goto out;
			}
			break;
		}
		memcpy(buf + b->len, raw, len);
		b->len += len;
		b->n++;
		end = s.off;
		memcpy(rd->prev, rec.tag, MM_SECLOG_TAG_LEN);
		want++;
		if (want > upto)
			break;
		r = mm_seclog_segrd_next(&s, &raw, &len, &rec);
		if (r == MM_ERR_NOT_FOUND || r == MM_ERR_SHORT)
			break;		/* the segment's end (or what is written) */
		if (r != 0)
			goto out;
	}
	r = MM_OK;
	rd->seg = seg;
	rd->off = end;
	rd->next = want;
 out:
	if (r != MM_OK)
		rd->seg = 0;
	mm_seclog_segrd_close(&s);
	return r;
}
