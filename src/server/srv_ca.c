/* srv_ca.c - the fleet certificate authority: EC P-256, ECDSA-SHA256. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "common/mm_pem.h"
#include "proto/mm_topic.h"
#include "server/srv_ca.h"

#define SRV_CA_KEY_MAX		8192	/* bytes of PEM in a key file */
#define SRV_CA_CERT_MAX		16384	/* bytes of PEM in a certificate */
#define SRV_CA_NAME_MAX		64	/* X.520 upper bound of a CN */
#define SRV_CA_DNS_MAX		253
#define SRV_CA_DAYS_MAX		10950	/* 30 years */
#define SRV_CA_BACKDATE		300	/* seconds of clock skew tolerated */
#define SRV_CA_SERIAL_LEN	16	/* random serial bytes */
#define SRV_CA_SERIAL_MAX	20	/* RFC 5280 upper bound */

struct srv_ca {
	EVP_PKEY *key;
	X509 *cert;
	char *cert_pem;
	size_t cert_pem_len;
};

/* Printable ASCII only: names end up in logs and broker ACLs. */
static int
srv_ca_name_valid(const char *s)
{
	size_t i, n;

	if (s == NULL)
		return 0;
	n = strnlen(s, SRV_CA_NAME_MAX + 1);
	if (n == 0 || n > SRV_CA_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

static int
srv_ca_days_valid(int days)
{
	return days > 0 && days <= SRV_CA_DAYS_MAX;
}

/* Public PEM files (certificates, CRLs) are world-readable. */
static int
srv_ca_write_pem(const char *path, X509 *cert, X509_CRL *crl)
{
	char *pem;
	size_t len;
	int r;

	r = cert != NULL ? mm_pem_cert_to_string(cert, &pem, &len) :
	    mm_pem_crl_to_string(crl, &pem, &len);
	if (r != 0)
		return r;
	r = mm_file_write_atomic(path, pem, len, 0644);
	mm_free(pem);
	return r;
}

/* Minimal big-endian bytes of a positive serial, lower-case hex. */
static int
srv_ca_serial_hex(const ASN1_INTEGER *ai, char out[SRV_SERIAL_HEX_MAX])
{
	unsigned char b[SRV_CA_SERIAL_MAX];
	BIGNUM *bn;
	int n, r = MM_ERR_FORMAT;

	if ((bn = ASN1_INTEGER_to_BN(ai, NULL)) == NULL)
		return MM_ERR_FORMAT;
	if (BN_is_negative(bn) || (n = BN_num_bytes(bn)) > (int)sizeof(b) ||
	    n == 0 || BN_bn2bin(bn, b) != n)
		goto out;
	mm_hex_encode(out, b, (size_t)n);
	r = MM_OK;
 out:
	BN_free(bn);
	return r;
}

static int
srv_ca_info(X509 *cert, struct srv_cert_info *info)
{
	struct srv_cert_info tmp;
	uint8_t h[MM_SHA256_LEN];
	unsigned char *der = NULL;
	int n, r;

	memset(&tmp, 0, sizeof(tmp));
	if ((r = srv_ca_serial_hex(X509_get0_serialNumber(cert),
	    tmp.serial)) != 0 ||
	    (r = mm_pem_time(X509_get0_notBefore(cert), &tmp.not_before)) != 0 ||
	    (r = mm_pem_time(X509_get0_notAfter(cert), &tmp.not_after)) != 0)
		return r;
	if ((n = i2d_X509(cert, &der)) <= 0)
		return MM_ERR_CRYPTO;
	mm_sha256(h, der, (size_t)n);
	mm_hex_encode(tmp.fingerprint, h, sizeof(h));
	OPENSSL_free(der);
	*info = tmp;
	return MM_OK;
}

/* 128 random bits with the top bit clear, so the INTEGER is positive. */
static int
srv_ca_set_serial(X509 *cert)
{
	uint8_t b[SRV_CA_SERIAL_LEN];
	BIGNUM *bn;
	int ok;

	mm_random(b, sizeof(b));
	b[0] &= 0x7f;
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL)
		return MM_ERR_ALLOC;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
	BN_free(bn);
	return ok ? MM_OK : MM_ERR_CRYPTO;
}

/*
 * A v3 certificate for pub with subject [O=mamori,] CN=cn, issued by
 * issuer (NULL: self-issued), valid from now - SRV_CA_BACKDATE for days.
 */
static int
srv_ca_new_cert(const char *cn, int with_org, X509 *issuer, EVP_PKEY *pub,
    int days, X509 **out)
{
	time_t now = time(NULL);
	X509_NAME *name;
	X509 *cert;
	int r = MM_ERR_CRYPTO;

	if ((cert = X509_new()) == NULL)
		return MM_ERR_ALLOC;
	name = X509_get_subject_name(cert);
	if (X509_set_version(cert, X509_VERSION_3) != 1 ||
	    (r = srv_ca_set_serial(cert)) != 0 ||
	    (with_org && X509_NAME_add_entry_by_NID(name, NID_organizationName,
	    MBSTRING_ASC, (const unsigned char *)"mamori", -1, -1, 0) != 1) ||
	    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(cert, issuer != NULL ?
	    X509_get_subject_name(issuer) : name) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(cert), 0, -SRV_CA_BACKDATE,
	    &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, &now) == NULL ||
	    X509_set_pubkey(cert, pub) != 1) {
		X509_free(cert);
		return r != 0 ? r : MM_ERR_CRYPTO;
	}
	*out = cert;
	return MM_OK;
}

