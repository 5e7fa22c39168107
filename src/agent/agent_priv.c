/* agent_priv.c - monitor process: keys, local accounts, worker supervision,
 * dispatch (docs/privsep.md, docs/decisions/0007-local-authentication.md). */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_admin.h"
#include "agent/agent_ipc.h"
#include "agent/agent_logfwd.h"
#include "agent/agent_net.h"
#include "agent/agent_priv.h"
#include "agent/agent_sandbox.h"
#include "agent/agent_watch.h"
#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "common/mm_str.h"
#include "common/mm_time.h"
#include "device/mm_auth.h"
#include "device/mm_keystore.h"
#include "device/mm_seclog.h"

#define AGENT_CSR_PER_WORKER 3
#define AGENT_EVENTS_PER_S 50
#define AGENT_EVENT_TEXT_MAX 512
#define AGENT_BACKOFF_MAX 300
/* A worker broke the IPC protocol (not an mm_err code). */
#define AGENT_PROTO_VIOLATION 1

enum agent_mode { AGENT_MODE_ENROL = 1, AGENT_MODE_OPERATE = 2 };
enum agent_kind { AGENT_W_NET = 1, AGENT_W_ADMIN = 2 };

struct agent_child {
	enum agent_kind kind;
	const char *name;
	pid_t pid;		/* 0: not running */
	int fd;			/* IPC, -1 when closed */
	unsigned failures;	/* for the back-off */
	int64_t due_ms;		/* start (again) at; 0: never */
	int64_t started_ms;	/* when the running one started */
	unsigned csr_count;	/* per worker life */
	unsigned install_count;
};

struct agent_monitor {
	const struct agent_conf *conf;
	struct mm_keystore *ks;
	struct agent_boot boot;
	enum agent_mode mode;
	struct mm_auth *auth;	/* NULL: no local accounts (no factory step) */
	int web_fd, ctl_fd;	/* listening sockets of the admin worker */
	struct agent_ctl_acl acl;	/* who may use the control socket */
	struct agent_child net, adm;
	struct agent_child *cur;	/* whose request is being served */
	struct mm_seclog *seclog;	/* NULL: no sealed log on this device */
	struct agent_logfwd *fwd;	/* forwarding it; NULL without it */
	struct agent_watch *watch;	/* who touches it; NULL: not watched */
	/* the network worker's events: at most AGENT_EVENTS_PER_S a second */
	int64_t ev_window_ms;
	unsigned ev_in_window;
	uint64_t ev_dropped, ev_drop_first_ms;
};

typedef int (*agent_priv_fn)(struct agent_monitor *, struct mm_buf *,
    struct mm_buf *);

static int priv_csr(struct agent_monitor *, struct mm_buf *, struct mm_buf *);
static int priv_install(struct agent_monitor *, struct mm_buf *, struct mm_buf *);
static int priv_state(struct agent_monitor *, struct mm_buf *, struct mm_buf *);
static int priv_admin(struct agent_monitor *, struct mm_buf *, struct mm_buf *);
static int priv_authstat(struct agent_monitor *, struct mm_buf *, struct mm_buf *);
static int priv_maint(struct agent_monitor *, struct mm_buf *, struct mm_buf *);
static int priv_credreset(struct agent_monitor *, struct mm_buf *, struct mm_buf *);
static int priv_event(struct agent_monitor *, struct mm_buf *, struct mm_buf *);
static int priv_log_batch(struct agent_monitor *, struct mm_buf *,
    struct mm_buf *);
static int priv_log_ack(struct agent_monitor *, struct mm_buf *,
    struct mm_buf *);

/* What each worker may ask, in which mode. */
static const struct {
	enum agent_ipc_type type;
	agent_priv_fn fn;
	unsigned modes;
	unsigned kinds;
} agent_priv_table[] = {
	{ AGENT_IPC_CSR, priv_csr, AGENT_MODE_ENROL | AGENT_MODE_OPERATE, AGENT_W_NET },
	{ AGENT_IPC_INSTALL, priv_install, AGENT_MODE_ENROL | AGENT_MODE_OPERATE,
	    AGENT_W_NET },
	{ AGENT_IPC_STATE, priv_state, AGENT_MODE_OPERATE, AGENT_W_NET },
	{ AGENT_IPC_ADMIN, priv_admin, AGENT_MODE_ENROL | AGENT_MODE_OPERATE,
	    AGENT_W_ADMIN },
	{ AGENT_IPC_AUTHSTAT, priv_authstat, AGENT_MODE_OPERATE, AGENT_W_NET },
	{ AGENT_IPC_MAINT, priv_maint, AGENT_MODE_OPERATE, AGENT_W_NET },
	{ AGENT_IPC_CREDRESET, priv_credreset, AGENT_MODE_OPERATE, AGENT_W_NET },
	{ AGENT_IPC_EVENT, priv_event, AGENT_MODE_ENROL | AGENT_MODE_OPERATE,
	    AGENT_W_NET },
	{ AGENT_IPC_LOG_BATCH, priv_log_batch, AGENT_MODE_OPERATE, AGENT_W_NET },
	{ AGENT_IPC_LOG_ACK, priv_log_ack, AGENT_MODE_OPERATE, AGENT_W_NET },
};

static volatile sig_atomic_t agent_stop;

static void
agent_on_signal(int sig)
{
	(void)sig;
	agent_stop = 1;
}

static enum mm_key_slot
priv_slot(const struct agent_monitor *m)
{
	return m->mode == AGENT_MODE_ENROL ? MM_SLOT_CURRENT : MM_SLOT_NEXT;
}

