/*
 * mm_seclog_verify.c - reading the sealed log: the record decoder, the
 * verifier (decision 0008: chain, sequence, epochs and SEALs, a tag under
 * the key of the epoch the sequence says), and whole-directory checks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "device/mm_seclog_int.h"

/*
 * A bounded reader over one record, on the stack: mm_buf_from would
 * allocate per record on the verifier's hot path.  Same contract: every
 * read checks what is left.
 */
struct sl_cur {
	const uint8_t *p;
	size_t left;
};

static int
sl_cur_get(struct sl_cur *c, size_t n, const uint8_t **out)
{
	if (c->left < n)
		return MM_ERR_FORMAT;
	*out = c->p;
	c->p += n;
	c->left -= n;
	return MM_OK;
}

static int
sl_cur_uint(struct sl_cur *c, size_t n, uint64_t *v)
{
	const uint8_t *p;
	size_t i;
	int r;

	if ((r = sl_cur_get(c, n, &p)) != 0)
		return r;
	*v = 0;
	for (i = 0; i < n; i++)
		*v = *v << 8 | p[i];
	return MM_OK;
}

int
mm_seclog_decode(const uint8_t *buf, size_t len, struct mm_seclog_record *rec,
    size_t *used)
{
	struct mm_seclog_record tmp;
	struct sl_cur c;
	const uint8_t *p;
	uint64_t v, rlen, slen, plen;
	int r;

	if (buf == NULL || len < 4)
		return MM_ERR_SHORT;
	c.p = buf;
	c.left = len;
	(void)sl_cur_uint(&c, 4, &rlen);
	if (rlen > MM_SECLOG_RECORD_MAX)
		return MM_ERR_TOO_LARGE;
	if (rlen < SL_BODY_MIN)
		return MM_ERR_FORMAT;
	if (c.left < rlen)
		return MM_ERR_SHORT;
	c.left = (size_t)rlen;	/* from here on, only this record */

	memset(&tmp, 0, sizeof(tmp));
	if ((r = sl_cur_uint(&c, 1, &v)) != 0)
		return r;
	if (v != SL_VERSION)
		return MM_ERR_FORMAT;
	if ((r = sl_cur_uint(&c, 8, &tmp.seq)) != 0 ||
	    (r = sl_cur_uint(&c, 4, &v)) != 0)
		return r;
	tmp.epoch = (uint32_t)v;
	if ((r = sl_cur_uint(&c, 8, &tmp.wall_ms)) != 0 ||
	    (r = sl_cur_uint(&c, 8, &tmp.mono_ms)) != 0 ||
	    (r = sl_cur_get(&c, sizeof(tmp.boot_id), &p)) != 0)
		return r;
	memcpy(tmp.boot_id, p, sizeof(tmp.boot_id));
	if ((r = sl_cur_uint(&c, 2, &v)) != 0)
		return r;
	tmp.type = (uint16_t)v;
	if ((r = sl_cur_uint(&c, 1, &v)) != 0)
		return r;
	tmp.severity = (uint8_t)v;
	if (tmp.seq == 0 || tmp.severity > 7)
		return MM_ERR_FORMAT;

	if ((r = sl_cur_uint(&c, 1, &slen)) != 0)
		return r;
	if (slen > MM_SECLOG_SOURCE_MAX)
		return MM_ERR_TOO_LARGE;
	if (slen == 0 || (r = sl_cur_get(&c, (size_t)slen, &p)) != 0 ||
	    memchr(p, '\0', (size_t)slen) != NULL)
		return MM_ERR_FORMAT;
	tmp.source = (const char *)p;
	tmp.source_len = (size_t)slen;

	if ((r = sl_cur_uint(&c, 2, &plen)) != 0)
		return r;
	if (plen > MM_SECLOG_PAYLOAD_MAX)
		return MM_ERR_TOO_LARGE;
	/* the payload and the tag end the record exactly */
	if (c.left != plen + MM_SECLOG_TAG_LEN)
		return MM_ERR_FORMAT;
	(void)sl_cur_get(&c, (size_t)plen, &tmp.payload);
	tmp.payload_len = (size_t)plen;
	(void)sl_cur_get(&c, MM_SECLOG_TAG_LEN, &p);
	memcpy(tmp.tag, p, MM_SECLOG_TAG_LEN);
	*rec = tmp;
	*used = 4 + (size_t)rlen;
	return MM_OK;
}

