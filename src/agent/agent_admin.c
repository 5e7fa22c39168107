/* agent_admin.c - the admin worker: mamorictl socket and HTTPS page,
 * unprivileged; every request is decided by the monitor (decision 0007). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_admin.h"
#include "agent/agent_ipc.h"
#include "agent/agent_priv.h"
#include "agent/agent_web.h"
#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "common/mm_time.h"
#include "device/mm_admin_msg.h"

#define CTL_MAX_CLIENTS 16
#define CTL_IDLE_MS 120000

struct ctl_client {
	struct agent_ev ev;		/* first: the loop hands us &ev */
	struct agent_admin *a;
	int fd;
	uid_t uid;
	uint64_t last_ms;
};

struct agent_admin {
	const struct agent_conf *conf;
	int epfd;
	int ipc;
	int ctl_fd;
	struct agent_ctl_acl acl;
	struct agent_ev ctl_ev;
	struct ctl_client *clients[CTL_MAX_CLIENTS];
	struct agent_web *web;
	int gone;			/* the monitor has gone */
	uint64_t refused_log_ms;
};

static volatile sig_atomic_t admin_stop;

static void
admin_on_signal(int sig)
{
	(void)sig;
	admin_stop = 1;
}

uint64_t
agent_admin_now(void)
{
	return mm_now_ms();
}

int
agent_admin_epfd(const struct agent_admin *a)
{
	return a->epfd;
}

