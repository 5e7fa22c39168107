/* agent_net.c - network worker. */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "agent/agent_ipc.h"
#include "agent/agent_net.h"
#include "agent/agent_priv.h"
#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "common/mm_time.h"
#include "device/mm_seclog.h"
#include "proto/mm_cmd.h"
#include "proto/mm_logmsg.h"
#include "proto/mm_msg.h"
#include "proto/mm_topic.h"

#define AGENT_ENROL_TIMEOUT 30
#define AGENT_KEEPALIVE 60
#define AGENT_RECONNECT_MAX 300
#define AGENT_AUTH_POLL 3		/* seconds */

struct agent_net {
	const struct agent_conf *conf;
	struct agent_boot *boot;
	struct mosquitto *mq;
	int ipcfd;
	int connected;
	int exit_code;			/* set when the worker should end */
	uint64_t hb_seq;
	time_t next_hb;
	time_t next_auth;		/* next look at the auth summary */
	time_t started;
	time_t rekey_sent;		/* 0: no re-key in progress */
	char provid[MM_PROVID_SIZE];	/* enrolment only */
	int enrol_done;
	/* local administration, as the monitor last reported it */
	int cred;			/* AGENT_CRED_* */
	uint64_t maint_until;
	uint32_t afail, aref, alock;	/* not yet sent */
	char sealed[2 * (MM_AUTH_SECRET_LEN + MM_SEAL_OVERHEAD) + 1];
	/* forwarding the sealed log (decision 0009): one batch in flight */
	uint64_t log_from;		/* next batch from; 0: after the ack */
	uint64_t log_end;		/* last seq in flight; 0: none */
	int64_t log_sent_ms;
	int64_t log_next_ms;		/* do not ask before */
	unsigned log_fail;		/* batches not taken, in a row */
};

enum { AGENT_CRED_UNKNOWN = -1, AGENT_CRED_NONE = 0, AGENT_CRED_SET = 1,
    AGENT_CRED_INITIAL = 2 };

static const char *
agent_cred_name(int cred)
{
	return cred == AGENT_CRED_INITIAL ? "initial" : cred == AGENT_CRED_SET ?
	    "set" : "none";
}

static volatile sig_atomic_t agent_net_stop;

static void
agent_net_on_signal(int sig)
{
	(void)sig;
	agent_net_stop = 1;
}

static int
agent_net_publish(struct agent_net *n, enum mm_topic_dir dir, const char *id,
    const char *kind, const char *text, size_t len, int qos)
{
	char topic[MM_TOPIC_MAX];
	int r;

	if ((r = mm_topic_build(topic, sizeof(topic), dir, id, kind)) != 0)
		return r;
	return mosquitto_publish(n->mq, NULL, topic, (int)len, text, qos, false) ==
	    MOSQ_ERR_SUCCESS ? MM_OK : MM_ERR_NET;
}

/* Encodes and publishes a JSON message on our up topic. */
static int
agent_net_send(struct agent_net *n, enum mm_msg_type t, json_t *o)
{
	char *text = NULL;
	size_t len;
	int r;

	if (o == NULL)
		return MM_ERR_ALLOC;
	if ((r = mm_msg_encode(t, o, &text, &len)) == 0)
		r = agent_net_publish(n, MM_DIR_UP, n->boot->device_id, mm_msg_name(t),
		    text, len, 1);
	mm_free(text);
	json_decref(o);
	return r;
}

static uint32_t
agent_net_add_capped(uint32_t a, uint32_t b)
{
	uint64_t s = (uint64_t)a + b;

	return s > 1000000000u ? 1000000000u : (uint32_t)s;
}

/* Tells the monitor an event for the sealed log (best effort: the monitor
 * may refuse under its rate limit, and the worker carries on). */