/* New key pair in the mode's slot and a CSR for it; the CN is ours to
 * choose, never the worker's. */
static int
priv_csr(struct agent_monitor *m, struct mm_buf *req, struct mm_buf *reply)
{
	char *pem = NULL;
	size_t len;
	int r;

	if (mm_buf_expect_end(req) != 0)
		mm_fatal("worker sent a malformed CSR request");
	if (++m->net.csr_count > AGENT_CSR_PER_WORKER)
		return MM_ERR_DENIED;
	if ((r = mm_keystore_generate(m->ks, priv_slot(m))) != 0 ||
	    (r = mm_keystore_csr(m->ks, priv_slot(m), m->boot.device_id, &pem,
	    &len)) != 0)
		return r;
	r = mm_buf_put_str16(reply, pem, len);
	mm_free(pem);
	mm_log(MM_LOG_NOTICE, "generated a new device key (%s) for %s",
	    m->mode == AGENT_MODE_ENROL ? "enrolment" : "re-key", m->boot.device_id);
	return r;
}

static int
priv_install(struct agent_monitor *m, struct mm_buf *req, struct mm_buf *reply)
{
	char path[AGENT_PATH_MAX + 32];
	const uint8_t *pem;
	size_t len;
	int r;

	(void)reply;
	if (mm_buf_get_str16_ptr(req, &pem, &len) != 0 || mm_buf_expect_end(req) != 0)
		mm_fatal("worker sent a malformed install request");
	if (++m->net.install_count > 1)
		return MM_ERR_DENIED;
	if (!mm_keystore_has_key(m->ks, priv_slot(m)))
		return MM_ERR_STATE;
	if ((r = mm_keystore_install_cert(m->ks, priv_slot(m), (const char *)pem,
	    len, m->boot.device_id)) != 0) {
		mm_log(MM_LOG_WARN, "certificate refused: %s", mm_strerror(r));
		return r;
	}
	if (m->mode == AGENT_MODE_ENROL) {
		if ((r = mm_path_join(path, sizeof(path), m->conf->state_dir,
		    "device.id")) != 0 ||
		    (r = mm_file_write_atomic(path, m->boot.device_id,
		    strlen(m->boot.device_id), 0644)) != 0)
			return r;
		/* the token has done its one job */
		if (mm_path_join(path, sizeof(path), m->conf->state_dir,
		    "enroll.token") == 0)
			(void)unlink(path);
	}
	mm_log(MM_LOG_NOTICE, "installed new certificate for %s", m->boot.device_id);
	return MM_OK;
}

static int
priv_state(struct agent_monitor *m, struct mm_buf *req, struct mm_buf *reply)
{
	struct agent_state st;
	uint64_t ctr;
	uint32_t hb;
	int r;

	(void)reply;
	if (mm_buf_get_u64(req, &ctr) != 0 || mm_buf_get_u32(req, &hb) != 0 ||
	    mm_buf_expect_end(req) != 0)
		mm_fatal("worker sent a malformed state request");
	/* the counter only ever moves forward */
	if (ctr < m->boot.state.cmd_counter ||
	    (hb != 0 && (hb < AGENT_HB_MIN || hb > AGENT_HB_MAX)))
		return MM_ERR_RANGE;
	st.cmd_counter = ctr;
	st.heartbeat_interval = (int)hb;
	if ((r = agent_state_save(m->conf, &st)) != 0)
		return r;
	m->boot.state = st;
	return MM_OK;
}

/* ---- the sealed security log (decision 0008) ---- */

/* Appends one event; a failure is logged, never fatal: the device keeps
 * working, and the gap shows in the sequence the fleet sees. */
static void
agent_seclog(struct agent_monitor *m, enum mm_seclog_type type, int severity,
    const char *source, const char *text)
{
	struct mm_seclog_event ev;
	uint64_t seq;
	int r;

	if (m->seclog == NULL)
		return;
	ev.type = type;
	ev.severity = (uint8_t)severity;
	ev.source = source;
	ev.payload = text;
	ev.payload_len = strlen(text) > MM_SECLOG_PAYLOAD_MAX ?
	    MM_SECLOG_PAYLOAD_MAX : strlen(text);
	if ((r = mm_seclog_append(m->seclog, &ev, &seq)) != 0)
		mm_log(MM_LOG_ERR, "sealed log: cannot append: %s", mm_strerror(r));
}

static void
agent_audit(void *arg, enum mm_auth_event ev, int severity, const char *text)
{
	static const enum mm_seclog_type types[] = {
		[MM_AUTH_EV_AUTH] = MM_SLT_AUTH,
		[MM_AUTH_EV_ATTACK] = MM_SLT_ATTACK,
		[MM_AUTH_EV_CONFIG] = MM_SLT_CONFIG,
	};

	agent_seclog(arg, types[ev], severity, "auth", text);
}

