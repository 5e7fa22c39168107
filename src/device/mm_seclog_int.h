/*
 * mm_seclog_int.h - what the sealed log's writer (mm_seclog.c) and reader
 * (mm_seclog_verify.c) share.  Not for other modules.
 */
#ifndef MM_SECLOG_INT_H
#define MM_SECLOG_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "device/mm_seclog.h"
#include "device/mm_seclog_key.h"

#define SL_VERSION 1
#define SL_SEG_MAGIC "MMSLSEG1"
#define SL_SEG_MAGIC_LEN 8
#define SL_KEY_MAGIC "MMSLKEY1"
#define SL_KEY_MAGIC_LEN 8
#define SL_TAG_CONTEXT "MMSL1"
#define SL_TAG_CONTEXT_LEN 5
/* "MMSL1" || log id || previous tag: what the tag covers before the record */
#define SL_PRE_LEN (SL_TAG_CONTEXT_LEN + MM_SECLOG_ID_LEN + MM_SECLOG_TAG_LEN)
/* version .. severity */
#define SL_FIXED_LEN (1 + 8 + 4 + 8 + 8 + 16 + 2 + 1)
/* the smallest record after the length field: 1-byte source, no payload */
#define SL_BODY_MIN (SL_FIXED_LEN + 1 + 1 + 2 + MM_SECLOG_TAG_LEN)
/* the largest a well-formed record can be, length field included */
#define SL_RAW_MAX (4 + SL_FIXED_LEN + 1 + MM_SECLOG_SOURCE_MAX + 2 + \
    MM_SECLOG_PAYLOAD_MAX + MM_SECLOG_TAG_LEN)
#define SL_KEYFILE_MAX (SL_KEY_MAGIC_LEN + MM_SLK_WIRE_MAX + 32)
#define SL_ID_FILE "seclog.id"
#define SL_KEY_FILE "seclog.key"
#define SL_LOG_DIR "log"
#define SL_PATH_MAX 4096

/* Big-endian integers into our own buffers (untrusted bytes are read
 * through bounds-checked readers only). */
static inline void
sl_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
sl_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void
sl_put64(uint8_t *p, uint64_t v)
{
	sl_put32(p, (uint32_t)(v >> 32));
	sl_put32(p + 4, (uint32_t)v);
}

/* HMAC-SHA256 under one epoch key; re-initialised per record without
 * redoing the key schedule. */
struct mm_seclog_mac {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
	int keyed;
	uint8_t pre[SL_PRE_LEN];
};

int mm_seclog_mac_new(struct mm_seclog_mac *m,
    const uint8_t log_id[MM_SECLOG_ID_LEN]);
int mm_seclog_mac_key(struct mm_seclog_mac *m,
    const uint8_t key[MM_SECLOG_KEY_LEN]);
/* tag = HMAC(key, "MMSL1" || log id || prev || body[0..len)). */
int mm_seclog_mac_tag(struct mm_seclog_mac *m,
    const uint8_t prev[MM_SECLOG_TAG_LEN], const uint8_t *body, size_t len,
    uint8_t tag[MM_SECLOG_TAG_LEN]);
void mm_seclog_mac_free(struct mm_seclog_mac *m);

/* Reads one segment file: its header, then record after record. */
struct mm_seclog_segrd {
	int fd;
	uint8_t *buf;
	size_t pos, end;
	uint64_t off;		/* file offset of buf[pos] */
	uint64_t size;		/* file size when opened */
	int eof;
	struct mm_seclog_seghdr hdr;
};

/* MM_ERR_NOT_FOUND, MM_ERR_IO, or the header's decode error. */
int mm_seclog_segrd_open(struct mm_seclog_segrd *s, const char *path);
/*
 * Next record: *raw, *len (valid until the next call) and *rec.
 * MM_ERR_NOT_FOUND at a clean end, MM_ERR_SHORT at a partial record at the
 * end, MM_ERR_FORMAT / MM_ERR_TOO_LARGE at a malformed one, MM_ERR_IO.
 */
int mm_seclog_segrd_next(struct mm_seclog_segrd *s, const uint8_t **raw,
    size_t *len, struct mm_seclog_record *rec);
/* Goes on reading at file offset off (a record boundary the caller knows). */
int mm_seclog_segrd_seek(struct mm_seclog_segrd *s, uint64_t off);
void mm_seclog_segrd_close(struct mm_seclog_segrd *s);

/* The first seqs of the segments in logdir, ascending; *seqs is mm_free'd
 * by the caller (NULL when *n is 0). */
int mm_seclog_segments(const char *logdir, uint64_t **seqs, size_t *n);
int mm_seclog_seg_path(char *out, size_t outsz, const char *dir,
    uint64_t first_seq);
void mm_seclog_seghdr_encode(uint8_t out[MM_SECLOG_SEG_HDR_LEN],
    const struct mm_seclog_seghdr *h);

/* seclog.id and seclog.key of a log directory. */
int mm_seclog_read_id(const char *dir, uint8_t id[MM_SECLOG_ID_LEN]);
/* MM_ERR_NOT_FOUND if missing, MM_ERR_CORRUPT if it does not decode. */
int mm_seclog_read_key(const char *dir, struct mm_slk_frontier *f);
int mm_seclog_write_key(const char *dir, const struct mm_slk_frontier *f);

/* A SEAL's payload: ASCII decimal, no sign, no leading zero. */
int mm_seclog_seal_count(const uint8_t *p, size_t len, uint32_t *count);

#endif
