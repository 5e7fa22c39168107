/* Fuzz target: signed command frames as a device receives them. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "common/mm_crypto.h"
#include "proto/mm_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pk[MM_SIGN_PK_LEN];
	static int init;
	struct mm_cmd out;

	if (!init) {
		/* fixed public key: the seed corpus frames are signed for it */
		uint8_t seed[32] = { 1 }, sk[MM_SIGN_SK_LEN];
		if (mm_crypto_init() != 0)
			return 0;
		crypto_sign_ed25519_seed_keypair(pk, sk, seed);
		init = 1;
	}
	if (mm_cmd_verify(data, size, pk, "d-00112233445566aa", 0, 1800000000ULL,
	    &out) == 0 && strlen(out.name) == 0)
		__builtin_trap();	/* a verified command always has a name */
	return 0;
}