/* Opens the sealed log if the factory made one. */
static void
agent_seclog_open(struct agent_monitor *m)
{
	struct mm_seclog_conf sc;
	char path[AGENT_PATH_MAX + 32];
	size_t cut = 0;
	int r;

	if (mm_path_join(path, sizeof(path), m->conf->state_dir, "seclog.key") != 0 ||
	    access(path, F_OK) != 0) {
		mm_log(MM_LOG_WARN, "no sealed security log on this device (run "
		    "mamori-factory --seclog-key-out at the factory)");
		return;
	}
	mm_seclog_defaults(&sc);
	sc.dir = m->conf->state_dir;
	sc.group_ms = 200;	/* the monitor's loop ticks every 200 ms */
	sc.segment_bytes = (size_t)m->conf->seclog_segment_kib * 1024;
	sc.epoch_ms = m->conf->seclog_epoch_s * 1000;
	if ((r = mm_seclog_open(&sc, &m->seclog, &cut)) != 0) {
		mm_log(MM_LOG_ERR, "sealed log: %s", mm_strerror(r));
		m->seclog = NULL;
		return;
	}
	if (cut > 0)
		mm_log(MM_LOG_WARN, "sealed log: cut a torn tail of %zu bytes", cut);
	r = agent_logfwd_open(m->conf, m->seclog, &m->fwd);
	if (r != 0 && r != MM_ERR_CORRUPT) {
		mm_log(MM_LOG_ERR, "sealed log: not forwarded: %s",
		    mm_strerror(r));
		m->fwd = NULL;
	}
}

static void
agent_watch_record(void *arg, int severity, const char *text)
{
	agent_seclog(arg, MM_SLT_LOG_ACCESS, severity, "watch", text);
}

/* Someone else opening the log or the keys (T12/L2): fanotify, set up
 * while the monitor still has CAP_SYS_ADMIN, which it then gives up. */
static void
agent_watch_start(struct agent_monitor *m)
{
	char why[128];
	int r;

	if (m->seclog == NULL)
		return;
	r = agent_watch_open(m->conf->state_dir, &m->watch);
	if (r != 0) {
		m->watch = NULL;
		mm_log(MM_LOG_WARN, "access to the log files is not watched: %s "
		    "(fanotify needs CAP_SYS_ADMIN when the agent starts)",
		    mm_strerror(r));
		snprintf(why, sizeof(why), "{\"event\":\"access watch off\","
		    "\"reason\":\"%s\"}", mm_strerror(r));
		agent_seclog(m, MM_SLT_STATE, 4, "watch", why);
		return;
	}
	if (agent_watch_drop_cap() != 0)
		mm_log(MM_LOG_WARN, "could not give up CAP_SYS_ADMIN");
	agent_seclog(m, MM_SLT_STATE, 6, "watch", "{\"event\":\"access watch "
	    "on\"}");
}

/* The fleet's copy of the log (decision 0009): batches out, acks in. */
static int
priv_log_batch(struct agent_monitor *m, struct mm_buf *req,
    struct mm_buf *reply)
{
	int r;

	if (m->fwd == NULL)
		return MM_ERR_NOT_FOUND;
	r = agent_logfwd_batch(m->fwd, req, reply);
	return r == AGENT_IPC_BAD ? AGENT_PROTO_VIOLATION : r;
}

static int
priv_log_ack(struct agent_monitor *m, struct mm_buf *req, struct mm_buf *reply)
{
	int r;

	(void)reply;
	if (m->fwd == NULL)
		return MM_ERR_NOT_FOUND;
	r = agent_logfwd_ack(m->fwd, req);
	return r == AGENT_IPC_BAD ? AGENT_PROTO_VIOLATION : r;
}

/* An event from the network worker for the sealed log.  Only a few types
 * are its to report, and a worker taken over could flood: beyond
 * AGENT_EVENTS_PER_S a second events are dropped, and the next one that
 * gets in is preceded by a LOSS record that says how many. */
static int
priv_event(struct agent_monitor *m, struct mm_buf *req, struct mm_buf *reply)
{
	char text[AGENT_EVENT_TEXT_MAX + 1], loss[128];
	uint16_t type;
	uint8_t sev;
	int64_t now = mm_now_ms();

	(void)reply;
	if (mm_buf_get_u16(req, &type) != 0 || mm_buf_get_u8(req, &sev) != 0 ||
	    mm_buf_get_cstr16(req, text, sizeof(text)) != 0 ||
	    mm_buf_expect_end(req) != 0)
		mm_fatal("worker sent a malformed event");
	if (sev > 7 || (type != MM_SLT_COMM && type != MM_SLT_ATTACK &&
	    type != MM_SLT_CONFIG && type != MM_SLT_STATE && type != MM_SLT_RESULT))
		return MM_ERR_RANGE;
	if (now - m->ev_window_ms >= 1000) {
		m->ev_window_ms = now;
		m->ev_in_window = 0;
	}
	if (++m->ev_in_window > AGENT_EVENTS_PER_S) {
		if (m->ev_dropped++ == 0)
			m->ev_drop_first_ms = (uint64_t)now;
		return MM_ERR_DENIED;
	}
	if (m->ev_dropped > 0) {
		snprintf(loss, sizeof(loss), "{\"dropped\":%llu,\"from\":\"network "
		    "worker\",\"reason\":\"rate limit\",\"since_mono_ms\":%llu}",
		    (unsigned long long)m->ev_dropped,
		    (unsigned long long)m->ev_drop_first_ms);
		agent_seclog(m, MM_SLT_LOSS, 4, "agent", loss);
		m->ev_dropped = 0;
	}
	agent_seclog(m, (enum mm_seclog_type)type, sev, "net", text);
	return MM_OK;
}

/* ---- local administration ---- */

static json_t *
priv_admin_error(const char *code, const char *message)
{
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "error", code, "message",
	    message);
}

