/* Unit tests for the device keystore (mm_keystore): key files, CSRs, and
 * certificate installs refused for the wrong key, CA, name or time.  A
 * small test CA is built here with OpenSSL so this test needs no server
 * code. */
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
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "device/mm_keystore.h"

static const char *dev = "d-00112233445566aa";
static char dir[] = "/tmp/mm_test_keystore.XXXXXX";

struct tca {
	EVP_PKEY *key;
	X509 *cert;
};

static void
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509_EXTENSION *ext;
	X509V3_CTX v3;

	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(cert, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A certificate for pub named cn, valid [now+nb, now+na], signed by ca
 * (NULL: self-signed with key pub/priv). */
static X509 *
make_cert(struct tca *ca, EVP_PKEY *pub, EVP_PKEY *selfkey, const char *cn,
    long nb, long na, const char *bc, const char *eku)
{
	X509 *x = X509_new();
	time_t now = time(NULL);
	X509_NAME *name;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x),
	    (long)mm_random_uniform(1u << 30) + 1), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_NID(name, NID_commonName,
	    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, ca != NULL ?
	    X509_get_subject_name(ca->cert) : name), 1);
	assert_non_null(X509_time_adj_ex(X509_getm_notBefore(x), 0, nb, &now));
	assert_non_null(X509_time_adj_ex(X509_getm_notAfter(x), 0, na, &now));
	assert_int_equal(X509_set_pubkey(x, pub), 1);
	add_ext(x, ca != NULL ? ca->cert : x, NID_basic_constraints, bc);
	add_ext(x, ca != NULL ? ca->cert : x, NID_subject_key_identifier, "hash");
	if (eku != NULL)
		add_ext(x, ca != NULL ? ca->cert : x, NID_ext_key_usage, eku);
	assert_true(X509_sign(x, ca != NULL ? ca->key : selfkey,
	    EVP_sha256()) > 0);
	return x;
}

static void
tca_new(struct tca *ca, const char *cn)
{
	ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ca->key);
	ca->cert = make_cert(NULL, ca->key, ca->key, cn, -300, 86400 * 365,
	    "critical,CA:TRUE", NULL);
}

static void
tca_free(struct tca *ca)
{
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
}

/* PEM of x as a new string (mm_free). */
static char *
pem_of(X509 *x, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *res;
	long n;

	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_true(n > 0);
	res = mm_malloc((size_t)n + 1);
	assert_non_null(res);
	memcpy(res, data, (size_t)n);
	res[n] = '\0';
	*len = (size_t)n;
	BIO_free(bio);
	return res;
}

/* The public key of a slot, read back through the CSR the keystore makes. */
static EVP_PKEY *
slot_pub(struct mm_keystore *ks, enum mm_key_slot slot)
{
	X509_REQ *req;
	EVP_PKEY *pub;
	char *pem;
	size_t len;
	BIO *bio;

	assert_int_equal(mm_keystore_csr(ks, slot, dev, &pem, &len), MM_OK);
	assert_int_equal(strlen(pem), len);
	bio = BIO_new_mem_buf(pem, (int)len);
	req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	assert_non_null(req);
	pub = X509_REQ_get_pubkey(req);
	assert_non_null(pub);
	X509_REQ_free(req);
	BIO_free(bio);
	mm_free(pem);
	return pub;
}

static int
install(struct mm_keystore *ks, enum mm_key_slot slot, X509 *x,
    const char *cn)
{
	size_t len;
	char *pem = pem_of(x, &len);
	int r = mm_keystore_install_cert(ks, slot, pem, len, cn);

	mm_free(pem);
	return r;
}

static void
file_path(char *out, size_t sz, const char *name)
{
	assert_int_equal(mm_path_join(out, sz, dir, name), MM_OK);
}

static mode_t
file_mode(const char *name)
{
	char p[512];
	struct stat st;

	file_path(p, sizeof(p), name);
	assert_int_equal(stat(p, &st), 0);
	return st.st_mode & 07777;
}

