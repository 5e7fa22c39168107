/* Fuzz target: every JSON message type and its field accessors.  The first
 * byte picks the message type. */
#include <stddef.h>
#include <stdint.h>

#include "common/mm_crypto.h"
#include "proto/mm_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	const char *s;
	json_t *o = NULL;
	int64_t v;

	if (!init) {
		if (mm_crypto_init() != 0)
			return 0;
		init = 1;
	}
	if (size < 1)
		return 0;
	if (mm_msg_decode((enum mm_msg_type)(data[0] % MM_MSG__COUNT), data + 1,
	    size - 1, &o) != 0)
		return 0;
	(void)mm_msg_get_str(o, "serial", 1, 64, &s);
	(void)mm_msg_get_opt_str(o, "model", 64, &s);
	(void)mm_msg_get_int(o, "seq", 0, INT64_MAX, &v);
	json_decref(o);
	return 0;
}
