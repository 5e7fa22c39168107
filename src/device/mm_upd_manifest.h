/*
 * mm_upd_manifest.h - the signed update manifest (decision 0010,
 * docs/update.md): strict parsing, the device's acceptance rules, and the
 * one call that takes a manifest from bytes to accepted.
 */
#ifndef MM_UPD_MANIFEST_H
#define MM_UPD_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "common/mm_crypto.h"
#include "device/mm_upd_keys.h"

#define MM_UPD_PRODUCT_MAX 64
#define MM_UPD_HW_MAX 16		/* hardware entries */
#define MM_UPD_HW_LEN_MAX 64
#define MM_UPD_VERSION_MAX 32
#define MM_UPD_TEXT_MAX 4096		/* notes, fixes */
#define MM_UPD_PAYLOADS_MAX 8
#define MM_UPD_NAME_MAX 32
#define MM_UPD_SIZE_MAX (1ULL << 40)	/* one payload */
#define MM_UPD_BLOCK_MIN 4096U
#define MM_UPD_BLOCK_MAX (16U * 1024 * 1024)
#define MM_UPD_FUTURE_SKEW 86400	/* created may be this far ahead */

struct mm_upd_payload {
	char name[MM_UPD_NAME_MAX + 1];	/* [a-z0-9_-]{1,32}, unique */
	uint64_t size;			/* 1 .. 2^40 */
	uint8_t sha256[MM_SHA256_LEN];
	uint32_t block_size;		/* 0: no blocks */
	size_t nblocks;			/* ceil(size / block_size) */
	uint8_t (*blocks)[MM_SHA256_LEN];	/* SHA-256 of each block */
};

struct mm_upd_manifest {
	char product[MM_UPD_PRODUCT_MAX + 1];
	size_t nhardware;
	char hardware[MM_UPD_HW_MAX][MM_UPD_HW_LEN_MAX + 1];
	char version[MM_UPD_VERSION_MAX + 1];
	uint64_t security_counter;
	uint64_t created, expires;	/* Unix seconds; expires > created */
	char notes[MM_UPD_TEXT_MAX + 1];
	char fixes[MM_UPD_TEXT_MAX + 1];
	size_t npayloads;
	struct mm_upd_payload payloads[MM_UPD_PAYLOADS_MAX];
};

/*
 * The device a manifest must fit.  now is the Unix time when time_known,
 * else the newest time the device has seen (fleet acknowledgements): a
 * lower bound of the real time.
 */
struct mm_upd_device {
	const char *product;
	const char *hardware;
	uint64_t running_counter;	/* security counter of what runs */
	uint64_t now;
	int time_known;
};

/*
 * Parses a manifest (at most MM_UPD_DOC_MAX bytes: MM_ERR_TOO_LARGE).
 * Anything off the schema is MM_ERR_FORMAT, MM_ERR_RANGE or
 * MM_ERR_UNSUPPORTED (v other than 1), with the field in why.  *out is
 * freed with mm_upd_manifest_free.  Parsing does not judge authenticity:
 * use mm_upd_manifest_verify for bytes from outside.
 */
int mm_upd_manifest_parse(const void *doc, size_t len,
    struct mm_upd_manifest **out, char *why, size_t whylen);
void mm_upd_manifest_free(struct mm_upd_manifest *m);
/* Writes what parse accepts (checked by parsing it); mm_free(*out). */
int mm_upd_manifest_encode(const struct mm_upd_manifest *m, char **out,
    size_t *outlen, char *why, size_t whylen);

/*
 * Would dev install m?  In this order: product (MM_ERR_WRONG_TARGET),
 * hardware listed (MM_ERR_WRONG_TARGET), security counter not below the
 * running one (MM_ERR_REPLAY; an equal counter is a reinstall and is
 * allowed), not expired at dev->now (MM_ERR_EXPIRED), and when the time is
 * known, created at most MM_UPD_FUTURE_SKEW ahead (MM_ERR_NOT_YET_VALID).
 */
int mm_upd_manifest_accept(const struct mm_upd_manifest *m,
    const struct mm_upd_device *dev, char *why, size_t whylen);

/*
 * From bytes to an accepted manifest: the trusted root is not expired at
 * dev->now (MM_ERR_EXPIRED), the envelope carries the release threshold
 * of unrevoked release keys over "MMMANI1\0" || doc (MM_ERR_SIGNATURE;
 * the manifest is not parsed before), then parse and accept.
 */
int mm_upd_manifest_verify(const struct mm_upd_trust *t, const void *doc,
    size_t len, const void *env, size_t envlen,
    const struct mm_upd_device *dev, struct mm_upd_manifest **out, char *why,
    size_t whylen);

#endif