static const struct {
	const char *name;
	uint16_t type;
} sl_types[] = {
	{ "attack", MM_SLT_ATTACK },
	{ "auth", MM_SLT_AUTH },
	{ "data_access", MM_SLT_DATA_ACCESS },
	{ "config", MM_SLT_CONFIG },
	{ "exec", MM_SLT_EXEC },
	{ "comm", MM_SLT_COMM },
	{ "tamper", MM_SLT_TAMPER },
	{ "checksum", MM_SLT_CHECKSUM },
	{ "movement", MM_SLT_MOVEMENT },
	{ "hw_failure", MM_SLT_HW_FAILURE },
	{ "sw_failure", MM_SLT_SW_FAILURE },
	{ "result", MM_SLT_RESULT },
	{ "state", MM_SLT_STATE },
	{ "environment", MM_SLT_ENVIRONMENT },
	{ "resource", MM_SLT_RESOURCE },
	{ "update", MM_SLT_UPDATE },
	/* the log's own: shown, filterable, never appended by hand */
	{ "log_start", MM_SLT_LOG_START },
	{ "log_stop", MM_SLT_LOG_STOP },
	{ "log_access", MM_SLT_LOG_ACCESS },
	{ "seal", MM_SLT_SEAL },
	{ "loss", MM_SLT_LOSS },
	{ "time", MM_SLT_TIME },
};
#define SL_NTYPES (sizeof(sl_types) / sizeof(sl_types[0]))
#define SL_NUSER_TYPES 16	/* the first ones: what callers append */

const char *
mm_seclog_type_name(uint16_t type)
{
	size_t i;

	for (i = 0; i < SL_NTYPES; i++)
		if (sl_types[i].type == type)
			return sl_types[i].name;
	return NULL;
}

int
mm_seclog_type_parse(const char *name, int user_only, uint16_t *out)
{
	size_t i, n = user_only ? SL_NUSER_TYPES : SL_NTYPES;

	for (i = 0; i < n; i++)
		if (strcmp(sl_types[i].name, name) == 0) {
			*out = sl_types[i].type;
			return MM_OK;
		}
	return MM_ERR_INVALID_ARG;
}

struct mm_seclog_verifier {
	struct mm_slk_frontier fr;	/* at the current epoch */
	struct mm_seclog_mac mac;	/* keyed with fr.leaf */
	uint64_t next_seq;
	uint32_t epoch;			/* current epoch */
	int sealed;			/* the last record was its SEAL */
	int count_known;		/* we saw the epoch begin */
	uint64_t count;			/* its records so far, SEAL excluded */
	uint8_t prev[MM_SECLOG_TAG_LEN];
	struct mm_seclog_report rep;
};

static int vfail(struct mm_seclog_verifier *, int, uint64_t, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/* Keeps the first problem: every later feed returns it. */
static int
vfail(struct mm_seclog_verifier *v, int err, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	if (v->rep.error != 0)
		return v->rep.error;
	v->rep.error = err;
	v->rep.error_seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->rep.what, sizeof(v->rep.what), fmt, ap);
	va_end(ap);
	return err;
}

int
mm_seclog_verifier_new(const uint8_t log_id[MM_SECLOG_ID_LEN],
    const uint8_t root_key[MM_SECLOG_KEY_LEN], uint64_t start_seq,
    uint32_t start_epoch, const uint8_t prev_tag[MM_SECLOG_TAG_LEN],
    struct mm_seclog_verifier **out)
{
	static const uint8_t zero[MM_SECLOG_TAG_LEN];
	struct mm_seclog_verifier *v;
	int r;

	if (log_id == NULL || root_key == NULL || prev_tag == NULL ||
	    start_seq == 0 || (start_seq == 1 && (start_epoch != 0 ||
	    memcmp(prev_tag, zero, sizeof(zero)) != 0)))
		return MM_ERR_INVALID_ARG;
	if ((v = mm_calloc(1, sizeof(*v))) == NULL)
		return MM_ERR_ALLOC;
	if ((r = mm_seclog_mac_new(&v->mac, log_id)) != 0)
		goto fail;
	if ((r = mm_slk_init_at(&v->fr, root_key, start_epoch)) != 0 ||
	    (r = mm_seclog_mac_key(&v->mac, v->fr.leaf)) != 0)
		goto fail;
	v->next_seq = start_seq;
	v->epoch = start_epoch;
	v->count_known = start_seq == 1;
	memcpy(v->prev, prev_tag, MM_SECLOG_TAG_LEN);
	*out = v;
	return MM_OK;
 fail:
	mm_seclog_verifier_free(v);
	return r;
}

