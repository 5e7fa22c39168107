/* mm_pem.c - strict PEM and key-file helpers over OpenSSL. */
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_pem.h"

static int
mm_pem_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Never prompt on a terminal for a pass phrase: our keys have none. */
static int
mm_pem_no_pass(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

int
mm_pem_is_p256(const EVP_PKEY *pkey)
{
	char s[64];
	size_t n;

	if (pkey == NULL || !EVP_PKEY_is_a(pkey, "EC"))
		return 0;
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
	    s, sizeof(s), &n) != 1 || strcmp(s, SN_X9_62_prime256v1) != 0)
		return 0;
	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING,
	    s, sizeof(s), &n) != 1 ||
	    strcmp(s, OSSL_PKEY_EC_ENCODING_GROUP) != 0)
		return 0;
	return 1;
}

/* The secure-memory BIO clears its buffer on growth and on free. */
int
mm_pem_key_write(const char *path, const EVP_PKEY *pkey)
{
	char *data;
	BIO *bio;
	long n;
	int r;

	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		return MM_ERR_ALLOC;
	if (PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
	    NULL) != 1 || (n = BIO_get_mem_data(bio, &data)) <= 0) {
		r = MM_ERR_CRYPTO;
		goto out;
	}
	r = mm_file_write_atomic(path, data, (size_t)n, 0600);
	mm_wipe(data, (size_t)n);
 out:
	BIO_free(bio);
	return r;
}

int
mm_pem_key_read(const char *path, size_t max, EVP_PKEY **out)
{
	EVP_PKEY *pkey = NULL;
	char *buf = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	int r;

	if ((r = mm_file_read(path, max, &buf, &len)) != 0)
		goto out;
	if (len > INT_MAX) {
		r = MM_ERR_TOO_LARGE;
		goto out;
	}
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		r = MM_ERR_ALLOC;
		goto out;
	}
	if ((pkey = PEM_read_bio_PrivateKey(bio, NULL, mm_pem_no_pass,
	    NULL)) == NULL) {
		r = MM_ERR_FORMAT;
		goto out;
	}
	if (!mm_pem_is_p256(pkey)) {
		r = MM_ERR_BAD_KEY;
		goto out;
	}
	*out = pkey;
	pkey = NULL;
	r = MM_OK;
 out:
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	if (buf != NULL)
		mm_freezero(buf, len + 1);
	ERR_clear_error();
	return r;
}

/* Copies what ok says was written to bio into a new string; frees bio. */
static int
mm_pem_bio_string(BIO *bio, int ok, char **pem, size_t *len)
{
	char *data, *res;
	long n;
	int r = MM_ERR_CRYPTO;

	if (ok != 1 || (n = BIO_get_mem_data(bio, &data)) <= 0)
		goto out;
	if ((res = mm_malloc((size_t)n + 1)) == NULL) {
		r = MM_ERR_ALLOC;
		goto out;
	}
	memcpy(res, data, (size_t)n);
	res[n] = '\0';
	*pem = res;
	*len = (size_t)n;
	r = MM_OK;
 out:
	BIO_free(bio);
	return r;
}

int
mm_pem_cert_to_string(const X509 *cert, char **pem, size_t *len)
{
	BIO *bio;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return MM_ERR_ALLOC;
	return mm_pem_bio_string(bio, PEM_write_bio_X509(bio, cert), pem, len);
}

int
mm_pem_req_to_string(const X509_REQ *req, char **pem, size_t *len)
{
	BIO *bio;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return MM_ERR_ALLOC;
	return mm_pem_bio_string(bio, PEM_write_bio_X509_REQ(bio, req), pem,
	    len);
}

int
mm_pem_crl_to_string(const X509_CRL *crl, char **pem, size_t *len)
{
	BIO *bio;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return MM_ERR_ALLOC;
	return mm_pem_bio_string(bio, PEM_write_bio_X509_CRL(bio, crl), pem,
	    len);
}

int
mm_pem_parse_one(const char *pem, size_t len, const char *label,
    unsigned char **der, long *derlen)
{
	char *name = NULL, *header = NULL, rest[256];
	unsigned char *data = NULL;
	BIO *bio = NULL;
	size_t i;
	long dlen;
	int n, r = MM_ERR_FORMAT;

	if (pem == NULL || label == NULL)
		return MM_ERR_INVALID_ARG;
	if (len > INT_MAX)
		return MM_ERR_TOO_LARGE;
	if (len == 0 || memchr(pem, '\0', len) != NULL)
		return MM_ERR_FORMAT;
	/* PEM_read_bio() would silently skip text before the BEGIN line. */
	for (i = 0; i < len && mm_pem_is_space(pem[i]); i++)
		;
	if (len - i < 11 || memcmp(pem + i, "-----BEGIN ", 11) != 0)
		return MM_ERR_FORMAT;
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return MM_ERR_ALLOC;
	if (PEM_read_bio(bio, &name, &header, &data, &dlen) != 1 ||
	    strcmp(name, label) != 0 || header[0] != '\0' || dlen <= 0)
		goto out;
	while ((n = BIO_read(bio, rest, sizeof(rest))) > 0)
		for (i = 0; i < (size_t)n; i++)
			if (!mm_pem_is_space(rest[i]))
				goto out;
	*der = data;
	*derlen = dlen;
	data = NULL;
	r = MM_OK;
 out:
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	ERR_clear_error();
	return r;
}

int
mm_pem_parse_cert(const char *pem, size_t len, size_t max, X509 **out)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	X509 *cert;
	long dlen;
	int r;

	if (pem == NULL)
		return MM_ERR_INVALID_ARG;
	if (len > max)
		return MM_ERR_TOO_LARGE;
	if ((r = mm_pem_parse_one(pem, len, PEM_STRING_X509, &der,
	    &dlen)) != 0)
		return r;
	p = der;
	/* The DER must be consumed exactly: no trailing bytes. */
	if ((cert = d2i_X509(NULL, &p, dlen)) == NULL || p != der + dlen) {
		X509_free(cert);
		r = MM_ERR_FORMAT;
	} else
		*out = cert;
	OPENSSL_free(der);
	ERR_clear_error();
	return r;
}

int
mm_pem_cert_read(const char *path, size_t max, X509 **out)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if ((r = mm_file_read(path, max, &buf, &len)) != 0)
		return r;
	r = mm_pem_parse_cert(buf, len, max, out);
	mm_free(buf);
	return r;
}

int
mm_pem_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	time_t v;

	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(t, &tm) != 1 || (v = timegm(&tm)) == (time_t)-1)
		return MM_ERR_FORMAT;
	*out = v;
	return MM_OK;
}
