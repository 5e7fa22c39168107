/*
 * mm_alloc.h - the one allocation wrapper.
 *
 * All heap memory in mamori comes from here, so allocation failure can be
 * injected in tests (mm_alloc_fail_after) and sizes are overflow-checked.
 * Every function returns NULL on failure and never aborts.
 */
#ifndef MM_ALLOC_H
#define MM_ALLOC_H

#include <stddef.h>

void *mm_malloc(size_t n);
void *mm_calloc(size_t nmemb, size_t size);        /* overflow-checked */
void *mm_reallocarray(void *p, size_t nmemb, size_t size);
char *mm_strdup(const char *s);
char *mm_strndup(const char *s, size_t max);
void mm_free(void *p);
/* Wipes len bytes (if p != NULL) before freeing: for anything secret. */
void mm_freezero(void *p, size_t len);

/*
 * Test hook: after n more successful allocations every allocation fails,
 * until reset with a negative n.  Not thread-safe; tests only.
 */
void mm_alloc_fail_after(long n);

#endif
