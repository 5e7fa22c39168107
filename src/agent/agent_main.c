/* agent_main.c - mamori-agent command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/agent_priv.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"

static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: mamori-agent --state <dir> [--debug] [--syslog]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *state = NULL;
	struct agent_conf c;
	int i, r, debug = 0, use_syslog = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
			state = argv[++i];
		else if (strcmp(argv[i], "--debug") == 0)
			debug = 1;
		else if (strcmp(argv[i], "--syslog") == 0)
			use_syslog = 1;
		else
			usage();
	}
	if (state == NULL)
		usage();
	mm_log_init("mamori-agent", debug ? MM_LOG_DEBUG : MM_LOG_INFO, use_syslog);
	if (mm_crypto_init() != 0) {
		mm_log(MM_LOG_ERR, "crypto library initialisation failed");
		return 1;
	}
	if ((r = agent_conf_load(&c, state)) != 0 ||
	    (r = agent_monitor_run(&c)) != 0) {
		mm_log(MM_LOG_ERR, "%s", mm_strerror(r));
		return 1;
	}
	return 0;
}
