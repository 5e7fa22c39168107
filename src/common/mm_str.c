/* mm_str.c - bounded string copies, strict numbers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/mm_err.h"
#include "common/mm_str.h"

int
mm_strlcpy(char *dst, const char *src, size_t dstsz)
{
	size_t n;

	if (dstsz == 0)
		return MM_ERR_TOO_LARGE;
	n = strnlen(src, dstsz);
	if (n == dstsz) {
		dst[0] = '\0';
		return MM_ERR_TOO_LARGE;
	}
	memcpy(dst, src, n + 1);
	return MM_OK;
}

int
mm_str_to_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return MM_ERR_FORMAT;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return MM_ERR_FORMAT;
	if (errno != 0 || v > max)
		return MM_ERR_RANGE;
	*out = (uint64_t)v;
	return MM_OK;
}
