/*
 * mm_str.h - bounded string copies that refuse to truncate.
 */
#ifndef MM_STR_H
#define MM_STR_H

#include <stddef.h>

/* Copies src into dst[dstsz] with a NUL.  MM_ERR_TOO_LARGE (dst untouched
 * but for dst[0] = '\0') if it does not fit. */
int mm_strlcpy(char *dst, const char *src, size_t dstsz);

#endif