static int
file_exists(const char *name)
{
	char p[512];

	file_path(p, sizeof(p), name);
	return access(p, F_OK) == 0;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

/* Each test starts from an empty state directory with the trust anchor. */
static struct mm_keystore *
fresh(struct tca *ca)
{
	struct mm_keystore *ks;
	size_t len;
	char *pem;

	assert_int_equal(nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(mm_keystore_open(dir, &ks), MM_OK);
	if (ca != NULL) {
		pem = pem_of(ca->cert, &len);
		assert_int_equal(mm_keystore_set_ca(ks, pem, len), MM_OK);
		mm_free(pem);
	}
	return ks;
}

static void
test_open(void **state)
{
	struct mm_keystore *ks = (void *)0x1;
	char p[512];

	(void)state;
	assert_int_equal(mm_keystore_open("/nonexistent/mm", &ks), MM_ERR_NOT_FOUND);
	assert_ptr_equal(ks, (void *)0x1);	/* untouched on failure */
	ks = fresh(NULL);
	file_path(p, sizeof(p), "plain");
	assert_int_equal(mm_file_write_atomic(p, "x", 1, 0600), MM_OK);
	assert_int_equal(mm_keystore_open(p, &ks), MM_ERR_INVALID_ARG);
	assert_int_equal(mm_keystore_has_key(ks, MM_SLOT_CURRENT), 0);
	assert_int_equal(mm_keystore_has_cert(ks), 0);
	mm_keystore_free(ks);
}

static void
test_generate_and_csr(void **state)
{
	struct mm_keystore *ks = fresh(NULL);
	EVP_PKEY *a, *b, *c;
	char *pem, big[80];
	size_t len;

	(void)state;
	assert_int_equal(mm_keystore_csr(ks, MM_SLOT_CURRENT, dev, &pem, &len),
	    MM_ERR_NOT_FOUND);
	assert_int_equal(mm_keystore_generate(ks, MM_SLOT_CURRENT), MM_OK);
	assert_int_equal(mm_keystore_has_key(ks, MM_SLOT_CURRENT), 1);
	assert_int_equal(mm_keystore_has_key(ks, MM_SLOT_NEXT), 0);
	assert_int_equal(file_mode("device.key"), 0600);
	assert_int_equal(mm_keystore_generate(ks, MM_SLOT_NEXT), MM_OK);
	assert_int_equal(file_mode("device.key.next"), 0600);
	a = slot_pub(ks, MM_SLOT_CURRENT);
	b = slot_pub(ks, MM_SLOT_NEXT);
	assert_true(EVP_PKEY_is_a(a, "EC"));
	assert_int_equal(EVP_PKEY_get_bits(a), 256);
	assert_int_not_equal(EVP_PKEY_eq(a, b), 1);
	/* regenerating replaces the key */
	assert_int_equal(mm_keystore_generate(ks, MM_SLOT_CURRENT), MM_OK);
	c = slot_pub(ks, MM_SLOT_CURRENT);
	assert_int_not_equal(EVP_PKEY_eq(a, c), 1);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(c);
	/* names that would not survive into logs or ACLs */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(mm_keystore_csr(ks, MM_SLOT_CURRENT, "", &pem, &len),
	    MM_ERR_INVALID_ARG);
	assert_int_equal(mm_keystore_csr(ks, MM_SLOT_CURRENT, big, &pem, &len),
	    MM_ERR_INVALID_ARG);
	assert_int_equal(mm_keystore_csr(ks, MM_SLOT_CURRENT, "a\nb", &pem,
	    &len), MM_ERR_INVALID_ARG);
	mm_keystore_free(ks);
}

static void
test_csr_content(void **state)
{
	struct mm_keystore *ks = fresh(NULL);
	X509_NAME_ENTRY *e;
	X509_REQ *req;
	X509_NAME *name;
	char *pem;
	size_t len;
	BIO *bio;

	(void)state;
	assert_int_equal(mm_keystore_generate(ks, MM_SLOT_CURRENT), MM_OK);
	assert_int_equal(mm_keystore_csr(ks, MM_SLOT_CURRENT, dev, &pem, &len),
	    MM_OK);
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE REQUEST-----"));
	assert_null(strstr(pem, "PRIVATE"));
	bio = BIO_new_mem_buf(pem, (int)len);
	req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
	assert_non_null(req);
	assert_int_equal(X509_REQ_verify(req, X509_REQ_get0_pubkey(req)), 1);
	assert_int_equal(X509_REQ_get_signature_nid(req), NID_ecdsa_with_SHA256);
	name = X509_REQ_get_subject_name(req);
	assert_int_equal(X509_NAME_entry_count(name), 1);
	e = X509_NAME_get_entry(name, 0);
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)),
	    NID_commonName);
	assert_memory_equal(ASN1_STRING_get0_data(X509_NAME_ENTRY_get_data(e)),
	    dev, strlen(dev));
	X509_REQ_free(req);
	BIO_free(bio);
	mm_free(pem);
	mm_keystore_free(ks);
}