static int
hook_status(void *arg, json_t *o)
{
	struct agent_monitor *m = arg;
	const struct agent_conf *c = m->conf;

	return json_object_set_new(o, "device_id",
	    json_string(m->boot.device_id)) != 0 ||
	    json_object_set_new(o, "model", json_string(c->model)) != 0 ||
	    json_object_set_new(o, "serial", json_string(c->serial)) != 0 ||
	    json_object_set_new(o, "fw_version", json_string(c->fw_version)) != 0 ||
	    json_object_set_new(o, "enrolled",
	    json_boolean(m->mode == AGENT_MODE_OPERATE)) != 0 ||
	    json_object_set_new(o, "heartbeat_interval",
	    json_integer(agent_heartbeat(c, &m->boot.state))) != 0 ?
	    MM_ERR_ALLOC : MM_OK;
}

static int
hook_config_set(void *arg, const char *key, int64_t value)
{
	struct agent_monitor *m = arg;
	struct agent_state st = m->boot.state;
	int r;

	if (strcmp(key, "heartbeat_interval") != 0)
		return MM_ERR_NOT_FOUND;
	if (value < AGENT_HB_MIN || value > AGENT_HB_MAX)
		return MM_ERR_RANGE;
	st.heartbeat_interval = (int)value;
	if ((r = agent_state_save(m->conf, &st)) != 0)
		return r;
	/* the network worker picks it up with its next auth summary */
	m->boot.state = st;
	return MM_OK;
}

/* One admin request, already parsed once by the admin worker; parsed
 * again here, since the worker is not trusted. */
static int
priv_admin(struct agent_monitor *m, struct mm_buf *req, struct mm_buf *reply)
{
	const struct mm_auth_hooks hooks = { hook_status, hook_config_set, m };
	struct mm_admreq q;
	const uint8_t *p;
	json_t *rep;
	char *text;
	size_t len;
	int r;

	if (mm_buf_get_str16_ptr(req, &p, &len) != 0 || mm_buf_expect_end(req) != 0)
		return AGENT_PROTO_VIOLATION;
	if (m->auth == NULL)
		rep = priv_admin_error("state", "no local accounts on this device");
	else if (mm_admreq_parse(p, len, MM_ADMREQ_WORKER, &q) != 0)
		rep = priv_admin_error("format", "malformed request");
	else {
		rep = mm_auth_handle(m->auth, &q, &hooks, mm_now_ms(),
		    (int64_t)time(NULL));
		mm_admreq_free(&q);
	}
	mm_wipe((void *)(uintptr_t)p, len);
	if (rep == NULL)
		mm_fatal("out of memory");
	text = json_dumps(rep, JSON_COMPACT);
	json_decref(rep);
	if (text == NULL)
		mm_fatal("out of memory");
	r = mm_buf_put_str16(reply, text, strlen(text));
	mm_freezero(text, strlen(text));
	return r;
}

static int
priv_authstat(struct agent_monitor *m, struct mm_buf *req, struct mm_buf *reply)
{
	struct mm_auth_report rep;
	uint8_t cred = 0;

	if (mm_buf_expect_end(req) != 0)
		mm_fatal("worker sent a malformed auth-summary request");
	memset(&rep, 0, sizeof(rep));
	if (m->auth != NULL) {
		mm_auth_report(m->auth, mm_now_ms(), &rep);
		cred = rep.cred_initial ? 2 : 1;
	}
	if (mm_buf_put_u8(reply, cred) != 0 ||
	    mm_buf_put_u32(reply, rep.failures) != 0 ||
	    mm_buf_put_u32(reply, rep.refused) != 0 ||
	    mm_buf_put_u32(reply, rep.lockouts) != 0 ||
	    mm_buf_put_u64(reply, rep.maint_until > time(NULL) ?
	    (uint64_t)rep.maint_until : 0) != 0 ||
	    mm_buf_put_u32(reply, (uint32_t)m->boot.state.heartbeat_interval) != 0)
		return MM_ERR_INTERNAL;
	return MM_OK;
}

static int
priv_maint(struct agent_monitor *m, struct mm_buf *req, struct mm_buf *reply)
{
	uint32_t minutes;

	(void)reply;
	if (mm_buf_get_u32(req, &minutes) != 0 || mm_buf_expect_end(req) != 0)
		mm_fatal("worker sent a malformed maintenance request");
	if (m->auth == NULL)
		return MM_ERR_STATE;
	return mm_auth_maintenance(m->auth, minutes, (int64_t)time(NULL),
	    "signed fleet command");
}

static int
priv_credreset(struct agent_monitor *m, struct mm_buf *req, struct mm_buf *reply)
{
	char user[MM_USER_MAX + 1], secret[MM_AUTH_SECRET_LEN + 1];
	uint8_t pk[MM_BOX_PK_LEN], sealed[MM_AUTH_SECRET_LEN + MM_SEAL_OVERHEAD];
	int r;

	if (mm_buf_get_cstr8(req, user, sizeof(user)) != 0 ||
	    mm_buf_get(req, pk, sizeof(pk)) != 0 || mm_buf_expect_end(req) != 0)
		mm_fatal("worker sent a malformed credential-reset request");
	if (m->auth == NULL)
		return MM_ERR_STATE;
	if (!mm_user_name_valid(user))
		return MM_ERR_FORMAT;
	if ((r = mm_auth_cred_reset(m->auth, user, (int64_t)time(NULL), secret)) != 0)
		return r;
	r = mm_seal(sealed, secret, strlen(secret), pk);
	mm_wipe(secret, sizeof(secret));
	if (r != 0)
		return r;
	return mm_buf_put_str16(reply, sealed, sizeof(sealed));
}

/* ---- IPC ---- */