void
mm_seclog_verifier_free(struct mm_seclog_verifier *v)
{
	if (v == NULL)
		return;
	mm_seclog_mac_free(&v->mac);
	mm_freezero(v, sizeof(*v));
}

void
mm_seclog_verifier_report(const struct mm_seclog_verifier *v,
    struct mm_seclog_report *out)
{
	*out = v->rep;
}

void
mm_seclog_vstate_init(struct mm_seclog_vstate *st)
{
	memset(st, 0, sizeof(*st));
	st->next_seq = 1;
	st->count_known = 1;
}

int
mm_seclog_verifier_state(const struct mm_seclog_verifier *v,
    struct mm_seclog_vstate *st)
{
	if (v->rep.error != 0)
		return MM_ERR_STATE;
	memset(st, 0, sizeof(*st));
	st->next_seq = v->next_seq;
	st->epoch = v->epoch;
	st->sealed = (uint8_t)v->sealed;
	st->count_known = (uint8_t)v->count_known;
	st->count = v->count;
	memcpy(st->prev, v->prev, MM_SECLOG_TAG_LEN);
	return MM_OK;
}

int
mm_seclog_verifier_resume(const uint8_t log_id[MM_SECLOG_ID_LEN],
    const uint8_t root_key[MM_SECLOG_KEY_LEN],
    const struct mm_seclog_vstate *st, struct mm_seclog_verifier **out)
{
	static const uint8_t zero[MM_SECLOG_TAG_LEN];
	struct mm_seclog_verifier *v;
	int r;

	if (st == NULL || st->sealed > 1 || st->count_known > 1 ||
	    st->count > UINT32_MAX || st->next_seq == 0 ||
	    (st->next_seq == 1 && (st->epoch != 0 || st->sealed ||
	    !st->count_known || st->count != 0 ||
	    memcmp(st->prev, zero, sizeof(zero)) != 0)) ||
	    st->count >= st->next_seq)
		return MM_ERR_INVALID_ARG;
	if ((r = mm_seclog_verifier_new(log_id, root_key, st->next_seq,
	    st->epoch, st->prev, &v)) != 0)
		return r;
	v->sealed = st->sealed;
	v->count_known = st->count_known;
	v->count = st->count;
	*out = v;
	return MM_OK;
}

/* Is the record in the right place: its seq and its epoch? */
static int
verifier_place(struct mm_seclog_verifier *v, const struct mm_seclog_record *rec)
{
	uint32_t want;

	if (rec->seq < v->next_seq)
		return vfail(v, MM_ERR_REPLAY, rec->seq,
		    "seq %llu goes back (expected %llu)",
		    (unsigned long long)rec->seq,
		    (unsigned long long)v->next_seq);
	if (rec->seq > v->next_seq)
		return vfail(v, MM_ERR_CORRUPT, v->next_seq,
		    "records %llu..%llu missing",
		    (unsigned long long)v->next_seq,
		    (unsigned long long)rec->seq - 1);
	if (v->sealed && v->epoch == UINT32_MAX)
		return vfail(v, MM_ERR_CORRUPT, rec->seq,
		    "record after the last epoch");
	want = v->sealed ? v->epoch + 1 : v->epoch;
	if (rec->epoch == want)
		return MM_OK;
	if (v->sealed && rec->epoch == v->epoch)
		return vfail(v, MM_ERR_CORRUPT, rec->seq,
		    "record of epoch %u after its SEAL", (unsigned)rec->epoch);
	if (!v->sealed && rec->epoch == v->epoch + 1)
		return vfail(v, MM_ERR_CORRUPT, rec->seq,
		    "SEAL of epoch %u missing", (unsigned)v->epoch);
	return vfail(v, MM_ERR_CORRUPT, rec->seq,
	    "record of epoch %u where epoch %u belongs", (unsigned)rec->epoch,
	    (unsigned)want);
}

