/* mm_time.c - monotonic time and sleeping. */
#include <errno.h>
#include <time.h>

#include "common/mm_crypto.h"
#include "common/mm_time.h"

int64_t
mm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint32_t
mm_backoff_ms(unsigned attempt, uint32_t floor_ms, uint32_t unit_ms,
    uint32_t cap_ms)
{
	uint64_t span = (uint64_t)unit_ms << (attempt < 32 ? attempt : 32);

	if (span > cap_ms)
		span = cap_ms;
	return floor_ms + mm_random_uniform((uint32_t)span);
}

void
mm_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