/* Serves one request from child c.  MM_ERR_IO when it has gone;
 * AGENT_PROTO_VIOLATION when the admin worker broke the protocol (the
 * network worker doing so stops the monitor, as before). */
static int
agent_priv_serve(struct agent_monitor *m, struct agent_child *c)
{
	struct mm_buf *req = NULL, *payload = NULL, *out = NULL;
	uint8_t type;
	size_t i, n = sizeof(agent_priv_table) / sizeof(agent_priv_table[0]);
	int r, status;

	m->cur = c;
	if ((r = agent_ipc_recv(c->fd, &req)) != 0) {
		if (r == MM_ERR_TOO_LARGE && c->kind == AGENT_W_NET)
			mm_fatal("worker sent an oversized message");
		return r == MM_ERR_TOO_LARGE ? AGENT_PROTO_VIOLATION : r;
	}
	r = AGENT_PROTO_VIOLATION;
	if (mm_buf_get_u8(req, &type) != 0)
		goto out;
	for (i = 0; i < n && agent_priv_table[i].type != type; i++)
		;
	if (i == n || (agent_priv_table[i].kinds & c->kind) == 0)
		goto out;
	if ((payload = mm_buf_new(AGENT_IPC_MAX - 4)) == NULL ||
	    (out = mm_buf_new(AGENT_IPC_MAX)) == NULL)
		mm_fatal("out of memory");
	if ((agent_priv_table[i].modes & m->mode) == 0) {
		mm_log(MM_LOG_WARN, "%s request %u not permitted now", c->name, type);
		status = MM_ERR_DENIED;
	} else if ((status = agent_priv_table[i].fn(m, req, payload)) ==
	    AGENT_PROTO_VIOLATION)
		goto out;
	/* reply: status, then the handler's fields only on success */
	if (mm_buf_put_u32(out, (uint32_t)status) != 0 ||
	    (status == 0 && mm_buf_put(out, mm_buf_ptr(payload),
	    mm_buf_len(payload)) != 0))
		mm_fatal("reply does not fit");
	r = agent_ipc_send(c->fd, out);
 out:
	if (r == AGENT_PROTO_VIOLATION && c->kind == AGENT_W_NET)
		mm_fatal("network worker broke the IPC protocol");
	mm_buf_free(req);
	mm_buf_free(payload);
	mm_buf_free(out);
	return r;
}

/* Reads a small text file from the state directory, trailing space cut. */
static int
agent_read_small(const struct agent_conf *c, const char *name, char *out,
    size_t outsz)
{
	char path[AGENT_PATH_MAX + 32], *text = NULL;
	size_t n;
	int r;

	if ((r = mm_path_join(path, sizeof(path), c->state_dir, name)) != 0 ||
	    (r = mm_file_read(path, outsz + 16, &text, &n)) != 0)
		return r;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' ||
	    text[n - 1] == ' '))
		text[--n] = '\0';
	if (n < outsz)
		memcpy(out, text, n + 1);
	else
		r = MM_ERR_TOO_LARGE;
	mm_freezero(text, n + 1);
	return r;
}

static void
agent_boot_ids(struct agent_boot *b)
{
	uint8_t inst[8];
	FILE *f;

	mm_random(inst, sizeof(inst));
	mm_hex_encode(b->instance, inst, sizeof(inst));
	snprintf(b->boot_id, sizeof(b->boot_id), "unknown");
	if ((f = fopen("/proc/sys/kernel/random/boot_id", "re")) != NULL) {
		if (fgets(b->boot_id, sizeof(b->boot_id), f) != NULL)
			b->boot_id[strcspn(b->boot_id, "\n")] = '\0';
		fclose(f);
	}
}

/* Decides enrol or operate and gathers what the worker needs. */
static int
agent_prepare(struct agent_monitor *m)
{
	const struct agent_conf *c = m->conf;
	char hex[2 * MM_SIGN_PK_LEN + 1];
	int r;

	if ((r = agent_read_small(c, "cmd_sign.pub", hex, sizeof(hex))) != 0 ||
	    (r = mm_hex_decode(m->boot.cmd_pk, sizeof(m->boot.cmd_pk), hex)) != 0) {
		mm_log(MM_LOG_ERR, "%s/cmd_sign.pub missing or corrupt (factory step)",
		    c->state_dir);
		return r ? r : MM_ERR_CORRUPT;
	}
	if ((r = agent_state_load(c, &m->boot.state)) != 0)
		return r;
	m->boot.token[0] = '\0';
	if (mm_keystore_has_cert(m->ks)) {
		m->mode = AGENT_MODE_OPERATE;
		if ((r = agent_read_small(c, "device.id", m->boot.device_id,
		    sizeof(m->boot.device_id))) != 0 ||
		    !mm_devid_valid(m->boot.device_id)) {
			mm_log(MM_LOG_ERR, "device.id missing or invalid");
			return r ? r : MM_ERR_CORRUPT;
		}
		return mm_keystore_cert_validity(m->ks, &m->boot.cert_not_before,
		    &m->boot.cert_not_after);
	}
	m->mode = AGENT_MODE_ENROL;
	if ((r = agent_read_small(c, "enroll.token", m->boot.token,
	    sizeof(m->boot.token))) != 0) {
		mm_log(MM_LOG_ERR, "not enrolled and no %s/enroll.token", c->state_dir);
		return r;
	}
	if (strlen(m->boot.token) <= MM_DEVID_LEN ||
	    m->boot.token[MM_DEVID_LEN] != '.') {
		mm_log(MM_LOG_ERR, "enroll.token is malformed");
		return MM_ERR_FORMAT;
	}
	memcpy(m->boot.device_id, m->boot.token, MM_DEVID_LEN);
	m->boot.device_id[MM_DEVID_LEN] = '\0';
	if (!mm_devid_valid(m->boot.device_id))
		return MM_ERR_FORMAT;
	return MM_OK;
}

