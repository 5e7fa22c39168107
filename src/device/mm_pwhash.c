/* mm_pwhash.c - Argon2id through libsodium; parameters per device class. */
#include <string.h>

#include <sodium.h>

#include "common/mm_err.h"
#include "device/mm_pwhash.h"

/*
 * OWASP's Password Storage Cheat Sheet lists equivalent Argon2id settings
 * (p=1): m=19 MiB t=2, ..., m=7 MiB t=5.  small and medium use those; large
 * spends more memory where the device has it.  bench/auth prints the
 * verification time of each on the machine it runs on.
 */
static const struct {
	const char *name;
	struct mm_pwparams p;
} mm_pwclasses[MM_PWCLASS__COUNT] = {
	[MM_PWCLASS_SMALL] = { "small", { 5, 7u * 1024 * 1024 } },
	[MM_PWCLASS_MEDIUM] = { "medium", { 2, 19u * 1024 * 1024 } },
	[MM_PWCLASS_LARGE] = { "large", { 3, 64u * 1024 * 1024 } },
};

_Static_assert(MM_PWHASH_STRLEN >= crypto_pwhash_STRBYTES, "hash string size");

int
mm_pwclass_parse(const char *name, enum mm_pwclass *out)
{
	int i;

	if (name == NULL)
		return MM_ERR_INVALID_ARG;
	for (i = 0; i < MM_PWCLASS__COUNT; i++) {
		if (strcmp(name, mm_pwclasses[i].name) == 0) {
			*out = (enum mm_pwclass)i;
			return MM_OK;
		}
	}
	return MM_ERR_FORMAT;
}

const char *
mm_pwclass_name(enum mm_pwclass c)
{
	return (unsigned)c < MM_PWCLASS__COUNT ? mm_pwclasses[c].name : "?";
}

const struct mm_pwparams *
mm_pwclass_params(enum mm_pwclass c)
{
	return (unsigned)c < MM_PWCLASS__COUNT ? &mm_pwclasses[c].p : NULL;
}

int
mm_pwhash(enum mm_pwclass c, const char *pw, size_t len,
    char out[MM_PWHASH_STRLEN])
{
	const struct mm_pwparams *p = mm_pwclass_params(c);
	char tmp[crypto_pwhash_STRBYTES];

	if (p == NULL || pw == NULL)
		return MM_ERR_INVALID_ARG;
	if (crypto_pwhash_str_alg(tmp, pw, len, p->opslimit, p->memlimit,
	    crypto_pwhash_ALG_ARGON2ID13) != 0)
		return MM_ERR_ALLOC;
	memcpy(out, tmp, sizeof(tmp));
	return MM_OK;
}

static int
mm_pwhash_is_argon2id(const char *hash)
{
	return hash != NULL && strncmp(hash, crypto_pwhash_argon2id_STRPREFIX,
	    strlen(crypto_pwhash_argon2id_STRPREFIX)) == 0 &&
	    strlen(hash) < crypto_pwhash_STRBYTES;
}

int
mm_pwhash_verify(const char *hash, const char *pw, size_t len)
{
	if (pw == NULL)
		return MM_ERR_INVALID_ARG;
	if (!mm_pwhash_is_argon2id(hash))
		return MM_ERR_FORMAT;
	return crypto_pwhash_str_verify(hash, pw, len) == 0 ? MM_OK :
	    MM_ERR_SIGNATURE;
}

int
mm_pwhash_needs_rehash(const char *hash, enum mm_pwclass c)
{
	const struct mm_pwparams *p = mm_pwclass_params(c);

	if (p == NULL || !mm_pwhash_is_argon2id(hash))
		return 1;
	return crypto_pwhash_str_needs_rehash(hash, p->opslimit, p->memlimit) != 0;
}