/* Adds one extension from its OpenSSL config-string form. */
static int
srv_ca_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	int ok;

	X509V3_set_ctx(&v3, issuer != NULL ? issuer : cert, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value)) == NULL)
		return MM_ERR_CRYPTO;
	ok = X509_add_ext(cert, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok ? MM_OK : MM_ERR_CRYPTO;
}

/* Extensions of every end-entity certificate; eku is the only variable. */
static int
srv_ca_leaf_exts(X509 *cert, X509 *issuer, const char *eku)
{
	int r;

	if ((r = srv_ca_add_ext(cert, issuer, NID_basic_constraints,
	    "critical,CA:FALSE")) != 0 ||
	    (r = srv_ca_add_ext(cert, issuer, NID_key_usage,
	    "critical,digitalSignature")) != 0 ||
	    (r = srv_ca_add_ext(cert, issuer, NID_ext_key_usage, eku)) != 0 ||
	    (r = srv_ca_add_ext(cert, issuer, NID_subject_key_identifier,
	    "hash")) != 0 ||
	    (r = srv_ca_add_ext(cert, issuer, NID_authority_key_identifier,
	    "keyid:always")) != 0)
		return r;
	return MM_OK;
}

static int
srv_ca_sign(X509 *cert, EVP_PKEY *key)
{
	if (X509_sign(cert, key, EVP_sha256()) <= 0) {
		ERR_clear_error();
		return MM_ERR_CRYPTO;
	}
	return MM_OK;
}

int
srv_ca_create(const char *dir, const char *name, int days)
{
	char keypath[PATH_MAX], certpath[PATH_MAX];
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	struct stat st;
	int r;

	if (dir == NULL || !srv_ca_name_valid(name) || !srv_ca_days_valid(days))
		return MM_ERR_INVALID_ARG;
	if ((r = mm_path_join(keypath, sizeof(keypath), dir, "ca.key")) != 0 ||
	    (r = mm_path_join(certpath, sizeof(certpath), dir, "ca.crt")) != 0)
		return r;
	if (lstat(keypath, &st) == 0)
		return MM_ERR_EXISTS;
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		r = MM_ERR_CRYPTO;
		goto out;
	}
	if ((r = srv_ca_new_cert(name, 1, NULL, key, days, &cert)) != 0 ||
	    (r = srv_ca_add_ext(cert, NULL, NID_basic_constraints,
	    "critical,CA:TRUE,pathlen:0")) != 0 ||
	    (r = srv_ca_add_ext(cert, NULL, NID_key_usage,
	    "critical,keyCertSign,cRLSign")) != 0 ||
	    (r = srv_ca_add_ext(cert, NULL, NID_subject_key_identifier,
	    "hash")) != 0 ||
	    (r = srv_ca_sign(cert, key)) != 0)
		goto out;
	/* Key last: a crash in between leaves no ca.key, so create can rerun. */
	if ((r = srv_ca_write_pem(certpath, cert, NULL)) != 0 ||
	    (r = mm_pem_key_write(keypath, key)) != 0)
		goto out;
	mm_log(MM_LOG_NOTICE, "ca: created fleet CA \"%s\" in %s", name, dir);
 out:
	X509_free(cert);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return r;
}