static void
test_set_ca(void **state)
{
	struct mm_keystore *ks = fresh(NULL);
	struct tca ca;
	EVP_PKEY *k;
	X509 *leaf;
	char *pem, *two;
	size_t len;

	(void)state;
	tca_new(&ca, "test CA");
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	leaf = make_cert(&ca, k, NULL, "leaf", -60, 3600, "critical,CA:FALSE",
	    NULL);
	assert_int_equal(mm_keystore_set_ca(ks, "garbage", 7), MM_ERR_FORMAT);
	pem = pem_of(leaf, &len);
	assert_int_equal(mm_keystore_set_ca(ks, pem, len), MM_ERR_DENIED);
	mm_free(pem);
	assert_int_equal(file_exists("ca.crt"), 0);
	pem = pem_of(ca.cert, &len);
	two = mm_malloc(2 * len + 1);
	memcpy(two, pem, len);
	memcpy(two + len, pem, len + 1);
	assert_int_equal(mm_keystore_set_ca(ks, two, 2 * len), MM_ERR_FORMAT);
	assert_int_equal(mm_keystore_set_ca(ks, pem, len), MM_OK);
	assert_int_equal(file_exists("ca.crt"), 1);
	mm_free(two);
	mm_free(pem);
	X509_free(leaf);
	EVP_PKEY_free(k);
	tca_free(&ca);
	mm_keystore_free(ks);
}

static void
assert_fp_is(struct mm_keystore *ks, X509 *x)
{
	char fp[2 * MM_SHA256_LEN + 1], want[2 * MM_SHA256_LEN + 1];
	uint8_t h[MM_SHA256_LEN];
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	assert_true(n > 0);
	mm_sha256(h, der, (size_t)n);
	mm_hex_encode(want, h, sizeof(h));
	OPENSSL_free(der);
	assert_int_equal(mm_keystore_cert_fingerprint(ks, fp), MM_OK);
	assert_string_equal(fp, want);
}

static void
test_install(void **state)
{
	struct tca ca, other;
	struct mm_keystore *ks;
	EVP_PKEY *pub, *stranger;
	X509 *good, *x;
	time_t na, now = time(NULL);
	char *pem;
	size_t len;

	(void)state;
	tca_new(&ca, "test CA");
	tca_new(&other, "other CA");
	ks = fresh(&ca);
	assert_int_equal(mm_keystore_generate(ks, MM_SLOT_CURRENT), MM_OK);
	pub = slot_pub(ks, MM_SLOT_CURRENT);
	stranger = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	good = make_cert(&ca, pub, NULL, dev, -300, 86400 * 30,
	    "critical,CA:FALSE", "clientAuth");
	assert_int_equal(mm_keystore_cert_not_after(ks, &na), MM_ERR_NOT_FOUND);
	assert_int_equal(install(ks, MM_SLOT_CURRENT, good, dev), MM_OK);
	assert_int_equal(mm_keystore_has_cert(ks), 1);
	assert_fp_is(ks, good);
	assert_int_equal(mm_keystore_cert_not_after(ks, &na), MM_OK);
	assert_true(na >= now + 86400 * 30 && na <= now + 86400 * 30 + 60);

	/* every refusal leaves the installed certificate in place */
	x = make_cert(&ca, stranger, NULL, dev, -300, 86400, "CA:FALSE", NULL);
	assert_int_equal(install(ks, MM_SLOT_CURRENT, x, dev), MM_ERR_KEY_MISMATCH);
	X509_free(x);
	x = make_cert(&other, pub, NULL, dev, -300, 86400, "CA:FALSE", NULL);
	assert_int_equal(install(ks, MM_SLOT_CURRENT, x, dev), MM_ERR_SIGNATURE);
	X509_free(x);
	x = make_cert(&ca, pub, NULL, "d-00112233445566ab", -300, 86400,
	    "CA:FALSE", NULL);
	assert_int_equal(install(ks, MM_SLOT_CURRENT, x, dev), MM_ERR_DENIED);
	X509_free(x);
	x = make_cert(&ca, pub, NULL, dev, -86400, -60, "CA:FALSE", NULL);
	assert_int_equal(install(ks, MM_SLOT_CURRENT, x, dev), MM_ERR_EXPIRED);
	X509_free(x);
	x = make_cert(&ca, pub, NULL, dev, 3600, 86400, "CA:FALSE", NULL);
	assert_int_equal(install(ks, MM_SLOT_CURRENT, x, dev),
	    MM_ERR_NOT_YET_VALID);
	X509_free(x);
	/* a certificate that could sign others, or not for TLS clients */
	x = make_cert(&ca, pub, NULL, dev, -300, 86400, "CA:TRUE", NULL);
	assert_int_not_equal(install(ks, MM_SLOT_CURRENT, x, dev), MM_OK);
	X509_free(x);
	x = make_cert(&ca, pub, NULL, dev, -300, 86400, "CA:FALSE", "serverAuth");
	assert_int_not_equal(install(ks, MM_SLOT_CURRENT, x, dev), MM_OK);
	X509_free(x);
	/* malformed input */
	assert_int_equal(mm_keystore_install_cert(ks, MM_SLOT_CURRENT, "junk", 4,
	    dev), MM_ERR_FORMAT);
	pem = pem_of(good, &len);
	assert_int_equal(mm_keystore_install_cert(ks, MM_SLOT_CURRENT, pem,
	    len - 30, dev), MM_ERR_FORMAT);
	assert_int_equal(mm_keystore_install_cert(ks, MM_SLOT_CURRENT, pem,
	    len + 1, dev), MM_ERR_FORMAT);	/* the NUL terminator */
	assert_int_equal(mm_keystore_install_cert(ks, MM_SLOT_CURRENT, pem,
	    1 << 20, dev), MM_ERR_TOO_LARGE);
	mm_free(pem);
	assert_fp_is(ks, good);

	X509_free(good);
	EVP_PKEY_free(stranger);
	EVP_PKEY_free(pub);
	tca_free(&ca);
	tca_free(&other);
	mm_keystore_free(ks);
}

