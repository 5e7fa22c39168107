/* Fuzz target: topic parsing (topics come from the broker, i.e. peers). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/mm_topic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char t[512], again[MM_TOPIC_MAX];
	struct mm_topic pt;

	if (size >= sizeof(t))
		return 0;
	memcpy(t, data, size);
	t[size] = '\0';
	if (mm_topic_parse(t, &pt) != 0)
		return 0;
	/* whatever parses must rebuild to the very same topic */
	if (mm_topic_build(again, sizeof(again), pt.dir, pt.id,
	    pt.kind[0] ? pt.kind : NULL) != 0 || strcmp(again, t) != 0)
		__builtin_trap();
	return 0;
}
