/*
 * mm_buf.h - the one bounded buffer for untrusted bytes.
 *
 * A buffer has a hard maximum fixed at creation; a write past it fails with
 * MM_ERR_NO_SPACE and changes nothing.  Every read checks the remaining
 * length first and fails with MM_ERR_SHORT, consuming nothing.  Integers are
 * big-endian on the wire.  Handlers never do pointer arithmetic on network
 * data: they read through this API.
 */
#ifndef MM_BUF_H
#define MM_BUF_H

#include <stddef.h>
#include <stdint.h>

struct mm_buf;

/* New empty writable buffer that may grow to max bytes.  NULL on failure. */
struct mm_buf *mm_buf_new(size_t max);
/*
 * New read-only buffer over data[0..len).  The bytes are not copied: data
 * must outlive the buffer.  NULL on failure.
 */
struct mm_buf *mm_buf_from(const void *data, size_t len);
/* Frees b; wipes its contents first.  NULL is allowed. */
void mm_buf_free(struct mm_buf *b);

size_t mm_buf_len(const struct mm_buf *b);	/* unread bytes */
size_t mm_buf_max(const struct mm_buf *b);
const uint8_t *mm_buf_ptr(const struct mm_buf *b);	/* first unread byte */
/* Drops all contents of a writable buffer. */
void mm_buf_reset(struct mm_buf *b);

int mm_buf_put(struct mm_buf *b, const void *v, size_t len);
int mm_buf_put_u8(struct mm_buf *b, uint8_t v);
int mm_buf_put_u16(struct mm_buf *b, uint16_t v);
int mm_buf_put_u32(struct mm_buf *b, uint32_t v);
int mm_buf_put_u64(struct mm_buf *b, uint64_t v);
/* Length-prefixed (u8 / u16) byte strings. */
int mm_buf_put_str8(struct mm_buf *b, const void *v, size_t len);
int mm_buf_put_str16(struct mm_buf *b, const void *v, size_t len);

/* Copies len bytes out (v may be NULL to skip them). */
int mm_buf_get(struct mm_buf *b, void *v, size_t len);
int mm_buf_get_u8(struct mm_buf *b, uint8_t *v);
int mm_buf_get_u16(struct mm_buf *b, uint16_t *v);
int mm_buf_get_u32(struct mm_buf *b, uint32_t *v);
int mm_buf_get_u64(struct mm_buf *b, uint64_t *v);
/*
 * Consumes len bytes and points *p at them inside the buffer; valid until
 * the buffer is written to or freed.
 */
int mm_buf_get_ptr(struct mm_buf *b, size_t len, const uint8_t **p);
/*
 * Reads a u8/u16-length-prefixed string into out[outsz] with a terminating
 * NUL.  Fails with MM_ERR_FORMAT on an embedded NUL and MM_ERR_TOO_LARGE if
 * it does not fit; on failure nothing is consumed.
 */
int mm_buf_get_cstr8(struct mm_buf *b, char *out, size_t outsz);
int mm_buf_get_cstr16(struct mm_buf *b, char *out, size_t outsz);
/* Reads a u16-length-prefixed blob, pointing into the buffer. */
int mm_buf_get_str16_ptr(struct mm_buf *b, const uint8_t **p, size_t *len);
/* MM_OK if everything was read, else MM_ERR_TRAILING. */
int mm_buf_expect_end(const struct mm_buf *b);

#endif