/* Like OpenSSH: a private key others can read is not used. */
static int
srv_ca_key_private(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return errno == ENOENT ? MM_ERR_NOT_FOUND : MM_ERR_IO;
	if ((st.st_mode & 077) != 0) {
		mm_log(MM_LOG_ERR, "ca: %s is accessible by others (mode %04o)",
		    path, (unsigned)(st.st_mode & 07777));
		return MM_ERR_DENIED;
	}
	return MM_OK;
}

int
srv_ca_load(const char *dir, struct srv_ca **out)
{
	char keypath[PATH_MAX], certpath[PATH_MAX];
	struct srv_ca *ca;
	int r;

	if (dir == NULL)
		return MM_ERR_INVALID_ARG;
	if ((r = mm_path_join(keypath, sizeof(keypath), dir, "ca.key")) != 0 ||
	    (r = mm_path_join(certpath, sizeof(certpath), dir, "ca.crt")) != 0 ||
	    (r = srv_ca_key_private(keypath)) != 0)
		return r;
	if ((ca = mm_calloc(1, sizeof(*ca))) == NULL)
		return MM_ERR_ALLOC;
	if ((r = mm_pem_key_read(keypath, SRV_CA_KEY_MAX, &ca->key)) != 0 ||
	    (r = mm_pem_cert_read(certpath, SRV_CA_CERT_MAX, &ca->cert)) != 0)
		goto out;
	if ((X509_get_extension_flags(ca->cert) & EXFLAG_CA) == 0) {
		r = MM_ERR_FORMAT;
		goto out;
	}
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		r = MM_ERR_KEY_MISMATCH;
		goto out;
	}
	if ((r = mm_pem_cert_to_string(ca->cert, &ca->cert_pem,
	    &ca->cert_pem_len)) != 0)
		goto out;
	*out = ca;
	ca = NULL;
 out:
	srv_ca_free(ca);
	ERR_clear_error();
	return r;
}

void
srv_ca_free(struct srv_ca *ca)
{
	if (ca == NULL)
		return;
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	mm_free(ca->cert_pem);
	mm_free(ca);
}

const char *
srv_ca_cert_pem(const struct srv_ca *ca)
{
	return ca->cert_pem;
}

/* Letters, digits, '-' and '.', no empty label: nothing a parser trips on. */
static int
srv_ca_dns_valid(const char *s)
{
	size_t i, n = strnlen(s, SRV_CA_DNS_MAX + 1);

	if (n == 0 || n > SRV_CA_DNS_MAX || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '.'))
			return 0;
	}
	return 1;
}

static GENERAL_NAME *
srv_ca_san(const char *s)
{
	unsigned char ip[16];
	ASN1_OCTET_STRING *oct = NULL;
	ASN1_IA5STRING *ia5 = NULL;
	GENERAL_NAME *gen;

	if ((gen = GENERAL_NAME_new()) == NULL)
		return NULL;
	if (inet_pton(AF_INET, s, ip) == 1 || inet_pton(AF_INET6, s, ip) == 1) {
		if ((oct = a2i_IPADDRESS(s)) != NULL) {
			GENERAL_NAME_set0_value(gen, GEN_IPADD, oct);
			return gen;
		}
	} else if (srv_ca_dns_valid(s) && (ia5 = ASN1_IA5STRING_new()) != NULL) {
		if (ASN1_STRING_set(ia5, s, -1) == 1) {
			GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
			return gen;
		}
		ASN1_IA5STRING_free(ia5);
	}
	GENERAL_NAME_free(gen);
	return NULL;
}

static int
srv_ca_add_sans(X509 *cert, const char *const *sans)
{
	GENERAL_NAMES *gens;
	GENERAL_NAME *gen;
	int r = MM_ERR_INVALID_ARG;
	size_t i;

	if ((gens = GENERAL_NAMES_new()) == NULL)
		return MM_ERR_ALLOC;
	for (i = 0; sans[i] != NULL; i++) {
		if ((gen = srv_ca_san(sans[i])) == NULL)
			goto out;
		if (sk_GENERAL_NAME_push(gens, gen) <= 0) {
			GENERAL_NAME_free(gen);
			r = MM_ERR_ALLOC;
			goto out;
		}
	}
	r = X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) == 1 ? MM_OK : MM_ERR_CRYPTO;
 out:
	GENERAL_NAMES_free(gens);
	return r;
}

