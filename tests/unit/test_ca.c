/* Unit tests for the fleet CA (srv_ca): CSRs from untrusted bytes are
 * refused for the wrong key, name, signature or shape; issued certificates
 * and CRLs say what they must; the device re-key flow and a TLS handshake
 * against a broker certificate work end to end. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "device/mm_keystore.h"
#include "server/srv_ca.h"

static const char *dev = "d-00112233445566aa";
static char dir[] = "/tmp/mm_test_ca.XXXXXX";
static char devdir[600];
static struct srv_ca *ca;
static X509 *ca_cert;

static void
path(char *out, size_t sz, const char *name)
{
	assert_int_equal(mm_path_join(out, sz, dir, name), MM_OK);
}

static char *
bio_string(BIO *bio, size_t *len)
{
	char *data, *res;
	long n = BIO_get_mem_data(bio, &data);

	assert_true(n > 0);
	res = mm_malloc((size_t)n + 1);
	assert_non_null(res);
	memcpy(res, data, (size_t)n);
	res[n] = '\0';
	*len = (size_t)n;
	return res;
}

/* PEM with an arbitrary label around arbitrary DER (mm_free). */
static char *
pem_wrap(const char *label, const unsigned char *der, long dlen, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *res;

	assert_true(PEM_write_bio(bio, label, "", der, dlen) > 0);
	res = bio_string(bio, len);
	BIO_free(bio);
	return res;
}

