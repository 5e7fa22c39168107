/*
 * test_files.h - whole-file reading for unit tests that work on real
 * files (the sealed log's segments).  Include after <cmocka.h>.
 */
#ifndef TEST_FILES_H
#define TEST_FILES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The whole file, malloc'd (free it); *len its size.  Fails the test if
 * it cannot be read. */
static inline uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

#endif
