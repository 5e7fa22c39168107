/*
 * agent_net.h - the unprivileged network worker: enrolment, the MQTT/TLS
 * session with the fleet, heartbeats, and verification of signed commands.
 * Everything it parses comes from the network; it holds no key file and
 * asks the monitor for anything privileged.
 */
#ifndef AGENT_NET_H
#define AGENT_NET_H

#include <openssl/ssl.h>

#include "agent/agent.h"

/* Runs the worker; returns an AGENT_EXIT_* code.  Takes ownership of ctx. */
int agent_net_run(const struct agent_conf *c, struct agent_boot *b,
    SSL_CTX *ctx, int ipcfd);

#endif