int
srv_ca_issue_service(struct srv_ca *ca, const char *cn,
    const char *const *sans, enum srv_cert_use use, int days,
    const char *key_path, const char *cert_path)
{
	int has_sans = sans != NULL && sans[0] != NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	const char *eku;
	int r;

	if (ca == NULL || !srv_ca_name_valid(cn) || !srv_ca_days_valid(days) ||
	    key_path == NULL || cert_path == NULL)
		return MM_ERR_INVALID_ARG;
	if (use == SRV_USE_TLS_SERVER)
		eku = "serverAuth";
	else if (use == SRV_USE_TLS_CLIENT)
		eku = "clientAuth";
	else
		return MM_ERR_INVALID_ARG;
	/* Clients check host names against SANs only, never the CN. */
	if (use == SRV_USE_TLS_SERVER && !has_sans)
		return MM_ERR_INVALID_ARG;
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		r = MM_ERR_CRYPTO;
		goto out;
	}
	if ((r = srv_ca_new_cert(cn, 0, ca->cert, key, days, &cert)) != 0 ||
	    (r = srv_ca_leaf_exts(cert, ca->cert, eku)) != 0 ||
	    (has_sans && (r = srv_ca_add_sans(cert, sans)) != 0) ||
	    (r = srv_ca_sign(cert, ca->key)) != 0)
		goto out;
	if ((r = mm_pem_key_write(key_path, key)) != 0 ||
	    (r = srv_ca_write_pem(cert_path, cert, NULL)) != 0)
		goto out;
	mm_log(MM_LOG_INFO, "ca: issued %s certificate for \"%s\"", eku, cn);
 out:
	X509_free(cert);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return r;
}

static int
srv_ca_parse_csr(const char *pem, size_t len, X509_REQ **out)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	X509_REQ *req;
	long dlen;
	int r;

	if ((r = mm_pem_parse_one(pem, len, PEM_STRING_X509_REQ, &der,
	    &dlen)) != 0)
		return r;
	p = der;
	if ((req = d2i_X509_REQ(NULL, &p, dlen)) == NULL || p != der + dlen ||
	    X509_REQ_get_version(req) != X509_REQ_VERSION_1) {
		X509_REQ_free(req);
		r = MM_ERR_FORMAT;
	} else
		*out = req;
	OPENSSL_free(der);
	ERR_clear_error();
	return r;
}

/* Exactly one RDN holding exactly one CN, a text string equal to cn. */
static int
srv_ca_subject_is(const X509_NAME *name, const char *cn)
{
	const X509_NAME_ENTRY *e;
	const ASN1_STRING *v;
	size_t n = strlen(cn);

	if (X509_NAME_entry_count(name) != 1 ||
	    (e = X509_NAME_get_entry(name, 0)) == NULL ||
	    OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) != NID_commonName ||
	    (v = X509_NAME_ENTRY_get_data(e)) == NULL)
		return 0;
	if (ASN1_STRING_type(v) != V_ASN1_UTF8STRING &&
	    ASN1_STRING_type(v) != V_ASN1_PRINTABLESTRING)
		return 0;
	return (size_t)ASN1_STRING_length(v) == n &&
	    memcmp(ASN1_STRING_get0_data(v), cn, n) == 0;
}

static int
srv_ca_csr_refuse(const char *cn, int r, const char *why)
{
	mm_log(MM_LOG_WARN, "ca: CSR for %s refused: %s", cn, why);
	return r;
}

/*
 * The key type is checked before the signature so that no verification
 * code runs on key types we never accept.  Extensions in the request are
 * ignored: the CA decides what a certificate says.
 */