/* In the worker, right after fork: give up root for good. */
static void
agent_drop_privileges(const struct agent_conf *c, pid_t monitor,
    const char *what, int admin)
{
	struct passwd *pw;

	if (geteuid() == 0) {
		if ((pw = getpwnam(c->user)) == NULL) {
			mm_log(MM_LOG_WARN, "user %s does not exist; the %s runs "
			    "as nobody", c->user, what);
			if ((pw = getpwnam("nobody")) == NULL)
				mm_fatal("no user to run the %s as", what);
		}
		if (chdir("/") != 0 || setgroups(0, NULL) != 0 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
			mm_fatal("cannot drop privileges to %s", pw->pw_name);
		if (setuid(0) == 0)
			mm_fatal("privileges could be regained");
		mm_log(MM_LOG_INFO, "%s runs as %s (uid %ld)", what,
		    pw->pw_name, (long)pw->pw_uid);
	} else
		mm_log(MM_LOG_INFO, "not started as root: %s keeps uid %ld",
		    what, (long)getuid());
	/* after the uid change, which clears it: die with the monitor */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 || getppid() != monitor)
		mm_fatal("monitor gone");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		mm_fatal("cannot set no_new_privs");
	if (agent_sandbox_enter(admin) != 0)
		mm_fatal("cannot install the system-call filter");
}

/* The listening sockets of the admin worker, made once by the monitor so
 * the unprivileged worker never needs to bind. */
static int
agent_web_listen(const struct agent_conf *c)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, c->web_addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)c->web_port);
		len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, c->web_addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)c->web_port);
		len = sizeof(*a6);
	} else {
		mm_log(MM_LOG_ERR, "web_addr %s is not an IP address", c->web_addr);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 64) != 0) {
		mm_log(MM_LOG_ERR, "cannot listen on %s port %d: %s", c->web_addr,
		    c->web_port, strerror(errno));
		close(fd);
		return -1;
	}
	mm_log(MM_LOG_INFO, "admin page on https://%s:%d/", c->web_addr, c->web_port);
	return fd;
}

