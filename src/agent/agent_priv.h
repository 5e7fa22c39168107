/*
 * agent_priv.h - the privileged monitor: holds the keys, starts and
 * supervises the unprivileged network worker and serves its few requests
 * through a dispatch table (docs/privsep.md).
 */
#ifndef AGENT_PRIV_H
#define AGENT_PRIV_H

#include "agent/agent.h"

/* Worker exit codes the monitor understands. */
#define AGENT_EXIT_STOP 0
#define AGENT_EXIT_FAIL 1
#define AGENT_EXIT_RESTART 3	/* identity changed: restart at once */

/* Runs until SIGTERM/SIGINT.  Returns MM_OK or an error code. */
int agent_monitor_run(const struct agent_conf *c);

#endif