/* A CSR signed by key with the given subject entries ("CN", "O", ...). */
static char *
make_csr(EVP_PKEY *key, const EVP_MD *md, const char *const *subj,
    const char *reqext, size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_REQ_get_subject_name(req);
	unsigned char *der = NULL;
	char *pem;
	size_t i;
	int n;

	for (i = 0; subj[i] != NULL; i += 2)
		assert_int_equal(X509_NAME_add_entry_by_txt(name, subj[i],
		    MBSTRING_ASC, (const unsigned char *)subj[i + 1], -1, -1,
		    0), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	if (reqext != NULL) {
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		X509V3_CTX v3;
		X509V3_set_ctx(&v3, NULL, NULL, req, NULL, 0);
		sk_X509_EXTENSION_push(exts, X509V3_EXT_nconf_nid(NULL, &v3,
		    NID_basic_constraints, reqext));
		assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	assert_true(X509_REQ_sign(req, key, md) > 0);
	n = i2d_X509_REQ(req, &der);
	assert_true(n > 0);
	pem = pem_wrap("CERTIFICATE REQUEST", der, n, len);
	OPENSSL_free(der);
	X509_REQ_free(req);
	return pem;
}

static char *
p256_csr(const char *cn, size_t *len, EVP_PKEY **keyout)
{
	const char *subj[] = { "CN", cn, NULL };
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char *pem = make_csr(k, EVP_sha256(), subj, NULL, len);

	if (keyout != NULL)
		*keyout = k;
	else
		EVP_PKEY_free(k);
	return pem;
}

static int
check(const char *pem, size_t len)
{
	X509_REQ *req = NULL;
	int r = srv_ca_check_csr(pem, len, dev, &req);

	if (r == MM_OK)
		assert_non_null(req);
	else
		assert_null(req);	/* out-param only on success */
	X509_REQ_free(req);
	return r;
}

static X509 *
parse_cert(const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

	assert_non_null(x);
	BIO_free(bio);
	return x;
}

/* Issues a device certificate for a fresh P-256 key; PEM in *pem. */
static X509 *
issue(struct srv_cert_info *info, char **pemout)
{
	X509_REQ *req;
	size_t len, plen;
	char *csr, *pem;
	X509 *x;

	csr = p256_csr(dev, &len, NULL);
	assert_int_equal(srv_ca_check_csr(csr, len, dev, &req), MM_OK);
	assert_int_equal(srv_ca_issue_device(ca, req, dev, 30, &pem, &plen,
	    info), MM_OK);
	assert_int_equal(strlen(pem), plen);
	x = parse_cert(pem, plen);
	if (pemout != NULL)
		*pemout = pem;
	else
		mm_free(pem);
	X509_REQ_free(req);
	mm_free(csr);
	return x;
}

/* X509_V_OK or the verify error of x against the CA (and crl if given). */
static int
verify(X509 *x, X509_CRL *crl, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	int err;

	assert_int_equal(X509_STORE_add_cert(store, ca_cert), 1);
	if (crl != NULL) {
		assert_int_equal(X509_STORE_add_crl(store, crl), 1);
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	}
	assert_int_equal(X509_STORE_CTX_init(sctx, store, x, NULL), 1);
	assert_int_equal(X509_STORE_CTX_set_purpose(sctx, purpose), 1);
	err = X509_verify_cert(sctx) == 1 ? X509_V_OK :
	    X509_STORE_CTX_get_error(sctx);
	X509_STORE_CTX_free(sctx);
	X509_STORE_free(store);
	return err;
}

static int
ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	assert_true(i >= 0);
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

/* 1 if basicConstraints says CA:TRUE (X509_check_ca() also looks at
 * keyUsage, so it is no test of this extension alone). */
static int
bc_is_ca(X509 *x)
{
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints,
	    NULL, NULL);
	int is_ca;

	assert_non_null(bc);
	is_ca = bc->ca != 0;
	BASIC_CONSTRAINTS_free(bc);
	return is_ca;
}

static void
test_ca_cert(void **state)
{
	X509_NAME *name = X509_get_subject_name(ca_cert);
	char p[512], buf[128];
	struct srv_ca *c2;
	struct stat st;

	(void)state;
	assert_int_equal(srv_ca_create(dir, "again", 365), MM_ERR_EXISTS);
	assert_int_equal(srv_ca_create(dir, "", 365), MM_ERR_INVALID_ARG);
	assert_int_equal(srv_ca_create(dir, "x", 0), MM_ERR_INVALID_ARG);
	path(p, sizeof(p), "ca.key");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(bc_is_ca(ca_cert), 1);
	assert_int_equal(ext_critical(ca_cert, NID_basic_constraints), 1);
	assert_int_equal(ext_critical(ca_cert, NID_key_usage), 1);
	assert_int_equal(X509_get_key_usage(ca_cert), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_non_null(X509_get0_subject_key_id(ca_cert));
	assert_int_equal(X509_get_signature_nid(ca_cert), NID_ecdsa_with_SHA256);
	assert_int_equal(X509_verify(ca_cert, X509_get0_pubkey(ca_cert)), 1);
	assert_int_equal(X509_NAME_get_text_by_NID(name, NID_commonName, buf,
	    sizeof(buf)), (int)strlen("mamori test CA"));
	assert_string_equal(buf, "mamori test CA");
	assert_true(X509_NAME_get_text_by_NID(name, NID_organizationName, buf,
	    sizeof(buf)) > 0);
	assert_string_equal(buf, "mamori");
	/* a CA key others can read is refused */
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(srv_ca_load(dir, &c2), MM_ERR_DENIED);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(srv_ca_load("/nonexistent", &c2), MM_ERR_NOT_FOUND);
}

static void
test_csr_valid(void **state)
{
	struct mm_keystore *ks;
	char *pem, *padded;
	size_t len;

	(void)state;
	assert_int_equal(mm_keystore_open(devdir, &ks), MM_OK);
	assert_int_equal(mm_keystore_generate(ks, MM_SLOT_CURRENT), MM_OK);
	assert_int_equal(mm_keystore_csr(ks, MM_SLOT_CURRENT, dev, &pem, &len),
	    MM_OK);
	assert_int_equal(check(pem, len), MM_OK);
	/* white space around the block is fine, up to the size limit */
	padded = mm_malloc(SRV_CSR_MAX + 2);
	memset(padded, '\n', SRV_CSR_MAX + 1);
	memcpy(padded + 2, pem, len);
	assert_int_equal(check(padded, SRV_CSR_MAX), MM_OK);
	assert_int_equal(check(padded, SRV_CSR_MAX + 1), MM_ERR_TOO_LARGE);
	mm_free(padded);
	mm_free(pem);
	mm_keystore_free(ks);
}

static void
test_csr_wrong_keys(void **state)
{
	const char *subj[] = { "CN", dev, NULL };
	EVP_PKEY *rsa, *ed, *p384;
	size_t len;
	char *pem;

	(void)state;
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_non_null(rsa);
	assert_non_null(ed);
	assert_non_null(p384);
	pem = make_csr(rsa, EVP_sha256(), subj, NULL, &len);
	assert_int_equal(check(pem, len), MM_ERR_BAD_KEY);
	mm_free(pem);
	pem = make_csr(ed, NULL, subj, NULL, &len);
	assert_int_equal(check(pem, len), MM_ERR_BAD_KEY);
	mm_free(pem);
	pem = make_csr(p384, EVP_sha256(), subj, NULL, &len);
	assert_int_equal(check(pem, len), MM_ERR_BAD_KEY);
	mm_free(pem);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(p384);
}

/* P-256 spelled out as explicit curve parameters instead of its name
 * (openssl ecparam -param_enc explicit), CN = dev, validly self-signed. */
static const char explicit_csr[] =
	"-----BEGIN CERTIFICATE REQUEST-----\n"
	"MIIBzTCCAXMCAQAwHTEbMBkGA1UEAwwSZC0wMDExMjIzMzQ0NTU2NmFhMIIBSzCC\n"
	"AQMGByqGSM49AgEwgfcCAQEwLAYHKoZIzj0BAQIhAP////8AAAABAAAAAAAAAAAA\n"
	"AAAA////////////////MFsEIP////8AAAABAAAAAAAAAAAAAAAA////////////\n"
	"///8BCBaxjXYqjqT57PrvVV2mIa8ZR0GsMxTsPY7zjw+J9JgSwMVAMSdNgiG5wST\n"
	"amZ44ROdJreBn36QBEEEaxfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpZP\n"
	"40Li/hp/m47n60p8D54WK84zV2sxXs7LtkBoN79R9QIhAP////8AAAAA////////\n"
	"//+85vqtpxeehPO5ysL8YyVRAgEBA0IABMcU7YAfwaC/r0Hj1zSNsqbH5SQc4oMs\n"
	"RKRsmfFLK2M48XU9LZHlgMlna0E/T+1HBe8ok06ApNF6PRlL+oV2nl6gADAKBggq\n"
	"hkjOPQQDAgNIADBFAiABls3U95+xfDs9x7ykonOtvVL1O6QiJkLoxvUKe5RkjQIh\n"
	"ALp7M4p2HYpD8j8dTog8Jz7hZRnXqBZbQ7ABLIJGtO+E\n"
	"-----END CERTIFICATE REQUEST-----\n";

static void
test_csr_explicit_curve(void **state)
{
	(void)state;
	assert_int_equal(check(explicit_csr, strlen(explicit_csr)),
	    MM_ERR_BAD_KEY);
}

static void
test_csr_subject(void **state)
{
	const char *other[] = { "CN", "d-00112233445566ab", NULL };
	const char *prefix[] = { "CN", "d-00112233445566a", NULL };
	const char *extra[] = { "O", "mamori", "CN", dev, NULL };
	const char *extra2[] = { "CN", dev, "OU", "x", NULL };
	const char *two_cn[] = { "CN", dev, "CN", dev, NULL };
	const char *none[] = { NULL };
	const char *const *bad[] = { other, prefix, extra, extra2, two_cn, none };
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	size_t i, len;
	char *pem;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pem = make_csr(k, EVP_sha256(), bad[i], NULL, &len);
		assert_int_equal(check(pem, len), MM_ERR_DENIED);
		mm_free(pem);
	}
	EVP_PKEY_free(k);
}

/* Decodes the CSR PEM, xors DER byte at with x, re-encodes it. */
static char *
mutate(const char *pem, size_t len, size_t at, unsigned char x, size_t *olen,
    size_t *dlenout)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	char *name = NULL, *hdr = NULL, *res;
	unsigned char *der = NULL;
	long dlen;

	assert_int_equal(PEM_read_bio(bio, &name, &hdr, &der, &dlen), 1);
	*dlenout = (size_t)dlen;
	if (at < (size_t)dlen)
		der[at] ^= x;
	res = pem_wrap(name, der, dlen, olen);
	OPENSSL_free(name);
	OPENSSL_free(hdr);
	OPENSSL_free(der);
	BIO_free(bio);
	return res;
}

