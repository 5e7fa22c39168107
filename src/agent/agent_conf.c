/* agent_conf.c - agent.json (factory/operator settings) and agent.state
 * (what the agent learnt: last command counter, heartbeat override). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "agent/agent.h"
#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "common/mm_str.h"
#include "proto/mm_msg.h"

#define AGENT_CONF_MAX 8192

static int
agent_json_load(const char *dir, const char *name, json_t **out)
{
	char path[AGENT_PATH_MAX + 32], *text = NULL;
	size_t len;
	json_t *o;
	int r;

	if ((r = mm_path_join(path, sizeof(path), dir, name)) != 0 ||
	    (r = mm_file_read(path, AGENT_CONF_MAX, &text, &len)) != 0)
		return r;
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	mm_free(text);
	if (o == NULL || !json_is_object(o)) {
		json_decref(o);
		mm_log(MM_LOG_ERR, "%s/%s: not a JSON object", dir, name);
		return MM_ERR_FORMAT;
	}
	*out = o;
	return MM_OK;
}

static int
agent_conf_str(json_t *o, const char *key, int required, char *dst, size_t dstsz)
{
	const char *s;
	int r;

	if (!required && json_object_get(o, key) == NULL)
		return MM_OK;
	if ((r = mm_msg_get_str(o, key, 1, dstsz - 1, &s)) != 0) {
		mm_log(MM_LOG_ERR, "agent.json: \"%s\": %s", key, mm_strerror(r));
		return r;
	}
	return mm_strlcpy(dst, s, dstsz);
}

static int
agent_conf_int(json_t *o, const char *key, int64_t min, int64_t max, int64_t *v)
{
	int r;

	if (json_object_get(o, key) == NULL)
		return MM_OK;
	if ((r = mm_msg_get_int(o, key, min, max, v)) != 0)
		mm_log(MM_LOG_ERR, "agent.json: \"%s\": %s", key, mm_strerror(r));
	return r;
}

/* Integer settings of local authentication and the sealed log: key,
 * bounds, where. */
static int
agent_conf_auth(json_t *o, struct agent_conf *c)
{
	struct mm_auth_conf *a = &c->auth;
	const struct {
		const char *key;
		int64_t min, max;
		unsigned *dst;
	} ints[] = {
		{ "password_min_len", 8, MM_PW_MAX, &a->policy.min_len },
		{ "password_min_classes", 2, 3, &a->policy.min_classes },
		{ "password_history", 0, MM_AUTH_HISTORY_MAX, &a->policy.history },
		{ "password_expiry_days", 0, 3650, &a->expiry_days },
		{ "password_remind_days", 0, 365, &a->remind_days },
		{ "lockout_after", 3, 1000, &a->throttle.lockout_after },
		{ "lockout_seconds", 60, 86400, &a->throttle.lockout_s },
		{ "session_idle_seconds", 60, 86400, &a->session.idle_s },
		{ "session_max_seconds", 300, 604800, &a->session.absolute_s },
		{ "maintenance_max_minutes", 1, MM_AUTH_MAINT_MAX_MIN, &a->maint_max_min },
		{ "seclog_max_kib", 64, 1048576, &c->seclog_max_kib },
		{ "seclog_segment_kib", 16, 65536, &c->seclog_segment_kib },
		{ "seclog_epoch_seconds", 1, 86400, &c->seclog_epoch_s },
	};
	int64_t v;
	size_t i;
	int r;

	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		if (json_object_get(o, ints[i].key) == NULL)
			continue;
		if ((r = agent_conf_int(o, ints[i].key, ints[i].min, ints[i].max,
		    &v)) != 0)
			return r;
		*ints[i].dst = (unsigned)v;
	}
	if ((r = agent_conf_str(o, "denylist", 0, a->denylist,
	    sizeof(a->denylist))) != 0 ||
	    (r = agent_conf_str(o, "presence_path", 0, a->presence,
	    sizeof(a->presence))) != 0)
		return r;
	/* personal data no password may contain */
	snprintf(a->model, sizeof(a->model), "%s", c->model);
	snprintf(a->serial, sizeof(a->serial), "%s", c->serial);
	return MM_OK;
}

