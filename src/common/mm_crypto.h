/*
 * mm_crypto.h - the small internal crypto API, libsodium style.
 *
 * Fixed-size key parameters, results that must be checked, no fallbacks.
 * No primitive is implemented here: libsodium does the work.
 */
#ifndef MM_CRYPTO_H
#define MM_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define MM_SIGN_PK_LEN 32
#define MM_SIGN_SK_LEN 64
#define MM_SIGN_LEN 64
#define MM_SHA256_LEN 32
#define MM_KEYID_LEN 8

#define MM_MUST_CHECK __attribute__((warn_unused_result))

/* Initialises libsodium and routes jansson's allocations through mm_alloc.
 * Call once at start of every program.  MM_OK or MM_ERR_CRYPTO. */
int mm_crypto_init(void) MM_MUST_CHECK;

void mm_random(void *buf, size_t len);
uint32_t mm_random_uniform(uint32_t upper_bound);

void mm_sha256(uint8_t out[MM_SHA256_LEN], const void *data, size_t len);

/* Ed25519 (command signing). */
int mm_sign_keypair(uint8_t pk[MM_SIGN_PK_LEN], uint8_t sk[MM_SIGN_SK_LEN]) MM_MUST_CHECK;
int mm_sign_detached(uint8_t sig[MM_SIGN_LEN], const void *msg, size_t len,
    const uint8_t sk[MM_SIGN_SK_LEN]) MM_MUST_CHECK;
/* MM_OK if sig is valid for msg under pk, else MM_ERR_SIGNATURE. */
int mm_sign_verify(const uint8_t sig[MM_SIGN_LEN], const void *msg, size_t len,
    const uint8_t pk[MM_SIGN_PK_LEN]) MM_MUST_CHECK;
/* Key id: the first 8 bytes of SHA-256 of the public key. */
void mm_sign_keyid(uint8_t id[MM_KEYID_LEN], const uint8_t pk[MM_SIGN_PK_LEN]);

/* Sealed boxes (X25519 + XSalsa20-Poly1305, libsodium crypto_box_seal):
 * anyone with pk can seal; only the holder of sk can open.  Used to hand a
 * secret to one operator through the broker and the database. */
#define MM_BOX_PK_LEN 32
#define MM_BOX_SK_LEN 32
#define MM_SEAL_OVERHEAD 48
int mm_box_keypair(uint8_t pk[MM_BOX_PK_LEN], uint8_t sk[MM_BOX_SK_LEN]) MM_MUST_CHECK;
/* out must hold len + MM_SEAL_OVERHEAD bytes. */
int mm_seal(uint8_t *out, const void *msg, size_t len,
    const uint8_t pk[MM_BOX_PK_LEN]) MM_MUST_CHECK;
/* out must hold len - MM_SEAL_OVERHEAD bytes; MM_ERR_SIGNATURE if forged. */
int mm_seal_open(uint8_t *out, const uint8_t *sealed, size_t len,
    const uint8_t pk[MM_BOX_PK_LEN], const uint8_t sk[MM_BOX_SK_LEN]) MM_MUST_CHECK;

/* Constant-time comparison: 0 if equal. */
int mm_memeq_ct(const void *a, const void *b, size_t len) MM_MUST_CHECK;
void mm_wipe(void *p, size_t len);

/* Lower-case hex.  out must hold 2*len+1 bytes. */
void mm_hex_encode(char *out, const uint8_t *in, size_t len);
/* Exact-length hex decode: hex must be 2*outlen chars.  MM_ERR_FORMAT. */
int mm_hex_decode(uint8_t *out, size_t outlen, const char *hex) MM_MUST_CHECK;

#endif
