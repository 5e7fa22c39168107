/*
 * mm_logmsg.h - the sealed log's messages on the wire (decision 0009):
 * up/log carries a batch of whole records as they are in the segment files,
 * down/log_ack says how far the fleet holds and verified the log and what
 * the fleet's clock says.
 *
 * This layer checks the envelope only (fields, ranges, base64, sizes); the
 * records inside are split and verified by the reader of the log
 * (mm_seclog_decode, mm_seclog_verify_record).
 */
#ifndef MM_LOGMSG_H
#define MM_LOGMSG_H

#include <stddef.h>
#include <stdint.h>

#define MM_LOGMSG_ID_LEN 16
#define MM_LOGMSG_TAG_LEN 32
/* Raw record bytes in one batch: base64 and the envelope stay under the
 * 16 KiB limit of up/log. */
#define MM_LOGMSG_RAW_MAX 11264
/* No record is shorter than 64 bytes, so no batch holds more than this. */
#define MM_LOGMSG_N_MAX (MM_LOGMSG_RAW_MAX / 64)
/* Sequence numbers and times stay within what a JSON number holds exactly. */
#define MM_LOGMSG_SEQ_MAX ((1ULL << 53) - 1)

struct mm_logmsg_batch {
	uint8_t log_id[MM_LOGMSG_ID_LEN];
	uint64_t seq;		/* of the first record */
	uint32_t n;		/* records in raw */
	/* the tag before the first record (a segment's first record: the
	 * segment header's previous tag) */
	uint8_t prev[MM_LOGMSG_TAG_LEN];
	/* 0, or the device says records lost_from .. seq - 1 are gone from
	 * it (retention; a LOSS record in the log names them too) */
	uint64_t lost_from;
	const uint8_t *raw;
	size_t raw_len;		/* 1 .. MM_LOGMSG_RAW_MAX */
};

struct mm_logmsg_ack {
	uint8_t log_id[MM_LOGMSG_ID_LEN];
	uint64_t seq;		/* every record up to it is held; 0: none */
	uint64_t time_ms;	/* the fleet's clock, Unix ms */
};

/*
 * {"v":1,"type":"log","log":"<32 hex>","seq":S,"n":N,"prev":"<64 hex>",
 *  ["lost_from":L,] "rec":"<base64>"}.  Encoding checks the same ranges
 * as decoding; *out is mm_free'd by the caller.
 */
int mm_logmsg_encode(const struct mm_logmsg_batch *b, char **out,
    size_t *outlen);
/*
 * Decodes payload[0..len) into b; the records are copied to
 * rawbuf[0..rawsz) (at least MM_LOGMSG_RAW_MAX) and b->raw points there.
 * MM_ERR_TOO_LARGE, MM_ERR_FORMAT, MM_ERR_RANGE, MM_ERR_UNSUPPORTED.
 */
int mm_logmsg_decode(const void *payload, size_t len, struct mm_logmsg_batch *b,
    uint8_t *rawbuf, size_t rawsz);

/* {"v":1,"type":"log_ack","log":"<32 hex>","seq":S,"time":T} */
int mm_logmsg_ack_encode(const struct mm_logmsg_ack *a, char **out,
    size_t *outlen);
int mm_logmsg_ack_decode(const void *payload, size_t len,
    struct mm_logmsg_ack *a);

#endif
