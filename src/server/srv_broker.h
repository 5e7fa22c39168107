/*
 * srv_broker.h - the embedded Mosquitto broker: its configuration (TLS
 * only, client certificates on the device listener, identity from the
 * certificate, per-device ACL patterns, CRL) and its process.
 */
#ifndef SRV_BROKER_H
#define SRV_BROKER_H

#include "server/srv_conf.h"

/* Creates the provisioning-listener password for the server (init only). */
int srv_broker_init_password(const struct srv_conf *c);
/* Reads the server's provisioning-listener password. */
int srv_broker_prov_password(const struct srv_conf *c, char *out, size_t outsz);
/* (Re)writes mosquitto.conf and the ACL files from the configuration. */
int srv_broker_write_config(const struct srv_conf *c);
/* Starts mosquitto (daemonised, pid file) and waits until it listens. */
int srv_broker_start(const struct srv_conf *c);
/* Stops it (SIGTERM, then SIGKILL after a grace period). */
int srv_broker_stop(const struct srv_conf *c);
/* Stop + start: how the CRL is reloaded (docs/decisions/0006). */
int srv_broker_restart(const struct srv_conf *c);
/* 1 if the broker process from the pid file is alive. */
int srv_broker_running(const struct srv_conf *c);

#endif