static void agent_net_event(struct agent_net *n, enum mm_seclog_type type,
    int severity, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
agent_net_event(struct agent_net *n, enum mm_seclog_type type, int severity,
    const char *fmt, ...)
{
	struct mm_buf *req = agent_ipc_new(AGENT_IPC_EVENT);
	char text[512];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (len < 0)
		len = 0;
	if ((size_t)len >= sizeof(text))
		len = (int)sizeof(text) - 1;
	if (req != NULL && mm_buf_put_u16(req, (uint16_t)type) == 0 &&
	    mm_buf_put_u8(req, (uint8_t)severity) == 0 &&
	    mm_buf_put_str16(req, text, (size_t)len) == 0)
		(void)agent_ipc_call(n->ipcfd, req, NULL);
	mm_buf_free(req);
}

/* Asks the monitor for the local-administration summary (operate mode). */
static int
agent_net_authstat(struct agent_net *n)
{
	struct mm_buf *req = agent_ipc_new(AGENT_IPC_AUTHSTAT), *reply = NULL;
	uint32_t fail, ref, lock, hb;
	uint64_t maint;
	uint8_t cred;
	int r;

	if (req == NULL)
		return MM_ERR_ALLOC;
	if ((r = agent_ipc_call(n->ipcfd, req, &reply)) == 0) {
		if (mm_buf_get_u8(reply, &cred) != 0 || cred > AGENT_CRED_INITIAL ||
		    mm_buf_get_u32(reply, &fail) != 0 ||
		    mm_buf_get_u32(reply, &ref) != 0 ||
		    mm_buf_get_u32(reply, &lock) != 0 ||
		    mm_buf_get_u64(reply, &maint) != 0 ||
		    mm_buf_get_u32(reply, &hb) != 0 || mm_buf_expect_end(reply) != 0)
			mm_fatal("monitor sent a malformed auth summary");
		n->cred = cred;
		n->maint_until = maint;
		/* the protocol caps each count at 10^9 per heartbeat */
		n->afail = agent_net_add_capped(n->afail, fail);
		n->aref = agent_net_add_capped(n->aref, ref);
		n->alock = agent_net_add_capped(n->alock, lock);
		/* a local administrator may have changed the interval */
		if (hb <= AGENT_HB_MAX)
			n->boot->state.heartbeat_interval = (int)hb;
	}
	mm_buf_free(req);
	mm_buf_free(reply);
	return r;
}

static void
agent_net_hello(struct agent_net *n)
{
	json_t *o = mm_msg_new(MM_MSG_HELLO);

	if (o == NULL)
		return;
	json_object_set_new(o, "inst", json_string(n->boot->instance));
	json_object_set_new(o, "model", json_string(n->conf->model));
	json_object_set_new(o, "serial", json_string(n->conf->serial));
	json_object_set_new(o, "fw", json_string(n->conf->fw_version));
	json_object_set_new(o, "boot_id", json_string(n->boot->boot_id));
	json_object_set_new(o, "hb", json_integer(agent_heartbeat(n->conf,
	    &n->boot->state)));
	/* lets a server restored from backup resume above our counter */
	json_object_set_new(o, "ctr", json_integer(
	    (json_int_t)n->boot->state.cmd_counter));
	/* KP15: the fleet learns whether the initial password is still set */
	if (agent_net_authstat(n) == 0) {
		json_object_set_new(o, "cred", json_string(agent_cred_name(n->cred)));
		json_object_set_new(o, "maint", json_integer((json_int_t)n->maint_until));
	}
	if (agent_net_send(n, MM_MSG_HELLO, o) != 0)
		mm_log(MM_LOG_WARN, "could not send hello");
}

static void
agent_net_heartbeat(struct agent_net *n, time_t now)
{
	char text[384];
	int len;

	if (agent_net_authstat(n) == 0)
		len = snprintf(text, sizeof(text), "{\"v\":1,\"type\":\"heartbeat\","
		    "\"seq\":%llu,\"inst\":\"%s\",\"up\":%lld,\"cred\":\"%s\","
		    "\"maint\":%llu,\"afail\":%u,\"aref\":%u,\"alock\":%u}",
		    (unsigned long long)++n->hb_seq, n->boot->instance,
		    (long long)(now - n->started), agent_cred_name(n->cred),
		    (unsigned long long)n->maint_until, n->afail, n->aref, n->alock);
	else
		len = snprintf(text, sizeof(text), "{\"v\":1,\"type\":\"heartbeat\","
		    "\"seq\":%llu,\"inst\":\"%s\",\"up\":%lld}",
		    (unsigned long long)++n->hb_seq, n->boot->instance,
		    (long long)(now - n->started));
	if (len > 0 && (size_t)len < sizeof(text) &&
	    agent_net_publish(n, MM_DIR_UP, n->boot->device_id, "heartbeat",
	    text, (size_t)len, 0) == 0)
		n->afail = n->aref = n->alock = 0;
	n->next_hb = now + agent_heartbeat(n->conf, &n->boot->state);
}

static void
agent_net_result(struct agent_net *n, uint64_t ctr, const char *cmd,
    const char *status, const char *reason)
{
	json_t *o = mm_msg_new(MM_MSG_CMD_RESULT);

	if (o == NULL)
		return;
	json_object_set_new(o, "ctr", json_integer((json_int_t)ctr));
	json_object_set_new(o, "cmd", json_string(cmd));
	json_object_set_new(o, "status", json_string(status));
	if (reason != NULL)
		json_object_set_new(o, "reason", json_string(reason));
	if (n->sealed[0] != '\0')
		json_object_set_new(o, "sealed", json_string(n->sealed));
	n->sealed[0] = '\0';
	(void)agent_net_send(n, MM_MSG_CMD_RESULT, o);
}

static int
agent_net_save_state(struct agent_net *n, uint64_t ctr, int hb)
{
	struct mm_buf *req = agent_ipc_new(AGENT_IPC_STATE);
	int r;

	if (req == NULL || mm_buf_put_u64(req, ctr) != 0 ||
	    mm_buf_put_u32(req, (uint32_t)hb) != 0) {
		mm_buf_free(req);
		return MM_ERR_ALLOC;
	}
	r = agent_ipc_call(n->ipcfd, req, NULL);
	mm_buf_free(req);
	if (r == 0) {
		n->boot->state.cmd_counter = ctr;
		n->boot->state.heartbeat_interval = hb;
	}
	return r;
}

/* Asks the monitor for a new key and CSR; *pem is new (mm_free). */
static int
agent_net_get_csr(struct agent_net *n, char **pem)
{
	struct mm_buf *req = agent_ipc_new(AGENT_IPC_CSR), *reply = NULL;
	const uint8_t *p;
	size_t len;
	int r;

	if (req == NULL)
		return MM_ERR_ALLOC;
	if ((r = agent_ipc_call(n->ipcfd, req, &reply)) == 0) {
		if (mm_buf_get_str16_ptr(reply, &p, &len) != 0)
			r = MM_ERR_FORMAT;
		else if ((*pem = mm_strndup((const char *)p, len)) == NULL)
			r = MM_ERR_ALLOC;
	}
	mm_buf_free(req);
	mm_buf_free(reply);
	return r;
}

static int
agent_net_install(struct agent_net *n, const char *pem)
{
	struct mm_buf *req = agent_ipc_new(AGENT_IPC_INSTALL);
	int r;

	if (req == NULL || mm_buf_put_str16(req, pem, strlen(pem)) != 0) {
		mm_buf_free(req);
		return MM_ERR_TOO_LARGE;
	}
	r = agent_ipc_call(n->ipcfd, req, NULL);
	mm_buf_free(req);
	return r;
}

static int
agent_net_rekey(struct agent_net *n)
{
	char *csr = NULL;
	json_t *o;
	int r;

	if ((r = agent_net_get_csr(n, &csr)) != 0)
		return r;
	if ((o = mm_msg_new(MM_MSG_CSR)) != NULL)
		json_object_set_new(o, "csr", json_string(csr));
	mm_free(csr);
	if ((r = agent_net_send(n, MM_MSG_CSR, o)) == 0) {
		n->rekey_sent = time(NULL);
		mm_log(MM_LOG_NOTICE, "re-key: new key generated, CSR sent");
	}
	return r;
}

static int
agent_net_maint(struct agent_net *n, const json_t *args)
{
	struct mm_buf *req;
	int64_t minutes;
	int r;

	if ((r = mm_msg_get_int(args, "minutes", 0, MM_AUTH_MAINT_MAX_MIN,
	    &minutes)) != 0)
		return r;
	if ((req = agent_ipc_new(AGENT_IPC_MAINT)) == NULL ||
	    mm_buf_put_u32(req, (uint32_t)minutes) != 0) {
		mm_buf_free(req);
		return MM_ERR_ALLOC;
	}
	r = agent_ipc_call(n->ipcfd, req, NULL);
	mm_buf_free(req);
	if (r == 0)
		(void)agent_net_authstat(n);
	return r;
}

/* Pairing-like credential reset: the new one-time secret goes back sealed
 * to the operator's key, so neither broker nor server can read it. */
static int
agent_net_credreset(struct agent_net *n, const json_t *args)
{
	struct mm_buf *req = NULL, *reply = NULL;
	uint8_t pk[MM_BOX_PK_LEN];
	const char *user, *pub;
	const uint8_t *p;
	size_t len;
	int r;

	if ((r = mm_msg_get_str(args, "user", 1, MM_USER_MAX, &user)) != 0 ||
	    (r = mm_msg_get_str(args, "pub", 2 * MM_BOX_PK_LEN, 2 * MM_BOX_PK_LEN,
	    &pub)) != 0 || (r = mm_hex_decode(pk, sizeof(pk), pub)) != 0)
		return r;
	if ((req = agent_ipc_new(AGENT_IPC_CREDRESET)) == NULL ||
	    mm_buf_put_str8(req, user, strlen(user)) != 0 ||
	    mm_buf_put(req, pk, sizeof(pk)) != 0) {
		r = MM_ERR_ALLOC;
		goto out;
	}
	if ((r = agent_ipc_call(n->ipcfd, req, &reply)) != 0)
		goto out;
	if (mm_buf_get_str16_ptr(reply, &p, &len) != 0 ||
	    mm_buf_expect_end(reply) != 0 || 2 * len + 1 > sizeof(n->sealed))
		mm_fatal("monitor sent a malformed credential-reset reply");
	mm_hex_encode(n->sealed, p, len);
	(void)agent_net_authstat(n);
 out:
	mm_buf_free(req);
	mm_buf_free(reply);
	return r;
}

/* Every few seconds: a changed password, a lockout or a maintenance
 * window reaches the fleet at once, not with the next heartbeat. */
static void
agent_net_auth_poll(struct agent_net *n, time_t now)
{
	int cred = n->cred;
	uint64_t maint = n->maint_until;

	if (now < n->next_auth)
		return;
	n->next_auth = now + AGENT_AUTH_POLL;
	if (agent_net_authstat(n) != 0)
		return;
	if (n->cred != cred || n->maint_until != maint || n->alock > 0 ||
	    n->afail >= 20)
		n->next_hb = now;
}

/* Commands that administer the device stay off while the initial
 * password is unchanged (KP15); identity upkeep and the credential
 * reset itself still work. */
static int
agent_net_admin_cmd(const char *name)
{
	return strcmp(name, "set_heartbeat") == 0 ||
	    strcmp(name, "maintenance") == 0;
}

/* Runs an authenticated command; returns the status for cmd_result. */
static const char *
agent_net_execute(struct agent_net *n, const struct mm_cmd *cmd,
    const char **reason)
{
	json_t *args;
	int64_t secs;
	int r;

	*reason = NULL;
	if (strcmp(cmd->name, "ping") == 0)
		return "ok";
	if (agent_net_admin_cmd(cmd->name))
		(void)agent_net_authstat(n);	/* the password may just have changed */
	if (agent_net_admin_cmd(cmd->name) && n->cred == AGENT_CRED_INITIAL) {
		*reason = "initial credentials unchanged: remote administration is off";
		return "refused";
	}
	if (strcmp(cmd->name, "maintenance") == 0 ||
	    strcmp(cmd->name, "cred_reset") == 0) {
		args = json_loads(cmd->args, JSON_REJECT_DUPLICATES, NULL);
		r = args == NULL || !json_is_object(args) ? MM_ERR_FORMAT :
		    cmd->name[0] == 'm' ? agent_net_maint(n, args) :
		    agent_net_credreset(n, args);
		json_decref(args);
		if (r != 0)
			*reason = mm_strerror(r);
		return r == 0 ? "ok" : "failed";
	}
	if (strcmp(cmd->name, "rekey") == 0) {
		if ((r = agent_net_rekey(n)) != 0)
			*reason = mm_strerror(r);
		return r == 0 ? "ok" : "failed";
	}
	if (strcmp(cmd->name, "set_heartbeat") == 0) {
		args = json_loads(cmd->args, JSON_REJECT_DUPLICATES, NULL);
		r = args == NULL ? MM_ERR_FORMAT :
		    mm_msg_get_int(args, "seconds", AGENT_HB_MIN, AGENT_HB_MAX, &secs);
		json_decref(args);
		if (r == 0 && (r = agent_net_save_state(n, cmd->counter, (int)secs)) == 0) {
			n->next_hb = time(NULL) + secs;
			mm_log(MM_LOG_NOTICE, "heartbeat interval set to %llds",
			    (long long)secs);
		}
		if (r != 0)
			*reason = mm_strerror(r);
		return r == 0 ? "ok" : "failed";
	}
	*reason = "unknown command";
	return "failed";
}

static void
agent_net_on_cmd(struct agent_net *n, const void *payload, size_t len)
{
	const char *status, *reason;
	struct mm_cmd cmd;
	int r;

	r = mm_cmd_verify(payload, len, n->boot->cmd_pk, n->boot->device_id,
	    n->boot->state.cmd_counter, (uint64_t)time(NULL), &cmd);
	if (r != 0) {
		mm_log(MM_LOG_WARN, "refused command (%zu bytes): %s", len,
		    mm_strerror(r));
		/* a forged, replayed or misdirected command is an attack on the
		 * control path (T11) */
		agent_net_event(n, MM_SLT_ATTACK, 4, "{\"event\":\"command refused\","
		    "\"bytes\":%zu,\"reason\":\"%s\"}", len, mm_strerror(r));
		agent_net_result(n, 0, "?", "refused", mm_strerror(r));
		return;
	}
	/* remember the counter before acting, so a crash cannot reopen it */
	if ((r = agent_net_save_state(n, cmd.counter,
	    n->boot->state.heartbeat_interval)) != 0) {
		mm_log(MM_LOG_ERR, "cannot record command counter: %s", mm_strerror(r));
		agent_net_result(n, cmd.counter, cmd.name, "failed", mm_strerror(r));
		return;
	}
	mm_log(MM_LOG_NOTICE, "command %s accepted (counter %llu)", cmd.name,
	    (unsigned long long)cmd.counter);
	status = agent_net_execute(n, &cmd, &reason);
	agent_net_event(n, MM_SLT_RESULT, 5, "{\"event\":\"command\",\"name\":"
	    "\"%s\",\"counter\":%llu,\"status\":\"%s\",\"reason\":\"%s\"}",
	    cmd.name, (unsigned long long)cmd.counter, status,
	    reason != NULL ? reason : "");
	agent_net_result(n, cmd.counter, cmd.name, status, reason);
}

static void
agent_net_on_cert(struct agent_net *n, const void *payload, size_t len)
{
	const char *pem;
	json_t *o = NULL;
	int r;

	if (n->rekey_sent == 0) {
		mm_log(MM_LOG_WARN, "refused unsolicited certificate");
		return;
	}
	if ((r = mm_msg_decode(MM_MSG_CERT, payload, len, &o)) != 0 ||
	    (r = mm_msg_get_pem(o, "cert", mm_msg_max(MM_MSG_CERT), &pem)) != 0 ||
	    (r = agent_net_install(n, pem)) != 0) {
		mm_log(MM_LOG_WARN, "refused certificate: %s", mm_strerror(r));
		json_decref(o);
		return;
	}
	json_decref(o);
	mm_log(MM_LOG_NOTICE, "re-key complete; reconnecting with the new identity");
	agent_net_event(n, MM_SLT_CONFIG, 5, "{\"event\":\"re-key complete\"}");
	n->exit_code = AGENT_EXIT_RESTART;
}

/* ---- forwarding the sealed log (decision 0009) ---- */

#define AGENT_LOG_POLL_MS 1000		/* look for new records */
#define AGENT_LOG_ACK_MS 10000		/* no ack by then: send again */
#define AGENT_LOG_BACKOFF_MAX_MS 300000

static int64_t
agent_net_log_backoff(unsigned fail)
{
	return mm_backoff_ms(fail > 0 ? fail - 1 : 0, 1000, 1000,
	    AGENT_LOG_BACKOFF_MAX_MS);
}

/* The monitor's LOG_BATCH reply (agent_ipc.h) as a batch; b->raw points
 * into reply. */
static int
agent_net_log_reply(struct mm_buf *reply, struct mm_logmsg_batch *b)
{
	const uint8_t *p;
	uint32_t n;

	memset(b, 0, sizeof(*b));
	if (mm_buf_get_ptr(reply, MM_LOGMSG_ID_LEN, &p) != 0)
		return MM_ERR_FORMAT;
	memcpy(b->log_id, p, MM_LOGMSG_ID_LEN);
	if (mm_buf_get_u64(reply, &b->seq) != 0 ||
	    mm_buf_get_u32(reply, &n) != 0 ||
	    mm_buf_get_u64(reply, &b->lost_from) != 0 ||
	    mm_buf_get_ptr(reply, MM_LOGMSG_TAG_LEN, &p) != 0)
		return MM_ERR_FORMAT;
	memcpy(b->prev, p, MM_LOGMSG_TAG_LEN);
	b->n = n;
	if (mm_buf_get_str16_ptr(reply, &b->raw, &b->raw_len) != 0 ||
	    mm_buf_expect_end(reply) != 0)
		return MM_ERR_FORMAT;
	return MM_OK;
}

/* Asks the monitor for the next batch and publishes it. */
static void
agent_net_log_pump(struct agent_net *n)
{
	struct mm_buf *req = NULL, *reply = NULL;
	struct mm_logmsg_batch b;
	int64_t now = mm_now_ms();
	char *text = NULL;
	size_t len;
	int r;

	if (now < n->log_next_ms)
		return;
	if (n->log_sent_ms != 0) {
		if (now - n->log_sent_ms < AGENT_LOG_ACK_MS)
			return;
		/* no acknowledgement: from the last one again, later and
		 * less often while the fleet stays silent */
		n->log_from = n->log_end = 0;
		n->log_sent_ms = 0;
		n->log_fail++;
		n->log_next_ms = now + agent_net_log_backoff(n->log_fail);
		return;
	}
	if ((req = agent_ipc_new(AGENT_IPC_LOG_BATCH)) == NULL ||
	    mm_buf_put_u64(req, n->log_from) != 0) {
		mm_buf_free(req);
		return;
	}
	r = agent_ipc_call(n->ipcfd, req, &reply);
	mm_buf_free(req);
	if (r != 0) {
		/* nothing new (or no log): look again later */
		n->log_next_ms = now + (r == MM_ERR_NOT_FOUND ?
		    AGENT_LOG_POLL_MS : 60000);
		return;
	}
	if (agent_net_log_reply(reply, &b) != 0) {
		mm_log(MM_LOG_ERR, "malformed log batch from the monitor");
		n->log_next_ms = now + 60000;
	} else if ((r = mm_logmsg_encode(&b, &text, &len)) != 0 ||
	    (r = agent_net_publish(n, MM_DIR_UP, n->boot->device_id, "log",
	    text, len, 1)) != 0) {
		mm_log(MM_LOG_WARN, "log batch not sent: %s", mm_strerror(r));
		n->log_next_ms = now + AGENT_LOG_POLL_MS;
	} else {
		n->log_end = b.seq + b.n - 1;
		n->log_sent_ms = now;
	}
	mm_free(text);
	mm_buf_free(reply);
}

/* down/log_ack: the fleet holds everything up to seq. */
static void
agent_net_on_log_ack(struct agent_net *n, const void *payload, size_t len)
{
	struct mm_logmsg_ack a;
	struct mm_buf *req = NULL;
	int64_t now = mm_now_ms();
	int r;

	if ((r = mm_logmsg_ack_decode(payload, len, &a)) != 0) {
		mm_log(MM_LOG_WARN, "malformed log acknowledgement refused: %s",
		    mm_strerror(r));
		return;
	}
	if ((req = agent_ipc_new(AGENT_IPC_LOG_ACK)) == NULL ||
	    mm_buf_put(req, a.log_id, sizeof(a.log_id)) != 0 ||
	    mm_buf_put_u64(req, a.seq) != 0 ||
	    mm_buf_put_u64(req, a.time_ms) != 0) {
		mm_buf_free(req);
		return;
	}
	r = agent_ipc_call(n->ipcfd, req, NULL);
	mm_buf_free(req);
	if (r != 0) {
		mm_log(MM_LOG_WARN, "log acknowledgement for seq %llu refused: %s",
		    (unsigned long long)a.seq, mm_strerror(r));
		return;
	}
	if (n->log_end == 0)
		return;		/* a late one: the pump decides */
	n->log_from = a.seq + 1;
	n->log_sent_ms = 0;
	if (a.seq >= n->log_end) {
		n->log_fail = 0;
		n->log_next_ms = now;	/* the next batch at once */
	} else {
		/* the fleet did not take it all: it wants records again, or
		 * refused them; do not send in a tight loop */
		n->log_fail++;
		n->log_next_ms = now + agent_net_log_backoff(n->log_fail);
	}
	n->log_end = 0;
}

static void
agent_net_on_message(struct mosquitto *mq, void *arg,
    const struct mosquitto_message *m)
{
	struct agent_net *n = arg;
	struct mm_topic t;

	(void)mq;
	if (mm_topic_parse(m->topic, &t) != 0) {
		mm_log(MM_LOG_WARN, "message on unexpected topic refused");
		return;
	}
	if (t.dir == MM_DIR_DOWN && strcmp(t.id, n->boot->device_id) == 0) {
		if (strcmp(t.kind, "cmd") == 0)
			agent_net_on_cmd(n, m->payload, (size_t)m->payloadlen);
		else if (strcmp(t.kind, "cert") == 0)
			agent_net_on_cert(n, m->payload, (size_t)m->payloadlen);
		else if (strcmp(t.kind, "log_ack") == 0)
			agent_net_on_log_ack(n, m->payload, (size_t)m->payloadlen);
		else
			mm_log(MM_LOG_WARN, "unknown down message \"%s\" refused", t.kind);
		return;
	}
	if (t.dir == MM_DIR_PROV_RESP && strcmp(t.id, n->provid) == 0) {
		const char *status, *reason = NULL, *cert;
		json_t *o = NULL;
		int r;

		n->enrol_done = 1;
		if ((r = mm_msg_decode(MM_MSG_ENROLL_RESULT, m->payload,
		    (size_t)m->payloadlen, &o)) != 0 ||
		    (r = mm_msg_get_str(o, "status", 1, 16, &status)) != 0 ||
		    (r = mm_msg_get_opt_str(o, "reason", 200, &reason)) != 0) {
			mm_log(MM_LOG_WARN, "malformed enrolment answer: %s", mm_strerror(r));
			n->exit_code = AGENT_EXIT_FAIL;
		} else if (strcmp(status, "ok") != 0) {
			mm_log(MM_LOG_ERR, "enrolment refused by the fleet: %s",
			    reason ? reason : "no reason given");
			n->exit_code = AGENT_EXIT_FAIL;
		} else if ((r = mm_msg_get_pem(o, "cert", mm_msg_max(MM_MSG_CERT),
		    &cert)) != 0 || (r = agent_net_install(n, cert)) != 0) {
			mm_log(MM_LOG_ERR, "enrolment certificate refused: %s",
			    mm_strerror(r));
			n->exit_code = AGENT_EXIT_FAIL;
		} else {
			mm_log(MM_LOG_NOTICE, "enrolled as %s", n->boot->device_id);
			agent_net_event(n, MM_SLT_CONFIG, 5, "{\"event\":\"enrolled\","
			    "\"device_id\":\"%s\"}", n->boot->device_id);
			n->exit_code = AGENT_EXIT_RESTART;
		}
		json_decref(o);
		return;
	}
	mm_log(MM_LOG_WARN, "message for someone else refused");
}

static void
agent_net_on_connect(struct mosquitto *mq, void *arg, int rc)
{
	struct agent_net *n = arg;
	char topic[MM_TOPIC_MAX];

	if (rc != 0) {
		mm_log(MM_LOG_WARN, "fleet broker refused us: %s",
		    mosquitto_connack_string(rc));
		return;
	}
	n->connected = 1;
	if (n->provid[0] != '\0') {
		if (mm_topic_build(topic, sizeof(topic), MM_DIR_PROV_RESP, n->provid,
		    NULL) == 0)
			(void)mosquitto_subscribe(mq, NULL, topic, 1);
		return;		/* the request goes out once subscribed */
	}
	mm_log(MM_LOG_INFO, "connected to fleet as %s", n->boot->device_id);
	agent_net_event(n, MM_SLT_COMM, 6, "{\"event\":\"connected\",\"host\":"
	    "\"%s\",\"port\":%d}", n->conf->server_host, n->conf->port);
	if (mm_topic_build(topic, sizeof(topic), MM_DIR_DOWN, n->boot->device_id,
	    "cmd") == 0)
		(void)mosquitto_subscribe(mq, NULL, topic, 1);
	if (mm_topic_build(topic, sizeof(topic), MM_DIR_DOWN, n->boot->device_id,
	    "cert") == 0)
		(void)mosquitto_subscribe(mq, NULL, topic, 1);
	if (mm_topic_build(topic, sizeof(topic), MM_DIR_DOWN, n->boot->device_id,
	    "log_ack") == 0)
		(void)mosquitto_subscribe(mq, NULL, topic, 1);
	/* what was in flight may be lost: go on from the fleet's last ack */
	n->log_from = n->log_end = 0;
	n->log_sent_ms = 0;
	n->log_next_ms = mm_now_ms();
	agent_net_hello(n);
	n->next_hb = time(NULL) + agent_heartbeat(n->conf, &n->boot->state);
}

/* Enrolment: once subscribed to our answer topic, send token + CSR. */
static void
agent_net_on_subscribe(struct mosquitto *mq, void *arg, int mid, int qos_count,
    const int *granted)
{
	struct agent_net *n = arg;
	char *csr = NULL, *text = NULL;
	size_t len;
	json_t *o;
	int r;

	(void)mq; (void)mid;
	if (n->provid[0] == '\0')
		return;
	if (qos_count < 1 || granted[0] > 2) {
		mm_log(MM_LOG_ERR, "provisioning subscription refused");
		n->exit_code = AGENT_EXIT_FAIL;
		return;
	}
	if ((r = agent_net_get_csr(n, &csr)) != 0) {
		mm_log(MM_LOG_ERR, "no CSR for enrolment: %s", mm_strerror(r));
		n->exit_code = AGENT_EXIT_FAIL;
		return;
	}
	if ((o = mm_msg_new(MM_MSG_ENROLL)) != NULL) {
		json_object_set_new(o, "serial", json_string(n->conf->serial));
		json_object_set_new(o, "token", json_string(n->boot->token));
		json_object_set_new(o, "csr", json_string(csr));
		if ((r = mm_msg_encode(MM_MSG_ENROLL, o, &text, &len)) == 0)
			r = agent_net_publish(n, MM_DIR_PROV_REQ, n->provid, NULL, text,
			    len, 1);
	} else
		r = MM_ERR_ALLOC;
	mm_wipe(n->boot->token, sizeof(n->boot->token));
	json_decref(o);
	mm_free(text);
	mm_free(csr);
	if (r != 0) {
		mm_log(MM_LOG_ERR, "enrolment request not sent: %s", mm_strerror(r));
		n->exit_code = AGENT_EXIT_FAIL;
	} else
		mm_log(MM_LOG_INFO, "enrolment request sent for serial %s",
		    n->conf->serial);
}

static void
agent_net_renew_check(struct agent_net *n, time_t now)
{
	if (n->rekey_sent != 0 && now - n->rekey_sent > 3600)
		n->rekey_sent = 0;	/* no certificate came back: try again */
	if (n->boot->cert_not_after == 0 || n->rekey_sent != 0 || n->connected != 1)
		return;
	if (!agent_renew_due(n->boot->cert_not_before, n->boot->cert_not_after, now))
		return;
	mm_log(MM_LOG_NOTICE, "certificate expires in %llds: re-keying",
	    (long long)(n->boot->cert_not_after - now));
	if (agent_net_rekey(n) != 0)
		n->rekey_sent = now;	/* do not retry in a tight loop */
}

/* Full-jitter exponential back-off between connection attempts. */
static void
agent_net_wait(unsigned *failures)
{
	uint32_t ms = mm_backoff_ms((*failures)++, 500, 1000,
	    AGENT_RECONNECT_MAX * 1000);

	while (ms > 0 && !agent_net_stop) {
		unsigned step = ms > 200 ? 200 : ms;
		struct timespec ts = { 0, (long)step * 1000000L };
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static int
agent_net_loop(struct agent_net *n, int port, time_t deadline)
{
	unsigned failures = 0;
	time_t now;
	int rc, attempted = 0;

	while (!agent_net_stop && n->exit_code < 0) {
		now = time(NULL);
		if (deadline != 0 && now > deadline) {
			mm_log(MM_LOG_ERR, "no enrolment answer in time");
			return AGENT_EXIT_FAIL;
		}
		if (!n->connected && attempted) {
			agent_net_wait(&failures);
			if (agent_net_stop)
				break;
		}
		if (!n->connected) {
			attempted = 1;
			rc = mosquitto_connect(n->mq, n->conf->server_host, port,
			    AGENT_KEEPALIVE);
			if (rc != MOSQ_ERR_SUCCESS) {
				mm_log(MM_LOG_WARN, "cannot connect to %s:%d: %s",
				    n->conf->server_host, port,
				    rc == MOSQ_ERR_ERRNO ? strerror(errno) :
				    mosquitto_strerror(rc));
				continue;
			}
			n->connected = -1;	/* waiting for CONNACK */
		}
		rc = mosquitto_loop(n->mq, 200, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			mm_log(MM_LOG_WARN, "connection to fleet lost: %s",
			    mosquitto_strerror(rc));
			if (n->connected == 1 && n->provid[0] == '\0')
				agent_net_event(n, MM_SLT_COMM, 4, "{\"event\":"
				    "\"disconnected\",\"reason\":\"%s\"}",
				    mosquitto_strerror(rc));
			n->connected = 0;
			continue;
		}
		if (n->connected == 1)
			failures = 0;
		now = time(NULL);
		if (n->connected == 1 && n->provid[0] == '\0') {
			agent_net_auth_poll(n, now);
			agent_net_log_pump(n);
			if (now >= n->next_hb)
				agent_net_heartbeat(n, now);
			agent_net_renew_check(n, now);
		}
	}
	if (n->connected)
		(void)mosquitto_disconnect(n->mq);
	return agent_net_stop ? AGENT_EXIT_STOP : n->exit_code;
}

int
agent_net_run(const struct agent_conf *c, struct agent_boot *b, SSL_CTX *ctx,
    int ipcfd)
{
	struct agent_net n;
	struct sigaction sa;
	int code, enrol = b->token[0] != '\0';

	memset(&n, 0, sizeof(n));
	n.conf = c;
	n.boot = b;
	n.ipcfd = ipcfd;
	n.cred = AGENT_CRED_UNKNOWN;
	n.exit_code = -1;
	n.started = time(NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = agent_net_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	mosquitto_lib_init();
	if (enrol)
		mm_provid_new(n.provid);
	/* operating: a persistent session, so signed commands sent while the
	 * device is offline wait for it at the broker (they still expire) */
	if ((n.mq = mosquitto_new(enrol ? n.provid : b->device_id, enrol, &n)) == NULL) {
		SSL_CTX_free(ctx);
		return AGENT_EXIT_FAIL;
	}
	mosquitto_int_option(n.mq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	/* our own context: fleet CA only, host name checked, key in memory */
	mosquitto_void_option(n.mq, MOSQ_OPT_SSL_CTX, ctx);
	mosquitto_int_option(n.mq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
	mosquitto_connect_callback_set(n.mq, agent_net_on_connect);
	mosquitto_message_callback_set(n.mq, agent_net_on_message);
	mosquitto_subscribe_callback_set(n.mq, agent_net_on_subscribe);
	code = agent_net_loop(&n, enrol ? c->prov_port : c->port,
	    enrol ? time(NULL) + AGENT_ENROL_TIMEOUT : 0);
	mosquitto_destroy(n.mq);
	SSL_CTX_free(ctx);
	mosquitto_lib_cleanup();
	close(ipcfd);
	return code;
}
