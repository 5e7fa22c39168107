/* mm_keystore.c - file backend of the device keystore (EC P-256, PEM). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "common/mm_pem.h"
#include "device/mm_keystore.h"

#define MM_KS_KEY_MAX	8192		/* bytes of PEM in a key file */
#define MM_KS_CERT_MAX	16384		/* bytes of PEM in a certificate */
#define MM_KS_CN_MAX	64		/* X.520 upper bound of a CN */

#define MM_KS_KEY	"device.key"
#define MM_KS_KEY_NEXT	"device.key.next"
#define MM_KS_CERT	"device.crt"
#define MM_KS_CA	"ca.crt"

struct mm_keystore {
	char dir[PATH_MAX];
};

static int
mm_ks_path(const struct mm_keystore *ks, const char *name, char out[PATH_MAX])
{
	return mm_path_join(out, PATH_MAX, ks->dir, name);
}

static const char *
mm_ks_slot_file(enum mm_key_slot slot)
{
	return slot == MM_SLOT_NEXT ? MM_KS_KEY_NEXT : MM_KS_KEY;
}

static int
mm_ks_exists(const struct mm_keystore *ks, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (mm_ks_path(ks, name, path) != 0)
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Printable ASCII only: the CN ends up in logs and in broker ACLs. */
static int
mm_ks_cn_valid(const char *cn)
{
	size_t i, n;

	if (cn == NULL)
		return 0;
	n = strnlen(cn, MM_KS_CN_MAX + 1);
	if (n == 0 || n > MM_KS_CN_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (cn[i] < 0x20 || cn[i] > 0x7e)
			return 0;
	return 1;
}

static int
mm_ks_read_key(const struct mm_keystore *ks, enum mm_key_slot slot,
    EVP_PKEY **out)
{
	char path[PATH_MAX];
	int r;

	if ((r = mm_ks_path(ks, mm_ks_slot_file(slot), path)) != 0)
		return r;
	return mm_pem_key_read(path, MM_KS_KEY_MAX, out);
}

static int
mm_ks_write_key(const struct mm_keystore *ks, const char *name,
    EVP_PKEY *pkey)
{
	char path[PATH_MAX];
	int r;

	if ((r = mm_ks_path(ks, name, path)) != 0)
		return r;
	return mm_pem_key_write(path, pkey);
}

static int
mm_ks_load_cert(const struct mm_keystore *ks, const char *name, X509 **out)
{
	char path[PATH_MAX];
	int r;

	if ((r = mm_ks_path(ks, name, path)) != 0)
		return r;
	return mm_pem_cert_read(path, MM_KS_CERT_MAX, out);
}

/* Writes a certificate re-encoded by us, not the bytes we were given. */
static int
mm_ks_write_cert(const struct mm_keystore *ks, const char *name, X509 *cert)
{
	char path[PATH_MAX], *pem;
	size_t len;
	int r;

	if ((r = mm_ks_path(ks, name, path)) != 0 ||
	    (r = mm_pem_cert_to_string(cert, &pem, &len)) != 0)
		return r;
	r = mm_file_write_atomic(path, pem, len, 0644);
	mm_free(pem);
	return r;
}

static int
mm_ks_cn_equals(X509 *cert, const char *expect_cn)
{
	X509_NAME *name = X509_get_subject_name(cert);
	const ASN1_STRING *val;
	X509_NAME_ENTRY *e;
	size_t n = strlen(expect_cn);

	if (X509_NAME_entry_count(name) != 1 ||
	    (e = X509_NAME_get_entry(name, 0)) == NULL ||
	    OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) != NID_commonName ||
	    (val = X509_NAME_ENTRY_get_data(e)) == NULL)
		return 0;
	return (size_t)ASN1_STRING_length(val) == n &&
	    memcmp(ASN1_STRING_get0_data(val), expect_cn, n) == 0;
}

static int
mm_ks_verify_err(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return MM_ERR_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return MM_ERR_NOT_YET_VALID;
	default:
		return MM_ERR_SIGNATURE;
	}
}

