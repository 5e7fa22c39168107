/* mm_buf.c - bounded buffer; see mm_buf.h for the contract. */
#include <string.h>

#include <sodium.h>

#include "common/mm_alloc.h"
#include "common/mm_buf.h"
#include "common/mm_err.h"

#define MM_BUF_MIN_ALLOC 64

struct mm_buf {
	uint8_t *d;		/* storage */
	const uint8_t *cd;	/* read view: == d, or external data */
	size_t off;		/* first unread byte */
	size_t size;		/* end of data */
	size_t alloc;		/* bytes allocated at d */
	size_t max;		/* hard limit on size */
	int readonly;
};

struct mm_buf *
mm_buf_new(size_t max)
{
	struct mm_buf *b;

	if (max == 0 || (b = mm_calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->max = max;
	return b;
}

struct mm_buf *
mm_buf_from(const void *data, size_t len)
{
	struct mm_buf *b;

	if ((data == NULL && len != 0) || (b = mm_calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->cd = data;
	b->size = b->max = len;
	b->readonly = 1;
	return b;
}

void
mm_buf_free(struct mm_buf *b)
{
	if (b == NULL)
		return;
	if (!b->readonly)
		mm_freezero(b->d, b->alloc);
	mm_freezero(b, sizeof(*b));
}

size_t
mm_buf_len(const struct mm_buf *b)
{
	return b->size - b->off;
}

size_t
mm_buf_max(const struct mm_buf *b)
{
	return b->max;
}

const uint8_t *
mm_buf_ptr(const struct mm_buf *b)
{
	return b->cd == NULL ? (const uint8_t *)"" : b->cd + b->off;
}

void
mm_buf_reset(struct mm_buf *b)
{
	if (b->readonly)
		return;
	if (b->d != NULL)
		sodium_memzero(b->d, b->alloc);
	b->off = b->size = 0;
}

/* Makes room for len more bytes; *dst points at them. */
static int
mm_buf_reserve(struct mm_buf *b, size_t len, uint8_t **dst)
{
	size_t need, nalloc;
	uint8_t *nd;

	if (b->readonly)
		return MM_ERR_INVALID_ARG;
	if (len > b->max || b->size > b->max - len)
		return MM_ERR_NO_SPACE;
	need = b->size + len;
	if (need > b->alloc) {
		nalloc = b->alloc < MM_BUF_MIN_ALLOC ? MM_BUF_MIN_ALLOC : b->alloc;
		while (nalloc < need)
			nalloc = nalloc > b->max / 2 ? b->max : nalloc * 2;
		if ((nd = mm_malloc(nalloc)) == NULL)
			return MM_ERR_ALLOC;
		if (b->d != NULL) {
			memcpy(nd, b->d, b->size);
			mm_freezero(b->d, b->alloc);
		}
		b->d = nd;
		b->cd = nd;
		b->alloc = nalloc;
	}
	*dst = b->d + b->size;
	b->size = need;
	return MM_OK;
}

int
mm_buf_put(struct mm_buf *b, const void *v, size_t len)
{
	uint8_t *p;
	int r;

	if (len == 0)
		return MM_OK;
	if ((r = mm_buf_reserve(b, len, &p)) != MM_OK)
		return r;
	memcpy(p, v, len);
	return MM_OK;
}

static int
mm_buf_put_be(struct mm_buf *b, uint64_t v, size_t n)
{
	uint8_t tmp[8];
	size_t i;

	for (i = 0; i < n; i++)
		tmp[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return mm_buf_put(b, tmp, n);
}

int mm_buf_put_u8(struct mm_buf *b, uint8_t v) { return mm_buf_put_be(b, v, 1); }
int mm_buf_put_u16(struct mm_buf *b, uint16_t v) { return mm_buf_put_be(b, v, 2); }
int mm_buf_put_u32(struct mm_buf *b, uint32_t v) { return mm_buf_put_be(b, v, 4); }
int mm_buf_put_u64(struct mm_buf *b, uint64_t v) { return mm_buf_put_be(b, v, 8); }

int
mm_buf_put_str8(struct mm_buf *b, const void *v, size_t len)
{
	int r;

	if (len > UINT8_MAX)
		return MM_ERR_TOO_LARGE;
	if (len + 1 > b->max - (b->size < b->max ? b->size : b->max))
		return MM_ERR_NO_SPACE;
	if ((r = mm_buf_put_u8(b, (uint8_t)len)) != MM_OK)
		return r;
	return mm_buf_put(b, v, len);
}

int
mm_buf_put_str16(struct mm_buf *b, const void *v, size_t len)
{
	int r;

	if (len > UINT16_MAX)
		return MM_ERR_TOO_LARGE;
	if (len + 2 > b->max - (b->size < b->max ? b->size : b->max))
		return MM_ERR_NO_SPACE;
	if ((r = mm_buf_put_u16(b, (uint16_t)len)) != MM_OK)
		return r;
	return mm_buf_put(b, v, len);
}

int
mm_buf_get_ptr(struct mm_buf *b, size_t len, const uint8_t **p)
{
	if (len > mm_buf_len(b))
		return MM_ERR_SHORT;
	if (p != NULL)
		*p = mm_buf_ptr(b);
	b->off += len;
	return MM_OK;
}

int
mm_buf_get(struct mm_buf *b, void *v, size_t len)
{
	const uint8_t *p;
	int r;

	if ((r = mm_buf_get_ptr(b, len, &p)) != MM_OK)
		return r;
	if (v != NULL && len != 0)
		memcpy(v, p, len);
	return MM_OK;
}

static int
mm_buf_get_be(struct mm_buf *b, uint64_t *v, size_t n)
{
	const uint8_t *p;
	uint64_t x = 0;
	size_t i;
	int r;

	if ((r = mm_buf_get_ptr(b, n, &p)) != MM_OK)
		return r;
	for (i = 0; i < n; i++)
		x = (x << 8) | p[i];
	*v = x;
	return MM_OK;
}

int
mm_buf_get_u8(struct mm_buf *b, uint8_t *v)
{
	uint64_t x;
	int r = mm_buf_get_be(b, &x, 1);

	if (r == MM_OK && v != NULL)
		*v = (uint8_t)x;
	return r;
}

int
mm_buf_get_u16(struct mm_buf *b, uint16_t *v)
{
	uint64_t x;
	int r = mm_buf_get_be(b, &x, 2);

	if (r == MM_OK && v != NULL)
		*v = (uint16_t)x;
	return r;
}

int
mm_buf_get_u32(struct mm_buf *b, uint32_t *v)
{
	uint64_t x;
	int r = mm_buf_get_be(b, &x, 4);

	if (r == MM_OK && v != NULL)
		*v = (uint32_t)x;
	return r;
}

int
mm_buf_get_u64(struct mm_buf *b, uint64_t *v)
{
	uint64_t x;
	int r = mm_buf_get_be(b, &x, 8);

	if (r == MM_OK && v != NULL)
		*v = x;
	return r;
}

/* Peeks a prefixed string without consuming; *total covers prefix+body. */
static int
mm_buf_peek_prefixed(const struct mm_buf *b, size_t plen, const uint8_t **body,
    size_t *blen)
{
	const uint8_t *p = mm_buf_ptr(b);
	size_t n;

	if (mm_buf_len(b) < plen)
		return MM_ERR_SHORT;
	n = plen == 1 ? p[0] : ((size_t)p[0] << 8 | p[1]);
	if (mm_buf_len(b) - plen < n)
		return MM_ERR_SHORT;
	*body = p + plen;
	*blen = n;
	return MM_OK;
}

static int
mm_buf_get_cstr(struct mm_buf *b, size_t plen, char *out, size_t outsz)
{
	const uint8_t *s;
	size_t n;
	int r;

	if ((r = mm_buf_peek_prefixed(b, plen, &s, &n)) != MM_OK)
		return r;
	if (memchr(s, '\0', n) != NULL)
		return MM_ERR_FORMAT;
	if (outsz == 0 || n > outsz - 1)
		return MM_ERR_TOO_LARGE;
	memcpy(out, s, n);
	out[n] = '\0';
	b->off += plen + n;
	return MM_OK;
}

int
mm_buf_get_cstr8(struct mm_buf *b, char *out, size_t outsz)
{
	return mm_buf_get_cstr(b, 1, out, outsz);
}

int
mm_buf_get_cstr16(struct mm_buf *b, char *out, size_t outsz)
{
	return mm_buf_get_cstr(b, 2, out, outsz);
}

int
mm_buf_get_str16_ptr(struct mm_buf *b, const uint8_t **p, size_t *len)
{
	const uint8_t *s;
	size_t n;
	int r;

	if ((r = mm_buf_peek_prefixed(b, 2, &s, &n)) != MM_OK)
		return r;
	b->off += 2 + n;
	*p = s;
	*len = n;
	return MM_OK;
}

int
mm_buf_expect_end(const struct mm_buf *b)
{
	return mm_buf_len(b) == 0 ? MM_OK : MM_ERR_TRAILING;
}