int
agent_admin_call(struct agent_admin *a, json_t *req, const char *src,
    const char *chan, const char *csrf, json_t **resp)
{
	struct mm_buf *msg = NULL, *reply = NULL;
	const uint8_t *p;
	char *text = NULL;
	size_t len = 0, plen;
	json_t *o;
	int r;

	if (a->gone)
		return MM_ERR_IO;
	if (json_object_set_new(req, "src", json_string(src)) != 0 ||
	    json_object_set_new(req, "chan", json_string(chan)) != 0 ||
	    (csrf != NULL && json_object_set_new(req, "csrf", json_string(csrf)) != 0))
		return MM_ERR_ALLOC;
	if ((text = json_dumps(req, JSON_COMPACT)) == NULL)
		return MM_ERR_ALLOC;
	len = strlen(text);
	if (len > MM_ADMREQ_MAX) {
		r = MM_ERR_TOO_LARGE;
		goto out;
	}
	if ((msg = agent_ipc_new(AGENT_IPC_ADMIN)) == NULL) {
		r = MM_ERR_ALLOC;
		goto out;
	}
	if ((r = mm_buf_put_str16(msg, text, len)) != 0)
		goto out;
	if ((r = agent_ipc_call(a->ipc, msg, &reply)) != 0) {
		if (r == MM_ERR_IO) {
			a->gone = 1;
			mm_log(MM_LOG_ERR, "monitor gone: admin worker stops");
		}
		goto out;
	}
	if (mm_buf_get_str16_ptr(reply, &p, &plen) != 0 ||
	    mm_buf_expect_end(reply) != 0 ||
	    (o = json_loadb((const char *)p, plen, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		mm_fatal("monitor sent a malformed admin reply");
	if (!json_is_object(o))
		mm_fatal("monitor sent a malformed admin reply");
	/* the reply may carry a session token: wipe the raw copy */
	mm_wipe((void *)(uintptr_t)p, plen);
	*resp = o;
 out:
	if (msg != NULL)
		mm_wipe((void *)(uintptr_t)mm_buf_ptr(msg), mm_buf_len(msg));
	mm_buf_free(msg);
	mm_buf_free(reply);
	mm_freezero(text, len + 1);
	return r;
}

/* ---- the control socket ---- */

static void
ctl_close(struct ctl_client *c)
{
	struct agent_admin *a = c->a;
	size_t i;

	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		if (a->clients[i] == c)
			a->clients[i] = NULL;
	(void)epoll_ctl(a->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	mm_free(c);
}

static void
ctl_send(struct ctl_client *c, json_t *o)
{
	char *text;

	if (o == NULL || (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return;
	}
	if (send(c->fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		mm_log(MM_LOG_INFO, "control client uid %ld: %s", (long)c->uid,
		    strerror(errno));
	mm_freezero(text, strlen(text));
	json_decref(o);
}

static void
ctl_refuse(struct ctl_client *c, const char *message)
{
	ctl_send(c, json_pack("{s:b, s:s, s:s}", "ok", 0, "error", "format",
	    "message", message));
}

/* One request datagram: checked here first (the monitor checks again),
 * forwarded with where it came from. */
static void
ctl_on_event(struct agent_ev *ev, uint32_t events)
{
	struct ctl_client *c = (struct ctl_client *)ev;
	struct agent_admin *a = c->a;
	uint8_t buf[MM_ADMREQ_MAX + 1];
	struct mm_admreq q;
	char src[AGENT_SRC_MAX + 1];
	json_t *resp = NULL;
	ssize_t n;
	int r;

	if ((events & EPOLLIN) == 0) {
		ctl_close(c);
		return;
	}
	n = recv(c->fd, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ctl_close(c);
		return;
	}
	c->last_ms = mm_now_ms();
	if ((size_t)n > MM_ADMREQ_MAX) {
		mm_wipe(buf, sizeof(buf));
		ctl_refuse(c, "request too large");
		return;
	}
	r = mm_admreq_parse(buf, (size_t)n, MM_ADMREQ_CLIENT, &q);
	mm_wipe(buf, sizeof(buf));
	if (r != 0) {
		mm_log(MM_LOG_NOTICE, "control client uid %ld: request refused: %s",
		    (long)c->uid, mm_strerror(r));
		ctl_refuse(c, r == MM_ERR_UNSUPPORTED ? "unknown operation" :
		    "malformed request");
		return;
	}
	snprintf(src, sizeof(src), "local:uid=%ld", (long)c->uid);
	r = agent_admin_call(a, q.obj, src, "ctl", NULL, &resp);
	mm_admreq_free(&q);
	if (r != 0) {
		ctl_send(c, json_pack("{s:b, s:s, s:s}", "ok", 0, "error",
		    "internal", "message", "the agent cannot answer now"));
		return;
	}
	ctl_send(c, resp);
}

static int
ctl_peer_allowed(const struct agent_admin *a, const struct ucred *cr)
{
	size_t i;

	if (cr->uid == 0 || cr->uid == a->acl.owner ||
	    (a->acl.gid != (gid_t)-1 && cr->gid == a->acl.gid))
		return 1;
	for (i = 0; i < a->acl.nmembers; i++)
		if (cr->uid == a->acl.members[i])
			return 1;
	return 0;
}

static void
ctl_on_accept(struct agent_ev *ev, uint32_t events)
{
	struct agent_admin *a = (struct agent_admin *)((char *)ev -
	    offsetof(struct agent_admin, ctl_ev));
	struct epoll_event ee;
	struct ctl_client *c;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	size_t i;
	int fd;

	(void)events;
	while ((fd = accept4(a->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) != 0 ||
		    !ctl_peer_allowed(a, &cr)) {
			mm_log(MM_LOG_WARN, "control socket: uid %ld refused (peer "
			    "credentials)", (long)cr.uid);
			close(fd);
			continue;
		}
		for (i = 0; i < CTL_MAX_CLIENTS && a->clients[i] != NULL; i++)
			;
		if (i == CTL_MAX_CLIENTS || (c = mm_calloc(1, sizeof(*c))) == NULL) {
			mm_log(MM_LOG_WARN, "control socket: too many clients");
			close(fd);
			continue;
		}
		c->ev.fn = ctl_on_event;
		c->a = a;
		c->fd = fd;
		c->uid = cr.uid;
		c->last_ms = mm_now_ms();
		memset(&ee, 0, sizeof(ee));
		ee.events = EPOLLIN;
		ee.data.ptr = &c->ev;
		if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ee) != 0) {
			close(fd);
			mm_free(c);
			continue;
		}
		a->clients[i] = c;
	}
}

static void
ctl_expire(struct agent_admin *a, uint64_t now)
{
	size_t i;

	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		if (a->clients[i] != NULL && now - a->clients[i]->last_ms > CTL_IDLE_MS)
			ctl_close(a->clients[i]);
}

/* ---- the loop ---- */

int
agent_admin_run(const struct agent_conf *c, SSL_CTX *web_ctx, int web_fd,
    int ctl_fd, const struct agent_ctl_acl *acl, int ipc_fd)
{
	struct agent_web_conf wc = AGENT_WEB_CONF_DEFAULT;
	struct agent_admin a;
	struct epoll_event ee, evs[32];
	struct sigaction sa;
	size_t i;
	int n, code = AGENT_EXIT_FAIL;

	memset(&a, 0, sizeof(a));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = admin_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	a.conf = c;
	wc.pw_min_len = c->auth.policy.min_len;
	wc.pw_min_classes = c->auth.policy.min_classes;
	a.ipc = ipc_fd;
	a.ctl_fd = ctl_fd;
	a.acl = *acl;
	if ((a.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		mm_fatal("epoll: %s", strerror(errno));
	if (ctl_fd >= 0) {
		a.ctl_ev.fn = ctl_on_accept;
		memset(&ee, 0, sizeof(ee));
		ee.events = EPOLLIN;
		ee.data.ptr = &a.ctl_ev;
		if (epoll_ctl(a.epfd, EPOLL_CTL_ADD, ctl_fd, &ee) != 0)
			mm_fatal("epoll: %s", strerror(errno));
	}
	if (web_fd >= 0 && web_ctx != NULL &&
	    agent_web_new(&a, web_ctx, web_fd, &wc, &a.web) != 0)
		mm_fatal("cannot start the admin page");
	mm_log(MM_LOG_INFO, "admin worker ready (%s%s)",
	    ctl_fd >= 0 ? "control socket" : "", web_fd >= 0 ? ", admin page" : "");
	while (!admin_stop && !a.gone) {
		n = epoll_wait(a.epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), 200);
		if (n < 0 && errno != EINTR)
			mm_fatal("epoll_wait: %s", strerror(errno));
		for (i = 0; n > 0 && i < (size_t)n; i++) {
			struct agent_ev *ev = evs[i].data.ptr;

			ev->fn(ev, evs[i].events);
		}
		if (a.web != NULL)
			agent_web_tick(a.web, mm_now_ms());
		ctl_expire(&a, mm_now_ms());
	}
	if (admin_stop)
		code = AGENT_EXIT_STOP;
	for (i = 0; i < CTL_MAX_CLIENTS; i++)
		if (a.clients[i] != NULL)
			ctl_close(a.clients[i]);
	agent_web_free(a.web);
	SSL_CTX_free(web_ctx);
	close(a.epfd);
	close(ipc_fd);
	return code;
}