int
srv_ca_check_csr(const char *pem, size_t len, const char *expect_cn,
    X509_REQ **out)
{
	X509_REQ *req = NULL;
	EVP_PKEY *pub;
	int r;

	if (pem == NULL || expect_cn == NULL || out == NULL)
		return MM_ERR_INVALID_ARG;
	if (len > SRV_CSR_MAX)
		return srv_ca_csr_refuse(expect_cn, MM_ERR_TOO_LARGE, "too large");
	if ((r = srv_ca_parse_csr(pem, len, &req)) != 0)
		return srv_ca_csr_refuse(expect_cn, r, "not one PEM CSR");
	if ((pub = X509_REQ_get0_pubkey(req)) == NULL || !mm_pem_is_p256(pub)) {
		r = srv_ca_csr_refuse(expect_cn, MM_ERR_BAD_KEY,
		    "key is not EC P-256");
		goto out;
	}
	if (X509_REQ_get_signature_nid(req) != NID_ecdsa_with_SHA256) {
		r = srv_ca_csr_refuse(expect_cn, MM_ERR_UNSUPPORTED,
		    "signature is not ECDSA-SHA256");
		goto out;
	}
	if (X509_REQ_verify(req, pub) != 1) {
		r = srv_ca_csr_refuse(expect_cn, MM_ERR_SIGNATURE,
		    "bad self-signature");
		goto out;
	}
	if (!srv_ca_subject_is(X509_REQ_get_subject_name(req), expect_cn)) {
		r = srv_ca_csr_refuse(expect_cn, MM_ERR_DENIED,
		    "subject is not exactly the expected CN");
		goto out;
	}
	*out = req;
	req = NULL;
	r = MM_OK;
 out:
	X509_REQ_free(req);
	ERR_clear_error();
	return r;
}

int
srv_ca_issue_device(struct srv_ca *ca, X509_REQ *req,
    const char *device_id, int days, char **pem, size_t *pemlen,
    struct srv_cert_info *info)
{
	struct srv_cert_info tmp;
	X509 *cert = NULL;
	EVP_PKEY *pub;
	char *res = NULL;
	size_t reslen;
	int r;

	if (ca == NULL || req == NULL || pem == NULL || pemlen == NULL ||
	    device_id == NULL || !mm_devid_valid(device_id) ||
	    !srv_ca_days_valid(days))
		return MM_ERR_INVALID_ARG;
	/* Checked already by srv_ca_check_csr(); cheap to be sure. */
	if ((pub = X509_REQ_get0_pubkey(req)) == NULL || !mm_pem_is_p256(pub))
		return MM_ERR_BAD_KEY;
	if ((r = srv_ca_new_cert(device_id, 0, ca->cert, pub, days,
	    &cert)) != 0 ||
	    (r = srv_ca_leaf_exts(cert, ca->cert, "clientAuth")) != 0 ||
	    (r = srv_ca_sign(cert, ca->key)) != 0 ||
	    (r = srv_ca_info(cert, &tmp)) != 0 ||
	    (r = mm_pem_cert_to_string(cert, &res, &reslen)) != 0)
		goto out;
	mm_log(MM_LOG_INFO, "ca: issued device certificate %s serial %s",
	    device_id, tmp.serial);
	if (info != NULL)
		*info = tmp;
	*pem = res;
	*pemlen = reslen;
 out:
	X509_free(cert);
	ERR_clear_error();
	return r;
}

/* Parses our own serial format back: even-length hex, 1..20 bytes. */
static int
srv_ca_serial_parse(const char *hex, ASN1_INTEGER **out)
{
	unsigned char b[SRV_CA_SERIAL_MAX];
	size_t n = strnlen(hex, SRV_SERIAL_HEX_MAX);
	ASN1_INTEGER *ai;
	BIGNUM *bn;

	if (n == 0 || n >= SRV_SERIAL_HEX_MAX || n % 2 != 0 ||
	    mm_hex_decode(b, n / 2, hex) != 0)
		return MM_ERR_INVALID_ARG;
	if ((bn = BN_bin2bn(b, (int)(n / 2), NULL)) == NULL)
		return MM_ERR_ALLOC;
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	if (ai == NULL)
		return MM_ERR_ALLOC;
	*out = ai;
	return MM_OK;
}