static int
agent_ctl_listen(const struct agent_conf *c, gid_t gid)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (mm_strlcpy(sun.sun_path, c->ctl_socket, sizeof(sun.sun_path)) != 0) {
		mm_log(MM_LOG_ERR, "ctl_socket path too long");
		return -1;
	}
	/* a stale socket from an earlier run; never unlink anything else */
	if (lstat(c->ctl_socket, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			mm_log(MM_LOG_ERR, "%s exists and is not a socket", c->ctl_socket);
			return -1;
		}
		(void)unlink(c->ctl_socket);
	}
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(c->ctl_socket, gid != (gid_t)-1 ? 0660 : 0600) != 0 ||
	    (gid != (gid_t)-1 && chown(c->ctl_socket, (uid_t)-1, gid) != 0) ||
	    listen(fd, 16) != 0) {
		mm_log(MM_LOG_ERR, "cannot listen on %s: %s", c->ctl_socket,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The group's members by uid: the sandboxed worker cannot ask NSS. */
static void
agent_ctl_members(struct agent_monitor *m, const struct group *gr)
{
	struct passwd *pw;
	char **name;

	m->acl.gid = gr->gr_gid;
	for (name = gr->gr_mem; *name != NULL; name++) {
		if (m->acl.nmembers == AGENT_CTL_MEMBERS_MAX) {
			mm_log(MM_LOG_WARN, "ctl_group %s: only the first %d members "
			    "are allowed", gr->gr_name, AGENT_CTL_MEMBERS_MAX);
			break;
		}
		if ((pw = getpwnam(*name)) != NULL)
			m->acl.members[m->acl.nmembers++] = pw->pw_uid;
	}
}

/* Loads the accounts and opens the admin worker's sockets.  No accounts
 * (no factory step) is not fatal: the fleet link still works, and the
 * fleet is told ("cred": "none"). */
static void
agent_admin_setup(struct agent_monitor *m)
{
	const struct agent_conf *c = m->conf;
	struct mm_auth_conf ac = c->auth;
	char path[AGENT_PATH_MAX + 32];
	struct group *gr;
	int r;

	m->web_fd = m->ctl_fd = -1;
	m->acl.owner = getuid();
	m->acl.gid = (gid_t)-1;
	if (access(ac.denylist, R_OK) != 0) {
		mm_log(MM_LOG_WARN, "password deny list %s not readable: only the "
		    "other password rules apply", ac.denylist);
		ac.denylist[0] = '\0';
	}
	if (m->boot.device_id[0] != '\0')
		snprintf(ac.device_id, sizeof(ac.device_id), "%s", m->boot.device_id);
	if (mm_path_join(path, sizeof(path), c->state_dir, "auth.json") != 0)
		return;
	if ((r = mm_auth_open(path, &ac, &m->auth)) != 0) {
		if (r == MM_ERR_NOT_FOUND)
			mm_log(MM_LOG_ERR, "no local administration: no %s (run "
			    "mamori-factory at the factory)", path);
		else
			mm_log(MM_LOG_ERR, "no local administration: %s",
			    mm_strerror(r));
		m->auth = NULL;
		return;
	}
	mm_auth_set_audit(m->auth, agent_audit, m);
	if (mm_auth_cred_initial(m->auth))
		mm_log(MM_LOG_WARN, "the initial administrator password has not "
		    "been changed: every function but changing it is refused");
	if (c->ctl_group[0] != '\0') {
		if ((gr = getgrnam(c->ctl_group)) == NULL)
			mm_log(MM_LOG_WARN, "ctl_group %s does not exist", c->ctl_group);
		else
			agent_ctl_members(m, gr);
	}
	m->ctl_fd = agent_ctl_listen(c, m->acl.gid);
	if (c->web_port > 0)
		m->web_fd = agent_web_listen(c);
}

static void
agent_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* In a new child: drop what belongs to the monitor or the other worker. */
static void
agent_child_forget(struct agent_monitor *m, struct agent_child *self)
{
	struct agent_child *other = self == &m->net ? &m->adm : &m->net;

	agent_close_fd(&other->fd);
	if (self == &m->net) {
		agent_close_fd(&m->web_fd);
		agent_close_fd(&m->ctl_fd);
	}
	/* the password hashes and sessions must not live on in a worker, nor
	 * the log's keys (and the worker must never write the log) */
	mm_auth_free(m->auth);
	m->auth = NULL;
	agent_logfwd_abandon(m->fwd);
	m->fwd = NULL;
	agent_watch_close(m->watch);
	m->watch = NULL;
	mm_seclog_abandon(m->seclog);
	m->seclog = NULL;
	mm_keystore_free(m->ks);
	m->ks = NULL;
}

/* The worker's side, after the fork: drop root, run, never return. */
static _Noreturn void
agent_worker_main(struct agent_monitor *m, struct agent_child *c, SSL_CTX *ctx,
    int fd, pid_t monitor)
{
	const struct agent_conf *conf = m->conf;
	agent_child_forget(m, c);
	agent_drop_privileges(conf, monitor, c->name, c->kind == AGENT_W_ADMIN);
	if (c->kind == AGENT_W_NET)
		_exit(agent_net_run(conf, &m->boot, ctx, fd));
	_exit(agent_admin_run(conf, ctx, m->web_fd, m->ctl_fd, &m->acl, fd));
}

/* Forks worker c with its own IPC socket pair and TLS context (which
 * lives on only in the worker); -1 on failure, ctx freed either way. */
static pid_t
agent_fork_worker(struct agent_monitor *m, struct agent_child *c, SSL_CTX *ctx)
{
	pid_t pid, self = getpid();
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		SSL_CTX_free(ctx);
		return -1;
	}
	if ((pid = fork()) < 0) {
		SSL_CTX_free(ctx);
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		agent_worker_main(m, c, ctx, sv[1], self);
	}
	SSL_CTX_free(ctx);
	close(sv[1]);
	c->fd = sv[0];
	c->csr_count = c->install_count = 0;
	return pid;
}

static pid_t
agent_spawn_net(struct agent_monitor *m)
{
	SSL_CTX *ctx = NULL;
	pid_t pid;
	int r;

	r = mm_keystore_tls_ctx(m->ks, m->conf->server_host,
	    m->mode == AGENT_MODE_OPERATE, &ctx);
	if (r != 0) {
		mm_log(MM_LOG_ERR, "cannot set up TLS: %s", mm_strerror(r));
		return -1;
	}
	pid = agent_fork_worker(m, &m->net, ctx);
	/* the worker has its copy of the enrolment token */
	mm_wipe(m->boot.token, sizeof(m->boot.token));
	return pid;
}

static pid_t
agent_spawn_admin(struct agent_monitor *m)
{
	SSL_CTX *ctx = NULL;
	char cn[80];
	int r;

	if (m->web_fd >= 0) {
		snprintf(cn, sizeof(cn), "%s", m->boot.device_id[0] != '\0' ?
		    m->boot.device_id : "mamori-device");
		if ((r = mm_keystore_web_ctx(m->ks, cn, &ctx)) != 0) {
			mm_log(MM_LOG_ERR, "admin page TLS: %s", mm_strerror(r));
			return -1;
		}
	}
	return agent_fork_worker(m, &m->adm, ctx);
}

/* Jittered exponential back-off: a fleet restarting together must not
 * hammer the server in step. */
static void
agent_backoff(struct agent_child *c)
{
	uint32_t ms = mm_backoff_ms(c->failures++, 1000, 1000,
	    AGENT_BACKOFF_MAX * 1000);

	mm_log(MM_LOG_INFO, "restarting %s in %ums", c->name, ms);
	c->due_ms = mm_now_ms() + ms;
}

static void
agent_start(struct agent_monitor *m, struct agent_child *c, int *err)
{
	pid_t pid;
	int r;

	if (c == &m->net) {
		if ((r = agent_prepare(m)) != 0) {
			*err = r;
			agent_stop = 1;
			return;
		}
		pid = agent_spawn_net(m);
	} else
		pid = agent_spawn_admin(m);
	if (pid < 0) {
		agent_backoff(c);
		return;
	}
	c->pid = pid;
	c->due_ms = 0;
	c->started_ms = mm_now_ms();
}

/* A child ended with status; decides when it starts again. */
static void
agent_reaped(struct agent_monitor *m, struct agent_child *c, int status)
{
	int code = AGENT_EXIT_FAIL;

	c->pid = 0;
	agent_close_fd(&c->fd);
	if (WIFEXITED(status))
		code = WEXITSTATUS(status);
	else {
		char text[96];

		snprintf(text, sizeof(text), "%s died with signal %d", c->name,
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		mm_log(MM_LOG_WARN, "%s", text);
		/* a seccomp kill (SIGSYS) is an attack more often than a bug */
		agent_seclog(m, WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS ?
		    MM_SLT_ATTACK : MM_SLT_SW_FAILURE, 3, "agent", text);
	}
	if (agent_stop)
		return;
	if (c == &m->net && code == AGENT_EXIT_STOP) {
		agent_stop = 1;
		return;
	}
	/* a worker that ran a while was not failing in a loop */
	if (mm_now_ms() - c->started_ms > 60000)
		c->failures = 0;
	if (code == AGENT_EXIT_RESTART) {
		c->failures = 0;
		c->due_ms = mm_now_ms();
		return;
	}
	agent_backoff(c);
}

static void
agent_reap(struct agent_monitor *m)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == m->net.pid)
			agent_reaped(m, &m->net, status);
		else if (pid == m->adm.pid)
			agent_reaped(m, &m->adm, status);
	}
}

