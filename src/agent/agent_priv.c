/* agent_priv.c - monitor process: keys, worker supervision, dispatch. */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_ipc.h"
#include "agent/agent_net.h"
#include "agent/agent_priv.h"
#include "agent/agent_sandbox.h"
#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "common/mm_time.h"
#include "device/mm_keystore.h"

#define AGENT_CSR_PER_WORKER 3
#define AGENT_BACKOFF_MAX 300

enum agent_mode { AGENT_MODE_ENROL = 1, AGENT_MODE_OPERATE = 2 };

struct agent_monitor {
	const struct agent_conf *conf;
	struct mm_keystore *ks;
	struct agent_boot boot;
	enum agent_mode mode;
	unsigned csr_count;	/* per worker life */
	unsigned install_count;
};

typedef int (*agent_priv_fn)(struct agent_monitor *, struct mm_buf *,
    struct mm_buf *);

static int priv_csr(struct agent_monitor *, struct mm_buf *, struct mm_buf *);
static int priv_install(struct agent_monitor *, struct mm_buf *, struct mm_buf *);
static int priv_state(struct agent_monitor *, struct mm_buf *, struct mm_buf *);

/* What the worker may ask, in which mode, how often. */
static const struct {
	enum agent_ipc_type type;
	agent_priv_fn fn;
	unsigned modes;
} agent_priv_table[] = {
	{ AGENT_IPC_CSR, priv_csr, AGENT_MODE_ENROL | AGENT_MODE_OPERATE },
	{ AGENT_IPC_INSTALL, priv_install, AGENT_MODE_ENROL | AGENT_MODE_OPERATE },
	{ AGENT_IPC_STATE, priv_state, AGENT_MODE_OPERATE },
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
	if (++m->csr_count > AGENT_CSR_PER_WORKER)
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
	if (++m->install_count > 1)
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

/* Serves one request from the worker.  MM_ERR_IO when it has gone. */
static int
agent_priv_serve(struct agent_monitor *m, int fd)
{
	struct mm_buf *req = NULL, *payload = NULL, *out = NULL;
	uint8_t type;
	size_t i, n = sizeof(agent_priv_table) / sizeof(agent_priv_table[0]);
	int r, status;

	if ((r = agent_ipc_recv(fd, &req)) == MM_ERR_TOO_LARGE)
		mm_fatal("worker sent an oversized message");
	if (r != 0)
		return r;
	if (mm_buf_get_u8(req, &type) != 0)
		mm_fatal("worker sent an empty message");
	for (i = 0; i < n && agent_priv_table[i].type != type; i++)
		;
	if (i == n)
		mm_fatal("worker sent unknown request type %u", type);
	if ((payload = mm_buf_new(AGENT_IPC_MAX - 4)) == NULL ||
	    (out = mm_buf_new(AGENT_IPC_MAX)) == NULL)
		mm_fatal("out of memory");
	if ((agent_priv_table[i].modes & m->mode) == 0) {
		mm_log(MM_LOG_WARN, "worker request %u not permitted now", type);
		status = MM_ERR_DENIED;
	} else
		status = agent_priv_table[i].fn(m, req, payload);
	/* reply: status, then the handler's fields only on success */
	if (mm_buf_put_u32(out, (uint32_t)status) != 0 ||
	    (status == 0 && mm_buf_put(out, mm_buf_ptr(payload),
	    mm_buf_len(payload)) != 0))
		mm_fatal("reply does not fit");
	r = agent_ipc_send(fd, out);
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
agent_drop_privileges(const struct agent_conf *c, pid_t monitor)
{
	struct passwd *pw;

	if (geteuid() == 0) {
		if ((pw = getpwnam(c->user)) == NULL) {
			mm_log(MM_LOG_WARN, "user %s does not exist; the network worker "
			    "runs as nobody", c->user);
			if ((pw = getpwnam("nobody")) == NULL)
				mm_fatal("no user to run the network worker as");
		}
		if (chdir("/") != 0 || setgroups(0, NULL) != 0 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
			mm_fatal("cannot drop privileges to %s", pw->pw_name);
		if (setuid(0) == 0)
			mm_fatal("privileges could be regained");
		mm_log(MM_LOG_INFO, "network worker runs as %s (uid %ld)",
		    pw->pw_name, (long)pw->pw_uid);
	} else
		mm_log(MM_LOG_INFO, "not started as root: network worker keeps uid %ld",
		    (long)getuid());
	/* after the uid change, which clears it: die with the monitor */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 || getppid() != monitor)
		mm_fatal("monitor gone");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		mm_fatal("cannot set no_new_privs");
	if (agent_sandbox_enter() != 0)
		mm_fatal("cannot install the system-call filter");
}

static pid_t
agent_spawn(struct agent_monitor *m, int *ipcfd)
{
	SSL_CTX *ctx = NULL;
	pid_t pid, self = getpid();
	int sv[2], r;

	r = mm_keystore_tls_ctx(m->ks, m->conf->server_host,
	    m->mode == AGENT_MODE_OPERATE, &ctx);
	if (r != 0) {
		mm_log(MM_LOG_ERR, "cannot set up TLS: %s", mm_strerror(r));
		return -1;
	}
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
		mm_keystore_free(m->ks);
		agent_drop_privileges(m->conf, self);
		_exit(agent_net_run(m->conf, &m->boot, ctx, sv[1]));
	}
	/* the key lives on only in the worker's copy of the context */
	SSL_CTX_free(ctx);
	mm_wipe(m->boot.token, sizeof(m->boot.token));
	close(sv[1]);
	m->csr_count = m->install_count = 0;
	*ipcfd = sv[0];
	return pid;
}

/* Serves the worker until it exits; returns its exit code. */
static int
agent_supervise(struct agent_monitor *m, pid_t pid, int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	int status, open_fd = 1;

	for (;;) {
		if (agent_stop)
			(void)kill(pid, SIGTERM);
		if (open_fd && poll(&pfd, 1, 500) > 0 &&
		    agent_priv_serve(m, fd) == MM_ERR_IO)
			open_fd = 0;
		if (!open_fd) {
			struct timespec ts = { 0, 100000000L };
			nanosleep(&ts, NULL);
		}
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
	}
	close(fd);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	mm_log(MM_LOG_WARN, "network worker died with signal %d",
	    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return AGENT_EXIT_FAIL;
}

/* Jittered exponential back-off: a fleet restarting together must not
 * hammer the server in step. */
static void
agent_backoff(unsigned *failures)
{
	uint32_t ms = mm_backoff_ms((*failures)++, 1000, 1000,
	    AGENT_BACKOFF_MAX * 1000);

	mm_log(MM_LOG_INFO, "restarting network worker in %ums", ms);
	for (; ms > 0 && !agent_stop; ms -= ms > 200 ? 200 : ms)
		mm_sleep_ms(ms > 200 ? 200 : ms);
}

int
agent_monitor_run(const struct agent_conf *c)
{
	struct agent_monitor m;
	struct sigaction sa;
	unsigned failures = 0;
	int r, code, fd;
	pid_t pid;

	memset(&m, 0, sizeof(m));
	m.conf = c;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = agent_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((r = mm_keystore_open(c->state_dir, &m.ks)) != 0)
		return r;
	agent_boot_ids(&m.boot);
	while (!agent_stop) {
		if ((r = agent_prepare(&m)) != 0)
			break;
		if ((pid = agent_spawn(&m, &fd)) < 0) {
			agent_backoff(&failures);
			continue;
		}
		code = agent_supervise(&m, pid, fd);
		if (agent_stop || code == AGENT_EXIT_STOP)
			break;
		if (code == AGENT_EXIT_RESTART) {
			failures = 0;
			continue;
		}
		agent_backoff(&failures);
	}
	mm_keystore_free(m.ks);
	mm_wipe(&m.boot, sizeof(m.boot));
	mm_log(MM_LOG_NOTICE, "mamori-agent stopped");
	return r;
}
