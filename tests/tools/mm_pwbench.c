/*
 * mm_pwbench - times Argon2id verification for each device class and
 * measures the memory it takes, for bench/auth.
 *
 *   mm_pwbench [ROUNDS]     (default 10)
 *
 * One line per class:
 *   class=small m_kib=7168 t=5 verify_ms=31.2 verify_per_s=32.0 peak_rss_kib=9000
 * The peak RSS is that of this process after the class's verifications
 * (classes run from the smallest up, so it grows with the memory limit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "common/mm_crypto.h"
#include "device/mm_pwhash.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	const char *pw = "Lantern-Quiet-47";
	char hash[MM_PWHASH_STRLEN];
	struct rusage ru;
	long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 10;
	double t0, el;
	int c;
	long i;

	if (rounds < 1 || rounds > 1000 || mm_crypto_init() != 0)
		return 2;
	for (c = 0; c < MM_PWCLASS__COUNT; c++) {
		const struct mm_pwparams *p = mm_pwclass_params((enum mm_pwclass)c);

		if (mm_pwhash((enum mm_pwclass)c, pw, strlen(pw), hash) != 0)
			return 1;
		t0 = now_s();
		for (i = 0; i < rounds; i++)
			if (mm_pwhash_verify(hash, pw, strlen(pw)) != 0)
				return 1;
		el = now_s() - t0;
		getrusage(RUSAGE_SELF, &ru);
		printf("class=%s m_kib=%zu t=%llu verify_ms=%.1f verify_per_s=%.1f "
		    "peak_rss_kib=%ld\n", mm_pwclass_name((enum mm_pwclass)c),
		    p->memlimit / 1024, (unsigned long long)p->opslimit,
		    el * 1000.0 / (double)rounds, (double)rounds / el, ru.ru_maxrss);
	}
	return 0;
}