static void
test_csr_signature(void **state)
{
	const char *subj[] = { "CN", dev, NULL };
	size_t len, mlen, dlen, i;
	char *pem, *m;
	EVP_PKEY *k;

	(void)state;
	pem = p256_csr(dev, &len, &k);
	/* the last DER byte lies inside the signature BIT STRING */
	m = mutate(pem, len, SIZE_MAX, 0, &mlen, &dlen);
	assert_int_equal(check(m, mlen), MM_OK);
	mm_free(m);
	m = mutate(pem, len, dlen - 1, 0x01, &mlen, &dlen);
	assert_int_equal(check(m, mlen), MM_ERR_SIGNATURE);
	mm_free(m);
	/* no flipped byte anywhere in the DER gets through */
	for (i = 0; i < dlen; i++) {
		m = mutate(pem, len, i, 0x04, &mlen, &dlen);
		assert_int_not_equal(check(m, mlen), MM_OK);
		mm_free(m);
	}
	mm_free(pem);
	/* only ECDSA with SHA-256 */
	pem = make_csr(k, EVP_sha1(), subj, NULL, &len);
	assert_int_equal(check(pem, len), MM_ERR_UNSUPPORTED);
	mm_free(pem);
	EVP_PKEY_free(k);
}

/* The CSR's DER with extra bytes appended, under the given PEM label. */
static char *
rewrap(const char *pem, size_t len, const char *label, size_t extra,
    size_t *olen)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509_REQ *req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	unsigned char der[2048], *q = der;
	char *res;
	int dl;

	assert_non_null(req);
	dl = i2d_X509_REQ(req, &q);
	assert_true(dl > 0 && (size_t)dl + extra <= sizeof(der));
	memset(der + dl, 0, extra);
	res = pem_wrap(label, der, dl + (long)extra, olen);
	X509_REQ_free(req);
	BIO_free(bio);
	return res;
}