/* The leaf must chain to ca.crt alone, be valid now and allow clientAuth. */
static int
mm_ks_verify_chain(const struct mm_keystore *ks, X509 *cert)
{
	X509_STORE_CTX *sctx = NULL;
	X509_STORE *store = NULL;
	X509 *ca = NULL;
	int r, err;

	if ((r = mm_ks_load_cert(ks, MM_KS_CA, &ca)) != 0)
		return r;
	if ((store = X509_STORE_new()) == NULL ||
	    (sctx = X509_STORE_CTX_new()) == NULL) {
		r = MM_ERR_ALLOC;
		goto out;
	}
	if (X509_STORE_add_cert(store, ca) != 1 ||
	    X509_STORE_CTX_init(sctx, store, cert, NULL) != 1 ||
	    X509_STORE_CTX_set_purpose(sctx, X509_PURPOSE_SSL_CLIENT) != 1) {
		r = MM_ERR_CRYPTO;
		goto out;
	}
	if (X509_verify_cert(sctx) != 1) {
		err = X509_STORE_CTX_get_error(sctx);
		mm_log(MM_LOG_WARN, "keystore: certificate refused: %s",
		    X509_verify_cert_error_string(err));
		r = mm_ks_verify_err(err);
		goto out;
	}
	r = MM_OK;
 out:
	X509_STORE_CTX_free(sctx);
	X509_STORE_free(store);
	X509_free(ca);
	ERR_clear_error();
	return r;
}

static int
mm_ks_remove(const struct mm_keystore *ks, const char *name)
{
	char path[PATH_MAX];
	int r;

	if ((r = mm_ks_path(ks, name, path)) != 0)
		return r;
	if (unlink(path) != 0 && errno != ENOENT)
		return MM_ERR_IO;
	return MM_OK;
}

/*
 * Makes the next key current.  device.crt is written first by the caller,
 * so a crash in between leaves a state that mm_ks_recover() completes.
 */
static int
mm_ks_promote_next(struct mm_keystore *ks, EVP_PKEY *next)
{
	int r;

	if ((r = mm_ks_write_key(ks, MM_KS_KEY, next)) != 0)
		return r;
	return mm_ks_remove(ks, MM_KS_KEY_NEXT);
}

/* Finishes a re-key interrupted after device.crt was replaced. */
static int
mm_ks_recover(struct mm_keystore *ks)
{
	EVP_PKEY *next = NULL;
	X509 *cert = NULL;
	int r = MM_OK;

	if (!mm_ks_exists(ks, MM_KS_KEY_NEXT) || !mm_ks_exists(ks, MM_KS_CERT))
		return MM_OK;
	if (mm_ks_read_key(ks, MM_SLOT_NEXT, &next) != 0 ||
	    mm_ks_load_cert(ks, MM_KS_CERT, &cert) != 0)
		goto out;	/* not ours to judge here; install will */
	if (EVP_PKEY_eq(X509_get0_pubkey(cert), next) == 1) {
		mm_log(MM_LOG_NOTICE, "keystore: completing interrupted re-key");
		r = mm_ks_promote_next(ks, next);
	}
 out:
	EVP_PKEY_free(next);
	X509_free(cert);
	ERR_clear_error();
	return r;
}

int
mm_keystore_open(const char *state_dir, struct mm_keystore **out)
{
	struct mm_keystore *ks;
	struct stat st;
	int r;

	if (state_dir == NULL || strlen(state_dir) >= sizeof(ks->dir))
		return MM_ERR_INVALID_ARG;
	if (stat(state_dir, &st) != 0)
		return errno == ENOENT ? MM_ERR_NOT_FOUND : MM_ERR_IO;
	if (!S_ISDIR(st.st_mode))
		return MM_ERR_INVALID_ARG;
	if ((ks = mm_calloc(1, sizeof(*ks))) == NULL)
		return MM_ERR_ALLOC;
	memcpy(ks->dir, state_dir, strlen(state_dir) + 1);
	if ((r = mm_ks_recover(ks)) != 0) {
		mm_free(ks);
		return r;
	}
	*out = ks;
	return MM_OK;
}

