/*
 * mm_seclog_key.c - the GGM key tree of the sealed log (decision 0008).
 *
 * A node's children are HMAC-SHA256(k, 0x00) and HMAC-SHA256(k, 0x01); the
 * leaf of epoch n is reached by n's bits, most significant first.  The
 * frontier holds the current leaf and the right siblings of its path where
 * the path went left: exactly the nodes from which every later leaf, and no
 * earlier one, can be derived.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_seclog_key.h"

#define SLK_SIB_WIRE (MM_SLK_LEN + 1 + 4)
#define SLK_HEAD_WIRE (4 + MM_SLK_LEN + 1)

/* One HMAC context, re-keyed for every node. */
struct slk_hmac {
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
};

static int
slk_hmac_new(struct slk_hmac *h)
{
	h->ctx = NULL;
	if ((h->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return MM_ERR_CRYPTO;
	if ((h->ctx = EVP_MAC_CTX_new(h->mac)) == NULL) {
		EVP_MAC_free(h->mac);
		h->mac = NULL;
		return MM_ERR_CRYPTO;
	}
	return MM_OK;
}

static void
slk_hmac_free(struct slk_hmac *h)
{
	EVP_MAC_CTX_free(h->ctx);	/* cleanses the keyed state */
	EVP_MAC_free(h->mac);
	h->ctx = NULL;
	h->mac = NULL;
}

/* out = HMAC(k, bit); out may be k. */
static int
slk_child(struct slk_hmac *h, const uint8_t k[MM_SLK_LEN], uint8_t bit,
    uint8_t out[MM_SLK_LEN])
{
	OSSL_PARAM params[2];
	uint8_t tmp[MM_SLK_LEN];
	size_t len = 0;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(h->ctx, k, MM_SLK_LEN, params) != 1 ||
	    EVP_MAC_update(h->ctx, &bit, 1) != 1 ||
	    EVP_MAC_final(h->ctx, tmp, &len, sizeof(tmp)) != 1 ||
	    len != MM_SLK_LEN) {
		mm_wipe(tmp, sizeof(tmp));
		return MM_ERR_CRYPTO;
	}
	memcpy(out, tmp, MM_SLK_LEN);
	mm_wipe(tmp, sizeof(tmp));
	return MM_OK;
}

/* Bit of prefix (of depth bits) that leads to level level+1 (0-based). */
static uint8_t
slk_bit(uint32_t prefix, unsigned depth, unsigned level)
{
	return (uint8_t)((prefix >> (depth - 1 - level)) & 1);
}

/* The prefix of epoch's ancestor at depth d (1..32). */
static uint32_t
slk_prefix(uint32_t epoch, unsigned d)
{
	return (uint32_t)((uint64_t)epoch >> (MM_SLK_DEPTH - d));
}

int
mm_slk_derive_node(const uint8_t root[MM_SLK_LEN], unsigned depth,
    uint32_t prefix, uint8_t out[MM_SLK_LEN])
{
	struct slk_hmac h;
	uint8_t k[MM_SLK_LEN];
	unsigned i;
	int r = MM_OK;

	if (depth > MM_SLK_DEPTH ||
	    (depth < MM_SLK_DEPTH && (uint64_t)prefix >> depth != 0))
		return MM_ERR_INVALID_ARG;
	if ((r = slk_hmac_new(&h)) != 0)
		return r;
	memcpy(k, root, MM_SLK_LEN);
	for (i = 0; i < depth; i++)
		if ((r = slk_child(&h, k, slk_bit(prefix, depth, i), k)) != 0)
			goto out;
	memcpy(out, k, MM_SLK_LEN);
 out:
	mm_wipe(k, sizeof(k));
	slk_hmac_free(&h);
	return r;
}

int
mm_slk_derive(const uint8_t root[MM_SLK_LEN], uint32_t epoch,
    uint8_t out[MM_SLK_LEN])
{
	return mm_slk_derive_node(root, MM_SLK_DEPTH, epoch, out);
}

/*
 * Goes down from node k at depth d (prefix p) to the leftmost leaf below
 * it, keeping the right child at every level as a sibling.  f->sib must
 * have room; k is wiped.
 */
static int
slk_descend_left(struct slk_hmac *h, struct mm_slk_frontier *f,
    uint8_t k[MM_SLK_LEN], unsigned d, uint32_t p)
{
	int r;

	for (; d < MM_SLK_DEPTH; d++) {
		if (f->n >= MM_SLK_DEPTH)
			return MM_ERR_INTERNAL;
		if ((r = slk_child(h, k, 1, f->sib[f->n].key)) != 0)
			return r;
		f->sib[f->n].depth = (uint8_t)(d + 1);
		f->sib[f->n].prefix = (uint32_t)(((uint64_t)p << 1) | 1);
		f->n++;
		if ((r = slk_child(h, k, 0, k)) != 0)
			return r;
		p = (uint32_t)((uint64_t)p << 1);
	}
	memcpy(f->leaf, k, MM_SLK_LEN);
	mm_wipe(k, MM_SLK_LEN);
	return MM_OK;
}

int
mm_slk_init_at(struct mm_slk_frontier *f, const uint8_t root[MM_SLK_LEN],
    uint32_t epoch)
{
	struct mm_slk_frontier tmp;
	struct slk_hmac h;
	uint8_t k[MM_SLK_LEN];
	unsigned d;
	uint8_t bit;
	int r;

	memset(&tmp, 0, sizeof(tmp));
	if ((r = slk_hmac_new(&h)) != 0)
		return r;
	memcpy(k, root, MM_SLK_LEN);
	tmp.epoch = epoch;
	for (d = 1; d <= MM_SLK_DEPTH; d++) {
		bit = (uint8_t)(slk_prefix(epoch, d) & 1);
		if (bit == 0) {
			/* the path goes left: keep the right child */
			if ((r = slk_child(&h, k, 1, tmp.sib[tmp.n].key)) != 0)
				goto out;
			tmp.sib[tmp.n].depth = (uint8_t)d;
			tmp.sib[tmp.n].prefix = slk_prefix(epoch, d) | 1;
			tmp.n++;
		}
		if ((r = slk_child(&h, k, bit, k)) != 0)
			goto out;
	}
	memcpy(tmp.leaf, k, MM_SLK_LEN);
	*f = tmp;
 out:
	mm_wipe(k, sizeof(k));
	mm_slk_wipe(&tmp);
	slk_hmac_free(&h);
	return r;
}

int
mm_slk_init(struct mm_slk_frontier *f, const uint8_t root[MM_SLK_LEN])
{
	return mm_slk_init_at(f, root, 0);
}

int
mm_slk_next(struct mm_slk_frontier *f)
{
	struct slk_hmac h;
	uint8_t k[MM_SLK_LEN];
	unsigned d;
	uint32_t p;
	int r;

	if (f->n == 0 || f->epoch == UINT32_MAX)
		return MM_ERR_RANGE;
	if ((r = slk_hmac_new(&h)) != 0)
		return r;
	/*
	 * The deepest sibling is the ancestor of epoch + 1 where its path
	 * leaves the current one; take it out of the frontier.
	 */
	f->n--;
	memcpy(k, f->sib[f->n].key, MM_SLK_LEN);
	d = f->sib[f->n].depth;
	p = f->sib[f->n].prefix;
	mm_wipe(&f->sib[f->n], sizeof(f->sib[f->n]));
	mm_wipe(f->leaf, sizeof(f->leaf));
	if ((r = slk_descend_left(&h, f, k, d, p)) != 0) {
		/* the frontier is unusable now: leave nothing in it */
		mm_slk_wipe(f);
		goto out;
	}
	f->epoch++;
 out:
	mm_wipe(k, sizeof(k));
	slk_hmac_free(&h);
	return r;
}

static void
slk_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
slk_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int
mm_slk_encode(const struct mm_slk_frontier *f, uint8_t *out, size_t outsz,
    size_t *len)
{
	size_t need, off;
	unsigned i;

	if (f->n > MM_SLK_DEPTH)
		return MM_ERR_INVALID_ARG;
	need = SLK_HEAD_WIRE + (size_t)f->n * SLK_SIB_WIRE;
	if (outsz < need)
		return MM_ERR_NO_SPACE;
	slk_put32(out, f->epoch);
	memcpy(out + 4, f->leaf, MM_SLK_LEN);
	out[4 + MM_SLK_LEN] = (uint8_t)f->n;
	off = SLK_HEAD_WIRE;
	for (i = 0; i < f->n; i++) {
		memcpy(out + off, f->sib[i].key, MM_SLK_LEN);
		out[off + MM_SLK_LEN] = f->sib[i].depth;
		slk_put32(out + off + MM_SLK_LEN + 1, f->sib[i].prefix);
		off += SLK_SIB_WIRE;
	}
	*len = need;
	return MM_OK;
}

/* The number of 0 bits of an epoch: how many siblings its frontier has. */
static unsigned
slk_zero_bits(uint32_t epoch)
{
	unsigned n = 0, i;

	for (i = 0; i < MM_SLK_DEPTH; i++)
		n += ((epoch >> i) & 1) == 0;
	return n;
}

int
mm_slk_decode(struct mm_slk_frontier *f, const uint8_t *in, size_t len)
{
	struct mm_slk_frontier tmp;
	size_t off;
	unsigned i, d;
	int r = MM_ERR_FORMAT;

	if (len < SLK_HEAD_WIRE)
		return MM_ERR_SHORT;
	memset(&tmp, 0, sizeof(tmp));
	tmp.epoch = slk_get32(in);
	memcpy(tmp.leaf, in + 4, MM_SLK_LEN);
	tmp.n = in[4 + MM_SLK_LEN];
	if (tmp.n != slk_zero_bits(tmp.epoch) ||
	    len != SLK_HEAD_WIRE + (size_t)tmp.n * SLK_SIB_WIRE)
		goto out;
	/* one sibling per 0 bit of the epoch, shallowest first */
	off = SLK_HEAD_WIRE;
	i = 0;
	for (d = 1; d <= MM_SLK_DEPTH; d++) {
		if ((slk_prefix(tmp.epoch, d) & 1) != 0)
			continue;
		memcpy(tmp.sib[i].key, in + off, MM_SLK_LEN);
		tmp.sib[i].depth = in[off + MM_SLK_LEN];
		tmp.sib[i].prefix = slk_get32(in + off + MM_SLK_LEN + 1);
		if (tmp.sib[i].depth != d ||
		    tmp.sib[i].prefix != (slk_prefix(tmp.epoch, d) | 1))
			goto out;
		off += SLK_SIB_WIRE;
		i++;
	}
	*f = tmp;
	r = MM_OK;
 out:
	mm_slk_wipe(&tmp);
	return r;
}

void
mm_slk_wipe(struct mm_slk_frontier *f)
{
	mm_wipe(f, sizeof(*f));
}
