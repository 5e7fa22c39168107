/* srv_ingest.c - validation and handling of device messages. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "proto/mm_logmsg.h"
#include "proto/mm_msg.h"
#include "proto/mm_topic.h"
#include "server/srv_alert.h"
#include "server/srv_ingest.h"
#include "server/srv_prov.h"
#include "server/srv_seclog.h"

typedef int (*srv_handler_fn)(struct srv *, struct srv_dev *, json_t *);
/* A handler with its own decoder, given the payload as it came. */
typedef int (*srv_raw_fn)(struct srv *, struct srv_dev *, const void *,
    size_t);

static int srv_on_hello(struct srv *, struct srv_dev *, json_t *);
static int srv_on_heartbeat(struct srv *, struct srv_dev *, json_t *);
static int srv_on_cmd_result(struct srv *, struct srv_dev *, json_t *);
static int srv_on_csr(struct srv *, struct srv_dev *, json_t *);
static int srv_on_log(struct srv *, struct srv_dev *, const void *, size_t);

static const struct {
	const char *kind;
	enum mm_msg_type type;
	srv_handler_fn fn;
	srv_raw_fn raw;
} srv_handlers[] = {
	{ "hello", MM_MSG_HELLO, srv_on_hello, NULL },
	{ "heartbeat", MM_MSG_HEARTBEAT, srv_on_heartbeat, NULL },
	{ "cmd_result", MM_MSG_CMD_RESULT, srv_on_cmd_result, NULL },
	{ "csr", MM_MSG_CSR, srv_on_csr, NULL },
	{ "log", MM_MSG_LOG, NULL, srv_on_log },
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

/*
 * The local-authentication summary of hello and heartbeat (decision 0007).
 * Agents before it send none of these fields, so each is optional; when
 * present it is checked as strictly as any other field.
 */
#define SRV_AUTH_COUNT_LIMIT 1000000000	/* per heartbeat */
#define SRV_MAINT_MAX 4294967295LL	/* Unix seconds; 0 = off */
#define SRV_BRUTEFORCE_FAILS 20		/* wrong passwords per heartbeat */

struct srv_authsum {
	int has_cred, has_maint;
	enum srv_cred cred;
	int64_t maint;
	int64_t fails, refused, lockouts;
};

static int
srv_get_opt_int(json_t *o, const char *key, int64_t min, int64_t max,
    int *has, int64_t *out)
{
	int64_t v;
	int r;

	if (json_object_get(o, key) == NULL) {
		*has = 0;
		*out = 0;
		return MM_OK;
	}
	if ((r = mm_msg_get_int(o, key, min, max, &v)) != 0)
		return r;
	*has = 1;
	*out = v;
	return MM_OK;
}

/* counters: also read afail, aref and alock (heartbeat only). */
static int
srv_get_authsum(json_t *o, int counters, struct srv_authsum *out)
{
	struct srv_authsum a;
	const char *cred;
	int has, r;

	memset(&a, 0, sizeof(a));
	if ((r = mm_msg_get_opt_str(o, "cred", 16, &cred)) != 0)
		return r;
	if (cred != NULL) {
		if ((a.cred = srv_cred_parse(cred)) == SRV_CRED_UNKNOWN)
			return MM_ERR_FORMAT;
		a.has_cred = 1;
	}
	if ((r = srv_get_opt_int(o, "maint", 0, SRV_MAINT_MAX, &a.has_maint,
	    &a.maint)) != 0)
		return r;
	if (counters &&
	    ((r = srv_get_opt_int(o, "afail", 0, SRV_AUTH_COUNT_LIMIT, &has,
	    &a.fails)) != 0 ||
	    (r = srv_get_opt_int(o, "aref", 0, SRV_AUTH_COUNT_LIMIT, &has,
	    &a.refused)) != 0 ||
	    (r = srv_get_opt_int(o, "alock", 0, SRV_AUTH_COUNT_LIMIT, &has,
	    &a.lockouts)) != 0))
		return r;
	*out = a;
	return MM_OK;
}

/*
 * Alerts on what changed, then records the summary in the registry (written
 * in the next batch).  A heartbeat with zero counts and unchanged values
 * changes nothing.  A hello describes a (re)started agent: a field it lacks
 * is reset (an older agent knows no local accounts), and it repeats the
 * initial-credentials alert so a device still in that state after an
 * operator resolved the alert reappears.
 */
static void
srv_apply_authsum(struct srv *s, struct srv_dev *d, const struct srv_authsum *a,
    int hello)
{
	enum srv_cred cred = a->has_cred ? a->cred :
	    hello ? SRV_CRED_UNKNOWN : d->cred;
	int64_t maint = a->has_maint ? a->maint : hello ? 0 : d->maint_until;
	char detail[256];

	if (cred == SRV_CRED_INITIAL && (hello || d->cred != SRV_CRED_INITIAL))
		(void)srv_alert_raise(s->db, d->id, "initial_credentials",
		    SRV_SEV_WARNING, "KP15 KP4.b T1/L1 T7/L1",
		    "an administrator account still has its factory or reset "
		    "secret; log in on the device and change it");
	if (maint != 0 && d->maint_until == 0) {
		snprintf(detail, sizeof(detail), "maintenance mode switched on, "
		    "until %lld (Unix seconds, device clock); confirm it was "
		    "planned", (long long)maint);
		(void)srv_alert_raise(s->db, d->id, "maintenance_mode",
		    SRV_SEV_WARNING, "KP4.h T7/L4 KP13", detail);
	}
	if (a->lockouts > 0 || a->fails >= SRV_BRUTEFORCE_FAILS) {
		snprintf(detail, sizeof(detail), "local logins since the previous "
		    "heartbeat: %lld wrong passwords, %lld attempts refused by "
		    "the throttle, %lld sources locked out", (long long)a->fails,
		    (long long)a->refused, (long long)a->lockouts);
		(void)srv_alert_raise(s->db, d->id, "local_bruteforce",
		    a->lockouts > 0 ? SRV_SEV_CRITICAL : SRV_SEV_WARNING,
		    "KP4.c KP4.f T7/L2 T7/L3", detail);
	}
	srv_registry_auth(d, cred, maint, a->fails, a->refused, a->lockouts);
}

static int
srv_on_heartbeat(struct srv *s, struct srv_dev *d, json_t *o)
{
	struct srv_authsum a;
	const char *inst;
	int64_t seq;
	int r;

	if ((r = srv_get_instance(o, &inst)) != 0 ||
	    (r = mm_msg_get_int(o, "seq", 0, INT64_MAX, &seq)) != 0 ||
	    (r = srv_get_authsum(o, 1, &a)) != 0)
		return r;
	s->stats.heartbeats++;
	srv_track_instance(s, d, inst);
	srv_apply_authsum(s, d, &a, 0);
	return MM_OK;
}

static int
srv_on_hello(struct srv *s, struct srv_dev *d, json_t *o)
{
	const char *inst, *model, *serial, *fw, *boot;
	struct srv_authsum a;
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
	    (r = mm_msg_get_int(o, "ctr", 0, INT64_MAX - 1, &ctr)) != 0 ||
	    (r = srv_get_authsum(o, 0, &a)) != 0)
		return r;
	s->stats.hellos++;
	srv_track_instance(s, d, inst);
	srv_apply_authsum(s, d, &a, 1);
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
	mm_log(MM_LOG_INFO, "hello from %s: model=%s fw=%s boot=%s hb=%llds"
	    " cred=%s", d->id, model, fw, boot, (long long)hb,
	    d->cred != SRV_CRED_UNKNOWN ? srv_cred_name(d->cred) : "unknown");
	return MM_OK;
}