static char *
read_file(const char *name, size_t *len)
{
	char p[512], *buf;

	file_path(p, sizeof(p), name);
	assert_int_equal(mm_file_read(p, 65536, &buf, len), MM_OK);
	return buf;
}

static void
test_rekey(void **state)
{
	struct mm_keystore *ks;
	EVP_PKEY *cur, *next, *now_cur;
	char *next_file, *key_file;
	size_t nlen, klen;
	struct tca ca;
	X509 *x;

	(void)state;
	tca_new(&ca, "test CA");
	ks = fresh(&ca);
	assert_int_equal(mm_keystore_generate(ks, MM_SLOT_CURRENT), MM_OK);
	cur = slot_pub(ks, MM_SLOT_CURRENT);
	x = make_cert(&ca, cur, NULL, dev, -300, 86400, "CA:FALSE", NULL);
	assert_int_equal(install(ks, MM_SLOT_CURRENT, x, dev), MM_OK);
	assert_int_equal(mm_keystore_generate(ks, MM_SLOT_NEXT), MM_OK);
	next = slot_pub(ks, MM_SLOT_NEXT);
	/* a certificate for the current key is no good for the next slot */
	assert_int_equal(install(ks, MM_SLOT_NEXT, x, dev), MM_ERR_KEY_MISMATCH);
	assert_int_equal(mm_keystore_has_key(ks, MM_SLOT_NEXT), 1);
	X509_free(x);
	next_file = read_file("device.key.next", &nlen);
	x = make_cert(&ca, next, NULL, dev, -300, 86400, "CA:FALSE", NULL);
	assert_int_equal(install(ks, MM_SLOT_NEXT, x, dev), MM_OK);
	assert_int_equal(mm_keystore_has_key(ks, MM_SLOT_NEXT), 0);
	assert_int_equal(file_mode("device.key"), 0600);
	key_file = read_file("device.key", &klen);
	assert_int_equal(klen, nlen);
	assert_memory_equal(key_file, next_file, klen);
	now_cur = slot_pub(ks, MM_SLOT_CURRENT);
	assert_int_equal(EVP_PKEY_eq(now_cur, next), 1);
	assert_fp_is(ks, x);
	mm_freezero(key_file, klen + 1);
	mm_freezero(next_file, nlen + 1);
	X509_free(x);
	EVP_PKEY_free(cur);
	EVP_PKEY_free(next);
	EVP_PKEY_free(now_cur);
	tca_free(&ca);
	mm_keystore_free(ks);
}

/* A crash after device.crt was replaced but before the key moved. */
static void
test_recover_interrupted_rekey(void **state)
{
	struct mm_keystore *ks;
	EVP_PKEY *next, *cur;
	struct tca ca;
	char p[512], *pem;
	size_t len;
	X509 *x;

	(void)state;
	tca_new(&ca, "test CA");
	ks = fresh(&ca);
	assert_int_equal(mm_keystore_generate(ks, MM_SLOT_CURRENT), MM_OK);
	assert_int_equal(mm_keystore_generate(ks, MM_SLOT_NEXT), MM_OK);
	next = slot_pub(ks, MM_SLOT_NEXT);
	x = make_cert(&ca, next, NULL, dev, -300, 86400, "CA:FALSE", NULL);
	pem = pem_of(x, &len);
	file_path(p, sizeof(p), "device.crt");
	assert_int_equal(mm_file_write_atomic(p, pem, len, 0644), MM_OK);
	mm_keystore_free(ks);
	assert_int_equal(mm_keystore_open(dir, &ks), MM_OK);
	assert_int_equal(mm_keystore_has_key(ks, MM_SLOT_NEXT), 0);
	cur = slot_pub(ks, MM_SLOT_CURRENT);
	assert_int_equal(EVP_PKEY_eq(cur, next), 1);
	mm_free(pem);
	X509_free(x);
	EVP_PKEY_free(cur);
	EVP_PKEY_free(next);
	tca_free(&ca);
	mm_keystore_free(ks);
}