/* Serves both workers until asked to stop. */
static void
agent_loop(struct agent_monitor *m, int *err)
{
	struct agent_child *kids[2] = { &m->net, &m->adm };
	struct pollfd pfd[3];
	int i, n, r;

	while (!agent_stop) {
		for (i = 0; i < 2; i++)
			if (kids[i]->pid == 0 && kids[i]->due_ms != 0 &&
			    mm_now_ms() >= kids[i]->due_ms)
				agent_start(m, kids[i], err);
		for (i = n = 0; i < 2; i++) {
			pfd[i].fd = kids[i]->fd;	/* negative: ignored */
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
			n++;
		}
		pfd[2].fd = agent_watch_fd(m->watch);
		pfd[2].events = POLLIN;
		pfd[2].revents = 0;
		n++;
		if (poll(pfd, (nfds_t)n, 200) > 0) {
			if (pfd[2].revents & POLLIN)
				agent_watch_read(m->watch, agent_watch_record, m);
			for (i = 0; i < 2; i++) {
				if ((pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0 ||
				    kids[i]->fd < 0)
					continue;
				r = agent_priv_serve(m, kids[i]);
				if (r == AGENT_PROTO_VIOLATION) {
					mm_log(MM_LOG_ERR, "%s broke the IPC protocol: "
					    "killed", kids[i]->name);
					(void)kill(kids[i]->pid, SIGKILL);
					agent_close_fd(&kids[i]->fd);
				} else if (r == MM_ERR_IO)
					agent_close_fd(&kids[i]->fd);
			}
		}
		agent_reap(m);
		/* mm_seclog logs its own first failure; it then refuses until
		 * reopened, which is not worth a line every 200 ms */
		if (m->seclog != NULL)
			(void)mm_seclog_tick(m->seclog);
		if (m->fwd != NULL)
			agent_logfwd_tick(m->fwd);
	}
}

/* Stops both workers: SIGTERM, then SIGKILL after 5 s. */
static void
agent_stop_children(struct agent_monitor *m)
{
	struct agent_child *kids[2] = { &m->net, &m->adm };
	int64_t until = mm_now_ms() + 5000;
	int i, live;

	for (i = 0; i < 2; i++)
		if (kids[i]->pid > 0)
			(void)kill(kids[i]->pid, SIGTERM);
	for (;;) {
		agent_reap(m);
		for (i = live = 0; i < 2; i++)
			live += kids[i]->pid > 0;
		if (live == 0)
			break;
		if (mm_now_ms() > until) {
			for (i = 0; i < 2; i++)
				if (kids[i]->pid > 0)
					(void)kill(kids[i]->pid, SIGKILL);
			until = INT64_MAX;
		}
		mm_sleep_ms(50);
	}
	agent_close_fd(&m->net.fd);
	agent_close_fd(&m->adm.fd);
}

int
agent_monitor_run(const struct agent_conf *c)
{
	struct agent_monitor m;
	struct sigaction sa;
	int r = MM_OK;

	memset(&m, 0, sizeof(m));
	m.conf = c;
	m.net = (struct agent_child){ .kind = AGENT_W_NET,
	    .name = "network worker", .fd = -1, .due_ms = 1 };
	m.adm = (struct agent_child){ .kind = AGENT_W_ADMIN,
	    .name = "admin worker", .fd = -1 };
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = agent_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((r = mm_keystore_open(c->state_dir, &m.ks)) != 0)
		return r;
	agent_boot_ids(&m.boot);
	/* the device id (for the password rules and the page's name) */
	if ((r = agent_prepare(&m)) != 0)
		goto out;
	agent_seclog_open(&m);
	agent_watch_start(&m);
	agent_admin_setup(&m);
	if (m.auth != NULL && (m.web_fd >= 0 || m.ctl_fd >= 0))
		m.adm.due_ms = 1;
	agent_loop(&m, &r);
 out:
	agent_stop_children(&m);
	agent_close_fd(&m.web_fd);
	agent_close_fd(&m.ctl_fd);
	mm_auth_free(m.auth);
	agent_logfwd_close(m.fwd);
	agent_watch_close(m.watch);
	if (m.seclog != NULL && mm_seclog_close(m.seclog) != 0)
		mm_log(MM_LOG_ERR, "sealed log: could not close cleanly");
	mm_keystore_free(m.ks);
	mm_wipe(&m.boot, sizeof(m.boot));
	mm_log(MM_LOG_NOTICE, "mamori-agent stopped");
	return r;
}