static void
test_csr_shape(void **state)
{
	const char *hdr = "Proc-Type: 4,ENCRYPTED\n\n";
	size_t len, n, cut, head, bufsz;
	char *pem, *buf, *cert, *m;
	X509 *x;

	(void)state;
	pem = p256_csr(dev, &len, NULL);
	bufsz = 2 * len + 64;
	buf = mm_malloc(bufsz);
	/* two PEM blocks */
	memcpy(buf, pem, len);
	memcpy(buf + len, pem, len);
	assert_int_equal(check(buf, 2 * len), MM_ERR_FORMAT);
	/* leading and trailing junk, embedded NUL */
	n = (size_t)snprintf(buf, bufsz, "junk\n%s", pem);
	assert_int_equal(check(buf, n), MM_ERR_FORMAT);
	n = (size_t)snprintf(buf, bufsz, "%sjunk\n", pem);
	assert_int_equal(check(buf, n), MM_ERR_FORMAT);
	assert_int_equal(check(pem, len + 1), MM_ERR_FORMAT);
	/* garbage, empty, every truncation */
	assert_int_equal(check("hello world", 11), MM_ERR_FORMAT);
	assert_int_equal(check("", 0), MM_ERR_FORMAT);
	for (cut = 0; cut < len - 1; cut++)
		assert_int_not_equal(check(pem, cut), MM_OK);
	/* PEM encryption headers */
	head = (size_t)((char *)memchr(pem, '\n', len) - pem) + 1;
	memcpy(buf, pem, head);
	memcpy(buf + head, hdr, strlen(hdr));
	memcpy(buf + head + strlen(hdr), pem + head, len - head);
	assert_int_equal(check(buf, len + strlen(hdr)), MM_ERR_FORMAT);
	/* trailing bytes inside the DER; another label */
	m = rewrap(pem, len, "CERTIFICATE REQUEST", 0, &n);
	assert_int_equal(check(m, n), MM_OK);
	mm_free(m);
	m = rewrap(pem, len, "CERTIFICATE REQUEST", 1, &n);
	assert_int_equal(check(m, n), MM_ERR_FORMAT);
	mm_free(m);
	m = rewrap(pem, len, "NEW CERTIFICATE REQUEST", 0, &n);
	assert_int_equal(check(m, n), MM_ERR_FORMAT);
	mm_free(m);
	/* a certificate is not a request */
	x = issue(NULL, &cert);
	assert_int_equal(check(cert, strlen(cert)), MM_ERR_FORMAT);
	mm_free(cert);
	X509_free(x);
	mm_free(buf);
	mm_free(pem);
}

/* A CSR asking to be a CA gets an ordinary device certificate. */
static void
test_csr_extensions_ignored(void **state)
{
	const char *subj[] = { "CN", dev, NULL };
	struct srv_cert_info info;
	X509_REQ *req;
	EVP_PKEY *k;
	size_t len, plen;
	char *csr, *pem;
	X509 *x;

	(void)state;
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	csr = make_csr(k, EVP_sha256(), subj, "critical,CA:TRUE", &len);
	assert_int_equal(srv_ca_check_csr(csr, len, dev, &req), MM_OK);
	assert_int_equal(srv_ca_issue_device(ca, req, dev, 30, &pem, &plen,
	    &info), MM_OK);
	x = parse_cert(pem, plen);
	assert_int_equal(bc_is_ca(x), 0);
	assert_int_equal(X509_get_ext_count(x), 5);
	X509_free(x);
	mm_free(pem);
	mm_free(csr);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}

