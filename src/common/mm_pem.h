/*
 * mm_pem.h - strict PEM and key-file helpers over OpenSSL, shared by the
 * device keystore and the fleet CA.
 *
 * Every function returns MM_OK or a negative MM_ERR_* code, sets its
 * out-parameters only on success and leaves the OpenSSL error queue as the
 * caller needs it: functions that parse untrusted bytes clear it.
 */
#ifndef MM_PEM_H
#define MM_PEM_H

#include <stddef.h>
#include <time.h>

#include <openssl/types.h>

/*
 * 1 if pkey is an EC key on the named curve P-256, else 0 (also for NULL).
 * Explicit curve parameters are refused even when they spell out P-256.
 */
int mm_pem_is_p256(const EVP_PKEY *pkey);

/*
 * Atomically writes pkey as unencrypted PKCS#8 PEM to path, mode 0600.  The
 * PEM text lives only in secure memory, wiped after use.  MM_ERR_ALLOC,
 * MM_ERR_CRYPTO if OpenSSL cannot encode the key, or an mm_file_write_atomic()
 * error.
 */
int mm_pem_key_write(const char *path, const EVP_PKEY *pkey);

/*
 * Reads an EC P-256 private key from the PEM file path of at most max bytes;
 * the file contents are wiped before return.  A pass phrase is never asked
 * for.  *out is the caller's (EVP_PKEY_free).  mm_file_read() errors
 * (MM_ERR_NOT_FOUND, MM_ERR_TOO_LARGE, MM_ERR_IO...), MM_ERR_ALLOC,
 * MM_ERR_FORMAT if no key can be read, MM_ERR_BAD_KEY if it is not P-256.
 */
int mm_pem_key_read(const char *path, size_t max, EVP_PKEY **out);

/*
 * The PEM text of a certificate, request or CRL as a new NUL-terminated
 * string *pem of *len bytes (not counting the NUL), freed with mm_free().
 * MM_ERR_ALLOC or MM_ERR_CRYPTO.
 */
int mm_pem_cert_to_string(const X509 *cert, char **pem, size_t *len);
int mm_pem_req_to_string(const X509_REQ *req, char **pem, size_t *len);
int mm_pem_crl_to_string(const X509_CRL *crl, char **pem, size_t *len);

/*
 * Decodes exactly one PEM block labelled label (e.g. PEM_STRING_X509) from
 * len untrusted bytes at pem: only white space may surround it, it may carry
 * no PEM headers (so no encryption), its body must not be empty and pem
 * must hold no NUL byte.  *der (OPENSSL_free) holds *derlen bytes of DER.
 * MM_ERR_INVALID_ARG if pem or label is NULL, MM_ERR_TOO_LARGE above
 * INT_MAX bytes, MM_ERR_ALLOC, else MM_ERR_FORMAT for anything refused.
 */
int mm_pem_parse_one(const char *pem, size_t len, const char *label,
    unsigned char **der, long *derlen);

/*
 * Parses exactly one PEM certificate of at most max bytes as
 * mm_pem_parse_one() does; its DER must be consumed exactly, so nothing can
 * be smuggled in around the signed part.  Nothing is verified.  *out is the
 * caller's (X509_free).  MM_ERR_INVALID_ARG if pem is NULL,
 * MM_ERR_TOO_LARGE if len > max, MM_ERR_ALLOC, else MM_ERR_FORMAT.
 */
int mm_pem_parse_cert(const char *pem, size_t len, size_t max, X509 **out);

/*
 * Reads the certificate file path of at most max bytes with
 * mm_pem_parse_cert().  *out is the caller's (X509_free).  mm_file_read()
 * errors or those of mm_pem_parse_cert().
 */
int mm_pem_cert_read(const char *path, size_t max, X509 **out);

/* An ASN1_TIME as seconds since the epoch (UTC).  MM_ERR_FORMAT. */
int mm_pem_time(const ASN1_TIME *t, time_t *out);

#endif