void
mm_keystore_free(struct mm_keystore *ks)
{
	mm_free(ks);
}

int
mm_keystore_has_key(const struct mm_keystore *ks, enum mm_key_slot slot)
{
	return mm_ks_exists(ks, mm_ks_slot_file(slot));
}

int
mm_keystore_has_cert(const struct mm_keystore *ks)
{
	return mm_ks_exists(ks, MM_KS_CERT);
}

int
mm_keystore_generate(struct mm_keystore *ks, enum mm_key_slot slot)
{
	EVP_PKEY *pkey;
	int r;

	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL) {
		ERR_clear_error();
		return MM_ERR_CRYPTO;
	}
	r = mm_ks_write_key(ks, mm_ks_slot_file(slot), pkey);
	EVP_PKEY_free(pkey);
	return r;
}

int
mm_keystore_csr(struct mm_keystore *ks, enum mm_key_slot slot,
    const char *cn, char **pem, size_t *len)
{
	EVP_PKEY *pkey = NULL;
	X509_REQ *req = NULL;
	X509_NAME *name;
	int r;

	if (!mm_ks_cn_valid(cn))
		return MM_ERR_INVALID_ARG;
	if ((r = mm_ks_read_key(ks, slot, &pkey)) != 0)
		return r;
	if ((req = X509_REQ_new()) == NULL) {
		r = MM_ERR_ALLOC;
		goto out;
	}
	r = MM_ERR_CRYPTO;
	if (X509_REQ_set_version(req, 0) != 1 ||
	    (name = X509_REQ_get_subject_name(req)) == NULL ||
	    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_REQ_set_pubkey(req, pkey) != 1 ||
	    X509_REQ_sign(req, pkey, EVP_sha256()) <= 0)
		goto out;
	r = mm_pem_req_to_string(req, pem, len);
 out:
	X509_REQ_free(req);
	EVP_PKEY_free(pkey);
	ERR_clear_error();
	return r;
}

/* All checks of mm_keystore_install_cert(), before any file changes. */
static int
mm_ks_check_cert(const struct mm_keystore *ks, X509 *cert, EVP_PKEY *key,
    const char *expect_cn)
{
	int r;

	if ((r = mm_ks_verify_chain(ks, cert)) != 0)
		return r;
	if (EVP_PKEY_eq(X509_get0_pubkey(cert), key) != 1) {
		ERR_clear_error();
		mm_log(MM_LOG_WARN, "keystore: certificate is for another key");
		return MM_ERR_KEY_MISMATCH;
	}
	if (!mm_ks_cn_equals(cert, expect_cn)) {
		mm_log(MM_LOG_WARN, "keystore: certificate subject is not "
		    "CN=%s", expect_cn);
		return MM_ERR_DENIED;
	}
	/* A device must never hold a certificate that can sign others. */
	if (X509_check_ca(cert) != 0) {
		mm_log(MM_LOG_WARN, "keystore: refusing a CA certificate");
		return MM_ERR_DENIED;
	}
	return MM_OK;
}

int
mm_keystore_install_cert(struct mm_keystore *ks, enum mm_key_slot slot,
    const char *pem, size_t len, const char *expect_cn)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int r;

	if (!mm_ks_cn_valid(expect_cn))
		return MM_ERR_INVALID_ARG;
	if ((r = mm_pem_parse_cert(pem, len, MM_KS_CERT_MAX, &cert)) != 0 ||
	    (r = mm_ks_read_key(ks, slot, &key)) != 0 ||
	    (r = mm_ks_check_cert(ks, cert, key, expect_cn)) != 0)
		goto out;
	if ((r = mm_ks_write_cert(ks, MM_KS_CERT, cert)) != 0)
		goto out;
	if (slot == MM_SLOT_NEXT)
		r = mm_ks_promote_next(ks, key);
 out:
	EVP_PKEY_free(key);
	X509_free(cert);
	return r;
}