static void
test_issue_device(void **state)
{
	struct srv_cert_info info, info2, back;
	time_t now = time(NULL);
	char buf[128], *pem;
	X509 *x, *y;
	EXTENDED_KEY_USAGE *eku;
	size_t i, n;
	int crit;

	(void)state;
	x = issue(&info, &pem);
	assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, buf, sizeof(buf)), (int)strlen(dev));
	assert_string_equal(buf, dev);
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(ca_cert)), 0);
	/* CA:FALSE critical, digitalSignature critical, clientAuth only */
	assert_int_equal(bc_is_ca(x), 0);
	assert_int_equal(X509_check_ca(x), 0);
	assert_int_equal(ext_critical(x, NID_basic_constraints), 1);
	assert_int_equal(ext_critical(x, NID_key_usage), 1);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)),
	    NID_client_auth);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_non_null(X509_get0_authority_key_id(x));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
	    X509_get0_subject_key_id(ca_cert)), 0);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	/* chains to the CA as a TLS client, not as a server */
	assert_int_equal(verify(x, NULL, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
	assert_int_not_equal(verify(x, NULL, X509_PURPOSE_SSL_SERVER), X509_V_OK);
	/* validity: five minutes back, days ahead */
	assert_true(info.not_before >= now - 305 && info.not_before <= now - 295);
	assert_true(info.not_after >= now + 30 * 86400 - 5 &&
	    info.not_after <= now + 30 * 86400 + 5);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x),
	    info.not_before), 0);
	/* serial: up to 16 bytes, top bit clear, lower-case hex */
	assert_true(strlen(info.serial) <= 32 && strlen(info.serial) % 2 == 0);
	for (i = 0; info.serial[i] != '\0'; i++)
		assert_non_null(strchr("0123456789abcdef", info.serial[i]));
	if (strlen(info.serial) == 32)
		assert_true(info.serial[0] < '8');
	/* cert_info reads back the same bookkeeping */
	assert_int_equal(srv_ca_cert_info(pem, strlen(pem), &back), MM_OK);
	assert_string_equal(back.serial, info.serial);
	assert_string_equal(back.fingerprint, info.fingerprint);
	assert_true(back.not_before == info.not_before);
	assert_true(back.not_after == info.not_after);
	assert_int_equal(srv_ca_cert_info("nope", 4, &back), MM_ERR_FORMAT);
	/* serials differ, and the top bit is always clear */
	for (n = 0; n < 8; n++) {
		y = issue(&info2, NULL);
		assert_string_not_equal(info.serial, info2.serial);
		assert_string_not_equal(info.fingerprint, info2.fingerprint);
		assert_true(strlen(info2.serial) < 32 || info2.serial[0] < '8');
		X509_free(y);
	}
	X509_free(x);
	mm_free(pem);
}

static void
test_issue_device_args(void **state)
{
	X509_REQ *req;
	size_t len, plen;
	char *csr, *pem = NULL;

	(void)state;
	csr = p256_csr(dev, &len, NULL);
	assert_int_equal(srv_ca_check_csr(csr, len, dev, &req), MM_OK);
	assert_int_equal(srv_ca_issue_device(ca, req, "not-a-device", 30, &pem,
	    &plen, NULL), MM_ERR_INVALID_ARG);
	assert_int_equal(srv_ca_issue_device(ca, req, dev, 0, &pem, &plen,
	    NULL), MM_ERR_INVALID_ARG);
	assert_null(pem);
	X509_REQ_free(req);
	mm_free(csr);
}

/* Allocation failures at every step are reported, not crashed on. */
static void
test_alloc_failures(void **state)
{
	struct srv_cert_info info;
	X509_REQ *req;
	size_t len, plen;
	char *csr, *pem;
	long n;
	int r;

	(void)state;
	csr = p256_csr(dev, &len, NULL);
	assert_int_equal(srv_ca_check_csr(csr, len, dev, &req), MM_OK);
	for (n = 0; n < 4; n++) {
		mm_alloc_fail_after(n);
		r = srv_ca_issue_device(ca, req, dev, 30, &pem, &plen, &info);
		mm_alloc_fail_after(-1);
		if (r == MM_OK)
			mm_free(pem);
		else
			assert_int_equal(r, MM_ERR_ALLOC);
	}
	X509_REQ_free(req);
	mm_free(csr);
}

static X509_CRL *
read_crl(const char *p)
{
	X509_CRL *crl;
	FILE *f = fopen(p, "r");

	assert_non_null(f);
	crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	assert_non_null(crl);
	fclose(f);
	return crl;
}

