/*
 * srv_init.h - creating a fleet directory (`mamori-server init`): CA,
 * broker TLS identity, the server's client identity, command-signing key,
 * database, broker configuration with ACLs and an empty CRL.
 */
#ifndef SRV_INIT_H
#define SRV_INIT_H

#include "server/srv_conf.h"

/* c->dir must not exist or be empty. */
int srv_init_fleet(const struct srv_conf *c);

#endif
