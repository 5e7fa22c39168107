/* mm_crypto.c - wrappers over libsodium. */
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"

static void *
mm_json_malloc(size_t n)
{
	return mm_malloc(n);
}

int
mm_crypto_init(void)
{
	if (sodium_init() < 0)
		return MM_ERR_CRYPTO;
	json_set_alloc_funcs(mm_json_malloc, mm_free);
	return MM_OK;
}

void
mm_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

uint32_t
mm_random_uniform(uint32_t upper_bound)
{
	return upper_bound == 0 ? 0 : randombytes_uniform(upper_bound);
}

void
mm_sha256(uint8_t out[MM_SHA256_LEN], const void *data, size_t len)
{
	crypto_hash_sha256(out, data, len);
}

int
mm_sign_keypair(uint8_t pk[MM_SIGN_PK_LEN], uint8_t sk[MM_SIGN_SK_LEN])
{
	return crypto_sign_ed25519_keypair(pk, sk) == 0 ? MM_OK : MM_ERR_CRYPTO;
}

int
mm_box_keypair(uint8_t pk[MM_BOX_PK_LEN], uint8_t sk[MM_BOX_SK_LEN])
{
	return crypto_box_keypair(pk, sk) == 0 ? MM_OK : MM_ERR_CRYPTO;
}

_Static_assert(MM_SEAL_OVERHEAD == crypto_box_SEALBYTES, "seal overhead");

int
mm_seal(uint8_t *out, const void *msg, size_t len, const uint8_t pk[MM_BOX_PK_LEN])
{
	return crypto_box_seal(out, msg, len, pk) == 0 ? MM_OK : MM_ERR_CRYPTO;
}

int
mm_seal_open(uint8_t *out, const uint8_t *sealed, size_t len,
    const uint8_t pk[MM_BOX_PK_LEN], const uint8_t sk[MM_BOX_SK_LEN])
{
	if (len < MM_SEAL_OVERHEAD)
		return MM_ERR_FORMAT;
	return crypto_box_seal_open(out, sealed, len, pk, sk) == 0 ? MM_OK :
	    MM_ERR_SIGNATURE;
}

int
mm_sign_detached(uint8_t sig[MM_SIGN_LEN], const void *msg, size_t len,
    const uint8_t sk[MM_SIGN_SK_LEN])
{
	return crypto_sign_ed25519_detached(sig, NULL, msg, len, sk) == 0 ?
	    MM_OK : MM_ERR_CRYPTO;
}

int
mm_sign_verify(const uint8_t sig[MM_SIGN_LEN], const void *msg, size_t len,
    const uint8_t pk[MM_SIGN_PK_LEN])
{
	return crypto_sign_ed25519_verify_detached(sig, msg, len, pk) == 0 ?
	    MM_OK : MM_ERR_SIGNATURE;
}

void
mm_sign_keyid(uint8_t id[MM_KEYID_LEN], const uint8_t pk[MM_SIGN_PK_LEN])
{
	uint8_t h[MM_SHA256_LEN];

	mm_sha256(h, pk, MM_SIGN_PK_LEN);
	memcpy(id, h, MM_KEYID_LEN);
}

int
mm_memeq_ct(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0 ? 0 : -1;
}

void
mm_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

void
mm_hex_encode(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static int
mm_hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
mm_hex_decode(uint8_t *out, size_t outlen, const char *hex)
{
	size_t i;
	int hi, lo;

	if (strnlen(hex, 2 * outlen + 1) != 2 * outlen)
		return MM_ERR_FORMAT;
	for (i = 0; i < outlen; i++) {
		hi = mm_hex_nibble(hex[2 * i]);
		lo = mm_hex_nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return MM_ERR_FORMAT;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return MM_OK;
}