int
mm_keystore_set_ca(struct mm_keystore *ks, const char *pem, size_t len)
{
	X509 *cert = NULL;
	int r;

	if ((r = mm_pem_parse_cert(pem, len, MM_KS_CERT_MAX, &cert)) != 0)
		return r;
	/* EXFLAG_CA is set only by basicConstraints CA:TRUE. */
	if ((X509_get_extension_flags(cert) & EXFLAG_CA) == 0) {
		mm_log(MM_LOG_WARN, "keystore: trust anchor is not a CA");
		r = MM_ERR_DENIED;
		goto out;
	}
	r = mm_ks_write_cert(ks, MM_KS_CA, cert);
 out:
	X509_free(cert);
	ERR_clear_error();
	return r;
}

int
mm_keystore_cert_validity(const struct mm_keystore *ks, time_t *not_before,
    time_t *not_after)
{
	X509 *cert = NULL;
	time_t nb, na;
	int r;

	if ((r = mm_ks_load_cert(ks, MM_KS_CERT, &cert)) != 0)
		return r;
	if ((r = mm_pem_time(X509_get0_notBefore(cert), &nb)) == 0 &&
	    (r = mm_pem_time(X509_get0_notAfter(cert), &na)) == 0) {
		if (not_before != NULL)
			*not_before = nb;
		*not_after = na;
	}
	X509_free(cert);
	return r;
}

int
mm_keystore_cert_not_after(const struct mm_keystore *ks, time_t *out)
{
	return mm_keystore_cert_validity(ks, NULL, out);
}

int
mm_keystore_cert_fingerprint(const struct mm_keystore *ks,
    char out[2 * MM_SHA256_LEN + 1])
{
	uint8_t h[MM_SHA256_LEN];
	unsigned char *der = NULL;
	X509 *cert = NULL;
	int r, n;

	if ((r = mm_ks_load_cert(ks, MM_KS_CERT, &cert)) != 0)
		return r;
	if ((n = i2d_X509(cert, &der)) <= 0) {
		r = MM_ERR_CRYPTO;
		goto out;
	}
	mm_sha256(h, der, (size_t)n);
	mm_hex_encode(out, h, sizeof(h));
 out:
	OPENSSL_free(der);
	X509_free(cert);
	ERR_clear_error();
	return r;
}

/* An IP literal must match an IP SAN; anything else is a DNS name. */
static int
mm_ks_set_peer_name(SSL_CTX *ctx, const char *host)
{
	X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
	unsigned char ip[16];

	if (inet_pton(AF_INET, host, ip) == 1 ||
	    inet_pton(AF_INET6, host, ip) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1;
	/* SANs only: a CN that looks like a host name proves nothing. */
	X509_VERIFY_PARAM_set_hostflags(param,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
	    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
	return X509_VERIFY_PARAM_set1_host(param, host, 0) == 1;
}

static int
mm_ks_load_identity(const struct mm_keystore *ks, SSL_CTX *ctx)
{
	char path[PATH_MAX];
	EVP_PKEY *key = NULL;
	int r;

	if ((r = mm_ks_path(ks, MM_KS_CERT, path)) != 0 ||
	    (r = mm_ks_read_key(ks, MM_SLOT_CURRENT, &key)) != 0)
		return r;
	if (!mm_ks_exists(ks, MM_KS_CERT)) {
		r = MM_ERR_NOT_FOUND;
		goto out;
	}
	/* Key first: a certificate for another key then unloads it, and
	 * the check below reports the mismatch as such. */
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, path) != 1) {
		r = MM_ERR_CRYPTO;
		goto out;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		r = MM_ERR_KEY_MISMATCH;
		goto out;
	}
	r = MM_OK;
 out:
	EVP_PKEY_free(key);
	return r;
}