static void
test_crl(void **state)
{
	struct srv_cert_info i1, i2, i3;
	struct srv_revoked rv[2];
	X509 *x1, *x2, *x3;
	X509_REVOKED *rev;
	X509_CRL *crl;
	time_t now = time(NULL), t;
	char p[512];
	struct stat st;

	(void)state;
	x1 = issue(&i1, NULL);
	x2 = issue(&i2, NULL);
	x3 = issue(&i3, NULL);
	memcpy(rv[0].serial, i1.serial, sizeof(rv[0].serial));
	rv[0].when = now - 3600;
	memcpy(rv[1].serial, i3.serial, sizeof(rv[1].serial));
	rv[1].when = now - 60;
	path(p, sizeof(p), "fleet.crl");
	assert_int_equal(srv_ca_write_crl(ca, rv, 2, 7, p), MM_OK);
	assert_int_equal(stat(p, &st), 0);
	crl = read_crl(p);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca_cert)), 1);
	assert_int_equal(X509_CRL_get_signature_nid(crl), NID_ecdsa_with_SHA256);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(ca_cert)), 0);
	t = now - 1;
	assert_true(X509_cmp_time(X509_CRL_get0_lastUpdate(crl), &t) > 0);
	t = now + 7 * 86400 - 5;
	assert_true(X509_cmp_time(X509_CRL_get0_nextUpdate(crl), &t) > 0);
	t = now + 7 * 86400 + 5;
	assert_true(X509_cmp_time(X509_CRL_get0_nextUpdate(crl), &t) < 0);
	/* exactly the two revoked serials, with their dates */
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rev, x1), 1);
	assert_int_equal(ASN1_TIME_cmp_time_t(
	    X509_REVOKED_get0_revocationDate(rev), now - 3600), 0);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rev, x3), 1);
	assert_int_equal(X509_CRL_get0_by_cert(crl, &rev, x2), 0);
	/* the CRL does its job in a real chain check */
	assert_int_equal(verify(x1, crl, X509_PURPOSE_SSL_CLIENT),
	    X509_V_ERR_CERT_REVOKED);
	assert_int_equal(verify(x3, crl, X509_PURPOSE_SSL_CLIENT),
	    X509_V_ERR_CERT_REVOKED);
	assert_int_equal(verify(x2, crl, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
	X509_CRL_free(crl);
	/* an empty CRL is valid; bad serials are refused */
	assert_int_equal(srv_ca_write_crl(ca, NULL, 0, 7, p), MM_OK);
	crl = read_crl(p);
	assert_null(X509_CRL_get_REVOKED(crl));	/* OpenSSL: empty is NULL */
	assert_int_equal(verify(x1, crl, X509_PURPOSE_SSL_CLIENT), X509_V_OK);
	X509_CRL_free(crl);
	snprintf(rv[0].serial, sizeof(rv[0].serial), "abc");
	assert_int_equal(srv_ca_write_crl(ca, rv, 1, 7, p), MM_ERR_INVALID_ARG);
	snprintf(rv[0].serial, sizeof(rv[0].serial), "zz");
	assert_int_equal(srv_ca_write_crl(ca, rv, 1, 7, p), MM_ERR_INVALID_ARG);
	X509_free(x1);
	X509_free(x2);
	X509_free(x3);
}

static char *
dev_file(const char *name, size_t *len)
{
	char p[700], *buf;

	assert_int_equal(mm_path_join(p, sizeof(p), devdir, name), MM_OK);
	assert_int_equal(mm_file_read(p, 65536, &buf, len), MM_OK);
	return buf;
}

/* Install the CA's answer to the keystore's CSR for slot. */
static void
enroll(struct mm_keystore *ks, enum mm_key_slot slot)
{
	X509_REQ *req;
	size_t len, plen;
	char *csr, *pem;

	assert_int_equal(mm_keystore_csr(ks, slot, dev, &csr, &len), MM_OK);
	assert_int_equal(srv_ca_check_csr(csr, len, dev, &req), MM_OK);
	assert_int_equal(srv_ca_issue_device(ca, req, dev, 30, &pem, &plen,
	    NULL), MM_OK);
	assert_int_equal(mm_keystore_install_cert(ks, slot, pem, plen, dev),
	    MM_OK);
	mm_free(pem);
	mm_free(csr);
	X509_REQ_free(req);
}

static void
test_rekey_flow(void **state)
{
	char fp1[2 * MM_SHA256_LEN + 1], fp2[2 * MM_SHA256_LEN + 1];
	const char *capem = srv_ca_cert_pem(ca);
	struct mm_keystore *ks;
	char *next, *cur, p[700];
	size_t nlen, clen;
	struct stat st;

	(void)state;
	assert_int_equal(mm_keystore_open(devdir, &ks), MM_OK);
	assert_int_equal(mm_keystore_set_ca(ks, capem, strlen(capem)), MM_OK);
	assert_int_equal(mm_keystore_generate(ks, MM_SLOT_CURRENT), MM_OK);
	enroll(ks, MM_SLOT_CURRENT);
	assert_int_equal(mm_keystore_cert_fingerprint(ks, fp1), MM_OK);
	assert_int_equal(mm_keystore_generate(ks, MM_SLOT_NEXT), MM_OK);
	next = dev_file("device.key.next", &nlen);
	enroll(ks, MM_SLOT_NEXT);
	assert_int_equal(mm_keystore_has_key(ks, MM_SLOT_NEXT), 0);
	cur = dev_file("device.key", &clen);
	assert_int_equal(clen, nlen);
	assert_memory_equal(cur, next, clen);
	assert_int_equal(mm_path_join(p, sizeof(p), devdir, "device.key"), MM_OK);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(mm_keystore_cert_fingerprint(ks, fp2), MM_OK);
	assert_string_not_equal(fp1, fp2);
	mm_freezero(cur, clen + 1);
	mm_freezero(next, nlen + 1);
	mm_keystore_free(ks);
}

/* Drives both ends of a TLS handshake over a BIO pair. */
static int
handshake(SSL_CTX *cctx, SSL_CTX *sctx, long *cverify)
{
	SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
	int i, rc = 0, rs = 0, ok;
	BIO *bc, *bs;

	assert_int_equal(BIO_new_bio_pair(&bc, 0, &bs, 0), 1);
	SSL_set_bio(c, bc, bc);
	SSL_set_bio(s, bs, bs);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	for (i = 0; i < 50 && (rc != 1 || rs != 1); i++) {
		if (rc != 1 && (rc = SSL_do_handshake(c)) != 1 &&
		    SSL_get_error(c, rc) != SSL_ERROR_WANT_READ)
			break;
		if (rs != 1 && (rs = SSL_do_handshake(s)) != 1 &&
		    SSL_get_error(s, rs) != SSL_ERROR_WANT_READ)
			break;
	}
	/* in TLS 1.3 the client finishes first: only both ends count */
	ok = rc == 1 && rs == 1;
	*cverify = SSL_get_verify_result(c);
	SSL_free(c);
	SSL_free(s);
	ERR_clear_error();
	return ok;
}

static SSL_CTX *
server_ctx(const char *key, const char *crt)
{
	SSL_CTX *s = SSL_CTX_new(TLS_server_method());
	char p[512];

	path(p, sizeof(p), "ca.crt");
	assert_int_equal(SSL_CTX_use_certificate_file(s, crt, SSL_FILETYPE_PEM), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(s, key, SSL_FILETYPE_PEM), 1);
	assert_int_equal(SSL_CTX_load_verify_file(s, p), 1);
	SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
	    NULL);
	return s;
}

