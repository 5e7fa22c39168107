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

#endif
