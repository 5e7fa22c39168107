/*
 * mm_seclog_key.h - forward-secure epoch keys for the sealed log: a GGM
 * tree of depth 32 over HMAC-SHA256 (decision 0008).
 */
#ifndef MM_SECLOG_KEY_H
#define MM_SECLOG_KEY_H

#include <stddef.h>
#include <stdint.h>

#define MM_SLK_LEN 32
#define MM_SLK_DEPTH 32

/* The device's state: the key of epoch `epoch` and the right siblings of
 * the path to it, deepest last. */
struct mm_slk_frontier {
	uint32_t epoch;
	uint8_t leaf[MM_SLK_LEN];
	unsigned n;
	struct {
		uint8_t key[MM_SLK_LEN];
		uint8_t depth;		/* 1..32: the level of the node */
		uint32_t prefix;	/* its path bits (depth of them) */
	} sib[MM_SLK_DEPTH];
};

/*
 * All functions return MM_OK or a negative MM_ERR_* (MM_ERR_CRYPTO if
 * OpenSSL fails); out-parameters are written only on success.
 */

/* Frontier at epoch 0 from the root key. */
int mm_slk_init(struct mm_slk_frontier *f, const uint8_t root[MM_SLK_LEN]);
/* Frontier at any epoch from the root key (a verifier starting mid-log). */
int mm_slk_init_at(struct mm_slk_frontier *f, const uint8_t root[MM_SLK_LEN],
    uint32_t epoch);
/* Moves to the next epoch, wiping what is no longer needed.  MM_ERR_RANGE
 * after the last epoch (2^32 - 1). */
int mm_slk_next(struct mm_slk_frontier *f);
/* The verifier's way: the key of any epoch from the root (32 steps). */
int mm_slk_derive(const uint8_t root[MM_SLK_LEN], uint32_t epoch,
    uint8_t out[MM_SLK_LEN]);
/* The key of any node: depth 0..32 (0 is the root), prefix its path bits
 * (below 2^depth).  MM_ERR_INVALID_ARG otherwise. */
int mm_slk_derive_node(const uint8_t root[MM_SLK_LEN], unsigned depth,
    uint32_t prefix, uint8_t out[MM_SLK_LEN]);
/*
 * Serialised frontier (for seclog.key) and back: epoch (4), leaf (32),
 * n (1), then n times key (32), depth (1), prefix (4).  Decode is strict:
 * exact length, and the siblings must be exactly the right siblings of the
 * path to epoch (one per 0 bit, shallowest first); MM_ERR_FORMAT otherwise.
 */
#define MM_SLK_WIRE_MAX (4 + MM_SLK_LEN + 1 + MM_SLK_DEPTH * (MM_SLK_LEN + 5))
int mm_slk_encode(const struct mm_slk_frontier *f, uint8_t *out, size_t outsz,
    size_t *len);
int mm_slk_decode(struct mm_slk_frontier *f, const uint8_t *in, size_t len);
void mm_slk_wipe(struct mm_slk_frontier *f);

#endif