/* The checks on one decoded record; raw[0..len) is its encoding. */
static int
verifier_check(struct mm_seclog_verifier *v, const struct mm_seclog_record *rec,
    const uint8_t *raw, size_t len)
{
	uint8_t tag[MM_SECLOG_TAG_LEN];
	uint32_t n;
	int r;

	if (v->rep.error != 0)
		return v->rep.error;
	if ((r = verifier_place(v, rec)) != 0)
		return r;
	if (v->sealed) {
		/* the record begins the next epoch: its key, a fresh count */
		if ((r = mm_slk_next(&v->fr)) != 0 ||
		    (r = mm_seclog_mac_key(&v->mac, v->fr.leaf)) != 0)
			return vfail(v, r, rec->seq, "key of epoch %u: %s",
			    (unsigned)rec->epoch, mm_strerror(r));
		v->epoch++;
		v->sealed = 0;
		v->count = 0;
		v->count_known = 1;
	}
	/* the key is the one of the epoch the sequence says */
	if ((r = mm_seclog_mac_tag(&v->mac, v->prev, raw + 4,
	    len - 4 - MM_SECLOG_TAG_LEN, tag)) != 0)
		return vfail(v, r, rec->seq, "HMAC failed");
	if (mm_memeq_ct(tag, rec->tag, MM_SECLOG_TAG_LEN) != 0)
		return vfail(v, MM_ERR_SIGNATURE, rec->seq,
		    "tag does not verify (seq %llu, epoch %u)",
		    (unsigned long long)rec->seq, (unsigned)rec->epoch);
	if (rec->type == MM_SLT_SEAL) {
		if (mm_seclog_seal_count(rec->payload, rec->payload_len,
		    &n) != 0)
			return vfail(v, MM_ERR_CORRUPT, rec->seq,
			    "SEAL of epoch %u has no count",
			    (unsigned)v->epoch);
		if (v->count_known ? n != v->count : n < v->count)
			return vfail(v, MM_ERR_CORRUPT, rec->seq,
			    "SEAL of epoch %u counts %u records, the log "
			    "has %llu",
			    (unsigned)v->epoch, (unsigned)n,
			    (unsigned long long)v->count);
		v->sealed = 1;
		v->rep.seals++;
	} else
		v->count++;
	memcpy(v->prev, rec->tag, MM_SECLOG_TAG_LEN);
	if (v->rep.records == 0) {
		v->rep.first_seq = rec->seq;
		v->rep.first_epoch = rec->epoch;
	}
	v->rep.records++;
	v->rep.last_seq = rec->seq;
	v->rep.last_epoch = rec->epoch;
	v->rep.complete = v->sealed;
	v->next_seq++;
	return MM_OK;
}

int
mm_seclog_verify_record(struct mm_seclog_verifier *v, const uint8_t *raw,
    size_t len)
{
	struct mm_seclog_record rec;
	size_t used;
	int r;

	if (v->rep.error != 0)
		return v->rep.error;
	if ((r = mm_seclog_decode(raw, len, &rec, &used)) != 0)
		return vfail(v, r, v->next_seq, "malformed record: %s",
		    mm_strerror(r));
	if (used != len)
		return vfail(v, MM_ERR_TRAILING, rec.seq,
		    "%zu bytes after the record", len - used);
	return verifier_check(v, &rec, raw, len);
}

/* Segment header against the chain so far: it must start the next epoch. */
static int
verify_seghdr(struct mm_seclog_verifier *v,
    const uint8_t log_id[MM_SECLOG_ID_LEN], uint64_t name_seq,
    const struct mm_seclog_seghdr *h)
{
	uint32_t want;

	if (memcmp(h->log_id, log_id, MM_SECLOG_ID_LEN) != 0)
		return vfail(v, MM_ERR_CORRUPT, h->first_seq,
		    "segment %016llx belongs to another log",
		    (unsigned long long)name_seq);
	if (h->first_seq != name_seq)
		return vfail(v, MM_ERR_CORRUPT, h->first_seq,
		    "segment %016llx says it starts at seq %llu",
		    (unsigned long long)name_seq,
		    (unsigned long long)h->first_seq);
	if (h->first_seq < v->next_seq)
		return vfail(v, MM_ERR_REPLAY, h->first_seq,
		    "segment %016llx goes back (expected seq %llu)",
		    (unsigned long long)name_seq,
		    (unsigned long long)v->next_seq);
	if (h->first_seq > v->next_seq)
		return vfail(v, MM_ERR_CORRUPT, v->next_seq,
		    "records %llu..%llu missing before segment %016llx",
		    (unsigned long long)v->next_seq,
		    (unsigned long long)h->first_seq - 1,
		    (unsigned long long)name_seq);
	if (v->rep.records > 0 && !v->sealed)
		return vfail(v, MM_ERR_CORRUPT, h->first_seq,
		    "segment %016llx begins inside epoch %u",
		    (unsigned long long)name_seq, (unsigned)v->epoch);
	want = v->rep.records > 0 ? v->epoch + 1 : v->epoch;
	if (h->first_epoch != want || (v->sealed && v->epoch == UINT32_MAX))
		return vfail(v, MM_ERR_CORRUPT, h->first_seq,
		    "segment %016llx says epoch %u, the log is at %u",
		    (unsigned long long)name_seq, (unsigned)h->first_epoch,
		    (unsigned)want);
	if (memcmp(h->prev_tag, v->prev, MM_SECLOG_TAG_LEN) != 0)
		return vfail(v, MM_ERR_CORRUPT, h->first_seq,
		    "segment %016llx: previous tag does not match the chain",
		    (unsigned long long)name_seq);
	return MM_OK;
}