int
mm_keystore_tls_ctx(const struct mm_keystore *ks, const char *server_host,
    int with_identity, SSL_CTX **out)
{
	char capath[PATH_MAX];
	SSL_CTX *ctx = NULL;
	int r;

	if (server_host == NULL || *server_host == '\0')
		return MM_ERR_INVALID_ARG;
	if ((r = mm_ks_path(ks, MM_KS_CA, capath)) != 0)
		return r;
	if (!mm_ks_exists(ks, MM_KS_CA))
		return MM_ERR_NOT_FOUND;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		r = MM_ERR_ALLOC;
		goto out;
	}
	r = MM_ERR_CRYPTO;
	/* Only ca.crt is trusted: the system store is never loaded. */
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_load_verify_file(ctx, capath) != 1 ||
	    !mm_ks_set_peer_name(ctx, server_host))
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (with_identity && (r = mm_ks_load_identity(ks, ctx)) != 0)
		goto out;
	*out = ctx;
	ctx = NULL;
	r = MM_OK;
 out:
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

/* ---- the admin page's own identity ---- */

#define MM_KS_WEB_KEY	"web.key"
#define MM_KS_WEB_CERT	"web.crt"
#define MM_KS_WEB_DAYS	3650

/* A self-signed certificate for key with subject and DNS name cn. */
static int
mm_ks_web_selfsign(EVP_PKEY *key, const char *cn, X509 **out)
{
	X509 *x = NULL;
	X509_NAME *name;
	X509_EXTENSION *ext = NULL;
	X509V3_CTX v3;
	BIGNUM *bn = NULL;
	uint8_t serial[16];
	char san[MM_KS_CN_MAX + 8];
	int r = MM_ERR_CRYPTO;

	mm_random(serial, sizeof(serial));
	serial[0] &= 0x7f;
	snprintf(san, sizeof(san), "DNS:%s", cn);
	if ((x = X509_new()) == NULL ||
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    X509_set_version(x, 2) != 1 ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)MM_KS_WEB_DAYS * 86400) == NULL ||
	    (name = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		goto out;
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		goto out;
	X509_EXTENSION_free(ext);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_ext_key_usage,
	    "serverAuth")) == NULL || X509_add_ext(x, ext, -1) != 1 ||
	    X509_sign(x, key, EVP_sha256()) <= 0)
		goto out;
	*out = x;
	x = NULL;
	r = MM_OK;
 out:
	X509_EXTENSION_free(ext);
	BN_free(bn);
	X509_free(x);
	return r;
}

/* Makes web.key and web.crt unless both exist. */
static int
mm_ks_web_ensure(const struct mm_keystore *ks, const char *cn)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int r;

	if (mm_ks_exists(ks, MM_KS_WEB_KEY) && mm_ks_exists(ks, MM_KS_WEB_CERT))
		return MM_OK;
	if ((key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		return MM_ERR_CRYPTO;
	if ((r = mm_ks_web_selfsign(key, cn, &cert)) == 0 &&
	    (r = mm_ks_write_key(ks, MM_KS_WEB_KEY, key)) == 0 &&
	    (r = mm_ks_write_cert(ks, MM_KS_WEB_CERT, cert)) == 0)
		mm_log(MM_LOG_NOTICE, "made a self-signed certificate for the admin "
		    "page (CN=%s); replace web.crt and web.key to use your own", cn);
	X509_free(cert);
	EVP_PKEY_free(key);
	return r;
}

int
mm_keystore_web_ctx(const struct mm_keystore *ks, const char *cn, SSL_CTX **out)
{
	char kpath[PATH_MAX], cpath[PATH_MAX];
	EVP_PKEY *key = NULL;
	SSL_CTX *ctx = NULL;
	int r;

	if (!mm_ks_cn_valid(cn))
		return MM_ERR_INVALID_ARG;
	if ((r = mm_ks_web_ensure(ks, cn)) != 0 ||
	    (r = mm_ks_path(ks, MM_KS_WEB_KEY, kpath)) != 0 ||
	    (r = mm_ks_path(ks, MM_KS_WEB_CERT, cpath)) != 0 ||
	    (r = mm_pem_key_read(kpath, MM_KS_KEY_MAX, &key)) != 0)
		goto out;
	r = MM_ERR_CRYPTO;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cpath) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto out;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	*out = ctx;
	ctx = NULL;
	r = MM_OK;
 out:
	SSL_CTX_free(ctx);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return r;
}
