/*
 * mamori_sign.h - what the two files of mamori-sign share: the options,
 * private keys, and the commands of mamori_sign_bundle.c.
 */
#ifndef MAMORI_SIGN_H
#define MAMORI_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "device/mm_upd_bundle.h"

#define SIGN_LIST_MAX 64	/* --key, --release, --drop */
#define SIGN_DAYS_MAX 36500

enum {
	O_ROLE = 1 << 0, O_OUT = 1 << 1, O_VERSION = 1 << 2, O_DAYS = 1 << 3,
	O_RTH = 1 << 4, O_STH = 1 << 5, O_KEY = 1 << 6, O_RELEASE = 1 << 7,
	O_FROM = 1 << 8, O_REVOKE = 1 << 9, O_DROP = 1 << 10,
	O_PRODUCT = 1 << 11, O_HARDWARE = 1 << 12, O_COUNTER = 1 << 13,
	O_NOTES = 1 << 14, O_FIXES = 1 << 15, O_PAYLOAD = 1 << 16,
	O_BLOCK = 1 << 17, O_CHAIN = 1 << 18, O_MANIFEST = 1 << 19,
	O_ROOT = 1 << 20, O_ROOTSIG = 1 << 21, O_NOW = 1 << 22,
	O_UNKNOWN_TIME = 1 << 23
};

struct sign_list {
	size_t n;
	const char *v[MM_UPD_REVOKED_MAX];
};

struct sign_payload_arg {
	char name[MM_UPD_NAME_MAX + 1];
	const char *path;
	uint32_t block_size;
};

struct sign_opts {
	unsigned seen;
	const char *pos[2];		/* positional arguments */
	size_t npos;
	const char *role, *out, *version, *from, *product, *notes, *fixes;
	const char *manifest, *root, *rootsig;
	uint64_t days, rth, sth, counter, now;
	struct sign_list keys, releases, revoke, drop, hardware, chain;
	size_t npayloads;
	struct sign_payload_arg payloads[MM_UPD_PAYLOADS_MAX];
};

/*
 * NAME.key: "MMKEY1 <role> <64 hex: the Ed25519 seed>\n", mode 0600.
 * NAME.pub: "<64 hex: the public key>\n".
 */
struct sign_secret {
	enum mm_upd_role role;
	uint8_t sk[MM_SIGN_SK_LEN];
	uint8_t pk[MM_SIGN_PK_LEN];
};

_Noreturn void sign_usage(void);
/* Prints "mamori-sign: what: error: why"; returns 1 (the exit status). */
int sign_fail(const char *what, int r, const char *why);
/* A private key file (refused unless mode 0600 or stricter); wipe s->sk. */
int sign_secret_read(const char *path, struct sign_secret *s);
int sign_public_read(const char *path, uint8_t pk[MM_SIGN_PK_LEN]);
/* A whole file of at most MM_UPD_DOC_MAX bytes (mm_free). */
int sign_read_doc(const char *path, char **out, size_t *len);
/* Signs doc with each private key in paths, which must be of role. */
int sign_with_keys(const struct sign_list *paths, enum mm_upd_role role,
    enum mm_upd_ctx ctx, const void *doc, size_t len, struct mm_upd_env *env);

int sign_manifest(const struct sign_opts *o);
int sign_bundle(const struct sign_opts *o);
int sign_inspect(const struct sign_opts *o);
int sign_verify(const struct sign_opts *o);

#endif
