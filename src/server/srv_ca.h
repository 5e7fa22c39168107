/*
 * srv_ca.h - the fleet certificate authority (server side only).
 *
 * EC P-256 keys and ECDSA-SHA256 signatures throughout
 * (docs/decisions/0001-keys-and-algorithms.md).  Files in the CA directory:
 *   ca.key (0600), ca.crt, and the CRL written by srv_ca_write_crl().
 */
#ifndef SRV_CA_H
#define SRV_CA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/mm_crypto.h"

#define SRV_CSR_MAX 4096		/* bytes of PEM accepted in a CSR */
#define SRV_SERIAL_HEX_MAX 41		/* 20-byte serial in hex + NUL */

struct srv_ca;

/* Serials are written as lower-case hex of their minimal big-endian bytes. */
struct srv_cert_info {
	char serial[SRV_SERIAL_HEX_MAX];		/* lower-case hex */
	char fingerprint[2 * MM_SHA256_LEN + 1];	/* SHA-256 of DER, hex */
	time_t not_before;
	time_t not_after;
};

struct srv_revoked {
	char serial[SRV_SERIAL_HEX_MAX];
	time_t when;
};

/* Creates ca.key and ca.crt in dir (which must exist) for a CA named name,
 * valid for days.  MM_ERR_EXISTS if ca.key is already there. */
int srv_ca_create(const char *dir, const char *name, int days);
/* MM_ERR_DENIED if ca.key is accessible by group or others. */
int srv_ca_load(const char *dir, struct srv_ca **out);
void srv_ca_free(struct srv_ca *ca);
/* PEM of the CA certificate (borrowed; lives as long as ca). */
const char *srv_ca_cert_pem(const struct srv_ca *ca);

enum srv_cert_use { SRV_USE_TLS_SERVER, SRV_USE_TLS_CLIENT };

/*
 * Generates a key pair and a certificate for one of the fleet's own
 * services (the broker's TLS identity, the server's MQTT client identity),
 * writes key_path (0600) and cert_path.  sans is a NULL-terminated list of
 * DNS names or IP addresses (IP if it parses as one), may be NULL; a
 * SRV_USE_TLS_SERVER certificate needs at least one (MM_ERR_INVALID_ARG).
 */
int srv_ca_issue_service(struct srv_ca *ca, const char *cn,
    const char *const *sans, enum srv_cert_use use, int days,
    const char *key_path, const char *cert_path);

/*
 * Parses and checks a device CSR from untrusted bytes.  Refuses:
 * MM_ERR_TOO_LARGE (over SRV_CSR_MAX), MM_ERR_FORMAT (not exactly one PEM
 * CSR), MM_ERR_SIGNATURE (self-signature invalid), MM_ERR_BAD_KEY (not an
 * EC key on the named curve P-256), MM_ERR_UNSUPPORTED (signature not
 * ECDSA-SHA256), MM_ERR_DENIED (subject not exactly CN = expect_cn).
 * Extensions in the request are ignored.
 * On MM_OK *out is the request (X509_REQ_free).
 */
int srv_ca_check_csr(const char *pem, size_t len, const char *expect_cn,
    X509_REQ **out);

/*
 * Issues a device certificate from a checked request: random 128-bit
 * serial, CN = device_id, valid now-5min .. now+days, CA:FALSE,
 * digitalSignature, clientAuth.  *pem is a new string (mm_free).
 */
int srv_ca_issue_device(struct srv_ca *ca, X509_REQ *req,
    const char *device_id, int days, char **pem, size_t *pemlen,
    struct srv_cert_info *info);

/* Writes (atomically) a CRL listing the revoked serials, next update in
 * days, to path.  MM_ERR_INVALID_ARG for a serial not in our hex format. */
int srv_ca_write_crl(struct srv_ca *ca, const struct srv_revoked *list,
    size_t n, int days, const char *path);

/* Info about a PEM certificate (used for registry bookkeeping). */
int srv_ca_cert_info(const char *pem, size_t len, struct srv_cert_info *info);

#endif
