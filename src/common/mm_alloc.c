/* mm_alloc.c - allocation wrapper with fault injection. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/mm_alloc.h"

static long mm_alloc_budget = -1;	/* < 0: never fail */

void
mm_alloc_fail_after(long n)
{
	mm_alloc_budget = n;
}

static int
mm_alloc_should_fail(void)
{
	if (mm_alloc_budget < 0)
		return 0;
	if (mm_alloc_budget == 0)
		return 1;
	mm_alloc_budget--;
	return 0;
}

void *
mm_malloc(size_t n)
{
	if (n == 0 || mm_alloc_should_fail())
		return NULL;
	return malloc(n);
}

void *
mm_calloc(size_t nmemb, size_t size)
{
	if (nmemb == 0 || size == 0 || nmemb > SIZE_MAX / size)
		return NULL;
	if (mm_alloc_should_fail())
		return NULL;
	return calloc(nmemb, size);
}

void *
mm_reallocarray(void *p, size_t nmemb, size_t size)
{
	if (nmemb == 0 || size == 0 || nmemb > SIZE_MAX / size)
		return NULL;
	if (mm_alloc_should_fail())
		return NULL;
	return realloc(p, nmemb * size);
}

char *
mm_strndup(const char *s, size_t max)
{
	size_t n;
	char *d;

	if (s == NULL)
		return NULL;
	n = strnlen(s, max);
	if ((d = mm_malloc(n + 1)) == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *
mm_strdup(const char *s)
{
	return mm_strndup(s, SIZE_MAX - 1);
}

void
mm_free(void *p)
{
	free(p);
}

void
mm_freezero(void *p, size_t len)
{
	if (p == NULL)
		return;
	sodium_memzero(p, len);
	free(p);
}
