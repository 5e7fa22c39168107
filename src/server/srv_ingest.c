/* srv_ingest.c - validation and handling of device messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "proto/mm_msg.h"
#include "proto/mm_topic.h"
#include "server/srv_alert.h"
#include "server/srv_ingest.h"
#include "server/srv_prov.h"

typedef int (*srv_handler_fn)(struct srv *, struct srv_dev *, json_t *);

static int srv_on_hello(struct srv *, struct srv_dev *, json_t *);
static int srv_on_heartbeat(struct srv *, struct srv_dev *, json_t *);
static int srv_on_cmd_result(struct srv *, struct srv_dev *, json_t *);
static int srv_on_csr(struct srv *, struct srv_dev *, json_t *);

static const struct {
	const char *kind;
	enum mm_msg_type type;
	srv_handler_fn fn;
} srv_handlers[] = {
	{ "hello", MM_MSG_HELLO, srv_on_hello },
	{ "heartbeat", MM_MSG_HEARTBEAT, srv_on_heartbeat },
	{ "cmd_result", MM_MSG_CMD_RESULT, srv_on_cmd_result },
	{ "csr", MM_MSG_CSR, srv_on_csr },
};

void
srv_refuse_log(struct srv *s, const char *fmt, ...)
{
	char line[512];
	int64_t now = srv_db_now();
	va_list ap;

	if (now != s->log_window_start) {
		if (s->log_window_lines > 20)
			mm_log(MM_LOG_WARN, "refused: %u more lines suppressed",
			    s->log_window_lines - 20);
		s->log_window_start = now;
		s->log_window_lines = 0;
	}
	if (++s->log_window_lines > 20)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	mm_log(MM_LOG_WARN, "refused: %s", line);
}

/* The instance id every device message carries (clone detection). */
static int
srv_get_instance(json_t *o, const char **inst)
{
	const char *s;
	size_t i;
	int r;

	if ((r = mm_msg_get_str(o, "inst", SRV_INSTANCE_LEN, SRV_INSTANCE_LEN, &s)) != 0)
		return r;
	for (i = 0; i < SRV_INSTANCE_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return MM_ERR_FORMAT;
	*inst = s;
	return MM_OK;
}

static void
srv_track_instance(struct srv *s, struct srv_dev *d, const char *inst)
{
	char detail[160];

	if (!srv_registry_seen(d, inst, srv_db_now(), s->conf.clone_window))
		return;
	s->stats.clone_alerts++;
	snprintf(detail, sizeof(detail), "identity in use by two instances "
	    "(%s and %s alternate); possible cloned device key", d->inst,
	    d->prev_inst);
	(void)srv_alert_raise(s->db, d->id, "clone_suspected", SRV_SEV_CRITICAL,
	    "T7/L2 T7/L4 KP16", detail);
}

static int
srv_on_heartbeat(struct srv *s, struct srv_dev *d, json_t *o)
{
	const char *inst;
	int64_t seq;
	int r;

	if ((r = srv_get_instance(o, &inst)) != 0 ||
	    (r = mm_msg_get_int(o, "seq", 0, INT64_MAX, &seq)) != 0)
		return r;
	s->stats.heartbeats++;
	srv_track_instance(s, d, inst);
	return MM_OK;
}

static int
srv_on_hello(struct srv *s, struct srv_dev *d, json_t *o)
{
	const char *inst, *model, *serial, *fw, *boot;
	int64_t hb, ctr;
	sqlite3_stmt *st;
	char detail[200];
	int r;

	if ((r = srv_get_instance(o, &inst)) != 0 ||
	    (r = mm_msg_get_str(o, "model", 1, 64, &model)) != 0 ||
	    (r = mm_msg_get_str(o, "serial", 1, 64, &serial)) != 0 ||
	    (r = mm_msg_get_str(o, "fw", 1, 64, &fw)) != 0 ||
	    (r = mm_msg_get_str(o, "boot_id", 1, 64, &boot)) != 0 ||
	    (r = mm_msg_get_int(o, "hb", 1, 86400, &hb)) != 0 ||
	    (r = mm_msg_get_int(o, "ctr", 0, INT64_MAX - 1, &ctr)) != 0)
		return r;
	s->stats.hellos++;
	srv_track_instance(s, d, inst);
	if ((r = srv_db_prepare(s->db, "UPDATE devices SET fw_version = ?,"
	    " boot_id = ?, instance = ?, heartbeat_interval = ?, last_seen = ?,"
	    " next_cmd_counter = max(next_cmd_counter, ? + 1)"
	    " WHERE id = ? RETURNING serial", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, fw, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, boot, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, inst, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, hb);
	sqlite3_bind_int64(st, 5, srv_db_now());
	sqlite3_bind_int64(st, 6, ctr);
	sqlite3_bind_text(st, 7, d->id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(st, 0), serial) != 0) {
		snprintf(detail, sizeof(detail), "hello reports serial \"%s\", "
		    "registered serial differs", serial);
		(void)srv_alert_raise(s->db, d->id, "serial_mismatch",
		    SRV_SEV_WARNING, "T7/L2 KP16", detail);
	}
	sqlite3_finalize(st);
	mm_log(MM_LOG_INFO, "hello from %s: model=%s fw=%s boot=%s hb=%llds",
	    d->id, model, fw, boot, (long long)hb);
	return MM_OK;
}

static int
srv_on_cmd_result(struct srv *s, struct srv_dev *d, json_t *o)
{
	const char *status, *reason;
	sqlite3_stmt *st;
	int64_t ctr;
	int r;

	if ((r = mm_msg_get_int(o, "ctr", 0, INT64_MAX, &ctr)) != 0 ||
	    (r = mm_msg_get_str(o, "status", 2, 16, &status)) != 0 ||
	    (r = mm_msg_get_opt_str(o, "reason", 200, &reason)) != 0)
		return r;
	if (strcmp(status, "ok") != 0 && strcmp(status, "refused") != 0 &&
	    strcmp(status, "failed") != 0)
		return MM_ERR_FORMAT;
	s->stats.cmd_results++;
	if (strcmp(status, "refused") == 0) {
		char detail[256];
		snprintf(detail, sizeof(detail), "device refused a command "
		    "(counter %lld): %s", (long long)ctr, reason ? reason : "");
		(void)srv_alert_raise(s->db, d->id, "command_refused",
		    SRV_SEV_WARNING, "T11/L2", detail);
	}
	if ((r = srv_db_prepare(s->db, "UPDATE commands SET status = ?, result = ?,"
	    " result_at = ? WHERE device_id = ? AND counter = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, reason ? reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, srv_db_now());
	sqlite3_bind_text(st, 4, d->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, ctr);
	r = srv_db_step_done(s->db, st);
	sqlite3_finalize(st);
	return r;
}

static int
srv_on_csr(struct srv *s, struct srv_dev *d, json_t *o)
{
	return srv_prov_rekey(s, d, o);
}

/* Finds the device a message claims to be from; refuses strangers. */
static struct srv_dev *
srv_ingest_device(struct srv *s, const struct mm_topic *t)
{
	struct srv_dev *d = srv_registry_get(s->reg, t->id);

	if (d == NULL) {
		s->stats.refused_unknown_device++;
		srv_refuse_log(s, "message from unknown device %s", t->id);
		return NULL;
	}
	if (d->state == SRV_DEV_REVOKED) {
		s->stats.refused_revoked++;
		if (!d->revoked_alerted) {
			d->revoked_alerted = 1;
			(void)srv_alert_raise(s->db, d->id, "revoked_device_active",
			    SRV_SEV_CRITICAL, "KP16 T7/L2",
			    "message received from a revoked identity");
		}
		return NULL;
	}
	return d;
}

void
srv_ingest_message(struct srv *s, const char *topic, const void *payload,
    size_t len)
{
	struct mm_topic t;
	struct srv_dev *d;
	json_t *o = NULL;
	size_t i;
	int r;

	s->stats.messages++;
	if (mm_topic_parse(topic, &t) != 0 || t.dir != MM_DIR_UP) {
		s->stats.refused_topic++;
		srv_refuse_log(s, "message on unexpected topic");
		return;
	}
	for (i = 0; i < sizeof(srv_handlers) / sizeof(srv_handlers[0]); i++)
		if (strcmp(srv_handlers[i].kind, t.kind) == 0)
			break;
	if (i == sizeof(srv_handlers) / sizeof(srv_handlers[0])) {
		s->stats.refused_unknown_kind++;
		srv_refuse_log(s, "%s: unknown message kind \"%s\"", t.id, t.kind);
		return;
	}
	if ((d = srv_ingest_device(s, &t)) == NULL)
		return;
	if ((r = mm_msg_decode(srv_handlers[i].type, payload, len, &o)) != 0 ||
	    (r = srv_handlers[i].fn(s, d, o)) != 0) {
		s->stats.refused_malformed++;
		srv_refuse_log(s, "%s: bad %s message (%zu bytes): %s", t.id,
		    t.kind, len, mm_strerror(r));
	}
	json_decref(o);
}
