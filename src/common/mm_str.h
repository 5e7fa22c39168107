/*
 * mm_str.h - bounded string copies that refuse to truncate.
 */
#ifndef MM_STR_H
#define MM_STR_H

#include <stddef.h>
#include <stdint.h>

/* Copies src into dst[dstsz] with a NUL.  MM_ERR_TOO_LARGE (dst untouched
 * but for dst[0] = '\0') if it does not fit. */
int mm_strlcpy(char *dst, const char *src, size_t dstsz);
/* A decimal number, digits only (no sign, space or suffix), at most max:
 * MM_ERR_FORMAT or MM_ERR_RANGE, *out untouched then. */
int mm_str_to_u64(const char *s, uint64_t max, uint64_t *out);

#endif
