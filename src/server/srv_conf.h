/*
 * srv_conf.h - the fleet server's configuration (<dir>/server.json) and the
 * layout of a fleet directory created by `mamori-server init`.
 */
#ifndef SRV_CONF_H
#define SRV_CONF_H

#include <stdint.h>

#define SRV_PATH_MAX 512
#define SRV_HOST_MAX 128

struct srv_conf {
	char dir[SRV_PATH_MAX];		/* fleet directory */
	char host[SRV_HOST_MAX];	/* broker host name devices connect to */
	char bind[SRV_HOST_MAX];	/* broker listen address */
	int port;			/* device listener (mutual TLS) */
	int prov_port;			/* provisioning listener */
	int device_cert_days;
	int64_t token_ttl;		/* seconds an enrolment token lives */
	int64_t clone_window;		/* seconds for instance alternation */
	int64_t cmd_ttl;		/* seconds a signed command is valid */
	char broker_bin[SRV_PATH_MAX];
	char broker_user[64];		/* user mosquitto drops to, if root */
	int broker_supervised;		/* a supervisor (systemd) restarts it */
};

/* Fills defaults. */
void srv_conf_defaults(struct srv_conf *c, const char *dir);
/* Loads <dir>/server.json over the defaults.  Unknown keys refused. */
int srv_conf_load(struct srv_conf *c, const char *dir);
int srv_conf_save(const struct srv_conf *c);
/* out = <dir>/<rel>; MM_ERR_TOO_LARGE if it does not fit. */
int srv_conf_path(const struct srv_conf *c, const char *rel, char *out,
    size_t outsz);

#endif