static int
verify_segment(struct mm_seclog_verifier *v, const char *dir,
    const uint8_t log_id[MM_SECLOG_ID_LEN], uint64_t name_seq)
{
	struct mm_seclog_segrd s;
	struct mm_seclog_record rec;
	char path[SL_PATH_MAX];
	const uint8_t *raw;
	size_t len;
	int r;

	if ((r = mm_seclog_seg_path(path, sizeof(path), dir, name_seq)) != 0)
		return vfail(v, r, v->next_seq, "path too long");
	if ((r = mm_seclog_segrd_open(&s, path)) != 0)
		return vfail(v, r == MM_ERR_SHORT ? MM_ERR_FORMAT : r, name_seq,
		    "segment %016llx: bad header (%s)",
		    (unsigned long long)name_seq, mm_strerror(r));
	if ((r = verify_seghdr(v, log_id, name_seq, &s.hdr)) != 0)
		goto out;
	while ((r = mm_seclog_segrd_next(&s, &raw, &len, &rec)) == MM_OK)
		if ((r = verifier_check(v, &rec, raw, len)) != 0)
			goto out;
	if (r == MM_ERR_NOT_FOUND)
		r = MM_OK;
	else if (r == MM_ERR_SHORT)
		r = vfail(v, r, v->next_seq,
		    "segment %016llx ends inside a record (offset %llu)",
		    (unsigned long long)name_seq, (unsigned long long)s.off);
	else
		r = vfail(v, r, v->next_seq,
		    "segment %016llx: malformed record at offset %llu (%s)",
		    (unsigned long long)name_seq, (unsigned long long)s.off,
		    mm_strerror(r));
 out:
	mm_seclog_segrd_close(&s);
	return r;
}

/* seclog.key, if there, must be this root's frontier, and the log must
 * reach its epoch: otherwise the log was cut back. */
static int
verify_keyfile(struct mm_seclog_verifier *v, const char *dir,
    const uint8_t root_key[MM_SECLOG_KEY_LEN])
{
	struct mm_slk_frontier fr, want;
	uint8_t a[MM_SLK_WIRE_MAX], b[MM_SLK_WIRE_MAX];
	size_t alen = 0, blen = 0;
	uint32_t e;
	int r, ok;

	memset(&want, 0, sizeof(want));
	if ((r = mm_seclog_read_key(dir, &fr)) == MM_ERR_NOT_FOUND)
		return MM_OK;
	if (r != 0)
		return vfail(v, r, v->next_seq, "seclog.key: %s",
		    mm_strerror(r));
	e = fr.epoch;
	if ((r = mm_slk_init_at(&want, root_key, e)) != 0 ||
	    (r = mm_slk_encode(&fr, a, sizeof(a), &alen)) != 0 ||
	    (r = mm_slk_encode(&want, b, sizeof(b), &blen)) != 0) {
		r = vfail(v, r, v->next_seq, "seclog.key: %s", mm_strerror(r));
		goto out;
	}
	if (alen != blen || mm_memeq_ct(a, b, alen) != 0) {
		r = vfail(v, MM_ERR_CORRUPT, v->next_seq,
		    "seclog.key is not this log's key of epoch %u",
		    (unsigned)e);
		goto out;
	}
	if (v->rep.records == 0)
		ok = e == v->epoch;
	else if (v->sealed)
		ok = e == v->epoch ||
		    (v->epoch < UINT32_MAX && e == v->epoch + 1);
	else
		ok = e == v->epoch;
	if (!ok)
		r = vfail(v, MM_ERR_CORRUPT, v->next_seq,
		    "log ends in epoch %u%s but the key is at epoch %u: "
		    "cut back", (unsigned)v->epoch,
		    v->sealed ? " (sealed)" : "", (unsigned)e);
 out:
	mm_wipe(a, sizeof(a));
	mm_wipe(b, sizeof(b));
	mm_slk_wipe(&fr);
	mm_slk_wipe(&want);
	return r;
}