static void
test_service_and_tls(void **state)
{
	const char *sans[] = { "broker.test", "127.0.0.1", NULL };
	const char *bad[] = { "a,DNS:evil", NULL };
	const char *ip_only[] = { "127.0.0.2", NULL };
	char key[512], crt[512], buf[64];
	struct mm_keystore *ks;
	SSL_CTX *sctx, *cctx;
	struct stat st;
	long v;
	X509 *x;
	FILE *f;

	(void)state;
	path(key, sizeof(key), "broker.key");
	path(crt, sizeof(crt), "broker.crt");
	assert_int_equal(srv_ca_issue_service(ca, "broker", NULL,
	    SRV_USE_TLS_SERVER, 30, key, crt), MM_ERR_INVALID_ARG);
	assert_int_equal(srv_ca_issue_service(ca, "broker", bad,
	    SRV_USE_TLS_SERVER, 30, key, crt), MM_ERR_INVALID_ARG);
	assert_int_equal(srv_ca_issue_service(ca, "broker", sans,
	    SRV_USE_TLS_SERVER, 30, key, crt), MM_OK);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	f = fopen(crt, "r");
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
	assert_int_equal(X509_check_host(x, "broker.test", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	assert_int_equal(verify(x, NULL, X509_PURPOSE_SSL_SERVER), X509_V_OK);
	X509_free(x);

	/* the device talks to the broker with its keystore context */
	assert_int_equal(mm_keystore_open(devdir, &ks), MM_OK);
	sctx = server_ctx(key, crt);
	assert_int_equal(mm_keystore_tls_ctx(ks, "broker.test", 1, &cctx), MM_OK);
	assert_true(handshake(cctx, sctx, &v));
	assert_int_equal(v, X509_V_OK);
	SSL_CTX_free(cctx);
	assert_int_equal(mm_keystore_tls_ctx(ks, "127.0.0.1", 1, &cctx), MM_OK);
	assert_true(handshake(cctx, sctx, &v));
	SSL_CTX_free(cctx);
	assert_int_equal(mm_keystore_tls_ctx(ks, "127.0.0.9", 1, &cctx), MM_OK);
	assert_false(handshake(cctx, sctx, &v));
	assert_int_equal(v, X509_V_ERR_IP_ADDRESS_MISMATCH);
	SSL_CTX_free(cctx);
	assert_int_equal(mm_keystore_tls_ctx(ks, "evil.test", 1, &cctx), MM_OK);
	assert_false(handshake(cctx, sctx, &v));
	assert_int_equal(v, X509_V_ERR_HOSTNAME_MISMATCH);
	SSL_CTX_free(cctx);
	/* the broker refuses a device without its certificate */
	assert_int_equal(mm_keystore_tls_ctx(ks, "broker.test", 0, &cctx), MM_OK);
	assert_false(handshake(cctx, sctx, &v));
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);

	/* a host name in the CN alone is not accepted (IP SANs only here) */
	path(key, sizeof(key), "cn-only.key");
	path(crt, sizeof(crt), "cn-only.crt");
	assert_int_equal(srv_ca_issue_service(ca, "cn-only.test", ip_only,
	    SRV_USE_TLS_SERVER, 30, key, crt), MM_OK);
	sctx = server_ctx(key, crt);
	assert_int_equal(mm_keystore_tls_ctx(ks, "cn-only.test", 1, &cctx), MM_OK);
	assert_false(handshake(cctx, sctx, &v));
	assert_int_equal(v, X509_V_ERR_HOSTNAME_MISMATCH);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);

	/* a client-only service certificate cannot serve TLS */
	path(key, sizeof(key), "server-client.key");
	path(crt, sizeof(crt), "server-client.crt");
	assert_int_equal(srv_ca_issue_service(ca, "fleet-server", NULL,
	    SRV_USE_TLS_CLIENT, 30, key, crt), MM_OK);
	f = fopen(crt, "r");
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
	assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, buf, sizeof(buf)), 12);
	X509_free(x);
	sctx = server_ctx(key, crt);
	assert_int_equal(mm_keystore_tls_ctx(ks, "fleet-server", 1, &cctx), MM_OK);
	assert_false(handshake(cctx, sctx, &v));
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	mm_keystore_free(ks);
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static int
setup(void **state)
{
	char p[512];
	size_t len;
	char *pem;
	BIO *bio;

	(void)state;
	if (mm_crypto_init() != 0 || mkdtemp(dir) == NULL)
		return -1;
	mm_log_set_level(MM_LOG_ERR);
	if (mm_path_join(devdir, sizeof(devdir), dir, "device") != 0 ||
	    mkdir(devdir, 0700) != 0 ||
	    srv_ca_create(dir, "mamori test CA", 365) != 0 ||
	    srv_ca_load(dir, &ca) != 0)
		return -1;
	/* the borrowed PEM is ca.crt */
	path(p, sizeof(p), "ca.crt");
	if (mm_file_read(p, 65536, &pem, &len) != 0)
		return -1;
	if (strcmp(pem, srv_ca_cert_pem(ca)) != 0)
		return -1;
	bio = BIO_new_mem_buf(pem, (int)len);
	ca_cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	mm_free(pem);
	return ca_cert == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(ca_cert);
	srv_ca_free(ca);
	return nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_cert),
		cmocka_unit_test(test_csr_valid),
		cmocka_unit_test(test_csr_wrong_keys),
		cmocka_unit_test(test_csr_explicit_curve),
		cmocka_unit_test(test_csr_subject),
		cmocka_unit_test(test_csr_signature),
		cmocka_unit_test(test_csr_shape),
		cmocka_unit_test(test_csr_extensions_ignored),
		cmocka_unit_test(test_issue_device),
		cmocka_unit_test(test_issue_device_args),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_crl),
		cmocka_unit_test(test_rekey_flow),
		cmocka_unit_test(test_service_and_tls),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
