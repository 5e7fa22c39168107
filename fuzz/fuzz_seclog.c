/* Fuzz target: the sealed log's reader (decision 0008).  Each input is
 * (a) decoded as one record and (b) read as a segment (header, if it starts
 * with one) or a bare record stream, fed record by record to a verifier for
 * a fixed log id and key: the seed corpus was written with them. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_seclog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The corpus's log: id 16 x 0x11, initial key 32 x 0x22. */
static uint8_t fz_id[MM_SECLOG_ID_LEN], fz_root[MM_SECLOG_KEY_LEN];

static void
fz_one(const uint8_t *data, size_t size)
{
	struct mm_seclog_record rec;
	size_t used;

	if (mm_seclog_decode(data, size, &rec, &used) != MM_OK)
		return;
	if (used > size || used < 4 || used - 4 > MM_SECLOG_RECORD_MAX ||
	    rec.source_len == 0 || rec.source_len > MM_SECLOG_SOURCE_MAX ||
	    memchr(rec.source, '\0', rec.source_len) != NULL ||
	    rec.payload_len > MM_SECLOG_PAYLOAD_MAX || rec.severity > 7 ||
	    rec.seq == 0 || rec.source < (const char *)data ||
	    rec.payload + rec.payload_len > data + used)
		__builtin_trap();
}

static void
fz_stream(const uint8_t *data, size_t size)
{
	static const uint8_t zero[MM_SECLOG_TAG_LEN];
	struct mm_seclog_verifier *v;
	struct mm_seclog_seghdr h;
	struct mm_seclog_report rep;
	struct mm_seclog_record rec;
	uint64_t fed = 0;
	size_t off = 0, used;
	int r, failed = 0;

	if (mm_seclog_seghdr_decode(data, size, &h) == MM_OK)
		off = MM_SECLOG_SEG_HDR_LEN;
	if (mm_seclog_verifier_new(fz_id, fz_root, 1, 0, zero, &v) != MM_OK)
		return;
	while (off < size) {
		r = mm_seclog_decode(data + off, size - off, &rec, &used);
		if (r != MM_OK) {
			/* the rest as one record: must be refused */
			if (mm_seclog_verify_record(v, data + off,
			    size - off) == MM_OK)
				__builtin_trap();
			failed = 1;
			break;
		}
		r = mm_seclog_verify_record(v, data + off, used);
		if (r == MM_OK && failed)
			__builtin_trap();	/* a problem is for good */
		if (r != MM_OK)
			failed = 1;
		else
			fed++;
		off += used;
	}
	mm_seclog_verifier_report(v, &rep);
	if (rep.records != fed || (rep.error == 0) != !failed ||
	    (rep.records > 0 &&
	    rep.last_seq != rep.first_seq + rep.records - 1))
		__builtin_trap();
	mm_seclog_verifier_free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;

	if (!init) {
		if (mm_crypto_init() != 0)
			return 0;
		memset(fz_id, 0x11, sizeof(fz_id));
		memset(fz_root, 0x22, sizeof(fz_root));
		init = 1;
	}
	fz_one(data, size);
	fz_stream(data, size);
	return 0;
}
