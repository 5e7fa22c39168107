/* srv_conf.c - server.json: bounded, strict, every key known. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "proto/mm_msg.h"
#include "server/srv_conf.h"

#define SRV_CONF_MAX 16384

void
srv_conf_defaults(struct srv_conf *c, const char *dir)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	snprintf(c->host, sizeof(c->host), "localhost");
	snprintf(c->bind, sizeof(c->bind), "127.0.0.1");
	c->port = 8883;
	c->prov_port = 8884;
	c->device_cert_days = 90;
	c->token_ttl = 7 * 86400;
	c->clone_window = 600;
	c->cmd_ttl = 3600;
	snprintf(c->broker_bin, sizeof(c->broker_bin), "/usr/sbin/mosquitto");
	snprintf(c->broker_user, sizeof(c->broker_user), "mosquitto");
}

int
srv_conf_path(const struct srv_conf *c, const char *rel, char *out, size_t outsz)
{
	return mm_path_join(out, outsz, c->dir, rel);
}

static int
srv_conf_str(json_t *o, const char *key, char *dst, size_t dstsz)
{
	const char *s;
	int r;

	if (json_object_get(o, key) == NULL)
		return MM_OK;
	if ((r = mm_msg_get_str(o, key, 1, dstsz - 1, &s)) != MM_OK)
		return r;
	snprintf(dst, dstsz, "%s", s);
	return MM_OK;
}

static int
srv_conf_int(json_t *o, const char *key, int64_t min, int64_t max, int64_t *dst)
{
	if (json_object_get(o, key) == NULL)
		return MM_OK;
	return mm_msg_get_int(o, key, min, max, dst);
}

int
srv_conf_load(struct srv_conf *c, const char *dir)
{
	static const char *const known[] = { "host", "bind", "port", "prov_port",
	    "device_cert_days", "token_ttl", "clone_window", "cmd_ttl",
	    "broker_bin", "broker_user", "broker_supervised", NULL };
	char path[SRV_PATH_MAX + 16], *text = NULL;
	int64_t port, prov_port, days;
	const char *key;
	json_t *o = NULL, *v;
	size_t len, i;
	int r;

	srv_conf_defaults(c, dir);
	if ((r = srv_conf_path(c, "server.json", path, sizeof(path))) != 0 ||
	    (r = mm_file_read(path, SRV_CONF_MAX, &text, &len)) != 0) {
		mm_log(MM_LOG_ERR, "cannot read %s: %s", path, mm_strerror(r));
		return r;
	}
	if ((o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(o)) {
		r = MM_ERR_FORMAT;
		goto out;
	}
	json_object_foreach(o, key, v) {
		for (i = 0; known[i] != NULL && strcmp(known[i], key) != 0; i++)
			;
		if (known[i] == NULL) {
			mm_log(MM_LOG_ERR, "%s: unknown key \"%s\"", path, key);
			r = MM_ERR_FORMAT;
			goto out;
		}
	}
	port = c->port;
	prov_port = c->prov_port;
	days = c->device_cert_days;
	if ((r = srv_conf_str(o, "host", c->host, sizeof(c->host))) != 0 ||
	    (r = srv_conf_str(o, "bind", c->bind, sizeof(c->bind))) != 0 ||
	    (r = srv_conf_str(o, "broker_bin", c->broker_bin, sizeof(c->broker_bin))) != 0 ||
	    (r = srv_conf_str(o, "broker_user", c->broker_user, sizeof(c->broker_user))) != 0 ||
	    (r = srv_conf_int(o, "port", 1, 65535, &port)) != 0 ||
	    (r = srv_conf_int(o, "prov_port", 1, 65535, &prov_port)) != 0 ||
	    (r = srv_conf_int(o, "device_cert_days", 1, 3650, &days)) != 0 ||
	    (r = srv_conf_int(o, "token_ttl", 60, 365 * 86400, &c->token_ttl)) != 0 ||
	    (r = srv_conf_int(o, "clone_window", 10, 86400, &c->clone_window)) != 0 ||
	    (r = srv_conf_int(o, "cmd_ttl", 10, 7 * 86400, &c->cmd_ttl)) != 0)
		goto out;
	c->port = (int)port;
	c->prov_port = (int)prov_port;
	c->device_cert_days = (int)days;
	if ((v = json_object_get(o, "broker_supervised")) != NULL) {
		if (!json_is_boolean(v)) {
			r = MM_ERR_FORMAT;
			goto out;
		}
		c->broker_supervised = json_is_true(v);
	}
 out:
	if (r != 0)
		mm_log(MM_LOG_ERR, "%s: invalid configuration: %s", path, mm_strerror(r));
	json_decref(o);
	mm_freezero(text, len + 1);
	return r;
}

int
srv_conf_save(const struct srv_conf *c)
{
	char path[SRV_PATH_MAX + 16], *s;
	json_t *o;
	int r;

	o = json_pack("{s:s, s:s, s:i, s:i, s:i, s:I, s:I, s:I, s:s, s:s, s:b}",
	    "host", c->host, "bind", c->bind, "port", c->port,
	    "prov_port", c->prov_port, "device_cert_days", c->device_cert_days,
	    "token_ttl", (json_int_t)c->token_ttl,
	    "clone_window", (json_int_t)c->clone_window,
	    "cmd_ttl", (json_int_t)c->cmd_ttl,
	    "broker_bin", c->broker_bin, "broker_user", c->broker_user,
	    "broker_supervised", c->broker_supervised);
	if (o == NULL)
		return MM_ERR_ALLOC;
	s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	if (s == NULL)
		return MM_ERR_ALLOC;
	if ((r = srv_conf_path(c, "server.json", path, sizeof(path))) == 0)
		r = mm_file_write_atomic(path, s, strlen(s), 0644);
	mm_free(s);
	return r;
}
