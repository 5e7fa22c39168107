/*
 * Fuzz target: the sealed log's messages (decision 0009) as the fleet
 * server reads them.  Each input is decoded as an up/log batch; when it
 * decodes, the envelope's promises are checked, it must encode and decode
 * again to the same batch, and its records are split with mm_seclog_decode
 * and fed to a verifier for a fixed log id and key (the seed corpus was
 * written with them), which is also stopped half-way and resumed from its
 * state: both must accept exactly the same.  The input is also decoded as
 * a down/log_ack, which must round-trip.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_seclog.h"
#include "proto/mm_logmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The corpus's log: id 16 x 0x11, initial key 32 x 0x22. */
static uint8_t fz_id[MM_SECLOG_ID_LEN], fz_root[MM_SECLOG_KEY_LEN];
static uint8_t fz_raw[MM_LOGMSG_RAW_MAX], fz_raw2[MM_LOGMSG_RAW_MAX];

static void
fz_envelope(const struct mm_logmsg_batch *b)
{
	struct mm_logmsg_batch d;
	char *text = NULL;
	size_t len;

	if (b->n == 0 || b->n > MM_LOGMSG_N_MAX || b->seq == 0 ||
	    b->seq + b->n - 1 > MM_LOGMSG_SEQ_MAX || b->raw != fz_raw ||
	    b->raw_len == 0 || b->raw_len > MM_LOGMSG_RAW_MAX ||
	    b->raw_len < (size_t)b->n * 64 ||
	    (b->lost_from != 0 && b->lost_from >= b->seq))
		__builtin_trap();
	if (mm_logmsg_encode(b, &text, &len) != MM_OK)
		__builtin_trap();
	if (mm_logmsg_decode(text, len, &d, fz_raw2, sizeof(fz_raw2)) != MM_OK ||
	    d.seq != b->seq || d.n != b->n || d.lost_from != b->lost_from ||
	    d.raw_len != b->raw_len ||
	    memcmp(d.log_id, b->log_id, sizeof(d.log_id)) != 0 ||
	    memcmp(d.prev, b->prev, sizeof(d.prev)) != 0 ||
	    memcmp(d.raw, b->raw, b->raw_len) != 0)
		__builtin_trap();
	mm_free(text);
}

/* Feeds recs [from, to) of the batch to v; the count accepted (a problem
 * is for good: nothing after it may pass). */
static uint32_t
fz_feed(struct mm_seclog_verifier *v, const uint8_t *raw, const size_t *off,
    uint32_t from, uint32_t to)
{
	uint32_t i, ok = 0;
	int failed = 0;

	for (i = from; i < to; i++) {
		int r = mm_seclog_verify_record(v, raw + off[i],
		    off[i + 1] - off[i]);

		if (r == MM_OK && failed)
			__builtin_trap();
		if (r != MM_OK)
			failed = 1;
		else
			ok++;
	}
	return ok;
}

static void
fz_records(const struct mm_logmsg_batch *b)
{
	static size_t off[MM_LOGMSG_N_MAX + 1];
	struct mm_seclog_verifier *v = NULL, *w = NULL;
	struct mm_seclog_vstate st;
	struct mm_seclog_record rec, first;
	uint32_t n = 0, half, a, c;
	size_t used;

	off[0] = 0;
	while (n < b->n && off[n] < b->raw_len &&
	    mm_seclog_decode(b->raw + off[n], b->raw_len - off[n], &rec,
	    &used) == MM_OK) {
		if (used < 4 || used > b->raw_len - off[n])
			__builtin_trap();
		if (n == 0)
			first = rec;
		off[n + 1] = off[n] + used;
		n++;
	}
	if (n == 0)
		return;
	if (mm_seclog_verifier_new(fz_id, fz_root, b->seq, first.epoch,
	    b->prev, &v) != MM_OK)
		return;
	half = n / 2;
	a = fz_feed(v, b->raw, off, 0, half);
	if (a == half && mm_seclog_verifier_state(v, &st) == MM_OK) {
		if (mm_seclog_verifier_resume(fz_id, fz_root, &st, &w) != MM_OK)
			__builtin_trap();	/* a state it gave itself */
		c = fz_feed(w, b->raw, off, half, n);
		if (fz_feed(v, b->raw, off, half, n) != c)
			__builtin_trap();
		mm_seclog_verifier_free(w);
	} else if (a == half)
		__builtin_trap();	/* no problem, so a state */
	mm_seclog_verifier_free(v);
}

static void
fz_ack(const uint8_t *data, size_t size)
{
	struct mm_logmsg_ack a, d;
	char *text = NULL;
	size_t len;

	if (mm_logmsg_ack_decode(data, size, &a) != MM_OK)
		return;
	if (a.seq > MM_LOGMSG_SEQ_MAX || a.time_ms > MM_LOGMSG_SEQ_MAX ||
	    mm_logmsg_ack_encode(&a, &text, &len) != MM_OK ||
	    mm_logmsg_ack_decode(text, len, &d) != MM_OK ||
	    memcmp(&a, &d, sizeof(a)) != 0)
		__builtin_trap();
	mm_free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct mm_logmsg_batch b;

	if (!init) {
		if (mm_crypto_init() != 0)
			return 0;
		memset(fz_id, 0x11, sizeof(fz_id));
		memset(fz_root, 0x22, sizeof(fz_root));
		init = 1;
	}
	memset(&b, 0, sizeof(b));
	if (mm_logmsg_decode(data, size, &b, fz_raw, sizeof(fz_raw)) == MM_OK) {
		fz_envelope(&b);
		fz_records(&b);
	}
	fz_ack(data, size);
	return 0;
}
