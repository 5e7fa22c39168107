/* srv_init.c - fleet creation. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "proto/mm_topic.h"
#include "server/srv.h"
#include "server/srv_admin.h"
#include "server/srv_broker.h"
#include "server/srv_ca.h"
#include "server/srv_db.h"
#include "server/srv_init.h"

#define SRV_CA_DAYS 3650
#define SRV_SERVICE_DAYS 365

static int
srv_init_dir_empty(const char *dir)
{
	struct dirent *e;
	DIR *d;
	int empty = 1;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

static int
srv_init_dirs(const struct srv_conf *c)
{
	static const struct { const char *rel; mode_t mode; } dirs[] = {
		{ "ca", 0755 }, { "broker", 0750 }, { "server", 0700 },
	};
	char path[SRV_PATH_MAX + 32];
	size_t i;
	int r;

	if ((r = mm_file_mkdir(c->dir, 0755)) != 0)
		return r;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if ((r = srv_conf_path(c, dirs[i].rel, path, sizeof(path))) != 0 ||
		    (r = mm_file_mkdir(path, dirs[i].mode)) != 0)
			return r;
	}
	return MM_OK;
}

static int
srv_init_identities(const struct srv_conf *c)
{
	const char *sans[] = { c->host, "localhost", "127.0.0.1", "::1", NULL };
	char cadir[SRV_PATH_MAX + 32], key[SRV_PATH_MAX + 32], crt[SRV_PATH_MAX + 32];
	struct srv_ca *ca = NULL;
	int r;

	if ((r = srv_conf_path(c, "ca", cadir, sizeof(cadir))) != 0 ||
	    (r = srv_ca_create(cadir, "mamori fleet CA", SRV_CA_DAYS)) != 0 ||
	    (r = srv_ca_load(cadir, &ca)) != 0)
		goto out;
	if ((r = srv_conf_path(c, "broker/broker.key", key, sizeof(key))) != 0 ||
	    (r = srv_conf_path(c, "broker/broker.crt", crt, sizeof(crt))) != 0 ||
	    (r = srv_ca_issue_service(ca, c->host, strcmp(c->host, "localhost") == 0 ?
	    sans + 1 : sans, SRV_USE_TLS_SERVER, SRV_SERVICE_DAYS, key, crt)) != 0)
		goto out;
	if ((r = srv_conf_path(c, "server/client.key", key, sizeof(key))) != 0 ||
	    (r = srv_conf_path(c, "server/client.crt", crt, sizeof(crt))) != 0 ||
	    (r = srv_ca_issue_service(ca, MM_SERVER_ID, NULL, SRV_USE_TLS_CLIENT,
	    SRV_SERVICE_DAYS, key, crt)) != 0)
		goto out;
 out:
	srv_ca_free(ca);
	return r;
}

int
srv_init_fleet(const struct srv_conf *c)
{
	char path[SRV_PATH_MAX + 32];
	struct srv_db *db = NULL;
	int r;

	if (!srv_init_dir_empty(c->dir)) {
		mm_log(MM_LOG_ERR, "%s exists and is not empty; refusing to overwrite"
		    " a fleet", c->dir);
		return MM_ERR_EXISTS;
	}
	if ((r = srv_init_dirs(c)) != 0 ||
	    (r = srv_conf_save(c)) != 0 ||
	    (r = srv_init_identities(c)) != 0 ||
	    (r = srv_keys_create(c)) != 0 ||
	    (r = srv_broker_init_password(c)) != 0 ||
	    (r = srv_conf_path(c, "mamori.db", path, sizeof(path))) != 0 ||
	    (r = srv_db_open(path, 1, &db)) != 0 ||
	    (r = srv_admin_write_crl(c, db)) != 0 ||
	    (r = srv_broker_write_config(c)) != 0)
		goto out;
	mm_log(MM_LOG_NOTICE, "fleet created in %s (devices connect to %s:%d, "
	    "provisioning on %d)", c->dir, c->host, c->port, c->prov_port);
 out:
	srv_db_close(db);
	if (r != 0)
		mm_log(MM_LOG_ERR, "fleet creation failed: %s", mm_strerror(r));
	return r;
}