int
agent_conf_load(struct agent_conf *c, const char *state_dir)
{
	int64_t port = 8883, prov = 8884, hb = 60, web = 8443;
	json_t *o = NULL;
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = mm_strlcpy(c->state_dir, state_dir, sizeof(c->state_dir))) != 0 ||
	    (r = agent_json_load(state_dir, "agent.json", &o)) != 0)
		return r;
	snprintf(c->user, sizeof(c->user), "mamori-agent");
	snprintf(c->web_addr, sizeof(c->web_addr), "0.0.0.0");
	mm_auth_defaults(&c->auth);
	c->seclog_max_kib = 16384;
	c->seclog_segment_kib = 1024;
	c->seclog_epoch_s = 60;
	snprintf(c->auth.denylist, sizeof(c->auth.denylist),
	    "%s/denylist.txt", MM_DATADIR);
	if ((r = mm_path_join(c->ctl_socket, sizeof(c->ctl_socket), state_dir,
	    "ctl.sock")) != 0)
		goto out;
	if ((r = agent_conf_str(o, "server_host", 1, c->server_host,
	    sizeof(c->server_host))) != 0 ||
	    (r = agent_conf_str(o, "model", 1, c->model, sizeof(c->model))) != 0 ||
	    (r = agent_conf_str(o, "serial", 1, c->serial, sizeof(c->serial))) != 0 ||
	    (r = agent_conf_str(o, "fw_version", 1, c->fw_version,
	    sizeof(c->fw_version))) != 0 ||
	    (r = agent_conf_str(o, "user", 0, c->user, sizeof(c->user))) != 0 ||
	    (r = agent_conf_int(o, "port", 1, 65535, &port)) != 0 ||
	    (r = agent_conf_int(o, "prov_port", 1, 65535, &prov)) != 0 ||
	    (r = agent_conf_int(o, "heartbeat_interval", AGENT_HB_MIN, AGENT_HB_MAX,
	    &hb)) != 0 ||
	    (r = agent_conf_str(o, "web_addr", 0, c->web_addr,
	    sizeof(c->web_addr))) != 0 ||
	    (r = agent_conf_int(o, "web_port", 0, 65535, &web)) != 0 ||
	    (r = agent_conf_str(o, "ctl_socket", 0, c->ctl_socket,
	    sizeof(c->ctl_socket))) != 0 ||
	    (r = agent_conf_str(o, "ctl_group", 0, c->ctl_group,
	    sizeof(c->ctl_group))) != 0 ||
	    (r = agent_conf_auth(o, c)) != 0)
		goto out;
	if (c->seclog_max_kib < 2 * c->seclog_segment_kib) {
		mm_log(MM_LOG_ERR, "agent.json: \"seclog_max_kib\" must be at "
		    "least twice \"seclog_segment_kib\"");
		r = MM_ERR_RANGE;
		goto out;
	}
	c->web_port = (int)web;
	c->port = (int)port;
	c->prov_port = (int)prov;
	c->heartbeat_interval = (int)hb;
 out:
	json_decref(o);
	return r;
}

int
agent_state_load(const struct agent_conf *c, struct agent_state *st)
{
	int64_t ctr = 0, hb = 0;
	json_t *o = NULL;
	int r;

	memset(st, 0, sizeof(*st));
	if ((r = agent_json_load(c->state_dir, "agent.state", &o)) == MM_ERR_NOT_FOUND)
		return MM_OK;		/* first start */
	if (r != 0)
		return r;
	if ((r = mm_msg_get_int(o, "cmd_counter", 0, INT64_MAX, &ctr)) != 0 ||
	    (r = mm_msg_get_int(o, "heartbeat_interval", 0, AGENT_HB_MAX, &hb)) != 0)
		mm_log(MM_LOG_ERR, "agent.state is corrupt: %s", mm_strerror(r));
	else {
		st->cmd_counter = (uint64_t)ctr;
		st->heartbeat_interval = (int)hb;
	}
	json_decref(o);
	return r;
}

int
agent_state_save(const struct agent_conf *c, const struct agent_state *st)
{
	char path[AGENT_PATH_MAX + 32], text[128];
	int n, r;

	n = snprintf(text, sizeof(text), "{\"cmd_counter\":%llu,"
	    "\"heartbeat_interval\":%d}\n", (unsigned long long)st->cmd_counter,
	    st->heartbeat_interval);
	if (n < 0 || (size_t)n >= sizeof(text))
		return MM_ERR_INTERNAL;
	if ((r = mm_path_join(path, sizeof(path), c->state_dir, "agent.state")) != 0)
		return r;
	return mm_file_write_atomic(path, text, (size_t)n, 0600);
}

int
agent_heartbeat(const struct agent_conf *c, const struct agent_state *st)
{
	return st->heartbeat_interval > 0 ? st->heartbeat_interval :
	    c->heartbeat_interval;
}

int
agent_renew_due(time_t not_before, time_t not_after, time_t now)
{
	if (not_after <= not_before)
		return 1;	/* nonsense validity: get a proper certificate */
	return now >= not_before + (not_after - not_before) / 3 * 2;
}
