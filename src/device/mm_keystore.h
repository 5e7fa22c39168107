/*
 * mm_keystore.h - the device's identity keys and certificates.
 *
 * The device key pair is generated on the device and never leaves it.  This
 * interface is the only code that touches private key material, so a
 * PKCS#11 or TPM backend can replace the file backend later.  File backend
 * layout in the state directory (docs/decisions/0001-keys-and-algorithms.md):
 *
 *   device.key       EC P-256 private key, PEM, mode 0600
 *   device.crt       certificate issued by the fleet CA (CN = device id)
 *   device.key.next  key generated for a pending re-key, mode 0600
 *   ca.crt           fleet CA certificate: the trust anchor, set at factory
 */
#ifndef MM_KEYSTORE_H
#define MM_KEYSTORE_H

#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>

#include "common/mm_crypto.h"

enum mm_key_slot { MM_SLOT_CURRENT, MM_SLOT_NEXT };

struct mm_keystore;

/* Opens (does not create) the keystore in state_dir; checks the directory
 * exists.  *out on success.  Completes a re-key interrupted between the
 * certificate and the key write (device.crt already for device.key.next). */
int mm_keystore_open(const char *state_dir, struct mm_keystore **out);
void mm_keystore_free(struct mm_keystore *ks);

/* 1 if the slot has a private key file. */
int mm_keystore_has_key(const struct mm_keystore *ks, enum mm_key_slot slot);
/* 1 if device.crt exists. */
int mm_keystore_has_cert(const struct mm_keystore *ks);

/* Generates a fresh EC P-256 key in the slot (atomic write, mode 0600),
 * replacing any key already there. */
int mm_keystore_generate(struct mm_keystore *ks, enum mm_key_slot slot);

/* PEM CSR for the slot's key with subject CN = cn.  *pem is a new
 * NUL-terminated string of *len bytes; mm_free it. */
int mm_keystore_csr(struct mm_keystore *ks, enum mm_key_slot slot,
    const char *cn, char **pem, size_t *len);

/*
 * Installs a certificate for the slot's key.  Checks, before changing any
 * file: the PEM parses, it chains to ca.crt, its public key equals the
 * slot's key (MM_ERR_KEY_MISMATCH), its CN equals expect_cn (MM_ERR_DENIED),
 * it is currently valid.  For MM_SLOT_NEXT the next key then becomes the
 * current key (device.key replaced atomically, device.key.next removed).
 * Other refusals: MM_ERR_TOO_LARGE / MM_ERR_FORMAT (not exactly one PEM
 * certificate), MM_ERR_SIGNATURE (does not chain to ca.crt or lacks
 * clientAuth), MM_ERR_EXPIRED, MM_ERR_NOT_YET_VALID, MM_ERR_DENIED also for
 * a CA certificate.
 */
int mm_keystore_install_cert(struct mm_keystore *ks, enum mm_key_slot slot,
    const char *pem, size_t len, const char *expect_cn);

/* Writes the trust anchor (factory step).  Refuses a non-CA certificate. */
int mm_keystore_set_ca(struct mm_keystore *ks, const char *pem, size_t len);

/* notAfter of device.crt as a Unix time. */
int mm_keystore_cert_not_after(const struct mm_keystore *ks, time_t *out);
/* notBefore (may be NULL) and notAfter of device.crt. */
int mm_keystore_cert_validity(const struct mm_keystore *ks, time_t *not_before,
    time_t *not_after);
/* SHA-256 fingerprint of device.crt's DER, lower-case hex. */
int mm_keystore_cert_fingerprint(const struct mm_keystore *ks,
    char out[2 * MM_SHA256_LEN + 1]);

/*
 * A TLS client context for the fleet broker: TLS 1.2 minimum, the fleet CA
 * as the only trust anchor, the peer verified against it with host name
 * checked against server_host (an IP literal against IP SANs, a DNS name
 * against DNS SANs only, never the CN), and - if with_identity -
 * device.key and device.crt loaded into memory (so the key file need not
 * stay readable after privileges are dropped).  *out is owned by the
 * caller (SSL_CTX_free).
 */
int mm_keystore_tls_ctx(const struct mm_keystore *ks, const char *server_host,
    int with_identity, SSL_CTX **out);

/*
 * TLS server context for the device's HTTPS admin page: web.key (P-256,
 * 0600) and web.crt from the state directory, made self-signed with
 * subject and DNS name cn on first use.  An operator may replace both with
 * a key and certificate of their own.  TLS 1.2 minimum, no renegotiation.
 */
int mm_keystore_web_ctx(const struct mm_keystore *ks, const char *cn,
    SSL_CTX **out);

#endif
