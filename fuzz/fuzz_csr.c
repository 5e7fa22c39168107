/* Fuzz target: device CSRs as the fleet CA receives them (untrusted PEM). */
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "server/srv_ca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *cn = "d-00112233445566aa";
	static int init;
	X509_REQ *req = NULL;
	int r;

	if (!init) {
		if (mm_crypto_init() != 0)
			return 0;
		mm_log_set_level(MM_LOG_ERR);	/* refusals are the normal case */
		init = 1;
	}
	r = srv_ca_check_csr((const char *)data, size, cn, &req);
	/* out-param exactly on success, and never past the size limit */
	if ((r == MM_OK) != (req != NULL) || (r == MM_OK && size > SRV_CSR_MAX))
		__builtin_trap();
	if (r != MM_OK && r != MM_ERR_TOO_LARGE && r != MM_ERR_FORMAT &&
	    r != MM_ERR_SIGNATURE && r != MM_ERR_BAD_KEY &&
	    r != MM_ERR_DENIED && r != MM_ERR_UNSUPPORTED && r != MM_ERR_ALLOC)
		__builtin_trap();	/* only the documented refusals */
	X509_REQ_free(req);
	return 0;
}
