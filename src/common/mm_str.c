/* mm_str.c - bounded string copies. */
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
