/*
 * mm_pwhash.h - password hashing with Argon2id (libsodium), parameters per
 * device class (docs/auth.md, decision 0007).
 *
 * Hashes are libsodium's self-describing strings ("$argon2id$v=19$m=...,
 * t=...,p=1$salt$hash"), so a stored hash keeps verifying after the class
 * changes and mm_pwhash_needs_rehash tells when to upgrade it.
 */
#ifndef MM_PWHASH_H
#define MM_PWHASH_H

#include <stddef.h>
#include <stdint.h>

#include "common/mm_crypto.h"

#define MM_PWHASH_STRLEN 128	/* >= crypto_pwhash_STRBYTES */

enum mm_pwclass {
	MM_PWCLASS_SMALL = 0,	/* 7 MiB, t=5: MCU-class Linux, 64 MiB RAM */
	MM_PWCLASS_MEDIUM,	/* 19 MiB, t=2: cameras, routers */
	MM_PWCLASS_LARGE,	/* 64 MiB, t=3: gateways, NAS */
	MM_PWCLASS__COUNT
};

struct mm_pwparams {
	uint64_t opslimit;	/* Argon2 t (passes) */
	size_t memlimit;	/* bytes */
};

/* "small", "medium", "large" -> class; MM_ERR_FORMAT otherwise. */
int mm_pwclass_parse(const char *name, enum mm_pwclass *out) MM_MUST_CHECK;
const char *mm_pwclass_name(enum mm_pwclass c);
const struct mm_pwparams *mm_pwclass_params(enum mm_pwclass c);

/* Hashes pw[0..len) into out (NUL-terminated).  MM_ERR_ALLOC when the
 * memory limit cannot be met. */
int mm_pwhash(enum mm_pwclass c, const char *pw, size_t len,
    char out[MM_PWHASH_STRLEN]) MM_MUST_CHECK;
/* MM_OK if pw matches hash (constant time in libsodium), MM_ERR_SIGNATURE
 * if not, MM_ERR_FORMAT for a hash that is not an Argon2id string. */
int mm_pwhash_verify(const char *hash, const char *pw, size_t len) MM_MUST_CHECK;
/* 1 if hash was made with other parameters than class c. */
int mm_pwhash_needs_rehash(const char *hash, enum mm_pwclass c);

#endif