static void
test_tls_ctx(void **state)
{
	struct mm_keystore *ks = fresh(NULL);
	SSL_CTX *ctx = NULL;
	EVP_PKEY *pub;
	struct tca ca;
	size_t len;
	char *pem;
	X509 *x;

	(void)state;
	assert_int_equal(mm_keystore_tls_ctx(ks, "broker.test", 0, &ctx),
	    MM_ERR_NOT_FOUND);
	assert_null(ctx);
	tca_new(&ca, "test CA");
	pem = pem_of(ca.cert, &len);
	assert_int_equal(mm_keystore_set_ca(ks, pem, len), MM_OK);
	mm_free(pem);
	assert_int_equal(mm_keystore_tls_ctx(ks, "", 0, &ctx), MM_ERR_INVALID_ARG);
	assert_int_equal(mm_keystore_tls_ctx(ks, "broker.test", 0, &ctx), MM_OK);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	assert_int_equal(SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER,
	    SSL_VERIFY_PEER);
	assert_null(SSL_CTX_get0_certificate(ctx));
	SSL_CTX_free(ctx);
	ctx = NULL;
	/* identity: key without certificate, then both, then a stale cert */
	assert_int_equal(mm_keystore_generate(ks, MM_SLOT_CURRENT), MM_OK);
	assert_int_equal(mm_keystore_tls_ctx(ks, "broker.test", 1, &ctx),
	    MM_ERR_NOT_FOUND);
	pub = slot_pub(ks, MM_SLOT_CURRENT);
	x = make_cert(&ca, pub, NULL, dev, -300, 86400, "CA:FALSE", NULL);
	assert_int_equal(install(ks, MM_SLOT_CURRENT, x, dev), MM_OK);
	assert_int_equal(mm_keystore_tls_ctx(ks, "10.0.0.1", 1, &ctx), MM_OK);
	assert_int_equal(X509_cmp(SSL_CTX_get0_certificate(ctx), x), 0);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	SSL_CTX_free(ctx);
	ctx = NULL;
	assert_int_equal(mm_keystore_generate(ks, MM_SLOT_CURRENT), MM_OK);
	assert_int_equal(mm_keystore_tls_ctx(ks, "broker.test", 1, &ctx),
	    MM_ERR_KEY_MISMATCH);
	assert_null(ctx);
	X509_free(x);
	EVP_PKEY_free(pub);
	tca_free(&ca);
	mm_keystore_free(ks);
}

/* Allocation failures at every step are reported, not crashed on. */
static void
test_alloc_failures(void **state)
{
	struct mm_keystore *ks = fresh(NULL), *ks2;
	char *pem;
	size_t len;
	long n;
	int r;

	(void)state;
	assert_int_equal(mm_keystore_generate(ks, MM_SLOT_CURRENT), MM_OK);
	for (n = 0; n < 4; n++) {
		mm_alloc_fail_after(n);
		r = mm_keystore_csr(ks, MM_SLOT_CURRENT, dev, &pem, &len);
		mm_alloc_fail_after(-1);
		if (r == MM_OK)
			mm_free(pem);
		else
			assert_int_equal(r, MM_ERR_ALLOC);
	}
	mm_alloc_fail_after(0);
	r = mm_keystore_open(dir, &ks2);
	mm_alloc_fail_after(-1);
	assert_int_equal(r, MM_ERR_ALLOC);
	mm_keystore_free(ks);
}

static int
setup(void **state)
{
	(void)state;
	if (mm_crypto_init() != 0 || mkdtemp(dir) == NULL)
		return -1;
	mm_log_set_level(MM_LOG_ERR);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_generate_and_csr),
		cmocka_unit_test(test_csr_content),
		cmocka_unit_test(test_set_ca),
		cmocka_unit_test(test_install),
		cmocka_unit_test(test_rekey),
		cmocka_unit_test(test_recover_interrupted_rekey),
		cmocka_unit_test(test_tls_ctx),
		cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
