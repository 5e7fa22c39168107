/*
 * mm_time.h - monotonic milliseconds and an EINTR-safe sleep.
 */
#ifndef MM_TIME_H
#define MM_TIME_H

#include <stdint.h>

/* Milliseconds on the monotonic clock (never jumps with the wall clock). */
int64_t mm_now_ms(void);
/* Sleeps ms milliseconds, resuming after signals. */
void mm_sleep_ms(long ms);
/*
 * Full-jitter exponential back-off for the attempt-th retry (0 first):
 * floor_ms plus a uniformly random part below min(unit_ms << attempt,
 * cap_ms), so a fleet that failed together does not retry in step.
 */
uint32_t mm_backoff_ms(unsigned attempt, uint32_t floor_ms, uint32_t unit_ms,
    uint32_t cap_ms);

#endif