static int
srv_ca_crl_add(X509_CRL *crl, const struct srv_revoked *rv)
{
	ASN1_INTEGER *serial = NULL;
	X509_REVOKED *rev = NULL;
	ASN1_TIME *when = NULL;
	int r;

	if ((r = srv_ca_serial_parse(rv->serial, &serial)) != 0)
		return r;
	r = MM_ERR_CRYPTO;
	if ((rev = X509_REVOKED_new()) == NULL ||
	    (when = ASN1_TIME_set(NULL, rv->when)) == NULL ||
	    X509_REVOKED_set_serialNumber(rev, serial) != 1 ||
	    X509_REVOKED_set_revocationDate(rev, when) != 1 ||
	    X509_CRL_add0_revoked(crl, rev) != 1)
		goto out;
	rev = NULL;
	r = MM_OK;
 out:
	X509_REVOKED_free(rev);
	ASN1_TIME_free(when);
	ASN1_INTEGER_free(serial);
	return r;
}

/* CRL number and authority key id, as RFC 5280 section 5.2 asks. */
static int
srv_ca_crl_exts(struct srv_ca *ca, X509_CRL *crl, time_t now)
{
	X509_EXTENSION *ext = NULL;
	ASN1_INTEGER *num;
	X509V3_CTX v3;
	int r = MM_ERR_CRYPTO;

	/* Seconds since the epoch increase from one CRL to the next. */
	if ((num = ASN1_INTEGER_new()) == NULL)
		return MM_ERR_ALLOC;
	if (ASN1_INTEGER_set_int64(num, (int64_t)now) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)
		goto out;
	X509V3_set_ctx(&v3, ca->cert, NULL, NULL, crl, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &v3,
	    NID_authority_key_identifier, "keyid:always")) == NULL ||
	    X509_CRL_add_ext(crl, ext, -1) != 1)
		goto out;
	r = MM_OK;
 out:
	X509_EXTENSION_free(ext);
	ASN1_INTEGER_free(num);
	return r;
}

static int
srv_ca_crl_build(struct srv_ca *ca, const struct srv_revoked *list, size_t n,
    int days, X509_CRL **out)
{
	time_t now = time(NULL);
	ASN1_TIME *last = NULL, *next = NULL;
	X509_CRL *crl;
	size_t i;
	int r = MM_ERR_CRYPTO;

	if ((crl = X509_CRL_new()) == NULL)
		return MM_ERR_ALLOC;
	if (X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) != 1 ||
	    (last = ASN1_TIME_set(NULL, now)) == NULL ||
	    (next = ASN1_TIME_adj(NULL, now, days, 0)) == NULL ||
	    X509_CRL_set1_lastUpdate(crl, last) != 1 ||
	    X509_CRL_set1_nextUpdate(crl, next) != 1)
		goto out;
	for (i = 0; i < n; i++)
		if ((r = srv_ca_crl_add(crl, &list[i])) != 0)
			goto out;
	r = MM_ERR_CRYPTO;
	if (X509_CRL_sort(crl) != 1 ||
	    (r = srv_ca_crl_exts(ca, crl, now)) != 0)
		goto out;
	if (X509_CRL_sign(crl, ca->key, EVP_sha256()) <= 0) {
		r = MM_ERR_CRYPTO;
		goto out;
	}
	*out = crl;
	crl = NULL;
	r = MM_OK;
 out:
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	return r;
}

int
srv_ca_write_crl(struct srv_ca *ca, const struct srv_revoked *list,
    size_t n, int days, const char *path)
{
	X509_CRL *crl = NULL;
	int r;

	if (ca == NULL || path == NULL || (n > 0 && list == NULL) ||
	    !srv_ca_days_valid(days))
		return MM_ERR_INVALID_ARG;
	if ((r = srv_ca_crl_build(ca, list, n, days, &crl)) != 0 ||
	    (r = srv_ca_write_pem(path, NULL, crl)) != 0)
		goto out;
	mm_log(MM_LOG_INFO, "ca: wrote CRL with %zu entries to %s", n, path);
 out:
	X509_CRL_free(crl);
	ERR_clear_error();
	return r;
}

int
srv_ca_cert_info(const char *pem, size_t len, struct srv_cert_info *info)
{
	X509 *cert = NULL;
	int r;

	if (info == NULL)
		return MM_ERR_INVALID_ARG;
	if ((r = mm_pem_parse_cert(pem, len, SRV_CA_CERT_MAX, &cert)) != 0)
		return r;
	r = srv_ca_info(cert, info);
	X509_free(cert);
	ERR_clear_error();
	return r;
}
