/*
 * Fuzz target: a certificate as the device receives it from the network
 * (mm_keystore_install_cert for a pending re-key).
 *
 * Once: a state directory with a fresh fleet CA (made here with OpenSSL;
 * this target links only the device library) and a next key.  A real
 * certificate for that key is installed once to prove the set-up accepts
 * good input, then the next key is replaced, so no input can be valid: the
 * CA key exists only in this process's memory and is freed after set-up.
 * Any success is therefore a bug, and so is any change to the key files.
 */
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "device/mm_keystore.h"

#define FUZZ_CN "d-00112233445566aa"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[] = "/tmp/mm_fuzz_cert.XXXXXX";
static struct mm_keystore *fuzz_ks;

static _Noreturn void
fuzz_setup_failed(const char *what)
{
	fprintf(stderr, "fuzz_cert: set-up failed: %s\n", what);
	ERR_print_errors_fp(stderr);
	abort();
}

static int
fuzz_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static void
fuzz_cleanup(void)
{
	mm_keystore_free(fuzz_ks);
	fuzz_ks = NULL;
	(void)nftw(fuzz_dir, fuzz_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void
fuzz_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509_EXTENSION *ext;
	X509V3_CTX v3;

	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	if ((ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value)) == NULL ||
	    X509_add_ext(cert, ext, -1) != 1)
		fuzz_setup_failed("extension");
	X509_EXTENSION_free(ext);
}

/* A certificate named cn for pub, signed by issuer/ikey (self-signed when
 * issuer is NULL), valid from a minute ago for a day. */
static X509 *
fuzz_make_cert(X509 *issuer, EVP_PKEY *ikey, EVP_PKEY *pub, const char *cn,
    int ca)
{
	X509 *x = X509_new();
	time_t now = time(NULL);
	X509_NAME *name;

	if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x),
	    (long)mm_random_uniform(1u << 30) + 1) != 1)
		fuzz_setup_failed("certificate");
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : name) != 1 ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, -60, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), 1, 0, &now) == NULL ||
	    X509_set_pubkey(x, pub) != 1)
		fuzz_setup_failed("certificate fields");
	if (issuer == NULL)
		issuer = x;
	fuzz_add_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (ca) {
		fuzz_add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		fuzz_add_ext(x, issuer, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
	} else {
		fuzz_add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		fuzz_add_ext(x, issuer, NID_key_usage,
		    "critical,digitalSignature");
		fuzz_add_ext(x, issuer, NID_ext_key_usage, "clientAuth");
		fuzz_add_ext(x, issuer, NID_authority_key_identifier, "keyid");
	}
	if (X509_sign(x, ikey, EVP_sha256()) <= 0)
		fuzz_setup_failed("signing");
	return x;
}

/* PEM of x as a new NUL-terminated string (mm_free). */
static char *
fuzz_pem(X509 *x, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *res;
	long n;

	if (bio == NULL || PEM_write_bio_X509(bio, x) != 1 ||
	    (n = BIO_get_mem_data(bio, &data)) <= 0 ||
	    (res = mm_malloc((size_t)n + 1)) == NULL)
		fuzz_setup_failed("PEM");
	memcpy(res, data, (size_t)n);
	res[n] = '\0';
	*len = (size_t)n;
	BIO_free(bio);
	return res;
}

/* The public key of the next slot, read back through its CSR. */
static EVP_PKEY *
fuzz_next_pub(void)
{
	X509_REQ *req;
	EVP_PKEY *pub;
	size_t len;
	char *pem;
	BIO *bio;

	if (mm_keystore_csr(fuzz_ks, MM_SLOT_NEXT, FUZZ_CN, &pem, &len) != MM_OK ||
	    (bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL)) == NULL ||
	    (pub = X509_REQ_get_pubkey(req)) == NULL)
		fuzz_setup_failed("next key");
	X509_REQ_free(req);
	BIO_free(bio);
	mm_free(pem);
	return pub;
}

static void
fuzz_init(void)
{
	EVP_PKEY *cakey, *pub;
	X509 *ca, *leaf;
	size_t len;
	char *pem;

	if (mm_crypto_init() != 0)
		fuzz_setup_failed("mm_crypto_init");
	mm_log_set_level(MM_LOG_ERR);	/* refusals are the normal case */
	if (mkdtemp(fuzz_dir) == NULL)
		fuzz_setup_failed("mkdtemp");
	atexit(fuzz_cleanup);
	if (mm_keystore_open(fuzz_dir, &fuzz_ks) != MM_OK)
		fuzz_setup_failed("mm_keystore_open");

	if ((cakey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL)
		fuzz_setup_failed("CA key");
	ca = fuzz_make_cert(NULL, cakey, cakey, "mamori fuzz CA", 1);
	pem = fuzz_pem(ca, &len);
	if (mm_keystore_set_ca(fuzz_ks, pem, len) != MM_OK)
		fuzz_setup_failed("mm_keystore_set_ca");
	mm_free(pem);

	/* prove the set-up accepts a good certificate ... */
	if (mm_keystore_generate(fuzz_ks, MM_SLOT_NEXT) != MM_OK)
		fuzz_setup_failed("mm_keystore_generate");
	pub = fuzz_next_pub();
	leaf = fuzz_make_cert(ca, cakey, pub, FUZZ_CN, 0);
	pem = fuzz_pem(leaf, &len);
	if (mm_keystore_install_cert(fuzz_ks, MM_SLOT_NEXT, pem, len,
	    FUZZ_CN) != MM_OK || mm_keystore_has_key(fuzz_ks, MM_SLOT_NEXT))
		fuzz_setup_failed("installing a valid certificate");

	/* ... then move on to a next key no certificate exists for */
	if (mm_keystore_generate(fuzz_ks, MM_SLOT_NEXT) != MM_OK)
		fuzz_setup_failed("mm_keystore_generate");
	if (mm_keystore_install_cert(fuzz_ks, MM_SLOT_NEXT, pem, len,
	    FUZZ_CN) != MM_ERR_KEY_MISMATCH)
		fuzz_setup_failed("old certificate not refused for the new key");
	mm_free(pem);
	X509_free(leaf);
	EVP_PKEY_free(pub);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	ERR_clear_error();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	int r;

	if (!init) {
		fuzz_init();
		init = 1;
	}
	r = mm_keystore_install_cert(fuzz_ks, MM_SLOT_NEXT, (const char *)data,
	    size, FUZZ_CN);
	if (r == MM_OK)
		__builtin_trap();	/* accepted a certificate nobody can sign */
	if (r != MM_ERR_FORMAT && r != MM_ERR_TOO_LARGE &&
	    r != MM_ERR_SIGNATURE && r != MM_ERR_EXPIRED &&
	    r != MM_ERR_NOT_YET_VALID && r != MM_ERR_KEY_MISMATCH &&
	    r != MM_ERR_DENIED && r != MM_ERR_ALLOC && r != MM_ERR_CRYPTO)
		__builtin_trap();	/* only the documented refusals */
	/* a refusal changes no file: the pending key is still pending */
	if (!mm_keystore_has_key(fuzz_ks, MM_SLOT_NEXT) ||
	    !mm_keystore_has_key(fuzz_ks, MM_SLOT_CURRENT))
		__builtin_trap();
	return 0;
}