/* The answer to cred_reset: a sealed box (decision 0007), as lower-case hex
 * of an even length: at least one byte of secret, at most 512 characters. */
#define SRV_SEALED_HEX_MIN (2 * (MM_SEAL_OVERHEAD + 1))
#define SRV_SEALED_HEX_MAX 512

static int
srv_get_sealed(json_t *o, const char **out)
{
	const char *h;
	size_t i, n;
	int r;

	if ((r = mm_msg_get_opt_str(o, "sealed", SRV_SEALED_HEX_MAX, &h)) != 0)
		return r;
	if (h != NULL) {
		if ((n = strlen(h)) < SRV_SEALED_HEX_MIN || n % 2 != 0)
			return MM_ERR_RANGE;
		for (i = 0; i < n; i++)
			if (!((h[i] >= '0' && h[i] <= '9') ||
			    (h[i] >= 'a' && h[i] <= 'f')))
				return MM_ERR_FORMAT;
	}
	*out = h;
	return MM_OK;
}

/* A sealed result belongs only to a successful cred_reset of this device. */
static int
srv_check_sealed_cmd(struct srv *s, struct srv_dev *d, int64_t ctr,
    const char *status)
{
	sqlite3_stmt *st;
	int r;

	if (strcmp(status, "ok") != 0)
		return MM_ERR_FORMAT;
	if ((r = srv_db_prepare(s->db, "SELECT name FROM commands"
	    " WHERE device_id = ? AND counter = ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, d->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, ctr);
	if (sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "cred_reset") != 0)
		r = MM_ERR_FORMAT;
	sqlite3_finalize(st);
	return r;
}

static int
srv_on_cmd_result(struct srv *s, struct srv_dev *d, json_t *o)
{
	const char *status, *reason, *sealed;
	sqlite3_stmt *st;
	int64_t ctr;
	int r;

	if ((r = mm_msg_get_int(o, "ctr", 0, INT64_MAX, &ctr)) != 0 ||
	    (r = mm_msg_get_str(o, "status", 2, 16, &status)) != 0 ||
	    (r = mm_msg_get_opt_str(o, "reason", 200, &reason)) != 0 ||
	    (r = srv_get_sealed(o, &sealed)) != 0)
		return r;
	if (strcmp(status, "ok") != 0 && strcmp(status, "refused") != 0 &&
	    strcmp(status, "failed") != 0)
		return MM_ERR_FORMAT;
	if (sealed != NULL && (r = srv_check_sealed_cmd(s, d, ctr, status)) != 0)
		return r;
	s->stats.cmd_results++;
	if (strcmp(status, "refused") == 0) {
		char detail[256];
		snprintf(detail, sizeof(detail), "device refused a command "
		    "(counter %lld): %s", (long long)ctr, reason ? reason : "");
		(void)srv_alert_raise(s->db, d->id, "command_refused",
		    SRV_SEV_WARNING, "T11/L2", detail);
	}
	if ((r = srv_db_prepare(s->db, "UPDATE commands SET status = ?, result = ?,"
	    " result_at = ?, result_sealed = ? WHERE device_id = ? AND counter = ?",
	    &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, reason ? reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, srv_db_now());
	if (sealed != NULL)
		sqlite3_bind_text(st, 4, sealed, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_text(st, 5, d->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, ctr);
	r = srv_db_step_done(s->db, st);
	sqlite3_finalize(st);
	return r;
}

static int
srv_on_csr(struct srv *s, struct srv_dev *d, json_t *o)
{
	return srv_prov_rekey(s, d, o);
}

/* Tells the device how far the fleet holds its log (QoS 1, down/log_ack). */
static void
srv_log_ack(struct srv *s, struct srv_dev *d, const struct mm_logmsg_ack *a)
{
	char topic[MM_TOPIC_MAX], *text = NULL;
	size_t len;
	int r;

	if (s->mq == NULL)
		return;
	if ((r = mm_logmsg_ack_encode(a, &text, &len)) != 0 ||
	    (r = mm_topic_build(topic, sizeof(topic), MM_DIR_DOWN, d->id,
	    "log_ack")) != 0)
		mm_log(MM_LOG_ERR, "%s: log_ack: %s", d->id, mm_strerror(r));
	else if (mosquitto_publish(s->mq, NULL, topic, (int)len, text, 1,
	    false) != MOSQ_ERR_SUCCESS)
		mm_log(MM_LOG_WARN, "%s: log_ack not sent", d->id);
	else
		s->stats.log_acks++;
	mm_free(text);
}

/*
 * up/log: a batch of the device's sealed log (decision 0009), judged and
 * stored by srv_seclog_ingest.  Its refusals are counted and logged here;
 * a message that does not decode goes the common malformed path.
 */
static int
srv_on_log(struct srv *s, struct srv_dev *d, const void *payload, size_t len)
{
	uint8_t raw[MM_LOGMSG_RAW_MAX];
	struct srv_seclog_result res;
	struct mm_logmsg_batch b;
	int r;

	if ((r = mm_logmsg_decode(payload, len, &b, raw, sizeof(raw))) != 0) {
		s->stats.log_refused++;
		return r;
	}
	if ((r = srv_seclog_ingest(s->db, d->id, &b, &res)) != 0) {
		s->stats.log_refused++;
		mm_log(MM_LOG_ERR, "%s: log batch from seq %llu not judged: %s",
		    d->id, (unsigned long long)b.seq, mm_strerror(r));
		return MM_OK;	/* not the device's fault: it sends again */
	}
	switch (res.outcome) {
	case SRV_SECLOG_STORED:
		s->stats.log_batches++;
		s->stats.log_records += res.stored;
		s->stats.log_duplicates += res.duplicates;
		if (res.gap_from != 0)
			s->stats.log_gaps++;
		break;
	case SRV_SECLOG_DUPLICATE:
		s->stats.log_duplicates += res.duplicates;
		break;
	case SRV_SECLOG_RESEND:
		s->stats.log_resends++;
		srv_refuse_log(s, "%s: log: %s", d->id, res.what);
		break;
	default:
		s->stats.log_refused++;
		if (res.outcome == SRV_SECLOG_MALFORMED)
			s->stats.refused_malformed++;
		srv_refuse_log(s, "%s: log batch from seq %llu (%u records) "
		    "refused, %s: %s", d->id, (unsigned long long)b.seq,
		    (unsigned)b.n, srv_seclog_outcome_name(res.outcome),
		    res.what);
		break;
	}
	if (res.send_ack)
		srv_log_ack(s, d, &res.ack);
	return MM_OK;
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
	if (srv_handlers[i].raw != NULL)
		r = srv_handlers[i].raw(s, d, payload, len);
	else if ((r = mm_msg_decode(srv_handlers[i].type, payload, len,
	    &o)) == 0)
		r = srv_handlers[i].fn(s, d, o);
	if (r != 0) {
		s->stats.refused_malformed++;
		srv_refuse_log(s, "%s: bad %s message (%zu bytes): %s", t.id,
		    t.kind, len, mm_strerror(r));
	}
	json_decref(o);
}
