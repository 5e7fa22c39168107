/* Fuzz target: admin requests (from mamorictl clients, and from the admin
 * worker to the monitor), parsed under both origins. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/mm_crypto.h"
#include "device/mm_admin_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct mm_admreq q;
	int origin;

	if (!ready) {
		if (mm_crypto_init() != 0)
			__builtin_trap();
		ready = 1;
	}
	for (origin = MM_ADMREQ_CLIENT; origin <= MM_ADMREQ_WORKER; origin++) {
		if (mm_admreq_parse(data, size, (enum mm_admreq_origin)origin, &q) != 0)
			continue;
		/* what parses is complete for its op */
		if ((unsigned)q.op >= MM_ADM__COUNT || q.obj == NULL ||
		    (origin == MM_ADMREQ_WORKER && (q.src == NULL || q.chan == NULL)) ||
		    (origin == MM_ADMREQ_CLIENT && q.src != NULL) ||
		    (q.op == MM_ADM_LOGIN && (q.user == NULL || q.password == NULL)) ||
		    (q.token != NULL && strlen(q.token) != 64))
			__builtin_trap();
		mm_admreq_free(&q);
	}
	return 0;
}
