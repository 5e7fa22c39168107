/*
 * srv_run.h - `mamori-server run`: connects to the broker as the server on
 * both listeners and serves until SIGTERM/SIGINT.
 */
#ifndef SRV_RUN_H
#define SRV_RUN_H

#include "server/srv_conf.h"

int srv_run(const struct srv_conf *c);

#endif
