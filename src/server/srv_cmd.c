/* srv_cmd.c - queueing, signing and sending commands. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "proto/mm_cmd.h"
#include "server/srv_cmd.h"

int
srv_cmd_user_valid(const char *s)
{
	size_t i;

	/* the device's rule for local user names (mm_user_name_valid) */
	if (s == NULL || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= SRV_CMD_USER_MAX)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	}
	return 1;
}

static int
srv_cmd_hex_valid(const char *s, size_t len)
{
	size_t i;

	if (strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/*
 * Arguments of the commands of decision 0007, checked as the device will:
 * exactly these keys.  Other names pass unchecked (their agents judge).
 */
static int
srv_cmd_args_valid(const char *name, json_t *j)
{
	json_t *v;

	if (strcmp(name, "maintenance") == 0) {
		v = json_object_get(j, "minutes");
		return json_object_size(j) == 1 && json_is_integer(v) &&
		    json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= SRV_CMD_MAINT_MAX_MIN;
	}
	if (strcmp(name, "cred_reset") == 0) {
		v = json_object_get(j, "pub");
		if (json_object_size(j) != 2 || !json_is_string(v) ||
		    !srv_cmd_hex_valid(json_string_value(v), 2 * MM_BOX_PK_LEN))
			return 0;
		v = json_object_get(j, "user");
		return json_is_string(v) &&
		    strlen(json_string_value(v)) == json_string_length(v) &&
		    srv_cmd_user_valid(json_string_value(v));
	}
	return 1;
}

int
srv_cmd_queue(struct srv_db *db, const char *devid, const char *name,
    const char *args, int64_t *id)
{
	struct mm_cmd probe;
	sqlite3_stmt *st;
	json_t *j;
	int r;

	if (args == NULL)
		args = "{}";
	/* refuse what the device would refuse, before it is queued */
	memset(&probe, 0, sizeof(probe));
	if (!mm_devid_valid(devid) || strlen(args) > MM_CMD_ARGS_MAX ||
	    strlen(name) >= sizeof(probe.name))
		return MM_ERR_FORMAT;
	if ((j = json_loads(args, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(j) || !srv_cmd_args_valid(name, j)) {
		json_decref(j);
		return MM_ERR_FORMAT;
	}
	json_decref(j);
	if ((r = srv_db_prepare(db, "SELECT state FROM devices WHERE id = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		r = MM_ERR_NOT_FOUND;
	else if (strcmp((const char *)sqlite3_column_text(st, 0), "active") != 0)
		r = MM_ERR_STATE;
	sqlite3_finalize(st);
	if (r != 0)
		return r;
	if ((r = srv_db_prepare(db, "INSERT INTO commands (device_id, name, args,"
	    " created_at) VALUES (?,?,?,?)", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, args, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, srv_db_now());
	r = srv_db_step_done(db, st);
	sqlite3_finalize(st);
	if (r == 0 && id != NULL)
		*id = sqlite3_last_insert_rowid(srv_db_handle(db));
	return r;
}

/* Takes the device's next counter (caller holds the transaction). */
static int
srv_cmd_next_counter(struct srv_db *db, const char *devid, uint64_t *ctr)
{
	sqlite3_stmt *st;
	int r;

	if ((r = srv_db_prepare(db, "UPDATE devices SET next_cmd_counter ="
	    " next_cmd_counter + 1 WHERE id = ? AND state = 'active'"
	    " RETURNING next_cmd_counter - 1", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*ctr = (uint64_t)sqlite3_column_int64(st, 0);
		r = MM_OK;
	} else
		r = MM_ERR_STATE;
	sqlite3_finalize(st);
	return r;
}

static int
srv_cmd_mark(struct srv_db *db, int64_t id, const char *status, uint64_t ctr,
    const char *result)
{
	sqlite3_stmt *st;
	int r;

	if ((r = srv_db_prepare(db, "UPDATE commands SET status = ?, counter = ?,"
	    " sent_at = ?, result = ? WHERE id = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)ctr);
	sqlite3_bind_int64(st, 3, srv_db_now());
	sqlite3_bind_text(st, 4, result, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, id);
	r = srv_db_step_done(db, st);
	sqlite3_finalize(st);
	return r;
}

/* Signs and sends one command; the caller holds the transaction. */
static int
srv_cmd_send(struct srv *s, int64_t id, const char *devid, const char *name,
    const char *args)
{
	char topic[MM_TOPIC_MAX];
	struct mm_cmd c;
	uint8_t *frame = NULL;
	size_t len;
	int r;

	memset(&c, 0, sizeof(c));
	snprintf(c.device_id, sizeof(c.device_id), "%s", devid);
	snprintf(c.name, sizeof(c.name), "%s", name);
	snprintf(c.args, sizeof(c.args), "%s", args);
	c.issued = (uint64_t)srv_db_now();
	c.expires = c.issued + (uint64_t)s->conf.cmd_ttl;
	if ((r = srv_cmd_next_counter(s->db, devid, &c.counter)) != 0)
		return srv_cmd_mark(s->db, id, "failed", 0, mm_strerror(r));
	if ((r = mm_cmd_sign(&c, s->cmd_sk, s->cmd_pk, &frame, &len)) != 0)
		return srv_cmd_mark(s->db, id, "failed", 0, mm_strerror(r));
	if ((r = mm_topic_build(topic, sizeof(topic), MM_DIR_DOWN, devid, "cmd")) != 0)
		goto out;
	if (mosquitto_publish(s->mq, NULL, topic, (int)len, frame, 1, false) !=
	    MOSQ_ERR_SUCCESS) {
		r = MM_ERR_NET;
		goto out;
	}
	s->stats.cmd_sent++;
	mm_log(MM_LOG_NOTICE, "command %lld %s sent to %s (counter %llu)",
	    (long long)id, name, devid, (unsigned long long)c.counter);
	r = srv_cmd_mark(s->db, id, "sent", c.counter, "");
 out:
	mm_free(frame);
	return r;
}

int
srv_cmd_dispatch(struct srv *s)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((r = srv_db_begin(s->db)) != 0)
		return r;
	if ((r = srv_db_prepare(s->db, "SELECT id, device_id, name, args FROM"
	    " commands WHERE status = 'pending' ORDER BY id LIMIT 500", &st)) != 0)
		goto out;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		char devid[MM_DEVID_SIZE], name[MM_CMD_NAME_MAX];
		char args[MM_CMD_ARGS_MAX + 1];
		snprintf(devid, sizeof(devid), "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(name, sizeof(name), "%s", (const char *)sqlite3_column_text(st, 2));
		snprintf(args, sizeof(args), "%s", (const char *)sqlite3_column_text(st, 3));
		r = srv_cmd_send(s, sqlite3_column_int64(st, 0), devid, name, args);
		if (r == MM_ERR_NET) {
			/* broker away: keep what was sent, retry the rest later
			 * (the consumed counter only leaves a harmless gap) */
			r = MM_OK;
			break;
		}
	}
	sqlite3_finalize(st);
	if (r == 0)
		r = srv_db_commit(s->db);
 out:
	if (r != 0)
		srv_db_rollback(s->db);
	return r;
}