/* The first segment left after retention: where its chain starts. */
static int
verify_first_header(const char *dir, uint64_t seq, uint32_t *epoch,
    uint8_t prev[MM_SECLOG_TAG_LEN])
{
	struct mm_seclog_segrd s;
	char path[SL_PATH_MAX];
	int r;

	if ((r = mm_seclog_seg_path(path, sizeof(path), dir, seq)) != 0 ||
	    (r = mm_seclog_segrd_open(&s, path)) != 0)
		return r;
	*epoch = s.hdr.first_epoch;
	memcpy(prev, s.hdr.prev_tag, MM_SECLOG_TAG_LEN);
	mm_seclog_segrd_close(&s);
	return MM_OK;
}

static int
verify_dir(const char *dir, const uint8_t root_key[MM_SECLOG_KEY_LEN],
    int retained, struct mm_seclog_report *rep)
{
	struct mm_seclog_verifier *v = NULL;
	uint8_t log_id[MM_SECLOG_ID_LEN], start_prev[MM_SECLOG_TAG_LEN];
	uint32_t start_epoch = 0;
	char logdir[SL_PATH_MAX];
	uint64_t *seqs = NULL;
	size_t n = 0, i;
	int r;

	memset(rep, 0, sizeof(*rep));
	memset(start_prev, 0, sizeof(start_prev));
	if ((r = mm_seclog_read_id(dir, log_id)) != 0) {
		rep->error = r;
		snprintf(rep->what, sizeof(rep->what), "seclog.id: %s",
		    mm_strerror(r));
		return r;
	}
	if ((r = mm_path_join(logdir, sizeof(logdir), dir, SL_LOG_DIR)) != 0 ||
	    (r = mm_seclog_segments(logdir, &seqs, &n)) != 0) {
		rep->error = r;
		snprintf(rep->what, sizeof(rep->what), "log/: %s",
		    mm_strerror(r));
		return r;
	}
	if (n > 0 && seqs[0] > 1 && !retained) {
		rep->error = MM_ERR_CORRUPT;
		rep->error_seq = 1;
		rep->removed = seqs[0] - 1;
		snprintf(rep->what, sizeof(rep->what), "records 1..%llu missing: "
		    "the log starts at segment %016llx (retention, or deleted)",
		    (unsigned long long)seqs[0] - 1, (unsigned long long)seqs[0]);
		mm_free(seqs);
		return MM_ERR_CORRUPT;
	}
	/* retention may have removed the oldest segments: start at the
	 * first one left, from what its header says */
	if (n > 0 && seqs[0] > 1 && (r = verify_first_header(dir, seqs[0],
	    &start_epoch, start_prev)) != 0) {
		rep->error = r;
		snprintf(rep->what, sizeof(rep->what),
		    "segment %016llx: bad header (%s)",
		    (unsigned long long)seqs[0], mm_strerror(r));
		mm_free(seqs);
		return r;
	}
	r = mm_seclog_verifier_new(log_id, root_key, n > 0 ? seqs[0] : 1,
	    start_epoch, start_prev, &v);
	if (r != 0) {
		rep->error = r;
		snprintf(rep->what, sizeof(rep->what), "verifier: %s",
		    mm_strerror(r));
		mm_free(seqs);
		return r;
	}
	v->count_known = 1;	/* a segment begins an epoch */
	for (i = 0; i < n; i++)
		if ((r = verify_segment(v, dir, log_id, seqs[i])) != 0)
			goto out;
	r = verify_keyfile(v, dir, root_key);
 out:
	mm_seclog_verifier_report(v, rep);
	rep->removed = n > 0 ? seqs[0] - 1 : 0;
	mm_seclog_verifier_free(v);
	mm_free(seqs);
	return r;
}

int
mm_seclog_verify_dir(const char *dir, const uint8_t root_key[MM_SECLOG_KEY_LEN],
    struct mm_seclog_report *rep)
{
	return verify_dir(dir, root_key, 0, rep);
}

int
mm_seclog_verify_dir_retained(const char *dir,
    const uint8_t root_key[MM_SECLOG_KEY_LEN], struct mm_seclog_report *rep)
{
	return verify_dir(dir, root_key, 1, rep);
}
